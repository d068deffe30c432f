// bench/tokenizer.ts: tokenizer throughput (tokens/s, [CLS]/[SEP] included) on the
// fixtures' bench_en_1mb.txt (3322 lines), medians of --runs runs:
//   ConvBertTokenizerFast  encode() line by line; encodeBatch (batches of 1000) on
//                          1 thread and on every core, and on 1 thread with
//                          offset_mapping (Rust always computes offsets); encodeBatchAsync; the native
//                          core alone (no JS template/padding work), for reference
//   ConvBertTokenizer      encode() line by line; encodeBatch (batches of 1000)
//   HF `tokenizers` (Rust) the same BERT pipeline, when the npm package is installed
//                          (a devDependency used only here), in two persistent child
//                          processes so its thread pool can be sized (1 thread, every core).
// The runs alternate: each round times every one of ours once and the Rust ones once
// (the order flips every round), so a busy machine slows both sides alike; the ratios
// are medians of the per-round ratios. The load average is printed with the numbers.
// Usage: npx tsx bench/tokenizer.ts [--runs 5] [--json] (bench/args.ts, or --help)
import { fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertTokenizer } from '../lib/tokenizer/convbert';
import { ConvBertTokenizerFast, NativeWordPieceCore } from '../lib/tokenizer/fast';
import { fixturesDir } from '../test/helpers/fixtures';
import { benchArgs, benchFailed, TOKENIZER } from './args';

