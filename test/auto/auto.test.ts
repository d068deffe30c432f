// The Auto classes: AutoModel* built from a fixture folder equal the ConvBert* class
// they stand for, on the golden fixtures (|got - exp| <= 1e-4 + 1e-4|exp|, the fixtures
// README's float32 check, and bit for bit against the class itself: same weights, same
// kernels); config.json of another family is ERR_CONVBERT_UNSUPPORTED naming what is
// supported, before any weight is read or downloaded; option keys are checked (a typo
// like `devcie` used to be ignored) and transformers.js' spellings are accepted.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';

import {
  AutoConfig,
  AutoModel,
  AutoModelForMaskedLM,
  AutoModelForMultipleChoice,
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoTokenizer,
  type AutoModelClass,
} from '../../lib/auto';
import { ConvBertConfig } from '../../lib/config';
import { ConvBertError } from '../../lib/errors';
import type { TransformersJsProgressInfo } from '../../lib/options';
import * as models from '../../lib/models';
import { Tensor } from '../../lib/tensor';
import { ConvBertTokenizer } from '../../lib/tokenizer';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';
import { readSafetensorsSync } from '../../lib/weights/safetensors';
import { FakeHub, commitId, type LoggedRequest } from '../hub/fake_hub';
import { isolateHubEnv, removeTmpDirs, tmpCache } from '../hub/setup';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { compareTensor, type FixtureCase } from '../model/fixture_runner';

test.before(isolateHubEnv);
const tmp: string[] = [];
test.after.always(() => {
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
  removeTmpDirs();
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-auto-'));
  tmp.push(d);
  return d;
}

const AUTOS: [string, AutoModelClass<models.ConvBertPreTrainedModel>, string][] = [
  ['AutoModel', AutoModel, 'ConvBertModel'],
  ['AutoModelForMaskedLM', AutoModelForMaskedLM, 'ConvBertForMaskedLM'],
  ['AutoModelForSequenceClassification', AutoModelForSequenceClassification, 'ConvBertForSequenceClassification'],
  ['AutoModelForTokenClassification', AutoModelForTokenClassification, 'ConvBertForTokenClassification'],
  ['AutoModelForQuestionAnswering', AutoModelForQuestionAnswering, 'ConvBertForQuestionAnswering'],
  ['AutoModelForMultipleChoice', AutoModelForMultipleChoice, 'ConvBertForMultipleChoice'],
];

function readExpected(dir: string): Map<string, Tensor> {
  const f = readSafetensorsSync(path.join(dir, 'expected.safetensors')) as unknown as { tensors?: Map<string, Tensor> } & Map<string, Tensor>;
  return (f.tensors ?? f) as Map<string, Tensor>;
}

for (const [name, auto, arch] of AUTOS) {
  test(`${name}.from_pretrained(fixture) is ${arch} and gives the fixture outputs of case0`, async (t) => {
    const dir = fixturesDir('convbert', 'tiny-a', arch);
    const cls = (models as unknown as Record<string, typeof models.ConvBertModel>)[arch];
    t.is(auto.modelClass as unknown, cls as unknown);
    const a = await auto.from_pretrained(dir);
    const b = await cls.fromPretrained(dir);
    t.teardown(() => {
      a.dispose();
      b.dispose();
    });
    t.true(a instanceof cls);
    const c = readJson<FixtureCase[]>(path.join(dir, 'cases.json')).find((x) => x.name === 'case0')!;
    const exp = readExpected(dir);
    const inputs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.inputs)) inputs[k] = exp.get(v)!;
    const ga = (await a.forward(inputs)) as unknown as Record<string, Tensor>;
    const gb = (await b.forward(inputs)) as unknown as Record<string, Tensor>;
    for (const [out, key] of Object.entries(c.outputs)) {
      if (typeof key !== 'string') continue;
      const cmp = compareTensor(ga[out], exp.get(key)!, `${arch} case0 ${out}`);
      t.true(cmp.ok, cmp.detail);
      t.deepEqual(Array.from(ga[out].data as Float32Array), Array.from(gb[out].data as Float32Array));
    }
  });
}

