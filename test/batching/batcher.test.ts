// DynamicBatcher semantics on a fake runBatch that records each batch: the flush
// rules (maxBatchSize, maxTokens, maxWaitMs), abort before and during a run,
// per-request timeouts, queue overflow as ERR_CONVBERT_OVERLOADED, failure
// isolation, close() and stats(). Times are generous multiples of the waits so a
// loaded machine cannot flip a result; exact values are compared (no tolerance).
import test from 'ava';

import { DynamicBatcher } from '../../lib/batching';
import { ConvBertError } from '../../lib/errors';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A runBatch that records its batches and answers req*10 after `delayMs` (or when released). */
function recorder(delayMs = 0) {
  const batches: number[][] = [];
  let gate: (() => void) | null = null;
  let hold: Promise<void> | null = null;
  const run = async (reqs: number[]): Promise<number[]> => {
    batches.push([...reqs]);
    if (hold) await hold;
    if (delayMs > 0) await sleep(delayMs);
    if (reqs.some((r) => r < 0)) throw new Error(`bad request in ${reqs.join(',')}`);
    return reqs.map((r) => r * 10);
  };
  return {
    batches,
    run,
    block(): void {
      hold = new Promise((r) => (gate = r));
    },
    release(): void {
      hold = null;
      gate?.();
    },
  };
}

test('a full batch leaves at once; the rest waits maxWaitMs', async (t) => {
  const rec = recorder();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 4, maxWaitMs: 300 }, rec.run);
  const t0 = performance.now();
  const first = await Promise.all([1, 2, 3, 4].map((x) => b.submit(x)));
  const fullMs = performance.now() - t0;
  t.deepEqual(first, [10, 20, 30, 40]);
  t.deepEqual(rec.batches, [[1, 2, 3, 4]]);
  t.true(fullMs < 250, `a full batch left after ${fullMs.toFixed(0)} ms (maxWaitMs 300)`);
  const t1 = performance.now();
  const two = await Promise.all([5, 6].map((x) => b.submit(x)));
  const partMs = performance.now() - t1;
  t.deepEqual(two, [50, 60]);
  t.deepEqual(rec.batches[1], [5, 6]);
  t.true(partMs >= 290, `a partial batch left after ${partMs.toFixed(0)} ms, before maxWaitMs 300`);
});

test('maxBatchSize splits a burst in FIFO order', async (t) => {
  const rec = recorder();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 3, maxWaitMs: 20 }, rec.run);
  const res = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((x) => b.submit(x)));
  t.deepEqual(res, [10, 20, 30, 40, 50, 60, 70]);
  t.deepEqual(rec.batches, [[1, 2, 3], [4, 5, 6], [7]]);
  const s = b.stats();
  t.is(s.batches, 3);
  t.deepEqual(s.batchSizeHistogram, { 3: 2, 1: 1 });
  t.is(s.completed, 7);
});

test('maxTokens caps the tokens of a batch; a request over it alone is rejected', async (t) => {
  const rec = recorder();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 100, maxWaitMs: 20, maxTokens: 10, cost: (r) => r }, rec.run);
  const res = await Promise.all([4, 5, 3, 2, 9].map((x) => b.submit(x)));
  t.deepEqual(res, [40, 50, 30, 20, 90]);
  // 4+5 = 9 (adding 3 would give 12 > 10), then 3+2 = 5 (adding 9 would give 14), then 9.
  t.deepEqual(rec.batches, [[4, 5], [3, 2], [9]]);
  const e = await t.throwsAsync(b.submit(11));
  t.true(e instanceof ConvBertError);
  t.is((e as ConvBertError).code, 'ERR_CONVBERT_ARG');
  t.regex(e!.message, /11 tokens exceed .*maxTokens 10/);
});

test('a full queue rejects with ERR_CONVBERT_OVERLOADED and counts it', async (t) => {
  const rec = recorder();
  rec.block();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 1, maxWaitMs: 0, maxQueue: 2 }, rec.run);
  const running = b.submit(1); // leaves at once and blocks
  await sleep(10);
  const q1 = b.submit(2);
  const q2 = b.submit(3);
  const e = await t.throwsAsync(b.submit(4));
  t.true(e instanceof ConvBertError);
  t.is((e as ConvBertError).code, 'ERR_CONVBERT_OVERLOADED');
  t.regex(e!.message, /maxQueue 2/);
  const s = b.stats();
  t.is(s.queueDepth, 2);
  t.is(s.inFlight, 1);
  t.is(s.rejected, 1);
  rec.release();
  t.deepEqual(await Promise.all([running, q1, q2]), [10, 20, 30]);
  t.is(b.stats().queueDepth, 0);
  t.is(b.stats().inFlight, 0);
});

