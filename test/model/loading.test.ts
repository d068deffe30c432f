// Loading the way HF's base_model_prefix logic does: a base checkpoint into a
// head class (head initialised randomly, with a warning listing the keys and
// loadInfo), a head checkpoint into ConvBertModel (head keys unused), the tied
// LM head absent or present, shape mismatches and missing trunk weights named.
// These check TS logic, so they run on the float64 TS reference engine; trunk
// outputs are compared at 1e-4 + 1e-4|exp| like the fixtures (same weights,
// so the only differences are float rounding).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Tensor } from '../../lib/tensor';
import { loadStateDict, saveStateDict } from '../../lib/weights';
import {
  ConvBertForMaskedLM,
  ConvBertForMultipleChoice,
  ConvBertForQuestionAnswering,
  ConvBertForSequenceClassification,
  ConvBertForTokenClassification,
  ConvBertModel,
} from '../../lib/models';
import { fixturesDir } from '../helpers/fixtures';
import { compareTensor } from './fixture_runner';
import { RefEngine } from './ref_engine';

const engine = RefEngine;
const ids = new Tensor('int64', [
  [5, 7, 9, 11, 3],
  [2, 4, 6, 8, 1],
]);

/** Runs fn while recording process.emitWarning calls (restored afterwards). */
async function withWarnings<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: Array<{ message: string; code?: string }> }> {
  const orig = process.emitWarning;
  const warnings: Array<{ message: string; code?: string }> = [];
  process.emitWarning = ((w: string | Error, o?: unknown) => {
    const code = typeof o === 'object' && o !== null ? (o as { code?: string }).code : undefined;
    warnings.push({ message: String(w), code });
  }) as typeof process.emitWarning;
  try {
    return { value: await fn(), warnings };
  } finally {
    process.emitWarning = orig;
  }
}

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-model-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test.serial('a base checkpoint loads into every head class: trunk equal, head keys listed in a warning and in loadInfo', async (t) => {
  const base = await ConvBertModel.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'), { engine });
  const want = (await base.forward({ input_ids: ids })).last_hidden_state;
  t.deepEqual(base.loadInfo, { missing_keys: [], unexpected_keys: [] });
  const expectMissing: Array<[string, { fromPretrained: typeof ConvBertModel.fromPretrained }, string[]]> = [
    [
      'ConvBertForMaskedLM',
      ConvBertForMaskedLM,
      [
        'generator_predictions.dense.weight',
        'generator_predictions.dense.bias',
        'generator_predictions.LayerNorm.weight',
        'generator_predictions.LayerNorm.bias',
        'generator_lm_head.bias',
      ],
    ],
    [
      'ConvBertForSequenceClassification',
      ConvBertForSequenceClassification,
      ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias'],
    ],
    ['ConvBertForTokenClassification', ConvBertForTokenClassification, ['classifier.weight', 'classifier.bias']],
    ['ConvBertForQuestionAnswering', ConvBertForQuestionAnswering, ['qa_outputs.weight', 'qa_outputs.bias']],
  ];
  for (const [name, cls, keys] of expectMissing) {
    const { value: m, warnings } = await withWarnings(() =>
      (cls as unknown as typeof ConvBertForTokenClassification).fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'), { engine }),
    );
    t.deepEqual(m.loadInfo.missing_keys, keys, name);
    t.deepEqual(m.loadInfo.unexpected_keys, [], name);
    const w = warnings.filter((x) => x.code === 'CONVBERT_MISSING_WEIGHTS');
    t.is(w.length, 1, `${name}: one missing-weights warning`);
    for (const k of keys) t.true(w[0].message.includes(k), `${name}: warning names ${k}`);
    const out = await m.forward({ input_ids: ids }, { output_hidden_states: true });
    const r = compareTensor(out.hidden_states![2], want, name);
    t.true(r.ok, r.detail);
    m.dispose();
  }
  base.dispose();
});

