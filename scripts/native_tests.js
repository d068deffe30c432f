#!/usr/bin/env node
// Builds and runs the native tests (native/test/*.cc, no Node involved) with
// CMake. `--sanitize` builds them with AddressSanitizer + UndefinedBehaviorSanitizer
// into build-sanitize/ and runs them once per CPU path (CONVBERT_ISA). `--tsan`
// builds them with ThreadSanitizer into build-tsan/ and runs the thread pool's
// tests (the only code where threads share memory outside a parallel_for's own
// disjoint ranges).
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const path = require('path');
const os = require('os');

const root = path.join(__dirname, '..');
const sanitize = process.argv.includes('--sanitize');
const tsan = process.argv.includes('--tsan');
const dir = path.join(root, sanitize ? 'build-sanitize' : tsan ? 'build-tsan' : 'build-native');
const jobs = String(Math.max(1, os.cpus().length));

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(r.status || 1);
  }
}

run('cmake', [
  '-S',
  '.',
  '-B',
  dir,
  '-DCMAKE_BUILD_TYPE=' + (sanitize || tsan ? 'RelWithDebInfo' : 'Release'),
  `-DCONVBERT_SANITIZE=${sanitize ? 'ON' : 'OFF'}`,
  `-DCONVBERT_TSAN=${tsan ? 'ON' : 'OFF'}`,
]);
run('cmake', ['--build', dir, '--target', 'convbert_native_tests', '-j', jobs]);

const bin = path.join(dir, 'convbert_native_tests');
if (tsan) {
  console.log('== native thread pool tests (ThreadSanitizer)');
  run(bin, ['thread_pool'], { TSAN_OPTIONS: 'halt_on_error=1:exitcode=66' });
  process.exit(0);
}
const best = execFileSync(process.execPath, ['-e', "process.stdout.write(require('./dist').backendInfo().bestIsa)"], { cwd: root, encoding: 'utf8' });
const paths = ['generic', 'avx2', 'avx512'].slice(0, ['generic', 'avx2', 'avx512'].indexOf(best) + 1);
const env = sanitize ? { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' } : {};
for (const isa of paths) {
  console.log(`== native tests, CONVBERT_ISA=${isa}${sanitize ? ' (ASan + UBSan)' : ''}`);
  run(bin, [], { ...env, CONVBERT_ISA: isa });
}
