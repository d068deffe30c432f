// modulesToNotConvert: linear modules the CPU engine keeps in float32 inside a
// bfloat16 or int8 model (HF quantization configs' modules_to_not_convert).
// Checked on the public fixtures, on every CPU path:
// - naming every linear module makes a bf16 or int8 engine compute exactly what
//   the float32 engine computes (bit for bit: the same packed fp32 products), so
//   each linear layer's precision follows its own packing;
// - naming only the MLM head leaves the trunk's output bit for bit as the plain
//   bf16 engine's, and moves the logits (the head really ran in fp32);
// - keeping the FFN output in fp32 lowers int8's hidden-state error on a folder
//   with large weights (proj-groups-b, measured: max abs 0.208 -> 0.148);
// - how names match (dot-separated parts as a contiguous run, 'layer.1' is not
//   'layer.11', the fused q|k|v|conv_out product kept whole, the convbert. prefix
//   of head models), what model.modulesToNotConvert reports (the native Engine's
//   modulesToNotConvert), and the typed errors.
import * as path from 'path';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { ConvBertForMaskedLM, ConvBertModel } from '../../lib/models';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { cpuPaths } from '../helpers/ops';
import { buildRequest, engineClass, type FixtureCase, type FixtureModel, loadFixtureModel, producedOutputs, readSafetensors } from './fixture_model';

interface TestEngine {
  readonly dtype: string;
  readonly modulesToNotConvert: string[];
  forwardSync(req: unknown): void;
  dispose(): void;
}
type Ctor = new (spec: unknown, o?: unknown) => TestEngine;

const root = fixturesDir('convbert');

/** Every output of every case of the folder, by case and output name. */
function runAll(m: FixtureModel, e: TestEngine): Map<string, Float32Array> {
  const dir = m.dir;
  const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
  const tensors = readSafetensors(path.join(dir, 'expected.safetensors'));
  const out = new Map<string, Float32Array>();
  for (const c of cases) {
    const r = buildRequest(m, c, tensors);
    e.forwardSync(r.req);
    for (const [name, v] of producedOutputs(r.req, m.spec.head.kind, r.L)) out.set(`${c.name}/${name}`, v);
  }
  return out;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function worst(a: Map<string, Float32Array>, b: Map<string, Float32Array>, only?: (name: string) => boolean): number {
  let w = 0;
  for (const [k, v] of a) if (!only || only(k)) w = Math.max(w, maxAbs(v, b.get(k)!));
  return w;
}

function sameBits(t: { true(c: boolean, m?: string): void }, a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string): void {
  t.true(a.size > 0 && a.size === b.size, `${what}: output sets differ`);
  for (const [k, v] of a) {
    const u = b.get(k)!;
    const same = Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(u.buffer, u.byteOffset, u.byteLength));
    t.true(same, `${what}: ${k} differs (max abs ${maxAbs(v, u)})`);
  }
}

// Names that cover every linear module of a MaskedLM fixture (embeddings_project only where E != H).
function everyLinear(m: FixtureModel): string[] {
  const names = ['encoder', 'generator_predictions', 'generator_lm_head'];
  if (m.spec.embedding_size !== m.spec.hidden_size) names.push('embeddings_project');
  return names;
}

for (const folder of ['tiny-a', 'proj-groups-b']) {
  for (const isa of cpuPaths()) {
    test(`${folder} MaskedLM on ${isa}: bf16 and int8 with every linear module kept in float32 equal the float32 engine bit for bit`, (t) => {
      const m = loadFixtureModel(path.join(root, folder, 'ConvBertForMaskedLM'));
      const Engine = engineClass() as unknown as Ctor;
      const f32 = new Engine(m.spec, { isa });
      t.teardown(() => f32.dispose());
      const ref = runAll(m, f32);
      for (const dtype of ['bfloat16', 'int8']) {
        const plain = new Engine(m.spec, { isa, dtype });
        const kept = new Engine(m.spec, { isa, dtype, modulesToNotConvert: everyLinear(m) });
        t.teardown(() => {
          plain.dispose();
          kept.dispose();
        });
        t.is(kept.dtype, dtype);
        // 3 per layer besides the fused four: pointwise, conv_kernel_layer, attention.output.dense,
        // intermediate.dense, output.dense; plus the head's two and embeddings_project.
        const expected = m.layers * 9 + 2 + (m.spec.embedding_size !== m.spec.hidden_size ? 1 : 0);
        t.is(kept.modulesToNotConvert.length, expected, kept.modulesToNotConvert.join(', '));
        t.true(worst(runAll(m, plain), ref) > 1e-5, `${dtype}: the plain engine equals float32: its path did not run`);
        sameBits(t, runAll(m, kept), ref, `${folder} ${dtype} ${isa}`);
      }
    });
  }
}

