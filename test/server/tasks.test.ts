// The Inference API mapping of tasks other than fill-mask, over HTTP on tiny
// random models: zero-shot takes parameters.candidate_labels (required),
// text-classification takes {text, text_pair}, feature-extraction answers nested
// arrays. Expected values come from the same pipeline called in-process (exact:
// one process, same model files, same float32 code; JSON keeps doubles exactly).
import * as fs from 'fs';

import test from 'ava';

import { pipeline } from '../../lib/pipelines';
import { ConvBertServer } from '../../lib/server/http';
import { canonicalTask, loadTask, toJsonable } from '../../lib/server/tasks';
import { post } from './client';
import { makeTinyModel } from './tiny_model';

const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function serveTask(task: string, dir: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new ConvBertServer(await loadTask(task, dir), { port: 0 });
  const { port } = await server.listen();
  return { port, close: () => server.close() };
}

test('zero-shot-classification: candidate_labels from parameters; required', async (t) => {
  const dir = await makeTinyModel('sequence_classification');
  dirs.push(dir);
  const s = await serveTask('zero-shot-classification', dir);
  t.teardown(s.close);
  const r = await post(s.port, '/v1/zero-shot-classification', { inputs: 'i loved this film', parameters: { candidate_labels: ['good', 'bad', 'ok'], multi_label: true } });
  t.is(r.status, 200, r.text);
  const pipe = await pipeline('zero-shot-classification', dir);
  t.teardown(() => pipe.dispose());
  t.deepEqual(r.json, toJsonable(await pipe('i loved this film', ['good', 'bad', 'ok'], { multi_label: true })));
  const missing = await post(s.port, '/v1/zero-shot-classification', { inputs: 'x' });
  t.is(missing.status, 400);
  t.like(missing.json as object, { code: 'ERR_CONVBERT_ARG' });
  t.regex((missing.json as { error: string }).error, /candidate_labels: required/);
});

test('text-classification takes {text, text_pair}; sentiment-analysis is its alias', async (t) => {
  const dir = await makeTinyModel('sequence_classification');
  dirs.push(dir);
  t.is(canonicalTask('sentiment-analysis'), 'text-classification');
  t.throws(() => canonicalTask('summarization'), { message: /unknown task "summarization"/ });
  const s = await serveTask('sentiment-analysis', dir);
  t.teardown(s.close);
  const input = { text: 'a cat sat', text_pair: 'on the mat' };
  const r = await post(s.port, '/v1/text-classification', { inputs: [input, 'plain text'], parameters: { top_k: null } });
  t.is(r.status, 200, r.text);
  const pipe = await pipeline('text-classification', dir);
  t.teardown(() => pipe.dispose());
  t.deepEqual(r.json, toJsonable(await pipe([input, 'plain text'], { top_k: null })));
  t.is((r.json as unknown[][])[0].length, 3, 'top_k null gives every label');
});

test('feature-extraction answers nested arrays', async (t) => {
  const dir = await makeTinyModel('base');
  dirs.push(dir);
  const s = await serveTask('feature-extraction', dir);
  t.teardown(s.close);
  const r = await post(s.port, '/v1/feature-extraction', { inputs: ['hello world', 'a b c d'], parameters: { pooling: 'mean', normalize: true } });
  t.is(r.status, 200, r.text);
  const out = r.json as number[][];
  t.is(out.length, 2);
  t.is(out[0].length, 32);
  // normalize: true gives unit vectors (to float32 rounding, 1e-5).
  for (const v of out) t.true(Math.abs(Math.hypot(...v) - 1) < 1e-5);
  const pipe = await pipeline('feature-extraction', dir);
  t.teardown(() => pipe.dispose());
  t.deepEqual(out, toJsonable(await pipe(['hello world', 'a b c d'], { pooling: 'mean', normalize: true })));
});
