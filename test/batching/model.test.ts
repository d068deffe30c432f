// withBatching(model): rows of concurrent callers share forwards, yet each row's
// output equals the model run on that row alone ([1, L], no padding). Rows of
// equal length are stacked into one forward; tolerance rtol 1e-5, atol 1e-6
// (float32: a stacked GEMM may block its rows differently from a single row).
// The proxy keeps the model's own API (instanceof, config, forward, dispose).
import test from 'ava';

import { runRowsByLength, withBatching, type BatchRow } from '../../lib/batching';
import { ConvBertError } from '../../lib/errors';
import { ConvBertForMaskedLM, ConvBertModel } from '../../lib/models';
import { Tensor } from '../../lib/tensor';
import { assertClose } from '../helpers/assert_close';
import { mulberry32 } from '../helpers/rng';

const CFG = { vocab_size: 120, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, embedding_size: 24, max_position_embeddings: 64 };
const TOL = { rtol: 1e-5, atol: 1e-6 };

function row(seed: number, L: number): BatchRow {
  const r = mulberry32(seed);
  const ids = new Int32Array(L);
  const types = new Int32Array(L);
  for (let i = 0; i < L; i++) {
    ids[i] = Math.floor(r() * CFG.vocab_size);
    types[i] = i >= L / 2 ? 1 : 0;
  }
  return { input_ids: ids, token_type_ids: types };
}

test('concurrent rows batch together and equal each row run alone', async (t) => {
  const m = ConvBertForMaskedLM.fromConfig(CFG, { seed: 3 });
  t.teardown(() => m.dispose());
  const bm = withBatching(m, { maxBatchSize: 16, maxWaitMs: 50 });
  t.true(bm instanceof ConvBertForMaskedLM);
  t.is(bm.config.hidden_size, 32);
  const lens = [5, 9, 5, 17, 9, 5, 33, 1, 17, 5];
  const rows = lens.map((L, i) => row(10 + i, L));
  // Ten callers at once, one row each.
  const got = await Promise.all(rows.map((r) => bm.forwardPacked([r]).then((o) => o[0])));
  const s = bm.batcher.stats();
  t.is(s.batches, 1, 'one batch for the ten concurrent callers');
  t.deepEqual(s.batchSizeHistogram, { 10: 1 });
  for (let i = 0; i < rows.length; i++) {
    const L = lens[i];
    const alone = await m.forward({
      input_ids: new Tensor('int32', rows[i].input_ids, [1, L]),
      token_type_ids: new Tensor('int32', rows[i].token_type_ids!, [1, L]),
    });
    t.deepEqual(got[i].logits.dims, [1, L, CFG.vocab_size]);
    assertClose(t, got[i].logits.data as Float32Array, alone.logits.data as Float32Array, { ...TOL, label: `row ${i} logits (L=${L})` });
  }
});

test('the same row gives the same output whatever its partners', async (t) => {
  const m = ConvBertModel.fromConfig(CFG, { seed: 4 });
  t.teardown(() => m.dispose());
  const bm = withBatching(m, { maxBatchSize: 8, maxWaitMs: 20 });
  const probe = row(99, 12);
  const [solo] = await bm.forwardPacked([probe]);
  const withPartners = await bm.forwardPacked([row(1, 12), probe, row(2, 12), row(3, 7)]);
  assertClose(t, withPartners[1].last_hidden_state.data as Float32Array, solo.last_hidden_state.data as Float32Array, { ...TOL, label: 'probe' });
});

test("the model's own forwardPacked is used when it has one", async (t) => {
  const m = ConvBertModel.fromConfig(CFG, { seed: 5 });
  t.teardown(() => m.dispose());
  const seen: number[][] = [];
  (m as unknown as { forwardPacked: (rows: BatchRow[]) => Promise<unknown[]> }).forwardPacked = async (rows) => {
    seen.push(rows.map((r) => r.input_ids.length));
    return rows.map((r) => ({ last_hidden_state: new Tensor('float32', new Float32Array(r.input_ids.length), [1, r.input_ids.length, 1]) }));
  };
  const bm = withBatching(m, { maxBatchSize: 8, maxWaitMs: 20 });
  const out = await Promise.all([3, 4, 5].map((L, i) => bm.forwardPacked([row(i, L)])));
  t.deepEqual(seen, [[3, 4, 5]]);
  t.deepEqual(
    out.map((o) => o[0].last_hidden_state.dims),
    [
      [1, 3, 1],
      [1, 4, 1],
      [1, 5, 1],
    ],
  );
});