test('tiny-a MaskedLM: keeping only generator_lm_head leaves the bf16 trunk as it was and changes only the logits', (t) => {
  const m = loadFixtureModel(path.join(root, 'tiny-a', 'ConvBertForMaskedLM'));
  const Engine = engineClass() as unknown as Ctor;
  const f32 = new Engine(m.spec);
  const bf = new Engine(m.spec, { dtype: 'bfloat16' });
  const head = new Engine(m.spec, { dtype: 'bfloat16', modulesToNotConvert: ['generator_lm_head'] });
  t.teardown(() => [f32, bf, head].forEach((e) => e.dispose()));
  t.deepEqual(head.modulesToNotConvert, ['generator_lm_head']);
  t.false('float32Modules' in head, 'the Engine reports its kept modules under one name');
  const ref = runAll(m, f32);
  const a = runAll(m, bf);
  const b = runAll(m, head);
  const isLogits = (k: string): boolean => k.endsWith('/logits');
  const trunkA = new Map([...a].filter(([k]) => !isLogits(k)));
  const trunkB = new Map([...b].filter(([k]) => !isLogits(k)));
  sameBits(t, trunkB, trunkA, 'trunk outputs');
  const moved = worst(b, a, isLogits);
  t.true(moved > 1e-6, `the logits did not change (max abs ${moved}): the head did not run in float32`);
  t.log(`logits max abs vs float32: bf16 ${worst(a, ref, isLogits).toExponential(3)}, bf16 + fp32 lm head ${worst(b, ref, isLogits).toExponential(3)}`);
});

test('proj-groups-b Model: int8 with the FFN output dense in float32 has a smaller hidden-state error', (t) => {
  const m = loadFixtureModel(path.join(root, 'proj-groups-b', 'ConvBertModel'));
  const Engine = engineClass() as unknown as Ctor;
  const f32 = new Engine(m.spec);
  const i8 = new Engine(m.spec, { dtype: 'int8' });
  // '0.output.dense' style keys would also work; 'output.dense' takes attention.output.dense too.
  const keys = Array.from({ length: m.layers }, (_, i) => `layer.${i}.output.dense`);
  const keep = new Engine(m.spec, { dtype: 'int8', modulesToNotConvert: keys });
  t.teardown(() => [f32, i8, keep].forEach((e) => e.dispose()));
  t.deepEqual(
    keep.modulesToNotConvert,
    Array.from({ length: m.layers }, (_, i) => `encoder.layer.${i}.output.dense`),
  );
  const ref = runAll(m, f32);
  const hidden = (k: string): boolean => k.endsWith('/last_hidden_state');
  const e8 = worst(runAll(m, i8), ref, hidden);
  const ek = worst(runAll(m, keep), ref, hidden);
  t.log(`last_hidden_state max abs vs float32: int8 ${e8.toExponential(3)}, int8 + fp32 output.dense ${ek.toExponential(3)}`);
  t.true(ek < e8, `${ek} >= ${e8}`);
});

test('name matching: contiguous dotted parts, the fused attention product kept whole, convbert. prefix on head models', (t) => {
  const cfg = { vocab_size: 40, hidden_size: 16, embedding_size: 16, num_attention_heads: 2, intermediate_size: 32, num_hidden_layers: 12, max_position_embeddings: 32 };
  const layer1 = ConvBertModel.fromConfig(cfg, { dtype: 'bfloat16', modulesToNotConvert: ['layer.1.intermediate'] });
  t.teardown(() => layer1.dispose());
  t.deepEqual(layer1.modulesToNotConvert, ['encoder.layer.1.intermediate.dense']);
  const v = ConvBertModel.fromConfig(cfg, { dtype: 'int8', modulesToNotConvert: ['encoder.layer.11.attention.self.value'] });
  t.teardown(() => v.dispose());
  t.deepEqual(
    v.modulesToNotConvert,
    ['query', 'key', 'value', 'conv_out_layer'].map((n) => `encoder.layer.11.attention.self.${n}`),
  );
  t.is(v.dtype, 'int8');
  const mlm = ConvBertForMaskedLM.fromConfig(cfg, { dtype: 'bfloat16', modulesToNotConvert: ['convbert.encoder.layer.0.output', 'generator_lm_head'] });
  t.teardown(() => mlm.dispose());
  t.deepEqual(mlm.modulesToNotConvert, ['convbert.encoder.layer.0.output.dense', 'generator_lm_head']);
  // 'output.dense' is a run of both attention.output.dense and output.dense.
  const both = ConvBertModel.fromConfig({ ...cfg, num_hidden_layers: 1 }, { dtype: 'bfloat16', modulesToNotConvert: ['output.dense'] });
  t.teardown(() => both.dispose());
  t.deepEqual(both.modulesToNotConvert, ['encoder.layer.0.attention.output.dense', 'encoder.layer.0.output.dense']);
  // float32 models accept the option (nothing to convert) and still check the names.
  const f = ConvBertModel.fromConfig({ ...cfg, num_hidden_layers: 1 }, { modulesToNotConvert: ['intermediate'] });
  t.teardown(() => f.dispose());
  t.deepEqual(f.modulesToNotConvert, ['encoder.layer.0.intermediate.dense']);
  t.is(f.dtype, 'float32');
  const none = ConvBertModel.fromConfig({ ...cfg, num_hidden_layers: 1 }, { dtype: 'bfloat16' });
  t.teardown(() => none.dispose());
  t.deepEqual(none.modulesToNotConvert, []);
  // One name for the concept: the old float32Modules spelling is gone from the model and the Engine.
  t.false('float32Modules' in none);
});

