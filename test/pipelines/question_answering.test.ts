// question-answering pipeline: answers slice the context at their offsets, the
// best span and its score equal a brute-force search over each window's logits
// (recomputed here from model.forward and the tokenizer's overflow windows), doc
// stride finds answers in later windows, max_answer_len / top_k /
// handle_impossible_answer behave as HF, batched == alone. Tolerance: 1e-12 on
// scores (the same float64 softmax of the same float32 logits in both).
import test from 'ava';

import { pipeline, type QuestionAnsweringResult } from '../../lib/pipelines';
import { mulberry32 } from '../helpers/rng';
import { cleanup, makeModelDir } from './setup';

test.after.always(cleanup);

const WORDS = ['river', 'stone', 'Paris', 'light', 'garden', 'seven', 'quietly', 'north', 'bread', 'machine', 'Anna', 'ocean'];

function longContext(seed: number, n: number): string {
  const r = mulberry32(seed);
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(r() * WORDS.length)] + (r() < 0.1 ? '.' : ''));
  return w.join(' ');
}

interface Span {
  start: number;
  end: number;
  score: number;
  window: number;
}

/** Every legal span of every window, scored as HF does, from an independent forward per window. */
async function bruteForce(
  qa: Awaited<ReturnType<typeof pipeline<'question-answering'>>>,
  question: string,
  context: string,
  maxLen: number,
  stride: number,
  maxAnswerLen: number,
): Promise<{ spans: Span[]; nullScore: number; windows: number }> {
  // Windows as HF's doc stride defines them: [CLS] question [SEP] window [SEP], windows of
  // `room` context tokens starting every room - stride tokens until the context ends.
  const tok = qa.tokenizer;
  const q = tok.encode(question, { add_special_tokens: false }).input_ids;
  const c = tok.encode(context, { add_special_tokens: false, return_offsets_mapping: true });
  const room = maxLen - q.length - 3;
  const starts: number[] = [0];
  while (starts[starts.length - 1] + room < c.input_ids.length) starts.push(starts[starts.length - 1] + room - stride);
  const wins = starts.map((s0) => {
    const ids = c.input_ids.slice(s0, s0 + room);
    return {
      input_ids: [tok.cls_token_id, ...q, tok.sep_token_id, ...ids, tok.sep_token_id],
      token_type_ids: [...q.map(() => 0), 0, 0, ...ids.map(() => 1), 1],
      sequence_ids: [null, ...q.map(() => 0), null, ...ids.map(() => 1), null],
      offset_mapping: [[0, 0], ...q.map(() => [0, 0]), [0, 0], ...c.offset_mapping!.slice(s0, s0 + room), [0, 0]] as [number, number][],
    };
  });
  const spans: Span[] = [];
  let nullScore = Infinity;
  for (let w = 0; w < wins.length; w++) {
    const e = wins[w];
    const out = await qa.model.forward({ input_ids: [e.input_ids], token_type_ids: [e.token_type_ids] });
    const ctx = e.sequence_ids.map((s) => s === 1);
    const sm = (a: Float32Array): number[] => {
      const v = Array.from(a, (x, j) => (ctx[j] || j === 0 ? x : -10000));
      const m = Math.max(...v);
      const ex = v.map((x) => Math.exp(x - m));
      const s = ex.reduce((a2, b) => a2 + b, 0);
      return ex.map((x) => x / s);
    };
    const ps = sm(out.start_logits.data as Float32Array);
    const pe = sm(out.end_logits.data as Float32Array);
    nullScore = Math.min(nullScore, ps[0] * pe[0]);
    for (let s = 0; s < ps.length; s++) {
      for (let t = s; t < Math.min(ps.length, s + maxAnswerLen); t++) {
        if (ctx[s] && ctx[t]) spans.push({ start: e.offset_mapping[s][0], end: e.offset_mapping[t][1], score: ps[s] * pe[t], window: w });
      }
    }
  }
  spans.sort((a, b) => b.score - a.score);
  return { spans, nullScore, windows: wins.length };
}

test('short context: keys, offsets, best span and score equal a brute-force search', async (t) => {
  const qa = await pipeline('question-answering', await makeModelDir('question_answering', 21));
  t.teardown(() => qa.dispose());
  const question = 'Where do I work?';
  const context = 'My name is Sylvain and I work at Hugging Face in Brooklyn';
  const got = (await qa({ question, context }, { align_to_words: false })) as QuestionAnsweringResult;
  t.deepEqual(Object.keys(got).sort(), ['answer', 'end', 'score', 'start']);
  t.is(got.answer, context.slice(got.start, got.end));
  const bf = await bruteForce(qa, question, context, 128, 64, 15);
  t.is(bf.windows, 1);
  t.is(got.start, bf.spans[0].start);
  t.is(got.end, bf.spans[0].end);
  t.true(Math.abs(got.score - bf.spans[0].score) < 1e-12);

  const top = (await qa({ question, context }, { top_k: 5 })) as QuestionAnsweringResult[];
  t.is(top.length, 5);
  for (let i = 1; i < top.length; i++) t.true(top[i - 1].score >= top[i].score, 'sorted by score');
  t.is(new Set(top.map((a) => `${a.start}:${a.end}`)).size, 5, 'no duplicate spans');
  for (const a of top) {
    t.is(a.answer, context.slice(a.start, a.end));
    // align_to_words (default): answers begin and end on word edges.
    t.true(a.start === 0 || /[\s]/.test(context[a.start - 1]), `'${a.answer}' starts inside a word`);
    t.true(a.end === context.length || /[\s]/.test(context[a.end]), `'${a.answer}' ends inside a word`);
  }

  const imp = (await qa({ question, context }, { top_k: 100, handle_impossible_answer: true })) as QuestionAnsweringResult[];
  const nul = imp.filter((a) => a.answer === '');
  t.is(nul.length, 1);
  t.deepEqual([nul[0].start, nul[0].end], [0, 0]);
  t.true(Math.abs(nul[0].score - bf.nullScore) < 1e-12);
});

