// Loading streams the weights: fromPretrained on a safetensors checkpoint reads
// one tensor at a time into the engine, so the process's peak resident memory
// grows by at most 1.3x the checkpoint's size (plus 32 MB for code, the
// arena's first plan and allocator slack), where reading the whole file first
// would need about 2x (measured for this 78 MB checkpoint: +106 MB streamed,
// +181 MB with the whole file read first).
// Measured in a child process by getrusage's max RSS.
import test from 'ava';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertModel } from '../../lib/models';
import { repoRoot } from '../helpers/fixtures';

const script = `
const { ConvBertModel } = require('./lib/models');
(async () => {
  const dir = process.argv[1];
  // Load the addon and warm up the code paths on a tiny model first, so they are not counted.
  ConvBertModel.fromConfig({ vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 8, embedding_size: 8 }).dispose();
  global.gc(); global.gc();
  const before = process.memoryUsage().rss;
  const maxBefore = process.resourceUsage().maxRSS * 1024;
  const m = await ConvBertModel.fromPretrained(dir);
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ before, maxBefore, peak, nativeBytes: m.nativeBytes }));
  m.dispose();
})();
`;

test('fromPretrained peaks under 1.3x the checkpoint size (+32 MB); reading the whole file first would not', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-loadmem-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cfg = { vocab_size: 4000, hidden_size: 512, num_hidden_layers: 6, num_attention_heads: 8, intermediate_size: 2048, embedding_size: 512, max_position_embeddings: 128 };
  const m = ConvBertModel.fromConfig(cfg, { seed: 9 });
  await m.savePretrained(dir);
  m.dispose();
  const size = fs.statSync(path.join(dir, 'model.safetensors')).size;
  t.true(size > 60 << 20, `checkpoint of ${(size / 2 ** 20).toFixed(0)} MB`);
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '-e', script, dir], { cwd: repoRoot, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\\n').pop()!) as { before: number; maxBefore: number; peak: number; nativeBytes: number };
  const grew = r.peak - Math.max(r.before, r.maxBefore);
  const MB = 2 ** 20;
  t.true(
    grew <= 1.3 * size + 32 * MB,
    `peak RSS grew ${(grew / MB).toFixed(0)} MB loading a ${(size / MB).toFixed(0)} MB checkpoint (engine holds ${(r.nativeBytes / MB).toFixed(0)} MB)`,
  );
});
