#!/usr/bin/env node
// check_cuda_resources.js: compiles every cuda/*.cu with nvcc --resource-usage (ptxas's report
// per kernel) for the oldest and newest targets (sm_80, sm_90) and fails when a kernel spills,
// when registers x the threads its launches use exceed the 64K registers of an SM (the launch
// would fail with "too many resources requested"), or when its static shared memory plus the
// most dynamic shared memory its launches ask for exceeds the 48 KB available without the opt-in.
// Needs nvcc (CI has it; no GPU needed). Prints one line per kernel.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const nvcc = process.env.NVCC || 'nvcc';
// Threads per block and the largest dynamic shared memory each kernel family is launched with
// (the launchers in cuda/*.cu); families not listed launch 256 threads with no dynamic memory.
const LAUNCH = [
  [/gemm_f32_kernel/, 256, 0],
  [/gemm_wmma_kernel/, 128, 0],
  [/attention_flash_kernel/, 128, (16 * 128 + 32 * 129 + 32 * 128) * 4], // D = 128, flash_smem_bytes
  [/attention_exact_kernel/, 128, 48 * 1024], // checked at launch against 48 KB
  [/dynconv_kernel|lightconv_kernel/, 256, 48 * 1024], // H * K * 4, checked at launch
  [/softmax_kernel/, 256, 0],
];
const SMEM = 48 * 1024,
  REGS = 65536;

const files = fs
  .readdirSync(path.join(root, 'cuda'))
  .filter((f) => f.endsWith('.cu'))
  .sort();
let bad = 0,
  kernels = 0;
for (const arch of ['sm_80', 'sm_90']) {
  for (const f of files) {
    const r = spawnSync(nvcc, ['-c', '-std=c++17', `-arch=${arch}`, '--resource-usage', '-I', 'native/include', '-o', '/dev/null', `cuda/${f}`], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (r.error || r.status !== 0) {
      console.error(`nvcc failed on cuda/${f} (${arch}):\n${r.error ? r.error.message : r.stderr}`);
      process.exit(1);
    }
    let fn = null;
    for (const line of (r.stdout + r.stderr).split('\n')) {
      const m = line.match(/Compiling entry function '([^']+)'|Function properties for ([^\s]+)/);
      if (m) fn = m[1] || m[2];
      const spill = line.match(/(\d+) bytes spill stores, (\d+) bytes spill loads/);
      if (spill && fn && (Number(spill[1]) > 0 || Number(spill[2]) > 0)) {
        console.log(`FAIL ${arch} ${fn}: ${spill[0]}`);
        bad++;
      }
      const use = line.match(/Used (\d+) registers.*?(?:(\d+) bytes smem)?/);
      if (!use || !fn) continue;
      kernels++;
      const regs = Number(use[1]);
      const smem = Number((line.match(/(\d+) bytes smem/) || [0, 0])[1]);
      const [, threads, dyn] = LAUNCH.find(([re]) => re.test(fn)) || [null, 256, 0];
      const problems = [];
      if (regs * threads > REGS) problems.push(`${regs} registers x ${threads} threads > ${REGS}`);
      if (smem + dyn > SMEM) problems.push(`static ${smem} + dynamic ${dyn} bytes of shared memory > ${SMEM}`);
      console.log(`${problems.length ? 'FAIL' : 'ok  '} ${arch} ${fn}: ${regs} registers, ${smem} bytes static smem${problems.length ? ' (' + problems.join('; ') + ')' : ''}`);
      if (problems.length) bad++;
    }
  }
}
if (kernels === 0) {
  console.error('no ptxas resource lines were found: did nvcc --resource-usage change its output?');
  process.exit(1);
}
console.log(`${kernels} kernel reports, ${bad} problems`);
process.exit(bad ? 1 : 0);
