// The serving benchmark's autocannon driver (bench/serving.ts) against a tiny model
// (test/bench/ is the one test folder that imports bench/: it tests the benchmarks themselves)
// served in this process for about 2 s: every request answered 200 (no non-2xx,
// errors or timeouts) and the stats well-formed (counts, ordered latency
// quantiles, tokens per request within the texts' lengths, a delay window and RSS
// samples from /metrics). No throughput or latency bound: that is the benchmark's
// job. The window arithmetic (lag p99, RSS floors) is checked exactly on made-up scrapes.
import * as fs from 'fs';

import test from 'ava';

import { buildModel, lagWindow, makeTexts, measureHttp, rssFloors, type Scrape } from '../../bench/serving';
import { ConvBertServer } from '../../lib/server/http';
import { LAG_BUCKETS } from '../../lib/server/metrics';
import { loadTask } from '../../lib/server/tasks';

test('autocannon driver: zero errors and well-formed stats against a tiny model', async (t) => {
  const dir = await buildModel('tiny');
  const server = new ConvBertServer(await loadTask('text-classification', dir, { batching: { maxBatchSize: 8, maxWaitMs: 2, maxConcurrentBatches: 2 } }), { port: 0 });
  try {
    const { port } = await server.listen();
    const texts = makeTexts(32, 8, 64);
    t.true(texts.every((x) => x.tokens >= 8 && x.tokens <= 64 && x.text.split(' ').length === x.tokens - 2));
    const r = await measureHttp(port, texts, { connections: 4, warmupS: 0.5, durationS: 2, rssEveryS: 0.5, driver: 'autocannon', primeRows: 16 });
    t.is(r.driver, 'autocannon');
    t.is(r.non2xx, 0);
    t.is(r.errors, 0);
    t.is(r.timeouts, 0);
    t.true(r.requests > 0, `requests ${r.requests}`);
    // About the 2 s asked for: timers may fire a millisecond early against performance.now().
    t.true(r.seconds >= 1.9 && r.seconds < 10, `window ${r.seconds} s`);
    t.true(Math.abs(r.rps - r.requests / r.seconds) < 1e-9);
    // Every answered request carried 8..64 tokens.
    const perRequest = r.tokensPerS / r.rps;
    t.true(perRequest >= 8 && perRequest <= 64, `tokens per request ${perRequest}`);
    t.true(r.p50 > 0 && r.p50 <= r.p90 && r.p90 <= r.p99 && Number.isFinite(r.p99), `${r.p50} ${r.p90} ${r.p99}`);
    t.true(r.meanBatch !== null && r.meanBatch >= 1 && r.meanBatch <= 8, `mean batch ${r.meanBatch}`);
    t.true(r.lagSamples !== null && r.lagSamples > 0, `lag samples ${r.lagSamples}`);
    t.true(r.lagShareUnder20ms !== null && r.lagShareUnder20ms >= 0 && r.lagShareUnder20ms <= 1);
    t.true(r.lagP99Ms !== null && r.lagP99Ms >= 0);
    t.true(r.rssStartMb !== null && r.rssStartMb > 0 && r.rssEndMb !== null && r.rssEndMb > 0);
    t.true(r.rssSamples.length >= 3, `RSS samples ${r.rssSamples.length}`);
    t.is(r.rssSamples[0].t, 0);
    for (let i = 1; i < r.rssSamples.length; i++) t.true(r.rssSamples[i].t >= r.rssSamples[i - 1].t);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function scrapeOf(t: number, mb: number, delays: number[] = []): Scrape {
  const lagBuckets = [...LAG_BUCKETS.map((b) => delays.filter((d) => d <= b).length), delays.length];
  return { t, rssBytes: mb * 1e6, lagBuckets, serverNon200: 0 };
}

test('lag window: the difference of two scrapes, p99 interpolated inside its bucket', (t) => {
  // 1000 samples before the window; in it, 990 at 0.5 ms and 10 at 40 ms.
  const a = scrapeOf(0, 100, new Array<number>(1000).fill(0.2));
  const b = scrapeOf(60, 100, [...new Array<number>(1000).fill(0.2), ...new Array<number>(990).fill(0.0005), ...new Array<number>(10).fill(0.04)]);
  const w = lagWindow(a, b);
  t.is(w.samples, 1000);
  t.is(w.shareUnder20ms, 0.99);
  t.is(w.maxBucketMs, 50);
  // Rank 990 is the last sample of the first bucket (0..1 ms, 990 samples): its top.
  t.true(Math.abs(w.p99Ms - 1) < 1e-9, String(w.p99Ms));
  // One more slow sample moves p99 into the 30-50 ms bucket.
  const c = scrapeOf(60, 100, [...new Array<number>(1000).fill(0.2), ...new Array<number>(980).fill(0.0005), ...new Array<number>(20).fill(0.04)]);
  const w2 = lagWindow(a, c);
  t.true(w2.p99Ms > 30 && w2.p99Ms <= 50, String(w2.p99Ms));
  t.true(w2.shareUnder20ms < 0.99);
  t.true(Number.isNaN(lagWindow(a, a).p99Ms));
});

test('RSS floors: a leak raises the last floor, one spike does not', (t) => {
  const flat = Array.from({ length: 61 }, (_, i) => ({ t: i * 10, mb: 500 + (i === 30 || i === 58 ? 80 : i % 3) }));
  const f = rssFloors(flat, 60);
  t.is(f.first, 500);
  t.is(f.last, 500);
  t.is(f.growth, 0);
  const leak = Array.from({ length: 61 }, (_, i) => ({ t: i * 10, mb: 500 + i }));
  const g = rssFloors(leak, 60);
  t.is(g.first, 500);
  t.is(g.last, 554);
  t.is(g.growth, 54);
});
