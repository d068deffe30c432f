// The queue across processes, on a private redis-server and a tiny random model:
// `convbert worker` children and the `convbert batch` command. 200 jobs across two
// workers with one SIGKILLed part-way and a third started: each input line gets exactly
// one output line, in order, equal to the in-process pipeline (labels exactly, scores to
// rtol 1e-5: another process runs the same float32 code, and a row's result does not
// depend on its batch partners; see DESIGN.md, Padding semantics), and the poison line
// fails once. SIGTERM drains the jobs in flight and exits 0. Redis killed and restarted
// empty mid-run: the batch still completes. Workers hold each batch open (--max-wait-ms)
// so jobs are in flight when the signals land; every child is killed in teardown.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';

import test from 'ava';
import { Queue } from 'bullmq';

import { main } from '../../lib/cli';
import { pipeline } from '../../lib/pipelines';
import { parseRedisUrl } from '../../lib/queue/bullmq';
import { inferenceQueue } from '../../lib/queue/client';
import { toJsonable } from '../../lib/server/tasks';
import { repoRoot } from '../helpers/fixtures';
import { startRedis, type RedisServer } from '../helpers/redis';
import { makeTinyModel } from '../server/tiny_model';

const CLI = path.join(repoRoot, 'lib', 'cli.ts');
let redis: RedisServer;
let model = '';
let tmp = '';
const children = new Set<ChildProcess>();
const closers: (() => Promise<unknown>)[] = [];

test.before(async () => {
  redis = await startRedis();
  model = await makeTinyModel('sequence_classification');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-queue-'));
});

test.after.always(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const f of closers) await f().catch(() => {});
  if (redis) await redis.stop();
  for (const d of [model, tmp]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

interface WorkerProc {
  child: ChildProcess;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A `convbert worker` child; resolves once it takes jobs. Recovery is fast: 1.5 s locks, checked every 0.5 s. */
async function startWorker(queue: string, extra: string[] = []): Promise<WorkerProc> {
  const args = ['--import', 'tsx', CLI, 'worker', '--model', model, '--task', 'text-classification', '--queue', queue, '--redis', redis.url];
  args.push('--lock-duration-ms', '1500', '--stalled-interval-ms', '500', ...extra);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  children.add(child);
  let log = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      r({ code, signal });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s:\n${log}`)), 60_000);
    child.stderr!.on('data', (c: Buffer) => {
      log += c.toString();
      if (/convbert worker: text-classification on queue/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${String(code ?? signal)}) before it started:\n${log}`));
    });
  });
  return { child, log: () => log, exited };
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        text += c.toString();
        cb();
      },
    }),
    text: () => text,
  };
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function lineCount(file: string): number {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

type Scored = { label: string; score: number }[];

/** Labels exactly, scores to rtol 1e-5 (see the header). */
function assertSameResult(t: { is: (a: unknown, b: unknown, m?: string) => void; true: (v: boolean, m?: string) => void }, got: unknown, want: unknown, what: string): void {
  const g = got as Scored;
  const w = want as Scored;
  t.is(g.length, w.length, `${what}: result length`);
  for (let k = 0; k < w.length; k++) {
    t.is(g[k].label, w[k].label, `${what}: label ${k}`);
    t.true(Math.abs(g[k].score - w[k].score) <= 1e-5 * Math.abs(w[k].score) + 1e-7, `${what}: score ${g[k].score} vs ${w[k].score}`);
  }
}

const text = (i: number): string => `sentence ${i} about cats, dogs and the weather number ${i % 17}`;

async function expected(texts: string[]): Promise<unknown[]> {
  const pipe = await pipeline('text-classification', model);
  try {
    const out: unknown[] = [];
    for (const s of texts) out.push(toJsonable(await pipe(s)));
    return out;
  } finally {
    await pipe.dispose();
  }
}

function bullQueue(name: string): Queue {
  const q = new Queue(name, { connection: { ...parseRedisUrl(redis.url), maxRetriesPerRequest: null } as never });
  closers.push(() => q.close());
  return q;
}

test.serial('200 jobs, 2 workers, one SIGKILLed part-way and a third started: every line once, in order, as in-process; the poison line fails once', async (t) => {
  const N = 200;
  const POISON = 77; // 0-based record index of the bad line
  const input = path.join(tmp, 'corpus.jsonl');
  const output = path.join(tmp, 'results.jsonl');
  const texts = Array.from({ length: N }, (_, i) => text(i));
  fs.writeFileSync(input, texts.map((s, i) => (i === POISON ? JSON.stringify({ inputs: [] }) : JSON.stringify(s))).join('\n') + '\n');
  const want = await expected(texts);
  // Each worker holds 4 jobs for up to 100 ms per batch, so the run lasts seconds and the kill finds jobs in flight.
  const hold = ['--concurrency', '4', '--max-batch-size', '64', '--max-wait-ms', '100'];
  const [w1, w2] = await Promise.all([startWorker('scale', hold), startWorker('scale', hold)]);
  const err = sink();
  const batch = main(
    ['batch', '--queue', 'scale', '--task', 'text-classification', '--input', input, '--output', output, '--redis', redis.url, '--poll-ms', '300', '--progress-interval-ms', '200'],
    { out: sink().stream, err: err.stream },
  );
  await until(() => lineCount(output) >= 40, '40 results');
  w1.child.kill('SIGKILL');
  t.is((await w1.exited).signal, 'SIGKILL');
  const done = lineCount(output);
  t.true(done < N, `killed part-way (${done} of ${N} written)`);
  const w3 = await startWorker('scale', hold);
  t.is(await batch, 1, err.text()); // 1: one record failed (the poison line)
  const lines = fs
    .readFileSync(output, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; result?: unknown; error?: { code: string; message: string } });
  t.is(lines.length, N, 'one output line per input line');
  lines.forEach((l, i) => {
    t.is(l.line, i + 1, 'input order');
    if (i === POISON) {
      t.is(l.error?.code, 'ERR_CONVBERT_ARG');
      t.regex(l.error!.message, /inputs: expected at least one input/);
    } else {
      t.is(l.error, undefined, JSON.stringify(l.error));
      assertSameResult(t, l.result, want[i], `line ${i + 1}`);
    }
  });
  const q = bullQueue('scale');
  const failed = await q.getFailed();
  t.is(failed.length, 1, 'only the poison job failed');
  t.is(failed[0].attemptsMade, 1, 'and it was tried once (UnrecoverableError)');
  t.true(failed[0].failedReason.startsWith('ERR_CONVBERT_ARG: '), failed[0].failedReason);
  t.is(await q.getActiveCount(), 0);
  // The killed worker's jobs came back through another worker's stalled-job check.
  t.regex(w2.log() + w3.log(), /stalled \(its worker stopped renewing the lock\); back in the queue/);
  t.regex(err.text(), /convbert batch: \d+\/200 \d+\.\d% \d+\.\d jobs\/s ETA /);
  for (const w of [w2, w3]) {
    w.child.kill('SIGTERM');
    t.is((await w.exited).code, 0, w.log());
  }
});

