// Bad input is a typed error naming the argument, what was expected and what
// was found, thrown in TS before any native call (NaN or Inf in inputs_embeds
// too); odd but legal input (nested arrays, int32 ids, float masks, broadcast
// position_ids) runs. Exact-equality checks compare two runs of the same engine on the same
// values, so they must agree bit for bit.
import test from 'ava';

import { Tensor } from '../../lib/tensor';
import { ConvBertForMaskedLM, ConvBertForMultipleChoice, ConvBertForQuestionAnswering, ConvBertForSequenceClassification, ConvBertModel } from '../../lib/models';
import { fixturesDir } from '../helpers/fixtures';

const dir = (arch: string): string => fixturesDir('convbert', 'tiny-a', arch);
// tiny-a: vocab 99, type_vocab 2, max_position 128, 2 layers, 2 attention heads, embedding 32.
const ids = new Tensor('int64', [
  [5, 7, 9, 11, 3],
  [2, 4, 6, 8, 1],
]);

function err(code: string, message?: RegExp): { code: string; message?: RegExp } {
  return message ? { code, message } : { code };
}

test('trunk inputs: dims, dtypes, ranges, lengths, empty batches and unknown names are typed errors naming the argument', async (t) => {
  const m = await ConvBertModel.fromPretrained(dir('ConvBertModel'));
  t.teardown(() => m.dispose());
  const cases: Array<[string, Record<string, unknown>, { code: string; message?: RegExp }]> = [
    [
      'mask dims',
      { input_ids: ids, attention_mask: new Tensor('int64', new BigInt64Array(8), [2, 4]) },
      err('ERR_CONVBERT_SHAPE', /^attention_mask: expected dims \[2, 5\] like input_ids, got \[2, 4\]/),
    ],
    [
      'id too big',
      {
        input_ids: new Tensor('int64', [
          [5, 7, 9],
          [2, 99, 6],
        ]),
      },
      err('ERR_CONVBERT_ARG', /input_ids: value 99 at \[1, 1\] is out of range \[0, 99\) \(vocab_size/),
    ],
    ['negative id', { input_ids: new Tensor('int32', new Int32Array([1, -1]), [1, 2]) }, err('ERR_CONVBERT_ARG', /input_ids: value -1 at \[0, 1\]/)],
    ['huge int64 id', { input_ids: new Tensor('int64', new BigInt64Array([1n, 1n << 40n]), [1, 2]) }, err('ERR_CONVBERT_ARG', /input_ids: value 1099511627776 at \[0, 1\]/)],
    [
      'type id',
      {
        input_ids: ids,
        token_type_ids: new Tensor('int64', [
          [0, 0, 0, 0, 0],
          [0, 1, 2, 0, 0],
        ]),
      },
      err('ERR_CONVBERT_ARG', /token_type_ids: value 2 at \[1, 2\] is out of range \[0, 2\) \(type_vocab_size/),
    ],
    [
      'type dims',
      { input_ids: ids, token_type_ids: new Tensor('int64', [[0, 0, 0, 0, 0]]) },
      err('ERR_CONVBERT_SHAPE', /^token_type_ids: expected dims \[2, 5\] like input_ids, got \[1, 5\]/),
    ],
    [
      'position id',
      {
        input_ids: ids,
        position_ids: new Tensor('int64', [
          [0, 1, 2, 3, 128],
          [0, 1, 2, 3, 4],
        ]),
      },
      err('ERR_CONVBERT_ARG', /position_ids: value 128 at \[0, 4\].*max_position_embeddings/),
    ],
    ['position dims', { input_ids: ids, position_ids: new Tensor('int64', [[0, 1, 2, 3]]) }, err('ERR_CONVBERT_SHAPE', /^position_ids: expected dims \[2, 5\]/)],
    [
      'too long',
      { input_ids: new Tensor('int64', new BigInt64Array(129), [1, 129]) },
      err('ERR_CONVBERT_SHAPE', /input_ids: sequence length 129 exceeds max_position_embeddings 128/),
    ],
    ['float ids', { input_ids: new Tensor('float32', new Float32Array(4), [2, 2]) }, err('ERR_CONVBERT_DTYPE', /^input_ids: expected dtype int64 or int32, got float32/)],
    ['int8 ids', { input_ids: new Tensor('int8', new Int8Array(4), [2, 2]) }, err('ERR_CONVBERT_DTYPE', /^input_ids: /)],
    ['1-D ids', { input_ids: new Tensor('int64', [1, 2, 3]) }, err('ERR_CONVBERT_SHAPE', /^input_ids: expected 2 dims \[batch, seq_len\], got \[3\]/)],
    ['empty batch', { input_ids: new Tensor('int64', new BigInt64Array(0), [0, 5]) }, err('ERR_CONVBERT_SHAPE', /^input_ids: empty input \(dims \[0, 5\]\)/)],
    ['empty seq', { input_ids: [[]] }, err('ERR_CONVBERT_SHAPE', /^input_ids: empty input/)],
    [
      'ragged',
      {
        input_ids: [
          [1, 2, 3],
          [4, 5],
        ],
      },
      err('ERR_CONVBERT_SHAPE', /^input_ids: /),
    ],
    ['fractional nested', { input_ids: [[1, 2.5]] }, err('ERR_CONVBERT_DTYPE', /^input_ids: /)],
    ['both', { input_ids: ids, inputs_embeds: new Tensor('float32', new Float32Array(2 * 5 * 32), [2, 5, 32]) }, err('ERR_CONVBERT_ARG', /give one of them, not both/)],
    ['neither', { attention_mask: [[1, 1]] }, err('ERR_CONVBERT_ARG', /^input_ids: required/)],
    [
      'embeds width',
      { inputs_embeds: new Tensor('float32', new Float32Array(2 * 5 * 31), [2, 5, 31]) },
      err('ERR_CONVBERT_SHAPE', /^inputs_embeds: expected 3 dims .*32.*got \[2, 5, 31\]/),
    ],
    ['embeds dtype', { inputs_embeds: new Tensor('int32', new Int32Array(2 * 5 * 32), [2, 5, 32]) }, err('ERR_CONVBERT_DTYPE', /^inputs_embeds: /)],
    [
      'head_mask dims',
      { input_ids: ids, head_mask: new Tensor('float32', new Float32Array(3), [3]) },
      err('ERR_CONVBERT_SHAPE', /^head_mask: expected dims \[2\] .* or \[2, 2\] .*got \[3\]/),
    ],
    [
      'mask 4-D',
      { input_ids: ids, attention_mask: new Tensor('float32', new Float32Array(50), [2, 1, 5, 5]) },
      err('ERR_CONVBERT_SHAPE', /^attention_mask: expected dims \[2, 5\] like input_ids, got \[2, 1, 5, 5\] \(a 3-D mask is \[2, 5, 5\]\)/),
    ],
    ['unknown input', { input_ids: ids, input_idz: ids }, err('ERR_CONVBERT_ARG', /unknown input 'input_idz'/)],
    ['labels on the bare model', { input_ids: ids, labels: [1, 2] }, err('ERR_CONVBERT_ARG', /unknown input 'labels'/)],
    ['not a tensor', { input_ids: 'hello' }, err('ERR_CONVBERT_ARG', /^input_ids: expected a Tensor or nested arrays/)],
  ];
  for (const [what, inputs, e] of cases) {
    await t.throwsAsync(m.forward(inputs as never), e as never, what);
    t.throws(() => m.forwardSync(inputs as never), e as never, `${what} (sync)`);
  }
  await t.throwsAsync(m.forward({ input_ids: ids }, { output_attentions: 1 } as never), err('ERR_CONVBERT_ARG', /output_attentions: expected a boolean/) as never);
  await t.throwsAsync(m.forward({ input_ids: ids }, { return_dict: true } as never), err('ERR_CONVBERT_ARG', /unknown option 'return_dict'/) as never);
  await t.throwsAsync(m.forward(null as never), err('ERR_CONVBERT_ARG') as never);
});

test('labels of the wrong shape or range are typed errors, before any compute', async (t) => {
  const mlm = await ConvBertForMaskedLM.fromPretrained(dir('ConvBertForMaskedLM'));
  const seq = await ConvBertForSequenceClassification.fromPretrained(dir('ConvBertForSequenceClassification'));
  const qa = await ConvBertForQuestionAnswering.fromPretrained(dir('ConvBertForQuestionAnswering'));
  const mc = await ConvBertForMultipleChoice.fromPretrained(dir('ConvBertForMultipleChoice'));
  t.teardown(() => [mlm, seq, qa, mc].forEach((m) => m.dispose()));
  await t.throwsAsync(
    mlm.forward({ input_ids: ids, labels: new Tensor('int64', [[1, 2, 3, 4, 5]]) }),
    err('ERR_CONVBERT_SHAPE', /^labels: expected dims \[2, 5\], got \[1, 5\]/) as never,
  );
  await t.throwsAsync(
    mlm.forward({
      input_ids: ids,
      labels: [
        [1, 2, 3, 4, 5],
        [1, 2, 3, 4, 99],
      ],
    }),
    err('ERR_CONVBERT_ARG', /labels: target 9 = 99 is out of range \[0, 99\)/) as never,
  );
  await t.throwsAsync(mlm.forward({ input_ids: ids, labels: new Tensor('float32', new Float32Array(10), [2, 5]) }), err('ERR_CONVBERT_DTYPE', /^labels: /) as never);
  // tiny-a seq-cls: 3 labels, problem type inferred.
  await t.throwsAsync(
    seq.forward({ input_ids: ids, labels: new Tensor('int64', [0, 1, 2]) }),
    err('ERR_CONVBERT_SHAPE', /^labels: expected dims \[2\] for single_label_classification/) as never,
  );
  await t.throwsAsync(
    seq.forward({ input_ids: ids, labels: new Tensor('float32', new Float32Array(4), [2, 2]) }),
    err('ERR_CONVBERT_SHAPE', /^labels: expected dims \[2, 3\] for multi_label_classification/) as never,
  );
  await t.throwsAsync(seq.forward({ input_ids: ids, labels: [0, 3] }), err('ERR_CONVBERT_ARG', /labels: target 1 = 3 is out of range \[0, 3\)/) as never);
  await t.throwsAsync(qa.forward({ input_ids: ids, start_positions: [1, 2] }), err('ERR_CONVBERT_ARG', /^end_positions: required with start_positions/) as never);
  await t.throwsAsync(
    qa.forward({ input_ids: ids, start_positions: [1, 2, 3], end_positions: [1, 2, 3] }),
    err('ERR_CONVBERT_SHAPE', /^start_positions: expected dims \[2\] or \[2, 1\], got \[3\]/) as never,
  );
  await t.throwsAsync(mc.forward({ input_ids: ids }), err('ERR_CONVBERT_SHAPE', /^input_ids: expected 3 dims \[batch, num_choices, seq_len\], got \[2, 5\]/) as never);
  const mcIds = new Tensor('int64', [
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
  ]);
  await t.throwsAsync(mc.forward({ input_ids: mcIds, labels: [2] }), err('ERR_CONVBERT_ARG', /labels: target 0 = 2 is out of range \[0, 2\)/) as never);
  await t.throwsAsync(
    mc.forward({
      input_ids: mcIds,
      attention_mask: [
        [1, 1, 1],
        [1, 1, 0],
      ],
    }),
    err('ERR_CONVBERT_SHAPE', /^attention_mask: expected dims \[1, 2, 3\] like input_ids, got \[2, 3\]/) as never,
  );
});

test('legal variants run: nested arrays, int32 ids, bool/float masks, broadcast position_ids, 1-D head_mask all equal their canonical forms', async (t) => {
  const m = await ConvBertModel.fromPretrained(dir('ConvBertModel'));
  t.teardown(() => m.dispose());
  const mask = [
    [1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1],
  ];
  const canon = await m.forward({
    input_ids: ids,
    attention_mask: new Tensor('int64', mask),
    position_ids: new Tensor('int64', [
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
    ]),
    head_mask: new Tensor('float32', [
      [1, 0],
      [1, 0],
    ]),
  });
  const variants: Array<[string, Record<string, unknown>]> = [
    [
      'nested',
      {
        input_ids: [
          [5, 7, 9, 11, 3],
          [2, 4, 6, 8, 1],
        ],
        attention_mask: mask,
        position_ids: [
          [0, 1, 2, 3, 4],
          [0, 1, 2, 3, 4],
        ],
        head_mask: [
          [1, 0],
          [1, 0],
        ],
      },
    ],
    [
      'int32 + float mask + broadcast positions + 1-D head_mask',
      {
        input_ids: new Tensor('int32', new Int32Array([5, 7, 9, 11, 3, 2, 4, 6, 8, 1]), [2, 5]),
        attention_mask: new Tensor('float32', new Float32Array(mask.flat()), [2, 5]),
        position_ids: new Tensor('int64', [[0, 1, 2, 3, 4]]),
        head_mask: new Tensor('float32', [1, 0]),
      },
    ],
    [
      'bool mask + 1-D positions',
      {
        input_ids: ids,
        attention_mask: new Tensor(
          'bool',
          mask.map((r) => r.map((v) => v === 1)),
        ),
        position_ids: [0, 1, 2, 3, 4],
        head_mask: [1, 0],
      },
    ],
  ];
  for (const [what, inputs] of variants) {
    const out = await m.forward(inputs as never);
    t.deepEqual(Array.from(out.last_hidden_state.data), Array.from(canon.last_hidden_state.data), what);
  }
  const sync = m.forwardSync({ input_ids: ids, attention_mask: mask, head_mask: [1, 0] });
  t.deepEqual(Array.from(sync.last_hidden_state.data), Array.from(canon.last_hidden_state.data), 'forwardSync equals forward');
});

test('NaN and Inf in inputs_embeds are a typed error naming the first bad position', async (t) => {
  const m = await ConvBertModel.fromPretrained(dir('ConvBertModel'));
  t.teardown(() => m.dispose());
  const emb = new Float32Array(2 * 4 * 32).fill(0.1);
  emb[32 * 4 + 3] = Infinity;
  emb[40] = NaN;
  // torch would answer NaN; the kernel paths would not all agree on it (see lib/models/inputs.ts).
  await t.throwsAsync(m.forward({ inputs_embeds: new Tensor('float32', emb, [2, 4, 32]) }), {
    code: 'ERR_CONVBERT_ARG',
    message: /^inputs_embeds: expected finite values, got NaN at \[0, 1, 8\]/,
  });
});

test('multiple choice flattens (B, C, L): logits (B, C), hidden states and attentions with batch B*C', async (t) => {
  const mc = await ConvBertForMultipleChoice.fromPretrained(dir('ConvBertForMultipleChoice'));
  t.teardown(() => mc.dispose());
  const x = [
    [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
    ],
    [
      [13, 14, 15, 16],
      [17, 18, 19, 20],
      [21, 22, 23, 24],
    ],
  ];
  const out = await mc.forward({ input_ids: x, labels: [2, 0] }, { output_hidden_states: true, output_attentions: true });
  t.deepEqual(out.logits.dims, [2, 3]);
  t.deepEqual(
    out.hidden_states!.map((h) => h.dims),
    [
      [6, 4, 32],
      [6, 4, 32],
      [6, 4, 32],
    ],
  );
  t.deepEqual(
    out.attentions!.map((h) => h.dims),
    [
      [6, 2, 4, 4],
      [6, 2, 4, 4],
    ],
  );
  t.deepEqual(out.loss!.dims, []);
  // Each choice row scores as the same row alone would (rows are independent); 1e-5 allows a
  // kernel that blocks rows differently for another batch size to round differently.
  const alone = await mc.forward({ input_ids: [[x[1][2]]] });
  t.true(Math.abs((alone.logits.data[0] as number) - (out.logits.data[5] as number)) <= 1e-5);
});
