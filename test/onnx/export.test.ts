// exportOnnx on every public fixture folder: the exported file runs in
// onnxruntime-node on each case's ids / mask / token types (and position_ids,
// through a second export that takes them as an input), and must match the
// fixture's expected outputs element-wise within |got - exp| <= 1e-4 + 1e-4 |exp|,
// the fixture README's float32 tolerance (ORT reorders sums and fuses ops, so
// bit equality is not expected). Cases needing what the graph does not take
// (head_mask, inputs_embeds, 3-D masks) are checked to be documented by the export, and
// listed in the test log, never passed silently. Also: other opsets, the library's
// model classes as sources, reduced-precision weights, errors, and the lossy int8
// export (its own, looser bound, stated there).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';

import { ConvBertError } from '../../lib/errors';
import { exportOnnx, exportOnnxBytes, type OnnxExportInfo, type OnnxHead } from '../../lib/onnx/export';
import { Tensor } from '../../lib/tensor';
import {
  ConvBertForMaskedLM,
  ConvBertForMultipleChoice,
  ConvBertForQuestionAnswering,
  ConvBertForSequenceClassification,
  ConvBertForTokenClassification,
  ConvBertModel,
} from '../../lib/models';
import { loadStateDictSync } from '../../lib/weights';
import { readSafetensorsSync } from '../../lib/weights/safetensors';
import { maxViolation } from '../helpers/assert_close';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { decodeModel } from './proto_reader';

const TOL = { atol: 1e-4, rtol: 1e-4 };

interface IndexEntry {
  config: string;
  architecture: string;
  path: string;
  cases: string[];
}

interface FixtureCase {
  name: string;
  tags?: string[];
  inputs: Record<string, string>;
  outputs: Record<string, string | string[]>;
}

// Written here, not taken from the library, so a wrong mapping in export.ts fails.
const HEAD_OF: Record<string, { head: OnnxHead; outputs: string[] }> = {
  ConvBertModel: { head: 'none', outputs: ['last_hidden_state'] },
  ConvBertForMaskedLM: { head: 'masked_lm', outputs: ['logits'] },
  ConvBertForSequenceClassification: { head: 'sequence_classification', outputs: ['logits'] },
  ConvBertForTokenClassification: { head: 'token_classification', outputs: ['logits'] },
  ConvBertForQuestionAnswering: { head: 'question_answering', outputs: ['start_logits', 'end_logits'] },
  ConvBertForMultipleChoice: { head: 'multiple_choice', outputs: ['logits'] },
};

// Case outputs that are not graph outputs, and the documented feature that covers each.
const NON_GRAPH_OUTPUTS: Record<string, string> = {
  hidden_states: 'output_hidden_states',
  attentions: 'output_attentions',
  loss: 'labels/loss',
};
// Forward arguments that are not graph inputs (besides position_ids, which an option adds).
const NON_GRAPH_INPUTS: Record<string, string> = {
  head_mask: 'head_mask',
  inputs_embeds: 'inputs_embeds',
  labels: 'labels/loss',
  start_positions: 'labels/loss',
  end_positions: 'labels/loss',
};

