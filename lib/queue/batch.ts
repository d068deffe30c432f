// batch.ts: `convbert batch`, a corpus through the queue. Each non-empty line of the
// input is one job (.txt: the line is the text; .jsonl: a request body {inputs,
// parameters}, or any other JSON value as the inputs) and each gets one output line,
// {"line": N, "result": ...} or {"line": N, "error": {"code", "message"}}, written in
// input order whatever order the jobs finish in. The output is the checkpoint: a re-run
// keeps the complete lines already there and starts after them. Progress goes to stderr:
// a redrawn bar on a TTY (done/total, rate, ETA), a plain line every few seconds otherwise.
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError, argError } from '../errors';
import { notRegularError } from '../files';
import { canonicalTask } from '../server/tasks';
import { intOption } from '../validate';
import { type RedisConnection } from './connection';
import { InferenceQueue } from './client';

export interface BatchOptions {
  /** The queue the workers consume. */
  queue: string;
  task: string;
  /** A .txt (one text per line) or .jsonl/.ndjson (one body or input per line) file. */
  input: string;
  /** Results, one JSON line per input line, in input order (appended to on a re-run). */
  output: string;
  connection?: RedisConnection;
  prefix?: string;
  /** Parameters for every line whose body has none (e.g. {"top_k": 3}, {"candidate_labels": [...]}). */
  parameters?: Record<string, unknown>;
  /** Most jobs in flight (default 256). */
  maxInFlight?: number;
  /** Longest input line, bytes (default 16 MiB); longer lines become ERR_CONVBERT_TOO_LARGE error lines. */
  maxLineBytes?: number;
  /** bullmq job options over the client's defaults (attempts, backoff, ...). */
  jobOptions?: Record<string, unknown>;
  /** How often jobs still waiting are looked up in Redis, ms (see InferenceQueueOptions.pollMs). */
  pollMs?: number;
  /** How long the first connection to Redis may take, ms (default 30000). */
  connectTimeoutMs?: number;
  /** Where progress goes (default process.stderr). */
  progress?: NodeJS.WritableStream;
  /** Draw a redrawn bar (default: whether `progress` is a TTY). */
  tty?: boolean;
  /** Plain progress line interval, ms (default 5000; TTY bars redraw every 200 ms). */
  progressIntervalMs?: number;
  /** Notable events (a job added again after Redis lost it, connection errors). */
  log?: (line: string) => void;
}

export interface BatchSummary {
  /** Records (non-empty lines) in the input. */
  total: number;
  /** Records already in the output when this run started. */
  skipped: number;
  /** Records this run wrote with a result. */
  completed: number;
  /** Records this run wrote with an error. */
  failed: number;
  seconds: number;
}

type Format = 'txt' | 'jsonl';

function formatOf(file: string): Format {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.txt') return 'txt';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw argError(`--input: expected a .txt (one text per line) or .jsonl file (one request body per line), got ${JSON.stringify(path.basename(file))}`);
}

/** Default cap on one input line, bytes: far above a request body the worker takes (1 MiB by default). */
export const DEFAULT_MAX_LINE_BYTES = 16 << 20;

/** The largest output line read back when resuming (a result line is a job's JSON reply). */
const MAX_OUTPUT_LINE_BYTES = 256 << 20;

interface InputLine {
  /** 1-based line number. */
  line: number;
  /** The line without its \r\n; absent when the line was longer than the cap. */
  text?: string;
  bytes: number;
}

/**
 * Non-empty lines of a file with their 1-based line numbers. A line longer than
 * maxLineBytes is not kept in memory: it comes back without text (and becomes an error
 * line), so a file with no newlines cannot exhaust memory.
 */
async function* lines(file: string, maxLineBytes: number): AsyncGenerator<InputLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let over = false;
  let n = 0;
  const take = (): InputLine => {
    n++;
    // Decoded once whole, so a character split across two chunks stays whole.
    const r: InputLine = over ? { line: n, bytes: size } : { line: n, text: Buffer.concat(parts, size).toString('utf8').replace(/\r$/, ''), bytes: size };
    parts = [];
    size = 0;
    over = false;
    return r;
  };
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 16 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (!over && size + (end - start) > maxLineBytes) {
        over = true;
        parts = [];
      }
      if (!over) parts.push(chunk.subarray(start, end));
      size += end - start;
      if (nl < 0) break;
      const r = take();
      if (r.text === undefined || r.text.trim().length > 0) yield r;
      start = nl + 1;
    }
  }
  if (size > 0) {
    const r = take();
    if (r.text === undefined || r.text.trim().length > 0) yield r;
  }
}