test('AutoConfig reads config.json like ConvBertConfig; another model type is ERR_CONVBERT_UNSUPPORTED naming what is supported', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  const c = await AutoConfig.from_pretrained(dir);
  t.true(c instanceof ConvBertConfig);
  t.deepEqual(c.toDict(), (await ConvBertConfig.fromPretrained(dir)).toDict());
  t.deepEqual((await AutoConfig.fromPretrained(path.join(dir, 'config.json'))).toDict(), c.toDict());

  // A BERT folder: config.json only, no weights, so the refusal cannot come from reading them.
  const bert = tmpDir();
  fs.writeFileSync(path.join(bert, 'config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertForMaskedLM'], vocab_size: 99 }));
  for (const run of [() => AutoConfig.fromPretrained(bert), () => AutoModelForMaskedLM.fromPretrained(bert), () => AutoModel.from_pretrained(bert)]) {
    const e = await t.throwsAsync(run(), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_UNSUPPORTED' });
    t.regex(e!.message, /model_type "bert" is not supported; this library runs model_type "convbert" \(ConvBertModel, ConvBertForMaskedLM/);
  }
  // No model_type: the architectures decide, as HF's fallback.
  const noType = tmpDir();
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  delete cfg.model_type;
  fs.writeFileSync(path.join(noType, 'config.json'), JSON.stringify(cfg));
  fs.copyFileSync(path.join(dir, 'model.safetensors'), path.join(noType, 'model.safetensors'));
  const m = await AutoModelForMaskedLM.fromPretrained(noType);
  t.true(m instanceof models.ConvBertForMaskedLM);
  m.dispose();
  fs.writeFileSync(path.join(noType, 'config.json'), JSON.stringify({ ...cfg, architectures: ['BertForMaskedLM'] }));
  await t.throwsAsync(AutoModelForMaskedLM.fromPretrained(noType), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /no model_type, and architectures names "BertForMaskedLM"/ });
  fs.writeFileSync(path.join(noType, 'config.json'), JSON.stringify({ ...cfg, architectures: undefined }));
  await t.throwsAsync(AutoConfig.fromPretrained(noType), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /neither model_type nor architectures/ });
  t.throws(() => AutoModel.fromConfig({ model_type: 'roberta' }), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /"roberta"/ });
  t.throws(() => AutoConfig.fromDict({ model_type: 'roberta' }), { code: 'ERR_CONVBERT_UNSUPPORTED' });
  const fresh = AutoModelForSequenceClassification.from_config(
    { vocab_size: 30, hidden_size: 8, embedding_size: 8, num_attention_heads: 2, intermediate_size: 8, num_hidden_layers: 1 },
    { seed: 1 },
  );
  t.true(fresh instanceof models.ConvBertForSequenceClassification);
  fresh.dispose();
  await t.throwsAsync(AutoModel.fromPretrained(''), { code: 'ERR_CONVBERT_ARG' });
  await t.throwsAsync(AutoModel.fromPretrained('./no/such/dir'), { code: 'ERR_CONVBERT_IO' });
});

test('unknown option keys are ERR_CONVBERT_ARG naming the key and the closest known one; transformers.js dtypes map to ours', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
  for (const run of [
    () => AutoModel.fromPretrained(dir, { devcie: 'cpu' } as never),
    () => models.ConvBertModel.fromPretrained(dir, { devcie: 'cpu' } as never),
    () => Promise.resolve().then(() => models.ConvBertModel.fromConfig({ vocab_size: 10 }, { devcie: 'cpu' } as never)),
  ]) {
    const e = await t.throwsAsync(run(), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' });
    t.regex(e!.message, /unknown option 'devcie'; did you mean 'device'\?/);
  }
  await t.throwsAsync(AutoModel.fromPretrained(dir, { cacheDirectory: 'x' } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'cacheDirectory'/ });
  await t.throwsAsync(AutoModel.fromPretrained(dir, 'cpu' as never), { code: 'ERR_CONVBERT_ARG', message: /options: expected an object/ });
  const want: [string, string][] = [
    ['fp32', 'float32'],
    ['bf16', 'bfloat16'],
    ['q8', 'int8'],
  ];
  for (const [js, ours] of want) {
    const m = await AutoModel.from_pretrained(dir, { dtype: js as never, local_files_only: true });
    t.is(m.dtype as string, ours, js);
    m.dispose();
  }
  await t.throwsAsync(AutoModel.fromPretrained(dir, { dtype: 'q4' as never }), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /'fp32', 'fp16', 'bf16', 'q8'/ });
});

