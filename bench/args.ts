// args.ts: the benchmarks' command lines. Every bench's options live here in one
// table each (flag, value kind, default, one line of help), parsed by node's
// util.parseArgs in strict mode, so a mistyped flag or a stray word is an error
// that names it instead of a silently ignored default. Typed readers (int, num,
// shapes, json, choice) check each value and name the flag in their errors.
// Nothing here runs at import: test/bench/args.test.ts parses the docs' commands.
import { parseArgs } from 'util';

import { ConvBertError } from '../lib/errors';

/** One flag of a bench. */
export interface OptionSpec {
  /** 'boolean': a switch (--json); 'string': takes a value (--iters 20 or --iters=20). */
  type: 'string' | 'boolean';
  /** The value's placeholder in --help (N, BxL,..., JSON). */
  value?: string;
  /** The default parseArgs fills in; left out where it depends on other flags (defaultText says how). */
  default?: string;
  /** --help's default where `default` cannot say it. */
  defaultText?: string;
  /** One line for --help: what the flag means (units included). */
  help: string;
}

export type OptionTable = Record<string, OptionSpec>;

export interface BenchSpec<T extends OptionTable = OptionTable> {
  /** The script, relative to the repository root. */
  script: string;
  /** The npm scripts that run it (package.json). */
  npm: string[];
  /** One line for --help: what it measures. */
  summary: string;
  options: T;
}

type StringKey<T extends OptionTable> = { [K in keyof T]: T[K]['type'] extends 'string' ? K : never }[keyof T] & string;
type BoolKey<T extends OptionTable> = { [K in keyof T]: T[K]['type'] extends 'boolean' ? K : never }[keyof T] & string;

const spec = <T extends OptionTable>(s: BenchSpec<T>): BenchSpec<T> => s;

// Shared rows, so one flag means the same thing in every bench that takes it.
const json = { type: 'boolean', help: 'print the results as JSON instead of the table' } as const;
const noSave = { type: 'boolean', help: 'do not write the results file under bench/results/' } as const;
const seed = (what: string) => ({ type: 'string', value: 'N', default: '0', help: `seed of ${what}` }) as const;

// ---------------------------------------------------------------- the tables

export const ACCURACY = spec({
  script: 'bench/accuracy.ts',
  npm: ['bench:accuracy'],
  summary: 'how far each opt-in precision (bfloat16, int8) is from float32, on a seeded random model and the golden fixtures',
  options: {
    config: { type: 'string', value: 'NAME', default: 'base', help: 'published config of the random model (base, medium-small, small or a model id)' },
    dtypes: { type: 'string', value: 'A,B', default: 'bfloat16,int8', help: 'precisions compared with float32' },
    'modules-to-not-convert': { type: 'string', value: 'a,b;c', default: '', help: "extra rows with these linear modules kept in float32: names joined by ',', variants by ';'" },
    seed: seed('the random model and inputs'),
    shape: { type: 'string', value: 'BxL', default: '8x128', help: 'batch x sequence length of the full batch' },
    'no-fixtures': { type: 'boolean', help: 'skip the golden fixture folders' },
    peer: { type: 'boolean', help: "also onnxruntime-node's dynamic int8 on the same inputs" },
    'no-save': noSave,
    json,
  },
});

export const CUDA = spec({
  script: 'bench/cuda.ts',
  npm: ['bench:cuda'],
  summary: 'the CUDA backend on a real GPU: per-op kernel times, then ConvBERT-base end to end per dtype (exits 77 without a GPU)',
  options: {
    shapes: { type: 'string', value: 'BxL,...', default: '1x128,8x128,32x128,64x128,1x512,8x512,64x512', help: 'batch x sequence shapes of the model runs' },
    iters: { type: 'string', value: 'N', default: '10', help: 'timed runs per op and per shape' },
    warmup: { type: 'string', value: 'N', default: '3', help: 'untimed model runs before each shape' },
    dtypes: { type: 'string', value: 'A,B', default: 'float32,float16,bfloat16', help: 'engine dtypes of the model runs' },
    'ops-only': { type: 'boolean', help: 'only the per-op kernel times' },
    'model-only': { type: 'boolean', help: 'only the end-to-end model runs' },
    json,
  },
});