test.serial('SIGTERM: the worker takes no new jobs, finishes those in flight, closes Redis and exits 0', async (t) => {
  // Batches wait 1.5 s for partners: the three jobs are in flight when the signal comes.
  const q = inferenceQueue('drain', { connection: redis.url, pollMs: 300 });
  closers.push(() => q.close());
  const bq = bullQueue('drain');
  await q.counts();
  const redisClients = async (): Promise<number> => (await ((await bq.client) as unknown as { client(...a: string[]): Promise<string> }).client('LIST')).trim().split('\n').length;
  const before = await redisClients();
  const w = await startWorker('drain', ['--concurrency', '3', '--max-batch-size', '64', '--max-wait-ms', '1500']);
  t.true((await redisClients()) > before, 'the worker holds connections while it runs');
  const texts = [text(1), text(2), text(3)];
  const results = Promise.all(texts.map((s) => q.run('text-classification', { inputs: s })));
  await until(async () => (await bq.getActiveCount()) === 3, 'three active jobs');
  w.child.kill('SIGTERM');
  await until(() => /draining/.test(w.log()), 'the drain to start');
  const late = q.run('text-classification', { inputs: text(4) });
  const exit = await w.exited;
  t.is(exit.code, 0, w.log());
  t.regex(w.log(), /draining \(3 job\(s\) in flight\)/);
  const want = await expected(texts);
  (await results).forEach((r, i) => assertSameResult(t, r, want[i], `job ${i}`));
  t.is(await bq.getActiveCount(), 0, 'nothing left active');
  t.is(await bq.getWaitingCount(), 1, 'the job added during the drain waits for another worker');
  t.is(await redisClients(), before, 'the worker closed its Redis connections');
  const w2 = await startWorker('drain');
  assertSameResult(t, await late, (await expected([text(4)]))[0], 'the late job');
  w2.child.kill('SIGTERM');
  t.is((await w2.exited).code, 0, w2.log());
});

test.serial('Redis killed and restarted empty mid-run: the worker reconnects and the batch still completes', async (t) => {
  const N = 60;
  const input = path.join(tmp, 'restart.txt');
  const output = path.join(tmp, 'restart.jsonl');
  const texts = Array.from({ length: N }, (_, i) => text(1000 + i));
  fs.writeFileSync(input, texts.join('\n') + '\n');
  const want = await expected(texts);
  const w = await startWorker('restart', ['--concurrency', '4', '--max-batch-size', '64', '--max-wait-ms', '100']);
  const err = sink();
  const batch = main(['batch', '--queue', 'restart', '--task', 'text-classification', '--input', input, '--output', output, '--redis', redis.url, '--poll-ms', '300'], {
    out: sink().stream,
    err: err.stream,
  });
  await until(() => lineCount(output) >= 10, '10 results');
  await redis.restart();
  t.is(await batch, 0, err.text());
  const lines = fs
    .readFileSync(output, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; result: unknown });
  t.is(lines.length, N);
  lines.forEach((l, i) => {
    t.is(l.line, i + 1);
    assertSameResult(t, l.result, want[i], `line ${i + 1}`);
  });
  t.regex(err.text(), /job\(s\) no longer in Redis/, 'the lost jobs were added again');
  w.child.kill('SIGTERM');
  t.is((await w.exited).code, 0, w.log());
});
