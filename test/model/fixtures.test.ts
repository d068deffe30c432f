// The golden fixtures through the public API: every case of every folder in
// index.json via fromPretrained + forward, every element of every output at
// |got - exp| <= 1e-4 + 1e-4|exp| (the fixtures README's float32 check; the
// reference's own fp32-vs-fp64 noise is at most 7.3e-6). The native engine runs
// in one child process per CPU path (CONVBERT_ISA is read once per process);
// the float64 TS reference engine runs in-process to check the TS plumbing alone.
import test from 'ava';
import { execFileSync } from 'child_process';
import * as path from 'path';

import { Tensor } from '../../lib/tensor';
import { cpuPaths } from '../helpers/ops';
import { fixturesDir, readJson, repoRoot } from '../helpers/fixtures';
import { compareTensor, fixtureIndex, runAll, runFolder, type Comparison, type FixtureCase } from './fixture_runner';
import { RefEngine } from './ref_engine';

/** How many tensor comparisons the fixtures hold, counted from cases.json alone. */
function expectedComparisons(filter: (c: FixtureCase) => boolean = () => true): number {
  let n = 0;
  for (const e of fixtureIndex()) {
    const cases = readJson<FixtureCase[]>(fixturesDir('convbert', e.path, 'cases.json'));
    for (const c of cases) if (filter(c)) for (const v of Object.values(c.outputs)) n += Array.isArray(v) ? v.length : 1;
  }
  return n;
}

function failures(res: Comparison[]): string {
  const bad = res.filter((r) => !r.ok);
  return bad
    .slice(0, 10)
    .map((r) => `${r.folder} ${r.case} ${r.output}: ${r.detail ?? ''}`.slice(0, 400))
    .join('\n');
}

test('the comparison itself fails on a perturbed element, a wrong shape and a missing output', (t) => {
  const want = new Tensor('float32', new Float32Array([1, -2, 3, 0]), [2, 2]);
  t.true(compareTensor(new Tensor('float32', new Float32Array([1, -2, 3, 0]), [2, 2]), want, 'x').ok);
  // 1e-4 + 1e-4*3 = 4e-4 allowed at element 2; 5e-4 is not.
  t.true(compareTensor(new Tensor('float32', new Float32Array([1, -2, 3.00035, 0]), [2, 2]), want, 'x').ok);
  t.false(compareTensor(new Tensor('float32', new Float32Array([1, -2, 3.0005, 0]), [2, 2]), want, 'x').ok);
  t.false(compareTensor(new Tensor('float32', new Float32Array([1, -2, 3, NaN]), [2, 2]), want, 'x').ok);
  t.false(compareTensor(new Tensor('float32', new Float32Array([1, -2, 3, 0]), [4]), want, 'x').ok);
  t.false(compareTensor(undefined, want, 'x').ok);
});

// The scalar float64 engine is slow: it skips the L=64 cases (case3), which the native runs cover.
const shortCases = (c: FixtureCase): boolean => c.name !== 'case3';

test('TS reference engine: every short fixture case passes through the model classes (plumbing check)', async (t) => {
  const res = await runAll(RefEngine, shortCases);
  t.is(res.length, expectedComparisons(shortCases), 'every output of every selected case was compared');
  t.deepEqual(res.filter((r) => !r.ok).length, 0, failures(res));
});

for (const isa of cpuPaths()) {
  test(`native engine, CONVBERT_ISA=${isa}: every fixture case, every output, every element`, (t) => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixture_runner.ts')], {
      cwd: repoRoot,
      env: { ...process.env, CONVBERT_ISA: isa, CONVBERT_TEST_ENGINE: '' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const report = JSON.parse(out.trim().split('\n').pop()!) as { isa?: string; results?: Comparison[]; fatal?: string };
    if (report.fatal) return t.fail(report.fatal);
    t.is(report.isa, isa, 'the child really ran this path');
    const res = report.results!;
    t.is(res.length, expectedComparisons(), `every output of every case was compared\n${failures(res)}`);
    t.is(res.filter((r) => !r.ok).length, 0, failures(res));
  });
}

test('pytorch_model.bin and model.safetensors both load to outputs matching the goldens (tied head stored in the .bin; legacy position_ids buffer)', async (t) => {
  const folders = fixtureIndex().filter((e) => e.files.includes('pytorch_model.bin'));
  t.true(folders.length >= 2, 'the fixtures ship .bin files for tiny-a MLM and proj-groups-b Model');
  for (const e of folders) {
    const fromBin = await runFolder(e, { weightsFile: 'pytorch_model.bin' });
    const fromSafe = await runFolder(e, { weightsFile: 'model.safetensors' });
    t.is(fromBin.length, fromSafe.length);
    t.true(fromBin.length > 0);
    t.is(fromBin.filter((r) => !r.ok).length, 0, failures(fromBin));
    t.is(fromSafe.filter((r) => !r.ok).length, 0, failures(fromSafe));
  }
});
