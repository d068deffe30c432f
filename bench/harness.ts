// harness.ts: the benchmark harness (issue 5): us vs onnxruntime-node in ONE
// process on identical inputs and identical weights. For each config (the
// published YituTech/conv-bert-base and -medium-small configs, read from the
// fixtures' published_configs.json) it builds a seeded random ConvBertModel,
// saves it as safetensors and times fromPretrained (load time), exports it to
// ONNX for the peer (graph optimisations all, intra-op threads = cores), then
// runs every case with ours and the peer alternating in blocks of runs (--block), so a busy
// machine slows both alike:
//   1x128 latency (p50, p90), 8x128 and 32x128 throughput, 1x512 latency, and a
//   mixed batch of 32 sequences of lengths 16-256 where we run forwardPacked
//   (varlen, no padding) and the peer runs the padded (32, 256) batch.
// Reported per case: p50/p90 wall ms, CPU ms per run (process.cpuUsage: all
// threads), sequences/s, useful GFLOP/s (padding not counted) and % of peak:
// useful flops per CPU-second over the FP32 FMA flops per CPU-second that the
// bench-only opFmaPeak probe reaches at start-up (a ratio other load on the
// machine barely moves, unlike wall-clock rates), and the ratio us/peer of p50 wall and of CPU time. Also peak RSS, the
// load average before/after each case, and the command line. Results go to
// bench/results/<time>.json (and latest.json). Options (bench/args.ts, or --help):
//   --quick (fewer runs, medium-small only unless --configs)   --configs base,medium-small
//   --cases 1x128,8x128,32x128,1x512,mixed   --iters N (runs per case; default per case)
//   --threads N   --seed 0   --no-peer   --no-save   --json
//   --block 3 (timed runs per engine in a row, after one untimed run: see the timing loop)
//   --dtype float32|bfloat16|int8 (our engine's weight type; for bfloat16 the peer stays fp32, so 'max abs diff'
//   is then the bf16 error; for int8 the table's peer is its dynamically quantized int8 model (exportOnnx dtype
//   'int8'), the fp32 peer is timed too (alternating) and printed below the table as 'vs peer fp32', and the check
//   line gives both int8 errors against the fp32 peer)
//   --modules-to-not-convert a,b (with --dtype bfloat16|int8: these linear modules of ours stay float32;
//   fromPretrained's modulesToNotConvert)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';

import { setNumThreads } from '../lib/backend';
import { ConvBertConfig } from '../lib/config';
import { ConvBertError } from '../lib/errors';
import { ConvBertModel } from '../lib/models';
import { loadTestAddon, native } from '../lib/native';
import { exportOnnx } from '../lib/onnx/export';
import { Tensor } from '../lib/tensor';
import { benchArgs, benchFailed, HARNESS, MAX_BENCH_TOKENS } from './args';
import { publishedConfig } from './configs';
import { trunkFlops } from '../lib/flops';
import { quantile } from './model';

type Ort = typeof import('onnxruntime-node');

const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const round = (x: number, d = 2): number => +x.toFixed(d);

/** Deterministic ids in [1000, vocab): no row is padding or a special token. */
function seqIds(len: number, vocab: number, seed: number): Int32Array {
  const ids = new Int32Array(len);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    ids[i] = 1000 + (s % (vocab - 1000));
  }
  return ids;
}

/** A case: B sequences with these lengths (all equal except 'mixed'). */
interface Case {
  name: string;
  lens: number[];
  iters: number;
}

function makeCases(names: string[], quick: boolean, itersOverride: number): Case[] {
  const defIters: Record<string, [number, number]> = {
    '1x128': [20, 8],
    '8x128': [6, 3],
    '32x128': [3, 1],
    '1x512': [6, 3],
    mixed: [3, 1],
  };
  return names.map((name) => {
    let lens: number[];
    if (name === 'mixed') {
      // 32 lengths spread over 16..256 (deterministic).
      lens = Array.from({ length: 32 }, (_, i) => 16 + Math.round(((i * 37) % 32) * (240 / 31)));
    } else {
      const m = /^(\d+)x(\d+)$/.exec(name);
      const [b, l] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
      if (!(b >= 1 && l >= 1)) throw new ConvBertError(`--cases: expected BxL like 8x128 or 'mixed', got ${JSON.stringify(name)}`, 'ERR_CONVBERT_ARG');
      // The batch sizes an array here and the inputs later: bounded like every bench shape.
      if (b * l > MAX_BENCH_TOKENS) throw new ConvBertError(`--cases: expected at most ${MAX_BENCH_TOKENS} tokens a case, got ${name} (${b * l})`, 'ERR_CONVBERT_LIMIT');
      lens = new Array<number>(b).fill(l);
    }
    const d = defIters[name] ?? [5, 2];
    return { name, lens, iters: itersOverride > 0 ? itersOverride : quick ? d[1] : d[0] };
  });
}

