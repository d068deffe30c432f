// POST / through the real @huggingface/inference client (InferenceClient with
// `endpointUrl`): featureExtraction, fillMask, textClassification, tokenClassification,
// questionAnswering and zeroShotClassification against `convbert serve` on tiny random
// models, each answer equal to the same pipeline called in-process (exact: one process,
// the same model files and float32 code; JSON keeps doubles exactly). The client's fetch
// and the global fetch refuse any host but the local server, so no request can reach
// the Hub; the client's own errors carry our status and message.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { InferenceClient, InferenceClientProviderApiError } from '@huggingface/inference';
import test, { type ExecutionContext } from 'ava';

import { pipeline } from '../../lib/pipelines';
import { ConvBertServer, type ServerOptions } from '../../lib/server/http';
import { loadTask, toJsonable } from '../../lib/server/tasks';
import { repoRoot } from '../helpers/fixtures';
import { post } from './client';
import { makeTinyModel, type TinyHead } from './tiny_model';

const dirs: string[] = [];
/** Every URL any fetch in this process asked for. */
const seen: string[] = [];
const realFetch = globalThis.fetch;

/** A fetch that records the URL and refuses every host but 127.0.0.1 (so nothing can go to the Hub). */
const localOnly: typeof fetch = (input, init) => {
  const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  seen.push(href);
  if (new URL(href).hostname !== '127.0.0.1') return Promise.reject(new Error(`a request left this machine: ${href}`));
  return realFetch(input, init);
};

