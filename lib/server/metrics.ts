// metrics.ts: the server's counters in Prometheus' text exposition format
// (version 0.0.4): requests by route and status, a request-latency histogram,
// and the batcher's queue depth, in-flight rows, batch-size histogram, latency
// percentiles and rejected/timed-out/cancelled counts, and the event-loop delay
// (EventLoopLag). No client library: the format is a few lines of text.
import { createHistogram, performance, type RecordableHistogram } from 'perf_hooks';

import { type BatcherStats } from '../batching/batcher';

/** Upper bounds of the request-latency buckets, in seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds of the batch-size buckets, in rows. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];
/** Upper bounds of the event-loop delay buckets, in seconds (fine around the 20 ms serving target). */
export const LAG_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1];

/** What /metrics shows of the event loop: quantiles since start() and cumulative bucket counts. */
export interface EventLoopLagSnapshot {
  p50: number;
  p99: number;
  max: number;
  /** Samples at or below LAG_BUCKETS[i] seconds (cumulative, Prometheus' `le`). */
  buckets: number[];
  count: number;
  /** Sum of the delays, seconds. */
  sum: number;
}

/**
 * Event-loop delay: a timer due every `intervalMs` records how late it fired, past
 * its due time, into an HDR histogram (quantiles since start()) and into cumulative
 * buckets that a scraper diffs between two scrapes to get any window (what Prometheus'
 * histogram_quantile over rate() does). Node's monitorEventLoopDelay is not used: it
 * records the time between its timer's callbacks, interval included, so an idle loop
 * reads about 10 ms at resolution 10. Timers tick in whole milliseconds, so a sample
 * is good to about 1 ms.
 */
