// ConvBertConfig against the fixture configs (test/fixtures/convbert), the
// published YituTech configs and invalid_configs.json: values and HF defaults on
// load, rejection (naming the field) of what transformers cannot run and nothing
// more, and config.json round trips. Every comparison is exact: configs hold
// JSON values and integers, so there is no tolerance to state.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertConfig, pythonJsonDumps, ARCHITECTURE_HEADS, type ConvBertArchitecture } from '../../lib/config';
import { ConvBertError } from '../../lib/errors';
import { ACTIVATION_CODES } from '../../lib/engine_types';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { mulberry32 } from '../helpers/rng';

type Json = Record<string, unknown>;

const ROOT = fixturesDir('convbert');

interface IndexEntry {
  config: string;
  architecture: string;
  path: string;
}

const INDEX = readJson<IndexEntry[]>(path.join(ROOT, 'index.json'));
const PUBLISHED = readJson<Record<string, Json>>(path.join(ROOT, 'published_configs.json'));
const INVALID = readJson<Array<{ name: string; overrides: Json; architecture?: string; transformers: string }>>(path.join(ROOT, 'invalid_configs.json'));

// HF ConvBertConfig.__init__ defaults (transformers/models/convbert/configuration_convbert.py).
const HF_DEFAULTS: Json = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
  embedding_size: 768,
  head_ratio: 2,
  conv_kernel_size: 9,
  num_groups: 1,
  classifier_dropout: null,
  tie_word_embeddings: true,
  problem_type: null,
  output_hidden_states: false,
  output_attentions: false,
  return_dict: true,
};

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The header of a safetensors file: name -> shape (read independently of lib/). */
function safetensorsShapes(file: string): Record<string, number[]> {
  const fd = fs.openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    fs.readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, 8);
    const header = JSON.parse(buf.toString('utf8')) as Record<string, { shape: number[] }>;
    const out: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') out[k] = v.shape;
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

function fieldOf(c: ConvBertConfig, key: string): unknown {
  return (c as unknown as Json)[key];
}

/** The ConvBertError thrown by fn, or a test failure. */
function rejects(t: import('ava').ExecutionContext, fn: () => unknown, code: string, field: string, label: string): ConvBertError | undefined {
  try {
    fn();
  } catch (e) {
    t.true(e instanceof ConvBertError, `${label}: a ConvBertError, got ${String(e)}`);
    const err = e as ConvBertError;
    t.is(err.code, code as ConvBertError['code'], `${label}: ${err.message}`);
    t.true(err.message.includes(`${field}:`), `${label}: message names ${field}: ${err.message}`);
    return err;
  }
  t.fail(`${label}: accepted, expected ${code} naming ${field}`);
  return undefined;
}

test('fixture index lists every config folder', (t) => {
  t.true(INDEX.length >= 20, `index.json has ${INDEX.length} entries`);
  for (const e of INDEX) t.true(fs.existsSync(path.join(ROOT, e.path, 'config.json')), e.path);
});

