// Pipeline limits (PipelineLimits): every row the model runs for one call counts
// against maxRows (question answering's windows, zero-shot's texts x labels,
// multiple choice's choices), top_k and masks per text have caps, fill-mask's
// candidates (masks x top_k) are bounded; limits come from pipeline options,
// DEFAULT_LIMITS, or runWithLimits per call. Counts are exact: at the limit a
// call runs, one over it is refused before the model runs.
import test from 'ava';

import { DEFAULT_LIMITS, pipeline, runWithLimits, type FillMaskResult, type QuestionAnsweringResult } from '../../lib/pipelines';
import { cleanup, makeModelDir } from './setup';

test.after.always(cleanup);

const dirs: Record<string, string> = {};
test.before(async () => {
  dirs.mlm = await makeModelDir('masked_lm', 31);
  dirs.qa = await makeModelDir('question_answering', 32);
  dirs.cls = await makeModelDir('sequence_classification', 33, {
    num_labels: 3,
    id2label: { 0: 'contradiction', 1: 'neutral', 2: 'entailment' },
    label2id: { contradiction: 0, neutral: 1, entailment: 2 },
  });
  dirs.mc = await makeModelDir('multiple_choice', 34);
});

/** Counts the rows the model is given, through forwardPacked (most tasks) and forward (multiple choice). */
function countRows(model: object): { rows: number } {
  const seen = { rows: 0 };
  const m = model as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const packed = m.forwardPacked.bind(model);
  const forward = m.forward.bind(model);
  m.forwardPacked = (rows: unknown, ...rest: unknown[]) => {
    seen.rows += (rows as unknown[]).length;
    return packed(rows, ...rest);
  };
  m.forward = (inputs: unknown, ...rest: unknown[]) => {
    const d = (inputs as { input_ids: { dims: number[] } }).input_ids.dims;
    seen.rows += d.length === 3 ? d[1] : d[0];
    return forward(inputs, ...rest);
  };
  return seen;
}

test('DEFAULT_LIMITS are the documented in-process defaults', (t) => {
  t.deepEqual({ ...DEFAULT_LIMITS }, { maxRows: 16384, maxTopK: 100, maxMasks: 32, maxCandidates: 65536 });
  t.true(Object.isFrozen(DEFAULT_LIMITS));
});