export const GEMM = spec({
  script: 'bench/gemm.ts',
  npm: ['bench:gemm'],
  summary: "the packed fp32 gemm alone on one encoder layer's linear layers, as % of the FMA probe",
  options: {
    config: { type: 'string', value: 'NAME', default: 'base', help: 'published config whose linear layers are timed (base, medium-small, small or a model id)' },
    rows: { type: 'string', value: 'N,...', default: '128,1024', help: 'rows of each product (tokens of a forward)' },
    seconds: { type: 'string', value: 'S', default: '0.4', help: 'timed seconds per layer, about' },
    threads: { type: 'string', value: 'N', defaultText: "the engine's default", help: "the engine's intra-op threads" },
    json,
  },
});

export const HARNESS = spec({
  script: 'bench/harness.ts',
  npm: ['bench', 'bench:quick'],
  summary: 'us vs onnxruntime-node in one process on identical weights and inputs: latency, throughput, load time, % of peak',
  options: {
    quick: { type: 'boolean', help: 'fewer runs, medium-small only unless --configs' },
    configs: { type: 'string', value: 'A,B', defaultText: 'base,medium-small; medium-small with --quick', help: 'published configs to run' },
    cases: { type: 'string', value: 'BxL,...', default: '1x128,8x128,32x128,1x512,mixed', help: "cases to time: BxL shapes and 'mixed' (32 lengths 16-256)" },
    iters: { type: 'string', value: 'N', default: '0', help: 'timed runs per case per engine (0: each case its own count)' },
    threads: { type: 'string', value: 'N', defaultText: 'os.availableParallelism()', help: 'intra-op threads, ours and the peer' },
    seed: seed('the random models'),
    block: { type: 'string', value: 'N', default: '3', help: 'timed runs per engine in a row, after one untimed run' },
    dtype: { type: 'string', value: 'float32|bfloat16|int8', default: 'float32', help: "our engine's weight type (int8: the peer is its int8 model too)" },
    'modules-to-not-convert': { type: 'string', value: 'a,b', default: '', help: 'with --dtype bfloat16|int8: these linear modules stay float32' },
    'no-peer': { type: 'boolean', help: 'run without onnxruntime-node' },
    'no-save': noSave,
    json,
  },
});

export const LOAD = spec({
  script: 'bench/load.ts',
  npm: ['bench:startup'],
  summary: 'load time and peak RSS per engine dtype, each measurement in a fresh child process',
  options: {
    config: { type: 'string', value: 'NAME', default: 'base', help: 'published config of the saved model' },
    class: { type: 'string', value: 'NAME', default: 'ConvBertModel', help: 'model class to build and load' },
    dtypes: { type: 'string', value: 'A,B', default: 'float32,bfloat16,int8', help: 'engine dtypes to load' },
    variants: { type: 'string', value: 'A,B', default: 'plain,warm,thp', help: 'plain, warm (addon warmed first), thp (malloc asks for huge pages)' },
    runs: { type: 'string', value: 'N', default: '2', help: 'fresh children per dtype and variant' },
    repeats: { type: 'string', value: 'N', default: '2', help: 'further loads in the same child (dispose, load again)' },
    shapes: { type: 'string', value: 'BxL,...', default: '8x128,32x128', help: 'one forward per shape after the load (peak RSS with activations)' },
    'no-probe': { type: 'boolean', help: 'skip the page-fault probe' },
    'no-save': noSave,
    json,
    child: { type: 'string', value: 'JSON', help: 'internal: the parent hands a child its job as JSON' },
  },
});

export const MODEL = spec({
  script: 'bench/model.ts',
  npm: ['bench:model'],
  summary: 'times forward passes of a seeded random ConvBERT-base (also `convbert bench`)',
  options: {
    shapes: { type: 'string', value: 'BxL,...', default: '1x128,8x128', help: 'batch x sequence shapes to time' },
    iters: { type: 'string', value: 'N', default: '20', help: 'timed runs per shape' },
    warmup: { type: 'string', value: 'N', default: '3', help: 'untimed runs before each shape' },
    threads: { type: 'string', value: 'N', defaultText: "the engine's default", help: "the engine's intra-op threads" },
    seed: seed('the random weights'),
    config: { type: 'string', value: 'JSON', default: '{}', help: 'overrides of the ConvBERT-base config, e.g. \'{"num_hidden_layers": 2}\'' },
    json,
  },
});

