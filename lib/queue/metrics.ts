// metrics.ts: a queue worker's counters in Prometheus' text format, served on
// --metrics-port: jobs by outcome (completed, failed for good by code, failed to be
// retried), jobs running now, job processing time and enqueue-to-done latency
// histograms, and the dynamic batcher's queue, batch-size histogram and row latency
// (the same lines as the HTTP server's /metrics, rendered by lib/server/metrics.ts).
import * as http from 'http';

import { type BatcherStats } from '../batching/batcher';
import { ConvBertError } from '../errors';
import { EventLoopLag, ServerMetrics } from '../server/metrics';

/** Upper bounds of the job-time buckets, in seconds. */
const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Failure codes kept as labels; more distinct codes share "other", so a label cannot grow without bound. */
const MAX_CODES = 32;

class Histogram {
  readonly buckets = new Array<number>(JOB_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    for (let i = 0; i < JOB_BUCKETS.length; i++) if (seconds <= JOB_BUCKETS[i]) this.buckets[i]++;
    this.sum += seconds;
    this.count++;
  }

  render(name: string, help: string, out: string[]): void {
    out.push(`# HELP ${name} ${help}`);
    out.push(`# TYPE ${name} histogram`);
    JOB_BUCKETS.forEach((b, i) => out.push(`${name}_bucket{le="${b}"} ${this.buckets[i]}`));
    out.push(`${name}_bucket{le="+Inf"} ${this.count}`);
    out.push(`${name}_sum ${this.sum}`);
    out.push(`${name}_count ${this.count}`);
  }
}

export class WorkerMetrics {
  completed = 0;
  /** Attempts that failed and will be retried (transient errors). */
  retried = 0;
  /** Jobs failed for good, by error code. */
  readonly failed = new Map<string, number>();
  active = 0;
  readonly duration = new Histogram();
  readonly latency = new Histogram();
  readonly lag = new EventLoopLag(10);

  /** Counts a finished attempt: `seconds` of processing here, `latencySeconds` since the job was added (when known). */
  observe(outcome: 'completed' | 'retried' | 'failed', seconds: number, latencySeconds: number | null, code?: string): void {
    if (outcome === 'completed') this.completed++;
    else if (outcome === 'retried') this.retried++;
    else {
      const c = code !== undefined && (this.failed.has(code) || this.failed.size < MAX_CODES) ? code : 'other';
      this.failed.set(c, (this.failed.get(c) ?? 0) + 1);
    }
    this.duration.observe(seconds);
    // Another machine's clock added the job: a negative difference means skew, not a time.
    if (outcome !== 'retried' && latencySeconds !== null && latencySeconds >= 0) this.latency.observe(latencySeconds);
  }

  render(batcher: BatcherStats | null, extra: { draining: boolean; concurrency: number }): string {
    const out: string[] = [];
    out.push('# HELP convbert_worker_jobs_total Jobs finished by this worker: completed, failed for good (by code), or failed and left to retry.');
    out.push('# TYPE convbert_worker_jobs_total counter');
    out.push(`convbert_worker_jobs_total{status="completed",code=""} ${this.completed}`);
    out.push(`convbert_worker_jobs_total{status="retried",code=""} ${this.retried}`);
    for (const [code, n] of [...this.failed].sort()) out.push(`convbert_worker_jobs_total{status="failed",code="${code}"} ${n}`);
    out.push('# HELP convbert_worker_active_jobs Jobs running on this worker now.');
    out.push('# TYPE convbert_worker_active_jobs gauge');
    out.push(`convbert_worker_active_jobs ${this.active}`);
    out.push('# HELP convbert_worker_concurrency Jobs this worker runs at once (--concurrency).');
    out.push('# TYPE convbert_worker_concurrency gauge');
    out.push(`convbert_worker_concurrency ${extra.concurrency}`);
    out.push('# HELP convbert_worker_draining 1 while the worker shuts down (no new jobs).');
    out.push('# TYPE convbert_worker_draining gauge');
    out.push(`convbert_worker_draining ${extra.draining ? 1 : 0}`);
    this.duration.render('convbert_worker_job_duration_seconds', 'Time one attempt of a job ran on this worker.', out);
    this.latency.render('convbert_worker_job_latency_seconds', 'Time from the job being added to its final result (queue wait included; clocks of two machines).', out);
    // The batcher, event-loop and memory lines are the HTTP server's; its HTTP lines do not apply here.
    const shared = new ServerMetrics()
      .render(batcher, { inFlightRequests: 0, draining: extra.draining, eventLoopLag: this.lag.snapshot(), rssBytes: process.memoryUsage.rss() })
      .split('\n')
      .filter((l) => l !== '' && !/convbert_http_|convbert_draining/.test(l));
    out.push(...shared);
    return out.join('\n') + '\n';
  }
}

/** The metrics server as the public types show it (an http.Server; declared here so they need no @types/node). */
export interface MetricsServer {
  address(): { address: string; family: string; port: number } | string | null;
  close(callback?: (err?: Error) => void): unknown;
  closeAllConnections(): void;
}

/** GET /metrics (the text above) and GET /health (200, or 503 while draining) on host:port. */
export function serveMetrics(port: number, host: string, source: { text: () => string; draining: () => boolean }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    let status = 200;
    let type = 'application/json; charset=utf-8';
    let body: string;
    if (req.method !== 'GET' || (url !== '/metrics' && url !== '/health')) {
      status = 404;
      body = JSON.stringify({ error: `no route ${req.method ?? ''} ${url}; use GET /metrics or GET /health`, code: 'ERR_CONVBERT_NOT_FOUND' });
    } else if (url === '/health') {
      const draining = source.draining();
      status = draining ? 503 : 200;
      body = JSON.stringify({ status: draining ? 'draining' : 'ok' });
    } else {
      type = 'text/plain; version=0.0.4; charset=utf-8';
      body = source.text();
    }
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new ConvBertError(`worker: cannot listen for metrics on ${host}:${port}: ${e.message}`, 'ERR_CONVBERT_IO', { cause: e })));
    server.listen(port, host, () => resolve(server));
  });
}
