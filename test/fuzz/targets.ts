// targets.ts: one fuzz target per parser that reads untrusted bytes: a
// safetensors file (the reader and fromPretrained's lazy path), a
// pytorch_model.bin (zip + restricted unpickler), config.json (with a real
// checkpoint beside it, as a Hub repo would have), the tokenizer files plus the
// encode call's options, and the HTTP server's request bodies. A run passes when
// the code returns or throws a ConvBertError with a code other than
// ERR_CONVBERT_INTERNAL (and, for HTTP, answers a 2xx/4xx/429/503 with JSON);
// anything else is a finding. Crashes, hangs and memory blow-ups are caught by
// the runner (run.ts), which runs the targets in a child process.
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertConfig } from '../../lib/config';
import { ConvBertError } from '../../lib/errors';
import { ConvBertModel } from '../../lib/models';
import { ConvBertServer } from '../../lib/server/http';
import { loadTask } from '../../lib/server/tasks';
import { ConvBertTokenizer } from '../../lib/tokenizer';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';
import { parseSafetensors, parseTorchBin } from '../../lib/weights';
import { fixturesDir } from '../helpers/fixtures';
import { request } from '../server/client';
import { makeTinyModel } from '../server/tiny_model';
import { mutateBytes, mutateJson, type ByteSeed, type Rand } from './mutate';
import { binSeed, safetensorsSeed } from './seeds';

/** What a target reports when the code under test misbehaved (anything but a typed error). */
export class FuzzFinding extends Error {}

export interface Target {
  name: string;
  /** One-time set-up in the process that runs the target (temporary folders, a server). */
  setup(workDir: string): Promise<void>;
  /** A new input from the seeds; `what` says how it was mutated. */
  next(rand: Rand): { input: Uint8Array; what: string };
  /** Runs one input; throws FuzzFinding when the code under test misbehaved. */
  run(input: Uint8Array): Promise<void>;
  teardown(): Promise<void>;
}

