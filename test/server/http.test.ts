// The server end to end on 127.0.0.1 (port 0) with a tiny random fill-mask model
// saved in os.tmpdir(): HF Inference API request/response shapes, concurrent
// requests batched yet equal to each request sent alone (tolerance rtol 1e-5 on
// scores: float32 rows stacked in one forward may round differently from a row
// alone), /health, /metrics, and every 4xx the request itself can cause.
import * as fs from 'fs';

import test from 'ava';

import { ConvBertServer } from '../../lib/server/http';
import { loadTask } from '../../lib/server/tasks';
import { post, request } from './client';
import { makeTinyModel } from './tiny_model';

interface Candidate {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

let dir = '';
let server: ConvBertServer;
let port = 0;

test.before(async () => {
  dir = await makeTinyModel('masked_lm');
  const handler = await loadTask('fill-mask', dir, { batching: { maxBatchSize: 16, maxWaitMs: 30 } });
  server = new ConvBertServer(handler, { port: 0, maxBodyBytes: 4096, maxInputs: 8 });
  port = (await server.listen()).port;
});

test.after.always(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test.serial('POST /v1/fill-mask: one text gives top_k candidates, an array gives one list per text', async (t) => {
  const one = await post(port, '/v1/fill-mask', { inputs: 'the capital of france is [MASK].', parameters: { top_k: 3 } });
  t.is(one.status, 200, one.text);
  const c = one.json as Candidate[];
  t.is(c.length, 3);
  for (const x of c) {
    t.is(typeof x.score, 'number');
    t.true(Number.isInteger(x.token));
    t.is(typeof x.token_str, 'string');
    t.true(x.sequence.startsWith('the capital of france is'));
  }
  t.true(c[0].score >= c[1].score && c[1].score >= c[2].score);
  const two = await post(port, '/v1/fill-mask', { inputs: ['a [MASK] day.', 'hello [MASK].'] });
  t.is(two.status, 200, two.text);
  const l = two.json as Candidate[][];
  t.is(l.length, 2);
  t.is(l[0].length, 5, 'top_k defaults to 5');
});

test.serial('concurrent requests share batches and equal each request sent alone', async (t) => {
  const texts = ['a [MASK] day.', 'the [MASK] is blue.', 'hello [MASK].', 'one two [MASK] four five six.', 'x [MASK]', 'we went to the [MASK] yesterday .'];
  const alone: Candidate[][] = [];
  for (const s of texts) alone.push((await post(port, '/v1/fill-mask', { inputs: s })).json as Candidate[]);
  const before = server.handler.stats()!;
  const together = await Promise.all(texts.map((s) => post(port, '/v1/fill-mask', { inputs: s })));
  const after = server.handler.stats()!;
  t.true(after.batches - before.batches < texts.length, `${after.batches - before.batches} batches for ${texts.length} concurrent requests`);
  together.forEach((r, i) => {
    t.is(r.status, 200);
    const got = r.json as Candidate[];
    t.deepEqual(
      got.map((x) => x.token),
      alone[i].map((x) => x.token),
      `tokens of ${texts[i]}`,
    );
    got.forEach((x, k) => t.true(Math.abs(x.score - alone[i][k].score) <= 1e-5 * Math.abs(alone[i][k].score) + 1e-9, `score ${i}/${k}`));
  });
});

test.serial('GET /health and GET /metrics', async (t) => {
  const h = await request(port, 'GET', '/health');
  t.is(h.status, 200);
  t.like(h.json as object, { status: 'ok', task: 'fill-mask' });
  await post(port, '/v1/fill-mask', { inputs: 'no mask here' }); // one 400 for the counters
  const m = await request(port, 'GET', '/metrics');
  t.is(m.status, 200);
  t.regex(m.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
  const ok = /convbert_http_requests_total\{route="\/v1\/fill-mask",status="200"\} (\d+)/.exec(m.text);
  t.truthy(ok, m.text);
  t.is(Number(ok![1]), server.metrics.count('/v1/fill-mask', 200));
  t.regex(m.text, /convbert_http_requests_total\{route="\/v1\/fill-mask",status="400"\} [1-9]/);
  t.regex(m.text, /convbert_http_request_duration_seconds_bucket\{route="\/v1\/fill-mask",le="\+Inf"\} \d+/);
  t.regex(m.text, /convbert_batcher_queue_depth 0/);
  const bc = /convbert_batch_size_count (\d+)/.exec(m.text);
  t.is(Number(bc![1]), server.handler.stats()!.batches);
  t.regex(m.text, /convbert_batcher_row_latency_seconds\{quantile="0.99"\} [0-9.e-]+/);
  t.regex(m.text, /convbert_event_loop_lag_seconds\{quantile="0.99"\} [0-9.e+-]+/);
  t.regex(m.text, /^process_resident_memory_bytes [1-9][0-9]*$/m);
});

/** [name, request, expected status, expected code, message pattern] */
const BAD: [string, () => ReturnType<typeof request>, number, string, RegExp][] = [
  ['bad JSON', () => request(port, 'POST', '/v1/fill-mask', '{"inputs": "a [MASK]"'), 400, 'ERR_CONVBERT_BAD_JSON', /not valid JSON/],
  ['a JSON array body', () => post(port, '/v1/fill-mask', ['a [MASK]']), 400, 'ERR_CONVBERT_ARG', /expected an object/],
  ['no inputs', () => post(port, '/v1/fill-mask', { parameters: {} }), 400, 'ERR_CONVBERT_ARG', /"inputs" is required/],
  ['an unknown field', () => post(port, '/v1/fill-mask', { inputs: 'a [MASK]', foo: 1 }), 400, 'ERR_CONVBERT_ARG', /unknown field 'foo'/],
  ['inputs of the wrong type', () => post(port, '/v1/fill-mask', { inputs: 42 }), 400, 'ERR_CONVBERT_ARG', /expected a string/],
  ['an empty inputs array', () => post(port, '/v1/fill-mask', { inputs: [] }), 400, 'ERR_CONVBERT_ARG', /at least one input/],
  ['a text without a mask', () => post(port, '/v1/fill-mask', { inputs: 'no mask' }), 400, 'ERR_CONVBERT_ARG', /no mask token/],
  ['an unknown parameter', () => post(port, '/v1/fill-mask', { inputs: 'a [MASK]', parameters: { topk: 2 } }), 400, 'ERR_CONVBERT_ARG', /unknown option 'topk'/],
  ['parameters not an object', () => post(port, '/v1/fill-mask', { inputs: 'a [MASK]', parameters: [1] }), 400, 'ERR_CONVBERT_ARG', /parameters: expected an object/],
  ['a bad parameter value', () => post(port, '/v1/fill-mask', { inputs: 'a [MASK]', parameters: { top_k: 0 } }), 400, 'ERR_CONVBERT_ARG', /top_k/],
  ['too many inputs', () => post(port, '/v1/fill-mask', { inputs: new Array(9).fill('a [MASK]') }), 413, 'ERR_CONVBERT_TOO_MANY_INPUTS', /9 rows, more than .* 8/],
  ['a body over the size limit', () => post(port, '/v1/fill-mask', { inputs: 'a [MASK] ' + 'x'.repeat(5000) }), 413, 'ERR_CONVBERT_TOO_LARGE', /exceeds the limit of 4096 bytes/],
  ['another task', () => post(port, '/v1/text-classification', { inputs: 'a' }), 404, 'ERR_CONVBERT_NOT_FOUND', /runs task fill-mask/],
  ['an unknown path', () => request(port, 'GET', '/nope'), 404, 'ERR_CONVBERT_NOT_FOUND', /no route \/nope/],
  ['GET on the task route', () => request(port, 'GET', '/v1/fill-mask'), 405, 'ERR_CONVBERT_METHOD', /takes POST/],
  ['a non-JSON content type', () => request(port, 'POST', '/v1/fill-mask', 'a [MASK]', { 'content-type': 'text/plain' }), 415, 'ERR_CONVBERT_MEDIA_TYPE', /application\/json/],
];

for (const [name, send, status, code, msg] of BAD) {
  test.serial(`${name}: ${status} ${code}, and the server keeps serving`, async (t) => {
    const r = await send();
    t.is(r.status, status, r.text);
    const body = r.json as { error: string; code: string };
    t.is(body.code, code);
    t.regex(body.error, msg);
    const ok = await post(port, '/v1/fill-mask', { inputs: 'still [MASK]?' });
    t.is(ok.status, 200);
  });
}

test.serial('a huge text inside the body limit is truncated to the model length, not an error', async (t) => {
  // 4096-byte limit: about 1300 tokens of "a " -> truncated to model_max_length 128.
  const r = await post(port, '/v1/fill-mask', { inputs: '[MASK] ' + 'a '.repeat(1900) });
  t.is(r.status, 200, r.text);
});
