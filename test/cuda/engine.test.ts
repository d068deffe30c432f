// The CUDA engine (cuda/engine.cu) on every case of the ConvBERT golden fixtures
// (fixturesDir('convbert')), through the models' fromPretrained with an Engine built for
// device 'cuda:0'. Tolerances:
// - float32 (no TF32): the fixtures' own check, |got - exp| <= 1e-4 + 1e-4|exp|.
// - float16 / bfloat16 weights and tensor-core inputs, fp32 everywhere else: against the
//   same goldens (which equal the fp32 result to 1e-4) at |d| <= tol + tol|exp| with
//   tol = 2e-2 (fp16: 11-bit mantissa, ~5e-4 relative per gemm input, a few layers deep)
//   and 1.6e-1 (bf16: 8-bit mantissa, 8x coarser, so 8x fp16's tolerance). Measured on the
//   emulator (exact products, fp32 sums, as tensor cores): worst |d|/(1+|exp|) 1.2e-2 for
//   fp16 and 8.5e-2 for bf16 (odd-heads-e, a LayerNorm-amplified element); docs/cuda.md.
//   Measured values on a GPU belong in docs/gpu.md.
// The engine must really be the CUDA one: its `device` must read 'cuda:0'.
import * as path from 'path';

import { native } from '../../lib/native';
import type { EngineSpec, NativeEngine, NativeEngineCtor } from '../../lib/engine_types';
import { readSafetensorsSync } from '../../lib/weights/safetensors';
import { Tensor } from '../../lib/tensor';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { fixtureIndex, modelClass, type FixtureCase } from '../model/fixture_runner';
import { cudaOps, gpuTest } from './helpers';

type Dtype = 'float32' | 'float16' | 'bfloat16';
const TOL: Record<Dtype, number> = { float32: 1e-4, float16: 2e-2, bfloat16: 1.6e-1 };

function cudaEngineCtor(dtype: Dtype): NativeEngineCtor {
  const Engine = native().Engine as unknown as new (spec: EngineSpec, opts: object) => NativeEngine & { device?: string };
  return class {
    constructor(spec: EngineSpec) {
      const e = new Engine(spec, { device: 'cuda:0', dtype, tf32: false });
      if (e.device !== 'cuda:0') {
        throw new Error(`Engine(spec, { device: 'cuda:0' }) built a '${String(e.device)}' engine: the CUDA engine hook is not wired (docs/cuda.md)`);
      }
      return e;
    }
  } as unknown as NativeEngineCtor;
}

function worst(got: unknown, want: Tensor, tol: number): string | null {
  if (!(got instanceof Tensor)) return `missing (got ${typeof got})`;
  if (got.dims.join(',') !== want.dims.join(',')) return `dims [${got.dims}] != [${want.dims}]`;
  const g = got.toFloat32(),
    w = want.toFloat32();
  let idx = -1,
    ex = 0;
  for (let i = 0; i < w.length; i++) {
    const d = Math.abs(g[i] - w[i]),
      lim = tol + tol * Math.abs(w[i]);
    if (!(d <= lim) && (idx < 0 || (Number.isNaN(d) ? Infinity : d - lim) > ex)) {
      idx = i;
      ex = Number.isNaN(d) ? Infinity : d - lim;
    }
  }
  return idx < 0 ? null : `element ${idx} got ${g[idx]} expected ${w[idx]} (tol ${tol})`;
}

// Without a GPU: the backend's CUDA entry points refuse with the reason (the engine hook is
// not in this file's ownership; its own fallback test belongs with engine_wrap).
const probe = () => cudaOps().cudaGemm({ A: new Float32Array(1), B: new Float32Array(1), M: 1, N: 1, K: 1 });

