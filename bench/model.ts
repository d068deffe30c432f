// model.ts: the main benchmark (`npm run bench`). Builds a seeded random
// ConvBERT-base (HF's initialisation, no download), then times forward passes
// of ConvBertModel at the given batch x sequence shapes and prints median and
// p90 latency, sequences/s and GFLOP/s. Options (bench/args.ts, or --help):
//   --shapes 1x128,8x128   --iters 20   --warmup 3   --threads N   --seed 0
//   --config '{"num_hidden_layers": 12, ...}'   (overrides of the base config)   --json
import { performance } from 'perf_hooks';

import { backendInfo, setNumThreads } from '../lib/backend';
import { ConvBertConfig } from '../lib/config';
import { ConvBertModel } from '../lib/models';
import { Tensor } from '../lib/tensor';
import { benchArgs, benchFailed, MODEL } from './args';
import { trunkFlops } from '../lib/flops';

export interface BenchRow {
  shape: string;
  batch: number;
  seq: number;
  median_ms: number;
  p90_ms: number;
  seq_per_s: number;
  gflop_per_s: number;
}

export function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Deterministic token ids in [1000, vocab) so no row is padding. */
export function benchIds(batch: number, seq: number, vocab: number): Tensor<'int64'> {
  const ids = new BigInt64Array(batch * seq);
  let s = 12345;
  for (let i = 0; i < ids.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    ids[i] = BigInt(1000 + (s % (vocab - 1000)));
  }
  return new Tensor('int64', ids, [batch, seq]);
}

async function main(): Promise<void> {
  const a = benchArgs(MODEL);
  const shapes = a.shapes('shapes');
  const iters = a.int('iters', 1);
  const warmup = a.int('warmup', 0);
  const seed = a.int('seed', 0);
  if (a.given('threads')) setNumThreads(a.int('threads', 1));
  const overrides = a.json('config');
  const config = ConvBertConfig.fromDict({ ...overrides });

  const t0 = performance.now();
  const model = ConvBertModel.fromConfig(config, { seed });
  const buildMs = performance.now() - t0;
  const info = backendInfo();
  const rows: BenchRow[] = [];
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
    const flops = trunkFlops(config, seq) * batch;
    rows.push({
      shape: `${batch}x${seq}`,
      batch,
      seq,
      median_ms: +med.toFixed(2),
      p90_ms: +quantile(times, 0.9).toFixed(2),
      seq_per_s: +((batch * 1000) / med).toFixed(2),
      gflop_per_s: +(flops / med / 1e6).toFixed(1),
    });
  }
  model.dispose();
  if (a.flag('json')) {
    console.log(JSON.stringify({ info, build_ms: buildMs, rows }, null, 2));
    return;
  }
  console.log(`convbert ${info.version} | isa ${info.isa} | threads ${info.threads} | build ${info.build}`);
  console.log(
    `model: ConvBertModel, seeded random (seed ${seed}), hidden ${config.hidden_size}, layers ${config.num_hidden_layers}, ` +
      `heads ${config.num_attention_heads}, built in ${buildMs.toFixed(0)} ms; ${iters} timed runs after ${warmup} warm-up`,
  );
  console.log('shape      median ms   p90 ms   seq/s    GFLOP/s');
  for (const r of rows) {
    console.log(`${r.shape.padEnd(10)} ${String(r.median_ms).padStart(9)} ${String(r.p90_ms).padStart(8)} ${String(r.seq_per_s).padStart(7)} ${String(r.gflop_per_s).padStart(9)}`);
  }
}

if (require.main === module) {
  main().catch(benchFailed);
}
