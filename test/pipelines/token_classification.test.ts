// token-classification pipeline: output keys per strategy, offsets that slice the
// original text to each token/word, softmax scores recomputed from the head's
// logits, batched == alone, and HF's aggregation rules on a crafted case whose
// expected groups are worked out by hand below. Tolerance: 1e-12 on scores that
// are the same float64 arithmetic (softmax of the same float32 logits).
import test from 'ava';

import { pipeline, type EntityGroup, type TokenEntity } from '../../lib/pipelines';
import { aggregateEntities, type PreEntity } from '../../lib/pipelines/token_classification';
import { ConvBertTokenizer } from '../../lib/tokenizer/convbert';
import { cleanup, makeModelDir, VOCAB_FILE } from './setup';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const id2label = Object.fromEntries(LABELS.map((l, i) => [i, l]));

test.after.always(cleanup);

test('crafted case: none / simple / first / average / max group as HF does', (t) => {
  const tok = new ConvBertTokenizer({ vocab_file: VOCAB_FILE });
  const mk = (word: string, scores: number[], start: number, end: number, index: number, isSubword: boolean): PreEntity => ({
    word,
    scores: Float64Array.from(scores),
    start,
    end,
    index,
    isSubword,
  });
  // "sarah jessica in new yorker": jess|##ica and york|##er are split words.
  const pre = [
    mk('sarah', [0.05, 0.8, 0.05, 0.05, 0.05], 0, 5, 1, false),
    mk('jess', [0.1, 0.1, 0.6, 0.1, 0.1], 6, 10, 2, false),
    mk('##ica', [0.1, 0.1, 0.1, 0.65, 0.05], 10, 13, 3, true),
    mk('in', [0.9, 0.025, 0.025, 0.025, 0.025], 14, 16, 4, false),
    mk('new', [0.1, 0.1, 0.1, 0.6, 0.1], 17, 20, 5, false),
    mk('york', [0.1, 0.1, 0.1, 0.1, 0.6], 21, 25, 6, false),
    mk('##er', [0.3, 0.1, 0.1, 0.1, 0.4], 25, 27, 7, true),
  ];
  const labels = (i: number): string => LABELS[i];
  const round = (xs: (TokenEntity | EntityGroup)[]) => xs.map((x) => ({ ...x, score: Math.round(x.score * 1e9) / 1e9 }));

  t.deepEqual(round(aggregateEntities(tok, pre, 'none', labels)), [
    { entity: 'B-PER', score: 0.8, index: 1, word: 'sarah', start: 0, end: 5 },
    { entity: 'I-PER', score: 0.6, index: 2, word: 'jess', start: 6, end: 10 },
    { entity: 'B-LOC', score: 0.65, index: 3, word: '##ica', start: 10, end: 13 },
    { entity: 'O', score: 0.9, index: 4, word: 'in', start: 14, end: 16 },
    { entity: 'B-LOC', score: 0.6, index: 5, word: 'new', start: 17, end: 20 },
    { entity: 'I-LOC', score: 0.6, index: 6, word: 'york', start: 21, end: 25 },
    { entity: 'I-LOC', score: 0.4, index: 7, word: '##er', start: 25, end: 27 },
  ]);
  // simple: tokens grouped by tag; a B- starts a new group; sub-words are not merged first.
  t.deepEqual(round(aggregateEntities(tok, pre, 'simple', labels)), [
    { entity_group: 'PER', score: 0.7, word: 'sarah jess', start: 0, end: 10 },
    { entity_group: 'LOC', score: 0.65, word: '##ica', start: 10, end: 13 },
    { entity_group: 'O', score: 0.9, word: 'in', start: 14, end: 16 },
    { entity_group: 'LOC', score: Math.round(((0.6 + 0.6 + 0.4) / 3) * 1e9) / 1e9, word: 'new yorker', start: 17, end: 27 },
  ]);
  // first: a word takes its first token's label (jessica = I-PER, yorker = I-LOC).
  t.deepEqual(round(aggregateEntities(tok, pre, 'first', labels)), [
    { entity_group: 'PER', score: 0.7, word: 'sarah jessica', start: 0, end: 13 },
    { entity_group: 'O', score: 0.9, word: 'in', start: 14, end: 16 },
    { entity_group: 'LOC', score: 0.6, word: 'new yorker', start: 17, end: 27 },
  ]);
  // max: the token with the highest score decides (##ica's B-LOC 0.65 beats jess's 0.6).
  t.deepEqual(round(aggregateEntities(tok, pre, 'max', labels)), [
    { entity_group: 'PER', score: 0.8, word: 'sarah', start: 0, end: 5 },
    { entity_group: 'LOC', score: 0.65, word: 'jessica', start: 6, end: 13 },
    { entity_group: 'O', score: 0.9, word: 'in', start: 14, end: 16 },
    { entity_group: 'LOC', score: 0.6, word: 'new yorker', start: 17, end: 27 },
  ]);
  // average: mean scores per word: jessica -> B-LOC (0.1+0.65)/2 = 0.375, yorker -> I-LOC 0.5.
  t.deepEqual(round(aggregateEntities(tok, pre, 'average', labels)), [
    { entity_group: 'PER', score: 0.8, word: 'sarah', start: 0, end: 5 },
    { entity_group: 'LOC', score: 0.375, word: 'jessica', start: 6, end: 13 },
    { entity_group: 'O', score: 0.9, word: 'in', start: 14, end: 16 },
    { entity_group: 'LOC', score: 0.55, word: 'new yorker', start: 17, end: 27 },
  ]);
});

