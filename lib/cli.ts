// cli.ts: the `convbert` command.
//   convbert run <task> --model <id|dir> [inputs...] [--inputs JSON] [--params JSON] [--json]
//   convbert serve --model <id|dir> --task <task> [--port N] [--host H] [limits, batching]
//   convbert worker --model <id|dir> --task <task> --queue NAME [--redis URL] [--concurrency N] [...]
//   convbert batch --queue NAME --task <task> --input corpus.jsonl|.txt --output results.jsonl [...]
//   convbert bench [bench/model.ts options]
//   convbert --help | --version
// Exit codes: 0 ok, 1 a failure at run time (its message on stderr), 2 bad usage.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { inspect, parseArgs } from 'util';

import { ConvBertError } from './errors';
import { closestName } from './options';
import type { RequestLimits } from './server/request';

const HELP = `convbert: ConvBERT pipelines, server, queue worker and benchmark

Usage:
  convbert run <task> --model <id|dir> [inputs...] [options]
      Runs a pipeline and prints its output. Each positional argument is one text;
      --inputs takes JSON for structured inputs ({"question":..,"context":..}).
        --inputs JSON         inputs as JSON (instead of positional texts)
        --params JSON         pipeline options, e.g. '{"top_k": 3}'
        --candidate-labels L  comma-separated labels (zero-shot-classification)
        --json                print JSON (one line) instead of a readable form
        --tokenizer fast|slow --revision REV --cache-dir DIR
        --dtype float32|bfloat16|int8|float16  --device cpu|auto|cuda|cuda:N
        --modules-to-not-convert M,M  linear modules kept in float32 (bfloat16/int8)

  convbert serve --model <id|dir> --task <task> [options]
      HTTP JSON API: POST /v1/<task> {"inputs": ..., "parameters": {...}} (and POST /),
      GET /health, GET /metrics (Prometheus), GET /info, POST /tokenize, /decode;
      feature-extraction: OpenAI's POST /v1/embeddings and TEI's POST /embed, /embed_all;
      text-classification: TEI's POST /predict and /rerank (one-label models).
      SIGTERM drains and exits (run it with exec or node_modules/.bin/convbert, not npx,
      under a supervisor: see docs/serving.md).
        --pooling mean|cls    pooled embeddings of /embed and /v1/embeddings (default mean)
        --no-normalize        do not L2-normalise them (default: normalised)
        --api-key KEY         require Authorization: Bearer KEY (default $CONVBERT_API_KEY;
                              /health stays open) -> 401
        --cors-origin ORIGIN  allow browser calls from ORIGIN (repeatable; '*' = any; default none)
        --log-level L         error|warn|info|debug|silent (default info: one access line per request)
        --model-id NAME       the model's name in /info and OpenAI answers (default: --model)
        --port N              (default 8080; 0 = any free port)
        --host H              (default 127.0.0.1)
        --max-body BYTES      request size limit (default 1048576) -> 413
        --max-inputs N        model rows per request: inputs, x candidate labels,
                              choices, question-answering windows (default 64) -> 413
        --max-top-k N         largest top_k, fill-mask and question-answering (default 100) -> 400
        --max-masks N         mask tokens per fill-mask input (default 32) -> 400
        --max-candidates N    fill-mask candidates per request, masks x top_k (default 1024) -> 413
        --timeout-ms MS       per-request deadline in the batcher (default 30000) -> 503
        --max-batch-size N    dynamic batching: rows per batch (default 16)
        --max-wait-ms MS      dynamic batching: wait for partners (default 5)
        --max-tokens N        dynamic batching: tokens per batch (default unbounded)
        --max-queue N         dynamic batching: queued rows before 429 (default 1024)
        --max-concurrent-batches N  batches run at once (default 2)
        --no-batching         run each request on its own
        --tokenizer fast|slow --revision REV --cache-dir DIR
        --dtype float32|bfloat16|int8|float16  --device cpu|auto|cuda|cuda:N
        --modules-to-not-convert M,M  linear modules kept in float32 (bfloat16/int8)

  convbert worker --model <id|dir> --task <task> --queue NAME [options]
      Consumes BullMQ jobs from Redis (needs \`npm install bullmq\`): a job named <task>
      with the data {"inputs": ..., "parameters": {...}} of POST /v1/<task> returns that
      route's JSON. Concurrent jobs share the dynamic batcher; bad input fails a job at
      once (its code in failedReason), other errors are retried. SIGTERM drains and exits.
        --redis URL           (default $REDIS_URL, then redis://127.0.0.1:6379)
        --concurrency N       jobs run at once (default 16)
        --metrics-port N      serve GET /metrics and /health (0 = any free port)
        --metrics-host H      (default 127.0.0.1)
        --lock-duration-ms MS a job's lock without renewal (default 30000): a killed
                              worker's jobs go back to the queue after about this long
        --stalled-interval-ms MS  how often expired locks are looked for (default 30000)
        --max-stalled-count N stalls a job may survive before it fails (default 1)
        --drain-timeout-ms MS how long SIGTERM waits for running jobs (default 60000)
        --connect-timeout-ms MS  how long the first connection to Redis may take
                              (default 30000; later drops are retried for ever)
        --prefix P            bullmq key prefix (default bull)
        the serve limits (--max-body, --max-inputs, --max-top-k, --max-masks,
        --max-candidates, --timeout-ms) and batching options, --tokenizer, --revision,
        --cache-dir, --dtype, --device, --modules-to-not-convert

  convbert batch --queue NAME --task <task> --input FILE --output FILE [options]
      Sends each non-empty line of a .txt (a text) or .jsonl file (a body {"inputs", "parameters"}
      or an input) as a job and writes {"line": N, "result" | "error": ...} per line, in input
      order. Re-running with the same output resumes after the lines already written.
        --redis URL --prefix P
        --params JSON         parameters for lines without their own, e.g. '{"top_k": 3}'
        --max-in-flight N     jobs queued and not finished at once (default 256)
        --max-line-bytes N    longest input line (default 16777216); longer: an error line
        --attempts N          tries per job for transient failures (default 3)
        --poll-ms MS          look up unfinished jobs in Redis this often (default 5000)
        --connect-timeout-ms MS  how long the first connection to Redis may take (default 30000)
        --progress-interval-ms MS  plain progress lines (not a TTY) this often (default 5000)

  convbert bench [options]
      Times forward passes of a seeded random ConvBERT-base (bench/model.ts;
      needs a source checkout): --shapes 1x128,8x128 --iters 20 --threads N --json

Tasks: fill-mask, text-classification (sentiment-analysis), token-classification (ner),
question-answering, feature-extraction (embeddings), zero-shot-classification, multiple-choice.
`;

