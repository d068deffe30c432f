// Resident memory stops growing over 1000 forwards of a small model: after a
// warm-up (arena planned, JIT settled) and 1000 forwards that let the allocator
// settle (glibc gives each libuv thread that picks up a forward its own arena,
// and which threads do depends on scheduling), 1000 more forwards must grow RSS
// by less than 24 MB. A leak grows every window alike (here 25 KB per forward
// would already exceed the bound). Run in a child process with --expose-gc so the
// bound measures leaks, not garbage the GC has not collected yet.
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
  await run(300);
  await run(1000);
  global.gc(); global.gc();
  const before = process.memoryUsage().rss;
  await run(1000);
  global.gc(); global.gc();
  const after = process.memoryUsage().rss;
  m.dispose();
  console.log(JSON.stringify({ before, after }));
})();
`;

test(`resident memory stops growing: 1000 forwards (after 1300) grow it by less than ${BOUND_MB} MB`, (t) => {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
  const { before, after } = JSON.parse(out.trim().split('\n').pop()!) as { before: number; after: number };
  const growthMb = (after - before) / (1 << 20);
  t.true(growthMb < BOUND_MB, `RSS grew ${growthMb.toFixed(1)} MB over 1000 forwards (${(before / 2 ** 20).toFixed(0)} -> ${(after / 2 ** 20).toFixed(0)} MB)`);
});