test.serial('a head checkpoint loads into ConvBertModel: same trunk, the head keys unused and no warning for them', async (t) => {
  const base = await ConvBertModel.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'), { engine });
  const want = (await base.forward({ input_ids: ids })).last_hidden_state;
  const { value: m, warnings } = await withWarnings(() => ConvBertModel.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertForSequenceClassification'), { engine }));
  t.deepEqual(m.loadInfo.missing_keys, []);
  t.deepEqual(m.loadInfo.unexpected_keys.sort(), ['classifier.dense.bias', 'classifier.dense.weight', 'classifier.out_proj.bias', 'classifier.out_proj.weight']);
  // HF warns about unused keys only when the class is the checkpoint's own architecture.
  t.is(warnings.length, 0);
  const r = compareTensor((await m.forward({ input_ids: ids })).last_hidden_state, want, 'trunk');
  t.true(r.ok, r.detail);
  m.dispose();
  base.dispose();
});

test.serial('the tied generator_lm_head.weight may be absent or present; untied heads load their own', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  const sd = await loadStateDict(path.join(dir, 'model.safetensors'));
  t.false(sd.has('generator_lm_head.weight'), 'HF leaves the tied weight out of safetensors');
  const a = await ConvBertForMaskedLM.fromPretrained(dir, { engine });
  const b = await ConvBertForMaskedLM.fromPretrained(path.join(dir, 'pytorch_model.bin'), { engine });
  t.deepEqual(a.loadInfo, { missing_keys: [], unexpected_keys: [] });
  t.deepEqual(b.loadInfo, { missing_keys: [], unexpected_keys: [] });
  const la = (await a.forward({ input_ids: ids })).logits;
  const lb = (await b.forward({ input_ids: ids })).logits;
  t.deepEqual(Array.from(la.data), Array.from(lb.data));
  const untied = await ConvBertForMaskedLM.fromPretrained(fixturesDir('convbert', 'ratio1-c', 'ConvBertForMaskedLM'), { engine });
  t.deepEqual(untied.loadInfo, { missing_keys: [], unexpected_keys: [] });
  // An untied head whose weight is missing is initialised and reported, never taken from the embeddings.
  const d = tmpDir(t);
  const usd = await loadStateDict(fixturesDir('convbert', 'ratio1-c', 'ConvBertForMaskedLM'));
  usd.delete('generator_lm_head.weight');
  await saveStateDict(d, usd);
  fs.copyFileSync(fixturesDir('convbert', 'ratio1-c', 'ConvBertForMaskedLM', 'config.json'), path.join(d, 'config.json'));
  const { value: m, warnings } = await withWarnings(() => ConvBertForMaskedLM.fromPretrained(d, { engine }));
  t.deepEqual(m.loadInfo.missing_keys, ['generator_lm_head.weight']);
  t.true(warnings.some((w) => w.code === 'CONVBERT_MISSING_WEIGHTS' && w.message.includes('generator_lm_head.weight')));
  for (const x of [a, b, untied, m]) x.dispose();
});

test.serial('checkpoint problems are typed errors naming the key: wrong shape, missing trunk weight', async (t) => {
  const src = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
  const sd = await loadStateDict(src);
  const d1 = tmpDir(t);
  const bad = new Map(sd);
  bad.set('encoder.layer.1.attention.self.query.weight', new Tensor('float32', new Float32Array(16 * 31), [16, 31]));
  await saveStateDict(d1, bad);
  fs.copyFileSync(path.join(src, 'config.json'), path.join(d1, 'config.json'));
  const e1 = await t.throwsAsync(ConvBertModel.fromPretrained(d1, { engine }), { code: 'ERR_CONVBERT_WEIGHTS' } as never);
  t.regex(e1!.message, /encoder\.layer\.1\.attention\.self\.query\.weight/);
  t.regex(e1!.message, /\[16, 32\]/);
  t.regex(e1!.message, /\[16, 31\]/);

  const d2 = tmpDir(t);
  const missing = new Map(sd);
  missing.delete('encoder.layer.0.output.LayerNorm.bias');
  await saveStateDict(d2, missing);
  fs.copyFileSync(path.join(src, 'config.json'), path.join(d2, 'config.json'));
  const e2 = await t.throwsAsync(ConvBertModel.fromPretrained(d2, { engine }), { code: 'ERR_CONVBERT_WEIGHTS' } as never);
  t.regex(e2!.message, /encoder\.layer\.0\.output\.LayerNorm\.bias/);
  // In a head class, missing trunk keys are named with their checkpoint prefix.
  const e3 = await t.throwsAsync(ConvBertForTokenClassification.fromPretrained(d2, { engine }), { code: 'ERR_CONVBERT_WEIGHTS' } as never);
  t.regex(e3!.message, /convbert\.encoder\.layer\.0\.output\.LayerNorm\.bias/);
});

