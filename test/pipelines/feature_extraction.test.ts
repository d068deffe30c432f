// feature-extraction and multiple-choice pipelines. Features: pooling none / cls /
// mean and normalize against ConvBertModel.forward run here on the same ids
// (mean recomputed in float64), zero-fill past each text's length with pooling
// none, batched == alone. Multiple choice: each choice scored alone (a one-choice
// forward), softmax over the choices, best = argmax. Tolerances: 1e-6 absolute on
// mean-pooled / normalised float32 values (float32 rounding of sums of 32 terms).
import test from 'ava';

import { pipeline } from '../../lib/pipelines';
import { assertClose } from '../helpers/assert_close';
import { cleanup, makeModelDir } from './setup';

test.after.always(cleanup);

test('feature-extraction: none / cls / mean / normalize match the trunk, batched == alone', async (t) => {
  const fe = await pipeline('feature-extraction', await makeModelDir('model', 71), { batch_size: 2 });
  t.teardown(() => fe.dispose());
  const H = 32;
  const texts = ['hello world', 'a much longer sentence with more tokens in it', 'hello there', 'x'];
  const hidden: Float32Array[] = [];
  const lens: number[] = [];
  for (const x of texts) {
    const e = fe.tokenizer.encode(x);
    lens.push(e.input_ids.length);
    hidden.push((await fe.model.forward({ input_ids: [e.input_ids] })).last_hidden_state.data as Float32Array);
  }
  const one = await fe(texts[0]);
  t.deepEqual(one.dims, [1, lens[0], H]);
  t.deepEqual(Array.from(one.data as Float32Array), Array.from(hidden[0]));

  const Lmax = Math.max(...lens);
  const all = await fe(texts);
  t.deepEqual(all.dims, [texts.length, Lmax, H]);
  const d = all.data as Float32Array;
  texts.forEach((_, b) => {
    t.deepEqual(Array.from(d.subarray(b * Lmax * H, b * Lmax * H + lens[b] * H)), Array.from(hidden[b]), `row ${b}`);
    t.true(
      d.subarray(b * Lmax * H + lens[b] * H, (b + 1) * Lmax * H).every((v) => v === 0),
      `row ${b} zero-filled`,
    );
  });

  const cls = await fe(texts, { pooling: 'cls' });
  t.deepEqual(cls.dims, [texts.length, H]);
  texts.forEach((_, b) => t.deepEqual(Array.from((cls.data as Float32Array).subarray(b * H, (b + 1) * H)), Array.from(hidden[b].subarray(0, H))));

  const mean = await fe(texts, { pooling: 'mean' });
  const meanN = await fe(texts, { pooling: 'mean', normalize: true });
  t.deepEqual(mean.dims, [texts.length, H]);
  texts.forEach((_, b) => {
    const want = new Float64Array(H);
    for (let j = 0; j < lens[b]; j++) for (let k = 0; k < H; k++) want[k] += hidden[b][j * H + k] / lens[b];
    assertClose(t, (mean.data as Float32Array).subarray(b * H, (b + 1) * H), want, { rtol: 0, atol: 1e-6, label: `mean row ${b}` });
    const norm = Math.sqrt(want.reduce((s, v) => s + v * v, 0));
    assertClose(
      t,
      (meanN.data as Float32Array).subarray(b * H, (b + 1) * H),
      want.map((v) => v / norm),
      { rtol: 0, atol: 1e-6, label: `normalized row ${b}` },
    );
  });

  const alone = [];
  for (const x of texts) alone.push(Array.from((await fe(x, { pooling: 'mean' })).data as Float32Array));
  t.deepEqual(Array.from(mean.data as Float32Array), alone.flat());
  await t.throwsAsync(fe('x', { pooling: 'max' as never }), { code: 'ERR_CONVBERT_ARG', message: /pooling/ });
  await t.throwsAsync(fe('x', { normalize: 'yes' as never }), { code: 'ERR_CONVBERT_ARG', message: /normalize/ });
});

test('feature-extraction on a head checkpoint uses its trunk (the convbert.* weights)', async (t) => {
  const dir = await makeModelDir('masked_lm', 73);
  const fe = await pipeline('feature-extraction', dir);
  const mlm = await pipeline('fill-mask', dir);
  t.teardown(async () => {
    await fe.dispose();
    await mlm.dispose();
  });
  const e = fe.tokenizer.encode('the trunk of a head');
  const out = await mlm.model.forward({ input_ids: [e.input_ids] }, { output_hidden_states: true });
  const last = out.hidden_states![out.hidden_states!.length - 1];
  t.deepEqual(Array.from((await fe('the trunk of a head')).data as Float32Array), Array.from(last.data as Float32Array));
});

test('multiple-choice: each choice scored alone, softmax over choices, best = argmax, batched == alone', async (t) => {
  const mc = await pipeline('multiple-choice', await makeModelDir('multiple_choice', 72), { batch_size: 3 });
  t.teardown(() => mc.dispose());
  const q = { question: 'What is red?', choices: ['an apple', 'the sky on a clear day', 'grass', 'a fire truck'] };
  const got = await mc(q);
  t.deepEqual(Object.keys(got), ['scores', 'best']);
  const logits = [];
  for (const c of q.choices) {
    const e = mc.tokenizer.encode(q.question, { text_pair: c });
    const out = await mc.model.forward({ input_ids: [[e.input_ids]], token_type_ids: [[e.token_type_ids!]] });
    logits.push((out.logits.data as Float32Array)[0]);
  }
  const m = Math.max(...logits);
  const ex = logits.map((x) => Math.exp(x - m));
  const z = ex.reduce((a, b) => a + b, 0);
  got.scores.forEach((s, k) => t.true(Math.abs(s - ex[k] / z) < 1e-12, `choice ${k}`));
  t.is(got.best, logits.indexOf(m));
  t.true(Math.abs(got.scores.reduce((a, b) => a + b, 0) - 1) < 1e-12);

  const inputs = [q, { question: 'Pick one', choices: ['a', 'b'] }, { question: 'Only', choices: ['single choice'] }];
  const batched = await mc(inputs);
  const alone = [];
  for (const x of inputs) alone.push(await mc(x));
  t.deepEqual(batched, alone);
  t.deepEqual(batched[2].scores, [1]);

  await t.throwsAsync(mc({ question: 'q', choices: [] }), { code: 'ERR_CONVBERT_ARG', message: /choices/ });
  await t.throwsAsync(mc({ question: 'q', choices: ['a', 3] } as never), { code: 'ERR_CONVBERT_ARG', message: /choices\[1\]/ });
  await t.throwsAsync(mc('q' as never), { code: 'ERR_CONVBERT_ARG', message: /question, choices/ });
});