for (const entry of INDEX) {
  test(`fixture ${entry.path}: values, defaults, geometry and byte-identical save`, async (t) => {
    const dir = path.join(ROOT, entry.path);
    const file = path.join(dir, 'config.json');
    const json = readJson<Json>(file);
    const c = await ConvBertConfig.fromPretrained(dir);
    const cSync = ConvBertConfig.fromPretrainedSync(file);
    t.deepEqual(cSync.toDict(), c.toDict(), 'sync and async loads agree, dir and file paths agree');

    // Every key of the file, as written (labels compared through their JSON form).
    for (const [k, v] of Object.entries(json)) {
      if (k === 'id2label' || k === 'label2id') continue;
      t.deepEqual(fieldOf(c, k), v, `${entry.path}: ${k}`);
    }
    // Absent keys get HF's defaults.
    for (const [k, v] of Object.entries(HF_DEFAULTS)) if (!(k in json)) t.deepEqual(fieldOf(c, k), v, `${entry.path}: default ${k}`);
    t.deepEqual(c.architectures, [entry.architecture]);

    // Labels: num_labels = len(id2label), or 2 when absent; keys are ints in memory.
    const id2label = json.id2label as Record<string, string> | undefined;
    t.is(c.num_labels, id2label ? Object.keys(id2label).length : 2);
    if (id2label) {
      for (const [k, name] of Object.entries(id2label)) {
        t.is(c.id2label[Number(k)], name);
        t.is(c.label2id[name], Number(k));
      }
    } else {
      t.deepEqual({ ...c.id2label }, { 0: 'LABEL_0', 1: 'LABEL_1' });
    }
    if (entry.architecture === 'ConvBertForQuestionAnswering') {
      t.false('id2label' in json, 'QA folders carry no id2label');
      t.is(c.num_labels, 2);
      t.is(c.headOutputs('ConvBertForQuestionAnswering'), 2);
    }

    t.is(c.tie_word_embeddings, json.tie_word_embeddings === undefined ? true : (json.tie_word_embeddings as boolean));
    if (entry.config === 'ratio1-c') t.false(c.tie_word_embeddings, 'ratio1-c unties the LM head');

    // Summary keys: as written in mc-summary-f; otherwise HF's getattr defaults.
    if ('summary_type' in json) {
      t.is(c.summaryType, json.summary_type as string);
      t.is(c.summaryUseProj, json.summary_use_proj as boolean);
      t.is(c.summaryActivation, json.summary_activation as string);
      t.is(c.summaryActCode, ACTIVATION_CODES[json.summary_activation as keyof typeof ACTIVATION_CODES]);
      t.is(c.summaryProjOut, c.hidden_size);
    } else {
      t.is(c.summaryType, 'last');
      t.false(c.summaryUseProj);
      t.is(c.summaryActivation, null);
      t.is(c.summaryActCode, -1);
      t.is(c.summary_type, undefined);
    }

    // Geometry (HF >= 4.27), checked against the fixture's own weight shapes.
    const heads = json.num_attention_heads as number;
    const ratio = json.head_ratio as number;
    const hidden = json.hidden_size as number;
    const sa = Math.max(1, Math.floor(heads / ratio));
    t.is(c.saHeads, sa);
    t.is(c.headDim, Math.floor(Math.floor(hidden / sa) / 2));
    t.is(2 * c.allHeadSize, hidden, 'dot-product half + conv half = hidden');
    const shapes = safetensorsShapes(path.join(dir, 'model.safetensors'));
    const prefix = entry.architecture === 'ConvBertModel' ? '' : 'convbert.';
    const k = json.conv_kernel_size as number;
    t.deepEqual(shapes[`${prefix}encoder.layer.0.attention.self.query.weight`], [c.allHeadSize, hidden]);
    t.deepEqual(shapes[`${prefix}encoder.layer.0.attention.self.conv_kernel_layer.weight`], [c.saHeads * k, c.allHeadSize]);
    t.is(`${prefix}embeddings_project.weight` in shapes, c.hasEmbeddingsProject);
    const inter = shapes[`${prefix}encoder.layer.0.intermediate.dense.weight`];
    const G = json.num_groups as number;
    t.deepEqual(inter, G === 1 ? [json.intermediate_size, hidden] : [G, hidden / G, (json.intermediate_size as number) / G]);
    const head = ARCHITECTURE_HEADS[entry.architecture as ConvBertArchitecture];
    if (head === 'masked_lm') t.is('generator_lm_head.weight' in shapes, !c.tie_word_embeddings, 'tied head weight is left out');
    if (head === 'sequence_classification') t.deepEqual(shapes['classifier.out_proj.weight'], [c.num_labels, hidden]);
    if (head === 'token_classification') t.deepEqual(shapes['classifier.weight'], [c.num_labels, hidden]);
    if (head === 'multiple_choice' && c.summaryUseProj) t.deepEqual(shapes['sequence_summary.summary.weight'], [c.summaryProjOut, hidden]);

    const g = c.engineGeometry();
    t.is(g.sa_heads, c.saHeads);
    t.is(g.head_dim, c.headDim);
    t.is(g.hidden_act, ACTIVATION_CODES[json.hidden_act as keyof typeof ACTIVATION_CODES]);

    // save_pretrained layout: the same bytes as the fixture (written the way HF writes it).
    t.is(c.toJSONString(), fs.readFileSync(file, 'utf8'));
    t.deepEqual(JSON.parse(JSON.stringify(c)), json);
  });
}

for (const [name, json] of Object.entries(PUBLISHED)) {
  test(`published ${name} loads with the file's values and HF's defaults for omitted keys`, (t) => {
    const c = ConvBertConfig.fromDict(json);
    for (const [k, v] of Object.entries(json)) t.deepEqual(fieldOf(c, k), v, `${name}: ${k}`);
    t.is(c.pad_token_id, 0, 'the published checkpoints say pad 0 (the class default is 1)');
    t.is(c.classifier_dropout, null);
    t.true(c.tie_word_embeddings);
    t.is(c.num_labels, 2);
    t.is(c.problem_type, null);
    const sa = Math.max(1, Math.floor((json.num_attention_heads as number) / (json.head_ratio as number)));
    t.is(c.saHeads, sa);
    t.is(c.headDim, Math.floor((json.hidden_size as number) / sa / 2));
    // Saving adds only what transformers would add (classifier_dropout), keeps everything else.
    const out = c.toJSON();
    t.deepEqual({ ...out, classifier_dropout: undefined }, { ...json, classifier_dropout: undefined });
    t.is(out.classifier_dropout, null);
    t.deepEqual(ConvBertConfig.fromDict(out).toDict(), c.toDict());
  });
}

