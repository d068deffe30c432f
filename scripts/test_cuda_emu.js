#!/usr/bin/env node
// test_cuda_emu.js (`npm run test:cuda:emu`): the CUDA emulator's native tests (cuda/emu/tests/,
// no Node). Three builds of the same test file:
//   fibers   build-cuda-emu/ (the emulated addon's build folder): every check, engine included;
//   TSan     build-cuda-emu-tsan/, one OS thread per CUDA thread: the checks on small shapes
//            report no race, and a copy of block_sum without one __syncthreads MUST be reported;
//   ASan     build-cuda-emu-asan/, threads as well: no report on the checks, and an out-of-range
//            __shared__ index MUST be reported as a heap-buffer-overflow.
// `--fibers-only` skips the two sanitizer builds.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const os = require('os');

const root = path.join(__dirname, '..');
const jobs = String(Math.max(1, os.cpus().length));

function run(cmd, args, env, expectFail) {
  const r = spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = (r.stdout || '') + (r.stderr || '');
  if (!expectFail && r.status !== 0) {
    process.stdout.write(out);
    console.error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(r.status || 1);
  }
  return { status: r.status, out };
}

function build(dir, defs, target) {
  run('cmake', ['-S', '.', '-B', dir, '-DCONVBERT_CUDA_EMULATED=ON', ...defs]);
  run('cmake', ['--build', dir, '--target', target, '-j', jobs]);
  return path.join(root, dir, target);
}

function section(name) {
  console.log(`== ${name}`);
}

// Fibers: in the emulated addon's own build folder, so the CPU library is compiled once.
section('CUDA emulator tests (fibers)');
const fib = build('build-cuda-emu', [], 'convbert_cuda_emu_tests');
process.stdout.write(run(fib, ['all']).out);
if (process.argv.includes('--fibers-only')) process.exit(0);

section('CUDA emulator tests (threads, ThreadSanitizer)');
const tsan = build('build-cuda-emu-tsan', ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DCONVBERT_CUDA_EMU_THREADS=ON', '-DCONVBERT_TSAN=ON'], 'convbert_cuda_emu_selftest');
const tsanEnv = { TSAN_OPTIONS: 'halt_on_error=1:exitcode=66' };
process.stdout.write(run(tsan, ['all'], tsanEnv).out);
const race = run(tsan, ['race'], tsanEnv, true);
if (race.status === 0 || !/ThreadSanitizer: data race/.test(race.out)) {
  process.stdout.write(race.out);
  console.error('FAIL: block_sum without its second __syncthreads was not reported as a race');
  process.exit(1);
}
console.log('ok   a missing __syncthreads is reported as a data race');

section('CUDA emulator tests (threads, AddressSanitizer + UBSan)');
const asan = build('build-cuda-emu-asan', ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DCONVBERT_CUDA_EMU_THREADS=ON', '-DCONVBERT_SANITIZE=ON'], 'convbert_cuda_emu_selftest');
const asanEnv = { ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' };
process.stdout.write(run(asan, ['all'], asanEnv).out);
const oob = run(asan, ['oob'], asanEnv, true);
if (oob.status === 0 || !/AddressSanitizer: heap-buffer-overflow/.test(oob.out)) {
  process.stdout.write(oob.out);
  console.error('FAIL: an out-of-range __shared__ index was not reported by AddressSanitizer');
  process.exit(1);
}
console.log('ok   an out-of-range __shared__ index is reported as a heap-buffer-overflow');
