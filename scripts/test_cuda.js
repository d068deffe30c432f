#!/usr/bin/env node
// test_cuda.js (`npm run test:cuda`): runs test/cuda/*.test.ts against the CUDA build
// (build-cuda/ from `npm run build:cuda`, or CONVBERT_CUDA_BINARY) on a real GPU, or on the
// emulator with CONVBERT_CUDA_BINARY=build-cuda-emu/Release/convbert.node (CI). The single-op
// tests load the test addon built beside it: CONVBERT_CUDA_TEST_BINARY, by default
// convbert_test.node in the same folder.
// Where the CUDA build is missing or no GPU is usable it prints "no GPU: skipped" with
// the reason and exits 77 (the automake "skipped" code), which is NOT a pass.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const SKIP = 77;
const binary = process.env.CONVBERT_CUDA_BINARY ? path.resolve(process.env.CONVBERT_CUDA_BINARY) : path.join(root, 'build-cuda', 'Release', 'convbert.node');

const testBinary = process.env.CONVBERT_CUDA_TEST_BINARY ? path.resolve(process.env.CONVBERT_CUDA_TEST_BINARY) : path.join(path.dirname(binary), 'convbert_test.node');

function skip(reason) {
  console.log(`no GPU: skipped (${reason})`);
  process.exit(SKIP);
}

if (!fs.existsSync(binary)) skip(`no CUDA build at ${path.relative(root, binary)}; run npm run build:cuda`);
let info;
try {
  info = require(binary).backendInfo().cuda;
} catch (e) {
  skip(`the CUDA build failed to load: ${String(e.message).split('\n')[0]}`);
}
if (!info.available) skip(info.reason || 'no usable CUDA device');

// A CUDA build without its test addon is an incomplete build, not a machine without a GPU.
if (!fs.existsSync(testBinary)) {
  console.error(`no test addon at ${path.relative(root, testBinary)} beside the CUDA build: build the convbert_test target (npm run build:cuda or build:cuda:emulated builds it)`);
  process.exit(1);
}

if (info.emulated) {
  // npm run build:cuda:emulated: the same kernels on the host CPU (docs/cuda.md, "The emulator").
  console.log(`test:cuda on the CUDA emulator (${info.deviceName}): semantics against the CPU, not GPU numerics or speed`);
} else {
  console.log(`test:cuda on ${info.deviceName} (sm ${info.computeCapability}), runtime ${info.runtimeVersion}, driver ${info.driverVersion}`);
}
const files = fs
  .readdirSync(path.join(root, 'test', 'cuda'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/cuda/${f}`);
// ava's CLI is not in its exports map: run it from the installed package folder.
const avaCli = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const r = spawnSync(process.execPath, [avaCli, '--serial', ...files, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CONVBERT_CUDA_BINARY: binary, CONVBERT_CUDA_TEST_BINARY: testBinary, CONVBERT_BACKEND: 'auto', CONVBERT_REQUIRE_GPU: '1' },
});
process.exit(r.status === null ? 1 : r.status);
