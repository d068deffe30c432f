// The queue worker and client in one process against a private redis-server (no mock):
// a job's result is exactly what POST /v1/<task> answers for the same body (deepEqual:
// one process, one handler, JSON both ways); concurrent jobs share batches; bad input
// fails once with its code and is not retried while a transient error is retried; a job
// Redis lost is added again by the client; /metrics counts the jobs; and the typed
// errors for bad arguments. Process-level behaviour (SIGKILL, SIGTERM, a Redis restart,
// the batch command) is in scale.test.ts.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';
import { Job, Queue } from 'bullmq';

import { DynamicBatcher } from '../../lib/batching';
import { ConvBertError } from '../../lib/errors';
import { InferenceQueue, InferenceJobError, inferenceQueue } from '../../lib/queue/client';
import { parseRedisUrl, redisUrlFlag } from '../../lib/queue/bullmq';
import { runBatch } from '../../lib/queue/batch';
import { InferenceWorker, runWorker } from '../../lib/queue/worker';
import { ConvBertServer } from '../../lib/server/http';
import { loadTask, type TaskHandler } from '../../lib/server/tasks';
import { repoRoot } from '../helpers/fixtures';
import { freePort, startRedis, type RedisServer } from '../helpers/redis';
import { post, request } from '../server/client';
import { makeTinyModel } from '../server/tiny_model';

let redis: RedisServer;
let dir = '';
let handler: TaskHandler;
const cleanup: (() => Promise<unknown> | void)[] = [];

test.before(async () => {
  redis = await startRedis();
  dir = await makeTinyModel('sequence_classification');
  handler = await loadTask('text-classification', dir);
});