class UsageError extends Error {}

/** One option of a subcommand: a switch or an option that takes a value (repeatable with multiple). */
interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}
type OptionTable = Readonly<Record<string, OptionSpec>>;

const S: OptionSpec = { type: 'string' };
const B: OptionSpec = { type: 'boolean' };
const HELP_OPT: OptionSpec = { type: 'boolean', short: 'h' };
// Shared rows, so a flag means the same thing in every subcommand that takes it.
const MODEL_OPTS: OptionTable = { model: S, tokenizer: S, revision: S, 'cache-dir': S, dtype: S, device: S, 'modules-to-not-convert': S, help: HELP_OPT };
const LIMIT_OPTS: OptionTable = { 'max-body': S, 'max-inputs': S, 'max-top-k': S, 'max-masks': S, 'max-candidates': S, 'timeout-ms': S };
const BATCHING_OPTS: OptionTable = { 'max-batch-size': S, 'max-wait-ms': S, 'max-tokens': S, 'max-queue': S, 'max-concurrent-batches': S, 'no-batching': B };

/** One option table per subcommand: util.parseArgs parses each strictly. */
export const OPTION_TABLES: Readonly<Record<'run' | 'serve' | 'worker' | 'batch', OptionTable>> = {
  run: { ...MODEL_OPTS, inputs: S, params: S, 'candidate-labels': S, json: B },
  serve: {
    ...MODEL_OPTS,
    task: S,
    port: S,
    host: S,
    ...LIMIT_OPTS,
    ...BATCHING_OPTS,
    pooling: S,
    'no-normalize': B,
    'api-key': S,
    'cors-origin': { type: 'string', multiple: true },
    'log-level': S,
    'model-id': S,
  },
  worker: {
    ...MODEL_OPTS,
    task: S,
    queue: S,
    redis: S,
    prefix: S,
    concurrency: S,
    'metrics-port': S,
    'metrics-host': S,
    'lock-duration-ms': S,
    'stalled-interval-ms': S,
    'max-stalled-count': S,
    'drain-timeout-ms': S,
    'connect-timeout-ms': S,
    ...LIMIT_OPTS,
    ...BATCHING_OPTS,
  },
  batch: {
    queue: S,
    task: S,
    input: S,
    output: S,
    redis: S,
    prefix: S,
    params: S,
    'max-in-flight': S,
    'max-line-bytes': S,
    attempts: S,
    'poll-ms': S,
    'progress-interval-ms': S,
    'connect-timeout-ms': S,
    help: HELP_OPT,
  },
};

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
  /** Values of repeatable options (--cors-origin A --cors-origin B). */
  lists: Map<string, string[]>;
}