test('defaults are HF ConvBertConfig defaults; to_diff_dict keeps pad/bos/eos and drops PretrainedConfig defaults', (t) => {
  const c = new ConvBertConfig();
  for (const [k, v] of Object.entries(HF_DEFAULTS)) t.deepEqual(fieldOf(c, k), v, k);
  t.is(c.num_labels, 2);
  t.is(c.model_type, 'convbert');
  t.is(c.saHeads, 6);
  t.is(c.headDim, 64);
  const j = c.toJSON();
  t.is(j.pad_token_id, 1);
  t.is(j.bos_token_id, 0);
  t.is(j.eos_token_id, 2);
  t.is(j.model_type, 'convbert');
  t.is(j.classifier_dropout, null);
  for (const k of ['id2label', 'label2id', 'tie_word_embeddings', 'problem_type', 'return_dict', 'architectures', 'summary_type']) t.false(k in j, k);
  t.deepEqual(Object.keys(j), [...Object.keys(j)].sort(), 'keys sorted');
  t.deepEqual(ConvBertConfig.fromDict({}).toDict(), c.toDict());
  // null equals PretrainedConfig's default but not ConvBertConfig's (1): HF writes it.
  const noPad = ConvBertConfig.fromDict({ pad_token_id: null });
  t.true('pad_token_id' in noPad.toJSON());
  t.is(noPad.toJSON().pad_token_id, null);
  t.is(ConvBertConfig.fromDict(noPad.toJSON()).pad_token_id, null);
});

// invalid_configs.json: the field that makes transformers fail, per entry.
const INVALID_FIELD: Record<string, string> = {
  'even-kernel': 'conv_kernel_size',
  'even-kernel-2': 'conv_kernel_size',
  'groups-not-dividing': 'num_groups',
  'hidden-not-divisible-by-2x-attention-heads': 'hidden_size',
  'hidden-not-divisible-by-attention-heads': 'hidden_size',
  'qa-num-labels-3': 'num_labels',
  'summary-attn': 'summary_type',
  'mc-summary-proj-to-labels': 'summary_proj_to_labels',
};

test('invalid_configs.json has only entries this test knows', (t) => {
  t.true(INVALID.length >= 8);
  for (const inv of INVALID) t.truthy(INVALID_FIELD[inv.name] ?? Object.keys(inv.overrides)[0], inv.name);
});

for (const inv of INVALID) {
  test(`invalid config ${inv.name} is rejected naming the field`, async (t) => {
    const arch = (inv.architecture ?? 'ConvBertModel') as ConvBertArchitecture;
    const field = INVALID_FIELD[inv.name] ?? Object.keys(inv.overrides)[0];
    t.true(field in inv.overrides || field === 'hidden_size', `${field} is what the entry changes`);
    // On HF's defaults ...
    rejects(t, () => ConvBertConfig.fromDict({ ...inv.overrides, architectures: [arch] }), 'ERR_CONVBERT_CONFIG', field, `${inv.name} on defaults`);
    rejects(t, () => new ConvBertConfig({ ...inv.overrides, architectures: [arch] }), 'ERR_CONVBERT_CONFIG', field, `${inv.name} via constructor`);
    // ... on a fixture config of that architecture, through fromPretrained(dir, overrides) ...
    const dir = path.join(ROOT, 'tiny-a', arch);
    await t.throwsAsync(ConvBertConfig.fromPretrained(dir, { overrides: inv.overrides }), {
      instanceOf: ConvBertError,
      code: 'ERR_CONVBERT_CONFIG',
      message: (m: string) => m.includes(`${field}:`) && m.includes(path.join(dir, 'config.json')),
    } as never);
    // ... and for a ConvBertModel config that a head class is asked to run.
    if (inv.architecture) {
      const base = { ...readJson<Json>(path.join(ROOT, 'tiny-a', 'ConvBertModel', 'config.json')), ...inv.overrides };
      const c = ConvBertConfig.fromDict(base);
      rejects(t, () => c.validate(arch), 'ERR_CONVBERT_CONFIG', field, `${inv.name} validate(${arch})`);
      rejects(t, () => ConvBertConfig.fromDict(base, { architecture: arch }), 'ERR_CONVBERT_CONFIG', field, `${inv.name} fromDict(architecture)`);
    }
  });
}