test('AutoTokenizer: the fast tokenizer by default, the TypeScript one with use_fast: false, other tokenizer classes refused', async (t) => {
  const dir = fixturesDir('tokenizer');
  const fast = await AutoTokenizer.from_pretrained(dir);
  t.true(fast instanceof ConvBertTokenizerFast);
  const slow = await AutoTokenizer.fromPretrained(dir, { use_fast: false });
  t.true(slow instanceof ConvBertTokenizer);
  const ref = await ConvBertTokenizerFast.fromPretrained(dir);
  const text = 'Hello, naïve world! 你好';
  t.deepEqual(fast.encode(text), ref.encode(text));
  t.deepEqual(slow.encode(text), ref.encode(text));
  await (slow as ConvBertTokenizer).dispose();
  const other = tmpDir();
  fs.copyFileSync(path.join(dir, 'vocab.txt'), path.join(other, 'vocab.txt'));
  fs.writeFileSync(path.join(other, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'RobertaTokenizer' }));
  await t.throwsAsync(AutoTokenizer.fromPretrained(other), {
    code: 'ERR_CONVBERT_UNSUPPORTED',
    message: /tokenizer_class "RobertaTokenizer" is not supported; this library runs ConvBertTokenizer/,
  });
  fs.writeFileSync(path.join(other, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: false }));
  t.false((await AutoTokenizer.fromPretrained(other)).do_lower_case);
  fs.rmSync(path.join(other, 'tokenizer_config.json'));
  fs.writeFileSync(path.join(other, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
  await t.throwsAsync(AutoTokenizer.fromPretrained(other), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /"gpt2"/ });
  await t.throwsAsync(AutoTokenizer.fromPretrained(dir, { do_lowercase: true } as never), { code: 'ERR_CONVBERT_ARG', message: /did you mean 'do_lower_case'/ });
  await t.throwsAsync(AutoTokenizer.fromPretrained(dir, { use_fast: false, num_threads: 2 }), { code: 'ERR_CONVBERT_ARG', message: /num_threads/ });
});

test('AutoModel on a Hub id: config.json is checked before the weights are fetched; cache_dir and progress_callback work', async (t) => {
  const hub = await FakeHub.start();
  t.teardown(() => hub.close());
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  const file = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
  hub.addCommit('org/tiny', commitId('a1'), {
    'config.json': { data: file('config.json') },
    'model.safetensors': { data: file('model.safetensors'), lfs: 'relative' },
  });
  hub.addCommit('org/bert', commitId('b1'), {
    'config.json': { data: Buffer.from(JSON.stringify({ model_type: 'bert' })) },
    'model.safetensors': { data: file('model.safetensors'), lfs: 'relative' },
  });
  const cache_dir = tmpCache();
  const events: TransformersJsProgressInfo[] = [];
  const m = await AutoModelForMaskedLM.from_pretrained('org/tiny', { cache_dir, endpoint: hub.endpoint, progress_callback: (e) => events.push(e) });
  t.true(m instanceof models.ConvBertForMaskedLM);
  m.dispose();
  t.true(fs.existsSync(path.join(cache_dir, 'models--org--tiny')));
  // transformers.js's event sequence per file: initiate, download, progress (rising to 100), done.
  const weights = events.filter((e) => 'file' in e && e.file === 'model.safetensors');
  const size = file('model.safetensors').length;
  t.deepEqual(weights.slice(0, 2), [
    { status: 'initiate', name: 'org/tiny', file: 'model.safetensors' },
    { status: 'download', name: 'org/tiny', file: 'model.safetensors' },
  ]);
  t.deepEqual(weights[weights.length - 1], { status: 'done', name: 'org/tiny', file: 'model.safetensors' });
  t.deepEqual(weights[weights.length - 2], { status: 'progress', name: 'org/tiny', file: 'model.safetensors', progress: 100, loaded: size, total: size });
  t.true(weights.slice(2, -1).every((e) => e.status === 'progress'));
  await t.throwsAsync(AutoModelForMaskedLM.from_pretrained('org/bert', { cache_dir, endpoint: hub.endpoint, progress: false }), { code: 'ERR_CONVBERT_UNSUPPORTED' });
  const bertFiles = hub
    .requests()
    .filter((r: LoggedRequest) => r.path.includes('org/bert'))
    .map((r: LoggedRequest) => r.path);
  t.false(
    bertFiles.some((u) => u.includes('model.safetensors')),
    bertFiles.join(', '),
  );
});
