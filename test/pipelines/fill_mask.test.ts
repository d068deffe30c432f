// fill-mask pipeline: output keys, scores equal the softmax of the MLM logits at
// the mask (recomputed here from model.forward), sorted top_k, one list per mask,
// targets, batched == alone, and typed errors. Tolerance: 1e-12 on scores (the same
// float64 softmax of the same float32 logits).
import test from 'ava';

import { pipeline, type FillMaskResult } from '../../lib/pipelines';
import { cleanup, makeModelDir } from './setup';

test.after.always(cleanup);

let dir = '';
test.before(async () => {
  dir = await makeModelDir('masked_lm', 31);
});

function softmaxRow(a: Float32Array): number[] {
  const m = Math.max(...a);
  const e = Array.from(a, (x) => Math.exp(x - m));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((x) => x / s);
}

test('one mask: keys, scores from the logits, sorted, sequence fills the mask', async (t) => {
  const fm = await pipeline('fill-mask', dir);
  t.teardown(() => fm.dispose());
  const text = 'The goal of life is [MASK].';
  const got = (await fm(text, { top_k: 7 })) as FillMaskResult[];
  t.is(got.length, 7);
  const enc = fm.tokenizer.encode(text);
  const pos = enc.input_ids.indexOf(fm.tokenizer.mask_token_id);
  const out = await fm.model.forward({ input_ids: [enc.input_ids] });
  const V = fm.model.config.vocab_size;
  const probs = softmaxRow((out.logits.data as Float32Array).subarray(pos * V, (pos + 1) * V));
  const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  got.forEach((r, k) => {
    t.deepEqual(Object.keys(r), ['score', 'token', 'token_str', 'sequence']);
    t.is(r.token, order[k][1]);
    t.true(Math.abs(r.score - order[k][0]) < 1e-12);
    t.is(r.token_str, fm.tokenizer.decode([r.token]));
    const ids = enc.input_ids.slice();
    ids[pos] = r.token;
    t.is(r.sequence, fm.tokenizer.decode(ids, { skip_special_tokens: true }));
  });
  // Default top_k is 5.
  t.is(((await fm(text)) as FillMaskResult[]).length, 5);
  // targets: only those tokens, scored with the full softmax.
  const tg = (await fm(text, { targets: ['happiness', 'love'], top_k: 5 })) as FillMaskResult[];
  t.deepEqual(tg.map((r) => r.token_str).sort(), ['happiness', 'love']);
  for (const r of tg) t.true(Math.abs(r.score - probs[r.token]) < 1e-12);
  t.true(tg[0].score >= tg[1].score);
});

test('several masks give one list per mask; batched == alone', async (t) => {
  const fm = await pipeline('fill-mask', dir, { batch_size: 2 });
  t.teardown(() => fm.dispose());
  const two = (await fm('hello [MASK] world [MASK] again', { top_k: 3 })) as FillMaskResult[][];
  t.is(two.length, 2);
  for (const list of two) t.is(list.length, 3);
  // List k fills mask k only (the other mask is a special token, skipped when decoding).
  const enc = fm.tokenizer.encode('hello [MASK] world [MASK] again');
  const masks = enc.input_ids.flatMap((id, j) => (id === fm.tokenizer.mask_token_id ? [j] : []));
  two.forEach((list, k) => {
    for (const r of list) {
      const ids = enc.input_ids.slice();
      ids[masks[k]] = r.token;
      t.is(r.sequence, fm.tokenizer.decode(ids, { skip_special_tokens: true }));
    }
  });
  const texts = ['a [MASK] b', 'c [MASK] d', 'the [MASK] is long and red', 'x [MASK] [MASK]'];
  const batched = await fm(texts, { top_k: 4 });
  const alone = [];
  for (const x of texts) alone.push(await fm(x, { top_k: 4 }));
  t.deepEqual(batched, alone);
});

test('errors: no mask, bad top_k, bad targets, non-string input', async (t) => {
  const fm = await pipeline('fill-mask', dir);
  t.teardown(() => fm.dispose());
  await t.throwsAsync(fm('no mask here'), { code: 'ERR_CONVBERT_ARG', message: /no mask token/ });
  await t.throwsAsync(fm(['ok [MASK]', 'none']), { code: 'ERR_CONVBERT_ARG', message: /texts\[1\]/ });
  await t.throwsAsync(fm('[MASK]', { top_k: 0 }), { code: 'ERR_CONVBERT_ARG', message: /top_k/ });
  await t.throwsAsync(fm('[MASK]', { top_k: 1.5 }), { code: 'ERR_CONVBERT_ARG', message: /top_k/ });
  await t.throwsAsync(fm('[MASK]', { targets: [] }), { code: 'ERR_CONVBERT_ARG', message: /targets/ });
  await t.throwsAsync(fm(null as never), { code: 'ERR_CONVBERT_ARG', message: /text/ });
  await t.throwsAsync(fm('[MASK]', { topk: 3 } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'topk'/ });
});

test('options.modulesToNotConvert reaches fromPretrained: the bf16 model keeps the LM head in float32; a bad name is a typed error', async (t) => {
  const fm = await pipeline('fill-mask', dir, { dtype: 'bfloat16', modulesToNotConvert: ['generator_lm_head'] });
  t.teardown(() => fm.dispose());
  t.is(fm.model.dtype, 'bfloat16');
  t.deepEqual(fm.model.modulesToNotConvert, ['generator_lm_head']);
  t.is(((await fm('Hello [MASK].', { top_k: 2 })) as FillMaskResult[]).length, 2);
  await t.throwsAsync(pipeline('fill-mask', dir, { dtype: 'bfloat16', modulesToNotConvert: ['lm_head_typo'] }), {
    code: 'ERR_CONVBERT_ARG',
    message: /'lm_head_typo' matches no linear module/,
  });
});
