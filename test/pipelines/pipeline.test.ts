// pipeline(): task names and aliases, typed errors for unknown tasks, bad model
// ids and bad options, dispose, the slow tokenizer giving the fast one's results,
// results independent of batch_size, use of model.forwardPacked when a model has
// one, and loading from a Hub id (a fake Hub on 127.0.0.1 serving a model folder).
import * as fs from 'fs';
import * as path from 'path';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { pipeline, SUPPORTED_TASKS, type TextClassificationResult } from '../../lib/pipelines';
import { Tensor } from '../../lib/tensor';
import { assertClose } from '../helpers/assert_close';
import { FakeHub, commitId } from '../hub/fake_hub';
import { isolateHubEnv, removeTmpDirs, tmpCache } from '../hub/setup';
import { cleanup, makeModelDir } from './setup';

test.before(isolateHubEnv);
test.after.always(() => {
  cleanup();
  removeTmpDirs();
});

let clsDir = '';
test.before(async () => {
  clsDir = await makeModelDir('sequence_classification', 81, { id2label: { 0: 'neg', 1: 'pos' } });
});

test('unknown tasks, bad model ids and bad options are ConvBertErrors naming the argument', async (t) => {
  const e1 = await t.throwsAsync(pipeline('summarization' as never, clsDir), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' });
  t.regex(e1!.message, /task: unknown task "summarization"/);
  for (const task of SUPPORTED_TASKS) t.true(e1!.message.includes(task), `lists ${task}`);
  await t.throwsAsync(pipeline('constructor' as never, clsDir), { code: 'ERR_CONVBERT_ARG', message: /unknown task/ });
  await t.throwsAsync(pipeline(7 as never, clsDir), { code: 'ERR_CONVBERT_ARG', message: /task/ });
  await t.throwsAsync(pipeline('fill-mask', ''), { code: 'ERR_CONVBERT_ARG', message: /modelIdOrDir/ });
  await t.throwsAsync(pipeline('fill-mask', './no/such/model/dir'), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_IO' });
  await t.throwsAsync(pipeline('text-classification', clsDir, { batch_size: 0 }), { code: 'ERR_CONVBERT_ARG', message: /batch_size/ });
  await t.throwsAsync(pipeline('text-classification', clsDir, { tokenizer: 'medium' as never }), { code: 'ERR_CONVBERT_ARG', message: /options.tokenizer/ });
  await t.throwsAsync(pipeline('text-classification', clsDir, { batchSize: 4 } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'batchSize'/ });
  await t.throwsAsync(pipeline('text-classification', clsDir, { revision: 3 } as never), { code: 'ERR_CONVBERT_ARG', message: /options.revision/ });
});

test('aliases, pipe properties, dispose', async (t) => {
  const p = await pipeline('sentiment-analysis', clsDir);
  t.is(p.task, 'text-classification');
  t.is(typeof p, 'function');
  t.is(p.model.config.num_labels, 2);
  t.true(p.tokenizer.vocabSize > 0);
  await p('hello');
  await p.dispose();
  t.true(p.model.disposed);
  await p.dispose(); // twice is fine
  await t.throwsAsync(p('hello'), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_DISPOSED' });
  const fe = await pipeline('embeddings', await makeModelDir('model', 82));
  t.is(fe.task, 'feature-extraction');
  await fe.dispose();
});

test("the slow tokenizer gives the fast one's results; batch_size does not change results", async (t) => {
  const texts = ['Hello there, general Kenobi!', 'short', 'naïve café crème brûlée', 'two words', 'three more words', 'x y'];
  const fast1 = await pipeline('text-classification', clsDir, { batch_size: 1 });
  const fast16 = await pipeline('text-classification', clsDir, { batch_size: 16 });
  const slow = await pipeline('text-classification', clsDir, { tokenizer: 'slow', batch_size: 3 });
  t.teardown(async () => {
    await fast1.dispose();
    await fast16.dispose();
    await slow.dispose();
  });
  const a = await fast1(texts, { top_k: null });
  t.deepEqual(await fast16(texts, { top_k: null }), a);
  t.deepEqual(await slow(texts, { top_k: null }), a);
});

test('a model with forwardPacked is fed every row through it, with the same results', async (t) => {
  const p = await pipeline('text-classification', clsDir, { batch_size: 4 });
  t.teardown(() => p.dispose());
  const texts = ['one', 'two words', 'and three words', 'four', 'five six'];
  const want = await p(texts, { top_k: null });
  const calls: number[] = [];
  // A stand-in packed forward: each row alone through forward(), as the real one must behave.
  (p.model as unknown as { forwardPacked: unknown }).forwardPacked = async (rows: { input_ids: Int32Array; token_type_ids: Int32Array }[]) => {
    calls.push(rows.length);
    const outs = [];
    for (const r of rows) {
      const dims = [1, r.input_ids.length];
      const o = await p.model.forward({ input_ids: new Tensor('int32', r.input_ids, dims), token_type_ids: new Tensor('int32', r.token_type_ids, dims) });
      outs.push(o as unknown as Record<string, unknown>);
    }
    return outs;
  };
  const got = (await p(texts, { top_k: null })) as TextClassificationResult[][];
  t.deepEqual(calls, [4, 1]);
  t.deepEqual(got, want);
});

test('without forwardPacked, rows run in equal-length groups and give the packed results', async (t) => {
  const fe = await pipeline('feature-extraction', await makeModelDir('model', 83), { batch_size: 3 });
  t.teardown(() => fe.dispose());
  // Equal token lengths on purpose (several share a group), plus odd ones out.
  const texts = ['red car', 'blue sky', 'green tea', 'a much longer text here', 'dark night', 'x'];
  const packed = await fe(texts, { pooling: 'mean' });
  let forwards = 0;
  const m = fe.model as unknown as { forwardPacked?: unknown; forward: (...a: unknown[]) => Promise<unknown> };
  m.forwardPacked = undefined; // shadow the method: the runner must fall back to forward()
  const orig = m.forward.bind(m);
  m.forward = (...a: unknown[]) => {
    forwards++;
    return orig(...a);
  };
  const grouped = await fe(texts, { pooling: 'mean' });
  // 4 rows of length 4 in groups of 3 -> 2 forwards, plus one per other length (2).
  t.is(forwards, 4);
  // The varlen and the padded-batch kernels may round differently: 1e-6 absolute on O(1) values.
  assertClose(t, grouped.data as Float32Array, packed.data as Float32Array, { rtol: 0, atol: 1e-6, label: 'grouped vs packed' });
});

test('loads from a Hub id (fake Hub on 127.0.0.1) into the cache and runs', async (t) => {
  const hub = await FakeHub.start();
  t.teardown(() => hub.close());
  const file = (f: string): Buffer => fs.readFileSync(path.join(clsDir, f));
  hub.addCommit('org/cls', commitId('c1'), {
    'config.json': { data: file('config.json') },
    'model.safetensors': { data: file('model.safetensors'), lfs: 'relative' },
    'vocab.txt': { data: file('vocab.txt') },
    'tokenizer_config.json': { data: file('tokenizer_config.json') },
  });
  const cacheDir = tmpCache();
  const fromHub = await pipeline('text-classification', 'org/cls', { cacheDir, revision: 'main', hub: { endpoint: hub.endpoint, progress: false } });
  const local = await pipeline('text-classification', clsDir);
  t.teardown(async () => {
    await fromHub.dispose();
    await local.dispose();
  });
  t.true(fs.existsSync(path.join(cacheDir, 'models--org--cls')));
  t.deepEqual(await fromHub('good morning', { top_k: null }), await local('good morning', { top_k: null }));
  await t.throwsAsync(pipeline('text-classification', 'org/missing', { cacheDir, hub: { endpoint: hub.endpoint, progress: false, retries: 0 } }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_HUB_NOT_FOUND',
  });
});

test('options.batching: concurrent calls share packed forwards, results equal the unbatched pipeline, dispose drains', async (t) => {
  const plain = await pipeline('text-classification', clsDir);
  const batched = await pipeline('text-classification', clsDir, { batching: { maxBatchSize: 16, maxWaitMs: 20 } });
  t.teardown(() => plain.dispose());
  const texts = ['good morning', 'a much longer sentence about the weather today', 'hi', 'another one', 'bad'];
  const want = await Promise.all(texts.map((s) => plain(s, { top_k: null })));
  const got = await Promise.all(texts.map((s) => batched(s, { top_k: null })));
  const stats = (batched.model as unknown as { batcher: { stats(): { batches: number; completed: number } } }).batcher.stats();
  t.is(stats.completed, texts.length);
  t.true(stats.batches < texts.length, `five concurrent calls ran in ${stats.batches} batches`);
  // Same rows, same kernels, but packed with other rows: float32 summation order may differ slightly.
  for (let i = 0; i < texts.length; i++) {
    const w = want[i] as TextClassificationResult[];
    const g = got[i] as TextClassificationResult[];
    t.deepEqual(
      g.map((r) => r.label),
      w.map((r) => r.label),
    );
    assertClose(
      t,
      g.map((r) => r.score),
      w.map((r) => r.score),
      { rtol: 1e-5, atol: 1e-6, label: texts[i] },
    );
  }
  await batched.dispose();
  await t.throwsAsync(pipeline('text-classification', clsDir, { batching: 5 } as never), { code: 'ERR_CONVBERT_ARG', message: /options.batching/ });
});
