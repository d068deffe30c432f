// backendInfo and the ISA override, checked in child processes so each sees a
// fresh addon (the ISA choice is read once per process).
import test from 'ava';
import { execFileSync } from 'child_process';
import * as path from 'path';

import { backendInfo, setNumThreads } from '../../lib';
import { cpuPaths } from '../helpers/ops';
import { repoRoot } from '../helpers/fixtures';

function infoWith(env: Record<string, string>): { isa: string; isaNote?: string; threads: number } {
  const out = execFileSync(process.execPath, ['-e', "console.log(JSON.stringify(require('./dist').backendInfo()))"], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

test('backendInfo reports version, ISA, threads and CUDA status', (t) => {
  const info = backendInfo();
  t.regex(info.version, /^\d+\.\d+\.\d+/);
  t.true(['generic', 'avx2', 'avx512'].includes(info.isa));
  t.true(info.threads >= 1);
  t.is(typeof info.cuda.compiled, 'boolean');
  t.is(typeof info.cuda.available, 'boolean');
  if (!info.cuda.available) t.regex(info.cuda.reason ?? '', /\S/, 'a reason is given when CUDA is unusable');
  t.true(path.isAbsolute(info.binary));
});

test('CONVBERT_ISA forces each lower path, and a higher or unknown one is refused with a note', (t) => {
  for (const p of cpuPaths()) t.is(infoWith({ CONVBERT_ISA: p }).isa, p);
  const bogus = infoWith({ CONVBERT_ISA: 'sse9' });
  t.is(bogus.isa, backendInfo().bestIsa);
  t.regex(bogus.isaNote ?? '', /CONVBERT_ISA=sse9/);
});

test('setNumThreads changes the pool size and validates its argument', (t) => {
  const before = backendInfo().threads;
  setNumThreads(1);
  t.is(backendInfo().threads, 1);
  setNumThreads(before);
  t.is(backendInfo().threads, before);
  t.throws(() => setNumThreads(0), { code: 'ERR_CONVBERT_ARG' } as never);
  t.throws(() => setNumThreads(1.5), { code: 'ERR_CONVBERT_ARG' } as never);
  t.is(infoWith({ CONVBERT_NUM_THREADS: '3' }).threads, 3);
});

test('the package loads through require and import with one shared API', (t) => {
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import * as m from 'convbert'; import { createRequire } from 'module'; const r = createRequire(import.meta.url)('convbert'); console.log(JSON.stringify([typeof m.Tensor, m.Tensor === r.Tensor, m.backendInfo().version]))",
    ],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  const [kind, same, version] = JSON.parse(out);
  t.is(kind, 'function');
  t.true(same);
  t.is(version, backendInfo().version);
});