test.before(() => {
  // The client falls back to the global fetch for Hub lookups (default models, provider
  // mappings); guarding it too catches a lookup the `fetch` option would not see.
  globalThis.fetch = localOnly;
});
test.after.always(() => {
  globalThis.fetch = realFetch;
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const models = new Map<TinyHead, string>();
async function model(head: TinyHead): Promise<string> {
  let dir = models.get(head);
  if (dir === undefined) {
    dir = await makeTinyModel(head);
    dirs.push(dir);
    models.set(head, dir);
  }
  return dir;
}

async function serveTask(t: ExecutionContext, task: string, head: TinyHead, options: ServerOptions = {}): Promise<{ port: number; url: string; dir: string }> {
  const dir = await model(head);
  const server = new ConvBertServer(await loadTask(task, dir), { port: 0, ...options });
  const { port } = await server.listen();
  t.teardown(() => server.close());
  return { port, url: `http://127.0.0.1:${port}`, dir };
}

/** The client as a user points it at an endpoint; retry_on_error false: a 503 would otherwise be retried forever. */
function clientFor(url: string, accessToken?: string): InferenceClient {
  return new InferenceClient(accessToken, { endpointUrl: url, fetch: localOnly, retry_on_error: false });
}

async function inProcess<T>(
  t: ExecutionContext,
  task: Parameters<typeof pipeline>[0],
  dir: string,
  run: (pipe: (...args: unknown[]) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const pipe = await pipeline(task, dir);
  t.teardown(() => pipe.dispose());
  return run(pipe as unknown as (...args: unknown[]) => Promise<unknown>);
}

/** The client's error for a refused request: its status and our message. */
async function refused(t: ExecutionContext, p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  const e = await t.throwsAsync(p, { instanceOf: InferenceClientProviderApiError });
  t.is(e?.httpResponse.status, status);
  t.regex(String(e?.message), message);
}

function onlyLocal(t: ExecutionContext, port: number): void {
  const mine = seen.filter((u) => u.includes(`:${port}`));
  t.true(mine.length > 0, 'the client asked the local server');
  t.deepEqual(
    seen.filter((u) => new URL(u).hostname !== '127.0.0.1'),
    [],
    'no request left this machine',
  );
  t.true(
    mine.every((u) => u === `http://127.0.0.1:${port}` || u === `http://127.0.0.1:${port}/`),
    'every request went to POST /',
  );
}

const TEXTS = ['hello world', 'a b c d', 'the quick brown fox jumps over the lazy dog'];

test('featureExtraction: pooled, normalised vectors equal the pipeline; normalize and the API key reach the server', async (t) => {
  const { port, url, dir } = await serveTask(t, 'feature-extraction', 'base', { apiKey: 'local-key' });
  const { normed, raw } = await inProcess(t, 'feature-extraction', dir, async (pipe) => ({
    normed: toJsonable(await pipe(TEXTS, { pooling: 'mean', normalize: true })) as number[][],
    raw: toJsonable(await pipe(TEXTS, { pooling: 'mean', normalize: false })) as number[][],
  }));
  const hf = clientFor(url, 'local-key');
  t.deepEqual(await hf.featureExtraction({ inputs: TEXTS[0] }), [normed[0]], 'a single text is a batch of one, as TEI answers');
  t.deepEqual(await hf.featureExtraction({ inputs: TEXTS }), normed);
  t.deepEqual(await hf.featureExtraction({ inputs: TEXTS, normalize: false }), raw);
  t.deepEqual(await hf.featureExtraction({ inputs: TEXTS[1], encoding_format: 'float' }), [normed[1]]);
  await refused(t, hf.featureExtraction({ inputs: TEXTS[1], encoding_format: 'base64' }), 422, /encoding_format: POST \/ answers float arrays; expected "float", got "base64"/);
  // Without the key (no Authorization header) or with another one: 401.
  await refused(t, clientFor(url).featureExtraction({ inputs: 'x' }), 401, /wants an API key/);
  await refused(t, clientFor(url, 'hf_not_the_key').featureExtraction({ inputs: 'x' }), 401, /not valid/);
  onlyLocal(t, port);
});

test('fillMask: candidates equal the pipeline, with top_k and targets; a text without [MASK] is a 400 the client reports', async (t) => {
  const { port, url, dir } = await serveTask(t, 'fill-mask', 'masked_lm');
  const text = 'the cat [MASK] on the mat.';
  const { dflt, some } = await inProcess(t, 'fill-mask', dir, async (pipe) => ({
    dflt: toJsonable(await pipe(text)),
    some: toJsonable(await pipe(text, { top_k: 2, targets: ['sat', 'ran', 'dog'] })),
  }));
  // The older spelling: InferenceClient().endpoint(url).
  const hf = new InferenceClient(undefined, { fetch: localOnly, retry_on_error: false }).endpoint(url);
  const got = await hf.fillMask({ inputs: text });
  t.is(got.length, 5);
  t.deepEqual(got, dflt);
  t.deepEqual(await hf.fillMask({ inputs: text, parameters: { top_k: 2, targets: ['sat', 'ran', 'dog'] } }), some);
  await refused(t, hf.fillMask({ inputs: 'no mask here' }), 400, /\[MASK\]/);
  onlyLocal(t, port);
});

test('textClassification: one list per input (the client reads the first); top_k and function_to_apply pass through', async (t) => {
  const { port, url, dir } = await serveTask(t, 'text-classification', 'sequence_classification');
  const text = 'i loved this film';
  const want = await inProcess(t, 'text-classification', dir, async (pipe) => ({
    top1: toJsonable(await pipe(text)) as object[],
    all: toJsonable(await pipe(text, { top_k: null })) as object[],
    sig2: toJsonable(await pipe(text, { top_k: 2, function_to_apply: 'sigmoid' })) as object[],
    batch: toJsonable(await pipe(TEXTS)) as object[],
  }));
  const hf = clientFor(url);
  const top1 = await hf.textClassification({ inputs: text });
  t.is(top1.length, 1);
  t.deepEqual(top1, want.top1);
  t.deepEqual(await hf.textClassification({ inputs: text, parameters: { top_k: 3 } }), want.all);
  t.deepEqual(await hf.textClassification({ inputs: text, parameters: { top_k: 2, function_to_apply: 'sigmoid' } }), want.sig2);
  // The wire shape (not only what the client keeps): [[...]] for one input, a list per input for a batch.
  t.deepEqual((await post(port, '/', { inputs: text })).json, [want.top1]);
  t.deepEqual(
    (await post(port, '/', { inputs: TEXTS })).json,
    want.batch.map((x) => [x]),
  );
  // /v1/<task> keeps the pipeline's own shape.
  t.deepEqual((await post(port, '/v1/text-classification', { inputs: text })).json, want.top1);
  onlyLocal(t, port);
});

test('tokenClassification: entity groups (aggregation_strategy simple by default) equal the pipeline; stride is refused by name', async (t) => {
  const { port, url, dir } = await serveTask(t, 'token-classification', 'token_classification');
  const text = 'George Washington went to Washington in the morning';
  const want = await inProcess(t, 'token-classification', dir, async (pipe) => ({
    simple: toJsonable(await pipe(text, { aggregation_strategy: 'simple' })) as object[],
    first: toJsonable(await pipe(text, { aggregation_strategy: 'first', ignore_labels: [] })) as object[],
    none: toJsonable(await pipe(text)) as object[],
  }));
  const hf = clientFor(url);
  const simple = await hf.tokenClassification({ inputs: text });
  t.true(simple.length > 0, 'random weights still tag some words');
  t.deepEqual(simple, want.simple);
  t.deepEqual(await hf.tokenClassification({ inputs: text, parameters: { aggregation_strategy: 'first', ignore_labels: [] } }), want.first);
  await refused(t, hf.tokenClassification({ inputs: text, parameters: { stride: 16 } }), 400, /parameters\.stride: not supported by this server, got number 16/);
  // /v1/<task> keeps the pipeline's default ('none': one entry per token).
  t.deepEqual((await post(port, '/v1/token-classification', { inputs: text })).json, want.none);
  onlyLocal(t, port);
});

test('questionAnswering: the answer equals the pipeline; top_k answers the best first; max_question_len is taken', async (t) => {
  const { port, url, dir } = await serveTask(t, 'question-answering', 'question_answering');
  const inputs = { question: 'where did the cat sit?', context: 'the cat sat on the mat while the dog slept in the sun.' };
  const want = await inProcess(t, 'question-answering', dir, async (pipe) => ({
    one: toJsonable(await pipe(inputs)) as object,
    three: toJsonable(await pipe(inputs, { top_k: 3 })) as object[],
  }));
  const hf = clientFor(url);
  t.deepEqual(await hf.questionAnswering({ inputs }), want.one);
  t.deepEqual(await hf.questionAnswering({ inputs, parameters: { top_k: 3, max_question_len: 64, doc_stride: 16 } }), want.three[0]);
  t.deepEqual((await post(port, '/', { inputs, parameters: { top_k: 3 } })).json, want.three);
  await refused(t, hf.questionAnswering({ inputs, parameters: { max_question_len: 0 } }), 400, /parameters\.max_question_len: expected an integer >= 1, got number 0/);
  onlyLocal(t, port);
});

test('zeroShotClassification: the client turns our {sequence, labels, scores} into [{label, score}] equal to the pipeline', async (t) => {
  const { port, url, dir } = await serveTask(t, 'zero-shot-classification', 'sequence_classification');
  const labels = ['good', 'bad', 'ok'];
  const want = (await inProcess(t, 'zero-shot-classification', dir, async (pipe) => toJsonable(await pipe('i loved this film', labels)))) as { labels: string[]; scores: number[] };
  const got = await clientFor(url).zeroShotClassification({ inputs: 'i loved this film', parameters: { candidate_labels: labels } });
  t.deepEqual(
    got,
    want.labels.map((label, i) => ({ label, score: want.scores[i] })),
  );
  onlyLocal(t, port);
});

test('`convbert serve` in its own process answers the client on POST /', async (t) => {
  const dir = await model('masked_lm');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'lib', 'cli.ts'), 'serve', '--model', dir, '--task', 'fill-mask', '--host', '127.0.0.1', '--port', '0'],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
  });
  const text = 'the cat [MASK] on the mat.';
  const want = await inProcess(
    t,
    'fill-mask',
    dir,
    async (pipe) => toJsonable(await pipe(text, { top_k: 3 })) as { token: number; token_str: string; sequence: string; score: number }[],
  );
  const got = await clientFor(`http://127.0.0.1:${port}`).fillMask({ inputs: text, parameters: { top_k: 3 } });
  // Another process runs the same float32 code, but its thread count may split the sums
  // differently: tokens exact, scores to rtol 1e-6.
  t.deepEqual(
    got.map((x) => [x.token, x.token_str, x.sequence]),
    want.map((x) => [x.token, x.token_str, x.sequence]),
  );
  got.forEach((x, i) => t.true(Math.abs(x.score - want[i].score) <= 1e-6 * Math.abs(want[i].score), `score ${i}: ${x.score} vs ${want[i].score}`));
  onlyLocal(t, port);
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
});
