// vs_ort.ts: onnxruntime-node on the same seeded random ConvBERT-base our
// engine runs (ConvBertModel.fromConfig, HF's initialisation, no download),
// exported with exportOnnx so the peer gets identical weights. Times
// InferenceSession.run (graph optimisations all, intra-op threads = cores by
// default) at batch x sequence shapes and prints median / p90 latency,
// sequences/s, GFLOP/s and CPU time per run (which shows when other work
// shared the cores: compare with the load averages printed), plus the command.
// Options (bench/args.ts, or --help):
//   --shapes 1x128,8x128   --iters 20   --warmup 3   --threads N   --seed 0   --opset 17
//   --dtype float32|int8 (int8: the peer's dynamically quantized model, exported by exportOnnx)
//   --config '{"num_hidden_layers": 12, ...}'   --onnx out.onnx (keep the file)   --no-check   --json
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as ort from 'onnxruntime-node';

import { ConvBertConfig } from '../lib/config';
import { ConvBertModel } from '../lib/models';
import { exportOnnx } from '../lib/onnx/export';
import { benchArgs, benchFailed, VS_ORT } from './args';
import { trunkFlops } from '../lib/flops';
import { benchIds, quantile, type BenchRow } from './model';

function feeds(batch: number, seq: number, vocab: number): Record<string, ort.Tensor> {
  const ids = benchIds(batch, seq, vocab);
  const dims = [batch, seq];
  return {
    input_ids: new ort.Tensor('int64', ids.data, dims),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(batch * seq), dims),
  };
}

async function main(): Promise<void> {
  const a = benchArgs(VS_ORT);
  const shapes = a.shapes('shapes');
  const iters = a.int('iters', 1);
  const warmup = a.int('warmup', 0);
  const seed = a.int('seed', 0);
  const opset = a.int('opset', 1);
  const dtype = a.choice('dtype', ['float32', 'int8'] as const);
  const threads = a.int('threads', 1, { fallback: os.availableParallelism() });
  const keep = a.str('onnx');
  const check = !a.flag('no-check');
  const json = a.flag('json');
  const overrides = a.json('config');
  const config = ConvBertConfig.fromDict({ ...overrides });
  const loadBefore = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  const command = `node --import tsx bench/vs_ort.ts ${process.argv.slice(2).join(' ')}`.trim();

  let t0 = performance.now();
  const model = ConvBertModel.fromConfig(config, { seed });
  const buildMs = performance.now() - t0;
  const file = keep || path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-vs-ort-')), 'model.onnx');
  t0 = performance.now();
  const info = await exportOnnx(model, file, { opset, dtype });
  const exportMs = performance.now() - t0;
  t0 = performance.now();
  const sess = await ort.InferenceSession.create(file, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const loadMs = performance.now() - t0;

  // The peer must compute our function: compare one forward on the first shape (int8: the quantization error).
  let maxAbsDiff: number | undefined;
  if (check) {
    const [b, l] = shapes[0];
    const f = feeds(b, l, config.vocab_size);
    const ours = (await model.forward({ input_ids: benchIds(b, l, config.vocab_size) })).last_hidden_state.data as Float32Array;
    const theirs = (await sess.run(f)).last_hidden_state.data as Float32Array;
    maxAbsDiff = 0;
    for (let i = 0; i < ours.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ours[i] - theirs[i]));
  }
  model.dispose(); // its threads stay out of the timings

  const rows: Array<BenchRow & { cpu_ms: number }> = [];
  for (const [batch, seq] of shapes) {
    const f = feeds(batch, seq, config.vocab_size);
    for (let i = 0; i < warmup; i++) await sess.run(f);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < iters; i++) {
      const c0 = process.cpuUsage();
      const s = performance.now();
      await sess.run(f);
      times.push(performance.now() - s);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    times.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const med = quantile(times, 0.5);
    const flops = trunkFlops(config, seq) * batch;
    rows.push({
      shape: `${batch}x${seq}`,
      batch,
      seq,
      median_ms: +med.toFixed(2),
      p90_ms: +quantile(times, 0.9).toFixed(2),
      seq_per_s: +((batch * 1000) / med).toFixed(2),
      gflop_per_s: +(flops / med / 1e6).toFixed(1),
      cpu_ms: +quantile(cpu, 0.5).toFixed(2),
    });
  }
  await sess.release();
  if (!keep) fs.rmSync(path.dirname(file), { recursive: true, force: true });

  const meta = {
    peer: `onnxruntime-node ${ort.env.versions.node ?? ''}`.trim(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    threads,
    opset,
    dtype,
    onnx_bytes: info.bytes,
    build_ms: +buildMs.toFixed(0),
    export_ms: +exportMs.toFixed(0),
    session_load_ms: +loadMs.toFixed(0),
    max_abs_diff_vs_ours: maxAbsDiff,
    load_average_before: loadBefore,
    command,
  };
  if (json) {
    console.log(JSON.stringify({ ...meta, rows }, null, 2));
    return;
  }
  console.log(`$ ${command}`);
  console.log(`${meta.peer} | cpu ${meta.cpu} | intra-op threads ${threads} | graph optimisations all | opset ${opset} | ${dtype}`);
  console.log(
    `model: ConvBertModel, seeded random (seed ${seed}), hidden ${config.hidden_size}, layers ${config.num_hidden_layers}, ` +
      `heads ${config.num_attention_heads}, intermediate ${config.intermediate_size}, vocab ${config.vocab_size}; ` +
      `ONNX ${(info.bytes / 1e6).toFixed(1)} MB, export ${meta.export_ms} ms, session load ${meta.session_load_ms} ms`,
  );
  if (maxAbsDiff !== undefined) console.log(`check: max |onnxruntime - ours| on last_hidden_state at ${rows[0]?.shape}: ${maxAbsDiff.toExponential(2)}`);
  console.log(`${iters} timed runs after ${warmup} warm-up`);
  // cpu ms: process CPU time per run (all threads, spinning included); near threads x median on a quiet machine.
  console.log(
    `load average before: ${loadBefore}, after: ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (${os.cpus().length} CPUs)`,
  );
  console.log('shape      median ms   p90 ms   seq/s    GFLOP/s   cpu ms');
  for (const r of rows) {
    console.log(
      `${r.shape.padEnd(10)} ${String(r.median_ms).padStart(9)} ${String(r.p90_ms).padStart(8)} ${String(r.seq_per_s).padStart(7)} ${String(r.gflop_per_s).padStart(9)} ${String(r.cpu_ms).padStart(8)}`,
    );
  }
}

if (require.main === module) {
  main().catch(benchFailed);
}