test('configs next to the invalid ones load (the checks reject exactly what transformers cannot run)', (t) => {
  const ok: Array<[string, Json]> = [
    ['kernel 1', { conv_kernel_size: 1 }],
    ['kernel 3', { conv_kernel_size: 3 }],
    ['kernel 11', { conv_kernel_size: 11 }],
    ['head_ratio 1', { hidden_size: 48, num_attention_heads: 4, head_ratio: 1 }],
    ['clamped 2 // 4 -> 1', { hidden_size: 32, num_attention_heads: 2, head_ratio: 4 }],
    ['odd heads 3 // 2 -> 1', { hidden_size: 48, num_attention_heads: 3 }],
    ['hidden not a multiple of num_attention_heads (only of 2 * sa)', { hidden_size: 40, num_attention_heads: 6, head_ratio: 3 }],
    ['groups dividing both', { hidden_size: 48, intermediate_size: 96, num_groups: 4 }],
    ['groups == hidden', { hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, num_groups: 8 }],
    ['summary "attn" on ConvBertModel (only MultipleChoice builds a SequenceSummary)', { summary_type: 'attn', architectures: ['ConvBertModel'] }],
    ['QA with 2 labels', { architectures: ['ConvBertForQuestionAnswering'], num_labels: 2 }],
    ['token classification with 3 labels', { architectures: ['ConvBertForTokenClassification'], num_labels: 3 }],
    ['summary_proj_to_labels without summary_use_proj', { architectures: ['ConvBertForMultipleChoice'], summary_proj_to_labels: true, num_labels: 3 }],
    [
      'summary projecting to num_labels == hidden_size',
      { architectures: ['ConvBertForMultipleChoice'], hidden_size: 8, num_attention_heads: 2, summary_use_proj: true, summary_proj_to_labels: true, num_labels: 8 },
    ],
    ['summary_type cls_index', { architectures: ['ConvBertForMultipleChoice'], summary_type: 'cls_index' }],
    ['every runnable activation', { hidden_act: 'gelu_new' }],
    ['pad_token_id -1 (a valid negative padding_idx)', { pad_token_id: -1 }],
    ['pad_token_id null', { pad_token_id: null }],
    ['eos_token_id list', { eos_token_id: [2, 3] }],
    ['unknown architecture kept', { architectures: ['ConvBertForPreTraining'] }],
    ['zero dropout and init std', { hidden_dropout_prob: 0, attention_probs_dropout_prob: 1, initializer_range: 0, classifier_dropout: 0.5 }],
  ];
  for (const [label, values] of ok) t.notThrows(() => ConvBertConfig.fromDict(values), label);
  for (const act of Object.keys(ACTIVATION_CODES)) t.is(ConvBertConfig.fromDict({ hidden_act: act }).hiddenActCode, ACTIVATION_CODES[act as keyof typeof ACTIVATION_CODES], act);
  const clamp = ConvBertConfig.fromDict({ hidden_size: 32, num_attention_heads: 2, head_ratio: 4 });
  t.is(clamp.saHeads, 1);
  t.is(clamp.headDim, 16);
});