/** Passes ConvBertErrors with a public code; turns any other exception into a finding. */
async function typedOnly(what: string, f: () => unknown): Promise<void> {
  try {
    await f();
  } catch (err) {
    if (err instanceof ConvBertError && err.code !== 'ERR_CONVBERT_INTERNAL') return;
    const e = err as Error;
    throw new FuzzFinding(`${what}: ${e?.constructor?.name ?? typeof err}${err instanceof ConvBertError ? ` ${err.code}` : ''}: ${e?.message ?? String(err)}`.slice(0, 2000));
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A safetensors file with its JSON header mutated as JSON (length prefix right, or off by a little). */
function mutateHeader(seed: ByteSeed, rand: Rand): { input: Uint8Array; what: string } {
  const n = Number(Buffer.from(seed.bytes).readBigUInt64LE(0));
  const header = dec.decode(seed.bytes.subarray(8, 8 + n));
  const m = mutateJson(header, rand);
  const h = enc.encode(m.text);
  const out = new Uint8Array(8 + h.length + seed.bytes.length - 8 - n);
  const skew = rand() < 0.8 ? 0 : Math.floor(rand() * 17) - 8;
  Buffer.from(out.buffer).writeBigUInt64LE(BigInt(Math.max(0, h.length + skew)), 0);
  out.set(h, 8);
  out.set(seed.bytes.subarray(8 + n), 8 + h.length);
  return { input: out, what: `header ${m.what}${skew ? ` len${skew > 0 ? '+' : ''}${skew}` : ''}` };
}

function safetensorsTarget(): Target {
  let seeds: ByteSeed[] = [];
  let dir = '';
  let i = 0;
  return {
    name: 'safetensors',
    async setup(workDir) {
      seeds = [safetensorsSeed('tiny-a', 'ConvBertModel', 'model.safetensors'), safetensorsSeed('tiny-a', 'ConvBertForMaskedLM', 'expected.safetensors')];
      dir = path.join(workDir, 'safetensors-model');
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(fixturesDir('convbert', 'tiny-a', 'ConvBertModel', 'config.json'), path.join(dir, 'config.json'));
    },
    next(rand) {
      const s = seeds[Math.floor(rand() * seeds.length)];
      if (rand() < 0.35) return mutateHeader(s, rand);
      const m = mutateBytes(s, rand);
      return { input: m.bytes, what: m.what };
    },
    async run(input) {
      await typedOnly('parseSafetensors', () => parseSafetensors(input, 'fuzz.safetensors'));
      // Every other input also goes through fromPretrained, whose lazy reader must agree with the strict one.
      if (i++ % 2 === 0) {
        fs.writeFileSync(path.join(dir, 'model.safetensors'), input);
        await typedOnly('fromPretrained', async () => (await ConvBertModel.fromPretrained(dir)).dispose());
      }
    },
    async teardown() {},
  };
}

function pickleTarget(): Target {
  let seeds: ByteSeed[] = [];
  let i = 0;
  return {
    name: 'pickle',
    async setup() {
      seeds = [binSeed('tiny-a', 'ConvBertForMaskedLM', 'pytorch_model.bin'), binSeed('proj-groups-b', 'ConvBertModel', 'pytorch_model.bin')];
    },
    next(rand) {
      const m = mutateBytes(seeds[Math.floor(rand() * seeds.length)], rand);
      return { input: m.bytes, what: m.what };
    },
    // Half the runs skip the CRC check so mutations reach the unpickler.
    run: (input) => typedOnly('parseTorchBin', () => parseTorchBin(input, 'fuzz.bin', { verifyCrc: i++ % 2 === 0 })),
    async teardown() {},
  };
}

function configTarget(): Target {
  let seeds: string[] = [];
  let dir = '';
  return {
    name: 'config',
    async setup(workDir) {
      const index = JSON.parse(fs.readFileSync(fixturesDir('convbert', 'index.json'), 'utf8')) as Array<{ path: string }>;
      seeds = index.filter((e) => e.path.startsWith('tiny-a/')).map((e) => fs.readFileSync(fixturesDir('convbert', e.path, 'config.json'), 'utf8'));
      const published = JSON.parse(fs.readFileSync(fixturesDir('convbert', 'published_configs.json'), 'utf8')) as Record<string, unknown>;
      seeds.push(...Object.values(published).map((c) => JSON.stringify(c)));
      // A real checkpoint beside the config, as in a Hub repo: the config's sizes must be checked against it.
      dir = path.join(workDir, 'config-model');
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(fixturesDir('convbert', 'tiny-a', 'ConvBertModel', 'model.safetensors'), path.join(dir, 'model.safetensors'));
    },
    next(rand) {
      const m = mutateJson(seeds[Math.floor(rand() * seeds.length)], rand);
      return { input: enc.encode(m.text), what: m.what };
    },
    async run(input) {
      fs.writeFileSync(path.join(dir, 'config.json'), input);
      await typedOnly('ConvBertConfig.fromPretrained', () => ConvBertConfig.fromPretrained(dir));
      await typedOnly('ConvBertModel.fromPretrained', async () => (await ConvBertModel.fromPretrained(dir)).dispose());
    },
    async teardown() {},
  };
}

/** The tokenizer target's input: file name -> text, plus call.json, the encode call (text, text_pair, options). */
type TokenizerInput = Record<string, string>;

function tokenizerTarget(): Target {
  let seed: TokenizerInput = {};
  let dir = '';
  return {
    name: 'tokenizer',
    async setup(workDir) {
      const lines = fs.readFileSync(fixturesDir('tokenizer', 'vocab.txt'), 'utf8').split('\n');
      // The specials and a few hundred common pieces keep the seed small (the ids stay contiguous).
      const vocab: Record<string, number> = {};
      lines.slice(0, 2100).forEach((v, id) => (vocab[v] = id));
      seed = {
        'tokenizer.json': JSON.stringify({
          version: '1.0',
          added_tokens: [{ id: 103, content: '[MASK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
          normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
          model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
          decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
        }),
        'tokenizer_config.json': JSON.stringify({
          do_lower_case: true,
          model_max_length: 512,
          tokenizer_class: 'ConvBertTokenizer',
          added_tokens_decoder: { '103': { content: '[MASK]', special: true } },
        }),
        'special_tokens_map.json': JSON.stringify({ unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' }),
        'added_tokens.json': JSON.stringify({ '[NEW]': 2100 }),
        'call.json': JSON.stringify({
          text: 'Hello, the world [MASK] is here.',
          text_pair: 'and a pair',
          options: { padding: 'max_length', max_length: 16, truncation: true, stride: 2, return_overflowing_tokens: true, return_offsets_mapping: true },
        }),
      };
      dir = path.join(workDir, 'tokenizer-model');
      fs.mkdirSync(dir, { recursive: true });
    },
    next(rand) {
      const files = Object.keys(seed);
      const f = files[Math.floor(rand() * files.length)];
      const m = mutateJson(seed[f], rand);
      return { input: enc.encode(JSON.stringify({ ...seed, [f]: m.text })), what: `${f}: ${m.what}` };
    },
    async run(input) {
      const files = JSON.parse(dec.decode(input)) as TokenizerInput;
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
      for (const [f, text] of Object.entries(files)) if (f !== 'call.json') fs.writeFileSync(path.join(dir, f), text);
      let call: { text?: unknown; text_pair?: unknown; options?: unknown } = {};
      try {
        call = JSON.parse(files['call.json'] ?? '{}') ?? {};
      } catch {
        call = {};
      }
      const loaders = { ConvBertTokenizer: () => ConvBertTokenizer.fromPretrained(dir), ConvBertTokenizerFast: () => ConvBertTokenizerFast.fromPretrained(dir) };
      for (const [cls, load] of Object.entries(loaders)) {
        await typedOnly(cls, async () => {
          const tok = await load();
          const options = { ...(call.options as object), ...(call.text_pair === undefined ? {} : { text_pair: call.text_pair }) };
          tok.encode(call.text as string, options as never);
          tok.encodeBatch([call.text as string, 'x'], options as never);
          tok.decode(tok.encode('hello [MASK] world').input_ids);
        });
      }
    },
    async teardown() {},
  };
}

interface ServedTask {
  task: string;
  server: ConvBertServer;
  port: number;
  seeds: string[];
}

function httpTarget(): Target {
  const served: ServedTask[] = [];
  const dirs: string[] = [];
  let runs = 0;
  return {
    name: 'http',
    async setup() {
      const specs: Array<{ task: string; head: 'masked_lm' | 'sequence_classification'; seeds: unknown[] }> = [
        {
          task: 'fill-mask',
          head: 'masked_lm',
          seeds: [
            { inputs: 'the capital of france is [MASK].', parameters: { top_k: 3 } },
            { inputs: ['a [MASK] day.', 'hello [MASK] [MASK].'] },
            { inputs: 'x [MASK]', parameters: { targets: ['day', 'night'] } },
          ],
        },
        {
          task: 'zero-shot-classification',
          head: 'sequence_classification',
          seeds: [
            { inputs: 'i love this movie', parameters: { candidate_labels: ['positive', 'negative'], multi_label: false } },
            { inputs: ['a', 'b c'], parameters: { candidate_labels: 'x,y,z', hypothesis_template: 'This is {}.' } },
          ],
        },
        {
          task: 'text-classification',
          head: 'sequence_classification',
          seeds: [{ inputs: 'hello world', parameters: { top_k: 2, function_to_apply: 'softmax' } }, { inputs: [{ text: 'a', text_pair: 'b' }] }],
        },
      ];
      for (const s of specs) {
        const dir = await makeTinyModel(s.head);
        dirs.push(dir);
        const handler = await loadTask(s.task, dir, { batching: { maxBatchSize: 8, maxWaitMs: 2 } });
        const server = new ConvBertServer(handler, { port: 0 });
        const port = (await server.listen()).port;
        served.push({ task: s.task, server, port, seeds: s.seeds.map((x) => JSON.stringify(x)) });
      }
    },
    next(rand) {
      const k = Math.floor(rand() * served.length);
      const s = served[k];
      const m = mutateJson(s.seeds[Math.floor(rand() * s.seeds.length)], rand);
      return { input: enc.encode(`${k}\n${m.text}`), what: `${s.task}: ${m.what}` };
    },
    async run(input) {
      const text = dec.decode(input);
      const nl = text.indexOf('\n');
      const s = served[Number(text.slice(0, nl)) % served.length] ?? served[0];
      const r = await request(s.port, 'POST', `/v1/${s.task}`, text.slice(nl + 1)).catch((err: Error) => {
        throw new FuzzFinding(`${s.task}: the request failed: ${err.message}`);
      });
      const ok = (r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500) || r.status === 503;
      if (!ok || r.json === undefined) throw new FuzzFinding(`${s.task}: answered ${r.status} ${r.text.slice(0, 500)}`);
      if (runs++ % 25 === 0) {
        const h = await request(s.port, 'GET', '/health');
        if (h.status !== 200) throw new FuzzFinding(`${s.task}: /health answered ${h.status} after a request`);
      }
    },
    async teardown() {
      for (const s of served) await s.server.close();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}

export const TARGETS: Record<string, () => Target> = {
  safetensors: safetensorsTarget,
  pickle: pickleTarget,
  config: configTarget,
  tokenizer: tokenizerTarget,
  http: httpTarget,
};