/**
 * Parses a subcommand's argv with util.parseArgs in strict mode against its table: an
 * unknown flag, a switch given a value or an option without one is a UsageError (exit 2)
 * naming it. `--k v` takes v even when it starts with '-' (--max-inputs -3 is then
 * refused by the integer reader, naming the value); `--` ends the flags.
 */
export function parseCommand(cmd: string, table: OptionTable, argv: readonly string[]): Parsed {
  // util.parseArgs refuses a value that starts with '-' as ambiguous; join it to its option.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    if (name !== null && table[name]?.type === 'string' && i + 1 < argv.length && /^-(?!-)/.test(argv[i + 1])) args.push(`${a}=${argv[++i]}`);
    else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: table as Record<string, OptionSpec>, strict: true, allowPositionals: true });
  } catch (e) {
    throw explainParseError(cmd, table, e as Error & { code?: string });
  }
  const flags = new Map<string, string | true>();
  const lists = new Map<string, string[]>();
  for (const [k, v] of Object.entries(parsed.values)) {
    if (Array.isArray(v)) lists.set(k, v as string[]);
    else if (v === true) flags.set(k, true);
    else if (typeof v === 'string') flags.set(k, v);
  }
  return { positional: parsed.positionals, flags, lists };
}

/** util.parseArgs' error, said as ours: the flag and what was wrong with it. */
function explainParseError(cmd: string, table: OptionTable, e: Error & { code?: string }): UsageError {
  const m = /'(-{1,2}[^' ]+)/.exec(e.message);
  const raw = m ? m[1] : '';
  const name = raw.replace(/^-+/, '');
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const near = closestName(name, Object.keys(table));
    const hint = near !== null ? ` (did you mean --${near}?)` : '';
    return new UsageError(`convbert ${cmd}: unknown option ${raw}${hint} (see convbert --help)`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && table[name]?.type === 'boolean') return new UsageError(`--${name}: a switch, expected no value`);
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError(`--${name}: expected a value`);
  return new UsageError(`convbert ${cmd}: ${e.message}`);
}

function str(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  if (v === true) throw new UsageError(`--${name}: expected a value`);
  return v;
}

function int(p: Parsed, name: string, lo = 0): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  // Number() would take '', '1e3' and '0x10'; a count on a command line is plain digits.
  const n = /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < lo) throw new UsageError(`--${name}: expected an integer >= ${lo}, got ${JSON.stringify(v)}`);
  return n;
}

function json(p: Parsed, name: string): unknown {
  const v = str(p, name);
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v);
  } catch (e) {
    throw new UsageError(`--${name}: not valid JSON: ${(e as Error).message}`);
  }
}

function pipelineOptions(p: Parsed): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const tk = str(p, 'tokenizer');
  if (tk !== undefined) {
    if (tk !== 'fast' && tk !== 'slow') throw new UsageError(`--tokenizer: expected fast or slow, got ${JSON.stringify(tk)}`);
    o.tokenizer = tk;
  }
  const rev = str(p, 'revision');
  if (rev !== undefined) o.revision = rev;
  const cache = str(p, 'cache-dir');
  if (cache !== undefined) o.cacheDir = cache;
  // dtype, device and the module names are checked by fromPretrained (typed errors naming the option).
  const dtype = str(p, 'dtype');
  if (dtype !== undefined) o.dtype = dtype;
  const device = str(p, 'device');
  if (device !== undefined) o.device = device;
  const keep = str(p, 'modules-to-not-convert');
  if (keep !== undefined) o.modulesToNotConvert = keep.split(',').map((m) => m.trim());
  return o;
}