test('abort before start removes the request; its partners still run', async (t) => {
  const rec = recorder();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 8, maxWaitMs: 100 }, rec.run);
  const ac = new AbortController();
  const a = b.submit(1);
  const x = b.submit(2, { signal: ac.signal });
  const c = b.submit(3);
  ac.abort(new Error('client went away'));
  await t.throwsAsync(x, { message: 'client went away' });
  t.is(b.stats().queueDepth, 2);
  t.deepEqual(await Promise.all([a, c]), [10, 30]);
  t.deepEqual(rec.batches, [[1, 3]]);
  t.is(b.stats().cancelled, 1);
  // An already-aborted signal never queues.
  const reason = await b.submit(5, { signal: AbortSignal.abort() }).then(
    () => null,
    (e: unknown) => e,
  );
  t.is((reason as { name?: string } | null)?.name, 'AbortError');
  t.is(b.stats().cancelled, 2);
});

test('abort while running rejects at once and drops the result', async (t) => {
  const rec = recorder();
  rec.block();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 2, maxWaitMs: 1000 }, rec.run);
  const ac = new AbortController();
  const keep = b.submit(1);
  const gone = b.submit(2, { signal: ac.signal });
  await sleep(10);
  t.is(b.stats().inFlight, 2);
  ac.abort(new Error('stop'));
  await t.throwsAsync(gone, { message: 'stop' });
  rec.release();
  t.is(await keep, 10);
  await sleep(0); // the batch's bookkeeping runs just after its results are handed out
  const s = b.stats();
  t.is(s.cancelled, 1);
  t.is(s.completed, 1);
  t.is(s.inFlight, 0);
});

test('per-request timeouts: in the queue and while running', async (t) => {
  const rec = recorder();
  rec.block();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 1, maxWaitMs: 0, timeoutMs: 80 }, rec.run);
  const running = b.submit(1);
  const queued = b.submit(2);
  const patient = b.submit(3, { timeoutMs: 0 });
  const e = await t.throwsAsync(running, { message: /timed out after 80 ms/ });
  t.is((e as ConvBertError).code, 'ERR_CONVBERT_TIMEOUT');
  await t.throwsAsync(queued, { message: /timed out after 80 ms/ });
  t.is(b.stats().timedOut, 2);
  t.is(b.stats().queueDepth, 1); // the patient one
  rec.release();
  t.is(await patient, 30);
  // The timed-out queued request never reached runBatch.
  t.deepEqual(rec.batches, [[1], [3]]);
});

test('a failing batch is retried one by one: only the bad request fails', async (t) => {
  const rec = recorder();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 4, maxWaitMs: 20 }, rec.run);
  const rs = await Promise.allSettled([1, -2, 3].map((x) => b.submit(x)));
  t.deepEqual(rs[0], { status: 'fulfilled', value: 10 });
  t.is(rs[1].status, 'rejected');
  t.deepEqual(rs[2], { status: 'fulfilled', value: 30 });
  t.deepEqual(rec.batches, [[1, -2, 3], [1], [-2], [3]]);
  t.is(b.stats().failed, 1);
});

test('a runBatch returning the wrong count is an internal error', async (t) => {
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 1, maxWaitMs: 0 }, async () => [1, 2]);
  const e = await t.throwsAsync(b.submit(1));
  t.is((e as ConvBertError).code, 'ERR_CONVBERT_INTERNAL');
});

test('close() runs the queue without waiting, then refuses new requests', async (t) => {
  const rec = recorder();
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 8, maxWaitMs: 10_000 }, rec.run);
  const a = b.submit(1);
  const c = b.submit(2);
  const t0 = performance.now();
  await b.close();
  t.true(performance.now() - t0 < 1000);
  t.deepEqual(await Promise.all([a, c]), [10, 20]);
  const e = await t.throwsAsync(b.submit(3));
  t.is((e as ConvBertError).code, 'ERR_CONVBERT_OVERLOADED');
});

test('stats: latency percentiles come from real waits', async (t) => {
  const rec = recorder(30);
  const b = new DynamicBatcher<number, number>({ maxBatchSize: 2, maxWaitMs: 0 }, rec.run);
  for (let i = 0; i < 4; i++) await b.submit(i);
  const s = b.stats();
  t.is(s.completed, 4);
  // Each request took at least the 30 ms runBatch delay; timers may fire late, never early by more than 1 ms.
  t.true(s.latency.p50 >= 29 && s.latency.p50 <= s.latency.p90 && s.latency.p90 <= s.latency.p99, JSON.stringify(s.latency));
});

test('bad options name the option', (t) => {
  const run = async (r: number[]): Promise<number[]> => r;
  t.throws(() => new DynamicBatcher<number, number>({ maxBatchSize: 0 }, run), { message: /maxBatchSize: expected an integer >= 1, got 0/ });
  t.throws(() => new DynamicBatcher<number, number>({ maxWaitMs: -1 }, run), { message: /maxWaitMs/ });
  t.throws(() => new DynamicBatcher<number, number>({}, 'x' as never), { message: /runBatch must be a function/ });
});
