// fromConfig (HF's initialisation, deterministic for a seed), savePretrained ->
// fromPretrained round trips (bit-identical outputs: same weights, same
// engine), and dispose. Each runs on the native engine and on the float64 TS
// reference engine. Init statistics use a 10% band on the std: with >= 2000
// samples the estimate's relative standard error is under 2%.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertConfig } from '../../lib/config';
import type { NativeEngineCtor } from '../../lib/engine_types';
import { Tensor } from '../../lib/tensor';
import { loadStateDict } from '../../lib/weights';
import { ConvBertForMaskedLM, ConvBertForMultipleChoice, ConvBertForSequenceClassification, ConvBertModel } from '../../lib/models';
import { fixturesDir } from '../helpers/fixtures';
import { RefEngine } from './ref_engine';

const tinyConfig = {
  vocab_size: 50,
  hidden_size: 32,
  embedding_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  conv_kernel_size: 3,
  num_groups: 2,
  max_position_embeddings: 64,
  initializer_range: 0.05,
  pad_token_id: 3,
  hidden_act: 'gelu_new',
};

const ENGINES: Array<[string, NativeEngineCtor | undefined]> = [
  ['native', undefined],
  ['ref', RefEngine],
];

const ids = new Tensor('int64', [
  [5, 7, 9, 11, 3, 3],
  [2, 4, 6, 8, 1, 0],
]);
const mask = new Tensor('int64', [
  [1, 1, 1, 1, 0, 0],
  [1, 1, 1, 1, 1, 1],
]);

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-save-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function std(a: Float32Array): { mean: number; std: number } {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return { mean: m, std: Math.sqrt(s / a.length) };
}

test('fromConfig follows HF init: normal(0, initializer_range) weights, zero biases, LayerNorm 1/0, zero padding row', async (t) => {
  const m = ConvBertForMaskedLM.fromConfig(tinyConfig, { seed: 7, engine: RefEngine });
  const sd = await m.stateDict();
  t.false(sd.has('generator_lm_head.weight'), 'the tied head weight is left out like HF');
  t.true(sd.has('convbert.embeddings_project.weight'));
  for (const [k, v] of sd) {
    const a = v.data as Float32Array;
    if (k.endsWith('LayerNorm.weight'))
      t.true(
        a.every((x) => x === 1),
        k,
      );
    else if (k.endsWith('bias'))
      t.true(
        a.every((x) => x === 0),
        k,
      );
  }
  const we = sd.get('convbert.embeddings.word_embeddings.weight')!;
  t.deepEqual(we.dims, [50, 24]);
  t.true(
    (we.data as Float32Array).subarray(3 * 24, 4 * 24).every((x) => x === 0),
    'row pad_token_id is zero',
  );
  t.false((we.data as Float32Array).subarray(2 * 24, 3 * 24).every((x) => x === 0));
  // Every weight drawn from the normal, grouped FFN and separable conv included.
  const drawn = [
    'convbert.embeddings.position_embeddings.weight',
    'convbert.encoder.layer.0.intermediate.dense.weight',
    'convbert.encoder.layer.1.output.dense.weight',
    'convbert.encoder.layer.0.attention.self.key_conv_attn_layer.pointwise.weight',
    'generator_predictions.dense.weight',
  ];
  for (const k of drawn) {
    const a = sd.get(k)!.data as Float32Array;
    t.true(a.length >= 500, k);
    const s = std(a);
    t.true(Math.abs(s.std - 0.05) < 0.05 * 0.1 * (a.length >= 2000 ? 1 : 2), `${k}: std ${s.std}`);
    t.true(Math.abs(s.mean) < (4 * 0.05) / Math.sqrt(a.length), `${k}: mean ${s.mean}`);
  }
  t.deepEqual(sd.get('convbert.encoder.layer.0.intermediate.dense.weight')!.dims, [2, 16, 32]);
  t.deepEqual(sd.get('convbert.encoder.layer.0.attention.self.key_conv_attn_layer.bias')!.dims, [16, 1]);
  m.dispose();
});

test('fromConfig is deterministic for a seed and differs across seeds', async (t) => {
  const a = await ConvBertModel.fromConfig(tinyConfig, { seed: 1, engine: RefEngine }).stateDict();
  const b = await ConvBertModel.fromConfig(tinyConfig, { seed: 1, engine: RefEngine }).stateDict();
  const c = await ConvBertModel.fromConfig(tinyConfig, { seed: 2, engine: RefEngine }).stateDict();
  t.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) t.deepEqual(Array.from(v.data as Float32Array), Array.from(b.get(k)!.data as Float32Array), k);
  const k = 'encoder.layer.0.attention.self.query.weight';
  t.notDeepEqual(Array.from(a.get(k)!.data as Float32Array), Array.from(c.get(k)!.data as Float32Array));
});

