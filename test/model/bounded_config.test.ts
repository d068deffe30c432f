// bounded_config.test.ts: config sizes cannot make loading list millions of weights,
// draw absurd tensors or abort the native engine. Against a checkpoint the config is
// compared with its tensors before any layout is built (encoder layers, word
// embeddings, classifier rows); without one (fromConfig) MAX_NUM_HIDDEN_LAYERS, one
// Float32Array per weight and the machine's memory bound the model; the native Engine
// bounds every size itself (kMaxLayers, kMaxDim, kMaxWeightNumel); forward outputs too
// large for a typed array are typed errors. Before: num_hidden_layers 100000 took 16 s
// and ~1 GB to list 2.3 million missing keys, 1e6 ran out of heap, and an Engine spec
// with 1e9 layers threw bad_alloc out of the constructor (process terminated).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertConfig } from '../../lib/config';
import { ConvBertError, type ConvBertErrorCode } from '../../lib/errors';
import { ConvBertForMaskedLM, ConvBertForSequenceClassification, ConvBertForTokenClassification, ConvBertModel } from '../../lib/models';
import { MAX_NUM_HIDDEN_LAYERS } from '../../lib/models/limits';
import { native } from '../../lib/native';
import { Tensor } from '../../lib/tensor';
import { fixturesDir } from '../helpers/fixtures';

const dir = (arch: string): string => fixturesDir('convbert', 'tiny-a', arch);
// tiny-a: vocab 99, hidden 32, embedding 32, 2 layers, 4 attention heads, 3 labels in the classification heads.
const tinyConfig = (): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir('ConvBertForSequenceClassification'), 'config.json'), 'utf8'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bounded-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
/** The weights of tiny-a/<from> beside a config.json edited by `edit`. */
function modelDir(from: string, edit: (c: Record<string, unknown>) => void): string {
  const d = path.join(tmp, `m${dirCount++}`);
  fs.mkdirSync(d);
  const cfg = tinyConfig();
  edit(cfg);
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
  fs.copyFileSync(path.join(dir(from), 'model.safetensors'), path.join(d, 'model.safetensors'));
  return d;
}

async function rejects(t: import('ava').ExecutionContext, p: Promise<unknown>, code: ConvBertErrorCode, re: RegExp): Promise<void> {
  const err = await t.throwsAsync(p, { instanceOf: ConvBertError });
  t.is(err?.code, code, err?.message);
  t.regex(err?.message ?? '', re);
}

test('num_hidden_layers past the checkpoint is ERR_CONVBERT_WEIGHTS from the layer count, before any layout', async (t) => {
  for (const layers of [3, 100000, 1000000]) {
    const config = ConvBertConfig.fromDict({ ...tinyConfig(), num_hidden_layers: layers });
    await rejects(
      t,
      ConvBertForSequenceClassification.fromPretrained(dir('ConvBertForSequenceClassification'), { config }),
      'ERR_CONVBERT_WEIGHTS',
      new RegExp(`config num_hidden_layers = ${layers}, but the checkpoint holds encoder layers 0\\.\\.1 \\(2\\); expected num_hidden_layers <= 2$`),
    );
  }
  // the bare trunk (no convbert. prefix) is counted the same way
  const d = modelDir('ConvBertModel', (c) => (c.num_hidden_layers = 100000));
  await rejects(t, ConvBertModel.fromPretrained(d), 'ERR_CONVBERT_WEIGHTS', /num_hidden_layers = 100000, but the checkpoint holds encoder layers 0\.\.1 \(2\)/);
  // fewer layers than the checkpoint load, the rest are unused keys (as in HF)
  const one = await ConvBertModel.fromPretrained(dir('ConvBertModel'), { config: ConvBertConfig.fromDict({ ...tinyConfig(), num_hidden_layers: 1 }) });
  t.true(one.loadInfo.unexpected_keys.some((k) => k.startsWith('encoder.layer.1.')));
  one.dispose();
});