const index = readJson<IndexEntry[]>(fixturesDir('convbert', 'index.json'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-onnx-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' };

function readSource(dir: string, weightsFile = 'model.safetensors') {
  const config = readJson<Record<string, unknown>>(path.join(dir, 'config.json'));
  const weights = loadStateDictSync(path.join(dir, weightsFile));
  return { config, weights };
}

function int64(t: Tensor): ort.Tensor {
  if (t.dtype !== 'int64') throw new Error(`expected an int64 input, got ${t.dtype}`);
  return new ort.Tensor('int64', t.data as BigInt64Array, [...t.dims]);
}

/** Feeds for one case: HF's defaults (mask of ones, token types of zeros) where the case gives none. */
function feeds(c: FixtureCase, exp: Map<string, Tensor>, withPositions: boolean): Record<string, ort.Tensor> {
  const ids = exp.get(c.inputs.input_ids)!;
  const n = ids.data.length;
  const get = (k: string): Tensor | undefined => (c.inputs[k] ? exp.get(c.inputs[k]) : undefined);
  const f: Record<string, ort.Tensor> = {
    input_ids: int64(ids),
    attention_mask: int64(get('attention_mask') ?? new Tensor('int64', new BigInt64Array(n).fill(1n), ids.dims)),
    token_type_ids: int64(get('token_type_ids') ?? new Tensor('int64', new BigInt64Array(n), ids.dims)),
  };
  if (withPositions) f.position_ids = int64(get('position_ids')!);
  return f;
}

/** Why the exported graph cannot run this case (empty when it can), from the case's inputs themselves. */
function unsupportedOf(c: FixtureCase, exp: Map<string, Tensor>): string[] {
  const why: string[] = [];
  if (!c.inputs.input_ids) why.push('inputs_embeds');
  if (c.inputs.head_mask) why.push('head_mask');
  const ids = c.inputs.input_ids ? exp.get(c.inputs.input_ids) : undefined;
  const mask = c.inputs.attention_mask ? exp.get(c.inputs.attention_mask) : undefined;
  if (mask && ids && mask.dims.length !== ids.dims.length) why.push('3-D attention_mask');
  return why;
}

function assertDocumented(t: import('ava').ExecutionContext, info: OnnxExportInfo, doc: string, feature: string, where: string): void {
  t.true(
    info.unsupported.some((u) => u.startsWith(feature)),
    `${where}: ${feature} should be listed in info.unsupported (${info.unsupported.join('; ')})`,
  );
  t.true(doc.includes(feature), `${where}: ${feature} should be named in the model's doc_string`);
}

function compare(t: import('ava').ExecutionContext, got: ort.Tensor, want: Tensor, label: string): void {
  t.deepEqual([...got.dims], [...want.dims], `${label}: dims`);
  const g = got.data as Float32Array;
  const w = want.data as Float32Array;
  const v = maxViolation(g, w, TOL);
  t.true(v.index < 0, `${label}: element ${v.index} got ${g[v.index]} expected ${w[v.index]} (atol 1e-4, rtol 1e-4)`);
}

for (const entry of index) {
  test(`${entry.path}: exported graph matches the fixtures in onnxruntime-node`, async (t) => {
    const dir = fixturesDir('convbert', entry.path);
    const spec = HEAD_OF[entry.architecture];
    t.truthy(spec, `unknown architecture ${entry.architecture}`);
    const src = readSource(dir);
    const file = path.join(tmp, `${entry.path.replace('/', '_')}.onnx`);
    const info = await exportOnnx(src, file); // head from config.architectures
    t.is(info.head, spec.head);
    t.deepEqual(info.outputs, spec.outputs);
    t.deepEqual(info.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
    t.is(info.opset, 17);

    const dec = decodeModel(fs.readFileSync(file));
    t.is(dec.doc, info.doc);
    t.deepEqual(dec.opsets, [{ domain: '', version: 17 }], 'standard ai.onnx ops only');
    t.true(dec.opTypes.has('LayerNormalization') && dec.opTypes.has('Conv'));
    const inDims = spec.head === 'multiple_choice' ? ['batch_size', 'num_choices', 'sequence_length'] : ['batch_size', 'sequence_length'];
    for (const i of dec.inputs) t.deepEqual(i.dims, inDims, `${i.name}: dynamic dims`);
    t.true(
      dec.inputs.every((i) => i.elemType === 7),
      'inputs are int64',
    );
    t.deepEqual(
      dec.outputs.map((o) => o.name),
      spec.outputs,
    );

    const exp = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
    const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
    const sess = await ort.InferenceSession.create(file, SESSION_OPTIONS);
    let posSess: ort.InferenceSession | undefined;
    let posInfo: OnnxExportInfo | undefined;
    const ran: string[] = [];
    const documented: string[] = [];
    const shapesOnMainFile = new Set<string>();
    try {
      for (const c of cases) {
        const where = `${entry.path} ${c.name}`;
        const why = unsupportedOf(c, exp);
        // The tags agree with what the inputs show.
        for (const [tag, feature] of [
          ['head_mask', 'head_mask'],
          ['mask3d', '3-D attention_mask'],
          ['inputs_embeds', 'inputs_embeds'],
        ]) {
          t.is((c.tags ?? []).includes(tag), why.includes(feature), `${where}: tag ${tag} vs inputs`);
        }
        for (const arg of Object.keys(c.inputs)) {
          if (NON_GRAPH_INPUTS[arg]) assertDocumented(t, info, info.doc, NON_GRAPH_INPUTS[arg], where);
        }
        for (const out of Object.keys(c.outputs)) {
          if (NON_GRAPH_OUTPUTS[out]) assertDocumented(t, info, info.doc, NON_GRAPH_OUTPUTS[out], where);
          else t.true(spec.outputs.includes(out), `${where}: output ${out} should be a graph output`);
        }
        if (why.length > 0) {
          for (const f of why) assertDocumented(t, info, info.doc, f, where);
          documented.push(`${c.name} (${why.join(', ')})`);
          continue;
        }
        const withPositions = c.inputs.position_ids !== undefined;
        let s = sess;
        if (withPositions) {
          assertDocumented(t, info, info.doc, 'position_ids', where);
          if (!posSess) {
            const built = await exportOnnxBytes(src, { positionIds: true });
            posInfo = built.info;
            t.deepEqual(posInfo.inputs, ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);
            t.false(posInfo.unsupported.some((u) => u.startsWith('position_ids')));
            posSess = await ort.InferenceSession.create(built.bytes, SESSION_OPTIONS);
          }
          s = posSess;
        }
        const f = feeds(c, exp, withPositions);
        const out = await s.run(f);
        for (const o of spec.outputs) compare(t, out[o], exp.get(c.outputs[o] as string)!, `${where} ${o}`);
        if (s === sess) shapesOnMainFile.add(f.input_ids.dims.join('x'));
        ran.push(c.name + (withPositions ? ' (position_ids input)' : ''));
      }
    } finally {
      await sess.release();
      await posSess?.release();
    }
    t.true(ran.length >= 3, `${entry.path}: only ${ran.length} cases ran`);
    t.true(shapesOnMainFile.size >= 2, `${entry.path}: one exported file should run several shapes, got ${[...shapesOnMainFile].join(', ')}`);
    t.log(`ran ${ran.join(', ')}; shapes on one file: ${[...shapesOnMainFile].join(', ')}`);
    if (documented.length) t.log(`not runnable by the graph, documented by the export: ${documented.join('; ')}`);
  });
}

test('opsets 14 (LayerNorm decomposed), 21 and 24 match the fixtures too', async (t) => {
  const dir = fixturesDir('convbert', 'proj-groups-b', 'ConvBertForMaskedLM');
  const src = readSource(dir);
  const exp = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
  const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
  for (const opset of [14, 21, 24]) {
    const { bytes, info } = await exportOnnxBytes(src, { opset });
    t.is(info.opset, opset);
    const dec = decodeModel(bytes);
    t.deepEqual(dec.opsets, [{ domain: '', version: opset }]);
    t.is(dec.opTypes.has('LayerNormalization'), opset >= 17);
    const sess = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
    for (const c of cases.filter((x) => x.name === 'case1' || x.name === 'case2')) {
      const out = await sess.run(feeds(c, exp, false));
      compare(t, out.logits, exp.get(c.outputs.logits as string)!, `opset ${opset} ${c.name}`);
    }
    await sess.release();
  }
});

test('a model-like source (config + async stateDict, head from its class) and a tied .bin checkpoint', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  // pytorch_model.bin holds the tied generator_lm_head.weight too; safetensors leaves it out.
  const fromBin = readSource(dir, 'pytorch_model.bin');
  t.true(fromBin.weights.has('generator_lm_head.weight'));
  t.false(readSource(dir).weights.has('generator_lm_head.weight'));
  class FakeMaskedLM {
    static readonly headKind = 'masked_lm';
    // A config whose architectures says otherwise: the class must win.
    readonly config = { ...fromBin.config, architectures: ['ConvBertModel'] };
    async stateDict(): Promise<Map<string, Tensor>> {
      return fromBin.weights;
    }
  }
  const { bytes, info } = await exportOnnxBytes(new FakeMaskedLM());
  t.is(info.head, 'masked_lm');
  const exp = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
  const c = readJson<FixtureCase[]>(path.join(dir, 'cases.json')).find((x) => x.name === 'case1')!;
  const sess = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  const out = await sess.run(feeds(c, exp, false));
  compare(t, out.logits, exp.get(c.outputs.logits as string)!, 'model-like case1');
  await sess.release();
});

test('the head can be overridden: the MaskedLM checkpoint exported as the bare trunk', async (t) => {
  const src = readSource(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM'));
  const modelDir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
  const { bytes, info } = await exportOnnxBytes({ ...src, head: 'none' });
  t.deepEqual(info.outputs, ['last_hidden_state']);
  // Same trunk weights as ConvBertModel's folder, so ConvBertModel's goldens apply.
  const exp = readSafetensorsSync(path.join(modelDir, 'expected.safetensors')).tensors;
  const c = readJson<FixtureCase[]>(path.join(modelDir, 'cases.json')).find((x) => x.name === 'case1')!;
  const sess = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  const out = await sess.run(feeds(c, exp, false));
  compare(t, out.last_hidden_state, exp.get(c.outputs.last_hidden_state as string)!, 'trunk of MaskedLM case1');
  await sess.release();
});

test('config.architectures naming an inherited object key is no ConvBERT class: the head comes from the weights', async (t) => {
  // 'constructor' and 'toString' are keys of every object; the architecture map must not answer them.
  const src = readSource(fixturesDir('convbert', 'tiny-a', 'ConvBertForQuestionAnswering'));
  for (const arch of ['constructor', 'toString']) {
    const { info } = await exportOnnxBytes({ config: { ...src.config, architectures: [arch] }, weights: src.weights });
    t.is(info.head, 'question_answering', arch);
    t.deepEqual(info.outputs, ['start_logits', 'end_logits'], arch);
  }
});

test('the export is deterministic: the same source gives the same bytes', async (t) => {
  const src = readSource(fixturesDir('convbert', 'proj-groups-b', 'ConvBertForSequenceClassification'));
  const a = await exportOnnxBytes(src);
  const b = await exportOnnxBytes(src);
  t.is(a.bytes.length, a.info.bytes);
  t.true(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)));
  // Also when written to a file, chunk by chunk.
  const file = path.join(tmp, 'deterministic.onnx');
  const info = await exportOnnx(src, file);
  t.is(info.path, file);
  t.true(fs.readFileSync(file).equals(Buffer.from(a.bytes)));
});

test('bad arguments, configs and weights are typed errors naming the culprit', async (t) => {
  const src = readSource(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'));
  const code = async (p: Promise<unknown>, want: string, msg: RegExp): Promise<void> => {
    const e = await t.throwsAsync(p, { instanceOf: ConvBertError });
    t.is((e as ConvBertError).code, want as ConvBertError['code']);
    t.regex(e!.message, msg);
  };
  await code(exportOnnxBytes(src, { opset: 13 }), 'ERR_CONVBERT_ARG', /options\.opset/);
  await code(exportOnnxBytes(src, { opset: 25 }), 'ERR_CONVBERT_ARG', /options\.opset: expected an integer from 14 to 24/);
  await code(exportOnnxBytes(src, { dtype: 'float16' as 'float32' }), 'ERR_CONVBERT_UNSUPPORTED', /options\.dtype: expected 'float32' or 'int8'/);
  await code(exportOnnx(src, ''), 'ERR_CONVBERT_ARG', /path/);
  await code(exportOnnxBytes({ ...src, head: 'pooler' as OnnxHead }), 'ERR_CONVBERT_ARG', /head/);
  await code(exportOnnxBytes({ ...src, config: { ...src.config, conv_kernel_size: 4 } }), 'ERR_CONVBERT_CONFIG', /conv_kernel_size/);
  await code(exportOnnxBytes({ ...src, config: { ...src.config, hidden_act: 'nope' } }), 'ERR_CONVBERT_CONFIG', /hidden_act: expected one of transformers' activations/);
  const missing = new Map(src.weights);
  missing.delete('encoder.layer.1.attention.self.conv_kernel_layer.weight');
  await code(exportOnnxBytes({ ...src, weights: missing }), 'ERR_CONVBERT_WEIGHTS', /encoder\.layer\.1\.attention\.self\.conv_kernel_layer\.weight/);
  const wrong = new Map(src.weights);
  wrong.set('embeddings.LayerNorm.weight', new Tensor('float32', new Float32Array(5), [5]));
  await code(exportOnnxBytes({ ...src, weights: wrong }), 'ERR_CONVBERT_WEIGHTS', /embeddings\.LayerNorm\.weight: expected dims \[32\], got \[5\]/);
  await code(exportOnnxBytes({ ...src, head: 'masked_lm' }), 'ERR_CONVBERT_WEIGHTS', /generator_predictions\.dense\.weight/);
  await code(
    exportOnnxBytes({ ...src, config: 'config.json' as never }),
    'ERR_CONVBERT_ARG',
    /^exportOnnx: source\.config: expected a ConvBertConfig or a config object with HF field names, got "config\.json"$/,
  );
  // null is no default here: ConvBertConfig reads the config as transformers does.
  await code(exportOnnxBytes({ ...src, config: { ...src.config, hidden_size: null } }), 'ERR_CONVBERT_CONFIG', /^config: hidden_size: expected an integer, got null$/);
});

test("the config is read as ConvBertConfig reads it: the head class's own rules, num_labels from the labels, the head found from the parameter table", async (t) => {
  const code = async (p: Promise<unknown>, want: string, msg: RegExp): Promise<void> => {
    const e = await t.throwsAsync(p, { instanceOf: ConvBertError });
    t.is((e as ConvBertError).code, want as ConvBertError['code']);
    t.regex(e!.message, msg);
  };
  // Question answering needs exactly 2 labels (HF's logits.split), checked on the config before any weight.
  const qa = readSource(fixturesDir('convbert', 'tiny-a', 'ConvBertForQuestionAnswering'));
  await code(
    exportOnnxBytes({ ...qa, config: { ...qa.config, id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 } } }),
    'ERR_CONVBERT_CONFIG',
    /^config: num_labels: ConvBertForQuestionAnswering needs exactly 2 labels/,
  );
  // The same rule when the head is asked for rather than listed in architectures.
  const qaThree = { ...qa.config, architectures: null, id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 } };
  await code(
    exportOnnxBytes({ ...qa, config: qaThree, head: 'question_answering' }),
    'ERR_CONVBERT_CONFIG',
    /^config: num_labels: ConvBertForQuestionAnswering needs exactly 2 labels/,
  );
  // The classifier's width is the config's num_labels (5 labels in id2label); weights of another width are refused by name.
  const tok = readSource(fixturesDir('convbert', 'tiny-a', 'ConvBertForTokenClassification'));
  const two = { ...tok.config, id2label: { 0: 'a', 1: 'b' }, label2id: { a: 0, b: 1 } };
  await code(exportOnnxBytes({ ...tok, config: two }), 'ERR_CONVBERT_WEIGHTS', /classifier\.weight: expected dims \[2, 32\], got \[5, 32\]/);
  // Without architectures the head comes from the weights, through headLayout's key names.
  const noArch = { ...tok.config, architectures: null };
  t.is((await exportOnnxBytes({ ...tok, config: noArch })).info.head, 'token_classification');
  const mlm = readSource(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM'));
  t.is((await exportOnnxBytes({ ...mlm, config: { ...mlm.config, architectures: null } })).info.head, 'masked_lm');
  const seq = readSource(fixturesDir('convbert', 'tiny-a', 'ConvBertForSequenceClassification'));
  t.is((await exportOnnxBytes({ ...seq, config: { ...seq.config, architectures: null } })).info.head, 'sequence_classification');
  // A head only partly present is still that head, and its missing weight is named (never a silent trunk-only graph).
  const partial = new Map(mlm.weights);
  partial.delete('generator_predictions.LayerNorm.weight');
  await code(exportOnnxBytes({ config: { ...mlm.config, architectures: null }, weights: partial }), 'ERR_CONVBERT_WEIGHTS', /missing generator_predictions\.LayerNorm\.weight/);
  // Untied MLM weights must carry their own LM matrix.
  const untied = new Map(mlm.weights);
  untied.delete('generator_lm_head.weight');
  await code(exportOnnxBytes({ config: { ...mlm.config, tie_word_embeddings: false }, weights: untied }), 'ERR_CONVBERT_WEIGHTS', /missing generator_lm_head\.weight/);
});

// The library's own model classes as the source (async stateDict(), head from the class).
const MODEL_CLASSES = [
  ['tiny-a/ConvBertForMaskedLM', (d: string) => ConvBertForMaskedLM.fromPretrained(d)],
  ['proj-groups-b/ConvBertModel', (d: string) => ConvBertModel.fromPretrained(d)],
  ['ratio1-c/ConvBertForSequenceClassification', (d: string) => ConvBertForSequenceClassification.fromPretrained(d)],
  ['clamp-d/ConvBertForTokenClassification', (d: string) => ConvBertForTokenClassification.fromPretrained(d)],
  ['odd-heads-e/ConvBertForQuestionAnswering', (d: string) => ConvBertForQuestionAnswering.fromPretrained(d)],
  ['mc-summary-f/ConvBertForMultipleChoice', (d: string) => ConvBertForMultipleChoice.fromPretrained(d)],
] as const;

test('models loaded with fromPretrained export to graphs that match the fixtures', async (t) => {
  for (const [folder, load] of MODEL_CLASSES) {
    const dir = fixturesDir('convbert', folder);
    const arch = folder.split('/')[1];
    const model = await load(dir);
    let info: OnnxExportInfo;
    let bytes: Uint8Array;
    try {
      ({ bytes, info } = await exportOnnxBytes(model));
    } finally {
      model.dispose();
    }
    t.is(info.head, HEAD_OF[arch].head, folder);
    const exp = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
    const c = readJson<FixtureCase[]>(path.join(dir, 'cases.json')).find((x) => x.name === 'case1')!;
    const sess = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
    const out = await sess.run(feeds(c, exp, false));
    for (const o of HEAD_OF[arch].outputs) compare(t, out[o], exp.get(c.outputs[o] as string)!, `${folder} (model class) case1 ${o}`);
    await sess.release();
  }
});

test('float16 / bfloat16 weights are widened to float32 initializers', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
  const src = readSource(dir);
  const half = new Map([...src.weights].map(([k, v]) => [k, v.to('bfloat16')] as [string, Tensor]));
  const widened = new Map([...half].map(([k, v]) => [k, new Tensor('float32', v.toFloat32(), v.dims)] as [string, Tensor]));
  const exp = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
  const c = readJson<FixtureCase[]>(path.join(dir, 'cases.json')).find((x) => x.name === 'case1')!;
  const outs: Float32Array[] = [];
  for (const weights of [half, widened]) {
    const { bytes } = await exportOnnxBytes({ config: src.config, weights });
    const sess = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
    outs.push((await sess.run(feeds(c, exp, false))).last_hidden_state.data as Float32Array);
    await sess.release();
  }
  // Same float32 initializers, same graph: identical outputs (tolerance 0).
  t.deepEqual(outs[0], outs[1]);
  const bad = new Map(src.weights);
  bad.set('embeddings.LayerNorm.bias', new Tensor('int32', new Int32Array(32), [32]));
  const e = await t.throwsAsync(exportOnnxBytes({ config: src.config, weights: bad }), { instanceOf: ConvBertError });
  t.is((e as ConvBertError).code, 'ERR_CONVBERT_DTYPE');
  t.regex(e!.message, /embeddings\.LayerNorm\.bias/);
});

// onnxruntime's uint8 x int8 MatMulInteger adds pairs of products in int16 on CPUs without VNNI
// (AVX2 vpmaddubsw), which saturates with 8-bit weights: 255 * 127 * 2 > 32767. There the 8-bit
// export's error is onnxruntime's, not the export's (proj-groups-b/ConvBertForMaskedLM: 0.16 max|exp|
// on an AVX2-only EPYC, 0.07 with VNNI). 7-bit weights (reduceRange, onnxruntime's reduce_range)
// cannot saturate, so their accuracy is checked on every CPU, and the 8-bit one where VNNI exists.
const ORT_HAS_VNNI = /\b(avx512_vnni|avx_vnni)\b/.test(fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '');

for (const reduceRange of [false, true]) {
  test(`dtype 'int8'${reduceRange ? ', reduceRange' : ''}: onnxruntime-style dynamic quantization, within a measured error of the fixtures`, async (t) => {
    // Measured on the public fixtures (case1): max |err| <= 0.07 max|exp| and cosine >= 0.998 (the std 0.2-0.3
    // configs with peaked softmaxes are the worst). Bounds: 0.15 max|exp| and cosine 0.995. A wrong scale,
    // zero point or rounding gives errors of the order of max|exp|.
    // With 7-bit weights the quantization step doubles (127 / 64): the error bound grows with the
    // step, 1 - cosine with its square.
    const step = 127 / (reduceRange ? 64 : 127);
    const errBound = 0.15 * step;
    const cosBound = 1 - 0.005 * step * step;
    const checkAccuracy = reduceRange || ORT_HAS_VNNI;
    if (!checkAccuracy) t.log('this CPU has no VNNI: the 8-bit export is checked for structure and codes; its accuracy under onnxruntime is checked by the reduceRange test');
    for (const folder of ['tiny-a/ConvBertForMaskedLM', 'proj-groups-b/ConvBertModel', 'proj-groups-b/ConvBertForMaskedLM', 'odd-heads-e/ConvBertForQuestionAnswering']) {
      const dir = fixturesDir('convbert', folder);
      const src = readSource(dir);
      const { bytes, info } = await exportOnnxBytes(src, { dtype: 'int8', reduceRange });
      t.is(info.dtype, 'int8');
      t.regex(info.doc, /dynamically quantized/);
      const dec = decodeModel(bytes);
      t.true(dec.opTypes.has('DynamicQuantizeLinear') && dec.opTypes.has('MatMulInteger'), folder);
      // No float MatMul keeps a weight: every MatMul with an initializer operand is quantized.
      const floatWeightMatMuls = dec.nodes.filter((n) => n.op === 'MatMul' && n.inputs.some((i) => dec.initializers.get(i) === 1));
      t.deepEqual(floatWeightMatMuls, [], `${folder}: float MatMuls with weights`);
      t.true([...dec.initializers.values()].includes(3), `${folder}: int8 initializers`);
      const qmax = reduceRange ? 64 : 127;
      let lo = 0;
      let hi = 0;
      for (const d of dec.int8Data) {
        for (const q of d) {
          lo = Math.min(lo, q);
          hi = Math.max(hi, q);
        }
      }
      t.true(dec.int8Data.length > 0 && Math.max(-lo, hi) === qmax, `${folder}: weight codes within [-${qmax}, ${qmax}] and reaching it, got [${lo}, ${hi}]`);
      if (!checkAccuracy) continue;

      const exp = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
      const c = readJson<FixtureCase[]>(path.join(dir, 'cases.json')).find((x) => x.name === 'case1')!;
      const sess = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
      const out = await sess.run(feeds(c, exp, false));
      await sess.release();
      for (const o of info.outputs) {
        const got = out[o].data as Float32Array;
        const want = exp.get(c.outputs[o] as string)!.data as Float32Array;
        let err = 0;
        let peak = 0;
        let dot = 0;
        let gg = 0;
        let ww = 0;
        for (let i = 0; i < want.length; i++) {
          err = Math.max(err, Math.abs(got[i] - want[i]));
          peak = Math.max(peak, Math.abs(want[i]));
          dot += got[i] * want[i];
          gg += got[i] * got[i];
          ww += want[i] * want[i];
        }
        const cos = dot / Math.sqrt(gg * ww);
        t.true(err <= errBound * peak, `${folder} ${o}: max abs err ${err} > ${errBound.toFixed(3)} * ${peak}`);
        t.true(cos >= cosBound, `${folder} ${o}: cosine ${cos} < ${cosBound.toFixed(4)}`);
        t.log(`${folder} ${o}: max abs err ${err.toFixed(4)} (max |exp| ${peak.toFixed(2)}), cosine ${cos.toFixed(6)}`);
      }
    }
  });
}
