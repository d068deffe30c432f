// metrics.ts: the server's counters in Prometheus' text exposition format
// (version 0.0.4): requests by route and status, a request-latency histogram,
// and the batcher's queue depth, in-flight rows, batch-size histogram, latency
// percentiles and rejected/timed-out/cancelled counts. No client library: the
// format is a few lines of text.
import { type BatcherStats } from '../batching/batcher';

/** Upper bounds of the request-latency buckets, in seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Upper bounds of the batch-size buckets, in rows. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

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
  render(batcher: BatcherStats | null, extra: { inFlightRequests: number; draining: boolean; eventLoopLag?: { p50: number; p99: number; max: number }; rssBytes?: number }): string {
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
      out.push('# HELP convbert_event_loop_lag_seconds Event-loop delay since the server started listening (10 ms sampling).');
      out.push('# TYPE convbert_event_loop_lag_seconds summary');
      out.push(`convbert_event_loop_lag_seconds{quantile="0.5"} ${l.p50}`);
      out.push(`convbert_event_loop_lag_seconds{quantile="0.99"} ${l.p99}`);
      out.push(`convbert_event_loop_lag_seconds{quantile="1"} ${l.max}`);
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
      for (const [q, v] of [['0.5', batcher.latency.p50], ['0.9', batcher.latency.p90], ['0.99', batcher.latency.p99]] as const) {
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
