// worker.ts: `convbert worker`, a BullMQ consumer around a loaded task. Up to
// `concurrency` jobs run at once in this process, each through the task handler, so
// their rows meet in the same dynamic batcher as the HTTP server's requests (many small
// jobs become one forward). Bad input fails the job at once (UnrecoverableError, the
// typed code in failedReason); anything else is thrown for bullmq to retry with the
// job's backoff. close() drains: no new jobs, in-flight ones finish, connections close.
// A worker killed mid-job leaves its jobs' locks to expire; bullmq's stalled-job check
// (lockDurationMs, stalledIntervalMs) in any live worker puts them back in the queue.
import { performance } from 'perf_hooks';

import { argError } from '../errors';
import { type TaskHandler } from '../server/tasks';
import { connectWithin, connectionOptions, describeConnection, loadBullMQ } from './bullmq';
import { intOption } from '../validate';
import { type RedisConnection, type RedisConnectionOptions } from './connection';
import { DEFAULT_JOB_LIMITS, classifyFailure, failureReason, runJob, type JobLimits } from './job';
import { WorkerMetrics, serveMetrics, type MetricsServer } from './metrics';

export interface InferenceWorkerOptions {
  /** Redis: a URL or ioredis options (default REDIS_URL, then redis://127.0.0.1:6379). */
  connection?: RedisConnection;
  /** Jobs run at once on this worker (default 16); their rows share the dynamic batcher. */
  concurrency?: number;
  /** Per-job limits (defaults: the HTTP server's). */
  limits?: Partial<JobLimits>;
  /** How long a job's lock lasts without renewal, ms (bullmq's lockDuration, default 30000). */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose lock expired, ms (bullmq's stalledInterval, default 30000). */
  stalledIntervalMs?: number;
  /** Stalls a job may survive before it fails (bullmq's maxStalledCount, default 1). */
  maxStalledCount?: number;
  /** How long close() waits for in-flight jobs, ms (default 60000); past it they are left to the stalled check. */
  drainTimeoutMs?: number;
  /** bullmq's key prefix (default "bull"). */
  prefix?: string;
  /** How long start() waits for the first connection to Redis, ms (default 30000); later drops are retried for ever. */
  connectTimeoutMs?: number;
  /** One line per lifecycle event and per error; default: nothing. */
  log?: (line: string) => void;
}

export function checkQueueName(name: unknown, what = 'queue'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256)
    throw argError(`${what}: expected a queue name of 1 to 256 characters, got ${typeof name === 'string' ? JSON.stringify(name) : typeof name}`);
  // bullmq builds its keys as prefix:name:...; a colon would make them ambiguous (bullmq refuses it too).
  if (name.includes(':')) throw argError(`${what}: a queue name cannot contain ':', got ${JSON.stringify(name)}`);
  return name;
}

export class InferenceWorker {
  readonly handler: TaskHandler;
  readonly queueName: string;
  readonly metrics = new WorkerMetrics();
  readonly concurrency: number;
  readonly limits: JobLimits;
  readonly connection: RedisConnectionOptions;
  readonly #drainTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #log: (line: string) => void;
  readonly #worker: import('bullmq').Worker;
  #draining = false;
  #closing: Promise<void> | null = null;
  #drainTimedOut = false;
  #lastError = '';
  #lastErrorAt = 0;
  #running: Promise<void> | null = null;