/** The pipelines (and the native addon) load only for commands that need them, so --help stays fast. */
function loadServer(): typeof import('./server/tasks') & typeof import('./server/http') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return { ...(require('./server/tasks') as typeof import('./server/tasks')), ...(require('./server/http') as typeof import('./server/http')) };
}

/** The queue code (and bullmq, when a command builds a worker or client) loads only for worker and batch. */
function loadQueue(): typeof import('./queue/worker') & typeof import('./queue/batch') & typeof import('./queue/bullmq') {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    ...(require('./queue/worker') as typeof import('./queue/worker')),
    ...(require('./queue/batch') as typeof import('./queue/batch')),
    ...(require('./queue/bullmq') as typeof import('./queue/bullmq')),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

async function cmdRun(p: Parsed, out: NodeJS.WritableStream): Promise<void> {
  const [task, ...texts] = p.positional;
  if (!task) throw new UsageError('convbert run: expected a task, e.g. convbert run fill-mask --model <id|dir> "Paris is the [MASK] of France."');
  const model = str(p, 'model');
  if (!model) throw new UsageError('convbert run: --model <id|dir> is required');
  let inputs = json(p, 'inputs');
  if (inputs !== undefined && texts.length > 0) throw new UsageError('convbert run: give inputs either as texts or as --inputs JSON, not both');
  if (inputs === undefined) {
    if (texts.length === 0) throw new UsageError('convbert run: no inputs (give texts after the task, or --inputs JSON)');
    inputs = texts.length === 1 ? texts[0] : texts;
  }
  const params = (json(p, 'params') ?? {}) as Record<string, unknown>;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new UsageError('--params: expected a JSON object');
  const labels = str(p, 'candidate-labels');
  if (labels !== undefined)
    params.candidate_labels = labels
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  const { loadTask } = loadServer();
  const handler = await loadTask(task, model, { batching: false, pipeline: pipelineOptions(p) as never });
  try {
    const res = await handler.run(inputs, params, {});
    if (p.flags.get('json') === true) out.write(JSON.stringify(res) + '\n');
    else out.write(inspect(res, { depth: 8, maxArrayLength: 20, colors: false, breakLength: 100 }) + '\n');
  } finally {
    await handler.dispose();
  }
}

/** --max-batch-size ... --no-batching, shared by serve and worker. */
function batchingOptions(p: Parsed) {
  return p.flags.get('no-batching') === true
    ? (false as const)
    : {
        maxBatchSize: int(p, 'max-batch-size', 1) ?? 16,
        maxWaitMs: int(p, 'max-wait-ms', 0) ?? 5,
        maxQueue: int(p, 'max-queue', 0) ?? 1024,
        maxConcurrentBatches: int(p, 'max-concurrent-batches', 1) ?? 2,
        ...(int(p, 'max-tokens', 1) !== undefined ? { maxTokens: int(p, 'max-tokens', 1) } : {}),
      };
}

async function cmdServe(p: Parsed, log: (line: string) => void): Promise<void> {
  if (p.positional.length > 0) throw new UsageError(`convbert serve: unexpected argument ${JSON.stringify(p.positional[0])}`);
  const model = str(p, 'model');
  if (!model) throw new UsageError('convbert serve: --model <id|dir> is required');
  const task = str(p, 'task');
  if (!task) throw new UsageError('convbert serve: --task <task> is required');
  const port = int(p, 'port', 0);
  if (port !== undefined && port > 65535) throw new UsageError(`--port: expected 0..65535, got ${port}`);
  const batching = batchingOptions(p);
  const pooling = str(p, 'pooling');
  if (pooling !== undefined && pooling !== 'mean' && pooling !== 'cls') throw new UsageError(`--pooling: expected mean or cls, got ${JSON.stringify(pooling)}`);
  const logLevel = str(p, 'log-level');
  const LEVELS = ['error', 'warn', 'info', 'debug', 'silent'];
  if (logLevel !== undefined && !LEVELS.includes(logLevel)) throw new UsageError(`--log-level: expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  const apiKey = str(p, 'api-key') ?? process.env.CONVBERT_API_KEY;
  if (apiKey !== undefined && apiKey.trim() === '') {
    throw new UsageError(`${str(p, 'api-key') !== undefined ? '--api-key' : 'CONVBERT_API_KEY'}: expected a non-empty key, got an empty string`);
  }
  const cors = (p.lists.get('cors-origin') ?? []).flatMap((o) =>
    o
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  for (const o of cors) {
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) throw new UsageError(`--cors-origin: expected an origin like https://app.example.com or '*', got ${JSON.stringify(o)}`);
  }
  // Every flag is read before the model loads, so a bad value is a usage error (exit 2) at once.
  const options = {
    host: str(p, 'host'),
    port: port ?? 8080,
    ...readLimits(p),
    pooling: pooling as 'mean' | 'cls' | undefined,
    normalize: p.flags.get('no-normalize') !== true,
    apiKey,
    corsOrigins: cors,
    logLevel: logLevel as 'info' | undefined,
    modelId: str(p, 'model-id') ?? model,
    dtype: str(p, 'dtype'),
    log,
  };
  const { loadTask, serve } = loadServer();
  const handler = await loadTask(task, model, { batching, pipeline: pipelineOptions(p) as never });
  await serve(handler, options);
}

/** The request limits of serve and worker (undefined: the default in DEFAULT_REQUEST_LIMITS). */
function readLimits(p: Parsed): { [K in keyof RequestLimits]: number | undefined } {
  return {
    maxBodyBytes: int(p, 'max-body', 1),
    maxInputs: int(p, 'max-inputs', 1),
    maxTopK: int(p, 'max-top-k', 1),
    maxMasks: int(p, 'max-masks', 1),
    maxCandidates: int(p, 'max-candidates', 1),
    requestTimeoutMs: int(p, 'timeout-ms', 0),
  };
}

async function cmdWorker(p: Parsed, log: (line: string) => void): Promise<void> {
  if (p.positional.length > 0) throw new UsageError(`convbert worker: unexpected argument ${JSON.stringify(p.positional[0])}`);
  const model = str(p, 'model');
  if (!model) throw new UsageError('convbert worker: --model <id|dir> is required');
  const task = str(p, 'task');
  if (!task) throw new UsageError('convbert worker: --task <task> is required');
  const queue = str(p, 'queue');
  if (!queue) throw new UsageError('convbert worker: --queue NAME is required');
  const metricsPort = int(p, 'metrics-port', 0);
  if (metricsPort !== undefined && metricsPort > 65535) throw new UsageError(`--metrics-port: expected 0..65535, got ${metricsPort}`);
  const { runWorker, loadBullMQ, redisUrlFlag, checkQueueName } = loadQueue();
  // Every flag, bullmq and the URL are checked before the model loads, which can take a while.
  checkQueueName(queue, '--queue');
  loadBullMQ();
  const options = {
    connection: redisUrlFlag(str(p, 'redis')),
    prefix: str(p, 'prefix'),
    concurrency: int(p, 'concurrency', 1),
    metricsPort,
    metricsHost: str(p, 'metrics-host'),
    lockDurationMs: int(p, 'lock-duration-ms', 1),
    stalledIntervalMs: int(p, 'stalled-interval-ms', 1),
    maxStalledCount: int(p, 'max-stalled-count', 0),
    drainTimeoutMs: int(p, 'drain-timeout-ms', 0),
    connectTimeoutMs: int(p, 'connect-timeout-ms', 1),
    limits: readLimits(p),
    log,
  };
  const batching = batchingOptions(p);
  const { loadTask } = loadServer();
  const handler = await loadTask(task, model, { batching, pipeline: pipelineOptions(p) as never });
  try {
    await runWorker(handler, queue, options);
  } catch (e) {
    await handler.dispose().catch(() => {});
    throw e;
  }
}

async function cmdBatch(p: Parsed, err: NodeJS.WritableStream): Promise<number> {
  if (p.positional.length > 0) throw new UsageError(`convbert batch: unexpected argument ${JSON.stringify(p.positional[0])}`);
  const need = (name: string, what: string): string => {
    const v = str(p, name);
    if (!v) throw new UsageError(`convbert batch: --${name} ${what} is required`);
    return v;
  };
  const queue = need('queue', 'NAME');
  const task = need('task', '<task>');
  const input = need('input', 'FILE');
  const output = need('output', 'FILE');
  const params = json(p, 'params');
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) throw new UsageError('--params: expected a JSON object');
  const attempts = int(p, 'attempts', 1);
  const { runBatch, redisUrlFlag } = loadQueue();
  const s = await runBatch({
    queue,
    task,
    input,
    output,
    connection: redisUrlFlag(str(p, 'redis')),
    maxLineBytes: int(p, 'max-line-bytes', 1),
    connectTimeoutMs: int(p, 'connect-timeout-ms', 1),
    prefix: str(p, 'prefix'),
    parameters: params as Record<string, unknown> | undefined,
    maxInFlight: int(p, 'max-in-flight', 1),
    jobOptions: attempts !== undefined ? { attempts } : undefined,
    pollMs: int(p, 'poll-ms', 10),
    progressIntervalMs: int(p, 'progress-interval-ms', 10),
    progress: err,
    log: (line) => err.write(line + '\n'),
  });
  const thisRun = s.completed + s.failed;
  err.write(
    `convbert batch: ${s.total} records, ${s.skipped} already in ${output}, ${thisRun} run now (${s.completed} ok, ${s.failed} failed) in ${s.seconds.toFixed(1)} s` +
      `${s.failed > 0 ? '; the failures are in the output with their error' : ''}\n`,
  );
  // Every line has its output; failed records make the exit status 1 so a script notices.
  return s.failed > 0 ? 1 : 0;
}