interface Side {
  p50_ms: number;
  p90_ms: number;
  cpu_ms: number;
  seq_per_s: number;
  gflop_per_s: number;
  pct_of_peak: number;
}

interface CaseResult {
  case: string;
  batch: number;
  tokens: number;
  padded_tokens: number;
  gflop: number;
  runs: number;
  ours: Side;
  peer?: Side;
  ratio_wall?: number;
  ratio_cpu?: number;
  /** --dtype int8 only: the fp32 peer, timed in the same alternation. */
  peer_fp32?: Side;
  ratio_wall_vs_peer_fp32?: number;
  ratio_cpu_vs_peer_fp32?: number;
  load_average_before: string;
  load_average_after: string;
  ours_mode: string;
}

function side(times: number[], cpu: number[], batch: number, gflop: number, peakPerCpuS: number): Side {
  const t = [...times].sort((a, b) => a - b);
  const c = [...cpu].sort((a, b) => a - b);
  const p50 = quantile(t, 0.5);
  const cpuMs = quantile(c, 0.5);
  return {
    p50_ms: round(p50),
    p90_ms: round(quantile(t, 0.9)),
    cpu_ms: round(cpuMs),
    seq_per_s: round((batch * 1000) / p50),
    gflop_per_s: round(gflop / (p50 / 1000), 1),
    // Useful flops per CPU-second over the probe's FMA flops per CPU-second: the share of the
    // cores' FMA throughput the run used while it had them (insensitive to other load).
    pct_of_peak: round((100 * (gflop / (cpuMs / 1000))) / peakPerCpuS, 1),
  };
}

async function timed(fn: () => Promise<unknown>): Promise<[number, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000];
}

/**
 * The FMA probe on the best path with every pool thread, best of 5 runs of about 0.1 s:
 * wall GFLOP/s (the machine's peak when nothing else runs) and GFLOP per CPU-second
 * (one core's rate, which other load barely changes).
 */
function measurePeak(threads: number): { gflops: number; gflops_per_cpu_second: number; path: string; threads: number } {
  type R = { gflops: number; gflopsPerCpuSecond: number; path: string; threads: number };
  const probe = loadTestAddon().addon.opFmaPeak as (p: string, i: number, t: number) => R;
  const best = native().backendInfo().bestIsa as string;
  let wall = 0;
  let perCpu = 0;
  let r: R = probe(best, 20_000_000, threads);
  for (let i = 0; i < 5; i++) {
    r = probe(best, 20_000_000, threads);
    wall = Math.max(wall, r.gflops);
    perCpu = Math.max(perCpu, r.gflopsPerCpuSecond);
  }
  return { gflops: round(wall, 1), gflops_per_cpu_second: round(perCpu, 1), path: r.path, threads: r.threads };
}

/** How ours runs: its weight type, the modules kept in float32, and timed runs per engine in a row. */
interface RunOptions {
  dtype: 'float32' | 'bfloat16' | 'int8';
  keep: string[];
  block: number;
}

