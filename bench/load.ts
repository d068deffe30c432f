// load.ts: load time and peak RSS per engine dtype (issue 5 targets: ConvBERT-base
// from safetensors in <= 1 s; peak RSS <= 1.3x weight bytes plus activations).
// The parent saves a seeded random model (published config) as safetensors once,
// reads the file once so it is in the page cache, then runs every measurement in
// a FRESH child process, so that the RSS belongs to one engine and "first load"
// means first in a process. A child reports:
//   load wall ms, split into: before the engine (config.json, safetensors header,
//   key mapping), reading the tensors (time inside fs calls the lazy getters make)
//   and the rest of the Engine constructor (native copy + gemm packing), with the
//   minor page faults and user/sys CPU of each part;
//   RSS (VmHWM, see peakRss): node + addon baseline, peak after load, settled after a GC, peak after
//   one BxL forward per --shapes entry; weight bytes (nativeBytes after load) and
//   arena bytes (nativeBytes growth after the forward), and
//   peak / (baseline + weights + arena + input/output arrays);
//   then --repeats more loads in the same process (dispose, load again).
// Variants (each its own children): plain; warm (the child first loads and
// disposes a tiny fixture model: addon init, thread pool, JIT of the loader);
// thp (the child runs with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, so glibc
// malloc asks for transparent huge pages: tells whether page faults dominate).
// Also a page-fault probe: ms per 4 KiB page touched for the first time vs again.
// Options (bench/args.ts, or --help):
//   node --import tsx bench/load.ts [--config base] [--class ConvBertModel]
//     [--dtypes float32,bfloat16,int8] [--variants plain,warm,thp] [--runs 2]
//     [--repeats 2] [--shapes 8x128,32x128] [--no-probe] [--no-save] [--json]
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ConvBertError } from '../lib/errors';
import { benchArgs, type BenchArgs, benchFailed, LOAD } from './args';
import { fixturesDir, publishedConfig } from './configs';
const MB = (b: number): number => +(b / 1e6).toFixed(1);

interface ChildArgs {
  dir: string;
  cls: string;
  dtype: string;
  warm: boolean;
  repeats: number;
  shapes: Array<[number, number]>;
}

interface Usage {
  ms: number;
  minflt: number;
  user_ms: number;
  sys_ms: number;
}

interface ChildResult {
  dtype: string;
  skipped?: string;
  startup_ms: number;
  warm_ms?: number;
  baseline_rss: number;
  load: Usage;
  split: { before_engine: Usage; engine: Usage; read_ms: number; read_calls: number; read_bytes: number };
  weights_bytes: number;
  peak_rss_after_load: number;
  rss_settled_after_load: number;
  forwards: Array<{ shape: string; ms: number; arena_bytes: number; io_bytes: number; peak_rss: number; ratio: number }>;
  repeated_loads_ms: number[];
}

// ---------------------------------------------------------------- child

/**
 * This process's peak RSS in bytes: VmHWM of /proc/self/status on Linux. Not
 * process.resourceUsage().maxRSS: in a child started by fork + exec, Linux folds
 * the pre-exec copy of the PARENT's peak RSS into it, so a child spawned by a
 * parent that had just built the model reported ~1 GB before loading anything.
 */
function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS * 1024;
}

function usage0(): () => Usage {
  const t = performance.now();
  const r = process.resourceUsage();
  return () => {
    const s = process.resourceUsage();
    return {
      ms: +(performance.now() - t).toFixed(1),
      minflt: s.minorPageFault - r.minorPageFault,
      user_ms: Math.round((s.userCPUTime - r.userCPUTime) / 1000),
      sys_ms: Math.round((s.systemCPUTime - r.systemCPUTime) / 1000),
    };
  };
}