export const QUEUE = spec({
  script: 'bench/queue.ts',
  npm: ['bench:queue'],
  summary: 'what the BullMQ queue costs and buys: in-process vs N `convbert worker` processes through Redis',
  options: {
    config: { type: 'string', value: 'NAME', default: 'small', help: 'published config of the random text-classification model' },
    jobs: { type: 'string', value: 'N', default: '400', help: 'timed jobs per round' },
    rows: { type: 'string', value: 'N', default: '1', help: 'texts per job' },
    workers: { type: 'string', value: 'N,...', default: '1,2', help: 'worker process counts to time' },
    concurrency: { type: 'string', value: 'N', default: '16', help: 'jobs in flight per worker (and in-process)' },
    'in-flight': { type: 'string', value: 'N', default: '256', help: 'jobs the producer keeps outstanding' },
    rounds: { type: 'string', value: 'N', default: '3', help: 'timed rounds per setting, alternated across settings' },
    warmup: { type: 'string', value: 'N', default: '64', help: 'untimed jobs per setting first' },
    redis: { type: 'string', value: 'URL', defaultText: 'a private redis-server', help: 'Redis to use' },
    'queue-only': { type: 'boolean', help: 'time the queue alone (no-op task in this process)' },
    json,
  },
});

export const SERVING = spec({
  script: 'bench/serving.ts',
  npm: ['bench:serving', 'bench:load', 'bench:soak'],
  summary: 'load test of `convbert serve` on 127.0.0.1 (autocannon or a closed loop), against the same work in process',
  options: {
    preset: { type: 'string', value: 'base|small|tiny', default: 'base', help: 'model shapes (base: ConvBERT-base)' },
    driver: { type: 'string', value: 'autocannon|loop', default: 'autocannon', help: 'load generator' },
    connections: { type: 'string', value: 'N', default: '16', help: 'concurrent keep-alive connections' },
    clients: { type: 'string', value: 'N', defaultText: '--connections', help: 'alias of --connections' },
    duration: { type: 'string', value: 'S', default: '60', help: 'measured seconds per mode' },
    warmup: { type: 'string', value: 'S', default: '10', help: 'warm-up seconds before each measured run' },
    'min-len': { type: 'string', value: 'N', default: '8', help: 'shortest text, tokens with [CLS] and [SEP]' },
    'max-len': { type: 'string', value: 'N', default: '256', help: 'longest text, tokens with [CLS] and [SEP]' },
    modes: {
      type: 'string',
      value: 'A,B',
      defaultText: 'on,inproc; on,off,inproc with --driver loop; on with --soak',
      help: 'on (HTTP, batching), off (HTTP, no batching), inproc (no HTTP)',
    },
    'max-batch-size': { type: 'string', value: 'N', default: '16', help: "the batcher's largest batch" },
    'max-wait-ms': { type: 'string', value: 'MS', default: '5', help: 'how long the batcher waits to fill a batch' },
    'max-concurrent-batches': { type: 'string', value: 'N', default: '2', help: 'batches the server runs at once' },
    threads: { type: 'string', value: 'N', defaultText: "the engine's default", help: "the engine's intra-op threads (CONVBERT_NUM_THREADS)" },
    soak: { type: 'string', value: 'S', default: '0', help: "one HTTP run of S seconds, pass/fail on the server's RSS growth (0: off)" },
    'rss-every': { type: 'string', value: 'S', defaultText: '10 with --soak, else 0 (off)', help: "sample the server's RSS every S seconds" },
    'rss-bound-mb': { type: 'string', value: 'MB', default: '50', help: 'largest RSS floor growth a soak passes with' },
    rounds: { type: 'string', value: 'R', default: '0', help: 'alternate HTTP and in-process R times (--duration s per mode in all; 0: off)' },
    settle: { type: 'string', value: 'S', default: '5', help: 'seconds of rest before each alternated round' },
    json,
  },
});