test('bad modulesToNotConvert: typed errors naming the option', (t) => {
  const cfg = { vocab_size: 40, hidden_size: 16, embedding_size: 16, num_attention_heads: 2, intermediate_size: 32, num_hidden_layers: 1, max_position_embeddings: 32 };
  const bad = (keep: unknown, code: string, message: RegExp, device?: string): void => {
    const e = t.throws(() => ConvBertModel.fromConfig(cfg, { dtype: 'bfloat16', modulesToNotConvert: keep as string[], device: device as never }), {
      instanceOf: ConvBertError,
      message,
    });
    t.is((e as ConvBertError).code as string, code, String(keep));
  };
  bad('encoder', 'ERR_CONVBERT_ARG', /fromConfig: modulesToNotConvert must be an array of module names, got "encoder"/);
  bad(null, 'ERR_CONVBERT_ARG', /must be an array of module names, got null/);
  bad(['encoder', 3], 'ERR_CONVBERT_ARG', /modulesToNotConvert\[1\] must be a non-empty module name, got number 3/);
  // eslint-disable-next-line no-sparse-arrays
  bad(['encoder', , 'output.dense'], 'ERR_CONVBERT_ARG', /modulesToNotConvert\[1\] must be a non-empty module name, got undefined/);
  bad(new Array(5), 'ERR_CONVBERT_ARG', /modulesToNotConvert\[0\] must be a non-empty module name, got undefined/);
  bad(new Array(2000).fill('encoder'), 'ERR_CONVBERT_ARG', /modulesToNotConvert has 2000 names; at most 1024/);
  bad([new String('encoder')], 'ERR_CONVBERT_ARG', /modulesToNotConvert\[0\] must be a non-empty module name, got an object \(\[object String\]\)/);
  bad([''], 'ERR_CONVBERT_ARG', /modulesToNotConvert\[0\] must be a non-empty module name/);
  bad(['generator_lm_head'], 'ERR_CONVBERT_ARG', /'generator_lm_head' matches no linear module of this model/);
  bad(['layer.1'], 'ERR_CONVBERT_ARG', /'layer.1' matches no linear module/);
  bad(['encoder..dense'], 'ERR_CONVBERT_ARG', /'encoder..dense' is not a module name/);
  bad(['.dense'], 'ERR_CONVBERT_ARG', /is not a module name/);
  bad(['layer.0.'], 'ERR_CONVBERT_ARG', /is not a module name/);
  bad(['LayerNorm'], 'ERR_CONVBERT_ARG', /'LayerNorm' matches no linear module/);
  bad(['intermediate'], 'ERR_CONVBERT_UNSUPPORTED', /modulesToNotConvert runs on the CPU engine only; use device 'cpu'/, 'cuda');
  // The Engine itself (what the classes call) checks its option too.
  const m = loadFixtureModel(path.join(root, 'tiny-a', 'ConvBertModel'));
  const Engine = engineClass() as unknown as Ctor;
  t.throws(() => new Engine(m.spec, { dtype: 'int8', modulesToNotConvert: 'encoder' }), {
    code: 'ERR_CONVBERT_ARG',
    message: /options.modulesToNotConvert must be an array of module names/,
  });
  t.throws(() => new Engine(m.spec, { dtype: 'int8', modulesToNotConvert: ['encoder', null] }), { code: 'ERR_CONVBERT_ARG', message: /element 1 is not a string/ });
  // eslint-disable-next-line no-sparse-arrays
  t.throws(() => new Engine(m.spec, { dtype: 'int8', modulesToNotConvert: [, 'encoder'] }), { code: 'ERR_CONVBERT_ARG', message: /element 0 is not a string/ });
  t.throws(() => new Engine(m.spec, { dtype: 'int8', modulesToNotConvert: ['decoder'] }), { message: /'decoder' matches no linear module/ });
  t.throws(() => new Engine(m.spec, { device: 'cuda', dtype: 'bfloat16', modulesToNotConvert: ['encoder'] }), { message: /runs on the CPU engine only/ });
});