for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
  gpuTest(`engine ${dtype}: every fixture case through the CUDA engine`, probe, async (t) => {
    const failures: string[] = [];
    let compared = 0;
    for (const entry of fixtureIndex()) {
      const dir = fixturesDir('convbert', entry.path);
      const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
      const tensors = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
      const model = await modelClass(entry.architecture).fromPretrained(dir, { engine: cudaEngineCtor(dtype) });
      try {
        for (const c of cases) {
          const inputs: Record<string, Tensor> = {};
          for (const [arg, name] of Object.entries(c.inputs)) inputs[arg] = tensors.get(name)!;
          const res = await model.forward(inputs, c.kwargs);
          for (const [key, names] of Object.entries(c.outputs)) {
            const list = Array.isArray(names) ? names : [names];
            const got = Array.isArray(names) ? (res[key] as unknown[]) : [res[key]];
            list.forEach((name, i) => {
              compared++;
              const bad = worst(got?.[i], tensors.get(name)!, TOL[dtype]);
              if (bad) failures.push(`${entry.path} ${c.name} ${key}${Array.isArray(names) ? `.${i}` : ''}: ${bad}`);
            });
          }
        }
      } finally {
        model.dispose();
      }
    }
    t.true(compared > 0, 'no fixture outputs were compared');
    t.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${compared} outputs out of tolerance`);
  });
}

// Regression: when either arena part had to grow, both were reallocated to exactly the new
// shape's sizes, so a shape needing more floats but fewer ints (output_attentions on a shorter
// sequence) and its opposite reallocated on every alternation and dropped every captured graph.
// Each part now grows to max(old, new): after both shapes ran once the device bytes stay put.
gpuTest('engine: alternating shapes grow the arena to the larger of each part, once', probe, async (t) => {
  let engine: (NativeEngine & { nativeBytes?: number }) | undefined;
  const Engine = native().Engine as unknown as new (spec: EngineSpec, opts: object) => NativeEngine & { nativeBytes: number };
  const ctor = class {
    constructor(spec: EngineSpec) {
      engine = new Engine(spec, { device: 'cuda:0', dtype: 'float32' });
      return engine;
    }
  } as unknown as NativeEngineCtor;
  const model = await modelClass('ConvBertModel').fromPretrained(fixturesDir('convbert', 'tiny-a/ConvBertModel'), { engine: ctor });
  try {
    const ids = (L: number) =>
      new Tensor(
        'int32',
        Int32Array.from({ length: L }, (_, i) => (i * 7) % 50),
        [1, L],
      );
    const bytes: number[] = [];
    for (let round = 0; round < 3; round++) {
      await model.forward({ input_ids: ids(128) }); // more ints (3 per token), fewer floats
      bytes.push(engine!.nativeBytes!);
      await model.forward({ input_ids: ids(64) }, { output_attentions: true, output_hidden_states: true });
      bytes.push(engine!.nativeBytes!);
    }
    t.true(bytes[1] > bytes[0], `the second shape must need more device memory (${bytes.join(', ')})`);
    t.deepEqual(
      bytes.slice(1),
      bytes.slice(1).map(() => bytes[1]),
      `device bytes after each forward: ${bytes.join(', ')}`,
    );
  } finally {
    model.dispose();
  }
});

// The public API on the CUDA build: fromPretrained(dir, { device: 'cuda' }) runs the CUDA engine
// (on the emulator in CI) and matches the goldens at the fixture tolerance; device 'auto' never
// picks the emulated build (backendInfo().cuda.emulated), only a real GPU.
gpuTest('engine: fromPretrained with device cuda matches the goldens; auto skips the emulator', probe, async (t) => {
  const entry = fixtureIndex().find((e) => e.architecture === 'ConvBertForMaskedLM')!;
  const dir = fixturesDir('convbert', entry.path);
  const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
  const tensors = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
  const Cls = modelClass(entry.architecture) as unknown as {
    fromPretrained(p: string, o: object): Promise<{ device: string; forward(i: object, k?: object): Promise<Record<string, unknown>>; dispose(): void }>;
  };
  const model = await Cls.fromPretrained(dir, { device: 'cuda' });
  try {
    t.is(model.device, 'cuda:0');
    const c = cases[0];
    const inputs: Record<string, Tensor> = {};
    for (const [arg, name] of Object.entries(c.inputs)) inputs[arg] = tensors.get(name)!;
    const res = await model.forward(inputs, c.kwargs);
    const name = c.outputs.logits as string;
    t.is(worst(res.logits, tensors.get(name)!, TOL.float32), null);
  } finally {
    model.dispose();
  }
  const auto = await Cls.fromPretrained(dir, { device: 'auto' });
  try {
    t.is(auto.device, native().backendInfo().cuda.emulated ? 'cpu' : 'cuda:0');
  } finally {
    auto.dispose();
  }
});