async function runConfig(
  key: string,
  cases: Case[],
  seed: number,
  threads: number,
  peakPerCpuS: number,
  ort: Ort | null,
  { dtype, keep, block }: RunOptions,
  log: (s: string) => void,
): Promise<Record<string, unknown>> {
  const { id, config: dict } = publishedConfig(key, '--configs');
  const config = ConvBertConfig.fromDict(dict);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bench-'));
  try {
    const seeded = ConvBertModel.fromConfig(config, { seed });
    await seeded.savePretrained(dir);
    const int8 = dtype === 'int8';
    const onnxFile = path.join(dir, 'model.onnx');
    const onnxInt8File = path.join(dir, 'model_int8.onnx');
    if (ort) await exportOnnx(seeded, onnxFile, { opset: 17 });
    // int8: the peer's own int8 model (onnxruntime's dynamic quantization of every weight MatMul).
    if (ort && int8) await exportOnnx(seeded, onnxInt8File, { opset: 17, dtype: 'int8' });
    seeded.dispose();

    let t0 = performance.now();
    const model = await ConvBertModel.fromPretrained(dir, { dtype, ...(keep.length > 0 ? { modulesToNotConvert: keep } : {}) });
    const loadMs = performance.now() - t0;
    let sess: import('onnxruntime-node').InferenceSession | null = null;
    let sessFp32: import('onnxruntime-node').InferenceSession | null = null;
    let peerLoadMs: number | undefined;
    if (ort) {
      const opts = { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' } as const;
      t0 = performance.now();
      sess = await ort.InferenceSession.create(int8 ? onnxInt8File : onnxFile, opts);
      peerLoadMs = performance.now() - t0;
      if (int8) sessFp32 = await ort.InferenceSession.create(onnxFile, opts);
    }
    const weightBytes = [...(await model.stateDict()).values()].reduce((s, t) => s + t.data.byteLength, 0);
    log(
      `\n## ${id} (seeded random, seed ${seed}, ours ${dtype}${keep.length > 0 ? ` with ${keep.join(',')} in float32` : ''}${int8 ? ', peer int8' : ''}): hidden ${config.hidden_size}, layers ${config.num_hidden_layers}, ` +
        `groups ${config.num_groups}; weights ${(weightBytes / 1e6).toFixed(1)} MB; load (fromPretrained, safetensors) ${loadMs.toFixed(0)} ms` +
        (peerLoadMs !== undefined ? `, peer session ${peerLoadMs.toFixed(0)} ms` : ''),
    );
    log('case      tokens  ours p50   p90      cpu ms   seq/s   GFLOP/s  %peak |  peer p50  p90      cpu ms   seq/s   GFLOP/s |  us/peer wall  cpu | load avg');

    const results: CaseResult[] = [];
    const vsFp32: string[] = [];
    let maxAbsDiff: number | undefined;
    let int8Errors: { ours: number; peer: number } | undefined;
    for (const c of cases) {
      const B = c.lens.length;
      const L = Math.max(...c.lens);
      const tokens = c.lens.reduce((s, n) => s + n, 0);
      const gflop = c.lens.reduce((s, n) => s + trunkFlops(config, n), 0) / 1e9;
      const rows = c.lens.map((n, b) => seqIds(n, config.vocab_size, seed * 1000 + b + 1));
      const equal = c.lens.every((n) => n === L);
      // Ours: the padded forward when all lengths are equal, else forwardPacked (varlen).
      const ids = new Int32Array(B * L);
      const mask = new BigInt64Array(B * L);
      rows.forEach((r, b) => {
        ids.set(r, b * L);
        mask.fill(1n, b * L, b * L + r.length);
      });
      const packedRows = rows.map((r) => ({ input_ids: r }));
      const idsT = new Tensor('int32', ids, [B, L]);
      const ours = equal ? async () => (await model.forward({ input_ids: idsT })).last_hidden_state : async () => model.forwardPacked(packedRows);
      const feeds = ort
        ? {
            input_ids: new ort.Tensor(
              'int64',
              BigInt64Array.from(ids, (x) => BigInt(x)),
              [B, L],
            ),
            attention_mask: new ort.Tensor('int64', mask, [B, L]),
            token_type_ids: new ort.Tensor('int64', new BigInt64Array(B * L), [B, L]),
          }
        : null;
      const peer = sess && feeds ? async () => sess!.run(feeds) : null;
      const peerFp32 = sessFp32 && feeds ? async () => sessFp32!.run(feeds) : null;
      const maxAbs = (a: Float32Array, b: Float32Array): number => {
        let m = 0;
        for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
      };
      // One warm-up each (and the identical-function check on the first equal-length case).
      const warm = await ours();
      if (peer) {
        const theirs = await peer();
        if (equal && maxAbsDiff === undefined) {
          const a = (warm as Tensor).data as Float32Array;
          const b = theirs.last_hidden_state.data as Float32Array;
          maxAbsDiff = maxAbs(a, b);
          if (peerFp32) {
            // Both int8 models against the fp32 peer (the exact function up to fp32 rounding).
            const ref = (await peerFp32()).last_hidden_state.data as Float32Array;
            int8Errors = { ours: maxAbs(a, ref), peer: maxAbs(b, ref) };
          }
        }
      }
      if (peerFp32) await peerFp32();
      const la0 = load();
      const ow: number[] = [],
        oc: number[] = [],
        pw: number[] = [],
        pc: number[] = [],
        fw: number[] = [],
        fc: number[] = [];
      // Engines alternate in blocks: one untimed run, then `block` timed runs of the same
      // engine. Alternating run by run let onnxruntime's intra-op threads, which spin for
      // a while after a run, take the cores (and add to the CPU time) of our next run;
      // an idle gap instead lets the cores go cold. Blocks keep the alternation (a load
      // change on the machine hits both engines) without either effect.
      const timeBlock = async (fn: () => Promise<unknown>, n: number, wall: number[], cpuMs: number[]) => {
        await fn();
        for (let j = 0; j < n; j++) {
          const [w, cpu] = await timed(fn);
          wall.push(w);
          cpuMs.push(cpu);
        }
      };
      for (let i = 0; i < c.iters; i += block) {
        const n = Math.min(block, c.iters - i);
        await timeBlock(ours, n, ow, oc);
        if (peer) await timeBlock(peer, n, pw, pc);
        if (peerFp32) await timeBlock(peerFp32, n, fw, fc);
      }
      const r: CaseResult = {
        case: c.name,
        batch: B,
        tokens,
        padded_tokens: B * L,
        gflop: round(gflop, 2),
        runs: c.iters,
        ours: side(ow, oc, B, gflop, peakPerCpuS),
        ours_mode: equal ? 'forward (B, L)' : 'forwardPacked (varlen)',
        load_average_before: la0,
        load_average_after: load(),
      };
      if (peer) {
        r.peer = side(pw, pc, B, gflop, peakPerCpuS);
        r.ratio_wall = round(r.ours.p50_ms / r.peer.p50_ms, 3);
        r.ratio_cpu = round(r.ours.cpu_ms / r.peer.cpu_ms, 3);
      }
      if (peerFp32) {
        r.peer_fp32 = side(fw, fc, B, gflop, peakPerCpuS);
        r.ratio_wall_vs_peer_fp32 = round(r.ours.p50_ms / r.peer_fp32.p50_ms, 3);
        r.ratio_cpu_vs_peer_fp32 = round(r.ours.cpu_ms / r.peer_fp32.cpu_ms, 3);
        const f = r.peer_fp32;
        vsFp32.push(
          `${c.name.padEnd(9)} peer fp32 p50 ${f.p50_ms} ms, p90 ${f.p90_ms}, cpu ${f.cpu_ms} ms, ${f.seq_per_s} seq/s | ` +
            `us(int8)/peer fp32 wall ${r.ratio_wall_vs_peer_fp32} cpu ${r.ratio_cpu_vs_peer_fp32}; peer int8/peer fp32 wall ${round(r.peer!.p50_ms / f.p50_ms, 3)}`,
        );
      }
      results.push(r);
      const o = r.ours;
      const p = r.peer;
      log(
        `${c.name.padEnd(9)} ${String(tokens).padStart(6)} ${String(o.p50_ms).padStart(9)} ${String(o.p90_ms).padStart(8)} ${String(o.cpu_ms).padStart(9)} ` +
          `${String(o.seq_per_s).padStart(7)} ${String(o.gflop_per_s).padStart(8)} ${String(o.pct_of_peak).padStart(6)} | ` +
          (p
            ? `${String(p.p50_ms).padStart(9)} ${String(p.p90_ms).padStart(8)} ${String(p.cpu_ms).padStart(9)} ${String(p.seq_per_s).padStart(7)} ${String(p.gflop_per_s).padStart(8)} | ` +
              `${String(r.ratio_wall).padStart(12)} ${String(r.ratio_cpu).padStart(5)}`
            : `${'(no peer)'.padStart(47)} | ${''.padStart(18)}`) +
          ` | ${la0}`,
      );
    }
    if (vsFp32.length > 0) {
      log('vs peer fp32 (the same cases, timed in the same alternation):');
      for (const line of vsFp32) log(line);
    }
    if (maxAbsDiff !== undefined) log(`check: max |peer - ours| on last_hidden_state: ${maxAbsDiff.toExponential(2)}`);
    if (int8Errors)
      log(`check: int8 error vs the fp32 peer on last_hidden_state (max abs): ours ${int8Errors.ours.toExponential(2)}, peer int8 ${int8Errors.peer.toExponential(2)}`);
    model.dispose();
    if (sess) await sess.release();
    if (sessFp32) await sessFp32.release();
    return {
      config: id,
      dtype,
      modules_to_not_convert: keep.length > 0 ? keep : undefined,
      peer_dtype: int8 ? 'int8' : 'float32',
      weight_bytes: weightBytes,
      load_ms: round(loadMs, 0),
      peer_load_ms: peerLoadMs !== undefined ? round(peerLoadMs, 0) : undefined,
      max_abs_diff_vs_peer: maxAbsDiff,
      int8_max_abs_error_vs_peer_fp32: int8Errors,
      cases: results,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = benchArgs(HARNESS);
  const quick = a.flag('quick');
  const json = a.flag('json');
  const seed = a.int('seed', 0);
  const threads = a.int('threads', 1, { fallback: os.availableParallelism() });
  // Every option is read (and checked) before the first model is built.
  const run: RunOptions = {
    dtype: a.choice('dtype', ['float32', 'bfloat16', 'int8'] as const),
    keep: a.list('modules-to-not-convert'),
    block: a.int('block', 1),
  };
  const block = run.block;
  const configs = a.given('configs') ? a.list('configs') : quick ? ['medium-small'] : ['base', 'medium-small'];
  const cases = makeCases(a.list('cases'), quick, a.int('iters', 0));
  setNumThreads(threads);
  let ort: Ort | null = null;
  if (!a.flag('no-peer')) {
    try {
      ort = (await import('onnxruntime-node')) as Ort;
    } catch (e) {
      console.error(`onnxruntime-node not available (${(e as Error).message}): running without the peer`);
    }
  }
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const lines: string[] = [];
  const log = (s: string): void => {
    lines.push(s);
    if (!json) console.log(s);
  };
  const peak = measurePeak(threads);
  const info = native().backendInfo() as unknown as Record<string, unknown>;
  log(`$ ${command}`);
  log(
    `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ISA ${String(info.bestIsa)}, threads ${threads}; ` +
      `measured FP32 FMA peak (${peak.path}, ${peak.threads} threads, best of 5): ${peak.gflops} GFLOP/s wall, ` +
      `${peak.gflops_per_cpu_second} GFLOP per CPU-second; ` +
      `peer ${ort ? `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim() : 'none'}; load average ${load()}`,
  );
  log(`wall ms: p50/p90 of runs, ours and the peer alternating in blocks of ${block} after one untimed run each; cpu ms: median process CPU time per run (all threads);`);
  log("GFLOP/s: useful flops (no padding) / p50 wall; %peak: useful flops per CPU-second / the probe's per CPU-second;");
  log('us/peer < 1 means we are faster.');
  const out: Record<string, unknown>[] = [];
  for (const k of configs) out.push(await runConfig(k, cases, seed, threads, peak.gflops_per_cpu_second, ort, run, log));
  const peakRss = process.resourceUsage().maxRSS * 1024;
  log(`\npeak RSS of the process (both engines, all configs): ${(peakRss / 1e6).toFixed(0)} MB; load average after: ${load()}`);
  const result = {
    date: new Date().toISOString(),
    command,
    cpu: os.cpus()[0]?.model,
    cpus: os.cpus().length,
    threads,
    fma_peak: peak,
    peer: ort ? `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim() : null,
    peak_rss_bytes: peakRss,
    configs: out,
    table: lines,
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  if (!a.flag('no-save')) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const body = JSON.stringify(result, null, 2) + '\n';
    fs.writeFileSync(path.join(dir, `${result.date.replace(/[:.]/g, '-')}.json`), body);
    fs.writeFileSync(path.join(dir, 'latest.json'), body);
    if (!json) console.log(`results: bench/results/latest.json`);
  }
}

if (require.main === module) {
  main().catch(benchFailed);
}
