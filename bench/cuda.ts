// cuda.ts (`npm run bench:cuda`): the CUDA backend on a real GPU. Per op (kernel time
// from CUDA events, copies excluded): ms, TFLOP/s, GB/s and % of the card's peak; then
// ConvBERT-base (seeded random, no download) end to end through the CUDA engine in
// float32 / float16 / bfloat16: median ms and sequences/s per batch x seq shape.
// Without the CUDA build or a GPU it prints "no GPU: skipped" and exits 77 (not a pass).
// Options (bench/args.ts, or --help): --shapes 1x128,8x128,32x128,64x128,1x512,8x512,64x512  --iters 10  --warmup 3
//          --dtypes float32,float16,bfloat16  --ops-only  --model-only  --json
import { performance } from 'perf_hooks';

import { backendInfo } from '../lib/backend';
import { ConvBertConfig } from '../lib/config';
import { ConvBertModel } from '../lib/models';
import type { EngineSpec, NativeEngine, NativeEngineCtor } from '../lib/engine_types';
import { loadTestAddon, native } from '../lib/native';
import { benchArgs, benchFailed, CUDA } from './args';
import { benchIds, quantile } from './model';
import { trunkFlops } from '../lib/flops';

type Dtype = 'float32' | 'float16' | 'bfloat16';

// Dense peaks (no sparsity) by card, from NVIDIA's data sheets: TFLOP/s fp16/bf16 tensor, tf32 tensor, fp32 SIMT; GB/s.
const PEAKS: { match: RegExp; f16: number; tf32: number; f32: number; gbs: number }[] = [
  { match: /H200/, f16: 989, tf32: 494, f32: 67, gbs: 4800 },
  { match: /H100.*PCIe/, f16: 756, tf32: 378, f32: 51, gbs: 2000 },
  { match: /H100/, f16: 989, tf32: 494, f32: 67, gbs: 3350 },
  { match: /A100.*80GB/, f16: 312, tf32: 156, f32: 19.5, gbs: 2039 },
  { match: /A100/, f16: 312, tf32: 156, f32: 19.5, gbs: 1555 },
  { match: /L40S/, f16: 362, tf32: 183, f32: 91.6, gbs: 864 },
  { match: /A10\b/, f16: 125, tf32: 62.5, f32: 31.2, gbs: 600 },
];

interface Ops {
  cudaBench(iters: number): void;
  cudaBenchLastMs(): number;
  cudaGemm(o: object): Float32Array;
  cudaAttention(o: object): unknown;
  cudaDynconv(o: object): Float32Array;
  cudaSepconv(o: object): Float32Array;
  cudaLayernorm(o: object): Float32Array;
  opLightconv(o: object, path: string): Float32Array;
}

function randArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

function cudaEngineCtor(dtype: Dtype): NativeEngineCtor {
  const Engine = native().Engine as unknown as new (spec: EngineSpec, opts: object) => NativeEngine & { device?: string };
  return class {
    constructor(spec: EngineSpec) {
      const e = new Engine(spec, { device: 'cuda:0', dtype });
      if (e.device !== 'cuda:0') throw new Error(`the Engine was built for '${String(e.device)}', not cuda:0: the CUDA engine hook is not wired (docs/cuda.md)`);
      return e;
    }
  } as unknown as NativeEngineCtor;
}

