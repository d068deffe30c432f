// gemm.ts: the packed fp32 gemm alone, on the linear layers of a published
// ConvBERT config, against the FMA peak probe (`npm run bench:gemm`). It answers
// how much of the model's distance from the peak is the gemm's own and how much
// is everything around it: bench/harness.ts gives the model's %peak, this gives
// the gemm's, on the same pool, the same weight layout and the same task cut.
//
// For every rows value (tokens of a forward: 128 is one 128-token sequence, 1024
// is 8 of them) and every linear layer of one encoder layer it runs the addon's
// bench-only opGemmTime: num_hidden_layers packed copies of the weights walked
// in turn (so they come from memory, as in a 12-layer forward), after one untimed
// pass. Before each layer the FMA probe runs (opFmaPeak, best of 3 short runs), and
// that layer's %peak is its useful flops per CPU-second over the probe's
// flops per CPU-second just before it (the same measure as the harness's %peak,
// taken next to the gemm so the VM's drift between them is small).
// Options (bench/args.ts, or --help):
//   --config base|medium-small|small|<model id>   (default base)
//   --rows 128,1024   --seconds 0.4 (timed seconds per layer, about)   --threads N   --json
import * as os from 'os';

import { backendInfo, setNumThreads } from '../lib/backend';
import { loadTestAddon } from '../lib/native';
import { layerLinears } from '../lib/flops';
import { benchArgs, benchFailed, GEMM } from './args';
import { publishedConfig } from './configs';

interface Timing {
  seconds: number;
  cpuSeconds: number;
  gflops: number;
  gflopsPerCpuSecond: number;
  path: string;
}

interface Row {
  rows: number;
  layer: string;
  n: number;
  k: number;
  groups: number;
  products: number;
  ms_per_product: number;
  gflop_per_s: number;
  gflop_per_cpu_s: number;
  probe_gflop_per_cpu_s: number;
  pct_of_peak: number;
}

function main(): void {
  const a = benchArgs(GEMM);
  const { id, config } = publishedConfig(a.str('config'), '--config');
  // Rows size the activations of a product: 2^20 rows of a 4096-wide layer are 16 GiB already.
  const rowsList = a.ints('rows', 1, 1 << 20);
  const seconds = a.num('seconds', 0, { above: true });
  // The op entry points live in the test addon, which has its own thread pool: size both.
  const n = loadTestAddon().addon;
  if (a.given('threads')) {
    setNumThreads(a.int('threads', 1));
    n.setNumThreads(a.int('threads', 1));
  }
  const info = backendInfo();
  const path = String(info.isa);
  const copies = Number(config.num_hidden_layers ?? 12);
  const gemmTime = n.opGemmTime as (M: number, N: number, K: number, iters: number, copies: number, path: string) => Timing;
  const fmaPeak = n.opFmaPeak as (p: string, iters: number, threads: number) => { gflopsPerCpuSecond: number };
  const probe = (): number => Math.max(...[0, 1, 2].map(() => fmaPeak(path, 5_000_000, info.threads).gflopsPerCpuSecond));

  const out: Row[] = [];
  for (const rows of rowsList) {
    for (const l of layerLinears(config)) {
      const peak = probe();
      const flops = 2 * rows * l.n * l.k;
      // About `seconds` of products at 200 GFLOP/s per thread, at least one pass over the copies.
      const iters = Math.max(copies, Math.ceil((seconds * 200e9 * info.threads) / flops));
      const t = gemmTime(rows, l.n, l.k, iters, copies, path);
      out.push({
        rows,
        layer: l.name,
        n: l.n,
        k: l.k,
        groups: l.groups,
        products: iters,
        ms_per_product: +((t.seconds * 1000) / iters).toFixed(3),
        gflop_per_s: +t.gflops.toFixed(1),
        gflop_per_cpu_s: +t.gflopsPerCpuSecond.toFixed(1),
        probe_gflop_per_cpu_s: +peak.toFixed(1),
        pct_of_peak: +((100 * t.gflopsPerCpuSecond) / peak).toFixed(1),
      });
    }
  }
  // One encoder layer's gemms together: their flops (groups included) over their CPU time.
  const summary = rowsList.map((rows) => {
    const rs = out.filter((r) => r.rows === rows);
    let flops = 0;
    let cpu = 0;
    let probeCpu = 0;
    for (const r of rs) {
      const f = 2 * rows * r.n * r.k * r.groups;
      flops += f;
      cpu += f / (r.gflop_per_cpu_s * 1e9);
      probeCpu += f / (r.probe_gflop_per_cpu_s * 1e9);
    }
    return { rows, gflop_per_cpu_s: +(flops / cpu / 1e9).toFixed(1), pct_of_peak: +((100 * probeCpu) / cpu).toFixed(1) };
  });
  if (a.flag('json')) {
    console.log(JSON.stringify({ config: id, isa: path, threads: info.threads, copies, rows: out, layer: summary }, null, 2));
    return;
  }
  console.log(
    `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ISA ${path}, threads ${info.threads}; ${id} linear layers, fp32, ` +
      `${copies} weight copies walked in turn; load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
  console.log("%peak: the gemm's useful flops per CPU-second / the FMA probe's per CPU-second, probed just before each layer");
  console.log('rows  layer                            N     K     ms/product  GFLOP/s  GFLOP/cpu-s  probe  %peak');
  for (const r of out) {
    const name = r.groups > 1 ? `${r.layer} (x${r.groups})` : r.layer;
    console.log(
      `${String(r.rows).padEnd(5)} ${name.padEnd(32)} ${String(r.n).padStart(5)} ${String(r.k).padStart(5)} ` +
        `${r.ms_per_product.toFixed(3).padStart(11)} ${r.gflop_per_s.toFixed(1).padStart(8)} ${r.gflop_per_cpu_s.toFixed(1).padStart(12)} ` +
        `${r.probe_gflop_per_cpu_s.toFixed(0).padStart(6)} ${r.pct_of_peak.toFixed(1).padStart(6)}`,
    );
  }
  for (const s of summary) {
    console.log(`rows ${s.rows}: one layer's gemms (flop-weighted) ${s.gflop_per_cpu_s} GFLOP/cpu-s, ${s.pct_of_peak}% of the probe`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    benchFailed(e);
  }
}
