// Server statuses that depend on load and lifecycle, with a fake task whose
// rows go through a real DynamicBatcher held shut by the test: 429 when the
// queue is full (Retry-After), 503 when a request passes its deadline, 500 for
// a bug, a client that disconnects cancels its queued row, and close() lets
// in-flight requests finish while new connections are refused.
import test from 'ava';

import { DynamicBatcher } from '../../lib/batching';
import { ConvBertServer } from '../../lib/server/http';
import { type TaskHandler } from '../../lib/server/tasks';
import { halfPost, post, rawJson, rawStatus, request } from './client';

/** A task "echo": each input string is one row; the batch runs when the test opens the gate. */
function gatedHandler(opts: { maxQueue: number }) {
  let open: () => void = () => {};
  let gate = new Promise<void>((r) => (open = r));
  const batcher = new DynamicBatcher<string, string>({ maxBatchSize: 1, maxWaitMs: 0, maxQueue: opts.maxQueue }, async (rows) => {
    await gate;
    return rows.map((r) => r.toUpperCase());
  });
  let disposed = 0;
  const handler: TaskHandler = {
    task: 'echo',
    countInputs: (inputs) => (Array.isArray(inputs) ? inputs.length : 1),
    async run(inputs, _parameters, o) {
      if (inputs === 'boom') throw new Error('a bug in the task');
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const out = await Promise.all(list.map((s) => batcher.submit(String(s), { signal: o.signal, timeoutMs: o.timeoutMs })));
      return Array.isArray(inputs) ? out : out[0];
    },
    stats: () => batcher.stats(),
    async dispose() {
      disposed++;
      await batcher.close();
    },
  };
  return {
    handler,
    batcher,
    release(): void {
      open();
    },
    shut(): void {
      gate = new Promise<void>((r) => (open = r));
    },
    get disposed() {
      return disposed;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

test('a full queue answers 429 ERR_CONVBERT_OVERLOADED with Retry-After; the rest succeed', async (t) => {
  const g = gatedHandler({ maxQueue: 1 });
  const server = new ConvBertServer(g.handler, { port: 0 });
  const { port } = await server.listen();
  t.teardown(() => server.close());
  const first = post(port, '/v1/echo', { inputs: 'a' }); // running (held)
  await until(() => g.batcher.stats().inFlight === 1, 'the first row to run');
  const second = post(port, '/v1/echo', { inputs: 'b' }); // queued
  await until(() => g.batcher.stats().queueDepth === 1, 'the second row to queue');
  const third = await post(port, '/v1/echo', { inputs: 'c' });
  t.is(third.status, 429);
  t.is(third.headers['retry-after'], '1');
  t.like(third.json as object, { code: 'ERR_CONVBERT_OVERLOADED' });
  g.release();
  t.deepEqual([(await first).json, (await second).json], ['A', 'B']);
  const m = await request(port, 'GET', '/metrics');
  t.regex(m.text, /convbert_http_requests_total\{route="\/v1\/echo",status="429"\} 1/);
  t.regex(m.text, /convbert_batcher_rejected_total 1/);
});

test('a request past its deadline answers 503 ERR_CONVBERT_TIMEOUT; a bug answers 500', async (t) => {
  const g = gatedHandler({ maxQueue: 10 });
  const server = new ConvBertServer(g.handler, { port: 0, requestTimeoutMs: 100 });
  const { port } = await server.listen();
  t.teardown(() => server.close());
  const r = await post(port, '/v1/echo', { inputs: 'slow' });
  t.is(r.status, 503);
  t.like(r.json as object, { code: 'ERR_CONVBERT_TIMEOUT' });
  t.regex((r.json as { error: string }).error, /timed out after 100 ms/);
  const b = await post(port, '/v1/echo', { inputs: 'boom' });
  t.is(b.status, 500);
  t.deepEqual(b.json, { error: 'a bug in the task', code: 'ERR_CONVBERT_INTERNAL' });
  g.release();
});

test('a client that disconnects cancels its queued row', async (t) => {
  const g = gatedHandler({ maxQueue: 10 });
  const server = new ConvBertServer(g.handler, { port: 0 });
  const { port } = await server.listen();
  t.teardown(() => server.close());
  const running = post(port, '/v1/echo', { inputs: 'a' });
  await until(() => g.batcher.stats().inFlight === 1, 'the first row to run');
  const h = await halfPost(port, '/v1/echo', { inputs: 'gone' }, 0);
  void h.finish();
  await until(() => g.batcher.stats().queueDepth === 1, 'the second row to queue');
  h.socket.destroy();
  await until(() => g.batcher.stats().cancelled === 1, 'the row to be cancelled');
  t.is(g.batcher.stats().queueDepth, 0);
  g.release();
  t.is((await running).json, 'A');
});

test('close() drains: in-flight requests finish, new requests get 503, then the port closes and the task is disposed', async (t) => {
  const g = gatedHandler({ maxQueue: 10 });
  const lines: string[] = [];
  const server = new ConvBertServer(g.handler, { port: 0, log: (l) => lines.push(l) });
  const { port } = await server.listen();
  const inflight = post(port, '/v1/echo', { inputs: 'x' });
  await until(() => g.batcher.stats().inFlight === 1, 'the row to run');
  // A request whose body is still arriving when the drain starts is in flight too.
  const half = await halfPost(port, '/v1/echo', { inputs: 'late' });
  await sleep(50);
  const closed = server.close();
  t.true(server.draining);
  const refused = await post(port, '/v1/echo', { inputs: 'new' });
  t.is(refused.status, 503);
  t.is(refused.headers.connection, 'close');
  t.like(refused.json as object, { code: 'ERR_CONVBERT_SHUTTING_DOWN' });
  const health = await request(port, 'GET', '/health');
  t.is(health.status, 503);
  t.like(health.json as object, { status: 'draining' });
  let done = false;
  void closed.then(() => (done = true));
  await sleep(100);
  t.false(done, 'close() waits for in-flight requests');
  g.release();
  const r = await inflight;
  t.is(r.status, 200);
  t.is(r.json, 'X');
  const raw = await half.finish();
  t.is(rawStatus(raw), 200, raw);
  t.is(rawJson(raw), 'LATE');
  await closed;
  t.is(g.disposed, 1);
  await t.throwsAsync(request(port, 'GET', '/health'), { code: 'ECONNREFUSED' });
  t.true(
    lines.some((l) => /draining \(2 request\(s\) in flight\)/.test(l)),
    lines.join('\n'),
  );
});
