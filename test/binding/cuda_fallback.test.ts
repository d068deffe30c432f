// The CUDA build (cmake-js, `npm run build:cuda`) on a machine without a GPU
// or driver: loading it must not crash; the library names the reason in one
// line and runs on the CPU build. With a GPU, the CUDA build is used instead.
// CI builds it before the tests (.ci/run); elsewhere the test needs the build.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { repoRoot } from '../helpers/fixtures';

const cudaBuild = path.join(repoRoot, 'build-cuda', 'Release', 'convbert.node');
const haveBuild = fs.existsSync(cudaBuild);
// In CI the build is mandatory: a missing one is a failure, not a skip.
const maybe = haveBuild || process.env.CI ? test : test.skip;

maybe('the CUDA build loads, and without a usable GPU falls back to the CPU build with a one-line reason', (t) => {
  t.true(haveBuild, `${cudaBuild} is missing: run \`npm run build:cuda\` first`);
  const script = `
    const c = require('./dist');
    const info = c.backendInfo();
    const x = new Float32Array([-1, 0, 1, 2]);
    const y = new Float32Array(4);
    const ran = require('./dist/native').loadTestAddon().addon.opActivation(x, y, null, 4, 4, 'generic');
    let cudaErr = null;
    try { require('./dist/native').loadTestAddon().addon.opActivation(x, y, null, 4, 4, 'cuda'); } catch (e) { cudaErr = e.code; }
    console.log(JSON.stringify({ info, ran, y: Array.from(y), cudaErr }));`;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: repoRoot,
    env: { ...process.env, CONVBERT_CUDA_BINARY: cudaBuild, CONVBERT_QUIET: '' },
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  if (out.info.build === 'cuda') {
    // A real GPU: the CUDA build is in use and reports its device.
    t.true(out.info.cuda.available);
    t.truthy(out.info.cuda.deviceName);
    return;
  }
  t.is(out.info.build, 'cpu');
  t.false(out.info.cuda.available);
  t.regex(out.info.cuda.reason, /not used: .+; using the CPU build/);
  t.false(out.info.cuda.reason.includes('\n'), 'the reason is one line');
  const warnings = r.stderr.split('\n').filter((l: string) => l.includes('CONVBERT_CUDA_FALLBACK'));
  t.is(warnings.length, 1, `exactly one warning line, got:\n${r.stderr}`);
  t.is(out.ran, 'generic');
  t.deepEqual(out.y, [0, 0, 1, 2]);
  t.is(out.cudaErr, 'ERR_CONVBERT_UNSUPPORTED', 'the CUDA op path reports why instead of crashing');
});

maybe('CONVBERT_BACKEND=cpu ignores the CUDA build without a warning', (t) => {
  const r = spawnSync(process.execPath, ['-e', "console.log(require('./dist').backendInfo().build)"], {
    cwd: repoRoot,
    env: { ...process.env, CONVBERT_CUDA_BINARY: cudaBuild, CONVBERT_BACKEND: 'cpu' },
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'cpu');
  t.false(r.stderr.includes('CONVBERT_CUDA_FALLBACK'));
});