test.after.always(async () => {
  for (const f of cleanup.reverse()) await f();
  if (handler) await handler.dispose();
  if (redis) await redis.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The handler with a dispose that does nothing, so closing a worker or server leaves it to the file. */
function shared(h: TaskHandler): TaskHandler {
  return { task: h.task, run: h.run.bind(h), countInputs: h.countInputs.bind(h), stats: h.stats.bind(h), dispose: async () => {} };
}

/** A worker on `queue` that the file's teardown closes. */
async function worker(h: TaskHandler, queue: string, options: ConstructorParameters<typeof InferenceWorker>[2] = {}): Promise<InferenceWorker> {
  const w = new InferenceWorker(shared(h), queue, { connection: redis.url, ...options });
  cleanup.push(() => w.close());
  await w.start();
  return w;
}

/** `p`, or a failure naming `what` after `ms` (so a lost result fails the test instead of hanging it). */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

function client(queue: string, options: Parameters<typeof inferenceQueue>[1] = {}): InferenceQueue {
  const q = inferenceQueue(queue, { connection: redis.url, pollMs: 200, ...options });
  cleanup.push(() => q.close());
  return q;
}

function bullQueue(name: string): Queue {
  const q = new Queue(name, { connection: parseRedisUrl(redis.url) as never });
  cleanup.push(() => q.close());
  return q;
}

test.serial('a job returns exactly the HTTP route response for the same body; aliases name the task', async (t) => {
  await worker(handler, 'same');
  const q = client('same');
  const server = new ConvBertServer(shared(handler), { port: 0 });
  const { port } = await server.listen();
  t.teardown(() => server.close());
  const bodies = [
    { inputs: 'a cat sat on the mat' },
    { inputs: [{ text: 'a cat sat', text_pair: 'on the mat' }, 'plain text'], parameters: { top_k: null } },
    { inputs: 'hello there', parameters: { top_k: 2, function_to_apply: 'sigmoid' } },
  ];
  for (const body of bodies) {
    const http = await post(port, '/v1/text-classification', body);
    t.is(http.status, 200, http.text);
    t.deepEqual(await q.run('text-classification', body), http.json);
  }
  t.deepEqual(await q.run('sentiment-analysis', bodies[0]), (await post(port, '/v1/text-classification', bodies[0])).json);
});

test.serial('concurrent jobs on one worker share the dynamic batcher', async (t) => {
  const before = handler.stats()!;
  await worker(handler, 'batched', { concurrency: 16 });
  const q = client('batched');
  const bodies = Array.from({ length: 32 }, (_, i) => ({ inputs: `text number ${i}` }));
  const results = await q.runMany('text-classification', bodies, { maxInFlight: 32 });
  t.is(results.length, 32);
  const after = handler.stats()!;
  const batches = after.batches - before.batches;
  const rows = after.completed - before.completed;
  t.is(rows, 32);
  // 32 rows in fewer than 32 forwards means some forward took several jobs' rows.
  t.true(batches < 32, `32 one-row jobs ran in ${batches} batches`);
  t.true(Object.keys(after.batchSizeHistogram).some((n) => Number(n) > 1));
});

test.serial('bad input fails once with its code in failedReason and is not retried', async (t) => {
  await worker(handler, 'poison');
  const q = client('poison', { jobOptions: { attempts: 5, backoff: { type: 'fixed', delay: 50 } } });
  const cases: [string, unknown, string, RegExp][] = [
    ['text-classification', { inputs: [] }, 'ERR_CONVBERT_ARG', /inputs: expected at least one input/],
    ['text-classification', { inputs: 'x', extra: 1 }, 'ERR_CONVBERT_ARG', /unknown field 'extra'/],
    ['text-classification', { inputs: Array.from({ length: 65 }, () => 'x') }, 'ERR_CONVBERT_TOO_MANY_INPUTS', /65 rows, more than the worker's limit of 64/],
    ['text-classification', { inputs: 'x', parameters: { top_k: -3 } }, 'ERR_CONVBERT_ARG', /top_k/],
    ['fill-mask', { inputs: 'a [MASK]' }, 'ERR_CONVBERT_NOT_FOUND', /this worker runs task text-classification/],
  ];
  const bq = bullQueue('poison');
  for (const [task, body, code, message] of cases) {
    const e = await t.throwsAsync(q.run(task, body), { instanceOf: InferenceJobError });
    t.is(e!.code as string, code, e!.message);
    t.regex(e!.message, message);
    const job = await Job.fromId(bq, (e as InferenceJobError).jobId);
    t.truthy(job, 'the failed job stays in Redis for inspection');
    t.is(job!.attemptsMade, 1, `${code}: one attempt of 5`);
    t.true(job!.failedReason.startsWith(`${code}: `), job!.failedReason);
  }
});

test.serial('a transient error is retried with backoff, then the job completes', async (t) => {
  // Its first attempt finds the batcher full (429 on the server), the second succeeds.
  let calls = 0;
  const batcher = new DynamicBatcher<string, string>({ maxBatchSize: 4, maxWaitMs: 0 }, async (rows) => rows.map((r) => r.toUpperCase()));
  const flaky: TaskHandler = {
    task: 'text-classification',
    countInputs: () => 1,
    async run(inputs) {
      if (calls++ === 0) throw new ConvBertError('the batcher queue is full (maxQueue 0)', 'ERR_CONVBERT_OVERLOADED');
      return batcher.submit(String(inputs));
    },
    stats: () => batcher.stats(),
    dispose: () => batcher.close(),
  };
  const w = await worker(flaky, 'flaky');
  const q = client('flaky', { jobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 100 } } });
  t.is(await q.run('text-classification', { inputs: 'abc' }), 'ABC');
  t.is(calls, 2);
  t.is(w.metrics.retried, 1);
  t.is(w.metrics.completed, 1);
});

test.serial('a job Redis lost (flushed) is added again by the client and completes', async (t) => {
  const lines: string[] = [];
  const q = client('lost', { log: (l) => lines.push(l) });
  const result = q.run('text-classification', { inputs: 'lost and found' });
  const bq = bullQueue('lost');
  for (let i = 0; i < 100 && (await bq.getWaitingCount()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(await bq.getWaitingCount(), 1);
  // As after a restart without persistence: the job and the queue's keys are gone.
  await ((await bq.client) as unknown as { flushall(): Promise<unknown> }).flushall();
  await worker(handler, 'lost');
  const want = await handler.run('lost and found', undefined, {});
  t.deepEqual(await within(20_000, result, 'the flushed job'), want);
  t.is(q.readded, 1);
  t.true(
    lines.some((l) => /1 job\(s\) no longer in Redis/.test(l)),
    lines.join('\n'),
  );
});

test.serial('--metrics-port: GET /metrics counts jobs and batches, GET /health says ok', async (t) => {
  const running = await runWorker(shared(handler), 'metrics', { connection: redis.url, metricsPort: 0, handleSignals: false });
  cleanup.push(() => running.close());
  const q = client('metrics');
  await q.runMany('text-classification', [{ inputs: 'a' }, { inputs: 'b' }, { inputs: 'c' }]);
  await t.throwsAsync(q.run('text-classification', { inputs: [] }));
  const port = (running.metricsServer!.address() as { port: number }).port;
  const m = await request(port, 'GET', '/metrics');
  t.is(m.status, 200);
  t.regex(m.text, /convbert_worker_jobs_total\{status="completed",code=""\} 3\n/);
  t.regex(m.text, /convbert_worker_jobs_total\{status="failed",code="ERR_CONVBERT_ARG"\} 1\n/);
  t.regex(m.text, /convbert_worker_job_duration_seconds_count 4\n/);
  t.regex(m.text, /convbert_batch_size_count \d+/);
  t.notRegex(m.text, /convbert_http_/);
  const h = await request(port, 'GET', '/health');
  t.is(h.status, 200);
  t.deepEqual(h.json, { status: 'ok' });
  t.is((await request(port, 'POST', '/metrics', '{}')).status, 404);
});

test('bad arguments are typed errors naming the argument', (t) => {
  t.throws(() => inferenceQueue('a:b', { connection: redis.url }), { code: 'ERR_CONVBERT_ARG', message: /name: a queue name cannot contain ':'/ });
  t.throws(() => inferenceQueue('q', { connection: 'http://localhost:6379' }), {
    code: 'ERR_CONVBERT_ARG',
    message: /connection: expected a redis:\/\/ or rediss:\/\/ URL, got protocol "http:"/,
  });
  t.throws(() => inferenceQueue('q', { connection: 'redis://h:6379/x' }), { code: 'ERR_CONVBERT_ARG', message: /database number/ });
  t.throws(() => inferenceQueue('q', { connection: { port: 70000 } }), {
    code: 'ERR_CONVBERT_ARG',
    message: /connection.port: expected an integer in \[0, 65535\], got number 70000/,
  });
  t.throws(() => inferenceQueue('q', { connection: redis.url, pollMs: 0 }), { code: 'ERR_CONVBERT_ARG', message: /pollMs: expected an integer in \[10, 3600000\], got number 0/ });
  t.throws(() => new InferenceWorker(handler, 'q', { connection: redis.url, concurrency: 0 }), {
    code: 'ERR_CONVBERT_ARG',
    message: /concurrency: expected an integer in \[1, 4096\], got number 0/,
  });
  t.throws(() => new InferenceWorker(handler, 'q', { connection: redis.url, lockDurationMs: 1.5 }), { code: 'ERR_CONVBERT_ARG', message: /lockDurationMs/ });
  t.deepEqual(parseRedisUrl('rediss://u:p%40ss@example.com:6380/2'), { host: 'example.com', port: 6380, username: 'u', password: 'p@ss', db: 2, tls: {} });
  // --redis, then REDIS_URL, then the default; errors name where the URL came from.
  t.like(redisUrlFlag(undefined, { REDIS_URL: 'redis://cache.internal:6390' }), { host: 'cache.internal', port: 6390, maxRetriesPerRequest: null });
  t.like(redisUrlFlag(undefined, {}), { host: '127.0.0.1', port: 6379 });
  t.like(redisUrlFlag('redis://a:1', { REDIS_URL: 'redis://b:2' }), { host: 'a', port: 1 });
  t.throws(() => redisUrlFlag(undefined, { REDIS_URL: 'localhost:6379' }), { code: 'ERR_CONVBERT_ARG', message: /^REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/ });
  t.throws(() => redisUrlFlag('redis://h:99999'), { code: 'ERR_CONVBERT_ARG', message: /^--redis: expected a Redis URL/ });
});

test('an unreachable Redis is ERR_CONVBERT_QUEUE after connectTimeoutMs, not a silent wait', async (t) => {
  const port = await freePort(); // nothing listens there
  const q = inferenceQueue('nowhere', { connection: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 });
  cleanup.push(() => q.close());
  const e = await t.throwsAsync(q.run('text-classification', { inputs: 'x' }), { code: 'ERR_CONVBERT_QUEUE' });
  t.regex(e!.message, new RegExp(`queue nowhere: cannot reach Redis at redis://127\\.0\\.0\\.1:${port} within 300 ms: .*ECONNREFUSED`));
  t.is(q.pending, 0);
  const w = new InferenceWorker(shared(handler), 'nowhere', { connection: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 });
  cleanup.push(() => w.close());
  await t.throwsAsync(w.start(), { code: 'ERR_CONVBERT_QUEUE', message: /cannot reach Redis at .* within 300 ms/ });
  // The batch command fails before it writes anything.
  const input = path.join(os.tmpdir(), `convbert-nowhere-${port}.txt`);
  fs.writeFileSync(input, 'a\n');
  t.teardown(() => fs.rmSync(input, { force: true }));
  const output = `${input}.out.jsonl`;
  await t.throwsAsync(runBatch({ queue: 'nowhere', task: 'fill-mask', input, output, connection: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }), {
    code: 'ERR_CONVBERT_QUEUE',
  });
  t.false(fs.existsSync(output));
});

test('q.run and runMany check the task and bodies before adding jobs', async (t) => {
  const q = client('checks');
  await t.throwsAsync(q.run('summarization', { inputs: 'x' }), { code: 'ERR_CONVBERT_ARG', message: /task: unknown task "summarization"/ });
  await t.throwsAsync(q.run('fill-mask', 'just a string'), { code: 'ERR_CONVBERT_ARG', message: /body: expected a request body .*got string/ });
  await t.throwsAsync(q.run('fill-mask', {}), { code: 'ERR_CONVBERT_ARG', message: /body: "inputs" is required/ });
  const out = await q.runMany('fill-mask', [null], { settle: true });
  t.false(out[0].ok);
  t.regex((out[0] as { error: Error }).error.message, /bodies\[0\]: expected a request body/);
  t.is(q.pending, 0);
});

const CHILD = { cwd: repoRoot, encoding: 'utf8' as const, env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 };

test('importing the package does not load bullmq; without bullmq the client says what to install', (t) => {
  const imp = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "require('./lib/index.ts'); console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/](bullmq|ioredis)[\\\\/]/.test(k)).length))",
    ],
    CHILD,
  );
  t.is(imp.status, 0, imp.stderr);
  t.is(imp.stdout.trim(), '0', 'no bullmq or ioredis module in require.cache');
  // A resolver that cannot find bullmq, as in an install without the optional peer.
  const hide =
    "const M = require('module'); const r = M._resolveFilename; M._resolveFilename = function (req, ...a) { if (req === 'bullmq') { const e = new Error(\"Cannot find module 'bullmq'\"); e.code = 'MODULE_NOT_FOUND'; throw e; } return r.call(this, req, ...a); };";
  const missing = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `${hide} const { inferenceQueue } = require('./lib/index.ts'); try { inferenceQueue('q'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
    ],
    CHILD,
  );
  t.is(missing.status, 0, missing.stderr);
  const e = JSON.parse(missing.stdout.trim()) as { code: string; message: string };
  t.is(e.code, 'ERR_CONVBERT_QUEUE');
  t.regex(e.message, /npm install bullmq/);
});