test('num_labels: 1e7 is a typed error at once, and num_labels / vocab_size are checked against the checkpoint', async (t) => {
  const huge = modelDir('ConvBertModel', (c) => {
    delete c.id2label;
    delete c.label2id;
    c.num_labels = 1e7;
  });
  await rejects(
    t,
    ConvBertForTokenClassification.fromPretrained(huge),
    'ERR_CONVBERT_UNSUPPORTED',
    /config\.json: num_labels: expected at most 65536 labels \(MAX_NUM_LABELS.*got 10000000$/,
  );
  const five = modelDir('ConvBertForSequenceClassification', (c) => {
    delete c.id2label;
    delete c.label2id;
    c.num_labels = 5;
  });
  await rejects(
    t,
    ConvBertForSequenceClassification.fromPretrained(five),
    'ERR_CONVBERT_WEIGHTS',
    /config num_labels = 5, but classifier\.out_proj\.weight has 3 rows \(shape \[3, 32\]\)/,
  );
  const vocab = modelDir('ConvBertForSequenceClassification', (c) => (c.vocab_size = 1e6));
  await rejects(
    t,
    ConvBertForSequenceClassification.fromPretrained(vocab),
    'ERR_CONVBERT_WEIGHTS',
    /config vocab_size = 1000000 and embedding_size = 32 expect embeddings\.word_embeddings\.weight of shape \[1000000, 32\], got \[99, 32\]/,
  );
});

test('fromConfig refuses sizes it cannot hold: too many layers, a weight past one Float32Array, more parameters than memory', (t) => {
  const small = { hidden_size: 8, num_attention_heads: 2, embedding_size: 8, intermediate_size: 8, vocab_size: 10 };
  const cases: [Record<string, unknown>, ConvBertErrorCode, RegExp][] = [
    [{ ...small, num_hidden_layers: 100000 }, 'ERR_CONVBERT_UNSUPPORTED', /^fromConfig: num_hidden_layers: expected at most 1024 layers \(MAX_NUM_HIDDEN_LAYERS\), got 100000$/],
    [{ ...small, num_hidden_layers: 1e6 }, 'ERR_CONVBERT_UNSUPPORTED', /got 1000000$/],
    [
      { ...small, hidden_size: 1e6, num_attention_heads: 1 },
      'ERR_CONVBERT_UNSUPPORTED',
      /^fromConfig: attention\.self\.query\.weight .* would have 500000000000 elements, more than one Float32Array holds/,
    ],
    [{ ...small, vocab_size: 2 ** 40 }, 'ERR_CONVBERT_UNSUPPORTED', /^fromConfig: embeddings\.word_embeddings\.weight .* would have 8796093022208 elements/],
    // every weight fits a typed array, but 1024 layers of hidden 32768 are ~3.9e12 parameters
    [
      { ...small, hidden_size: 32768, num_hidden_layers: 1024 },
      'ERR_CONVBERT_OOM',
      /^fromConfig: the config makes a model of about 3\.\d+e\+12 parameters \(.* GiB as float32\), more than this machine's .* GiB of memory$/,
    ],
  ];
  for (const [cfg, code, re] of cases) {
    const err = t.throws(() => ConvBertModel.fromConfig(cfg), { instanceOf: ConvBertError }, JSON.stringify(cfg));
    t.is(err?.code, code, err?.message);
    t.regex(err?.message ?? '', re);
  }
  t.is(MAX_NUM_HIDDEN_LAYERS, 1024);
});

test('the native Engine bounds every size itself: typed errors, never an abort', (t) => {
  const Engine = native().Engine as new (spec: unknown) => { dispose(): void };
  const geometry = ConvBertConfig.fromDict(tinyConfig()).engineGeometry();
  const spec = (over: Record<string, unknown>, head: Record<string, unknown> = { kind: 'none', num_outputs: 0 }) => ({
    ...geometry,
    ...over,
    weights: {},
    head: { weights: {}, ...head },
  });
  const cases: [string, unknown, RegExp][] = [
    ['1e9 layers', spec({ num_hidden_layers: 1e9 }), /num_hidden_layers 1000000000 is more than this engine builds \(at most 1024\)/],
    ['a size past int32', spec({ vocab_size: 2 ** 31 }), /vocab_size 2147483648 is more than this engine takes/],
    // each size fits, their product does not: (2^31 - 1)^2 word embedding elements
    [
      'a product past the bound',
      spec({ vocab_size: 2 ** 31 - 1, embedding_size: 2 ** 31 - 1 }),
      /embeddings\.word_embeddings: the config makes this weight larger than this engine takes/,
    ],
    [
      'hidden 2^30: its products',
      spec({ hidden_size: 2 ** 30, sa_heads: 1, head_dim: 2 ** 29 }, { kind: 'token_classification', num_outputs: 1e7 }),
      /larger than this engine takes/,
    ],
    ['2^40 labels', spec({}, { kind: 'token_classification', num_outputs: 2 ** 40 }), /head\.num_outputs 1099511627776 is more than this engine takes/],
  ];
  for (const [name, s, re] of cases) {
    const err = t.throws(() => new Engine(s), undefined, name) as (Error & { code?: string }) | undefined;
    t.is(err?.code, 'ERR_CONVBERT_UNSUPPORTED', `${name}: ${err?.message}`);
    t.regex(err?.message ?? '', re, name);
  }
});

test('forward outputs no Float32Array can hold are ERR_CONVBERT_LIMIT, not a RangeError', async (t) => {
  // a 2^20-token vocab: 64 rows of 65 tokens would need 64 x 65 x 2^20 logits (> 2^32)
  const m = ConvBertForMaskedLM.fromConfig({ vocab_size: 2 ** 20, hidden_size: 8, num_attention_heads: 2, embedding_size: 8, intermediate_size: 8, num_hidden_layers: 1 });
  t.teardown(() => m.dispose());
  const ids = new Tensor('int32', new Int32Array(64 * 65).fill(5), [64, 65]);
  const err = await t.throwsAsync(m.forward({ input_ids: ids }), { instanceOf: ConvBertError });
  t.is(err?.code, 'ERR_CONVBERT_LIMIT');
  t.regex(err?.message ?? '', /^forward: the masked_lm logits of 64 rows of 65 tokens would hold 4362076160 floats, more than one Float32Array holds/);
  // one row runs
  const out = await m.forward({ input_ids: new Tensor('int32', new Int32Array(3).fill(5), [1, 3]) });
  t.deepEqual(out.logits.dims, [1, 3, 2 ** 20]);
});