for (const [name, engine] of ENGINES) {
  test(`${name}: savePretrained -> fromPretrained gives identical outputs (MLM tied, seq-cls, multiple choice)`, async (t) => {
    const dir = tmpDir(t);
    const classes = [ConvBertForMaskedLM, ConvBertForSequenceClassification, ConvBertModel] as const;
    for (const cls of classes) {
      const m = (cls as typeof ConvBertModel).fromConfig({ ...tinyConfig, num_labels: 3 }, { seed: 11, engine });
      const before = await m.forward({ input_ids: ids, attention_mask: mask }, { output_hidden_states: true });
      const d = path.join(dir, cls.name);
      await m.savePretrained(d);
      const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      t.deepEqual(cfg.architectures, [cls.name]);
      const sd = await loadStateDict(d);
      t.is(
        [...sd.keys()].some((k) => k.startsWith('convbert.')),
        cls !== ConvBertModel,
        `${cls.name}: trunk prefix like HF`,
      );
      t.false(sd.has('generator_lm_head.weight'));
      const back = await (cls as typeof ConvBertModel).fromPretrained(d, { engine });
      t.deepEqual(back.loadInfo, { missing_keys: [], unexpected_keys: [] });
      const after = await back.forward({ input_ids: ids, attention_mask: mask }, { output_hidden_states: true });
      for (const key of Object.keys(before) as Array<keyof typeof before>) {
        const x = before[key];
        const y = after[key];
        if (Array.isArray(x)) x.forEach((tt, i) => t.deepEqual(Array.from(tt.toFloat32()), Array.from((y as Tensor[])[i].toFloat32()), `${cls.name} ${key}.${i}`));
        else t.deepEqual(Array.from((x as Tensor).toFloat32()), Array.from((y as Tensor).toFloat32()), `${cls.name} ${key}`);
      }
      // A model loaded from files saves the same weights again.
      const d2 = path.join(dir, `${cls.name}-again`);
      await back.savePretrained(d2);
      const sd2 = await loadStateDict(d2);
      t.deepEqual([...sd2.keys()].sort(), [...sd.keys()].sort());
      for (const [k, v] of sd) t.deepEqual(Array.from(sd2.get(k)!.data as Float32Array), Array.from(v.data as Float32Array), k);
      m.dispose();
      back.dispose();
    }
    const mcCfg = ConvBertConfig.fromDict({ ...tinyConfig, summary_type: 'first', summary_use_proj: true, summary_activation: 'tanh', summary_proj_to_labels: false });
    const mc = ConvBertForMultipleChoice.fromConfig(mcCfg, { seed: 3, engine });
    const mcIds = new Tensor('int64', [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    ]);
    const o1 = await mc.forward({ input_ids: mcIds });
    await mc.savePretrained(path.join(dir, 'mc'));
    const mc2 = await ConvBertForMultipleChoice.fromPretrained(path.join(dir, 'mc'), { engine });
    t.deepEqual(Array.from((await mc2.forward({ input_ids: mcIds })).logits.data), Array.from(o1.logits.data));
    t.deepEqual(o1.logits.dims, [1, 2]);
    mc.dispose();
    mc2.dispose();
  });

  test(`${name}: dispose frees the engine; forward, forwardSync and savePretrained then throw ERR_CONVBERT_DISPOSED`, async (t) => {
    const m = ConvBertModel.fromConfig(tinyConfig, { seed: 5, engine });
    if (name === 'native') t.true(m.nativeBytes > 0, 'the native engine reports the memory it holds');
    await m.forward({ input_ids: ids });
    m.dispose();
    t.true(m.disposed);
    t.is(m.nativeBytes, 0);
    await t.throwsAsync(m.forward({ input_ids: ids }), { code: 'ERR_CONVBERT_DISPOSED' } as never);
    t.throws(() => m.forwardSync({ input_ids: ids }), { code: 'ERR_CONVBERT_DISPOSED' } as never);
    await t.throwsAsync(m.savePretrained(tmpDir(t)), { code: 'ERR_CONVBERT_DISPOSED' } as never);
    t.notThrows(() => m.dispose(), 'dispose twice is harmless');
  });
}

test('fromPretrained reads a weights file path with the config.json beside it, and rejects a missing path', async (t) => {
  const file = fixturesDir('convbert', 'tiny-a', 'ConvBertModel', 'model.safetensors');
  const m = await ConvBertModel.fromPretrained(file, { engine: RefEngine });
  t.is(m.config.hidden_size, 32);
  m.dispose();
  await t.throwsAsync(ConvBertModel.fromPretrained(path.join(os.tmpdir(), 'no-such-convbert-dir'), { engine: RefEngine }), { code: 'ERR_CONVBERT_IO' } as never);
});