test('wrong JSON types and impossible values are rejected naming the field', (t) => {
  const bad: Array<[string, unknown, string?]> = [
    ['vocab_size', '30522'],
    ['vocab_size', 0],
    ['hidden_size', 768.5],
    ['hidden_size', -768],
    ['hidden_size', null],
    ['num_hidden_layers', 0],
    ['num_hidden_layers', true],
    ['num_attention_heads', 0],
    ['intermediate_size', 0],
    ['max_position_embeddings', 0],
    ['type_vocab_size', 0],
    ['embedding_size', 0],
    ['embedding_size', [128]],
    ['head_ratio', 0],
    ['head_ratio', 1.5],
    ['conv_kernel_size', 0],
    ['conv_kernel_size', '9'],
    ['num_groups', 0],
    ['layer_norm_eps', 0],
    ['layer_norm_eps', -1e-12],
    ['layer_norm_eps', '1e-12'],
    ['initializer_range', -0.02],
    ['hidden_dropout_prob', 1.5],
    ['attention_probs_dropout_prob', -0.1],
    ['classifier_dropout', '0.1'],
    ['hidden_act', 'not_an_activation'],
    ['hidden_act', 5],
    ['hidden_act', null],
    ['pad_token_id', 1.5],
    ['pad_token_id', 30522],
    ['pad_token_id', -30523],
    ['bos_token_id', '0'],
    ['eos_token_id', [2, 'x']],
    ['tie_word_embeddings', 'yes'],
    ['output_hidden_states', 1],
    ['return_dict', null],
    ['architectures', 'ConvBertModel'],
    ['architectures', [1]],
    ['torch_dtype', 32],
    ['problem_type', 'classification'],
    ['id2label', { a: 'x' }],
    ['id2label', { 0: 1 }],
    ['id2label', ['LABEL_0']],
    ['label2id', { LABEL_0: 'zero', LABEL_1: 1 }],
    ['num_labels', -1],
    ['num_labels', 'two'],
    ['summary_type', 3],
    ['summary_use_proj', 'true'],
    ['summary_activation', 1],
    ['summary_first_dropout', 2],
    ['pruned_heads', [1]],
    ['model_type', 'bert'],
    ['transformers_version', 4],
  ];
  for (const [key, value] of bad) {
    rejects(t, () => ConvBertConfig.fromDict({ [key]: value }), 'ERR_CONVBERT_CONFIG', key, `${key} = ${JSON.stringify(value)}`);
  }
  // Multiple-choice summary values are checked when the head needs them.
  rejects(t, () => ConvBertConfig.fromDict({ architectures: ['ConvBertForMultipleChoice'], summary_type: 'middle' }), 'ERR_CONVBERT_CONFIG', 'summary_type', 'summary_type middle');
  rejects(
    t,
    () => ConvBertConfig.fromDict({ architectures: ['ConvBertForMultipleChoice'], summary_activation: 'nope' }),
    'ERR_CONVBERT_CONFIG',
    'summary_activation',
    'summary_activation nope',
  );
  // Not an object at all.
  for (const v of [null, [], 'config', 3]) rejects(t, () => ConvBertConfig.fromDict(v), 'ERR_CONVBERT_CONFIG', 'config', `config = ${JSON.stringify(v)}`);
  // The message says what was expected and what was found.
  const e = rejects(t, () => ConvBertConfig.fromDict({ hidden_size: '768' }), 'ERR_CONVBERT_CONFIG', 'hidden_size', 'message');
  t.regex(e?.message ?? '', /expected an integer, got "768"/);
});

test('activations transformers has but this library does not run are ERR_CONVBERT_UNSUPPORTED; so are pruned heads', (t) => {
  rejects(t, () => ConvBertConfig.fromDict({ hidden_act: 'prelu' }), 'ERR_CONVBERT_UNSUPPORTED', 'hidden_act', 'prelu');
  rejects(t, () => ConvBertConfig.fromDict({ pruned_heads: { 0: [1] } }), 'ERR_CONVBERT_UNSUPPORTED', 'pruned_heads', 'pruned heads');
  t.notThrows(() => ConvBertConfig.fromDict({ pruned_heads: {} }));
});

test('labels: num_labels rules, the setter regenerates LABEL_i, id2label wins over num_labels, maps must agree', (t) => {
  const three = ConvBertConfig.fromDict({ num_labels: 3 });
  t.is(three.num_labels, 3);
  t.deepEqual({ ...three.id2label }, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
  t.deepEqual({ ...three.label2id }, { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 });
  t.deepEqual(three.toJSON().id2label, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
  t.false('num_labels' in three.toJSON(), 'num_labels is not written, id2label is');

  // HF: with id2label present, a different num_labels is ignored (with a warning).
  const named = ConvBertConfig.fromDict({ id2label: { 0: 'neg', 1: 'neu', 2: 'pos' }, label2id: { neg: 0, neu: 1, pos: 2 }, num_labels: 5 });
  t.is(named.num_labels, 3);
  t.is(named.id2label[2], 'pos');
  // Same count: the names stay; another count: LABEL_i again.
  named.num_labels = 3;
  t.is(named.id2label[0], 'neg');
  named.num_labels = 1;
  t.deepEqual({ ...named.id2label }, { 0: 'LABEL_0' });
  t.deepEqual({ ...named.label2id }, { LABEL_0: 0 });
  t.is(named.toJSON().num_labels, undefined);
  t.deepEqual(ConvBertConfig.fromDict(named.toJSON()).num_labels, 1);

  // label2id omitted: derived as the inverse of id2label.
  const derived = ConvBertConfig.fromDict({ id2label: { 0: 'a', 1: 'b', 2: 'c' } });
  t.deepEqual({ ...derived.label2id }, { a: 0, b: 1, c: 2 });

  rejects(t, () => ConvBertConfig.fromDict({ id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 2, c: 1 } }), 'ERR_CONVBERT_CONFIG', 'label2id', 'swapped');
  rejects(t, () => ConvBertConfig.fromDict({ id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1 } }), 'ERR_CONVBERT_CONFIG', 'label2id', 'missing');
  rejects(t, () => ConvBertConfig.fromDict({ id2label: { 0: 'a', 1: 'a' } }), 'ERR_CONVBERT_CONFIG', 'label2id', 'duplicate names');
  t.throws(
    () => {
      new ConvBertConfig().num_labels = 1.5;
    },
    { instanceOf: ConvBertError, code: 'ERR_CONVBERT_CONFIG', message: /num_labels:/ } as never,
  );

  // problem_type is kept and written.
  const reg = ConvBertConfig.fromDict({ num_labels: 1, problem_type: 'regression' });
  t.is(reg.problem_type, 'regression');
  t.is(reg.toJSON().problem_type, 'regression');
});

