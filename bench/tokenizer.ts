// bench/tokenizer.ts: tokenizer throughput (tokens/s, [CLS]/[SEP] included) on the
// fixtures' bench_en_1mb.txt (3322 lines), medians of --runs runs:
//   ConvBertTokenizerFast  encode() line by line; encodeBatch (batches of 1000) on
//                          1 thread and on every core; encodeBatchAsync; the native
//                          core alone (no JS template/padding work), for reference
//   ConvBertTokenizer      encode() line by line; encodeBatch (batches of 1000)
//   HF `tokenizers` (Rust) the same BERT pipeline, when the npm package is installed
//                          (a devDependency used only here), run in child processes
//                          so its thread pool can be sized: 1 thread, then every core.
// Usage: npx tsx bench/tokenizer.ts [--runs 5] [--json]
import { fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertTokenizer } from '../lib/tokenizer/convbert';
import { ConvBertTokenizerFast, NativeWordPieceCore } from '../lib/tokenizer/fast';
import { fixturesDir } from '../test/helpers/fixtures';

const BATCH = 1000;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function batches<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** The non-empty lines of the speed anchor text. */
function benchLines(): string[] {
  return fs.readFileSync(fixturesDir('tokenizer', 'bench_en_1mb.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
}

interface Row {
  name: string;
  threads: number;
  tokens: number;
  ms: number;
  tokensPerSec: number;
}

async function measure(name: string, threads: number, runs: number, fn: () => Promise<number> | number): Promise<Row> {
  await fn(); // warm-up: JIT, page faults, thread start
  const times: number[] = [];
  let tokens = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    tokens = await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const ms = median(times);
  return { name, threads, tokens, ms, tokensPerSec: tokens / (ms / 1000) };
}

/** HF's BertConverter output for this vocab (what ConvBertTokenizerFast is in Python), as tokenizer.json. */
function hfTokenizerJson(vocab: string[]): string {
  const map: Record<string, number> = {};
  vocab.forEach((t, i) => (map[t] = i));
  const special = (content: string) => ({ id: map[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [map['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [map['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: map },
  });
}

interface HfEncoding {
  getIds?: () => number[];
  ids?: number[];
  length?: number;
}
interface HfTokenizer {
  encode(text: string): Promise<HfEncoding>;
  encodeBatch(texts: string[]): Promise<HfEncoding[]>;
}

function hfLen(e: HfEncoding): number {
  if (typeof e.getIds === 'function') return e.getIds().length;
  if (Array.isArray(e.ids)) return e.ids.length;
  return e.length ?? 0;
}

/** Child process: measure the Rust tokenizer with the thread count set in its environment. */
async function hfChild(): Promise<void> {
  const { runs, json, threads } = JSON.parse(process.env.CONVBERT_BENCH_HF!) as { runs: number; json: string; threads: number };
  const lines = benchLines();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Tokenizer } = require('tokenizers') as { Tokenizer: { fromFile(f: string): HfTokenizer } };
  const tok = Tokenizer.fromFile(json);
  const rows: Row[] = [];
  rows.push(
    await measure(`HF tokenizers encodeBatch(${BATCH})`, threads, runs, async () => {
      let n = 0;
      for (const b of batches(lines, BATCH)) for (const e of await tok.encodeBatch(b)) n += hfLen(e);
      return n;
    }),
  );
  if (threads === 1) {
    rows.push(
      await measure('HF tokenizers encode line by line', 1, runs, async () => {
        let n = 0;
        for (const l of lines) n += hfLen(await tok.encode(l));
        return n;
      }),
    );
  }
  process.send!(rows);
}

function runHf(runs: number, json: string, threads: number): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      CONVBERT_BENCH_HF: JSON.stringify({ runs, json, threads }),
      RAYON_NUM_THREADS: String(threads),
      TOKENIZERS_PARALLELISM: threads > 1 ? 'true' : 'false',
    };
    const child = fork(__filename, process.argv.slice(2), { env, execArgv: process.execArgv });
    let rows: Row[] = [];
    child.on('message', (m) => (rows = m as Row[]));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(rows) : reject(new Error(`HF bench child exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const runs = Number(arg('--runs', '5'));
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const lines = benchLines();
  const vocabFile = fixturesDir('tokenizer', 'vocab.txt');
  const vocab = fs.readFileSync(vocabFile, 'utf8').split('\n');
  if (vocab[vocab.length - 1] === '') vocab.pop();

  const fast = new ConvBertTokenizerFast({ vocab, num_threads: 1 });
  const slow = new ConvBertTokenizer({ vocab });
  const core = new NativeWordPieceCore({ vocab });
  const rows: Row[] = [];
  const count = (r: { input_ids: number[][] }) => r.input_ids.reduce((s, x) => s + x.length, 0);

  rows.push(await measure('ConvBertTokenizerFast encode line by line', 1, runs, () => lines.reduce((s, l) => s + fast.encode(l).input_ids.length, 0)));
  for (const threads of [...new Set([1, cores])]) {
    rows.push(
      await measure(`ConvBertTokenizerFast encodeBatch(${BATCH})`, threads, runs, () => {
        fast.numThreads = threads;
        return batches(lines, BATCH).reduce((s, b) => s + count(fast.encodeBatch(b)), 0);
      }),
    );
  }
  rows.push(
    await measure(`ConvBertTokenizerFast encodeBatchAsync(${BATCH})`, cores, runs, async () => {
      fast.numThreads = cores;
      let n = 0;
      for (const b of batches(lines, BATCH)) n += count(await fast.encodeBatchAsync(b));
      return n;
    }),
  );
  for (const threads of [...new Set([1, cores])]) {
    rows.push(
      await measure(`native core only, batch(${BATCH}) (no specials/template)`, threads, runs, () =>
        batches(lines, BATCH).reduce((s, b) => s + core.tokenizeBatchWithOffsets(b, { threads }).reduce((k, r) => k + r.ids.length + 2, 0), 0),
      ),
    );
  }
  rows.push(await measure('ConvBertTokenizer (TS) encode line by line', 1, runs, () => lines.reduce((s, l) => s + slow.encode(l).input_ids.length, 0)));
  rows.push(await measure(`ConvBertTokenizer (TS) encodeBatch(${BATCH})`, 1, runs, () => batches(lines, BATCH).reduce((s, b) => s + count(slow.encodeBatch(b)), 0)));

  let hfNote = '';
  let hasHf = false;
  try {
    require.resolve('tokenizers');
    hasHf = true;
  } catch {
    hfNote = 'HF `tokenizers` is not installed (npm i -D tokenizers@0.23.2 to compare against it).';
  }
  if (hasHf) {
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bench-')), 'tokenizer.json');
    fs.writeFileSync(json, hfTokenizerJson(vocab));
    for (const threads of [...new Set([1, cores])]) rows.push(...(await runHf(runs, json, threads)));
  }

  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ cores, runs, rows, note: hfNote || undefined }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`bench_en_1mb.txt: ${lines.length} lines; ${cores} cores; median of ${runs} runs\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(62)} ${String(r.threads).padStart(2)} thr  ${(r.tokensPerSec / 1e3).toFixed(0).padStart(7)}k tok/s  (${r.tokens} tokens, ${r.ms.toFixed(1)} ms)\n`,
    );
  }
  const get = (prefix: string, threads: number) => rows.find((r) => r.name.startsWith(prefix) && r.threads === threads);
  const hf1 = get('HF tokenizers encodeBatch', 1);
  const hfN = get('HF tokenizers encodeBatch', cores);
  if (hf1 && hfN) {
    const f1 = get('ConvBertTokenizerFast encodeBatch', 1)!;
    const fN = get('ConvBertTokenizerFast encodeBatch', cores)!;
    const ts = get('ConvBertTokenizer (TS) encodeBatch', 1)!;
    process.stdout.write(
      `fast/HF single thread: ${(f1.tokensPerSec / hf1.tokensPerSec).toFixed(2)}x (target >= 2); ` +
        `fast/HF ${cores} threads: ${(fN.tokensPerSec / hfN.tokensPerSec).toFixed(2)}x (target >= 2); ` +
        `HF/TS: ${(hf1.tokensPerSec / ts.tokensPerSec).toFixed(2)}x (target <= 3)\n`,
    );
  }
  if (hfNote) process.stdout.write(hfNote + '\n');
}

if (process.env.CONVBERT_BENCH_HF) {
  hfChild().catch((e) => {
    process.stderr.write(String(e?.stack ?? e) + '\n');
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(String(e?.stack ?? e) + '\n');
    process.exit(1);
  });
}