export class EventLoopLag {
  readonly intervalMs: number;
  readonly #hist: RecordableHistogram = createHistogram();
  readonly #buckets = new Array<number>(LAG_BUCKETS.length).fill(0);
  #count = 0;
  #sum = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(intervalMs = 10) {
    this.intervalMs = intervalMs;
  }

  /** Starts sampling (idempotent); the timer does not keep the process alive. */
  start(): void {
    if (this.#timer) return;
    let due = performance.now() + this.intervalMs;
    const tick = (): void => {
      const now = performance.now();
      this.record(Math.max(0, now - due) / 1000);
      due = now + this.intervalMs;
      this.#timer = setTimeout(tick, this.intervalMs).unref();
    };
    this.#timer = setTimeout(tick, this.intervalMs).unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Counts one delay of `seconds` (the timer calls this; exposed for tests). */
  record(seconds: number): void {
    // The HDR histogram takes integers >= 1: nanoseconds, 1 ns for "on time".
    this.#hist.record(Math.max(1, Math.round(seconds * 1e9)));
    for (let i = LAG_BUCKETS.length - 1; i >= 0 && seconds <= LAG_BUCKETS[i]; i--) this.#buckets[i]++;
    this.#count++;
    this.#sum += seconds;
  }

  snapshot(): EventLoopLagSnapshot {
    const h = this.#hist;
    const q = (p: number): number => (this.#count === 0 ? 0 : h.percentile(p) / 1e9);
    return { p50: q(50), p99: q(99), max: this.#count === 0 ? 0 : h.max / 1e9, buckets: [...this.#buckets], count: this.#count, sum: this.#sum };
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class ServerMetrics {
  readonly #requests = new Map<string, number>(); // key: route \0 status
  readonly #latency = new Map<string, { buckets: number[]; sum: number; count: number }>();

  /** Counts one answered request; `seconds` from its first byte to the end of the response. */
  observe(route: string, status: number, seconds: number): void {
    const k = `${route}\0${status}`;
    this.#requests.set(k, (this.#requests.get(k) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (!h) {
      h = { buckets: new Array<number>(LATENCY_BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.#latency.set(route, h);
    }
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]) h.buckets[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** Requests answered with `status` on `route` so far. */
  count(route: string, status: number): number {
    return this.#requests.get(`${route}\0${status}`) ?? 0;
  }

  /** The exposition text; `batcher` is absent when the server runs without batching. */
  render(batcher: BatcherStats | null, extra: { inFlightRequests: number; draining: boolean; eventLoopLag?: EventLoopLagSnapshot; rssBytes?: number }): string {
    const out: string[] = [];
    out.push('# HELP convbert_http_requests_total HTTP requests answered, by route and status code.');
    out.push('# TYPE convbert_http_requests_total counter');
    for (const [k, v] of [...this.#requests].sort()) {
      const [route, status] = k.split('\0');
      out.push(`convbert_http_requests_total{route="${esc(route)}",status="${status}"} ${v}`);
    }
    out.push('# HELP convbert_http_request_duration_seconds Time from request to response end, by route.');
    out.push('# TYPE convbert_http_request_duration_seconds histogram');
    for (const [route, h] of [...this.#latency].sort()) {
      const r = esc(route);
      LATENCY_BUCKETS.forEach((b, i) => out.push(`convbert_http_request_duration_seconds_bucket{route="${r}",le="${b}"} ${h.buckets[i]}`));
      out.push(`convbert_http_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${h.count}`);
      out.push(`convbert_http_request_duration_seconds_sum{route="${r}"} ${h.sum}`);
      out.push(`convbert_http_request_duration_seconds_count{route="${r}"} ${h.count}`);
    }
    out.push('# HELP convbert_http_in_flight_requests Requests being processed now.');
    out.push('# TYPE convbert_http_in_flight_requests gauge');
    out.push(`convbert_http_in_flight_requests ${extra.inFlightRequests}`);
    out.push('# HELP convbert_draining 1 while the server shuts down (new requests get 503).');
    out.push('# TYPE convbert_draining gauge');
    out.push(`convbert_draining ${extra.draining ? 1 : 0}`);
    if (extra.rssBytes !== undefined) {
      out.push('# HELP process_resident_memory_bytes Resident memory of the server process.');
      out.push('# TYPE process_resident_memory_bytes gauge');
      out.push(`process_resident_memory_bytes ${extra.rssBytes}`);
    }
    if (extra.eventLoopLag) {
      const l = extra.eventLoopLag;
      out.push('# HELP convbert_event_loop_lag_seconds Event-loop delay since the server started listening: how late a 10 ms timer fires.');
      out.push('# TYPE convbert_event_loop_lag_seconds summary');
      out.push(`convbert_event_loop_lag_seconds{quantile="0.5"} ${l.p50}`);
      out.push(`convbert_event_loop_lag_seconds{quantile="0.99"} ${l.p99}`);
      out.push(`convbert_event_loop_lag_seconds{quantile="1"} ${l.max}`);
      out.push('# HELP convbert_event_loop_delay_seconds The same samples as a histogram: the difference of two scrapes covers the time between them.');
      out.push('# TYPE convbert_event_loop_delay_seconds histogram');
      LAG_BUCKETS.forEach((b, i) => out.push(`convbert_event_loop_delay_seconds_bucket{le="${b}"} ${l.buckets[i]}`));
      out.push(`convbert_event_loop_delay_seconds_bucket{le="+Inf"} ${l.count}`);
      out.push(`convbert_event_loop_delay_seconds_sum ${l.sum}`);
      out.push(`convbert_event_loop_delay_seconds_count ${l.count}`);
    }
    if (batcher) {
      out.push('# HELP convbert_batcher_queue_depth Rows waiting for a batch.');
      out.push('# TYPE convbert_batcher_queue_depth gauge');
      out.push(`convbert_batcher_queue_depth ${batcher.queueDepth}`);
      out.push('# HELP convbert_batcher_in_flight Rows inside running batches.');
      out.push('# TYPE convbert_batcher_in_flight gauge');
      out.push(`convbert_batcher_in_flight ${batcher.inFlight}`);
      out.push('# HELP convbert_batch_size Rows per batch run by the model.');
      out.push('# TYPE convbert_batch_size histogram');
      let count = 0;
      let sum = 0;
      for (const [n, c] of Object.entries(batcher.batchSizeHistogram)) {
        count += c;
        sum += Number(n) * c;
      }
      for (const b of BATCH_BUCKETS) {
        let le = 0;
        for (const [n, c] of Object.entries(batcher.batchSizeHistogram)) if (Number(n) <= b) le += c;
        out.push(`convbert_batch_size_bucket{le="${b}"} ${le}`);
      }
      out.push(`convbert_batch_size_bucket{le="+Inf"} ${count}`);
      out.push(`convbert_batch_size_sum ${sum}`);
      out.push(`convbert_batch_size_count ${count}`);
      out.push('# HELP convbert_batcher_row_latency_seconds Submit-to-result latency of recent rows (last 1024).');
      out.push('# TYPE convbert_batcher_row_latency_seconds summary');
      for (const [q, v] of [
        ['0.5', batcher.latency.p50],
        ['0.9', batcher.latency.p90],
        ['0.99', batcher.latency.p99],
      ] as const) {
        out.push(`convbert_batcher_row_latency_seconds{quantile="${q}"} ${v / 1000}`);
      }
      for (const [name, v, help] of [
        ['convbert_batcher_rows_total', batcher.completed, 'Rows answered by the batcher.'],
        ['convbert_batcher_rejected_total', batcher.rejected, 'Rows refused because the queue was full.'],
        ['convbert_batcher_timed_out_total', batcher.timedOut, 'Rows that passed their deadline.'],
        ['convbert_batcher_cancelled_total', batcher.cancelled, 'Rows cancelled (client gone).'],
        ['convbert_batcher_failed_total', batcher.failed, 'Rows whose forward failed.'],
      ] as const) {
        out.push(`# HELP ${name} ${help}`);
        out.push(`# TYPE ${name} counter`);
        out.push(`${name} ${v}`);
      }
    }
    return out.join('\n') + '\n';
  }
}