async function child(a: ChildArgs): Promise<ChildResult> {
  const t0 = performance.now();
  // Imported here so that the parent never loads the addon and the child's startup is timed.
  const { native } = await import('../lib/native');
  const models = await import('../lib/models');
  const { ConvBertError } = await import('../lib/errors');
  const { Tensor } = await import('../lib/tensor');
  type Model = { forward(i: unknown): Promise<Record<string, unknown>>; dispose(): void; nativeBytes: number };
  type Cls = { fromPretrained(p: string, o: Record<string, unknown>): Promise<Model> };
  type EngineCtor = new (spec: unknown, opts?: unknown) => unknown;
  const addon = native();
  const Native = addon.Engine as EngineCtor;
  const startupMs = performance.now() - t0;
  const cls = (models as unknown as Record<string, Cls>)[a.cls];
  const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});

  // The lazy safetensors getters read each tensor with fs.openSync/readSync/closeSync while the
  // Engine constructor asks for it; time spent inside those calls is the read part of the load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeFs = require('fs') as Record<string, (...x: unknown[]) => unknown>;
  let readMs = 0;
  let readCalls = 0;
  let readBytes = 0;
  for (const k of ['openSync', 'readSync', 'closeSync']) {
    const orig = nodeFs[k];
    nodeFs[k] = function (this: unknown, ...x: unknown[]): unknown {
      const t = performance.now();
      try {
        const r = orig.apply(this, x);
        if (k === 'readSync' && typeof r === 'number') {
          readCalls++;
          readBytes += r;
        }
        return r;
      } finally {
        readMs += performance.now() - t;
      }
    };
  }
  // The same native Engine, constructed through a function so the constructor (weight reads + packing) is
  // timed. It replaces the addon's export (which the models read at construction) rather than going
  // through the tests-only `engine` option, so fromPretrained takes exactly its production path.
  let engineEnd: (() => Usage) | null = null;
  let engineUsage: Usage | null = null;
  let beforeEngine: Usage | null = null;
  let loadStart: (() => Usage) | null = null;
  function TimedEngine(spec: unknown, opts?: unknown): unknown {
    beforeEngine = loadStart ? loadStart() : null;
    engineEnd = usage0();
    readMs = 0;
    readCalls = 0;
    readBytes = 0;
    const e = opts === undefined ? new Native(spec) : new Native(spec, opts);
    engineUsage = engineEnd();
    return e;
  }
  const load = async (): Promise<Model> => {
    loadStart = usage0();
    return cls.fromPretrained(a.dir, { dtype: a.dtype });
  };

  (addon as Record<string, unknown>).Engine = TimedEngine;

  let warmMs: number | undefined;
  if (a.warm) {
    // A tiny fixture model first: the addon, the thread pool and the loader's JS paths are then warm.
    const t = performance.now();
    const tiny = await (models as unknown as Record<string, Cls>).ConvBertModel.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'), { dtype: a.dtype });
    const ids = new Tensor('int32', new Int32Array(16).fill(5), [2, 8]);
    await tiny.forward({ input_ids: ids });
    tiny.dispose();
    warmMs = performance.now() - t;
  }
  gc();
  const baseline = process.memoryUsage().rss;
  const res: ChildResult = {
    dtype: a.dtype,
    startup_ms: +startupMs.toFixed(1),
    warm_ms: warmMs === undefined ? undefined : +warmMs.toFixed(1),
    baseline_rss: baseline,
    load: { ms: 0, minflt: 0, user_ms: 0, sys_ms: 0 },
    split: { before_engine: { ms: 0, minflt: 0, user_ms: 0, sys_ms: 0 }, engine: { ms: 0, minflt: 0, user_ms: 0, sys_ms: 0 }, read_ms: 0, read_calls: 0, read_bytes: 0 },
    weights_bytes: 0,
    peak_rss_after_load: 0,
    rss_settled_after_load: 0,
    forwards: [],
    repeated_loads_ms: [],
  };
  const total = usage0();
  let model: Model;
  try {
    model = await load();
  } catch (e) {
    if (e instanceof ConvBertError && e.code === 'ERR_CONVBERT_UNSUPPORTED') return { ...res, skipped: e.message };
    throw e;
  }
  res.load = total();
  res.split = { before_engine: beforeEngine!, engine: engineUsage!, read_ms: +readMs.toFixed(1), read_calls: readCalls, read_bytes: readBytes };
  res.weights_bytes = model.nativeBytes;
  res.peak_rss_after_load = peakRss();
  gc();
  res.rss_settled_after_load = process.memoryUsage().rss;

  const H = (model as unknown as { config: { hidden_size: number; vocab_size: number } }).config;
  for (const [B, L] of a.shapes) {
    const ids = new Int32Array(B * L);
    for (let i = 0; i < ids.length; i++) ids[i] = 1000 + ((i * 7919) % (H.vocab_size - 1000));
    const t = performance.now();
    await model.forward({ input_ids: new Tensor('int32', ids, [B, L]) });
    const ms = performance.now() - t;
    const arena = model.nativeBytes - res.weights_bytes;
    // Input/output arrays: input_ids and the float attention mask the model builds (4 bytes a token each),
    // and the head's output (logits for masked LM, last_hidden_state otherwise).
    const io = B * L * 4 * (2 + (a.cls === 'ConvBertForMaskedLM' ? H.vocab_size : H.hidden_size));
    const peak = peakRss();
    res.forwards.push({
      shape: `${B}x${L}`,
      ms: +ms.toFixed(1),
      arena_bytes: arena,
      io_bytes: io,
      peak_rss: peak,
      ratio: +(peak / (baseline + res.weights_bytes + arena + io)).toFixed(3),
    });
  }
  model.dispose();
  for (let i = 0; i < a.repeats; i++) {
    gc();
    const t = performance.now();
    const m = await load();
    res.repeated_loads_ms.push(+(performance.now() - t).toFixed(1));
    m.dispose();
  }
  return res;
}