test.serial('multiple choice loads its summary projection only when the config asks for it', async (t) => {
  const withSummary = await ConvBertForMultipleChoice.fromPretrained(fixturesDir('convbert', 'mc-summary-f', 'ConvBertForMultipleChoice'), { engine });
  t.deepEqual(withSummary.loadInfo, { missing_keys: [], unexpected_keys: [] });
  const plain = await ConvBertForMultipleChoice.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertForMultipleChoice'), { engine });
  t.deepEqual(plain.loadInfo, { missing_keys: [], unexpected_keys: [] });
  const sd = await plain.stateDict();
  t.false([...sd.keys()].some((k) => k.startsWith('sequence_summary')));
  withSummary.dispose();
  plain.dispose();
});

test.serial('sharded, float16 and damaged safetensors: streamed loading equals the in-memory path, and damage is reported by lib/weights', async (t) => {
  const src = fixturesDir('convbert', 'proj-groups-b', 'ConvBertForMaskedLM');
  const ref = await ConvBertForMaskedLM.fromPretrained(src, { engine });
  const want = (await ref.forward({ input_ids: ids })).logits;
  ref.dispose();
  const sd = await loadStateDict(src);
  // Sharded: model.safetensors.index.json plus several shards.
  const d1 = tmpDir(t);
  await saveStateDict(d1, sd, { maxShardSize: 40_000 });
  fs.copyFileSync(path.join(src, 'config.json'), path.join(d1, 'config.json'));
  t.true(fs.existsSync(path.join(d1, 'model.safetensors.index.json')));
  const sharded = await ConvBertForMaskedLM.fromPretrained(d1, { engine });
  t.deepEqual(Array.from((await sharded.forward({ input_ids: ids })).logits.data), Array.from(want.data), 'sharded equals single file');
  sharded.dispose();
  // float16 weights are widened to float32 on load (values change by the rounding to half only).
  const d2 = tmpDir(t);
  await saveStateDict(d2, new Map([...sd].map(([k, v]) => [k, v.dtype === 'float32' ? v.to('float16') : v])));
  fs.copyFileSync(path.join(src, 'config.json'), path.join(d2, 'config.json'));
  const half = await ConvBertForMaskedLM.fromPretrained(d2, { engine });
  const viaMemory = (await half.stateDict()).get('generator_lm_head.bias')!;
  t.deepEqual(Array.from(viaMemory.data as Float32Array), Array.from(sd.get('generator_lm_head.bias')!.to('float16').toFloat32()));
  half.dispose();
  // A truncated file: the lazy path steps aside and lib/weights names the problem.
  const d3 = tmpDir(t);
  const bytes = fs.readFileSync(path.join(src, 'model.safetensors'));
  fs.writeFileSync(path.join(d3, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
  fs.copyFileSync(path.join(src, 'config.json'), path.join(d3, 'config.json'));
  const e = await t.throwsAsync(ConvBertForMaskedLM.fromPretrained(d3, { engine }));
  t.is((e as { code?: string }).code, 'ERR_CONVBERT_WEIGHTS', e!.message);
});
