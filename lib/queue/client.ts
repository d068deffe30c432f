// client.ts: inferenceQueue(name, { connection }), the producer side. q.run(task, body)
// adds one BullMQ job (name = task, data = the body of POST /v1/<task>) and resolves
// with its result, the route's JSON response; q.runMany / q.results fan out many with
// a bound on the jobs in flight. Results arrive by bullmq's event stream (QueueEvents);
// every pollMs the jobs still waiting are also looked up in Redis, so a missed event
// (a disconnect, a trimmed stream) still resolves, and a job Redis lost (a restart
// without persistence) is added again under the same id: nothing waits forever.
import { randomUUID } from 'crypto';

import { ConvBertError, argError, type ConvBertErrorCode } from '../errors';
import { canonicalTask } from '../server/tasks';
import { connectWithin, connectionOptions, describeConnection, loadBullMQ } from './bullmq';
import { intOption } from '../validate';
import { type RedisConnection, type RedisConnectionOptions } from './connection';
import { parseFailureReason } from './job';
import { checkQueueName } from './worker';

export interface InferenceQueueOptions {
  /** Redis: a URL or ioredis options (default REDIS_URL, then redis://127.0.0.1:6379). */
  connection?: RedisConnection;
  /** bullmq's key prefix (default "bull"); the workers must use the same. */
  prefix?: string;
  /**
   * bullmq job options for every job (attempts, backoff, removeOnComplete, priority, ...),
   * over DEFAULT_JOB_OPTIONS. jobId is set by the client.
   */
  jobOptions?: Record<string, unknown>;
  /** How often jobs still waiting for a result are looked up in Redis, ms (default 5000). */
  pollMs?: number;
  /** How long the first connection to Redis may take, ms (default 30000); later drops are retried for ever. */
  connectTimeoutMs?: number;
  /** One line per notable event (a job added again, connection errors); default: nothing. */
  log?: (line: string) => void;
}

/**
 * Three attempts with exponential backoff from 1 s for transient failures (bad input
 * fails at once whatever the attempts); finished jobs expire from Redis after an hour
 * (completed) or a day (failed) so a corpus run does not fill its memory.
 */
export const DEFAULT_JOB_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 100_000 },
  removeOnFail: { age: 86_400, count: 100_000 },
});

/** A job that failed: `code` is the worker's (the HTTP server's JSON `code`), `jobId` the bullmq job. */
export class InferenceJobError extends ConvBertError {
  readonly jobId: string;

  constructor(message: string, code: string, jobId: string) {
    // Codes such as ERR_CONVBERT_TOO_MANY_INPUTS are the server's own, beyond ConvBertErrorCode.
    super(message, code as ConvBertErrorCode);
    this.name = 'InferenceJobError';
    this.jobId = jobId;
  }
}

/** One result of results() / runMany({ settle: true }): `index` is the body's position in the input. */
export type JobOutcome = { index: number; ok: true; result: unknown } | { index: number; ok: false; error: ConvBertError };

export interface RunOptions {
  /** Job options for this job, over the queue's. */
  jobOptions?: Record<string, unknown>;
  /** Stops waiting (rejects with the signal's reason) and removes the job if no worker has it yet. */
  signal?: AbortSignal;
}

export interface RunManyOptions {
  /** Most jobs added and not yet finished at any time (default 256): the backpressure. */
  maxInFlight?: number;
  /** Job options for these jobs, over the queue's. */
  jobOptions?: Record<string, unknown>;
}

interface Waiter {
  task: string;
  body: unknown;
  jobOptions: Record<string, unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** When the job was (re)added, ms. */
  addedAt: number;
  /** Polls in a row that found no job in Redis. */
  missing: number;
}

function checkBody(body: unknown, what: string): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw argError(`${what}: expected a request body {"inputs": ..., "parameters": {...}}, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`);
  }
  if ((body as { inputs?: unknown }).inputs === undefined) throw argError(`${what}: "inputs" is required`);
}