test('real model: keys, offsets slice the text, scores are the softmax of the logits, batched == alone', async (t) => {
  const dir = await makeModelDir('token_classification', 11, { id2label });
  const ner = await pipeline('token-classification', dir, { batch_size: 3 });
  t.teardown(() => ner.dispose());
  const texts = ['Sarah Jessica Parker lives in Washingtonianism city', 'Hello,  Wörld!', 'Emma went to Paris', 'Paul flew to Rome'];
  const text = texts[0];
  const none = (await ner(text, { ignore_labels: [] })) as TokenEntity[];
  const enc = ner.tokenizer.encode(text);
  t.is(none.length, enc.input_ids.length - 2, 'one entry per non-special token');
  const out = await ner.model.forward({ input_ids: [enc.input_ids] });
  const logits = out.logits.data as Float32Array;
  for (const e of none) {
    t.deepEqual(Object.keys(e), ['entity', 'score', 'index', 'word', 'start', 'end']);
    t.is(text.slice(e.start, e.end).toLowerCase(), e.word.replace(/^##/, ''), `token ${e.index}`);
    const row = Array.from(logits.subarray(e.index * 5, e.index * 5 + 5));
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    const best = row.indexOf(m);
    t.is(e.entity, LABELS[best]);
    t.true(Math.abs(e.score - 1 / z) < 1e-12, `score ${e.score} vs ${1 / z}`);
  }
  // Default ignore_labels drops 'O'.
  const dflt = (await ner(text)) as TokenEntity[];
  t.deepEqual(
    dflt,
    none.filter((e) => e.entity !== 'O'),
  );

  for (const strategy of ['simple', 'first', 'average', 'max'] as const) {
    const groups = (await ner(text, { aggregation_strategy: strategy, ignore_labels: [] })) as EntityGroup[];
    for (const g of groups) {
      t.deepEqual(Object.keys(g), ['entity_group', 'score', 'word', 'start', 'end']);
      t.true(g.score > 0 && g.score <= 1);
      if (strategy !== 'simple') t.is(text.slice(g.start, g.end).toLowerCase(), g.word, `${strategy}: ${g.word}`);
    }
    // Groups tile the text's words in order.
    for (let i = 1; i < groups.length; i++) t.true(groups[i].start >= groups[i - 1].end);
    if (strategy !== 'simple') {
      // A word is never split: every group edge is a word edge (space or text end).
      for (const g of groups) t.true(g.end === text.length || text[g.end] === ' ', `${strategy}: ${g.word} ends inside a word`);
    }
  }
  // Unicode and punctuation: offsets are UTF-16 indices into the original string.
  const uni = (await ner(texts[1], { ignore_labels: [] })) as TokenEntity[];
  t.deepEqual(
    uni.map((e) => texts[1].slice(e.start, e.end)),
    ['Hello', ',', 'Wörld', '!'],
  );

  const batched = await ner(texts, { aggregation_strategy: 'average', ignore_labels: [] });
  const alone = [];
  for (const x of texts) alone.push(await ner(x, { aggregation_strategy: 'average', ignore_labels: [] }));
  t.deepEqual(batched, alone);
});

test('bad options are typed errors naming the option', async (t) => {
  const dir = await makeModelDir('token_classification', 12, { id2label });
  const ner = await pipeline('ner', dir);
  t.teardown(() => ner.dispose());
  t.is(ner.task, 'token-classification');
  for (const [opts, name] of [
    [{ aggregation_strategy: 'longest' }, 'aggregation_strategy'],
    [{ ignore_labels: 'O' }, 'ignore_labels'],
    [{ top_k: 2 }, 'top_k'],
  ] as const) {
    const e = await t.throwsAsync(ner('x', opts as never), { code: 'ERR_CONVBERT_ARG' });
    t.true(e!.message.includes(name), e!.message);
  }
  await t.throwsAsync(ner(42 as never), { code: 'ERR_CONVBERT_ARG', message: /text/ });
  await t.throwsAsync(ner([] as never), { code: 'ERR_CONVBERT_ARG', message: /at least one/ });
});