export const TOKENIZER = spec({
  script: 'bench/tokenizer.ts',
  npm: ['bench:tokenizer'],
  summary: "tokenizer throughput on the fixtures' bench_en_1mb.txt, ours against HF's Rust tokenizers",
  options: {
    runs: { type: 'string', value: 'N', default: '5', help: 'alternating rounds; medians are reported' },
    json,
  },
});

export const VS_ORT = spec({
  script: 'bench/vs_ort.ts',
  npm: ['bench:ort'],
  summary: 'onnxruntime-node alone on the same seeded random ConvBERT-base our engine runs',
  options: {
    shapes: { type: 'string', value: 'BxL,...', default: '1x128,8x128', help: 'batch x sequence shapes to time' },
    iters: { type: 'string', value: 'N', default: '20', help: 'timed runs per shape' },
    warmup: { type: 'string', value: 'N', default: '3', help: 'untimed runs before each shape' },
    seed: seed('the random weights'),
    opset: { type: 'string', value: 'N', default: '17', help: 'ONNX opset of the export' },
    dtype: { type: 'string', value: 'float32|int8', default: 'float32', help: "the peer's model (int8: dynamically quantized by exportOnnx)" },
    threads: { type: 'string', value: 'N', defaultText: 'os.availableParallelism()', help: "the peer's intra-op threads" },
    config: { type: 'string', value: 'JSON', default: '{}', help: 'overrides of the ConvBERT-base config' },
    onnx: { type: 'string', value: 'FILE', defaultText: 'a temp file', help: 'write the exported model here and keep it' },
    'no-check': { type: 'boolean', help: "skip comparing the peer's outputs with ours" },
    json,
  },
});

/** Every bench, by script file name without .ts. */
export const BENCHES: Record<string, BenchSpec> = {
  accuracy: ACCURACY,
  cuda: CUDA,
  gemm: GEMM,
  harness: HARNESS,
  load: LOAD,
  model: MODEL,
  queue: QUEUE,
  serving: SERVING,
  tokenizer: TOKENIZER,
  vs_ort: VS_ORT,
};

// ---------------------------------------------------------------- parsing

/** Every table also takes --help (-h). */
const HELP = { type: 'boolean', short: 'h' } as const;

/** A bench's parsed command line with readers that check each value and name the flag. */
export class BenchArgs<T extends OptionTable> {
  constructor(
    readonly spec: BenchSpec<T>,
    private readonly values: Record<string, string | boolean | undefined>,
    private readonly seen: ReadonlySet<string>,
    /** --help or -h was given. */
    readonly help: boolean,
  ) {}

  /** Whether the command line gave --name (a default does not count). */
  given(name: keyof T & string): boolean {
    return this.seen.has(name);
  }

  flag(name: BoolKey<T>): boolean {
    return this.values[name] === true;
  }

  /** The value, else the table's default, else ''. */
  str(name: StringKey<T>): string {
    const v = this.values[name];
    return typeof v === 'string' ? v : '';
  }

  /** A comma-separated list without empty items. */
  list(name: StringKey<T>): string[] {
    return this.str(name).split(',').filter(Boolean);
  }

  /** An integer in [min, max]; `fallback` when neither the command line nor the table gives a value. */
  int(name: StringKey<T>, min: number, opts: { max?: number; fallback?: number } = {}): number {
    if (this.values[name] === undefined && opts.fallback !== undefined) return opts.fallback;
    return intValue(name, this.str(name), min, opts.max);
  }

  /** A comma-separated list of integers in [min, max]. */
  ints(name: StringKey<T>, min: number, max?: number): number[] {
    const raw = this.str(name);
    const parts = raw.split(',');
    const out = parts.map((p) => (/^\s*-?\d+\s*$/.test(p) ? Number(p) : NaN));
    if (out.some((v) => !Number.isSafeInteger(v) || v < min || (max !== undefined && v > max))) {
      throw argError(name, `a comma-separated list of integers ${range(min, max)}`, raw);
    }
    return out;
  }