/** ms per 4 KiB page for touching fresh memory vs the same memory again (256 MiB). */
function faultProbe(): { first_touch_us_per_page: number; retouch_us_per_page: number; mib: number } {
  const n = 256 << 20;
  const a = new Uint8Array(n);
  let t = performance.now();
  for (let i = 0; i < n; i += 4096) a[i] = 1;
  const first = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < n; i += 4096) a[i] = 2;
  const again = performance.now() - t;
  const pages = n / 4096;
  return { first_touch_us_per_page: +((first * 1000) / pages).toFixed(3), retouch_us_per_page: +((again * 1000) / pages).toFixed(3), mib: 256 };
}

// ---------------------------------------------------------------- parent

function runChild(payload: Record<string, unknown>, env: NodeJS.ProcessEnv): unknown {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, '--child', JSON.stringify(payload)], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...env, CONVBERT_QUIET: '1' },
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function parent(a: BenchArgs<typeof LOAD.options>): Promise<void> {
  // The parent only builds and saves the model; its CUDA-fallback notice would interleave with the table.
  process.env.CONVBERT_QUIET ??= '1';
  const key = a.str('config');
  const clsName = a.str('class');
  const dtypes = a.list('dtypes');
  const variants = a.choices('variants', ['plain', 'warm', 'thp'] as const);
  const runs = a.int('runs', 1);
  const repeats = a.int('repeats', 0);
  const shapes = a.shapes('shapes');
  const json = a.flag('json');
  const lines: string[] = [];
  const log = (s: string): void => {
    lines.push(s);
    if (!json) console.log(s);
  };

  const { ConvBertConfig } = await import('../lib/config');
  const models = (await import('../lib/models')) as unknown as Record<
    string,
    { fromConfig(c: unknown, o: unknown): { savePretrained(d: string): Promise<void>; dispose(): void } }
  >;
  const { id, config: published } = publishedConfig(key, '--config');
  if (typeof models[clsName]?.fromConfig !== 'function') {
    const known = Object.keys(models).filter((k) => /^ConvBert/.test(k) && typeof models[k]?.fromConfig === 'function');
    throw new ConvBertError(`--class: expected a model class (${known.join(', ')}), got ${JSON.stringify(clsName)}`, 'ERR_CONVBERT_ARG');
  }
  const command = `node --import tsx bench/load.ts ${process.argv.slice(2).join(' ')}`.trim();
  log(
    `${command}\n${new Date().toISOString()} | ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length} | node ${process.version} | load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-load-'));
  const results: Array<{ variant: string; run: number; r: ChildResult }> = [];
  let probe: ReturnType<typeof faultProbe> | undefined;
  try {
    const seeded = models[clsName].fromConfig(ConvBertConfig.fromDict(published), { seed: 0 });
    await seeded.savePretrained(dir);
    seeded.dispose();
    const file = path.join(dir, 'model.safetensors');
    // Into the page cache: every child then reads a cached file (a warm-cache load, as a server restart would see).
    fs.readFileSync(file);
    log(`${id}, ${clsName}, seeded random: model.safetensors ${MB(fs.statSync(file).size)} MB (page cache warm); every row is a fresh child process`);
    if (!a.flag('no-probe')) {
      probe = runChild({ probe: true }, process.env) as ReturnType<typeof faultProbe>;
      log(
        `page-fault probe (fresh child, ${probe.mib} MiB): ${probe.first_touch_us_per_page} us per 4 KiB page on first touch, ${probe.retouch_us_per_page} us when touched again`,
      );
    }
    for (const dtype of dtypes) {
      for (const variant of variants) {
        for (let run = 0; run < runs; run++) {
          const env = { ...process.env };
          if (variant === 'thp') env.GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1';
          const a: ChildArgs = { dir, cls: clsName, dtype, warm: variant === 'warm', repeats, shapes };
          const r = runChild(a as unknown as Record<string, unknown>, env) as ChildResult;
          results.push({ variant, run, r });
          if (r.skipped) {
            log(`${dtype}: skipped, the engine refuses it: ${r.skipped.split('\n')[0]}`);
            break;
          }
        }
        if (results[results.length - 1]?.r.skipped) break;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  log('\nload (first in a fresh process): wall ms = before engine + engine constructor (of which reading tensors); faults = minor page faults; cpu = user/sys ms');
  log('dtype     variant run  load ms  before  engine  (read)   faults   cpu user/sys  weights MB  repeated loads ms');
  for (const { variant, run, r } of results) {
    if (r.skipped) continue;
    log(
      `${r.dtype.padEnd(9)} ${variant.padEnd(7)} ${String(run).padStart(3)} ${r.load.ms.toFixed(0).padStart(8)} ${r.split.before_engine.ms.toFixed(0).padStart(7)} ${r.split.engine.ms.toFixed(0).padStart(7)}  (${r.split.read_ms.toFixed(0).padStart(5)}) ` +
        `${String(r.load.minflt).padStart(8)}   ${`${r.load.user_ms}/${r.load.sys_ms}`.padEnd(12)} ${String(MB(r.weights_bytes)).padStart(10)}  ${r.repeated_loads_ms.map((x) => x.toFixed(0)).join(', ')}`,
    );
  }
  log('\npeak RSS (MB): baseline = node + addon before the load; ratio = peak / (baseline + weights + arena + input/output arrays)');
  log('dtype     variant run  baseline  peak@load  settled  ' + shapes.map(([b, l]) => `${b}x${l}: peak  arena  ratio  fwd ms`.padEnd(36)).join(' '));
  for (const { variant, run, r } of results) {
    if (r.skipped) continue;
    log(
      `${r.dtype.padEnd(9)} ${variant.padEnd(7)} ${String(run).padStart(3)} ${String(MB(r.baseline_rss)).padStart(9)} ${String(MB(r.peak_rss_after_load)).padStart(10)} ${String(MB(r.rss_settled_after_load)).padStart(8)}  ` +
        r.forwards
          .map((f) => `${String(MB(f.peak_rss)).padStart(12)} ${String(MB(f.arena_bytes)).padStart(6)} ${f.ratio.toFixed(2).padStart(6)} ${f.ms.toFixed(0).padStart(7)}`.padEnd(36))
          .join(' '),
    );
  }
  log('\nmedian first load per dtype and variant (ms):');
  for (const dtype of dtypes) {
    const parts = variants
      .map((v) => results.filter((x) => x.variant === v && x.r.dtype === dtype && !x.r.skipped).map((x) => x.r.load.ms))
      .map((xs, i) => (xs.length ? `${variants[i]} ${median(xs).toFixed(0)}` : ''))
      .filter(Boolean);
    if (parts.length) log(`  ${dtype}: ${parts.join(', ')}`);
  }
  log(
    `load average after: ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const out = { date: new Date().toISOString(), command, config: id, class: clsName, probe, results };
  if (!a.flag('no-save')) {
    const rdir = path.join(__dirname, 'results');
    fs.mkdirSync(rdir, { recursive: true });
    const f = path.join(rdir, `load-${out.date.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(f, JSON.stringify(out, null, 1));
    if (!json) console.log(`results: ${path.relative(process.cwd(), f)}`);
  }
  if (json) console.log(JSON.stringify(out));
}

if (require.main === module) {
  // One table for both ends: the parent starts each child as `load.ts --child <job as JSON>`.
  const a = benchArgs(LOAD);
  const main = async (): Promise<void> => {
    if (!a.given('child')) return parent(a);
    const job = JSON.parse(a.str('child')) as ChildArgs & { probe?: boolean };
    process.stdout.write(JSON.stringify(job.probe ? faultProbe() : await child(job)) + '\n');
  };
  main().catch(benchFailed);
}
