// ServerMetrics' Prometheus text, checked against counts computed here: request
// counters by route and status, cumulative latency buckets, and the batch-size
// histogram rebuilt from a batcher's batchSizeHistogram (cumulative le buckets,
// sum = rows, count = batches), and the event-loop delay histogram from delays
// recorded by the test. Exact integer comparisons; the live sampler is only
// checked to see a loop blocked for 80 ms as at least 40 ms late (a lower bound,
// which a busy machine can only raise).
import test from 'ava';

import { type BatcherStats } from '../../lib/batching';
import { EventLoopLag, LAG_BUCKETS, ServerMetrics } from '../../lib/server/metrics';

function stats(hist: Record<number, number>): BatcherStats {
  return {
    queueDepth: 3,
    inFlight: 5,
    batches: Object.values(hist).reduce((a, b) => a + b, 0),
    batchSizeHistogram: hist,
    latency: { p50: 10, p90: 20, p99: 40 },
    completed: 7,
    failed: 1,
    rejected: 2,
    timedOut: 4,
    cancelled: 6,
  };
}

test('request counters and cumulative latency buckets', (t) => {
  const m = new ServerMetrics();
  m.observe('/v1/x', 200, 0.004);
  m.observe('/v1/x', 200, 0.03);
  m.observe('/v1/x', 429, 3);
  m.observe('/health', 200, 0.001);
  t.is(m.count('/v1/x', 200), 2);
  const txt = m.render(null, { inFlightRequests: 1, draining: false });
  t.regex(txt, /^convbert_http_requests_total\{route="\/v1\/x",status="200"\} 2$/m);
  t.regex(txt, /^convbert_http_requests_total\{route="\/v1\/x",status="429"\} 1$/m);
  t.regex(txt, /^convbert_http_request_duration_seconds_bucket\{route="\/v1\/x",le="0.005"\} 1$/m);
  t.regex(txt, /^convbert_http_request_duration_seconds_bucket\{route="\/v1\/x",le="0.05"\} 2$/m);
  t.regex(txt, /^convbert_http_request_duration_seconds_bucket\{route="\/v1\/x",le="2.5"\} 2$/m);
  t.regex(txt, /^convbert_http_request_duration_seconds_bucket\{route="\/v1\/x",le="5"\} 3$/m);
  t.regex(txt, /^convbert_http_request_duration_seconds_count\{route="\/v1\/x"\} 3$/m);
  t.regex(txt, /^convbert_http_in_flight_requests 1$/m);
  t.notRegex(txt, /convbert_batcher/, 'no batcher section without a batcher');
  // Every sample line is "name{labels} value" or "name value".
  for (const line of txt.trim().split('\n')) if (!line.startsWith('#')) t.regex(line, /^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/, line);
});

test('the batch-size histogram is rebuilt cumulatively from the batcher', (t) => {
  const m = new ServerMetrics();
  const hist = { 1: 4, 3: 2, 16: 1, 200: 1 };
  const txt = m.render(stats(hist), { inFlightRequests: 0, draining: true });
  const want: Record<string, number> = { '1': 4, '2': 4, '4': 6, '8': 6, '16': 7, '32': 7, '64': 7, '128': 7, '+Inf': 8 };
  for (const [le, n] of Object.entries(want)) t.regex(txt, new RegExp(`^convbert_batch_size_bucket\\{le="${le.replace('+', '\\+')}"\\} ${n}$`, 'm'), `le ${le}`);
  t.regex(txt, new RegExp(`^convbert_batch_size_sum ${4 * 1 + 2 * 3 + 16 + 200}$`, 'm'));
  t.regex(txt, /^convbert_batch_size_count 8$/m);
  t.regex(txt, /^convbert_batcher_queue_depth 3$/m);
  t.regex(txt, /^convbert_batcher_row_latency_seconds\{quantile="0.99"\} 0.04$/m);
  t.regex(txt, /^convbert_batcher_rejected_total 2$/m);
  t.regex(txt, /^convbert_batcher_timed_out_total 4$/m);
  t.regex(txt, /^convbert_batcher_cancelled_total 6$/m);
  t.regex(txt, /^convbert_draining 1$/m);
});

test('event-loop delay: cumulative buckets, count and sum from recorded delays; quantiles in the summary', (t) => {
  const lag = new EventLoopLag();
  const delays = [0.0005, 0.012, 0.02, 0.3, 2];
  for (const d of delays) lag.record(d);
  const s = lag.snapshot();
  t.is(s.count, 5);
  t.true(Math.abs(s.sum - delays.reduce((a, b) => a + b, 0)) < 1e-12);
  t.deepEqual(
    s.buckets,
    LAG_BUCKETS.map((b) => delays.filter((d) => d <= b).length),
  );
  // HDR histogram: 3 significant digits, so within 0.1%.
  t.true(Math.abs(s.max - 2) / 2 < 1e-3, String(s.max));
  t.true(Math.abs(s.p50 - 0.02) / 0.02 < 1e-3, String(s.p50));
  const txt = new ServerMetrics().render(null, { inFlightRequests: 0, draining: false, eventLoopLag: s });
  t.regex(txt, /^convbert_event_loop_delay_seconds_bucket\{le="0.001"\} 1$/m);
  t.regex(txt, /^convbert_event_loop_delay_seconds_bucket\{le="0.015"\} 2$/m);
  t.regex(txt, /^convbert_event_loop_delay_seconds_bucket\{le="0.02"\} 3$/m);
  t.regex(txt, /^convbert_event_loop_delay_seconds_bucket\{le="1"\} 4$/m);
  t.regex(txt, /^convbert_event_loop_delay_seconds_bucket\{le="\+Inf"\} 5$/m);
  t.regex(txt, /^convbert_event_loop_delay_seconds_count 5$/m);
  t.regex(txt, /^# TYPE convbert_event_loop_delay_seconds histogram$/m);
  t.regex(txt, /^convbert_event_loop_lag_seconds\{quantile="1"\} 2(\.\d+)?(e[+-]\d+)?$/m);
  // An empty monitor renders zeros, not NaN.
  const e = new EventLoopLag().snapshot();
  t.deepEqual([e.p50, e.p99, e.max, e.count], [0, 0, 0, 0]);
});

test('event-loop delay: a blocked loop is seen late by the running sampler', async (t) => {
  const lag = new EventLoopLag(10);
  lag.start();
  lag.start(); // idempotent: one timer
  await new Promise((r) => setTimeout(r, 30));
  const t0 = Date.now();
  while (Date.now() - t0 < 80) {
    // block the event loop
  }
  await new Promise((r) => setTimeout(r, 30));
  lag.stop();
  const s = lag.snapshot();
  t.true(s.count >= 2, `samples ${s.count}`);
  t.true(s.max >= 0.04, `max ${s.max}`);
  const n = s.count;
  await new Promise((r) => setTimeout(r, 40));
  t.is(lag.snapshot().count, n, 'stop() ends sampling');
});
