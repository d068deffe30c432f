// The routes existing clients speak, on tiny random models: OpenAI's /v1/embeddings
// through the real `openai` client (base64, its default, and float), and
// text-embeddings-inference's /embed, /embed_all, /predict, /rerank, /tokenize,
// /decode, /info, with TEI's {error, error_type} and statuses; POST / answers the
// served task; API key, CORS and x-request-id. Expected values come from the same
// pipeline called in-process and are compared exactly: one process, the same model
// files and float32 code, the same pooling arithmetic; JSON and OpenAI's base64
// (little-endian float32) both carry float32 values exactly.
import * as fs from 'fs';

import test from 'ava';
import OpenAI from 'openai';

import { pipeline } from '../../lib/pipelines';
import { ConvBertServer, type ServerOptions } from '../../lib/server/http';
import { loadTask } from '../../lib/server/tasks';
import { post, request } from './client';
import { makeTinyModel } from './tiny_model';

const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const TEXTS = ['hello world', 'a b c d', 'the quick brown fox jumps over the lazy dog'];
/** Longer than the tiny model's 128 tokens. */
const LONG = 'word '.repeat(200).trim();

let base = '';
let cls3 = '';
let reranker = '';
test.before(async () => {
  base = await makeTinyModel('base');
  cls3 = await makeTinyModel('sequence_classification');
  reranker = await makeTinyModel('sequence_classification', { num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } });
  dirs.push(base, cls3, reranker);
});

async function serveTask(task: string, dir: string, options: ServerOptions = {}): Promise<{ port: number; server: ConvBertServer }> {
  const server = new ConvBertServer(await loadTask(task, dir), { port: 0, modelId: 'tiny-convbert', ...options });
  const { port } = await server.listen();
  return { port, server };
}

function errorOf(t: import('ava').ExecutionContext, r: { status: number; json: unknown; text: string }, status: number, errorType: string, message: RegExp): void {
  t.is(r.status, status, r.text);
  const j = r.json as { error: string; error_type: string };
  t.deepEqual(Object.keys(j).sort(), ['error', 'error_type']);
  t.is(j.error_type, errorType);
  t.regex(j.error, message);
}

test('openai embeddings.create: base64 (the default) and float equal the mean-pooled normalised pipeline output', async (t) => {
  const { port, server } = await serveTask('feature-extraction', base);
  t.teardown(() => server.close());
  const pipe = await pipeline('feature-extraction', base);
  t.teardown(() => pipe.dispose());
  const want = (await pipe(TEXTS, { pooling: 'mean', normalize: true })).tolist() as number[][];
  const client = new OpenAI({ apiKey: 'unused', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });

  const b64 = await client.embeddings.create({ model: 'tiny-convbert', input: TEXTS });
  t.is(b64.object, 'list');
  t.is(b64.model, 'tiny-convbert');
  t.deepEqual(
    b64.data.map((d) => d.index),
    [0, 1, 2],
  );
  t.deepEqual(
    b64.data.map((d) => d.embedding),
    want,
  );
  const tokens = TEXTS.reduce((s, x) => s + pipe.tokenizer.encode(x).input_ids.length, 0);
  t.deepEqual(b64.usage, { prompt_tokens: tokens, total_tokens: tokens });

  const flt = await client.embeddings.create({ model: 'tiny-convbert', input: TEXTS[1], encoding_format: 'float' });
  t.deepEqual(flt.data[0].embedding, want[1]);

  // dimensions keeps the first ones and normalises them.
  const cut = await client.embeddings.create({ model: 'x', input: TEXTS[0], dimensions: 8 });
  t.is(cut.data[0].embedding.length, 8);
  t.true(Math.abs(Math.hypot(...cut.data[0].embedding) - 1) < 1e-6, 'unit norm to float32 rounding (1e-6)');

  // Token-id input runs as given (no special tokens added).
  const ids = pipe.tokenizer.encode(TEXTS[2]).input_ids;
  const byIds = await client.embeddings.create({ model: 'x', input: [ids], encoding_format: 'float' });
  t.deepEqual(byIds.data[0].embedding, want[2]);

  // Errors reach the client as OpenAI's shape: status, message and code.
  const long = await t.throwsAsync(client.embeddings.create({ model: 'x', input: LONG }));
  t.is((long as unknown as { status: number }).status, 413);
  t.regex(String(long?.message), /input: must have at most 128 tokens/);
  const bad = await post(port, '/v1/embeddings', { input: 'x', encoding_format: 'int8' });
  t.is(bad.status, 422);
  t.like(bad.json as object, { error: { type: 'invalid_request_error', code: 'ERR_CONVBERT_ARG' } });
  t.regex((bad.json as { error: { message: string } }).error.message, /encoding_format: expected "float" or "base64", got "int8"/);
});

