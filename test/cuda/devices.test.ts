// CUDA device discovery (cuda/backend.cu): every device the runtime lists is inspected, not
// only device 0. backendInfo().cuda.devices has one entry per device with its own verdict;
// available means some device is usable; defaultDevice (what 'auto' picks) is the first usable
// one; cuda_begin(N) admits only a usable device N and otherwise names the usable ones.
// On the emulated build (CI) child processes set CONVBERT_CUDA_EMU_DEVICES to lay out machines
// a GPU runner rarely has: an sm_75 card as device 0 before an sm_90 one, three devices, none.
import { spawnSync } from 'child_process';
import * as path from 'path';

import test from 'ava';

import { loadAddon, native } from '../../lib/native';

test('devices: backendInfo().cuda lists every device and defaultDevice is the first usable one', (t) => {
  const c = native().backendInfo().cuda;
  const devices = c.devices ?? [];
  t.is(devices.length, c.deviceCount);
  devices.forEach((d, i) => {
    t.is(d.ordinal, i);
    t.is(d.usable, d.reason === undefined, `device ${i}: a reason exactly when unusable`);
  });
  const first = devices.findIndex((d) => d.usable);
  t.is(c.available, first >= 0);
  if (first >= 0) {
    t.is(c.defaultDevice, first);
    t.is(c.deviceName, devices[first].name);
  } else {
    t.is(c.defaultDevice, undefined);
    t.truthy(c.reason);
  }
});

// What a child with CONVBERT_CUDA_EMU_DEVICES=<layout> sees through the public API: backendInfo,
// ops.lightconvSync on every ordinal (result or error code and message), and a one-layer model
// built on the default device (its forward against the same model on the CPU).
const CHILD = `
const { ops, Tensor, backendInfo, ConvBertModel } = require('./lib/index.ts');
(async () => {
  const c = backendInfo().cuda;
  const x = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [1, 3, 2]);
  const w = new Tensor('float32', new Float32Array([0, 0]), [1, 2]);
  const runs = [];
  for (let d = 0; d <= c.deviceCount; d++) {
    try { runs.push({ y: Array.from(ops.lightconvSync(x, w, { device: 'cuda:' + d, padding: 'left' }).data) }); }
    catch (e) { runs.push({ code: e.code, message: e.message }); }
  }
  let model = null;
  if (c.available) {
    const cfg = { vocab_size: 30, hidden_size: 16, embedding_size: 16, num_attention_heads: 2, intermediate_size: 32, num_hidden_layers: 1, max_position_embeddings: 16 };
    const gpu = ConvBertModel.fromConfig(cfg, { seed: 3, device: 'cuda:' + c.defaultDevice });
    const cpu = ConvBertModel.fromConfig(cfg, { seed: 3 });
    const ids = new Tensor('int64', [[2, 5, 7, 1]]);
    const a = (await gpu.forward({ input_ids: ids })).last_hidden_state.data;
    const b = (await cpu.forward({ input_ids: ids })).last_hidden_state.data;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    model = { device: gpu.device, worst };
    gpu.dispose(); cpu.dispose();
  }
  // The CUDA build as loaded directly: lib/ falls back to the CPU build when no device is usable.
  const addon = require(process.env.CONVBERT_CUDA_BINARY);
  const raw = addon.backendInfo().cuda;
  // The test-only op entries (the test addon beside the CUDA build) default to the first usable device, not to device 0.
  let testOp = null;
  if (c.available) {
    try { testOp = { y: Array.from(require('./lib/native.ts').loadTestAddon().addon.opLightconv({ x: x.data, w: w.data, B: 1, T: 3, C: 2, H: 1, K: 2, padding_l: 1 }, 'cuda')) }; }
    catch (e) { testOp = { code: e.code, message: e.message }; }
  }
  process.stdout.write(JSON.stringify({ cuda: c, raw, runs, model, testOp }));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

interface ChildCuda {
  available: boolean;
  deviceCount: number;
  defaultDevice?: number;
  reason?: string;
  devices: { usable: boolean; computeCapability: string; reason?: string }[];
}
interface ChildResult {
  cuda: ChildCuda;
  raw: ChildCuda;
  runs: { y?: number[]; code?: string; message?: string }[];
  model: { device: string; worst: number } | null;
  testOp: { y?: number[]; code?: string; message?: string } | null;
}

function child(layout: string): ChildResult {
  const root = path.join(__dirname, '..', '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', CHILD], {
    cwd: root,
    encoding: 'utf8',
    // The emulated build this process loaded, by absolute path.
    env: { ...process.env, CONVBERT_CUDA_BINARY: loadAddon().file, CONVBERT_CUDA_EMU_DEVICES: layout, CONVBERT_QUIET: '1' },
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`child with CONVBERT_CUDA_EMU_DEVICES=${layout} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

