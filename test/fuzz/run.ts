// run.ts: the fuzz runner (npm run fuzz). Each target (targets.ts) runs in a
// child process with a capped JS heap; the parent watches it. A run that throws
// anything but a typed ConvBertError, a child that dies (a native crash, a V8
// fatal error, heap exhaustion), a run that takes longer than --hang-ms, and RSS
// above --rss-mb are findings: the input is saved under --out with a .txt that
// says what happened and how to replay it, and the child is restarted with the
// next seed until the target's time is up. Exits 1 when anything was found.
//
//   node --import tsx test/fuzz/run.ts [--target NAME]... [--seconds 20] [--seed 1] [--out .fuzz-findings]
//   node --import tsx test/fuzz/run.ts --target config --replay .fuzz-findings/config-1a2b3c4d.input
//
// The default seed is fixed so CI replays the same inputs; pass --seed to explore.
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';

import { mulberry32 } from '../helpers/rng';
import { FuzzFinding, TARGETS, type Target } from './targets';

interface Options {
  targets: string[];
  seconds: number;
  seed: number;
  out: string;
  hangMs: number;
  rssMb: number;
}

type ChildMessage = { kind: 'run'; i: number; what: string } | { kind: 'finding'; file: string; message: string } | { kind: 'done'; runs: number };

function readOptions(): Options & { child: boolean; replay?: string } {
  const { values } = parseArgs({
    strict: true,
    options: {
      target: { type: 'string', multiple: true },
      seconds: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: '.fuzz-findings' },
      'hang-ms': { type: 'string', default: '15000' },
      'rss-mb': { type: 'string', default: '1536' },
      replay: { type: 'string' },
      child: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const targets = values.target ?? Object.keys(TARGETS);
  for (const t of targets) if (!TARGETS[t]) throw new Error(`--target: unknown target ${JSON.stringify(t)} (known: ${Object.keys(TARGETS).join(', ')})`);
  return {
    targets,
    seconds: num('seconds', values.seconds, 1),
    seed: Math.floor(num('seed', values.seed, 0)),
    out: path.resolve(values.out),
    hangMs: num('hang-ms', values['hang-ms'], 100),
    rssMb: num('rss-mb', values['rss-mb'], 64),
    replay: values.replay,
    child: values.child,
  };
}

function saveFinding(out: string, target: string, input: Uint8Array, message: string, seed: number): string {
  fs.mkdirSync(out, { recursive: true });
  const id = crypto.createHash('sha1').update(input).digest('hex').slice(0, 8);
  const file = path.join(out, `${target}-${id}.input`);
  fs.writeFileSync(file, input);
  const replay = `node --import tsx test/fuzz/run.ts --target ${target} --replay ${path.relative(process.cwd(), file)}`;
  fs.writeFileSync(`${file.slice(0, -'.input'.length)}.txt`, `${message}\nseed ${seed}\nreplay: ${replay}\n`);
  return file;
}

/** The child: set up one target and run mutated inputs until the deadline. */
async function child(o: Options): Promise<void> {
  const name = o.targets[0];
  const target = TARGETS[name]();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `convbert-fuzz-${name}-`));
  const send = (m: ChildMessage): void => void process.send?.(m);
  const current = path.join(o.out, `${name}.current`);
  fs.mkdirSync(o.out, { recursive: true });
  try {
    await target.setup(work);
    const rand = mulberry32(o.seed);
    const deadline = Date.now() + o.seconds * 1000;
    let runs = 0;
    const kinds = new Set<string>();
    while (Date.now() < deadline) {
      const { input, what } = target.next(rand);
      fs.writeFileSync(current, input);
      send({ kind: 'run', i: runs, what });
      try {
        await target.run(input);
      } catch (err) {
        const message = err instanceof FuzzFinding ? err.message : `the target itself failed: ${(err as Error)?.stack ?? String(err)}`;
        // One saved input per kind of finding (the message with its numbers and quoted parts blanked).
        const kind = message
          .split('\n')[0]
          .replace(/\d+/g, 'N')
          .replace(/"[^"]*"|'[^']*'/g, 'S');
        if (!kinds.has(kind)) {
          kinds.add(kind);
          send({ kind: 'finding', file: saveFinding(o.out, name, input, `${message}\nmutation: ${what}`, o.seed), message });
        }
      }
      runs++;
      const rss = process.memoryUsage().rss / 2 ** 20;
      if (rss > o.rssMb) {
        send({
          kind: 'finding',
          file: saveFinding(o.out, name, input, `RSS ${rss.toFixed(0)} MB after this input (limit ${o.rssMb})\nmutation: ${what}`, o.seed),
          message: `RSS ${rss.toFixed(0)} MB`,
        });
        break;
      }
    }
    send({ kind: 'done', runs });
  } finally {
    await target.teardown();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(current, { force: true });
  }
}