const benchScript = (): string => path.join(path.resolve(__dirname, '..'), 'bench', 'model.ts');
/** Whether `convbert bench` can run here: bench/ is in a source checkout, not in the published package. */
const benchAvailable = (): boolean => fs.existsSync(benchScript());

/** --help; `bench` is listed only where it can run. */
function helpText(): string {
  return benchAvailable() ? HELP : HELP.replace(/\n {2}convbert bench \[options\]\n(?: {6}.*\n)*/, '\n');
}

/** bench/model.ts lives in the source tree (it is not part of the built package); it runs under tsx. */
function cmdBench(argv: readonly string[]): Promise<number> {
  const root = path.resolve(__dirname, '..');
  const script = benchScript();
  if (!fs.existsSync(script)) {
    throw new ConvBertError(`convbert bench: ${script} not found; the benchmark runs from a source checkout (npm run bench)`, 'ERR_CONVBERT_IO');
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...argv], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 1 : 0)));
  });
}

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Runs the CLI; resolves with the exit code. `serve` resolves once listening (the
 * process then lives until a signal).
 */
export async function main(argv: readonly string[], io: { out?: NodeJS.WritableStream; err?: NodeJS.WritableStream } = {}): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      out.write(helpText());
      return 0;
    }
    if (cmd === '--version') {
      out.write(version() + '\n');
      return 0;
    }
    if (cmd === 'bench') return await cmdBench(rest);
    if (!Object.prototype.hasOwnProperty.call(OPTION_TABLES, cmd)) {
      throw new UsageError(`convbert: unknown command ${JSON.stringify(cmd)}; expected run, serve, worker, batch${benchAvailable() ? ' or bench' : ''} (see convbert --help)`);
    }
    const p = parseCommand(cmd, OPTION_TABLES[cmd as keyof typeof OPTION_TABLES], rest);
    if (p.flags.get('help') === true) {
      out.write(helpText());
      return 0;
    }
    if (cmd === 'run') {
      await cmdRun(p, out);
      return 0;
    }
    if (cmd === 'serve') {
      await cmdServe(p, (line) => err.write(line + '\n'));
      return 0;
    }
    if (cmd === 'worker') {
      await cmdWorker(p, (line) => err.write(line + '\n'));
      return 0;
    }
    return await cmdBatch(p, err);
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`${e.message}\n`);
      return 2;
    }
    const code = e instanceof ConvBertError ? ` [${e.code}]` : '';
    err.write(`convbert: ${e instanceof Error ? e.message : String(e)}${code}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    // serve and worker keep the process alive (server, Redis); everything else exits with its code.
    if (code !== 0 || !['serve', 'worker'].includes(process.argv[2] ?? '')) process.exitCode = code;
  });
}