test('fill-mask: top_k and masks per text are capped (ERR_CONVBERT_ARG), candidates per call bounded (ERR_CONVBERT_LIMIT)', async (t) => {
  const fm = await pipeline('fill-mask', dirs.mlm, { limits: { maxTopK: 10, maxMasks: 3, maxCandidates: 12 } });
  t.teardown(() => fm.dispose());
  t.is(((await fm('a [MASK] b', { top_k: 10 })) as FillMaskResult[]).length, 10);
  await t.throwsAsync(fm('a [MASK] b', { top_k: 11 }), {
    code: 'ERR_CONVBERT_ARG',
    message: /^top_k: 11, more than the limit of 10 \(limits\.maxTopK; convbert serve --max-top-k\)$/,
  });
  // top_k is clamped to the vocabulary no more: a vocab-sized top_k is refused, not answered.
  await t.throwsAsync(fm('a [MASK] b', { top_k: fm.model.config.vocab_size }), { code: 'ERR_CONVBERT_ARG', message: /top_k/ });
  t.is(((await fm('[MASK] [MASK] [MASK]', { top_k: 4 })) as FillMaskResult[][]).length, 3);
  await t.throwsAsync(fm('[MASK] [MASK] [MASK] [MASK]', { top_k: 1 }), {
    code: 'ERR_CONVBERT_ARG',
    message: /^text: mask tokens \(\[MASK\]\): 4, more than the limit of 3 \(limits\.maxMasks/,
  });
  await t.throwsAsync(fm(['a [MASK]', '[MASK] [MASK] [MASK] [MASK]'], { top_k: 1 }), { code: 'ERR_CONVBERT_ARG', message: /^texts\[1\]: mask tokens/ });
  // 3 masks x top_k 4 = 12 candidates: at the limit. 13 (or more) is refused before the model runs.
  const seen = countRows(fm.model);
  await t.throwsAsync(fm(['[MASK] [MASK]', '[MASK]', 'x [MASK]'], { top_k: 4 }), {
    code: 'ERR_CONVBERT_LIMIT',
    message: /^fill-mask: 4 mask\(s\) x top_k 4: 16 candidates, more than the limit of 12 \(limits\.maxCandidates; convbert serve --max-candidates\)$/,
  });
  t.is(seen.rows, 0, 'nothing ran');
  // With targets, a mask has at most as many candidates as targets.
  const tg = (await fm(['[MASK] [MASK]', '[MASK]', 'x [MASK]'], { top_k: 10, targets: ['love', 'happiness', 'the'] })) as FillMaskResult[][] | FillMaskResult[][][];
  t.is(tg.length, 3);
});

test('fill-mask: a call with many masks (post-processed in slices, yielding between them) equals each text alone', async (t) => {
  const fm = await pipeline('fill-mask', dirs.mlm, { batch_size: 4 });
  t.teardown(() => fm.dispose());
  // 24 masks of a 30522-token vocab: past one slice of post-processing work.
  const texts = Array.from({ length: 8 }, (_, i) => `w${i} [MASK] and [MASK] or [MASK].`);
  const together = (await fm(texts, { top_k: 3 })) as FillMaskResult[][][];
  t.is(together.length, 8);
  for (let i = 0; i < texts.length; i++) t.deepEqual(together[i], await fm(texts[i], { top_k: 3 }), texts[i]);
});

test("fill-mask: the in-process defaults refuse the issue's requests (510 masks; top_k = vocab size)", async (t) => {
  const fm = await pipeline('fill-mask', dirs.mlm);
  t.teardown(() => fm.dispose());
  // model_max_length 128 in the test model: 120 masks survive truncation.
  await t.throwsAsync(fm('[MASK] '.repeat(510)), { code: 'ERR_CONVBERT_ARG', message: /mask tokens \(\[MASK\]\): 1[0-9]{2}, more than the limit of 32/ });
  await t.throwsAsync(fm('a [MASK]', { top_k: 30522 }), { code: 'ERR_CONVBERT_ARG', message: /top_k: 30522, more than the limit of 100/ });
  t.is(((await fm('a [MASK]', { top_k: 100 })) as FillMaskResult[]).length, 100);
});

test('question-answering: every window is a row; a tiny max_seq_len on a long context is refused before any forward', async (t) => {
  const qa = await pipeline('question-answering', dirs.qa, { limits: { maxRows: 40 } });
  t.teardown(() => qa.dispose());
  const seen = countRows(qa.model);
  const context = Array.from({ length: 50 }, (_, i) => ['river', 'stone', 'light', 'bread'][i % 4]).join(' ');
  const ctxTokens = qa.tokenizer.encode(context, { add_special_tokens: false }).input_ids.length;
  const question = 'where?';
  const qTokens = qa.tokenizer.encode(question, { add_special_tokens: false }).input_ids.length;
  // room = max_seq_len - q - 3 context tokens a window, a new window every room - stride tokens.
  const windowsOf = (maxSeqLen: number, stride: number): number => {
    const room = maxSeqLen - qTokens - 3;
    return 1 + Math.ceil(Math.max(0, ctxTokens - room) / (room - stride));
  };
  const windows = (stride: number): number => windowsOf(6, stride);
  t.true(windows(0) > 40, `${windows(0)} windows`);
  await t.throwsAsync(qa({ question, context }, { max_seq_len: 6, doc_stride: 0 }), {
    code: 'ERR_CONVBERT_LIMIT',
    message: new RegExp(
      `^question-answering windows \\(max_seq_len 6, doc_stride 0, over 1 input\\(s\\)\\): ${windows(0)} rows for the model, more than the limit of 40 \\(limits\\.maxRows; convbert serve --max-inputs\\)$`,
    ),
  });
  t.is(seen.rows, 0, 'refused before any forward');
  // Within the limit the same call runs, and runs exactly the windows counted.
  const r = await runWithLimits({ maxRows: windows(0) }, () => qa({ question, context }, { max_seq_len: 6, doc_stride: 0 }));
  t.is(typeof (r as QuestionAnsweringResult).answer, 'string');
  t.is(seen.rows, windows(0));
  // One over: refused again (windows of several inputs add up).
  await t.throwsAsync(
    runWithLimits({ maxRows: 2 * windows(0) - 1 }, () =>
      qa(
        [
          { question, context },
          { question, context },
        ],
        { max_seq_len: 6, doc_stride: 0 },
      ),
    ),
    { code: 'ERR_CONVBERT_LIMIT', message: new RegExp(`over 2 input\\(s\\)\\): ${2 * windows(0)} rows`) },
  );
  // Overlapping windows (doc_stride 1 on 2 context tokens a window) are counted alike.
  const before = seen.rows;
  await runWithLimits({ maxRows: windowsOf(7, 1) }, () => qa({ question, context }, { max_seq_len: 7, doc_stride: 1 }));
  t.is(seen.rows - before, windowsOf(7, 1));
  await t.throwsAsync(
    runWithLimits({ maxRows: windowsOf(7, 1) - 1 }, () => qa({ question, context }, { max_seq_len: 7, doc_stride: 1 })),
    { code: 'ERR_CONVBERT_LIMIT' },
  );
  // top_k has its cap too.
  await t.throwsAsync(qa({ question, context }, { top_k: 101 }), { code: 'ERR_CONVBERT_ARG', message: /^top_k: 101, more than the limit of 100/ });
});

test('zero-shot-classification: texts x candidate_labels count (a comma-separated string too); hypotheses are bounded', async (t) => {
  const zs = await pipeline('zero-shot-classification', dirs.cls, { limits: { maxRows: 6 } });
  t.teardown(() => zs.dispose());
  const seen = countRows(zs.model);
  t.is((await zs(['a', 'b'], ['x', 'y', 'z'])).length, 2);
  t.is(seen.rows, 6);
  await t.throwsAsync(zs(['a', 'b'], ['x', 'y', 'z', 'w']), {
    code: 'ERR_CONVBERT_LIMIT',
    message: /^zero-shot-classification: 2 text\(s\) x 4 candidate_labels: 8 rows for the model, more than the limit of 6/,
  });
  await t.throwsAsync(zs('a', 'l1,l2,l3,l4,l5,l6,l7'), { code: 'ERR_CONVBERT_LIMIT', message: /1 text\(s\) x 7 candidate_labels: 7 rows/ });
  t.is(seen.rows, 6, 'the refused calls ran nothing');
  // A template with many {} filled with long labels would build strings far larger than the call.
  await t.throwsAsync(zs('a', ['x'.repeat(5000), 'y'], { hypothesis_template: '{}'.repeat(300) }), {
    code: 'ERR_CONVBERT_LIMIT',
    message: /^hypothesis_template: its 300 \{\} filled with 2 candidate_labels make 1500300 characters of hypotheses, more than the limit of 1048576$/,
  });
});

test('multiple-choice: every choice is a row', async (t) => {
  const mc = await pipeline('multiple-choice', dirs.mc, { limits: { maxRows: 5 } });
  t.teardown(() => mc.dispose());
  t.is(
    (
      await mc([
        { question: 'q', choices: ['a', 'b'] },
        { question: 'r', choices: ['c', 'd', 'e'] },
      ])
    ).length,
    2,
  );
  await t.throwsAsync(
    mc([
      { question: 'q', choices: ['a', 'b', 'c'] },
      { question: 'r', choices: ['c', 'd', 'e'] },
    ]),
    {
      code: 'ERR_CONVBERT_LIMIT',
      message: /^multiple-choice: the choices of all inputs: 6 rows for the model, more than the limit of 5/,
    },
  );
});

test('text-classification: inputs count; runWithLimits overrides the pipeline key by key', async (t) => {
  const tc = await pipeline('text-classification', dirs.cls, { limits: { maxRows: 3 } });
  t.teardown(() => tc.dispose());
  t.is((await tc(['a', 'b', 'c'])).length, 3);
  await t.throwsAsync(tc(['a', 'b', 'c', 'd']), { code: 'ERR_CONVBERT_LIMIT', message: /^texts: 4 rows for the model, more than the limit of 3/ });
  t.is((await runWithLimits({ maxRows: 4 }, () => tc(['a', 'b', 'c', 'd']))).length, 4);
  await t.throwsAsync(
    runWithLimits({ maxTopK: 50 }, () => tc(['a', 'b', 'c', 'd'])),
    { code: 'ERR_CONVBERT_LIMIT', message: /limit of 3/ },
  );
});

test('bad limits are typed errors naming the key', async (t) => {
  await t.throwsAsync(pipeline('fill-mask', dirs.mlm, { limits: { maxTopK: 0 } }), {
    code: 'ERR_CONVBERT_ARG',
    message: /^options\.limits\.maxTopK: expected an integer in \[1, inf\], got number 0$/,
  });
  await t.throwsAsync(pipeline('fill-mask', dirs.mlm, { limits: { maxRowz: 3 } as never }), { code: 'ERR_CONVBERT_ARG', message: /options\.limits: unknown option 'maxRowz'/ });
  await t.throwsAsync(pipeline('fill-mask', dirs.mlm, { limits: 5 as never }), { code: 'ERR_CONVBERT_ARG', message: /options\.limits: expected an options object/ });
  t.throws(() => runWithLimits({ maxRows: 1.5 }, () => 0), { code: 'ERR_CONVBERT_ARG', message: /^limits\.maxRows: expected an integer/ });
});
