// text-classification and zero-shot-classification pipelines (one sequence-
// classification head each): output shapes of transformers.js for top_k 1 / k /
// null, function_to_apply and its HF default (problem_type / num_labels), label
// names from id2label, text pairs, zero-shot's single- vs multi-label scoring
// recomputed from the NLI logits, batched == alone. Tolerance 1e-12 where the
// scores are the same float64 arithmetic on the same float32 logits.
import test from 'ava';

import { pipeline, type TextClassificationResult, type ZeroShotResult } from '../../lib/pipelines';
import { cleanup, makeModelDir } from './setup';

test.after.always(cleanup);

const sm = (xs: number[]): number[] => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

async function logitsOf(
  p: {
    tokenizer: { encode: (a: string, o?: object) => { input_ids: number[]; token_type_ids?: number[] } };
    model: { forward: (i: object) => Promise<{ logits: { data: unknown } }> };
  },
  text: string,
  pair?: string,
): Promise<number[]> {
  const e = p.tokenizer.encode(text, pair === undefined ? {} : { text_pair: pair });
  const out = await p.model.forward({ input_ids: [e.input_ids], token_type_ids: [e.token_type_ids!] });
  return Array.from(out.logits.data as Float32Array);
}

test('text-classification: shapes for top_k 1 / 2 / null, scores, labels, pairs, batched == alone', async (t) => {
  const labels = ['negative', 'neutral', 'positive'];
  const dir = await makeModelDir('sequence_classification', 41, { id2label: { 0: labels[0], 1: labels[1], 2: labels[2] } });
  const tc = await pipeline('text-classification', dir, { batch_size: 2 });
  t.teardown(() => tc.dispose());
  const text = 'I love this movie';
  const want = sm(await logitsOf(tc, text));
  const one = await tc(text);
  t.is(one.length, 1);
  t.deepEqual(Object.keys(one[0]), ['label', 'score']);
  const best = want.indexOf(Math.max(...want));
  t.is(one[0].label, labels[best]);
  t.true(Math.abs(one[0].score - want[best]) < 1e-12);

  const all = (await tc(text, { top_k: null })) as TextClassificationResult[];
  t.deepEqual(all.map((r) => r.label).sort(), [...labels].sort());
  t.true(Math.abs(all.reduce((s, r) => s + r.score, 0) - 1) < 1e-12, 'softmax sums to 1');
  for (let i = 1; i < all.length; i++) t.true(all[i - 1].score >= all[i].score);
  const two = (await tc(text, { top_k: 2 })) as TextClassificationResult[];
  t.deepEqual(two, all.slice(0, 2));

  const raw = await logitsOf(tc, text);
  const none = (await tc(text, { top_k: null, function_to_apply: 'none' })) as TextClassificationResult[];
  for (const r of none) t.is(r.score, raw[labels.indexOf(r.label)]);
  const sig = (await tc(text, { top_k: null, function_to_apply: 'sigmoid' })) as TextClassificationResult[];
  for (const r of sig) t.true(Math.abs(r.score - 1 / (1 + Math.exp(-raw[labels.indexOf(r.label)]))) < 1e-12);

  // A text pair: the logits of the encoded pair.
  const pr = sm(await logitsOf(tc, 'a cat', 'a dog'));
  const pg = (await tc({ text: 'a cat', text_pair: 'a dog' }, { top_k: null })) as TextClassificationResult[];
  for (const r of pg) t.true(Math.abs(r.score - pr[labels.indexOf(r.label)]) < 1e-12);

  // Batches: top_k 1 gives one object per text; top_k 2 a list per text.
  const texts = ['good', 'bad', 'very very long text about nothing', 'ugly', { text: 'x', text_pair: 'y' }];
  const b1 = (await tc(texts)) as TextClassificationResult[];
  t.is(b1.length, texts.length);
  const alone1 = [];
  for (const x of texts) alone1.push((await tc(x))[0]);
  t.deepEqual(b1, alone1);
  const b2 = (await tc(texts, { top_k: 2 })) as TextClassificationResult[][];
  t.is(b2.length, texts.length);
  for (const l of b2) t.is(l.length, 2);
});

