// batcher.ts: a generic dynamic batcher. Concurrent submit() calls queue up and
// are handed to runBatch together: a batch leaves when it holds maxBatchSize
// requests or maxTokens tokens, or when its oldest request has waited maxWaitMs.
// Each request may be cancelled (AbortSignal) or time out: removed from the queue
// if not started, its result dropped if running. The queue is bounded: overflow
// rejects at once with ERR_CONVBERT_OVERLOADED. A failed batch of several requests
// is retried one request at a time, so one bad request cannot fail its partners.
import { ConvBertError, argError } from '../errors';

export interface BatcherOptions<Req = unknown> {
  /** Most requests per batch (default 8). */
  maxBatchSize?: number;
  /** Longest a queued request waits for partners before its batch leaves, in ms (default 5; 0 = next tick). */
  maxWaitMs?: number;
  /** Most tokens (sum of cost()) per batch (default unbounded). A request over it alone is rejected (ERR_CONVBERT_ARG). */
  maxTokens?: number;
  /** Most requests waiting (not yet running); more are rejected with ERR_CONVBERT_OVERLOADED (default 1024). */
  maxQueue?: number;
  /** Default per-request deadline from submit() to result, in ms (default 0 = none). */
  timeoutMs?: number;
  /** Batches running at once (default 1: the engine already uses every core for one batch). */
  maxConcurrentBatches?: number;
  /** Tokens one request costs against maxTokens (default 1 per request). */
  cost?: (req: Req) => number;
}

export interface SubmitOptions {
  /** Cancels the request: rejected with signal.reason; dropped from the queue, or its result dropped if running. */
  signal?: AbortSignal;
  /** Deadline for this request in ms (overrides the batcher's timeoutMs; 0 = none). */
  timeoutMs?: number;
}

export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface BatcherStats {
  /** Requests waiting to start. */
  queueDepth: number;
  /** Requests inside running batches. */
  inFlight: number;
  /** Batches started. */
  batches: number;
  /** Batches started, by size: batchSizeHistogram[n] = batches of n requests. */
  batchSizeHistogram: Record<number, number>;
  /** Submit-to-result latency of the last (up to 1024) successful requests, ms. */
  latency: LatencyPercentiles;
  /** Requests answered with a result. */
  completed: number;
  /** Requests whose batch (and solo retry) failed. */
  failed: number;
  /** Refused because the queue was full (or the batcher closed). */
  rejected: number;
  timedOut: number;
  cancelled: number;
}

/** The error of a request that passed its deadline. */
export function timeoutError(ms: number): ConvBertError {
  return new ConvBertError(`request timed out after ${ms} ms (timeoutMs)`, 'ERR_CONVBERT_TIMEOUT');
}

interface Pending<Req, Res> {
  req: Req;
  cost: number;
  t0: number;
  resolve: (r: Res) => void;
  reject: (e: unknown) => void;
  /** Set once the caller has its answer (result, error, abort or timeout). */
  settled: boolean;
  state: 'queued' | 'running';
  timer: NodeJS.Timeout | null;
  /** The abort listener this request shares with the other requests of its submit call. */
  link: AbortLink | null;
}

/**
 * One abort listener for all the requests of one submitMany call: a request of
 * many rows would otherwise add a listener per row to the caller's signal (and
 * Node warns past 10). Removed once the last of them has its answer.
 */
interface AbortLink {
  signal: AbortSignal;
  onAbort: () => void;
  open: number;
}

const LATENCY_WINDOW = 1024;

