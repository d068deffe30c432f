// queue.ts: what the BullMQ queue costs and buys (docs/scale-out.md). On one seeded
// random published config (default conv-bert-small) with text-classification, the same
// jobs, a producer keeping --in-flight of them outstanding, are timed:
//   in-process   the task handler `convbert serve` uses (pipeline + dynamic batcher),
//                called directly with --concurrency requests in flight;
//   N worker(s)  `convbert worker` child processes (--concurrency each, the engine's
//                threads split between them) fed through a private redis-server by
//                inferenceQueue().runMany.
// Reported: jobs/s and tokens/s (the tokens the model ran), p50/p99 job latency, and,
// from Redis' INFO, commands, CPU seconds and network bytes per job (what sizes one
// Redis for a given job rate). Each setting gets --warmup jobs first, then --rounds timed
// rounds, alternated across settings; the median round is reported.
//   npm run bench:queue -- [--config small] [--jobs 400] [--rows 1] [--workers 1,2]
//     [--concurrency 16] [--in-flight 256] [--rounds 3] [--warmup 64] [--redis URL] [--json]
// Options: bench/args.ts, or --help. --queue-only times the queue alone instead: a worker in this process whose task answers
// at once (no model), so jobs/s is what bullmq + one Redis carry on this machine.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';

import { ConvBertForSequenceClassification } from '../lib/models';
import { pipeline } from '../lib/pipelines';
import { inferenceQueue } from '../lib/queue/client';
import { InferenceWorker } from '../lib/queue/worker';
import { parseRedisUrl } from '../lib/queue/bullmq';
import { taskHandler, type TaskHandler } from '../lib/server/tasks';
import { setNumThreads } from '../lib/backend';
import { mulberry32 } from '../test/helpers/rng';
import { startRedis, type RedisServer } from '../test/helpers/redis';
import { benchArgs, benchFailed, QUEUE } from './args';
import { fixturesDir, publishedConfig } from './configs';

const a = benchArgs(QUEUE);
const { JOBS, ROWS, CONCURRENCY, IN_FLIGHT, ROUNDS, WARMUP, WORKERS } = (() => {
  try {
    return {
      // Jobs and rows size the request bodies built up front: bounded so a typo cannot ask for billions.
      JOBS: a.int('jobs', 1, { max: 1_000_000 }),
      ROWS: a.int('rows', 1, { max: 10_000 }),
      CONCURRENCY: a.int('concurrency', 1),
      IN_FLIGHT: a.int('in-flight', 1),
      ROUNDS: a.int('rounds', 1),
      WARMUP: a.int('warmup', 0, { max: 1_000_000 }),
      // Each worker is a process holding its own model.
      WORKERS: a.ints('workers', 1, 64),
    };
  } catch (e) {
    return benchFailed(e);
  }
})();
const CORES = os.cpus().length;
const ROOT = path.resolve(__dirname, '..');
const TASK = 'text-classification';

const WORDS =
  'the a cat dog sat on mat over under house river city market weather report quickly slowly bright dark stock price rose fell today yesterday people said new old'.split(' ');

/** Texts of 8 to 40 words, seeded: typical short documents (about 10 to 45 tokens). */
function makeBodies(n: number, seed: number): { inputs: string | string[] }[] {
  const r = mulberry32(seed);
  const text = (): string => Array.from({ length: 8 + Math.floor(r() * 33) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
  return Array.from({ length: n }, () => (ROWS === 1 ? { inputs: text() } : { inputs: Array.from({ length: ROWS }, text) }));
}

async function makeModel(): Promise<string> {
  const { config } = publishedConfig(a.str('config'), '--config');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bench-queue-'));
  const m = ConvBertForSequenceClassification.fromConfig({ ...config, num_labels: 2 }, { seed: 7 });
  try {
    await m.savePretrained(dir);
  } finally {
    m.dispose();
  }
  fs.copyFileSync(fixturesDir('tokenizer', 'vocab.txt'), path.join(dir, 'vocab.txt'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 512, tokenizer_class: 'ConvBertTokenizer' }));
  return dir;
}

interface Round {
  seconds: number;
  latencies: number[];
  redis?: RedisDelta;
}

interface RedisDelta {
  /** Commands by name, those run inside bullmq's Lua scripts included (Redis counts both). */
  byCommand: Record<string, number>;
  calls: number;
  cpuSeconds: number;
  netIn: number;
  netOut: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Runs `bodies` through `run` keeping `limit` in flight; per-job latencies in ms. */
async function drive(bodies: unknown[], limit: number, run: (b: unknown) => Promise<unknown>): Promise<Round> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < bodies.length) {
      const b = bodies[next++];
      const s = performance.now();
      await run(b);
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, bodies.length) }, lane));
  return { seconds: (performance.now() - t0) / 1000, latencies };
}