// The causal mean over 2 taps of x = [[1, 2], [3, 4], [5, 6]] (equal logits: taps 1/2, 1/2).
const CAUSAL_MEAN = [0.5, 1, 2, 3, 4, 5];

if (native().backendInfo().cuda.emulated) {
  test('devices (emulator): an sm_75 device 0 does not hide an sm_90 device 1', (t) => {
    const r = child('7.5,9.0');
    t.true(r.cuda.available, r.cuda.reason);
    t.is(r.cuda.deviceCount, 2);
    t.is(r.cuda.defaultDevice, 1);
    t.deepEqual(
      r.cuda.devices.map((d) => [d.computeCapability, d.usable]),
      [
        ['7.5', false],
        ['9.0', true],
      ],
    );
    t.regex(r.cuda.devices[0].reason ?? '', /^CUDA device 0 \(.*, sm_75\) is older than sm_80/);
    // cuda:0 is refused with its own reason and the usable ordinals; cuda:1 runs; cuda:2 does not exist.
    t.is(r.runs[0].code, 'ERR_CONVBERT_UNSUPPORTED');
    t.regex(r.runs[0].message ?? '', /^CUDA device 0 .* older than sm_80, the oldest this build targets; usable: cuda:1$/);
    t.deepEqual(r.runs[1].y, CAUSAL_MEAN);
    t.deepEqual(r.testOp?.y, CAUSAL_MEAN, r.testOp?.message);
    t.is(r.runs[2].code, 'ERR_CONVBERT_ARG');
    t.regex(r.runs[2].message ?? '', /CUDA ordinal 2 is outside \[0, 2\)/);
    // The engine on the default device: fp32 on both sides, one layer, hidden 16.
    t.is(r.model?.device, 'cuda:1');
    t.true((r.model?.worst ?? Infinity) < 1e-4, `max |cuda - cpu| = ${r.model?.worst}`);
  });

  test('devices (emulator): three usable devices all run; only old devices or none means unavailable', (t) => {
    const three = child('3');
    t.deepEqual(three.raw, three.cuda);
    t.is(three.cuda.deviceCount, 3);
    t.is(three.cuda.defaultDevice, 0);
    for (let d = 0; d < 3; d++) t.deepEqual(three.runs[d].y, CAUSAL_MEAN, `cuda:${d}`);
    // No usable device: the CUDA build says why, naming every device, and lib/ runs the CPU build
    // (whose backendInfo().cuda.reason repeats that reason).
    const old = child('7.0,7.5');
    t.false(old.raw.available);
    t.is(old.raw.deviceCount, 2);
    t.deepEqual(
      old.raw.devices.map((d) => d.usable),
      [false, false],
    );
    t.regex(old.raw.reason ?? '', /^CUDA device 0 .*sm_70\) is older than sm_80.*; CUDA device 1 .*sm_75\) is older than sm_80/);
    t.false(old.cuda.available);
    t.true((old.cuda.reason ?? '').includes(old.raw.reason ?? '?'), old.cuda.reason);
    t.is(old.runs[0].code, 'ERR_CONVBERT_UNSUPPORTED');
    t.is(old.model, null);
    const none = child('0');
    t.false(none.raw.available);
    t.is(none.raw.deviceCount, 0);
    t.regex(none.raw.reason ?? '', /cudaErrorNoDevice/);
    const bad = child('sm90');
    t.false(bad.raw.available);
    t.regex(bad.raw.reason ?? '', /CONVBERT_CUDA_EMU_DEVICES must be a device count .* got 'sm90'/);
  });
}
