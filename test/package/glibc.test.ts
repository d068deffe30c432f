// The addon's run-time requirements on Linux: the binary built here (and the prebuild, which
// is the same link, when one exists) must need no libstdc++ (-static-libstdc++) and no glibc
// symbol version above 2.28, the oldest glibc Node 20's own binaries run on, so that wherever
// Node runs the prebuild loads. scripts/check_glibc.js reads `objdump -T`; its verdict on a
// bound below what the binary needs is checked too, so the script cannot pass everything.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { repoRoot } from '../helpers/fixtures';

const script = path.join(repoRoot, 'scripts', 'check_glibc.js');
const built = path.join(repoRoot, 'build', 'Release', 'convbert.node');
const prebuilt = path.join(repoRoot, 'prebuilds', 'linux-x64', 'convbert.node');

interface Report {
  glibc: { version: string; symbols: string[] } | null;
  glibcxx: { version: string; symbols: string[] } | null;
  cxxabi: { version: string; symbols: string[] } | null;
  glibcSpecial: string[];
  needed: string[];
  exports: string[];
  ok: boolean;
  failures: string[];
}

function check(file: string, ...bounds: string[]): { status: number | null; report?: Report; stderr: string } {
  const r = spawnSync(process.execPath, [script, file, '--json', ...bounds], { encoding: 'utf8' });
  return { status: r.status, report: r.stdout.trim() ? (JSON.parse(r.stdout) as Report) : undefined, stderr: r.stderr };
}

function versionLe(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  }
  return true;
}

test('objdump (binutils) is installed: the glibc check reads the binary with it', (t) => {
  const r = spawnSync('objdump', ['--version'], { encoding: 'utf8' });
  t.is(r.error, undefined, 'objdump was not found on PATH: install binutils (apt-get install binutils) to run this check');
  t.is(r.status, 0);
});

test('the addon (build/Release, and the prebuild when there is one) needs glibc <= 2.28 and no libstdc++', (t) => {
  t.true(fs.existsSync(built), 'build/Release/convbert.node exists (npx node-gyp build)');
  // The prebuild is the same link, made by `npm run prebuild` (or by the pack test when missing).
  const files = fs.existsSync(prebuilt) ? [built, prebuilt] : [built];
  for (const file of files) {
    const label = path.relative(repoRoot, file);
    const { status, report, stderr } = check(file, '--glibc', '2.28', '--glibcxx', 'none');
    t.truthy(report, stderr);
    t.is(status, 0, `${label}: ${stderr}`);
    t.true(report!.ok, `${label}: ${report!.failures.join('; ')}`);
    t.truthy(report!.glibc, `${label} binds glibc symbols at all (the parse found them)`);
    t.true(versionLe(report!.glibc!.version, '2.28'), `${label}: GLIBC_${report!.glibc!.version} (${report!.glibc!.symbols.join(', ')})`);
    t.deepEqual(report!.glibcSpecial, [], `${label}: no version reference like GLIBC_ABI_DT_RELR that only a new glibc has`);
    t.is(report!.glibcxx, null, label);
    t.is(report!.cxxabi, null, label);
    t.false(report!.needed.includes('libstdc++.so.6'), `${label}: NEEDED ${report!.needed.join(' ')}`);
    t.true(report!.needed.includes('libc.so.6'), label);
    // Only Node-API's entry points: the static libstdc++'s symbols stay hidden (--exclude-libs),
    // so none of them binds at run time to the libstdc++.so.6 that Node itself loaded.
    t.true(report!.exports.includes('napi_register_module_v1'), `${label}: exports ${report!.exports.length} symbols`);
    t.deepEqual(
      report!.exports.filter((s) => !/^(napi_|node_api_)/.test(s)),
      [],
      `${label}: strong exports besides Node-API's`,
    );
  }
});

test('check_glibc fails, naming the symbol, when the binary needs more than the bound', (t) => {
  const { report } = check(built);
  t.truthy(report?.glibc);
  const need = report!.glibc!.version;
  // One below the version the binary needs: 2.25 -> 2.24.
  const parts = need.split('.').map(Number);
  parts[parts.length - 1] -= 1;
  const below = parts.join('.');
  const r = check(built, '--glibc', below);
  t.is(r.status, 1);
  t.false(r.report!.ok);
  t.true(r.stderr.includes(`needs GLIBC_${need}`) && r.stderr.includes(report!.glibc!.symbols[0]), r.stderr);
  t.true(r.stderr.includes(`above the bound ${below}`), r.stderr);
});

test('check_glibc refuses a malformed bound and a missing file (exit 2, naming them)', (t) => {
  const bad = check(built, '--glibc', '2.x');
  t.is(bad.status, 2);
  t.true(bad.stderr.includes("--glibc: expected a version like 2.28, got '2.x'"), bad.stderr);
  const missing = check(path.join(repoRoot, 'build', 'no-such.node'));
  t.is(missing.status, 2);
  t.true(missing.stderr.includes('no such file'), missing.stderr);
});