/** Redis' own counters: commands run, CPU seconds, bytes in and out. */
async function redisStats(url: string): Promise<RedisDelta> {
  const { Queue } = await import('bullmq');
  const q = new Queue('bench-info', { connection: { ...parseRedisUrl(url), maxRetriesPerRequest: null } as never });
  try {
    const client = (await q.client) as unknown as { info(section?: string): Promise<string> };
    const text = (await client.info('all')) as string;
    const num = (k: string): number => Number((new RegExp(`^${k}:([0-9.]+)`, 'm').exec(text) ?? [])[1] ?? 0);
    let calls = 0;
    const byCommand: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      byCommand[m[1]] = Number(m[2]);
      calls += Number(m[2]);
    }
    return { byCommand, calls, cpuSeconds: num('used_cpu_sys') + num('used_cpu_user'), netIn: num('total_net_input_bytes'), netOut: num('total_net_output_bytes') };
  } finally {
    await q.close();
  }
}

function delta(x: RedisDelta, y: RedisDelta): RedisDelta {
  const byCommand: Record<string, number> = {};
  for (const [k, v] of Object.entries(y.byCommand)) if (v - (x.byCommand[k] ?? 0) > 0) byCommand[k] = v - (x.byCommand[k] ?? 0);
  return { byCommand, calls: y.calls - x.calls, cpuSeconds: y.cpuSeconds - x.cpuSeconds, netIn: y.netIn - x.netIn, netOut: y.netOut - x.netOut };
}

interface WorkerProc {
  child: ChildProcess;
  exited: Promise<number | null>;
}

async function startWorker(model: string, queue: string, url: string, threads: number): Promise<WorkerProc> {
  const args = [
    '--import',
    'tsx',
    path.join(ROOT, 'lib', 'cli.ts'),
    'worker',
    '--model',
    model,
    '--task',
    TASK,
    '--queue',
    queue,
    '--redis',
    url,
    '--concurrency',
    String(CONCURRENCY),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_NO_WARNINGS: '1', CONVBERT_NUM_THREADS: String(threads), CONVBERT_QUIET: '1' },
  });
  let log = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      log += c.toString();
      if (/on queue /.test(log)) resolve();
    });
    void exited.then((c) => reject(new Error(`worker exited (${String(c)}):\n${log}`)));
  });
  return { child, exited };
}