/** A path the batch reads or appends to must be a regular file (a FIFO would block, a directory cannot be read). */
function checkRegular(file: string, what: string, mustExist: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !mustExist) return;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ConvBertError(`${what}: no such file ${file}`, 'ERR_CONVBERT_IO', { cause: e });
    throw new ConvBertError(`${what}: cannot read ${file}: ${(e as Error).message}`, 'ERR_CONVBERT_IO', { cause: e });
  }
  if (!st.isFile()) throw new ConvBertError(`${what}: ${notRegularError(file, st).message}`, 'ERR_CONVBERT_IO');
}

/** One record's body, or the error it is written with (bad JSON never becomes a job). */
function bodyOf(format: Format, text: string, parameters: Record<string, unknown> | undefined): { body?: unknown; error?: { code: string; message: string } } {
  let value: unknown = text;
  if (format === 'jsonl') {
    try {
      value = JSON.parse(text);
    } catch (e) {
      return { error: { code: 'ERR_CONVBERT_BAD_JSON', message: `not valid JSON: ${(e as Error).message}` } };
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'inputs' in value) {
      const b = value as { inputs: unknown; parameters?: unknown };
      return { body: b.parameters === undefined && parameters !== undefined ? { ...b, parameters } : b };
    }
  }
  return { body: parameters !== undefined ? { inputs: value, parameters } : { inputs: value } };
}

/**
 * What the output already holds: its complete lines (a partial last line, from a run
 * that was killed mid-write, is cut off) and the input line number of the last one.
 */
