// The server's request limits over HTTP on 127.0.0.1 (port 0), with tiny random
// models in os.tmpdir(): fill-mask's top_k (--max-top-k) and masks per input
// (--max-masks) give 400, its candidates (--max-candidates) 413; every row the
// model runs counts against --max-inputs, question answering's windows and
// zero-shot's comma-separated labels included (413). Each refusal is a typed
// {error, code} naming the parameter, the count and the limit, and the server
// keeps serving.
import * as fs from 'fs';

import test from 'ava';

import { ConvBertServer, statusForCode } from '../../lib/server/http';
import { loadTask, type TaskHandler } from '../../lib/server/tasks';
import { post } from './client';
import { makeTinyModel } from './tiny_model';

const dirs: string[] = [];
const servers: ConvBertServer[] = [];
test.after.always(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function start(
  task: string,
  head: Parameters<typeof makeTinyModel>[0],
  options: ConstructorParameters<typeof ConvBertServer>[1],
): Promise<{ port: number; handler: TaskHandler }> {
  const dir = await makeTinyModel(head);
  dirs.push(dir);
  const handler = await loadTask(task, dir);
  const server = new ConvBertServer(handler, { port: 0, ...options });
  servers.push(server);
  return { port: (await server.listen()).port, handler };
}

interface ErrorBody {
  error: string;
  code: string;
}

test('ERR_CONVBERT_LIMIT answers 413', (t) => {
  t.is(statusForCode('ERR_CONVBERT_LIMIT'), 413);
});

test('fill-mask: top_k over --max-top-k and masks over --max-masks get 400, candidates over --max-candidates 413', async (t) => {
  const { port } = await start('fill-mask', 'masked_lm', { maxInputs: 8, maxTopK: 10, maxMasks: 4, maxCandidates: 20 });
  const send = (inputs: unknown, parameters: unknown = {}) => post(port, '/v1/fill-mask', { inputs, parameters });
  const ok = await send('a [MASK] day', { top_k: 10 });
  t.is(ok.status, 200, ok.text);
  t.is((ok.json as unknown[]).length, 10);
  const topK = await send('a [MASK] day', { top_k: 11 });
  t.is(topK.status, 400, topK.text);
  t.deepEqual(topK.json, { code: 'ERR_CONVBERT_ARG', error: 'top_k: 11, more than the limit of 10 (limits.maxTopK; convbert serve --max-top-k)' });
  t.is((await send('[MASK] [MASK] [MASK] [MASK]', { top_k: 1 })).status, 200);
  const masks = await send(['ok [MASK]', '[MASK] [MASK] [MASK] [MASK] [MASK]'], { top_k: 1 });
  t.is(masks.status, 400, masks.text);
  t.like(masks.json as ErrorBody, { code: 'ERR_CONVBERT_ARG' });
  t.regex((masks.json as ErrorBody).error, /^texts\[1\]: mask tokens \(\[MASK\]\): 5, more than the limit of 4 \(limits\.maxMasks; convbert serve --max-masks\)$/);
  // 4 masks x top_k 5 = 20 candidates: at the limit; 3 masks x 7 = 21: over.
  t.is((await send(['[MASK] [MASK]', 'a [MASK]', 'b [MASK]'], { top_k: 5 })).status, 200);
  const cand = await send(['[MASK] [MASK]', 'a [MASK]'], { top_k: 7 });
  t.is(cand.status, 413, cand.text);
  t.deepEqual(cand.json, {
    code: 'ERR_CONVBERT_LIMIT',
    error: 'fill-mask: 3 mask(s) x top_k 7: 21 candidates, more than the limit of 20 (limits.maxCandidates; convbert serve --max-candidates)',
  });
  t.is((await send('still [MASK]')).status, 200, 'the server keeps serving');
});

test("fill-mask with the default limits: the issue's 510-mask and vocab-sized top_k requests get 400; 100 is fine", async (t) => {
  const { port } = await start('fill-mask', 'masked_lm', {});
  const manyMasks = await post(port, '/v1/fill-mask', { inputs: '[MASK] '.repeat(510) });
  t.is(manyMasks.status, 400, manyMasks.text);
  t.regex((manyMasks.json as ErrorBody).error, /mask tokens \(\[MASK\]\): \d+, more than the limit of 32/);
  const bigTopK = await post(port, '/v1/fill-mask', { inputs: 'a [MASK].', parameters: { top_k: 30522 } });
  t.is(bigTopK.status, 400, bigTopK.text);
  t.regex((bigTopK.json as ErrorBody).error, /^top_k: 30522, more than the limit of 100/);
  const top100 = await post(port, '/v1/fill-mask', { inputs: 'a [MASK].', parameters: { top_k: 100 } });
  t.is(top100.status, 200, top100.text);
  t.is((top100.json as unknown[]).length, 100);
  // 8 texts x 2 masks x top_k 100 = 1600 candidates, over the default 1024.
  const many = await post(port, '/v1/fill-mask', { inputs: new Array(8).fill('[MASK] and [MASK]'), parameters: { top_k: 100 } });
  t.is(many.status, 413, many.text);
  t.regex((many.json as ErrorBody).error, /16 mask\(s\) x top_k 100: 1600 candidates, more than the limit of 1024/);
});

test('question-answering: windows count against --max-inputs; a tiny max_seq_len on a long context gets 413 before any forward', async (t) => {
  const { port, handler } = await start('question-answering', 'question_answering', { maxInputs: 8 });
  const context = Array.from({ length: 60 }, (_, i) => ['river', 'stone', 'light', 'bread'][i % 4]).join(' ');
  const inputs = { question: 'where?', context };
  const ok = await post(port, '/v1/question-answering', { inputs });
  t.is(ok.status, 200, ok.text);
  const rowsBefore = handler.stats()!.completed;
  const tiny = await post(port, '/v1/question-answering', { inputs, parameters: { max_seq_len: 6, doc_stride: 0 } });
  t.is(tiny.status, 413, tiny.text);
  t.like(tiny.json as ErrorBody, { code: 'ERR_CONVBERT_LIMIT' });
  t.regex(
    (tiny.json as ErrorBody).error,
    /^question-answering windows \(max_seq_len 6, doc_stride 0, over 1 input\(s\)\): \d+ rows for the model, more than the limit of 8 \(limits\.maxRows; convbert serve --max-inputs\)$/,
  );
  t.is(handler.stats()!.completed, rowsBefore, 'no row reached the batcher');
  const topK = await post(port, '/v1/question-answering', { inputs, parameters: { top_k: 101 } });
  t.is(topK.status, 400, topK.text);
  t.regex((topK.json as ErrorBody).error, /^top_k: 101, more than the limit of 100 \(limits\.maxTopK; convbert serve --max-top-k\)$/);
  t.is((await post(port, '/v1/question-answering', { inputs, parameters: { top_k: 3 } })).status, 200);
});

test('zero-shot-classification: comma-separated candidate_labels count like an array; the pipeline counts what the shape did not', async (t) => {
  const { port, handler } = await start('zero-shot-classification', 'sequence_classification', { maxInputs: 8 });
  const ok = await post(port, '/v1/zero-shot-classification', { inputs: ['a', 'b'], parameters: { candidate_labels: 'x, y, z, w' } });
  t.is(ok.status, 200, ok.text);
  const str = await post(port, '/v1/zero-shot-classification', { inputs: 'a film', parameters: { candidate_labels: 'l1,l2,l3,l4,l5,l6,l7,l8,l9' } });
  t.is(str.status, 413, str.text);
  t.like(str.json as ErrorBody, { code: 'ERR_CONVBERT_TOO_MANY_INPUTS' });
  t.regex((str.json as ErrorBody).error, /9 rows, more than the server's limit of 8/);
  const arr = await post(port, '/v1/zero-shot-classification', { inputs: ['a', 'b', 'c'], parameters: { candidate_labels: ['x', 'y', 'z'] } });
  t.is(arr.status, 413, arr.text);
  // The handler hands its limits to the pipeline, which counts the rows it makes itself.
  await t.throwsAsync(handler.run('a film', { candidate_labels: 'x,y,z' }, { limits: { maxRows: 2 } }), {
    code: 'ERR_CONVBERT_LIMIT',
    message: /^zero-shot-classification: 1 text\(s\) x 3 candidate_labels: 3 rows for the model, more than the limit of 2/,
  });
});

test('bad limit options are typed errors', (t) => {
  const handler = { task: 'x', run: async () => null, countInputs: () => 1, stats: () => null, dispose: async () => {} };
  t.throws(() => new ConvBertServer(handler, { maxTopK: 0 }), { code: 'ERR_CONVBERT_ARG', message: /^maxTopK: expected an integer >= 1, got 0$/ });
  t.throws(() => new ConvBertServer(handler, { maxMasks: 1.5 }), { code: 'ERR_CONVBERT_ARG', message: /^maxMasks: expected an integer >= 1/ });
  t.throws(() => new ConvBertServer(handler, { maxCandidates: -1 }), { code: 'ERR_CONVBERT_ARG', message: /^maxCandidates: expected an integer >= 1/ });
});