function checkInt(name: string, v: unknown, dflt: number, lo: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(Number.isSafeInteger(v) || v === Infinity) || v < lo) {
    throw argError(`${name}: expected an integer >= ${lo}, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

function checkMs(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw argError(`${name}: expected a number of ms >= 0, got ${typeof v === 'number' ? v : typeof v}`);
  return v;
}

/** Nearest-rank percentile of a sorted array (0 when empty). */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}

export class DynamicBatcher<Req, Res> {
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  readonly maxTokens: number;
  readonly maxQueue: number;
  readonly timeoutMs: number;
  readonly maxConcurrentBatches: number;
  readonly #cost: (req: Req) => number;
  readonly #runBatch: (reqs: Req[]) => Promise<Res[]>;
  readonly #queue: Pending<Req, Res>[] = [];
  #queuedTokens = 0;
  #running = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #idle: (() => void)[] = [];
  readonly #latencies: number[] = [];
  #latPos = 0;
  #s = { batches: 0, completed: 0, failed: 0, rejected: 0, timedOut: 0, cancelled: 0 };
  readonly #hist: Record<number, number> = {};

  constructor(options: BatcherOptions<Req>, runBatch: (reqs: Req[]) => Promise<Res[]>) {
    const o = options ?? {};
    if (typeof o !== 'object') throw argError(`DynamicBatcher: options must be an object, got ${typeof o}`);
    if (typeof runBatch !== 'function') throw argError(`DynamicBatcher: runBatch must be a function, got ${typeof runBatch}`);
    this.maxBatchSize = checkInt('maxBatchSize', o.maxBatchSize, 8, 1);
    this.maxWaitMs = checkMs('maxWaitMs', o.maxWaitMs, 5);
    this.maxTokens = checkInt('maxTokens', o.maxTokens, Infinity, 1);
    this.maxQueue = checkInt('maxQueue', o.maxQueue, 1024, 0);
    this.timeoutMs = checkMs('timeoutMs', o.timeoutMs, 0);
    this.maxConcurrentBatches = checkInt('maxConcurrentBatches', o.maxConcurrentBatches, 1, 1);
    if (o.cost !== undefined && typeof o.cost !== 'function') throw argError(`cost: expected a function, got ${typeof o.cost}`);
    this.#cost = o.cost ?? (() => 1);
    this.#runBatch = runBatch;
  }

  /** Queues one request; resolves with its own result (never a partner's). */
  submit(req: Req, options: SubmitOptions = {}): Promise<Res> {
    return this.submitMany([req], options)[0];
  }

  /**
   * Queues several requests of one caller (the rows of one HTTP request, say)
   * with one set of options: one promise per request, in order, each settled on
   * its own, and one abort listener on options.signal for all of them.
   */
  submitMany(reqs: readonly Req[], options: SubmitOptions = {}): Promise<Res>[] {
    const all = (e: unknown): Promise<Res>[] => reqs.map(() => Promise.reject(e));
    if (options === null || typeof options !== 'object') return all(argError(`submit: options must be an object, got ${options === null ? 'null' : typeof options}`));
    const signal = options.signal ?? null;
    if (signal !== null && !(signal instanceof AbortSignal)) return all(argError('submit: options.signal must be an AbortSignal'));
    let timeoutMs: number;
    try {
      timeoutMs = checkMs('submit: options.timeoutMs', options.timeoutMs, this.timeoutMs);
    } catch (e) {
      return all(e);
    }
    if (signal?.aborted) {
      this.#s.cancelled += reqs.length;
      return all(signal.reason);
    }
    const queued: Pending<Req, Res>[] = [];
    const out = reqs.map((req) => this.#enqueue(req, timeoutMs, queued));
    if (signal && queued.length > 0) {
      const link: AbortLink = {
        signal,
        open: queued.length,
        onAbort: () => {
          for (const p of queued) {
            if (this.#drop(p)) {
              this.#s.cancelled++;
              p.reject(signal.reason);
            }
          }
        },
      };
      // Nothing has settled yet: timers fire later, and results come after #schedule.
      for (const p of queued) p.link = link;
      signal.addEventListener('abort', link.onAbort, { once: true });
    }
    this.#schedule();
    return out;
  }

  /** One request into the queue (pushed onto `queued`), or a rejected promise when it cannot be taken. */
  #enqueue(req: Req, timeoutMs: number, queued: Pending<Req, Res>[]): Promise<Res> {
    if (this.#closed) {
      this.#s.rejected++;
      return Promise.reject(new ConvBertError('the batcher is closed (shutting down); no new requests are taken', 'ERR_CONVBERT_OVERLOADED'));
    }
    let cost: number;
    try {
      cost = this.#cost(req);
    } catch (e) {
      return Promise.reject(e);
    }
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
      return Promise.reject(new ConvBertError(`cost(): expected a number >= 0, got ${String(cost)}`, 'ERR_CONVBERT_ARG'));
    }
    if (cost > this.maxTokens) {
      return Promise.reject(argError(`request: ${cost} tokens exceed the batcher's maxTokens ${this.maxTokens}`));
    }
    if (this.#queue.length >= this.maxQueue) {
      this.#s.rejected++;
      return Promise.reject(new ConvBertError(`overloaded: ${this.#queue.length} requests already queued (maxQueue ${this.maxQueue}); retry later`, 'ERR_CONVBERT_OVERLOADED'));
    }
    return new Promise<Res>((resolve, reject) => {
      const p: Pending<Req, Res> = { req, cost, t0: performance.now(), resolve, reject, settled: false, state: 'queued', timer: null, link: null };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          p.timer = null;
          if (this.#drop(p)) {
            this.#s.timedOut++;
            reject(timeoutError(timeoutMs));
          }
        }, timeoutMs);
      }
      this.#queue.push(p);
      this.#queuedTokens += cost;
      queued.push(p);
    });
  }

  /** Counters and the current queue; cheap enough to call per scrape. */
  stats(): BatcherStats {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return {
      queueDepth: this.#queue.length,
      inFlight: this.#inFlight,
      ...this.#s,
      batchSizeHistogram: { ...this.#hist },
      latency: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) },
    };
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stops taking requests (later submits reject with ERR_CONVBERT_OVERLOADED),
   * runs what is queued without waiting for partners, and resolves when nothing runs.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#schedule();
    return this.#whenIdle();
  }

  #whenIdle(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  /** Marks p settled and takes it out of the queue; false when it already had its answer. */
  #drop(p: Pending<Req, Res>): boolean {
    if (p.settled) return false;
    this.#finish(p);
    if (p.state === 'queued') {
      const i = this.#queue.indexOf(p);
      if (i >= 0) {
        this.#queue.splice(i, 1);
        this.#queuedTokens -= p.cost;
      }
      this.#notifyIdle();
    }
    return true;
  }

  #finish(p: Pending<Req, Res>): void {
    p.settled = true;
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    if (p.link && --p.link.open === 0) p.link.signal.removeEventListener('abort', p.link.onAbort);
    p.link = null;
  }

  /** Starts every batch that may leave now, and arms the timer for the next. */
  #schedule(): void {
    while (this.#running < this.maxConcurrentBatches && this.#queue.length > 0) {
      const full = this.#queue.length >= this.maxBatchSize || this.#queuedTokens >= this.maxTokens;
      const waited = performance.now() - this.#queue[0].t0;
      if (!full && !this.#closed && waited < this.maxWaitMs) break;
      this.#start(this.#take());
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#running < this.maxConcurrentBatches && this.#queue.length > 0) {
      const wait = Math.max(0, this.maxWaitMs - (performance.now() - this.#queue[0].t0));
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#schedule();
      }, wait);
    }
  }

  /** The next batch: FIFO, up to maxBatchSize requests and maxTokens tokens (at least one request). */
  #take(): Pending<Req, Res>[] {
    const batch: Pending<Req, Res>[] = [];
    let tokens = 0;
    while (this.#queue.length > 0 && batch.length < this.maxBatchSize) {
      const p = this.#queue[0];
      if (batch.length > 0 && tokens + p.cost > this.maxTokens) break;
      this.#queue.shift();
      this.#queuedTokens -= p.cost;
      tokens += p.cost;
      p.state = 'running';
      batch.push(p);
    }
    return batch;
  }

  #start(batch: Pending<Req, Res>[]): void {
    this.#running++;
    this.#inFlight += batch.length;
    this.#s.batches++;
    this.#hist[batch.length] = (this.#hist[batch.length] ?? 0) + 1;
    void this.#run(batch).finally(() => {
      this.#running--;
      this.#inFlight -= batch.length;
      this.#schedule();
      this.#notifyIdle();
    });
  }

  async #run(batch: Pending<Req, Res>[]): Promise<void> {
    // Requests cancelled between take and now still ran with their partners; only live ones are sent.
    const live = batch.filter((p) => !p.settled);
    if (live.length === 0) return;
    let results: Res[];
    try {
      results = await this.#call(
        live.map((p) => p.req),
        live.length,
      );
    } catch (e) {
      if (live.length === 1) {
        this.#fail(live[0], e);
        return;
      }
      // Isolate the failure: each request alone, so a partner's bad input cannot fail this one.
      for (const p of live) {
        if (p.settled) continue;
        try {
          const [r] = await this.#call([p.req], 1);
          this.#succeed(p, r);
        } catch (e2) {
          this.#fail(p, e2);
        }
      }
      return;
    }
    live.forEach((p, i) => this.#succeed(p, results[i]));
  }

  async #call(reqs: Req[], n: number): Promise<Res[]> {
    const r = await this.#runBatch(reqs);
    if (!Array.isArray(r) || r.length !== n) {
      throw new ConvBertError(`runBatch: expected an array of ${n} results, got ${Array.isArray(r) ? `${r.length}` : typeof r}`, 'ERR_CONVBERT_INTERNAL');
    }
    return r;
  }

  #succeed(p: Pending<Req, Res>, r: Res): void {
    if (p.settled) return; // cancelled or timed out while running: the result is dropped
    this.#finish(p);
    this.#s.completed++;
    const ms = performance.now() - p.t0;
    if (this.#latencies.length < LATENCY_WINDOW) this.#latencies.push(ms);
    else this.#latencies[this.#latPos++ % LATENCY_WINDOW] = ms;
    p.resolve(r);
  }

  #fail(p: Pending<Req, Res>, e: unknown): void {
    if (p.settled) return;
    this.#finish(p);
    this.#s.failed++;
    p.reject(e);
  }

  #notifyIdle(): void {
    if (this.#queue.length === 0 && this.#running === 0 && this.#idle.length > 0) {
      const w = this.#idle.splice(0);
      for (const r of w) r();
    }
  }
}