const BATCH = 1000;

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
  return fs
    .readFileSync(fixturesDir('tokenizer', 'bench_en_1mb.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}

interface Row {
  name: string;
  threads: number;
  tokens: number;
  ms: number;
  tokensPerSec: number;
}

interface Bench {
  name: string;
  threads: number;
  fn: () => Promise<number> | number;
}

/** One timed pass: tokens and ms. */
async function timeOnce(fn: () => Promise<number> | number): Promise<{ tokens: number; ms: number }> {
  const t0 = process.hrtime.bigint();
  const tokens = await fn();
  return { tokens, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** Per-round samples of one benchmark. */
interface Samples {
  name: string;
  threads: number;
  tokens: number;
  ms: number[];
}

function toRow(x: Samples): Row {
  const ms = median(x.ms);
  return { name: x.name, threads: x.threads, tokens: x.tokens, ms, tokensPerSec: x.tokens / (ms / 1000) };
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

/** Child process: the Rust tokenizer with the thread count set in its environment; one timed pass of each per 'round' message. */
async function hfChild(): Promise<void> {
  const { json, threads } = JSON.parse(process.env.CONVBERT_BENCH_HF!) as { json: string; threads: number };
  const lines = benchLines();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Tokenizer } = require('tokenizers') as { Tokenizer: { fromFile(f: string): HfTokenizer } };
  const tok = Tokenizer.fromFile(json);
  const benches: Bench[] = [
    {
      name: `HF tokenizers encodeBatch(${BATCH})`,
      threads,
      fn: async () => {
        let n = 0;
        for (const b of batches(lines, BATCH)) for (const e of await tok.encodeBatch(b)) n += hfLen(e);
        return n;
      },
    },
  ];
  if (threads === 1) {
    benches.push({
      name: 'HF tokenizers encode line by line',
      threads: 1,
      fn: async () => {
        let n = 0;
        for (const l of lines) n += hfLen(await tok.encode(l));
        return n;
      },
    });
  }
  for (const b of benches) await b.fn(); // warm-up: thread pool start, page faults
  process.on('message', async (m: string) => {
    if (m !== 'round') {
      process.exit(0);
      return;
    }
    const out: { name: string; threads: number; tokens: number; ms: number }[] = [];
    for (const b of benches) out.push({ name: b.name, threads: b.threads, ...(await timeOnce(b.fn)) });
    process.send!(out);
  });
  process.send!('ready');
}

/** A persistent Rust child: round() times one pass of each of its benchmarks. */
class HfWorker {
  private child;
  private pending: ((m: unknown) => void) | null = null;
  private readonly ready: Promise<void>;

  constructor(json: string, threads: number) {
    const env = {
      ...process.env,
      CONVBERT_BENCH_HF: JSON.stringify({ json, threads }),
      RAYON_NUM_THREADS: String(threads),
      TOKENIZERS_PARALLELISM: threads > 1 ? 'true' : 'false',
    };
    this.child = fork(__filename, process.argv.slice(2), { env, execArgv: process.execArgv });
    let onExit: (code: number | null) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      this.pending = () => resolve();
      onExit = (code) => reject(new Error(`HF bench child exited with ${code}`));
    });
    this.child.on('message', (m) => {
      const p = this.pending;
      this.pending = null;
      p?.(m);
    });
    this.child.on('exit', (code) => {
      if (this.pending) onExit(code);
    });
  }

  async round(): Promise<{ name: string; threads: number; tokens: number; ms: number }[]> {
    await this.ready;
    return new Promise((resolve) => {
      this.pending = (m) => resolve(m as { name: string; threads: number; tokens: number; ms: number }[]);
      this.child.send('round');
    });
  }

  close(): void {
    this.child.send('exit');
  }
}

async function main(): Promise<void> {
  const a = benchArgs(TOKENIZER);
  const runs = a.int('runs', 1);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const lines = benchLines();
  const vocabFile = fixturesDir('tokenizer', 'vocab.txt');
  const vocab = fs.readFileSync(vocabFile, 'utf8').split('\n');
  if (vocab[vocab.length - 1] === '') vocab.pop();

  const fast = new ConvBertTokenizerFast({ vocab, num_threads: 1 });
  const slow = new ConvBertTokenizer({ vocab });
  const core = new NativeWordPieceCore({ vocab });
  const count = (r: { input_ids: number[][] }) => r.input_ids.reduce((s, x) => s + x.length, 0);

  const benches: Bench[] = [];
  benches.push({ name: 'ConvBertTokenizerFast encode line by line', threads: 1, fn: () => lines.reduce((s, l) => s + fast.encode(l).input_ids.length, 0) });
  for (const threads of [...new Set([1, cores])]) {
    benches.push({
      name: `ConvBertTokenizerFast encodeBatch(${BATCH})`,
      threads,
      fn: () => {
        fast.numThreads = threads;
        return batches(lines, BATCH).reduce((s, b) => s + count(fast.encodeBatch(b)), 0);
      },
    });
  }
  benches.push({
    name: `ConvBertTokenizerFast encodeBatch(${BATCH}) + offset_mapping`,
    threads: 1,
    fn: () => {
      fast.numThreads = 1;
      return batches(lines, BATCH).reduce((s, b) => s + count(fast.encodeBatch(b, { return_offsets_mapping: true })), 0);
    },
  });
  benches.push({
    name: `ConvBertTokenizerFast encodeBatchAsync(${BATCH})`,
    threads: cores,
    fn: async () => {
      fast.numThreads = cores;
      let n = 0;
      for (const b of batches(lines, BATCH)) n += count(await fast.encodeBatchAsync(b));
      return n;
    },
  });
  for (const threads of [...new Set([1, cores])]) {
    benches.push({
      name: `native core only, batch(${BATCH}) (no specials/template)`,
      threads,
      fn: () => batches(lines, BATCH).reduce((s, b) => s + core.tokenizeBatchWithOffsets(b, { threads }).reduce((k, r) => k + r.ids.length + 2, 0), 0),
    });
  }
  benches.push({ name: 'ConvBertTokenizer (TS) encode line by line', threads: 1, fn: () => lines.reduce((s, l) => s + slow.encode(l).input_ids.length, 0) });
  benches.push({ name: `ConvBertTokenizer (TS) encodeBatch(${BATCH})`, threads: 1, fn: () => batches(lines, BATCH).reduce((s, b) => s + count(slow.encodeBatch(b)), 0) });

  let hfNote = '';
  const hf: HfWorker[] = [];
  try {
    require.resolve('tokenizers');
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bench-')), 'tokenizer.json');
    fs.writeFileSync(json, hfTokenizerJson(vocab));
    for (const threads of [...new Set([1, cores])]) hf.push(new HfWorker(json, threads));
  } catch {
    hfNote = 'HF `tokenizers` is not installed (npm i -D tokenizers@0.23.2 to compare against it).';
  }

  const load0 = os.loadavg();
  for (const b of benches) await b.fn(); // warm-up: JIT, page faults, thread start
  const samples = new Map<string, Samples>();
  const add = (name: string, threads: number, tokens: number, ms: number) => {
    const key = `${name}|${threads}`;
    const x = samples.get(key) ?? { name, threads, tokens, ms: [] };
    x.tokens = tokens;
    x.ms.push(ms);
    samples.set(key, x);
  };
  const ours = async () => {
    for (const b of benches) {
      const { tokens, ms } = await timeOnce(b.fn);
      add(b.name, b.threads, tokens, ms);
    }
  };
  const theirs = async () => {
    for (const w of hf) for (const r of await w.round()) add(r.name, r.threads, r.tokens, r.ms);
  };
  for (let r = 0; r < runs; r++) {
    if (r % 2 === 0) {
      await ours();
      await theirs();
    } else {
      await theirs();
      await ours();
    }
  }
  for (const w of hf) w.close();
  const load1 = os.loadavg();
  const rows: Row[] = [...samples.values()].map(toRow);

  // per-round ratios (ours / Rust in the same round), then their median
  const ms = (name: string, threads: number) => samples.get(`${name}|${threads}`)?.ms;
  const tokensOf = (name: string, threads: number) => samples.get(`${name}|${threads}`)?.tokens ?? 0;
  const ratio = (ours: [string, number], theirs: [string, number]): number | undefined => {
    const a = ms(...ours);
    const b = ms(...theirs);
    if (!a || !b) return undefined;
    // tokens/s ratio = (tokens_a / ms_a) / (tokens_b / ms_b), per round
    const k = tokensOf(...ours) / tokensOf(...theirs);
    return median(a.map((x, i) => (k * b[i]) / x));
  };
  const HFB = `HF tokenizers encodeBatch(${BATCH})`;
  const HFL = 'HF tokenizers encode line by line';
  const ratios = {
    fast_batch_1thread_vs_rust_batch_1thread: ratio([`ConvBertTokenizerFast encodeBatch(${BATCH})`, 1], [HFB, 1]),
    fast_batch_offsets_1thread_vs_rust_batch_1thread: ratio([`ConvBertTokenizerFast encodeBatch(${BATCH}) + offset_mapping`, 1], [HFB, 1]),
    fast_line_vs_rust_line: ratio(['ConvBertTokenizerFast encode line by line', 1], [HFL, 1]),
    fast_batch_allcores_vs_rust_batch_allcores: ratio([`ConvBertTokenizerFast encodeBatch(${BATCH})`, cores], [HFB, cores]),
    fast_batchasync_allcores_vs_rust_batch_allcores: ratio([`ConvBertTokenizerFast encodeBatchAsync(${BATCH})`, cores], [HFB, cores]),
    ts_batch_vs_rust_batch_1thread: ratio([`ConvBertTokenizer (TS) encodeBatch(${BATCH})`, 1], [HFB, 1]),
    ts_line_vs_rust_line: ratio(['ConvBertTokenizer (TS) encode line by line', 1], [HFL, 1]),
  };
  const loadavg = { start: load0.map((x) => +x.toFixed(2)), end: load1.map((x) => +x.toFixed(2)) };

  if (a.flag('json')) {
    process.stdout.write(JSON.stringify({ cores, runs, loadavg, rows, ratios, note: hfNote || undefined }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `bench_en_1mb.txt: ${lines.length} lines; ${cores} cores; median of ${runs} alternating rounds; ` +
      `load average (1/5/15 min) ${loadavg.start.join(' ')} at start, ${loadavg.end.join(' ')} at end\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(62)} ${String(r.threads).padStart(2)} thr  ${(r.tokensPerSec / 1e3).toFixed(0).padStart(7)}k tok/s  (${r.tokens} tokens, ${r.ms.toFixed(1)} ms)\n`,
    );
  }
  if (hf.length > 0) {
    const f = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)}x`);
    process.stdout.write(
      `medians of per-round ratios (ours/Rust, tokens/s):\n` +
        `  fast encodeBatch 1 thr / Rust encodeBatch 1 thr:        ${f(ratios.fast_batch_1thread_vs_rust_batch_1thread)} (target >= 2)\n` +
        `  fast encode line by line / Rust encode line by line:    ${f(ratios.fast_line_vs_rust_line)} (target >= 2)\n` +
        `  fast encodeBatch + offsets 1 thr / Rust encodeBatch 1 thr: ${f(ratios.fast_batch_offsets_1thread_vs_rust_batch_1thread)}\n` +
        `  fast encodeBatch ${cores} thr / Rust encodeBatch ${cores} thr:        ${f(ratios.fast_batch_allcores_vs_rust_batch_allcores)} (target >= 2)\n` +
        `  fast encodeBatchAsync ${cores} thr / Rust encodeBatch ${cores} thr:   ${f(ratios.fast_batchasync_allcores_vs_rust_batch_allcores)}\n` +
        `  TS encodeBatch / Rust encodeBatch 1 thr:                ${f(ratios.ts_batch_vs_rust_batch_1thread)} (target >= 0.33)\n` +
        `  TS encode line by line / Rust encode line by line:      ${f(ratios.ts_line_vs_rust_line)} (target >= 0.33)\n`,
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
  main().catch(benchFailed);
}
