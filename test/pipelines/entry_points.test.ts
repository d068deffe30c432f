// pipeline() the transformers.js way: question-answering takes (question, context)
// positionally and gives what ({question, context}) gives; option keys are checked
// with a suggestion (`devcie` was ignored before) and transformers.js' spellings
// (dtype 'q8', local_files_only, cache_dir) are accepted; a tokenizer with an id
// the model cannot embed fails at load, not at the first call (fewer ids than
// vocab_size is fine, as in HF); fill-mask's one-mask and several-mask answers
// are told apart by isMultiMaskOutput.
import * as fs from 'fs';
import * as path from 'path';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { isMultiMaskOutput, pipeline } from '../../lib/pipelines';
import { cleanup, makeModelDir, vocabSize } from './setup';

test.after.always(cleanup);

test('question-answering takes (question, context[, options]) and lists of both', async (t) => {
  const qa = await pipeline('question-answering', await makeModelDir('question_answering', 91));
  t.teardown(() => qa.dispose());
  const question = 'Where does Anna live?';
  const context = 'Anna lives in Paris near the river, and she bakes bread on Sundays.';
  t.deepEqual(await qa(question, context), await qa({ question, context }));
  t.deepEqual(await qa(question, context, { top_k: 3 }), await qa({ question, context }, { top_k: 3 }));
  const q2 = 'What does she bake?';
  t.deepEqual(
    await qa([question, q2], [context, context]),
    await qa([
      { question, context },
      { question: q2, context },
    ]),
  );
  await t.throwsAsync(qa(question, 7 as never), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: /^context: expected a string after the question, as in qa\(question, context, options\).*got number 7$/,
  });
  await t.throwsAsync(qa([question, q2], [context]), { code: 'ERR_CONVBERT_ARG', message: /contexts: expected an array of 2 strings, one per question, got an array of 1/ });
  await t.throwsAsync(qa(question, context, { topk: 2 } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'topk'; did you mean 'top_k'\?/ });
});

test('options: an unknown key names the closest known one; transformers.js spellings mean what ours do', async (t) => {
  const dir = await makeModelDir('masked_lm', 92);
  const e = await t.throwsAsync(pipeline('fill-mask', dir, { devcie: 'cpu' } as never), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' });
  t.regex(e!.message, /^options: unknown option 'devcie'; did you mean 'device'\?/);
  await t.throwsAsync(pipeline('fill-mask', dir, { dtype: 'int4' as never }), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /'q8'/ });
  const p = await pipeline('fill-mask', dir, { dtype: 'q8', local_files_only: true, cache_dir: path.join(dir, 'unused-cache') });
  t.teardown(() => p.dispose());
  t.is(p.model.dtype, 'int8');
  // progress_callback ends with transformers.js's 'ready' once the pipeline has loaded (a local folder downloads nothing).
  const events: unknown[] = [];
  const q = await pipeline('fill-mask', dir, { progress_callback: (ev) => events.push(ev) });
  t.teardown(() => q.dispose());
  t.deepEqual(events, [{ status: 'ready', task: 'fill-mask', model: dir }]);
  await t.throwsAsync(pipeline('fill-mask', dir, { hub: { tokn: 'x' } as never }), {
    code: 'ERR_CONVBERT_ARG',
    message: /^options\.hub: unknown option 'tokn'; did you mean 'token'\?/,
  });
  await t.throwsAsync(pipeline('fill-mask', dir, { cache_dir: 'a', cacheDir: 'b' }), {
    code: 'ERR_CONVBERT_ARG',
    message: /'cache_dir' and 'cacheDir' are the same option and disagree/,
  });
});

test('a tokenizer with ids past config.vocab_size fails at load; fewer ids than vocab_size is fine', async (t) => {
  const V = vocabSize();
  const small = await makeModelDir('masked_lm', 93, { vocab_size: V - 1 });
  const e = await t.throwsAsync(pipeline('fill-mask', small), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_TOKENIZER' });
  t.regex(e!.message, new RegExp(`has ids up to ${V - 1} \\(.*\\), but the model's vocab_size is ${V - 1}: expected every token id below vocab_size`));
  // An added token past the vocab needs one more embedding row too.
  const added = await makeModelDir('masked_lm', 94, { vocab_size: V });
  fs.writeFileSync(path.join(added, 'added_tokens.json'), JSON.stringify({ '<new>': V }));
  await t.throwsAsync(pipeline('fill-mask', added), { code: 'ERR_CONVBERT_TOKENIZER', message: new RegExp(`ids up to ${V} \\("<new>"\\)`) });
  const big = await makeModelDir('masked_lm', 95, { vocab_size: V + 8 });
  const p = await pipeline('fill-mask', big);
  t.teardown(() => p.dispose());
  t.is((await p('Paris is the [MASK] of France.')).length, 5);
});

test('fill-mask: one mask gives FillMaskSingleMaskOutput, several give FillMaskMultiMaskOutput', async (t) => {
  const p = await pipeline('fill-mask', await makeModelDir('masked_lm', 96));
  t.teardown(() => p.dispose());
  const one = await p('Paris is the [MASK] of France.', { top_k: 2 });
  const two = await p('[MASK] is the [MASK] of France.', { top_k: 2 });
  t.false(isMultiMaskOutput(one));
  t.true(isMultiMaskOutput(two));
  if (isMultiMaskOutput(two)) {
    t.is(two.length, 2);
    for (const list of two) t.is(list.length, 2);
  }
  if (!isMultiMaskOutput(one)) t.is(typeof one[0].token_str, 'string');
});