test('TEI /embed, /embed_all and POST / equal the pipeline; normalize, truncate and the 413 for long inputs', async (t) => {
  const { port, server } = await serveTask('feature-extraction', base);
  t.teardown(() => server.close());
  const pipe = await pipeline('feature-extraction', base);
  t.teardown(() => pipe.dispose());
  const normed = (await pipe(TEXTS, { pooling: 'mean', normalize: true })).tolist();
  const raw = (await pipe(TEXTS, { pooling: 'mean', normalize: false })).tolist();

  const r = await post(port, '/embed', { inputs: TEXTS });
  t.is(r.status, 200, r.text);
  t.deepEqual(r.json, normed);
  t.deepEqual((await post(port, '/embed', { inputs: TEXTS[0] })).json, [(normed as number[][])[0]], 'a single input is a batch of one');
  t.deepEqual((await post(port, '/embed', { inputs: TEXTS, normalize: false })).json, raw);
  // Each text's vector is the one it gets alone: concurrent single requests share batches with no padding effect.
  const alone = await Promise.all(TEXTS.map((x) => post(port, '/embed', { inputs: x })));
  t.deepEqual(
    alone.map((x) => (x.json as number[][])[0]),
    normed,
  );
  // HF Inference Endpoints: POST / of an embedding server answers /embed, parameters nested or not.
  t.deepEqual((await post(port, '/', { inputs: TEXTS, parameters: { normalize: false } })).json, raw);

  const all = await post(port, '/embed_all', { inputs: TEXTS });
  t.is(all.status, 200, all.text);
  const tokens = (await pipe(TEXTS, { pooling: 'none' })).tolist() as number[][][];
  const lens = TEXTS.map((x) => pipe.tokenizer.encode(x).input_ids.length);
  t.deepEqual(
    all.json,
    tokens.map((rows, i) => rows.slice(0, lens[i])),
  );

  errorOf(t, await post(port, '/embed', { inputs: ['ok', LONG] }), 413, 'validation', /inputs\[1\]: must have at most 128 tokens .*got 202; send truncate: true/);
  const cut = await post(port, '/embed', { inputs: [LONG], truncate: true });
  t.is(cut.status, 200, cut.text);
  // The pipeline truncates on the right to the model's length: the same row.
  t.deepEqual(cut.json, (await pipe([LONG], { pooling: 'mean', normalize: true })).tolist());
  const left = await post(port, '/embed', { inputs: [LONG], truncate: true, truncation_direction: 'Left' });
  t.is(left.status, 200, left.text);

  errorOf(t, await post(port, '/embed', { inputs: [] }), 400, 'empty', /inputs: expected at least one input/);
  errorOf(t, await post(port, '/embed', { inputs: 3 }), 422, 'validation', /inputs: expected a string or an array of strings, got number 3/);
  errorOf(t, await post(port, '/embed', { inputs: 'x', normalize: 'yes' }), 422, 'validation', /normalize: expected a boolean/);
  errorOf(t, await post(port, '/embed', { inputs: 'x', truncation_direction: 'up' }), 422, 'validation', /truncation_direction: expected "Left" or "Right"/);
  errorOf(t, await post(port, '/embed', { input: 'x' }), 422, 'validation', /unknown field 'input'/);
  errorOf(t, await request(port, 'POST', '/embed', '{"inputs": '), 400, 'validation', /not valid JSON/);
  errorOf(t, await request(port, 'GET', '/embed'), 405, 'method_not_allowed', /takes POST/);
  errorOf(t, await post(port, '/predict', { inputs: 'x' }), 400, 'backend', /needs a server started with --task text-classification/);
  errorOf(t, await post(port, '/embed', { inputs: new Array(65).fill('x') }), 413, 'validation', /65 rows, more than the server's limit of 64/);
});

test('TEI /tokenize, /decode and /info', async (t) => {
  const { port, server } = await serveTask('feature-extraction', base, { pooling: 'cls' });
  t.teardown(() => server.close());
  const tok = await post(port, '/tokenize', { inputs: 'héllo world' });
  t.is(tok.status, 200, tok.text);
  const toks = (tok.json as { id: number; text: string; special: boolean; start: number | null; stop: number | null }[][])[0];
  t.like(toks[0], { text: '[CLS]', special: true, start: null, stop: null });
  t.like(toks[toks.length - 1], { text: '[SEP]', special: true });
  // Offsets are UTF-8 bytes, as TEI's: "world" starts after "héllo " (7 bytes).
  t.like(toks[toks.length - 2], { text: 'world', special: false, start: 7, stop: 12 });
  const noSpecial = await post(port, '/tokenize', { inputs: ['world'], add_special_tokens: false });
  t.is((noSpecial.json as unknown[][])[0].length, 1);

  const ids = toks.map((x) => x.id);
  const dec = await post(port, '/decode', { ids });
  t.deepEqual(dec.json, ['hello world']);
  t.deepEqual((await post(port, '/decode', { ids: [ids, ids], skip_special_tokens: false })).json, ['[CLS] hello world [SEP]', '[CLS] hello world [SEP]']);
  errorOf(t, await post(port, '/decode', { ids: [1, -2] }), 422, 'validation', /ids\[1\]: expected a non-negative integer token id, got number -2/);

  const info = await request(port, 'GET', '/info');
  t.is(info.status, 200, info.text);
  t.like(info.json as object, {
    model_id: 'tiny-convbert',
    model_dtype: 'float32',
    model_type: { embedding: { pooling: 'cls' } },
    embedding_dimension: 32,
    max_input_length: 128,
    max_batch_requests: 16,
    max_client_batch_size: 64,
  });
  t.regex((info.json as { version: string }).version, /^\d+\.\d+\.\d+/);

  // --pooling cls: token 0, normalised.
  const pipe = await pipeline('feature-extraction', base);
  t.teardown(() => pipe.dispose());
  t.deepEqual((await post(port, '/embed', { inputs: TEXTS })).json, (await pipe(TEXTS, { pooling: 'cls', normalize: true })).tolist());
});

test('TEI /predict (softmax over 3 labels, pairs) and POST / equal the text-classification pipeline', async (t) => {
  const { port, server } = await serveTask('text-classification', cls3);
  t.teardown(() => server.close());
  const pipe = await pipeline('text-classification', cls3);
  t.teardown(() => pipe.dispose());
  const want = (await pipe([{ text: 'a cat sat', text_pair: 'on the mat' }, 'plain text'], { top_k: null })) as { label: string; score: number }[][];

  const batch = await post(port, '/predict', { inputs: [['a cat sat', 'on the mat'], ['plain text']] });
  t.is(batch.status, 200, batch.text);
  t.deepEqual(batch.json, want);
  // A single pair ["a", "b"] is one input (TEI's PredictInput).
  t.deepEqual((await post(port, '/predict', { inputs: ['a cat sat', 'on the mat'] })).json, want[0]);
  t.deepEqual((await post(port, '/predict', { inputs: 'plain text' })).json, want[1]);
  const raw = (await pipe('plain text', { top_k: null, function_to_apply: 'none' })) as unknown as { label: string; score: number }[];
  t.deepEqual((await post(port, '/predict', { inputs: 'plain text', raw_scores: true })).json, raw);
  errorOf(t, await post(port, '/predict', { inputs: ['a', 'b', 'c'] }), 422, 'validation', /a single input is a string or a pair of two strings, got 3/);
  errorOf(t, await post(port, '/rerank', { query: 'q', texts: ['a'] }), 400, 'backend', /needs a re-ranker .* this model has 3 labels/);
  // POST / is the served task's Inference Endpoints route: one list per input, also for a single one.
  const root = await post(port, '/', { inputs: 'plain text', parameters: { top_k: null } });
  t.deepEqual(root.json, [want[1]]);
  t.deepEqual(root.json, [(await post(port, '/v1/text-classification', { inputs: 'plain text', parameters: { top_k: null } })).json]);
});

test('TEI /rerank: a one-label classifier scores (query, text) pairs like the pipeline, sorted, with return_text', async (t) => {
  const { port, server } = await serveTask('text-classification', reranker);
  t.teardown(() => server.close());
  const pipe = await pipeline('text-classification', reranker);
  t.teardown(() => pipe.dispose());
  const query = 'what is deep learning';
  const docs = ['deep learning is a kind of machine learning', 'the cat sat on the mat', 'paris is in france'];
  const want = (await pipe(docs.map((d) => ({ text: query, text_pair: d })))) as { label: string; score: number }[];
  const r = await post(port, '/rerank', { query, texts: docs, return_text: true });
  t.is(r.status, 200, r.text);
  const expected = want.map((w, index) => ({ index, text: docs[index], score: w.score })).sort((a, b) => b.score - a.score);
  t.deepEqual(r.json, expected);
  const bare = (await post(port, '/rerank', { query, texts: docs })).json as { index: number; score: number; text?: string }[];
  t.false(bare.some((x) => 'text' in x));
  const logits = (await pipe(
    docs.map((d) => ({ text: query, text_pair: d })),
    { function_to_apply: 'none' },
  )) as { score: number }[];
  const rawScores = (await post(port, '/rerank', { query, texts: docs, raw_scores: true })).json as { index: number; score: number }[];
  for (const x of rawScores) t.is(x.score, logits[x.index].score);
  t.like((await request(port, 'GET', '/info')).json as object, { model_type: { reranker: { id2label: { 0: 'LABEL_0' } } } });
  errorOf(t, await post(port, '/rerank', { query: 1, texts: ['a'] }), 422, 'validation', /query: expected a string, got number 1/);
  errorOf(t, await post(port, '/rerank', { query, texts: [LONG] }), 413, 'validation', /texts\[0\]: must have at most 128 tokens/);
});

test('API key (constant-time Bearer check, 401 in each route family), /health open; x-request-id; CORS off by default', async (t) => {
  const lines: string[] = [];
  const { port, server } = await serveTask('feature-extraction', base, { apiKey: 's3cret', corsOrigins: ['https://app.example.com'], log: (l) => lines.push(l) });
  t.teardown(() => server.close());
  t.is((await request(port, 'GET', '/health')).status, 200);
  errorOf(t, await post(port, '/embed', { inputs: 'x' }), 401, 'unauthorized', /wants an API key/);
  errorOf(t, await request(port, 'POST', '/embed', JSON.stringify({ inputs: 'x' }), { authorization: 'Bearer s3cre' }), 401, 'unauthorized', /not valid/);
  const legacy = await post(port, '/v1/feature-extraction', { inputs: 'x' });
  t.is(legacy.status, 401);
  t.like(legacy.json as object, { code: 'ERR_CONVBERT_UNAUTHORIZED' });
  t.is(legacy.headers['www-authenticate'], 'Bearer');
  const noKey = new OpenAI({ apiKey: 'wrong', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  const denied = await t.throwsAsync(noKey.embeddings.create({ model: 'x', input: 'x' }));
  t.is((denied as unknown as { status: number }).status, 401);
  const ok = new OpenAI({ apiKey: 's3cret', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  t.is((await ok.embeddings.create({ model: 'x', input: 'x' })).data.length, 1);

  const auth = { authorization: 'Bearer s3cret' };
  const mine = await request(port, 'POST', '/embed', JSON.stringify({ inputs: 'x' }), { ...auth, 'x-request-id': 'req-42' });
  t.is(mine.status, 200);
  t.is(mine.headers['x-request-id'], 'req-42');
  // An id with spaces (a forged log line) is replaced by a fresh one.
  const forged = await request(port, 'GET', '/health', undefined, { 'x-request-id': 'a b\tc' });
  t.regex(String(forged.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  t.true(
    lines.some((l) => /POST \/embed 200 [\d.]+ ms id=req-42$/.test(l)),
    lines.join('\n'),
  );

  // CORS: the allowed origin gets its headers and a preflight without the key; others get none.
  const pre = await request(port, 'OPTIONS', '/embed', undefined, { origin: 'https://app.example.com', 'access-control-request-method': 'POST' });
  t.is(pre.status, 204);
  t.is(pre.headers['access-control-allow-origin'], 'https://app.example.com');
  t.regex(String(pre.headers['access-control-allow-headers']), /authorization/);
  const other = await request(port, 'POST', '/embed', JSON.stringify({ inputs: 'x' }), { ...auth, origin: 'https://evil.example' });
  t.is(other.status, 200);
  t.is(other.headers['access-control-allow-origin'], undefined);

  const plain = await serveTask('feature-extraction', base);
  t.teardown(() => plain.server.close());
  const r = await request(plain.port, 'POST', '/embed', JSON.stringify({ inputs: 'x' }), { origin: 'https://app.example.com' });
  t.is(r.status, 200);
  t.is(r.headers['access-control-allow-origin'], undefined, 'CORS is off by default');
  // --log-level warn: a 200 writes no access line.
  const quiet: string[] = [];
  const warn = await serveTask('feature-extraction', base, { logLevel: 'warn', log: (l) => quiet.push(l) });
  t.teardown(() => warn.server.close());
  t.is((await post(warn.port, '/embed', { inputs: 'x' })).status, 200);
  t.is((await post(warn.port, '/embed', { inputs: 3 })).status, 422);
  t.deepEqual(quiet, []);
  t.throws(() => new ConvBertServer(server.handler, { corsOrigins: ['not an origin'] }), { code: 'ERR_CONVBERT_ARG', message: /corsOrigins: expected origins like/ });
  t.throws(() => new ConvBertServer(server.handler, { logLevel: 'loud' as never }), { code: 'ERR_CONVBERT_ARG', message: /logLevel: expected one of/ });
});