async function main(): Promise<void> {
  const model = await makeModel();
  let redis: RedisServer | null = null;
  const workers: WorkerProc[] = [];
  try {
    const url = a.given('redis') ? a.str('redis') : (redis = await startRedis()).url;
    const bodies = makeBodies(JOBS, 1);
    const warm = makeBodies(WARMUP, 2);
    const pipe = await pipeline(TASK, model, { batch_size: 256 });
    const tokens = bodies.reduce((s, b) => s + (Array.isArray(b.inputs) ? b.inputs : [b.inputs]).reduce((t, x) => t + pipe.tokenizer.encode(x).input_ids.length, 0), 0);
    // The in-process baseline gets every core, as one worker process would.
    setNumThreads(CORES);
    const handler: TaskHandler = taskHandler(pipe);
    const settings: { name: string; run: () => Promise<Round> }[] = [];
    // Warm up, then time the measured bodies through queue NAME, with the Redis work
    // (commands, CPU, bytes) the measured part cost.
    const driveQueue = async (name: string): Promise<Round> => {
      const q = inferenceQueue(name, { connection: url, jobOptions: { removeOnComplete: true } });
      try {
        await drive(warm, IN_FLIGHT, (b) => q.run(TASK, b));
        const before = await redisStats(url);
        const r = await drive(bodies, IN_FLIGHT, (b) => q.run(TASK, b));
        r.redis = delta(before, await redisStats(url));
        return r;
      } finally {
        await q.close();
      }
    };
    if (a.flag('queue-only')) {
      const noop: TaskHandler = { task: TASK, run: async () => [{ label: 'LABEL_0', score: 1 }], countInputs: () => 1, stats: () => null, dispose: async () => {} };
      settings.push({
        name: `queue only (no-op worker, concurrency ${CONCURRENCY})`,
        run: async () => {
          const w = new InferenceWorker(noop, 'bench-noop', { connection: url, concurrency: CONCURRENCY });
          await w.start();
          try {
            return await driveQueue('bench-noop');
          } finally {
            await w.close();
          }
        },
      });
    } else
      settings.push({
        name: 'in-process (handler, no queue)',
        run: async () => {
          await drive(warm, CONCURRENCY, (b) => handler.run((b as { inputs: unknown }).inputs, undefined, {}));
          return drive(bodies, CONCURRENCY, (b) => handler.run((b as { inputs: unknown }).inputs, undefined, {}));
        },
      });
    for (const n of a.flag('queue-only') ? [] : WORKERS) {
      const queue = `bench-${n}w`;
      settings.push({
        name: `${n} worker${n > 1 ? 's' : ''} via Redis`,
        run: async () => {
          const threads = Math.max(1, Math.floor(CORES / n));
          const procs = await Promise.all(Array.from({ length: n }, () => startWorker(model, queue, url, threads)));
          workers.push(...procs);
          try {
            return await driveQueue(queue);
          } finally {
            for (const p of procs) p.child.kill('SIGTERM');
            await Promise.all(procs.map((p) => p.exited));
          }
        },
      });
    }
    const results = new Map<string, Round[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of settings) {
        const r = await s.run();
        if (!results.has(s.name)) results.set(s.name, []);
        results.get(s.name)!.push(r);
        process.stderr.write(`round ${round + 1} ${s.name}: ${(JOBS / r.seconds).toFixed(1)} jobs/s\n`);
      }
    }
    await handler.dispose();
    const rows = [...results].map(([name, rs]) => {
      const sorted = [...rs].sort((x, y) => x.seconds - y.seconds);
      const med = sorted[Math.floor(sorted.length / 2)];
      const out: Record<string, unknown> = {
        setting: name,
        jobs_per_s: +(JOBS / med.seconds).toFixed(1),
        tokens_per_s: Math.round(tokens / med.seconds),
        p50_ms: +quantile(med.latencies, 0.5).toFixed(1),
        p99_ms: +quantile(med.latencies, 0.99).toFixed(1),
        rounds_jobs_per_s: rs.map((r) => +(JOBS / r.seconds).toFixed(1)),
      };
      if (med.redis) {
        out.redis_calls_per_job = +(med.redis.calls / JOBS).toFixed(1);
        out.redis_cpu_us_per_job = Math.round((med.redis.cpuSeconds / JOBS) * 1e6);
        out.redis_bytes_per_job = Math.round((med.redis.netIn + med.redis.netOut) / JOBS);
        // The round trips are the top-level commands: evalsha (a bullmq script), xread, bzpopmin, hmget (the client's poll)...
        out.redis_commands_per_job = Object.fromEntries(
          Object.entries(med.redis.byCommand)
            .sort((x, y) => y[1] - x[1])
            .map(([k, v]) => [k, +(v / JOBS).toFixed(2)]),
        );
      }
      return out;
    });
    const meta = {
      config: a.str('config'),
      jobs: JOBS,
      rows_per_job: ROWS,
      tokens,
      concurrency: CONCURRENCY,
      in_flight: IN_FLIGHT,
      rounds: ROUNDS,
      cores: CORES,
      cpu: os.cpus()[0]?.model,
      redis: spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim(),
    };
    if (a.flag('json')) console.log(JSON.stringify({ meta, rows }));
    else {
      console.log(JSON.stringify(meta));
      for (const r of rows) console.log(JSON.stringify(r));
    }
  } finally {
    for (const w of workers) w.child.kill('SIGKILL');
    if (redis) await redis.stop();
    fs.rmSync(model, { recursive: true, force: true });
  }
}

main().catch(benchFailed);