test('text-classification: default function_to_apply follows problem_type and num_labels like HF', async (t) => {
  const cases = [
    { extra: { num_labels: 1 }, fn: 'sigmoid' },
    { extra: { num_labels: 3, problem_type: 'multi_label_classification' }, fn: 'sigmoid' },
    { extra: { num_labels: 2, problem_type: 'regression' }, fn: 'none' },
    { extra: { num_labels: 2 }, fn: 'softmax' },
  ] as const;
  for (const [i, c] of cases.entries()) {
    const tc = await pipeline('sentiment-analysis', await makeModelDir('sequence_classification', 50 + i, c.extra));
    const raw = await logitsOf(tc, 'hello there');
    const got = (await tc('hello there', { top_k: null })) as TextClassificationResult[];
    const want = c.fn === 'sigmoid' ? raw.map((x) => 1 / (1 + Math.exp(-x))) : c.fn === 'none' ? raw : sm(raw);
    for (const r of got) t.true(Math.abs(r.score - want[Number(r.label.replace('LABEL_', ''))]) < 1e-12, `${JSON.stringify(c.extra)}: ${r.label}`);
    await tc.dispose();
  }
});

test('zero-shot: single-label scores are a softmax over labels, multi-label a per-label entailment vs contradiction', async (t) => {
  const id2label = { 0: 'CONTRADICTION', 1: 'neutral', 2: 'ENTAILMENT' };
  const zs = await pipeline('zero-shot-classification', await makeModelDir('sequence_classification', 61, { id2label }), { batch_size: 4 });
  t.teardown(() => zs.dispose());
  const text = 'The match went to extra time';
  const cands = ['sports', 'politics', 'cooking', 'space travel'];
  const logits: number[][] = [];
  for (const l of cands) logits.push(await logitsOf(zs, text, `This example is ${l}.`));

  const single = (await zs(text, cands)) as ZeroShotResult;
  t.deepEqual(Object.keys(single), ['sequence', 'labels', 'scores']);
  t.is(single.sequence, text);
  t.deepEqual([...single.labels].sort(), [...cands].sort());
  const wantS = sm(logits.map((l) => l[2]));
  single.labels.forEach((l, k) => t.true(Math.abs(single.scores[k] - wantS[cands.indexOf(l)]) < 1e-12, l));
  t.true(Math.abs(single.scores.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  for (let i = 1; i < cands.length; i++) t.true(single.scores[i - 1] >= single.scores[i]);

  const multi = (await zs(text, cands, { multi_label: true })) as ZeroShotResult;
  multi.labels.forEach((l, k) => {
    const lg = logits[cands.indexOf(l)];
    t.true(Math.abs(multi.scores[k] - sm([lg[0], lg[2]])[1]) < 1e-12, l);
  });
  for (let i = 1; i < cands.length; i++) t.true(multi.scores[i - 1] >= multi.scores[i]);

  // A comma-separated string of labels and a custom template.
  const tpl = (await zs(text, 'sports, cooking', { hypothesis_template: 'It is about {}' })) as ZeroShotResult;
  const l2 = [await logitsOf(zs, text, 'It is about sports'), await logitsOf(zs, text, 'It is about cooking')];
  const w2 = sm(l2.map((l) => l[2]));
  tpl.labels.forEach((l, k) => t.true(Math.abs(tpl.scores[k] - w2[l === 'sports' ? 0 : 1]) < 1e-12));

  const texts = ['one', 'two words', 'three words here', 'four'];
  const batched = await zs(texts, cands);
  const alone = [];
  for (const x of texts) alone.push(await zs(x, cands));
  t.deepEqual(batched, alone);

  await t.throwsAsync(zs(text, []), { code: 'ERR_CONVBERT_ARG', message: /candidate_labels/ });
  await t.throwsAsync(zs(text, cands, { hypothesis_template: 'no slot' }), { code: 'ERR_CONVBERT_ARG', message: /hypothesis_template/ });
  await t.throwsAsync(zs(text, cands, { multi_label: 1 as never }), { code: 'ERR_CONVBERT_ARG', message: /multi_label/ });
});

test('zero-shot: without an "entailment" label, the last class is used and a warning says so', async (t) => {
  const zs = await pipeline('zero-shot-classification', await makeModelDir('sequence_classification', 62, { num_labels: 3 }));
  t.teardown(() => zs.dispose());
  const warnings: string[] = [];
  const onWarn = (w: Error & { code?: string }): void => {
    if (w.code === 'CONVBERT_ZERO_SHOT_LABELS') warnings.push(w.message);
  };
  process.on('warning', onWarn);
  t.teardown(() => process.off('warning', onWarn));
  const text = 'hello';
  const got = (await zs(text, ['a', 'b'], { multi_label: true })) as ZeroShotResult;
  await zs(text, ['a', 'b']);
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  t.is(warnings.length, 1, 'warned once');
  t.regex(warnings[0], /LABEL_2/);
  // HF's fallback: entailment = 2 (last), contradiction = 0.
  for (const [k, l] of got.labels.entries()) {
    const lg = await logitsOf(zs, text, `This example is ${l}.`);
    t.true(Math.abs(got.scores[k] - sm([lg[0], lg[2]])[1]) < 1e-12);
  }
});
