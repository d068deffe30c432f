// The addon is context-aware: it loads in several worker_threads at once, each
// runs models (tiny fromConfig ConvBERTs) concurrently with the main thread, and
// workers terminated in the middle of a forward (async on the libuv pool, or
// forwardSync on the worker's own thread) neither crash the process nor leak
// their engines. All of it runs in a child process, which must exit 0.
// Results across threads are compared exactly: the same model and inputs run
// the same float32 code (concurrent forwards are deterministic, see
// test/model/concurrency.test.ts). The leak bound is stated where it is checked.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';

import { repoRoot } from '../helpers/fixtures';

/** The worker: builds the model, answers 'sum' requests, or loops forwards until terminated. */
const WORKER = `
const { parentPort, workerData } = require('worker_threads');
require(workerData.tsx);
const { ConvBertModel } = require(workerData.lib + '/models');
const { Tensor } = require(workerData.lib + '/tensor');
const m = ConvBertModel.fromConfig(workerData.cfg, { seed: 1 });
function ids(B, L) {
  const a = new Int32Array(B * L);
  for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % workerData.cfg.vocab_size;
  return new Tensor('int32', a, [B, L]);
}
function sum(o) {
  let s = 0;
  for (const v of o.last_hidden_state.data) s += v;
  return s;
}
(async () => {
  if (workerData.mode === 'sum') {
    const o = await m.forward({ input_ids: ids(2, 16) });
    parentPort.postMessage({ sum: sum(o) });
    m.dispose();
    return;
  }
  // 'loop': long forwards until terminated; say when the first one is under way.
  let first = true;
  for (;;) {
    const p = workerData.mode === 'loop-sync' ? Promise.resolve(m.forwardSync({ input_ids: ids(8, 128) })) : m.forward({ input_ids: ids(8, 128) });
    if (first) parentPort.postMessage({ running: true });
    first = false;
    await p;
  }
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

/** The child process: runs the scenarios and exits 0 only if every check held. */
const CHILD = `
const { Worker } = require('worker_threads');
const assert = require('assert');
const opts = JSON.parse(process.argv[2]);
require(opts.tsx);
const { ConvBertModel } = require(opts.lib + '/models');
const { Tensor } = require(opts.lib + '/tensor');
const cfg = opts.cfg;

function start(mode) {
  const w = new Worker(opts.worker, { eval: true, workerData: { tsx: opts.tsx, lib: opts.lib, cfg, mode } });
  const msgs = [];
  let waiters = [];
  w.on('message', (m) => { msgs.push(m); for (const r of waiters.splice(0)) r(); });
  w.on('error', (e) => { msgs.push({ error: String(e) }); for (const r of waiters.splice(0)) r(); });
  w.on('exit', (c) => { msgs.push({ exit: c }); for (const r of waiters.splice(0)) r(); });
  const next = async () => { while (msgs.length === 0) await new Promise((r) => waiters.push(r)); const m = msgs.shift(); if (m.error) throw new Error('worker: ' + m.error); if (m.exit !== undefined) throw new Error('worker exited early: ' + m.exit); return m; };
  return { w, next };
}

(async () => {
  // 1. Three workers and the main thread run the same forward at once: identical sums.
  const main = ConvBertModel.fromConfig(cfg, { seed: 1 });
  const a = new Int32Array(2 * 16);
  for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % cfg.vocab_size;
  const ws = [start('sum'), start('sum'), start('sum')];
  const [mine, ...theirs] = await Promise.all([main.forward({ input_ids: new Tensor('int32', a, [2, 16]) }), ...ws.map((x) => x.next())]);
  let s = 0;
  for (const v of mine.last_hidden_state.data) s += v;
  assert.ok(Number.isFinite(s), 'main sum is finite');
  for (const t of theirs) assert.strictEqual(t.sum, s, 'a worker sum differs from the main thread: ' + t.sum + ' vs ' + s);
  await Promise.all(ws.map((x) => x.w.exitCode !== null ? null : new Promise((r) => x.w.once('exit', r))));

  // 2. Terminate workers mid-forward, round after round; the process must survive and not grow.
  const rss = [];
  for (let round = 0; round < opts.rounds; round++) {
    const loops = opts.modes.map((mode) => start(mode));
    await Promise.all(loops.map((x) => x.next()));
    await new Promise((r) => setTimeout(r, 20));
    const codes = await Promise.all(loops.map((x) => x.w.terminate()));
    for (const c of codes) assert.strictEqual(c, 1, 'terminate() exit code');
    if (global.gc) global.gc();
    rss.push(process.memoryUsage().rss);
  }
  // The main thread still works after all that.
  const again = await main.forward({ input_ids: new Tensor('int32', a, [2, 16]) });
  let s2 = 0;
  for (const v of again.last_hidden_state.data) s2 += v;
  assert.strictEqual(s2, s, 'main thread result changed after the worker rounds');
  main.dispose();
  console.log(JSON.stringify({ done: true, rss }));
})().catch((e) => { console.error(e && e.stack || e); process.exit(3); });
`;

interface ChildResult {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

// vocab 30522 x embedding 96 floats: ~12 MB of weights per engine, so a leaked engine per worker shows in RSS.
const CFG = { vocab_size: 30522, hidden_size: 64, embedding_size: 96, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, max_position_embeddings: 128 };
const ENGINE_BYTES = 30522 * 96 * 4;

function runChild(modes: string[], rounds: number): Promise<ChildResult> {
  const opts = { tsx: require.resolve('tsx/cjs', { paths: [repoRoot] }), lib: path.join(repoRoot, 'lib'), worker: WORKER, cfg: CFG, rounds, modes, engineBytes: ENGINE_BYTES };
  // A file, not node -e: workers would inherit -e in their execArgv.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-wt-'));
  const file = path.join(dir, 'child.js');
  fs.writeFileSync(file, CHILD);
  return new Promise<ChildResult>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', file, JSON.stringify(opts)], { cwd: repoRoot, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  }).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test('the addon runs in several worker_threads at once; workers terminated mid-forward (async or sync) neither crash nor leak', async (t) => {
  // Each round terminates one worker inside an async forward (the AsyncWorker then completes during
  // the worker's environment teardown, where resolving its promise must not throw) and one inside
  // forwardSync (the thread stops when the native call returns).
  const rounds = 8;
  const r = await runChild(['loop', 'loop-sync'], rounds);
  t.is(r.signal, null, `the child died of a signal: ${r.err}`);
  t.is(r.code, 0, r.err);
  const last = JSON.parse(r.out.trim().split('\n').pop() || '{}') as { done?: boolean; rss: number[] };
  t.true(last.done, `the child did not finish: ${r.out} ${r.err}`);
  const rss = last.rss;
  t.is(rss.length, rounds);
  // Each round builds and terminates two engines (~12 MB each). Leaking even one of them per round
  // adds ~60 MB from round 3 to round 8; allocator noise (up to ~27 MB seen on a loaded machine,
  // where scheduling decides which threads get their own malloc arena) stays under four engines.
  const growth = rss[rounds - 1] - rss[2];
  t.true(growth < 4 * ENGINE_BYTES, `RSS grew ${(growth / 1e6).toFixed(1)} MB from round 3 to ${rounds} (bound ${((4 * ENGINE_BYTES) / 1e6).toFixed(0)} MB)`);
});