function resumePoint(output: string): { records: number; lastLine: number } {
  let fd: number;
  try {
    fd = fs.openSync(output, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: 0, lastLine: 0 };
    throw new ConvBertError(`--output: cannot open ${output}: ${(e as Error).message}`, 'ERR_CONVBERT_IO', { cause: e });
  }
  try {
    const buf = Buffer.alloc(1 << 16);
    let records = 0;
    let pos = 0;
    let lastEnd = 0; // offset just past the last newline
    let prevEnd = 0; // offset just past the newline before it
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        if (buf[i] === 0x0a) {
          records++;
          prevEnd = lastEnd;
          lastEnd = pos + i + 1;
        }
      }
      pos += n;
    }
    if (pos > lastEnd) fs.ftruncateSync(fd, lastEnd);
    if (records === 0) return { records: 0, lastLine: 0 };
    if (lastEnd - prevEnd > MAX_OUTPUT_LINE_BYTES)
      throw argError(
        `--output: the last line of ${output} has ${lastEnd - prevEnd} bytes, more than a result line can have (${MAX_OUTPUT_LINE_BYTES}); is it the output of convbert batch?`,
      );
    const last = Buffer.alloc(lastEnd - prevEnd);
    fs.readSync(fd, last, 0, last.length, prevEnd);
    let parsed: unknown;
    try {
      parsed = JSON.parse(last.toString('utf8'));
    } catch {
      parsed = null;
    }
    const lastLine = parsed !== null && typeof parsed === 'object' ? (parsed as { line?: unknown }).line : undefined;
    if (typeof lastLine !== 'number' || !Number.isSafeInteger(lastLine) || lastLine < 1) {
      throw argError(`--output: ${output} exists but its last line is not a result line {"line": N, ...}; give a new file or the output of an earlier run of the same input`);
    }
    return { records, lastLine };
  } finally {
    fs.closeSync(fd);
  }
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** One progress line: "120/200 60.0% 35.2 jobs/s ETA 0:02", with a bar when `bar`. */
export function progressLine(done: number, total: number, rate: number, bar: boolean): string {
  const frac = total > 0 ? done / total : 1;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const text = `${done}/${total} ${(frac * 100).toFixed(1)}% ${rate.toFixed(1)} jobs/s ETA ${done >= total ? '0:00' : fmtDuration(eta)}`;
  if (!bar) return text;
  const width = 30;
  const full = Math.min(width, Math.floor(frac * width));
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${text}`;
}

/** Runs the corpus through the queue; resolves when every record has its output line. */
export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  const task = canonicalTask(o.task);
  const format = formatOf(o.input);
  checkRegular(o.input, '--input', true);
  checkRegular(o.output, '--output', false);
  if (path.resolve(o.input) === path.resolve(o.output)) throw argError('--output: must differ from --input');
  const maxInFlight = intOption('maxInFlight', o.maxInFlight, 256, 1, 1_000_000);
  const maxLineBytes = intOption('maxLineBytes', o.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, 1 << 30);
  if (o.parameters !== undefined && (o.parameters === null || typeof o.parameters !== 'object' || Array.isArray(o.parameters))) throw argError('--params: expected a JSON object');
  const t0 = Date.now();
  let total = 0;
  for await (const _ of lines(o.input, maxLineBytes)) total++;
  const resume = resumePoint(o.output);
  if (resume.records > total)
    throw argError(`--output: ${o.output} already has ${resume.records} result lines but ${o.input} has only ${total} records; is it the output of another input?`);
  const q = new InferenceQueue(o.queue, {
    connection: o.connection,
    prefix: o.prefix,
    jobOptions: o.jobOptions,
    pollMs: o.pollMs,
    connectTimeoutMs: o.connectTimeoutMs,
    log: o.log,
  });
  // Reach Redis before anything is written: an unreachable server fails the command, not every line.
  try {
    await q.counts();
  } catch (err) {
    await q.close();
    throw err;
  }
  const out = fs.createWriteStream(o.output, { flags: 'a' });
  const outError = new Promise<never>((_, reject) =>
    out.once('error', (e) => reject(new ConvBertError(`--output: writing ${o.output} failed: ${e.message}`, 'ERR_CONVBERT_IO', { cause: e }))),
  );
  outError.catch(() => {});

  const progress = o.progress ?? process.stderr;
  const tty = o.tty ?? Boolean((progress as NodeJS.WriteStream).isTTY);
  const interval = tty ? 200 : intOption('progressIntervalMs', o.progressIntervalMs, 5000, 10);
  const summary: BatchSummary = { total, skipped: resume.records, completed: 0, failed: 0, seconds: 0 };
  const doneNow = (): number => summary.completed + summary.failed;
  const draw = (final: boolean): void => {
    const secs = (Date.now() - t0) / 1000;
    const rate = secs > 0 ? doneNow() / secs : 0;
    const line = progressLine(summary.skipped + doneNow(), total, rate, tty);
    progress.write(tty ? `\r${line}${final ? '\n' : ''}` : `convbert batch: ${line}\n`);
  };
  const timer = setInterval(() => draw(false), interval);
  timer.unref();

  // Results wait here until every record before them is written (input order).
  const ready = new Map<number, string>();
  let nextWrite = 0;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const finish = (index: number, line: number, r: { result?: unknown; error?: { code: string; message: string } }): void => {
    ready.set(index, JSON.stringify(r.error ? { line, error: r.error } : { line, result: r.result }) + '\n');
    if (r.error) summary.failed++;
    else summary.completed++;
    notify();
  };
  const flush = async (): Promise<void> => {
    let chunk = '';
    while (ready.has(nextWrite)) {
      chunk += ready.get(nextWrite)!;
      ready.delete(nextWrite);
      nextWrite++;
    }
    if (chunk.length > 0 && !out.write(chunk)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), outError]);
  };
  // Records admitted but not written are bounded, so one slow job cannot make the others pile up.
  const window = maxInFlight * 4;
  let inFlight = 0;
  try {
    let index = 0;
    let seen = 0;
    for await (const rec of lines(o.input, maxLineBytes)) {
      if (seen++ < resume.records) {
        if (seen === resume.records && rec.line !== resume.lastLine) {
          throw argError(
            `--output: its last result is for input line ${resume.lastLine}, but record ${seen} of ${o.input} is on line ${rec.line}; the output belongs to another input`,
          );
        }
        continue;
      }
      const i = index++;
      await flush();
      while (inFlight >= maxInFlight || i - nextWrite >= window) {
        await new Promise<void>((r) => (wake = r));
        await flush();
      }
      const b =
        rec.text === undefined
          ? { error: { code: 'ERR_CONVBERT_TOO_LARGE', message: `the line has ${rec.bytes} bytes, more than the limit of ${maxLineBytes} (--max-line-bytes)` } }
          : bodyOf(format, rec.text, o.parameters);
      if (b.error) {
        finish(i, rec.line, { error: b.error });
        continue;
      }
      inFlight++;
      q.run(task, b.body).then(
        (result) => {
          inFlight--;
          finish(i, rec.line, { result });
        },
        (e: unknown) => {
          inFlight--;
          const err = e instanceof ConvBertError ? { code: e.code, message: e.message } : { code: 'ERR_CONVBERT_QUEUE', message: e instanceof Error ? e.message : String(e) };
          finish(i, rec.line, { error: err });
        },
      );
    }
    while (nextWrite < index) {
      if (!ready.has(nextWrite)) await new Promise<void>((r) => (wake = r));
      await flush();
    }
    await Promise.race([new Promise<void>((r) => out.end(() => r())), outError]);
  } finally {
    clearInterval(timer);
    if (!out.closed) out.destroy();
    await q.close();
  }
  summary.seconds = (Date.now() - t0) / 1000;
  draw(true);
  return summary;
}