  /** A finite number >= min (> min with `above`), e.g. seconds; `fallback` as in int(). */
  num(name: StringKey<T>, min: number, opts: { above?: boolean; fallback?: number } = {}): number {
    const raw = this.str(name);
    if (this.values[name] === undefined && opts.fallback !== undefined) return opts.fallback;
    const v = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(v) || v < min || (opts.above && v === min)) throw argError(name, `a number ${opts.above ? '>' : '>='} ${min}`, raw);
    return v;
  }

  /** One of `allowed`. */
  choice<C extends string>(name: StringKey<T>, allowed: readonly C[]): C {
    const v = this.str(name);
    if (!(allowed as readonly string[]).includes(v)) throw argError(name, `one of ${allowed.join(', ')}`, v);
    return v as C;
  }

  /** A comma-separated list whose items are each one of `allowed`. */
  choices<C extends string>(name: StringKey<T>, allowed: readonly C[]): C[] {
    const v = this.list(name);
    const bad = v.find((x) => !(allowed as readonly string[]).includes(x));
    if (v.length === 0 || bad !== undefined) throw argError(name, `a comma-separated list of ${allowed.join(', ')}`, this.str(name));
    return v as C[];
  }

  /** Batch x sequence shapes, `1x128,8x128`: positive integers, at most MAX_BENCH_TOKENS tokens a shape. */
  shapes(name: StringKey<T>): Array<[number, number]> {
    const raw = this.str(name);
    const items = raw.split(',');
    return items.map((s) => shapeValue(name, s, raw, 'a comma-separated list of BxL like 1x128,8x128'));
  }

  /** One batch x sequence shape, `8x128`. */
  shape(name: StringKey<T>): [number, number] {
    return shapeValue(name, this.str(name), this.str(name), 'BxL like 8x128');
  }

  /** A JSON object (config overrides). */
  json(name: StringKey<T>): Record<string, unknown> {
    const raw = this.str(name);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw argError(name, `a JSON object like '{"num_hidden_layers": 2}' (${(e as Error).message})`, raw);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw argError(name, `a JSON object like '{"num_hidden_layers": 2}'`, raw);
    return v as Record<string, unknown>;
  }
}

/** The most tokens (batch x length) one bench shape may ask for: 2^24, far above any real run, so a typo cannot size a huge allocation. */
export const MAX_BENCH_TOKENS = 1 << 24;

const range = (min: number, max?: number): string => (max === undefined ? `>= ${min}` : `in [${min}, ${max}]`);

function argError(name: string, expected: string, got: string): ConvBertError {
  return new ConvBertError(`--${name}: expected ${expected}, got ${JSON.stringify(got)}`, 'ERR_CONVBERT_ARG');
}

function intValue(name: string, raw: string, min: number, max?: number): number {
  // Number() would take '', '1e3' and '0x10'; a count on a command line is plain digits.
  const v = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(v) || v < min || (max !== undefined && v > max)) throw argError(name, `an integer ${range(min, max)}`, raw);
  return v;
}