async function main(): Promise<void> {
  // The command line first: --help and a mistyped flag answer without a GPU.
  const a = benchArgs(CUDA);
  const iters = a.int('iters', 1);
  const warmup = a.int('warmup', 0);
  const json = a.flag('json');
  const shapes = a.shapes('shapes');
  const dtypes = a.choices('dtypes', ['float32', 'float16', 'bfloat16'] as const);
  // lib/backend's view: when the CUDA build was found but not usable, its reason says why.
  const info = backendInfo().cuda;
  if (!info.available) {
    console.log(`no GPU: skipped (${info.reason ?? 'no usable CUDA device'})`);
    process.exit(77);
  }
  const name = String(info.deviceName);
  const peak = PEAKS.find((p) => p.match.test(name));
  const ops = loadTestAddon().addon as unknown as Ops; // the op entry points live in the test addon
  const opRows: Record<string, unknown>[] = [];
  const out: Record<string, unknown> = { date: new Date().toISOString(), device: name, cc: info.computeCapability, ops: opRows };

  if (!a.flag('model-only')) {
    ops.cudaBench(iters);
    const time = (label: string, flops: number, bytes: number, kind: 'f16' | 'tf32' | 'f32', run: () => unknown) => {
      run();
      const ms = ops.cudaBenchLastMs();
      const tflops = flops / ms / 1e9,
        gbs = bytes / ms / 1e6;
      const row = {
        op: label,
        ms: +ms.toFixed(4),
        tflops: +tflops.toFixed(2),
        gbs: +gbs.toFixed(1),
        pct_flops: peak ? +((100 * tflops) / peak[kind]).toFixed(1) : null,
        pct_bw: peak ? +((100 * gbs) / peak.gbs).toFixed(1) : null,
      };
      opRows.push(row);
      if (!json)
        console.log(
          `${label.padEnd(44)} ${row.ms.toFixed(4).padStart(9)} ms ${String(row.tflops).padStart(8)} TFLOP/s ${String(row.gbs).padStart(8)} GB/s ${row.pct_flops ?? '-'}% peak flops ${row.pct_bw ?? '-'}% peak bw`,
        );
    };
    for (const [M, N, K] of [
      [4096, 4096, 4096],
      [8192, 3072, 768],
      [8192, 768, 3072],
      [1024, 768, 768],
    ]) {
      const A = randArray(M * K, 1),
        B = randArray(N * K, 2);
      for (const [dt, tf32, kind] of [
        ['float16', false, 'f16'],
        ['bfloat16', false, 'f16'],
        ['float32', true, 'tf32'],
        ['float32', false, 'f32'],
      ] as const) {
        const esz = dt === 'float32' ? 4 : 2;
        time(`gemm ${dt}${tf32 ? '/tf32' : ''} ${M}x${N}x${K}`, 2 * M * N * K, 4 * M * K + esz * N * K + 4 * M * N, kind, () => ops.cudaGemm({ A, B, M, N, K, dtype: dt, tf32 }));
      }
    }
    for (const [B, L, H, D] of [
      [8, 512, 6, 64],
      [64, 128, 6, 64],
      [8, 512, 12, 128],
    ]) {
      const n = B * L * H * D;
      const q = randArray(n, 3),
        k = randArray(n, 4),
        v = randArray(n, 5);
      time(`attention flash B${B} L${L} H${H} D${D}`, 4 * B * H * L * L * D, 16 * n, 'f32', () => ops.cudaAttention({ q, k, v, B, L, H, D }));
      time(`attention exact B${B} L${L} H${H} D${D}`, 4 * B * H * L * L * D, 16 * n + 4 * B * H * L * L, 'f32', () =>
        ops.cudaAttention({ q, k, v, B, L, H, D, exact: true, probs: true }),
      );
    }
    {
      const B = 64,
        L = 128,
        H = 6,
        D = 64,
        K = 9,
        T = B * L;
      const v = randArray(T * H * D, 6),
        w = randArray(T * H * K, 7);
      time(`dynconv fused-softmax B${B} L${L} H${H} D${D} K${K}`, 2 * T * H * D * K, 4 * (2 * T * H * D + T * H * K), 'f32', () =>
        ops.cudaDynconv({ v, w, B, L, H, D, K, softmax_taps: true }),
      );
      const x = randArray(T * 768, 8),
        wt = randArray(K * 768, 9);
      time(`sepconv B${B} L${L} C768 K${K}`, 2 * T * 768 * K, 8 * T * 768, 'f32', () => ops.cudaSepconv({ x, wt, B, L, C: 768, K }));
      const g = randArray(768, 10),
        b = randArray(768, 11);
      time(`layernorm+residual rows ${T} C768`, 8 * T * 768, 12 * T * 768, 'f32', () => ops.cudaLayernorm({ x, r: x, gamma: g, beta: b, C: 768, eps: 1e-12 }));
      const lw = randArray(B * L * 12 * 31, 12);
      time(`dynamicconv (fairseq) B${B} T${L} C768 H12 K31`, 2 * T * 768 * 31, 8 * T * 768, 'f32', () =>
        ops.opLightconv({ x, w: lw, B, T: L, C: 768, H: 12, K: 31, padding_l: 15, per_position: true }, 'cuda'),
      );
    }
    ops.cudaBench(0);
  }

  if (!a.flag('ops-only')) {
    const config = ConvBertConfig.fromDict({});
    const rows: Record<string, unknown>[] = [];
    out.model = rows;
    for (const dtype of dtypes) {
      const model = ConvBertModel.fromConfig(config, { seed: 0, engine: cudaEngineCtor(dtype) });
      for (const [batch, seq] of shapes) {
        const input_ids = benchIds(batch, seq, config.vocab_size);
        for (let i = 0; i < warmup; i++) await model.forward({ input_ids });
        const times: number[] = [];
        for (let i = 0; i < iters; i++) {
          const s = performance.now();
          await model.forward({ input_ids });
          times.push(performance.now() - s);
        }
        times.sort((a, b) => a - b);
        const med = quantile(times, 0.5);
        const row = {
          dtype,
          shape: `${batch}x${seq}`,
          median_ms: +med.toFixed(2),
          p90_ms: +quantile(times, 0.9).toFixed(2),
          seq_per_s: +((batch * 1000) / med).toFixed(1),
          tflops: +((trunkFlops(config, seq) * batch) / med / 1e9).toFixed(2),
        };
        rows.push(row);
        if (!json)
          console.log(
            `ConvBERT-base ${dtype.padEnd(8)} ${row.shape.padEnd(7)} ${String(row.median_ms).padStart(8)} ms  ${String(row.seq_per_s).padStart(9)} seq/s  ${row.tflops} TFLOP/s`,
          );
      }
      model.dispose();
    }
  }
  if (json) console.log(JSON.stringify(out, null, 2));
}

main().catch(benchFailed);