test('doc stride: a long context is windowed, the best span over all windows wins, later windows contribute', async (t) => {
  const qa = await pipeline('question-answering', await makeModelDir('question_answering', 22), { batch_size: 4 });
  t.teardown(() => qa.dispose());
  const question = 'What is north of the river?';
  const context = longContext(5, 150);
  const opts = { max_seq_len: 48, doc_stride: 12, max_answer_len: 6, align_to_words: false };
  const bf = await bruteForce(qa, question, context, 48, 12, 6);
  t.true(bf.windows >= 5, `${bf.windows} windows`);
  const best = (await qa({ question, context }, opts)) as QuestionAnsweringResult;
  t.is(best.start, bf.spans[0].start);
  t.is(best.end, bf.spans[0].end);
  t.true(Math.abs(best.score - bf.spans[0].score) < 1e-12);
  t.is(best.answer, context.slice(best.start, best.end));

  const many = (await qa({ question, context }, { ...opts, top_k: 40 })) as QuestionAnsweringResult[];
  // Each answer is a span of some window, with that window's score.
  const wins = new Set<number>();
  for (const a of many) {
    const m = bf.spans.find((s) => s.start === a.start && s.end === a.end && Math.abs(s.score - a.score) < 1e-12);
    t.truthy(m, `answer ${a.start}:${a.end} is not a span of any window`);
    if (m) wins.add(m.window);
    t.is(a.answer, context.slice(a.start, a.end));
    // max_answer_len 6 tokens: the answer's own tokens.
    t.true(qa.tokenizer.encode(a.answer, { add_special_tokens: false }).input_ids.length <= 6, a.answer);
  }
  t.true(wins.size >= 2, `answers came from windows ${[...wins].join(', ')}`);
  t.true(
    [...wins].some((w) => w > 0),
    'some answer comes from a later window',
  );
  // The answers are the best distinct spans: the top-40 over all windows after deduplication.
  const seen = new Set<string>();
  const want = bf.spans.filter((s) => !seen.has(`${s.start}:${s.end}`) && seen.add(`${s.start}:${s.end}`)).slice(0, 40);
  t.deepEqual(
    many.map((a) => `${a.start}:${a.end}`),
    want.map((s) => `${s.start}:${s.end}`),
  );
});

test('batched == alone; bad inputs are typed errors', async (t) => {
  const qa = await pipeline('question-answering', await makeModelDir('question_answering', 23), { batch_size: 3 });
  t.teardown(() => qa.dispose());
  const inputs = [
    { question: 'Who?', context: 'Anna lives by the river' },
    { question: 'Where?', context: longContext(9, 120) },
    { question: 'When?', context: 'Seven stones by the sea' },
    { question: 'What?', context: 'Bread and stone and light' },
  ];
  const opts = { max_seq_len: 40, doc_stride: 10, top_k: 3 };
  const batched = await qa(inputs, opts);
  const alone = [];
  for (const x of inputs) alone.push(await qa(x, opts));
  t.deepEqual(batched, alone);

  await t.throwsAsync(qa({ question: 'x' } as never), { code: 'ERR_CONVBERT_ARG', message: /context/ });
  await t.throwsAsync(qa({ question: 'x', context: '   ' }), { code: 'ERR_CONVBERT_ARG', message: /context/ });
  await t.throwsAsync(qa('what?' as never), { code: 'ERR_CONVBERT_ARG', message: /question, context/ });
  await t.throwsAsync(qa({ question: 'x', context: 'y', extra: 1 } as never), { code: 'ERR_CONVBERT_ARG', message: /extra/ });
  await t.throwsAsync(qa({ question: longContext(1, 60), context: 'y' }, { max_seq_len: 40 }), { code: 'ERR_CONVBERT_ARG', message: /question: \d+ tokens leave no room/ });
  await t.throwsAsync(qa({ question: 'x', context: 'y' }, { max_answer_len: 0 }), { code: 'ERR_CONVBERT_ARG', message: /max_answer_len/ });
  await t.throwsAsync(qa({ question: 'x', context: 'y' }, { handle_impossible_answer: 'yes' as never }), { code: 'ERR_CONVBERT_ARG', message: /handle_impossible_answer/ });
});