test('toJSON / save round trips keep unknown keys, sort keys and write Python-style JSON', async (t) => {
  const dir = tmpDir(t);
  const src: Json = {
    ...readJson<Json>(path.join(ROOT, 'proj-groups-b', 'ConvBertForSequenceClassification', 'config.json')),
    finetuning_task: 'sst2',
    task_specific_params: { zeta: [1, { b: 2, a: null }], alpha: true },
    _name_or_path: 'some/where',
    layer_norm_eps: 1e-5,
    id2label: { 0: 'a', 1: 'b', 2: 'c', 3: 'd', 4: 'e', 5: 'f', 6: 'g', 7: 'h', 8: 'i', 9: 'j', 10: 'k' },
    label2id: { a: 0, b: 1, c: 2, d: 3, e: 4, f: 5, g: 6, h: 7, i: 8, j: 9, k: 10 },
    summary_first_dropout: 0.1,
    tie_word_embeddings: false,
    ['__proto__']: 'kept as data',
  };
  // A literal "__proto__" key sets the prototype; put it in as data, as JSON.parse would.
  delete (src as Json)['__proto__'];
  Object.defineProperty(src, '__proto__', { value: 'kept as data', enumerable: true, writable: true, configurable: true });
  const c = ConvBertConfig.fromDict(src);
  t.is(c.extra.finetuning_task, 'sst2');
  t.deepEqual(c.extra.task_specific_params, { zeta: [1, { b: 2, a: null }], alpha: true });
  t.is(Object.getPrototypeOf(c.extra), Object.prototype, 'a "__proto__" key does not change the prototype');

  const saved = await c.save(dir);
  t.is(saved, path.join(dir, 'config.json'));
  const text = fs.readFileSync(saved, 'utf8');
  const back = JSON.parse(text) as Json;
  for (const [k, v] of Object.entries(src)) t.deepEqual(back[k], v, `saved ${k}`);
  t.is(back.__proto__ as unknown, 'kept as data');
  t.deepEqual(Object.keys(back), [...Object.keys(back)].sort(), 'top-level keys sorted');
  // Python's json.dumps(sort_keys=True): string order ("10" before "2"), repr floats.
  t.true(text.indexOf('"10": "k"') < text.indexOf('"2": "c"'));
  t.regex(text, /"layer_norm_eps": 1e-05,\n/);
  t.regex(text, /"summary_first_dropout": 0\.1,\n/);
  t.regex(text, /"task_specific_params": \{\n {4}"alpha": true,\n {4}"zeta": \[\n {6}1,\n {6}\{\n {8}"a": null,\n {8}"b": 2\n/);
  t.true(text.endsWith('}\n'));

  const reloaded = await ConvBertConfig.fromPretrained(dir);
  t.deepEqual(reloaded.toDict(), c.toDict());
  t.is(reloaded.toJSONString(), text, 'save -> load -> save is stable');

  // A .json path is written as is; the sync variants agree.
  const file = path.join(dir, 'sub', 'my_config.json');
  t.is(c.saveSync(file), file);
  t.is(fs.readFileSync(file, 'utf8'), text);
  t.deepEqual(ConvBertConfig.fromPretrainedSync(file).toDict(), c.toDict());
});

test('pythonJsonDumps writes numbers and strings the way Python json.dumps does', (t) => {
  // Python: json.dumps([1e-05, 1e-12, 0.1, 0.0001, 1e+16, 1.5e-07, 12, -3, 123456.75, 2e-300])
  t.is(pythonJsonDumps([1e-5, 1e-12, 0.1, 0.0001, 1e16, 1.5e-7, 12, -3, 123456.75, 2e-300], 0).replace(/\n/g, ''), '[1e-05,1e-12,0.1,0.0001,1e+16,1.5e-07,12,-3,123456.75,2e-300]');
  // ensure_ascii: non-ASCII as lowercase \\uXXXX, astral characters as surrogate pairs.
  t.is(pythonJsonDumps({ é: 'ß😀\n"' }), '{\n  "\\u00e9": "\\u00df\\ud83d\\ude00\\n\\""\n}');
  t.is(pythonJsonDumps({ a: [], b: {} }), '{\n  "a": [],\n  "b": {}\n}');
});

test('clone is deep and equal; changes to a clone do not leak', (t) => {
  const c = ConvBertConfig.fromDict({ ...PUBLISHED['YituTech/conv-bert-small'], id2label: { 0: 'x', 1: 'y', 2: 'z' }, extra_thing: { a: [1] } });
  const d = c.clone();
  t.deepEqual(d.toDict(), c.toDict());
  t.not(d.id2label, c.id2label);
  d.id2label[0] = 'changed';
  (d.extra.extra_thing as { a: number[] }).a.push(2);
  d.architectures!.push('ConvBertForMaskedLM');
  t.is(c.id2label[0], 'x');
  t.deepEqual(c.extra.extra_thing, { a: [1] });
  t.deepEqual(c.architectures, ['ConvBertModel']);
  // fromDict copies its input too.
  const src = { architectures: ['ConvBertModel'] };
  const e = ConvBertConfig.fromDict(src);
  e.architectures!.push('x');
  t.deepEqual(src.architectures, ['ConvBertModel']);
});

test('validate() re-checks fields changed by hand', (t) => {
  const c = new ConvBertConfig();
  c.conv_kernel_size = 8;
  rejects(t, () => c.validate(), 'ERR_CONVBERT_CONFIG', 'conv_kernel_size', 'mutated kernel');
  c.conv_kernel_size = 9;
  t.notThrows(() => c.validate());
  c.num_labels = 3;
  rejects(t, () => c.validate('ConvBertForQuestionAnswering'), 'ERR_CONVBERT_CONFIG', 'num_labels', 'QA with 3 labels');
  t.notThrows(() => c.validate('ConvBertForTokenClassification'));
  t.throws(() => c.validate('ConvBertForSomething' as ConvBertArchitecture), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' } as never);
});

test('head helpers: head kinds and output widths', (t) => {
  const c = ConvBertConfig.fromDict({ vocab_size: 99, num_labels: 5 });
  t.is(ConvBertConfig.headKind('ConvBertForMaskedLM'), 'masked_lm');
  t.is(c.headOutputs('ConvBertModel'), 0);
  t.is(c.headOutputs('ConvBertForMaskedLM'), 99);
  t.is(c.headOutputs('ConvBertForSequenceClassification'), 5);
  t.is(c.headOutputs('ConvBertForTokenClassification'), 5);
  t.is(c.headOutputs('ConvBertForMultipleChoice'), 1);
  const s = ConvBertConfig.fromDict({ num_labels: 768, summary_use_proj: true, summary_proj_to_labels: true });
  t.is(s.summaryProjOut, 768);
  const n = ConvBertConfig.fromDict({ summary_use_proj: true });
  t.is(n.summaryProjOut, 768);
});

test('file errors: missing paths are ERR_CONVBERT_IO, bad JSON is ERR_CONVBERT_CONFIG naming the file', async (t) => {
  const dir = tmpDir(t);
  await t.throwsAsync(ConvBertConfig.fromPretrained(path.join(dir, 'nope')), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_IO' } as never);
  await t.throwsAsync(ConvBertConfig.fromPretrained(dir), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_IO', message: /config\.json/ } as never);
  t.throws(() => ConvBertConfig.fromPretrainedSync(dir), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_IO' } as never);
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, '{"hidden_size": 32,');
  await t.throwsAsync(ConvBertConfig.fromPretrained(dir), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_CONFIG',
    message: (m: string) => m.includes(file) && /JSON/.test(m),
  } as never);
  fs.writeFileSync(file, '[1, 2]');
  t.throws(() => ConvBertConfig.fromPretrainedSync(file), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_CONFIG', message: (m: string) => m.includes(file) } as never);
  fs.writeFileSync(file, JSON.stringify({ conv_kernel_size: 6 }));
  await t.throwsAsync(ConvBertConfig.fromPretrained(dir), { code: 'ERR_CONVBERT_CONFIG', message: (m: string) => m.includes(file) && m.includes('conv_kernel_size:') } as never);
  await t.throwsAsync(ConvBertConfig.fromPretrained('' as string), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' } as never);
  await t.throwsAsync(ConvBertConfig.fromPretrained(dir, { overrides: 'x' as never }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' } as never);
});

test('loader options: unknown keys are ERR_CONVBERT_ARG naming the closest known key; unknown config.json keys stay accepted', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ hidden_size: 32, num_attention_heads: 2, intermediate_size: 64, embedding_size: 32, my_extra_key: [1, 2] }));
  const arg = (re: RegExp) => ({ instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: re }) as never;
  // a typo of a known key gets its suggestion
  await t.throwsAsync(
    ConvBertConfig.fromPretrained(dir, { architecure: 'ConvBertForMaskedLM' } as never),
    arg(/^ConvBertConfig\.fromPretrained: unknown option 'architecure'; did you mean 'architecture'\? expected some of overrides, architecture$/),
  );
  t.throws(
    () => ConvBertConfig.fromPretrainedSync(file, { overide: {} } as never),
    arg(/^ConvBertConfig\.fromPretrainedSync: unknown option 'overide'; did you mean 'overrides'\?/),
  );
  // a model-loader option (Hub revision) means nothing here, misspelt or not
  await t.throwsAsync(
    ConvBertConfig.fromPretrained(dir, { revsion: 'main' } as never),
    arg(/^ConvBertConfig\.fromPretrained: unknown option 'revsion'; expected some of overrides, architecture$/),
  );
  await t.throwsAsync(ConvBertConfig.fromPretrained(dir, { revision: 'main' } as never), arg(/unknown option 'revision'/));
  // fromDict takes only architecture
  t.throws(() => ConvBertConfig.fromDict({}, { overrides: {} } as never), arg(/^ConvBertConfig\.fromDict: unknown option 'overrides'; expected some of architecture$/));
  t.throws(() => ConvBertConfig.fromDict({}, { architectur: 'ConvBertModel' } as never), arg(/did you mean 'architecture'\?/));
  // the options object itself must be an object
  t.throws(() => ConvBertConfig.fromDict({}, null as never), arg(/^ConvBertConfig\.fromDict: options: expected an object, got null$/));
  await t.throwsAsync(ConvBertConfig.fromPretrained(dir, 'main' as never), arg(/^ConvBertConfig\.fromPretrained: options: expected an object, got "main"$/));
  await t.throwsAsync(
    ConvBertConfig.fromPretrained(dir, { overrides: 'x' as never }),
    arg(/^ConvBertConfig\.fromPretrained: options\.overrides: expected an object of config values, got "x"$/),
  );
  // the known keys still work, and the extra config.json key is kept as HF keeps it
  const c = await ConvBertConfig.fromPretrained(dir, { overrides: { num_labels: 3 }, architecture: 'ConvBertForSequenceClassification' });
  t.is(c.num_labels, 3);
  t.deepEqual(c.extra, { my_extra_key: [1, 2] });
  t.is(ConvBertConfig.fromPretrainedSync(file, undefined).hidden_size, 32);
  t.deepEqual(ConvBertConfig.fromDict({ hidden_size: 32, num_attention_heads: 2, another: 'x' }, { architecture: 'ConvBertModel' }).extra, { another: 'x' });
});

test('fuzz: byte flips and truncations of fixture config.json files load or fail with a ConvBertError (seeded, 3000 runs)', (t) => {
  const rand = mulberry32(20261126);
  const texts = INDEX.map((e) => fs.readFileSync(path.join(ROOT, e.path, 'config.json')));
  let loaded = 0;
  let rejected = 0;
  for (let run = 0; run < 3000; run++) {
    const src = texts[Math.floor(rand() * texts.length)];
    let buf = Buffer.from(src);
    if (rand() < 0.3) buf = buf.subarray(0, Math.floor(rand() * buf.length));
    const flips = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < flips && buf.length > 0; i++) buf[Math.floor(rand() * buf.length)] ^= 1 << Math.floor(rand() * 8);
    let obj: unknown;
    try {
      obj = JSON.parse(buf.toString('utf8'));
    } catch {
      rejected++;
      continue;
    }
    try {
      const c = ConvBertConfig.fromDict(obj);
      // Whatever loads is consistent and saves to something that loads to the same config.
      const again = ConvBertConfig.fromDict(JSON.parse(c.toJSONString()));
      if (2 * c.allHeadSize !== c.hidden_size || JSON.stringify(again.toDict()) !== JSON.stringify(c.toDict())) {
        t.fail(`run ${run}: loaded but inconsistent: ${buf.toString('utf8')}`);
        return;
      }
      loaded++;
    } catch (e) {
      if (!(e instanceof ConvBertError)) {
        t.fail(`run ${run}: ${String(e)} for ${buf.toString('utf8')}`);
        return;
      }
      rejected++;
    }
  }
  t.true(loaded > 0 && rejected > 0, `loaded ${loaded}, rejected ${rejected}`);
});