  constructor(handler: TaskHandler, queueName: string, options: InferenceWorkerOptions = {}) {
    if (!handler || typeof handler.run !== 'function') throw argError('InferenceWorker: handler must be a TaskHandler (see loadTask)');
    this.handler = handler;
    this.queueName = checkQueueName(queueName);
    this.concurrency = intOption('concurrency', options.concurrency, 16, 1, 4096);
    const l = options.limits ?? {};
    this.limits = {
      maxBodyBytes: intOption('limits.maxBodyBytes', l.maxBodyBytes, DEFAULT_JOB_LIMITS.maxBodyBytes),
      maxInputs: intOption('limits.maxInputs', l.maxInputs, DEFAULT_JOB_LIMITS.maxInputs),
      maxTopK: intOption('limits.maxTopK', l.maxTopK, DEFAULT_JOB_LIMITS.maxTopK),
      maxMasks: intOption('limits.maxMasks', l.maxMasks, DEFAULT_JOB_LIMITS.maxMasks),
      maxCandidates: intOption('limits.maxCandidates', l.maxCandidates, DEFAULT_JOB_LIMITS.maxCandidates),
      requestTimeoutMs: intOption('limits.requestTimeoutMs', l.requestTimeoutMs, DEFAULT_JOB_LIMITS.requestTimeoutMs, 0),
    };
    const day = 86_400_000;
    const lockDuration = intOption('lockDurationMs', options.lockDurationMs, 30_000, 100, day);
    const stalledInterval = intOption('stalledIntervalMs', options.stalledIntervalMs, 30_000, 100, day);
    const maxStalledCount = intOption('maxStalledCount', options.maxStalledCount, 1, 0, 1000);
    this.#drainTimeoutMs = intOption('drainTimeoutMs', options.drainTimeoutMs, 60_000, 0, day);
    this.#connectTimeoutMs = intOption('connectTimeoutMs', options.connectTimeoutMs, 30_000, 1, day);
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || options.prefix.length === 0))
      throw argError(`prefix: expected a non-empty string, got ${JSON.stringify(options.prefix)}`);
    this.#log = options.log ?? (() => {});
    this.connection = connectionOptions(options.connection);
    const { Worker, UnrecoverableError } = loadBullMQ();
    this.#worker = new Worker(
      this.queueName,
      async (job) => {
        const t0 = performance.now();
        this.metrics.active++;
        try {
          const out = await runJob(this.handler, job.name, job.data, this.limits);
          this.metrics.observe('completed', (performance.now() - t0) / 1000, (Date.now() - job.timestamp) / 1000);
          return out;
        } catch (e) {
          const f = classifyFailure(e);
          const attempts = typeof job.opts.attempts === 'number' && job.opts.attempts > 0 ? job.opts.attempts : 1;
          const last = f.permanent || job.attemptsMade + 1 >= attempts;
          this.metrics.observe(last ? 'failed' : 'retried', (performance.now() - t0) / 1000, last ? (Date.now() - job.timestamp) / 1000 : null, f.code);
          if (f.code === 'ERR_CONVBERT_INTERNAL') this.#log(`convbert worker: job ${String(job.id)} hit a bug: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
          if (f.permanent) throw new UnrecoverableError(failureReason(f));
          throw new Error(failureReason(f));
        } finally {
          this.metrics.active--;
        }
      },
      {
        connection: this.connection as never,
        concurrency: this.concurrency,
        autorun: false,
        lockDuration,
        stalledInterval,
        maxStalledCount,
        ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      },
    );
    // An 'error' with no listener would throw; Redis going away repeats the same error every retry.
    this.#worker.on('error', (e: Error) => {
      const now = Date.now();
      if (e.message === this.#lastError && now - this.#lastErrorAt < 10_000) return;
      this.#lastError = e.message;
      this.#lastErrorAt = now;
      this.#log(`convbert worker: ${e.message}`);
    });
    // Jobs whose worker died: this worker's stalled check put them back in the queue.
    this.#worker.on('stalled', (jobId: string) => this.#log(`convbert worker: job ${jobId} stalled (its worker stopped renewing the lock); back in the queue`));
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** True when close() gave up waiting for in-flight jobs (they go back to the queue as stalled). */
  get drainTimedOut(): boolean {
    return this.#drainTimedOut;
  }

  /** Connects and starts taking jobs; resolves once connected (ERR_CONVBERT_QUEUE past connectTimeoutMs). */
  async start(): Promise<void> {
    if (this.#running || this.#closing) return;
    await connectWithin(this.#worker.waitUntilReady(), this.#connectTimeoutMs, describeConnection(this.connection), () => this.#lastError);
    if (this.#closing) return;
    this.metrics.lag.start();
    this.#running = this.#worker.run().catch((e: unknown) => this.#log(`convbert worker: stopped taking jobs: ${e instanceof Error ? e.message : String(e)}`));
    this.#log(`convbert worker: ${this.handler.task} on queue ${this.queueName} at ${describeConnection(this.connection)} (concurrency ${this.concurrency})`);
  }

  /** Prometheus text of the counters and the batcher. */
  renderMetrics(): string {
    return this.metrics.render(this.handler.stats(), { draining: this.#draining, concurrency: this.concurrency });
  }

  /**
   * Graceful shutdown: takes no new jobs, lets the running ones finish (up to
   * drainTimeoutMs; then their locks are left to expire and another worker takes them),
   * closes the Redis connections and disposes the task.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#draining = true;
    this.#log(`convbert worker: draining (${this.metrics.active} job(s) in flight)`);
    this.#closing = (async () => {
      let timer: NodeJS.Timeout | null = null;
      const graceful = this.#worker.close(false).then(
        () => true,
        (e: unknown) => {
          this.#log(`convbert worker: closing: ${e instanceof Error ? e.message : String(e)}`);
          return true;
        },
      );
      const done = await Promise.race([graceful, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.#drainTimeoutMs)))]);
      if (timer) clearTimeout(timer);
      if (!done) {
        this.#drainTimedOut = true;
        this.#log(`convbert worker: ${this.metrics.active} job(s) still running after ${this.#drainTimeoutMs} ms; leaving them to another worker's stalled-job check`);
        await this.#worker.disconnect().catch(() => {});
      }
      if (this.#running) await Promise.race([this.#running, new Promise((r) => setTimeout(r, 1000).unref())]);
      this.metrics.lag.stop();
      await this.handler.dispose();
      this.#log('convbert worker: closed');
    })();
    return this.#closing;
  }
}

export interface RunWorkerOptions extends InferenceWorkerOptions {
  /** Serve GET /metrics and GET /health on this port (0 = a free one); default: none. */
  metricsPort?: number;
  /** Interface for the metrics port (default 127.0.0.1). */
  metricsHost?: string;
  /** Drain on SIGTERM and SIGINT, then exit (0, or 1 when the drain timed out); default true. */
  handleSignals?: boolean;
}

export interface RunningWorker {
  worker: InferenceWorker;
  /** The metrics server, when metricsPort was given. */
  metricsServer: MetricsServer | null;
  /** Drains the worker and closes the metrics server. */
  close(): Promise<void>;
}

/** Starts a worker (and its metrics port); SIGTERM/SIGINT drain it and exit when handleSignals. */
export async function runWorker(handler: TaskHandler, queueName: string, options: RunWorkerOptions = {}): Promise<RunningWorker> {
  const metricsPort = options.metricsPort === undefined ? undefined : intOption('metricsPort', options.metricsPort, 0, 0, 65535);
  const worker = new InferenceWorker(handler, queueName, options);
  let metricsServer: MetricsServer | null = null;
  const closeAll = async (): Promise<void> => {
    await worker.close();
    if (metricsServer) {
      const s = metricsServer;
      await new Promise<void>((r) => s.close(() => r()));
      s.closeAllConnections();
    }
  };
  // Handlers first: a SIGTERM that comes while connecting still drains and exits 0.
  if (options.handleSignals ?? true) {
    const onSignal = (sig: NodeJS.Signals): void => {
      options.log?.(`convbert worker: ${sig}`);
      closeAll().then(
        () => process.exit(worker.drainTimedOut ? 1 : 0),
        (e: unknown) => {
          options.log?.(`convbert worker: shutdown failed: ${String(e)}`);
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  try {
    if (metricsPort !== undefined) {
      metricsServer = await serveMetrics(metricsPort, options.metricsHost ?? '127.0.0.1', { text: () => worker.renderMetrics(), draining: () => worker.draining });
      const a = metricsServer.address();
      if (a && typeof a === 'object') options.log?.(`convbert worker: metrics on http://${a.address}:${a.port}/metrics`);
    }
    await worker.start();
  } catch (e) {
    await closeAll().catch(() => {});
    throw e;
  }
  return { worker, metricsServer, close: closeAll };
}
