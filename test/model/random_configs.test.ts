// Beyond the fixtures: random models of other shapes (every hidden_act the
// library accepts, every summary_type, untied LM head, grouped FFN, head_ratio
// 3, kernels 1..7, embeddings_project) built by fromConfig with one seed, run
// by the native engine and by the float64 TS reference engine on the same
// padded inputs; every output compared at 1e-4 + 1e-4|x|, the fixtures'
// float32 check (init std 0.2 gives peaked softmaxes, as in the sharper fixtures).
import test from 'ava';

import { ACTIVATION_CODES, type NativeEngineCtor } from '../../lib/engine_types';
import { Tensor } from '../../lib/tensor';
import {
  ConvBertForMaskedLM,
  ConvBertForMultipleChoice,
  ConvBertForQuestionAnswering,
  ConvBertForSequenceClassification,
  ConvBertForTokenClassification,
  ConvBertModel,
} from '../../lib/models';
import { compareTensor } from './fixture_runner';
import { RefEngine } from './ref_engine';

const base = {
  vocab_size: 60,
  hidden_size: 24,
  embedding_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 48,
  conv_kernel_size: 5,
  max_position_embeddings: 32,
  initializer_range: 0.2,
  pad_token_id: 0,
};

// B=2, L=6; row 1 has two pads. Token types and labels included.
const ids = new Tensor('int64', [
  [3, 9, 27, 41, 5, 2],
  [7, 59, 13, 1, 0, 0],
]);
const mask = new Tensor('int64', [
  [1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 0],
]);
const types = new Tensor('int64', [
  [0, 0, 0, 1, 1, 1],
  [0, 0, 1, 1, 1, 1],
]);

type AnyModel = { forward(i: unknown, o?: unknown): Promise<Record<string, unknown>>; dispose(): void };
type AnyClass = { fromConfig(c: Record<string, unknown>, o: { seed: number; engine?: NativeEngineCtor }): AnyModel; name: string };

async function compareEngines(t: import('ava').ExecutionContext, cls: AnyClass, cfg: Record<string, unknown>, inputs: Record<string, unknown>, label: string): Promise<void> {
  const nat = cls.fromConfig(cfg, { seed: 21 });
  const ref = cls.fromConfig(cfg, { seed: 21, engine: RefEngine });
  const opts = { output_hidden_states: true, output_attentions: true };
  const a = await nat.forward(inputs, opts);
  const b = await ref.forward(inputs, opts);
  nat.dispose();
  ref.dispose();
  t.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), label);
  for (const k of Object.keys(b)) {
    const x = a[k];
    const y = b[k];
    if (Array.isArray(y)) {
      y.forEach((yy, i) => {
        const r = compareTensor((x as Tensor[])[i], yy as Tensor, `${label} ${k}.${i}`);
        t.true(r.ok, r.detail);
      });
    } else {
      const r = compareTensor(x, y as Tensor, `${label} ${k}`);
      t.true(r.ok, r.detail);
    }
  }
}

test('every hidden_act: native equals the reference engine (FFN and the sequence-classification head)', async (t) => {
  for (const act of Object.keys(ACTIVATION_CODES)) {
    await compareEngines(
      t,
      ConvBertForSequenceClassification as unknown as AnyClass,
      { ...base, hidden_act: act, num_labels: 3 },
      { input_ids: ids, attention_mask: mask, token_type_ids: types, labels: [2, 0] },
      act,
    );
  }
});

test('geometry variants: head_ratio 3, kernel 1 and 7, grouped FFN, untied MLM head, 3-D mask, head_mask', async (t) => {
  const variants: Array<[string, AnyClass, Record<string, unknown>, Record<string, unknown>]> = [
    ['ratio3', ConvBertModel as unknown as AnyClass, { ...base, num_attention_heads: 6, head_ratio: 3, hidden_size: 24 }, { input_ids: ids, attention_mask: mask }],
    [
      'k1',
      ConvBertForTokenClassification as unknown as AnyClass,
      { ...base, conv_kernel_size: 1, num_labels: 4 },
      {
        input_ids: ids,
        attention_mask: mask,
        labels: [
          [0, 1, 2, 3, 0, -100],
          [1, 1, 1, 1, -100, -100],
        ],
      },
    ],
    [
      'k7 groups2',
      ConvBertForMaskedLM as unknown as AnyClass,
      { ...base, conv_kernel_size: 7, num_groups: 2, tie_word_embeddings: false },
      {
        input_ids: ids,
        token_type_ids: types,
        labels: [
          [3, -100, 27, -100, 5, -100],
          [-100, 59, -100, -100, -100, -100],
        ],
      },
    ],
    [
      'groups4 silu',
      ConvBertForQuestionAnswering as unknown as AnyClass,
      { ...base, num_groups: 4, hidden_act: 'silu' },
      { input_ids: ids, attention_mask: mask, start_positions: [1, 9], end_positions: [3, 2] },
    ],
    [
      '3-D mask + head_mask',
      ConvBertModel as unknown as AnyClass,
      { ...base },
      {
        input_ids: ids,
        attention_mask: new Tensor(
          'float32',
          Float32Array.from({ length: 72 }, (_, i) => ((i * 7) % 5 === 0 ? 0 : 1)),
          [2, 6, 6],
        ),
        head_mask: [
          [1, 0.5],
          [0, 1],
        ],
      },
    ],
  ];
  for (const [label, cls, cfg, inputs] of variants) await compareEngines(t, cls, cfg, inputs, label);
});

test('multiple choice: every summary_type, with and without projection and activation', async (t) => {
  const mcIds = new Tensor('int64', [
    [
      [3, 9, 27, 41],
      [7, 59, 13, 1],
    ],
    [
      [2, 2, 5, 0],
      [8, 30, 31, 33],
    ],
  ]);
  const mcMask = new Tensor('int64', [
    [
      [1, 1, 1, 1],
      [1, 1, 1, 0],
    ],
    [
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ],
  ]);
  const summaries: Array<Record<string, unknown>> = [
    {},
    { summary_type: 'first', summary_use_proj: true, summary_activation: 'tanh', summary_proj_to_labels: false },
    { summary_type: 'mean', summary_use_proj: true, summary_activation: 'gelu' },
    { summary_type: 'cls_index', summary_use_proj: false },
    { summary_type: 'last', summary_use_proj: true, summary_proj_to_labels: true, num_labels: 24 },
  ];
  for (const s of summaries) {
    await compareEngines(t, ConvBertForMultipleChoice as unknown as AnyClass, { ...base, ...s }, { input_ids: mcIds, attention_mask: mcMask, labels: [1, 0] }, JSON.stringify(s));
  }
});