interface TargetResult {
  runs: number;
  findings: string[];
  children: number;
}

/** The parent: runs one target's children until its time is up, turning deaths and stalls into findings. */
async function fuzzTarget(o: Options, name: string): Promise<TargetResult> {
  const res: TargetResult = { runs: 0, findings: [], children: 0 };
  const deadline = Date.now() + o.seconds * 1000;
  const current = path.join(o.out, `${name}.current`);
  while (Date.now() < deadline - 500) {
    const seed = o.seed + 7919 * res.children++;
    const seconds = Math.max(1, (deadline - Date.now()) / 1000);
    const args = [
      '--import',
      'tsx',
      '--max-old-space-size=768',
      __filename,
      '--child',
      '--target',
      name,
      '--seconds',
      String(seconds),
      '--seed',
      String(seed),
      '--out',
      o.out,
      '--rss-mb',
      String(o.rssMb),
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env: { ...process.env, CONVBERT_QUIET: '1' } });
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    let lastWhat = '';
    let done = false;
    let hung = false;
    // Set-up (a server, model folders) gets a minute; each run then gets hangMs.
    let watchdog = setTimeout(() => ((hung = true), proc.kill('SIGKILL')), 60_000 + o.hangMs);
    proc.on('message', (m: ChildMessage) => {
      if (m.kind === 'run') {
        lastWhat = m.what;
        res.runs++;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ((hung = true), proc.kill('SIGKILL')), o.hangMs);
      } else if (m.kind === 'finding') {
        res.findings.push(`${m.file}: ${m.message.split('\n')[0]}`);
      } else {
        done = true;
      }
    });
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (c, s) => resolve({ code: c, signal: s })));
    clearTimeout(watchdog);
    if (done && code === 0) break;
    const input = fs.existsSync(current) ? new Uint8Array(fs.readFileSync(current)) : new Uint8Array();
    const why = hung ? `a run took longer than ${o.hangMs} ms (killed)` : `the process died (exit code ${code}, signal ${signal})`;
    const file = saveFinding(o.out, name, input, `${why}\nmutation: ${lastWhat}\nstderr:\n${stderr}`, seed);
    res.findings.push(`${file}: ${why}`);
    fs.rmSync(current, { force: true });
  }
  return res;
}

/** Runs one saved input in this process and says what happened. */
async function replay(name: string, file: string): Promise<void> {
  const target: Target = TARGETS[name]();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `convbert-fuzz-${name}-`));
  try {
    await target.setup(work);
    const t0 = performance.now();
    await target.run(new Uint8Array(fs.readFileSync(file)));
    console.log(`replay ${name} ${file}: passed (returned or threw a typed error) in ${(performance.now() - t0).toFixed(0)} ms`);
  } finally {
    await target.teardown();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = readOptions();
  if (o.child) return child(o);
  if (o.replay) return replay(o.targets[0], o.replay);
  let found = 0;
  let total = 0;
  for (const name of o.targets) {
    const t0 = Date.now();
    const r = await fuzzTarget(o, name);
    total += r.runs;
    found += r.findings.length;
    console.log(`fuzz ${name}: ${r.runs} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s, seed ${o.seed}, ${r.findings.length} findings`);
    for (const f of r.findings) console.log(`  ${f}`);
  }
  console.log(`fuzz: ${total} runs over ${o.targets.length} targets, ${found} findings${found ? ` (inputs and replay commands in ${path.relative(process.cwd(), o.out)})` : ''}`);
  process.exitCode = found ? 1 : 0;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
});