test('maxTokens counts row lengths; bad rows are typed errors', async (t) => {
  const m = ConvBertModel.fromConfig(CFG, { seed: 6 });
  t.teardown(() => m.dispose());
  const bm = withBatching(m, { maxBatchSize: 8, maxWaitMs: 20, maxTokens: 20 });
  await Promise.all([row(1, 10), row(2, 10), row(3, 10)].map((r) => bm.forwardPacked([r])));
  t.deepEqual(bm.batcher.stats().batchSizeHistogram, { 2: 1, 1: 1 });
  const e = await t.throwsAsync(bm.forwardPacked([row(4, 21)]));
  t.is((e as ConvBertError).code, 'ERR_CONVBERT_ARG');
  const e2 = await t.throwsAsync(bm.forwardPacked([{ input_ids: [1, 2] as unknown as Int32Array }]));
  t.regex(e2!.message, /rows\[0\]\.input_ids: expected a non-empty Int32Array/);
  t.throws(() => withBatching(m, { maxBatchSize: -1 }), { message: /maxBatchSize/ });
});

test('runRowsByLength (the path for models without forwardPacked) equals each row alone', async (t) => {
  const m = ConvBertModel.fromConfig(CFG, { seed: 7 });
  t.teardown(() => m.dispose());
  const lens = [6, 3, 6, 6, 11, 3];
  const rows = lens.map((L, i) => row(50 + i, L));
  const got = await runRowsByLength(m, rows);
  for (let i = 0; i < rows.length; i++) {
    const alone = await m.forward({
      input_ids: new Tensor('int32', rows[i].input_ids, [1, lens[i]]),
      token_type_ids: new Tensor('int32', rows[i].token_type_ids!, [1, lens[i]]),
    });
    t.deepEqual(got[i].last_hidden_state.dims, [1, lens[i], CFG.hidden_size]);
    assertClose(t, got[i].last_hidden_state.data as Float32Array, alone.last_hidden_state.data as Float32Array, { ...TOL, label: `row ${i}` });
  }
});

test("rows are the batcher's own once submitted: changing or transferring the caller's arrays while they wait changes nothing", async (t) => {
  const m = ConvBertModel.fromConfig(CFG, { seed: 5 });
  t.teardown(() => m.dispose());
  const bm = withBatching(m, { maxBatchSize: 8, maxWaitMs: 30 });
  const probe = row(77, 9);
  const [want] = await bm.forwardPacked([{ input_ids: probe.input_ids.slice(), token_type_ids: probe.token_type_ids!.slice() }]);
  const mutated = { input_ids: probe.input_ids.slice(), token_type_ids: probe.token_type_ids!.slice() };
  const moved = { input_ids: probe.input_ids.slice(), token_type_ids: probe.token_type_ids!.slice() };
  const p1 = bm.forwardPacked([mutated]);
  const p2 = bm.forwardPacked([moved]);
  // Both wait for partners (maxWaitMs 30) while the caller changes one row and transfers the other's buffers away.
  mutated.input_ids.fill(3);
  mutated.token_type_ids.fill(0);
  structuredClone(moved.input_ids, { transfer: [moved.input_ids.buffer] });
  structuredClone(moved.token_type_ids, { transfer: [moved.token_type_ids.buffer] });
  t.is(moved.input_ids.length, 0, "the transfer detached the caller's array");
  const [[a], [b]] = await Promise.all([p1, p2]);
  assertClose(t, a.last_hidden_state.data as Float32Array, want.last_hidden_state.data as Float32Array, { ...TOL, label: 'mutated after submit' });
  assertClose(t, b.last_hidden_state.data as Float32Array, want.last_hidden_state.data as Float32Array, { ...TOL, label: 'transferred after submit' });
});

test('a call of many rows with a signal adds one abort listener (no MaxListenersExceededWarning), removed when the rows are done; aborting cancels them all', async (t) => {
  const m = ConvBertModel.fromConfig(CFG, { seed: 6 });
  t.teardown(() => m.dispose());
  const bm = withBatching(m, { maxBatchSize: 4, maxWaitMs: 1 });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const ac = new AbortController();
  const counted = { adds: 0, removes: 0 };
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (counted.adds++, add(...a))) as typeof add;
  ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (counted.removes++, remove(...a))) as typeof remove;
  const rows = Array.from({ length: 24 }, (_, i) => row(200 + i, 3 + (i % 5)));
  const out = await bm.forwardPacked(rows, { signal: ac.signal });
  t.is(out.length, 24);
  t.is(counted.adds, 1, 'one listener for the 24 rows');
  t.is(counted.removes, 1, 'removed once every row had its answer');
  const rows2 = Array.from({ length: 24 }, (_, i) => row(300 + i, 4));
  const bm2 = withBatching(m, { maxBatchSize: 1, maxWaitMs: 1000 });
  const ac2 = new AbortController();
  const pending = bm2.forwardPacked(rows2, { signal: ac2.signal });
  ac2.abort(new Error('client went away'));
  const err = await t.throwsAsync(pending);
  t.is(err?.message, 'client went away');
  // One batch of one row runs at once (maxBatchSize 1), the rest wait: the abort drops all 24 (the running one's result too).
  t.is(bm2.batcher.stats().cancelled, 24);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(
    warnings.filter((w) => w === 'MaxListenersExceededWarning'),
    [],
  );
});