export class InferenceQueue {
  readonly name: string;
  readonly connection: RedisConnectionOptions;
  readonly #prefix: string | undefined;
  readonly #jobOptions: Record<string, unknown>;
  readonly #pollMs: number;
  readonly #connectTimeoutMs: number;
  readonly #log: (line: string) => void;
  readonly #waiters = new Map<string, Waiter>();
  #queue: import('bullmq').Queue | null = null;
  #events: import('bullmq').QueueEvents | null = null;
  #ready: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #polling = false;
  #closed = false;
  #lastError = '';
  #lastErrorAt = 0;
  /** Jobs added again because Redis no longer had them. */
  readded = 0;

  constructor(name: string, options: InferenceQueueOptions = {}) {
    this.name = checkQueueName(name, 'name');
    this.connection = connectionOptions(options.connection);
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || options.prefix.length === 0))
      throw argError(`prefix: expected a non-empty string, got ${JSON.stringify(options.prefix)}`);
    this.#prefix = options.prefix;
    if (options.jobOptions !== undefined && (options.jobOptions === null || typeof options.jobOptions !== 'object' || Array.isArray(options.jobOptions)))
      throw argError('jobOptions: expected an object of bullmq job options');
    this.#jobOptions = { ...DEFAULT_JOB_OPTIONS, ...(options.jobOptions ?? {}) };
    this.#pollMs = intOption('pollMs', options.pollMs, 5000, 10, 3_600_000);
    this.#connectTimeoutMs = intOption('connectTimeoutMs', options.connectTimeoutMs, 30_000, 1, 86_400_000);
    this.#log = options.log ?? (() => {});
    // Fail now, not at the first job, when bullmq is missing.
    loadBullMQ();
  }

  #onError = (e: Error): void => {
    const now = Date.now();
    if (e.message === this.#lastError && now - this.#lastErrorAt < 10_000) return;
    this.#lastError = e.message;
    this.#lastErrorAt = now;
    this.#log(`convbert queue ${this.name}: ${e.message}`);
  };

  /** Connects the queue and its event stream once. */
  #connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ConvBertError(`queue ${this.name}: closed`, 'ERR_CONVBERT_QUEUE'));
    if (this.#ready) return this.#ready;
    const { Queue, QueueEvents } = loadBullMQ();
    const base = { connection: this.connection as never, ...(this.#prefix !== undefined ? { prefix: this.#prefix } : {}) };
    const where = describeConnection(this.connection);
    this.#ready = (async () => {
      // The queue first: a Queue that never connected closes cleanly, a QueueEvents waits
      // for its connection in close(), so the event stream is opened once Redis answers.
      const queue = new Queue(this.name, base);
      queue.on('error', this.#onError);
      try {
        await connectWithin(queue.waitUntilReady(), this.#connectTimeoutMs, where, () => this.#lastError);
      } catch (e) {
        await queue.close().catch(() => {});
        throw e;
      }
      const events = new QueueEvents(this.name, base);
      events.on('error', this.#onError);
      events.on('completed', ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => this.#settle(jobId, true, returnvalue));
      events.on('failed', ({ jobId, failedReason }: { jobId: string; failedReason: string }) => this.#settle(jobId, false, failedReason));
      this.#queue = queue;
      this.#events = events;
      // Not waited for: until the event stream connects, the poll finds the results.
      events.waitUntilReady().catch(() => {});
    })().catch((e: unknown) => {
      // Unreachable: the next call tries anew.
      this.#ready = null;
      throw e instanceof ConvBertError ? new ConvBertError(`queue ${this.name}: ${e.message}`, e.code) : e;
    });
    return this.#ready;
  }

  #settle(jobId: string, ok: boolean, value: unknown): void {
    const w = this.#waiters.get(jobId);
    if (!w) return;
    this.#waiters.delete(jobId);
    if (ok) w.resolve(value);
    else {
      const { code, message } = parseFailureReason(typeof value === 'string' ? value : undefined);
      w.reject(new InferenceJobError(message, code, jobId));
    }
    if (this.#waiters.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  async #add(jobId: string, w: Waiter): Promise<void> {
    await this.#queue!.add(w.task, w.body as never, { ...w.jobOptions, jobId } as never);
  }

  /**
   * Looks up the jobs that have waited longer than pollMs: one HMGET each, pipelined.
   * Finished ones settle (their event was missed); one missing on two polls in a row
   * is added again with the same id.
   */
  async #poll(): Promise<void> {
    if (this.#polling || !this.#queue) return;
    this.#polling = true;
    try {
      const now = Date.now();
      const due = [...this.#waiters].filter(([, w]) => now - w.addedAt >= this.#pollMs);
      if (due.length === 0) return;
      const client = await this.#queue.client;
      // Sent back to back on one connection, so the lookups cost one round trip together.
      const replies = await Promise.all(
        due.map(([id]) =>
          client.hmget(this.#queue!.toKey(id), 'timestamp', 'finishedOn', 'returnvalue', 'failedReason').then(
            (f) => [null, f] as const,
            (e: unknown) => [e, null] as const,
          ),
        ),
      );
      const lost: [string, Waiter][] = [];
      for (let i = 0; i < due.length; i++) {
        const [id, w] = due[i];
        const [err, fields] = replies[i];
        if (err || !Array.isArray(fields) || this.#waiters.get(id) !== w) continue;
        const [timestamp, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
        if (timestamp === null) {
          if (++w.missing < 2) continue;
          w.missing = 0;
          w.addedAt = Date.now();
          lost.push([id, w]);
          continue;
        }
        w.missing = 0;
        if (finishedOn === null) continue;
        if (returnvalue !== null) {
          let v: unknown;
          try {
            v = JSON.parse(returnvalue);
          } catch {
            this.#settle(id, false, `ERR_CONVBERT_QUEUE: job ${id}'s return value is not JSON`);
            continue;
          }
          this.#settle(id, true, v);
        } else this.#settle(id, false, failedReason ?? undefined);
      }
      if (lost.length > 0) {
        this.readded += lost.length;
        this.#log(`convbert queue ${this.name}: ${lost.length} job(s) no longer in Redis (restarted without persistence, or evicted; first ${lost[0][0]}); adding them again`);
        await Promise.all(lost.map(([id, w]) => this.#add(id, w)));
      }
    } catch (e) {
      this.#onError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.#polling = false;
    }
  }

  /** Adds one job and resolves with its result (the route's JSON response); rejects with InferenceJobError. */
  async run(task: string, body: unknown, options: RunOptions = {}): Promise<unknown> {
    const t = canonicalTask(task);
    checkBody(body, 'body');
    if (options.signal?.aborted) throw options.signal.reason;
    await this.#connect();
    const jobId = randomUUID();
    const jobOptions = { ...this.#jobOptions, ...(options.jobOptions ?? {}) };
    const result = new Promise<unknown>((resolve, reject) => {
      this.#waiters.set(jobId, { task: t, body, jobOptions, resolve, reject, addedAt: Date.now(), missing: 0 });
    });
    // Registered before the add, so an event that beats the add's reply still finds its waiter.
    if (!this.#timer) this.#timer = setInterval(() => void this.#poll(), this.#pollMs).unref();
    const signal = options.signal;
    const onAbort = (): void => {
      const w = this.#waiters.get(jobId);
      if (!w) return;
      this.#waiters.delete(jobId);
      w.reject(signal!.reason);
      // Only a job no worker holds can be removed; a running one finishes and its result is dropped.
      void this.#queue?.remove(jobId).catch(() => {});
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#add(jobId, this.#waiters.get(jobId)!);
    } catch (e) {
      const w = this.#waiters.get(jobId);
      this.#waiters.delete(jobId);
      w?.reject(new ConvBertError(`queue ${this.name}: adding a job failed: ${e instanceof Error ? e.message : String(e)}`, 'ERR_CONVBERT_QUEUE', { cause: e }));
    }
    try {
      return await result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Runs every body as a job, at most maxInFlight at a time, and yields each outcome as
   * it finishes (completion order; `index` is the body's position). A failure is an
   * outcome, not a throw. Stopping the loop early stops adding jobs.
   */
  async *results(task: string, bodies: Iterable<unknown> | AsyncIterable<unknown>, options: RunManyOptions = {}): AsyncGenerator<JobOutcome> {
    const t = canonicalTask(task);
    const maxInFlight = intOption('maxInFlight', options.maxInFlight, 256, 1, 1_000_000);
    const it: Iterator<unknown> | AsyncIterator<unknown> =
      bodies !== null && typeof bodies === 'object' && Symbol.asyncIterator in bodies
        ? (bodies as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : bodies !== null && typeof bodies === 'object' && Symbol.iterator in bodies
          ? (bodies as Iterable<unknown>)[Symbol.iterator]()
          : (() => {
              throw argError(`bodies: expected an array or an (async) iterable of request bodies, got ${bodies === null ? 'null' : typeof bodies}`);
            })();
    const done: JobOutcome[] = [];
    let wake: (() => void) | null = null;
    let inFlight = 0;
    let index = 0;
    let exhausted = false;
    const push = (o: JobOutcome): void => {
      done.push(o);
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    };
    for (;;) {
      while (!exhausted && inFlight < maxInFlight) {
        const n = await it.next();
        if (n.done) {
          exhausted = true;
          break;
        }
        const i = index++;
        inFlight++;
        const body = n.value;
        let started: Promise<unknown>;
        try {
          checkBody(body, `bodies[${i}]`);
          started = this.run(t, body, { jobOptions: options.jobOptions });
        } catch (e) {
          started = Promise.reject(e);
        }
        started.then(
          (result) => push({ index: i, ok: true, result }),
          (e: unknown) =>
            push({
              index: i,
              ok: false,
              error: e instanceof ConvBertError ? e : new ConvBertError(e instanceof Error ? e.message : String(e), 'ERR_CONVBERT_QUEUE', { cause: e }),
            }),
        );
      }
      if (exhausted && inFlight === 0) return;
      if (done.length === 0) await new Promise<void>((r) => (wake = r));
      while (done.length > 0) {
        inFlight--;
        yield done.shift()!;
      }
    }
  }

  /**
   * Runs every body and resolves with the results in input order; rejects with the first
   * failure (the other jobs still finish). With { settle: true } resolves with every
   * JobOutcome instead, failures included.
   */
  runMany(task: string, bodies: readonly unknown[], options?: RunManyOptions & { settle?: false }): Promise<unknown[]>;
  runMany(task: string, bodies: readonly unknown[], options: RunManyOptions & { settle: true }): Promise<JobOutcome[]>;
  async runMany(task: string, bodies: readonly unknown[], options: RunManyOptions & { settle?: boolean } = {}): Promise<unknown[]> {
    if (!Array.isArray(bodies)) throw argError(`bodies: expected an array of request bodies, got ${bodies === null ? 'null' : typeof bodies}`);
    const out = new Array<JobOutcome>(bodies.length);
    for await (const o of this.results(task, bodies, options)) {
      if (!o.ok && !options.settle) throw o.error;
      out[o.index] = o;
    }
    return options.settle ? out : out.map((o) => (o as { result: unknown }).result);
  }

  /** Jobs by state (waiting, active, delayed, completed, failed, prioritized). */
  async counts(): Promise<Record<string, number>> {
    await this.#connect();
    return this.#queue!.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  }

  /** Jobs this client waits for. */
  get pending(): number {
    return this.#waiters.size;
  }

  /** Stops waiting (pending runs reject with ERR_CONVBERT_QUEUE) and closes the connections. Jobs stay in Redis. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const [id, w] of this.#waiters) w.reject(new ConvBertError(`queue ${this.name}: closed while job ${id} was running`, 'ERR_CONVBERT_QUEUE'));
    this.#waiters.clear();
    // A QueueEvents that never connected waits for its connection in close(): bounded here.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([this.#events?.close(), this.#queue?.close()]), new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
  }
}

/** A producer for the queue `name`; see InferenceQueue. */
export function inferenceQueue(name: string, options: InferenceQueueOptions = {}): InferenceQueue {
  return new InferenceQueue(name, options);
}