function shapeValue(name: string, s: string, raw: string, expected: string): [number, number] {
  const m = /^\s*(\d+)x(\d+)\s*$/.exec(s);
  const b = m ? Number(m[1]) : NaN;
  const l = m ? Number(m[2]) : NaN;
  if (!(b >= 1 && l >= 1)) throw argError(name, expected, raw);
  if (b * l > MAX_BENCH_TOKENS) {
    throw new ConvBertError(`--${name}: expected at most ${MAX_BENCH_TOKENS} tokens a shape, got ${s.trim()} (${b * l})`, 'ERR_CONVBERT_LIMIT');
  }
  return [b, l];
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Why a strict parse failed, in our words: the flag, what was expected, what came. */
function explain(s: BenchSpec, argv: readonly string[], cause: Error): ConvBertError {
  const options = { ...s.options, help: HELP } as Record<string, { type: 'string' | 'boolean'; short?: string }>;
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const see = `(${s.script} --help lists them)`;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      return new ConvBertError(`${s.script}: expected only --options, got the argument ${JSON.stringify(t.value)} ${see}`, 'ERR_CONVBERT_ARG');
    }
    if (t.kind !== 'option') continue;
    const o = options[t.name];
    if (!o) {
      const near = Object.keys(s.options).filter((k) => distance(k, t.name) <= 2);
      const hint = near.length > 0 ? ` (did you mean ${near.map((k) => `--${k}`).join(' or ')}?)` : '';
      return new ConvBertError(
        `${s.script}: unknown option ${t.rawName}${hint}; expected one of ${Object.keys(s.options)
          .map((k) => `--${k}`)
          .join(', ')}`,
        'ERR_CONVBERT_ARG',
      );
    }
    if (o.type === 'boolean' && t.value !== undefined) {
      return new ConvBertError(`--${t.name}: expected no value (a switch), got ${JSON.stringify(t.value)}`, 'ERR_CONVBERT_ARG');
    }
    if (o.type === 'string' && t.value === undefined) {
      return new ConvBertError(`--${t.name}: expected a value, got none`, 'ERR_CONVBERT_ARG');
    }
    if (o.type === 'string' && !t.inlineValue && t.value?.startsWith('-')) {
      return new ConvBertError(
        `--${t.name}: expected a value, got ${JSON.stringify(t.value)}, which looks like an option; write --${t.name}=${t.value} if it is the value`,
        'ERR_CONVBERT_ARG',
      );
    }
  }
  return new ConvBertError(`${s.script}: ${cause.message}`, 'ERR_CONVBERT_ARG', { cause });
}

/**
 * Parses `argv` (without node and the script) against the bench's table, strictly:
 * an unknown flag, a stray argument, a switch given a value or an option missing
 * its value throws ConvBertError ERR_CONVBERT_ARG naming it.
 */
export function parseBenchArgs<T extends OptionTable>(s: BenchSpec<T>, argv: readonly string[]): BenchArgs<T> {
  const options = { ...s.options, help: HELP } as Record<string, OptionSpec & { short?: string }>;
  const config = Object.fromEntries(
    Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.default !== undefined ? { default: o.default } : {}) }]),
  ) as Record<string, { type: 'string' | 'boolean'; short?: string; default?: string }>;
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    throw explain(s, argv, e as Error);
  }
  const seen = new Set(parsed.tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : [])));
  const values = parsed.values as Record<string, string | boolean | undefined>;
  return new BenchArgs(s, values, seen, values.help === true);
}

/** --help's text: the summary, how to run it, then one line per option with its default. */
export function helpText(s: BenchSpec): string {
  const rows = Object.entries(s.options).map(([k, o]) => {
    const left = `--${k}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const def = o.defaultText ?? (o.default !== undefined && o.default !== '' ? o.default : undefined);
    return [left, `${o.help}${def !== undefined ? ` (default ${def})` : ''}`];
  });
  rows.push(['--help, -h', 'print these options and exit']);
  const w = Math.max(...rows.map(([l]) => l.length));
  const npm = s.npm.map((n) => `npm run ${n} -- [options]`).join(', ');
  return `${s.script}: ${s.summary}\nusage: node --import tsx ${s.script} [options]  (or ${npm})\n\n${rows.map(([l, r]) => `  ${l.padEnd(w)}  ${r}`).join('\n')}\n`;
}

/**
 * What a bench calls first: parses process.argv against its table. --help prints the
 * options and exits 0; a bad command line prints the error and exits 2 (a usage
 * error), before the bench builds anything.
 */
export function benchArgs<T extends OptionTable>(s: BenchSpec<T>, argv: readonly string[] = process.argv.slice(2)): BenchArgs<T> {
  let a: BenchArgs<T>;
  try {
    a = parseBenchArgs(s, argv);
  } catch (e) {
    if (!(e instanceof ConvBertError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  if (a.help) {
    process.stdout.write(helpText(s));
    process.exit(0);
  }
  return a;
}

/**
 * A bench's last catch: a bad option (ERR_CONVBERT_ARG, _LIMIT) prints its message
 * and exits 2 like a parse error; anything else prints in full and exits 1.
 */
export function benchFailed(e: unknown): never {
  if (e instanceof ConvBertError && (e.code === 'ERR_CONVBERT_ARG' || e.code === 'ERR_CONVBERT_LIMIT')) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
}
