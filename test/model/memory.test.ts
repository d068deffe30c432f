// Resident memory stops growing over thousands of forwards of a small model.
// After a warm-up (arena planned, JIT settled), RSS is sampled after each of six
// windows of 500 forwards, in a child process with --expose-gc so the bound
// measures leaks, not garbage the GC has not collected yet. The child's young
// generation has a fixed size (--min/--max-semi-space-size): V8 otherwise grows
// its semi-spaces when it likes, and RSS then stepped up by about 30 MB once, in
// any window, and stayed there (samples 88, 120, 120, ... MB), which no leak bound
// can tell from a leak; with the size fixed the samples stay within 1 MB. The
// test compares the lowest sample of the last three windows with the lowest of
// the first three: a leak raises every sample alike (25 KB per forward moves the
// minimum by 37 MB over the 1500 forwards between them, over the bound), a
// one-off spike raises one.
import test from 'ava';
import { execFileSync } from 'child_process';

import { repoRoot } from '../helpers/fixtures';

const BOUND_MB = 24;

const script = `
const { ConvBertForMaskedLM } = require('./lib/models');
const { Tensor } = require('./lib/tensor');
(async () => {
  const m = ConvBertForMaskedLM.fromConfig({ vocab_size: 500, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, embedding_size: 48 }, { seed: 3 });
  const ids = new Tensor('int64', Array.from({ length: 4 }, (_, b) => Array.from({ length: 32 }, (_, l) => (b * 31 + l * 7) % 500)));
  const labels = new Tensor('int64', Array.from({ length: 4 }, () => Array.from({ length: 32 }, (_, l) => l % 3 ? -100 : l)));
  const run = async (n) => { for (let i = 0; i < n; i++) await m.forward({ input_ids: ids, labels }, { output_hidden_states: i % 2 === 0 }); };
  await run(800);
  const samples = [];
  for (let w = 0; w < 6; w++) {
    await run(500);
    global.gc(); global.gc();
    samples.push(process.memoryUsage().rss);
  }
  m.dispose();
  console.log(JSON.stringify({ samples }));
})();
`;

test(`resident memory stops growing: the floor of RSS over 3000 forwards (after 800) rises by less than ${BOUND_MB} MB`, (t) => {
  const out = execFileSync(process.execPath, ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16', '--import', 'tsx', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const { samples } = JSON.parse(out.trim().split('\n').pop()!) as { samples: number[] };
  const mb = samples.map((s) => s / 2 ** 20);
  const growthMb = Math.min(...mb.slice(3)) - Math.min(...mb.slice(0, 3));
  t.true(growthMb < BOUND_MB, `RSS floor rose ${growthMb.toFixed(1)} MB (samples every 500 forwards: ${mb.map((v) => v.toFixed(0)).join(', ')} MB)`);
});
