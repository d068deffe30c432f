// Attention masks give one answer per input on every CPU path. NaN and ±Inf in
// attention_mask, head_mask and inputs_embeds are typed errors naming the first
// bad position (in TS and, for callers of the raw Engine, in the binding). Every
// finite mask follows HF's formula, bias = (1 - m) * finfo(float32).min in
// float32, including its overflow: m = 2 gives bias FLT_MAX (those keys take all
// the weight, shared evenly), m = 3 or 1e30 overflows to +Inf and m = -1 to -Inf,
// where torch's softmax gives NaN for a row holding +Inf or only -Inf and weight
// exactly 0 to a -Inf key elsewhere. Each path is compared with the generic one:
// NaN in the same places, and elsewhere within 1e-4 + 1e-4 |x| (the engine
// tests' float32 tolerance: the paths' gemms sum in different orders).
import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { ConvBertModel } from '../../lib/models';
import type { ForwardRequest } from '../../lib/engine_types';
import { Tensor } from '../../lib/tensor';
import { fixturesDir } from '../helpers/fixtures';
import { cpuPaths } from '../helpers/ops';
import { engineClass, loadFixtureModel } from './fixture_model';

const tinyDir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
const m = loadFixtureModel(tinyDir);
const { hidden_size: H, num_hidden_layers: NL, sa_heads: S } = m.spec;
const L = 4;

// One batch row per case; the comment says what torch gives for it.
const MASK2 = [
  [1, 1, 1, 0], //      ordinary: bias 0 or finfo.min
  [1, 3, 1, 1], //      (1 - 3) * min = +Inf: every row NaN
  [1, 1, -1, 1], //     (1 + 1) * min = -Inf: key 2 weighs exactly 0
  [2, 1, 1, 2], //      -1 * min = FLT_MAX on keys 0 and 3: 1/2 each, 0 elsewhere
  [-1, -1, -1, -1], //  only -Inf: NaN
  [1e30, 1, 1, 1], //   +Inf: NaN
  [0.5, 1, 1, 0], //    ordinary finite fractions
];
const NAN_ROWS = new Set([1, 4, 5]);

function request(mask: Float32Array, rank: 2 | 3, B: number): ForwardRequest {
  return {
    B,
    L,
    input_ids: Int32Array.from({ length: B * L }, (_, i) => (i * 13 + 5) % m.spec.vocab_size),
    inputs_embeds: null,
    token_type_ids: null,
    position_ids: null,
    attention_mask: mask,
    attention_mask_rank: rank,
    head_mask: null,
    cls_index: null,
    outputs: {
      last_hidden_state: new Float32Array(B * L * H),
      logits: null,
      hidden_states: null,
      attentions: Array.from({ length: NL }, () => new Float32Array(B * S * L * L)),
    },
  };
}

function sameAnswer(got: Float32Array, want: Float32Array): string | null {
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) !== Number.isNaN(g)) return `element ${i}: got ${g}, generic path gave ${w}`;
    if (!Number.isNaN(w) && !(Math.abs(g - w) <= 1e-4 + 1e-4 * Math.abs(w))) return `element ${i}: got ${g}, generic path gave ${w}`;
  }
  return null;
}

function runAll(mask: Float32Array, rank: 2 | 3, B: number): Map<string, ForwardRequest> {
  const Engine = engineClass();
  const out = new Map<string, ForwardRequest>();
  for (const isa of cpuPaths()) {
    const engine = new Engine(m.spec, { isa });
    const req = request(mask, rank, B);
    engine.forwardSync(req);
    engine.dispose();
    out.set(isa, req);
  }
  return out;
}

test("finite 2-D masks, overflowing ones included, give torch's answer on every CPU path", (t) => {
  const B = MASK2.length;
  const runs = runAll(Float32Array.from(MASK2.flat()), 2, B);
  const ref = runs.get('generic')!;
  for (const [isa, r] of runs) {
    t.is(sameAnswer(r.outputs.last_hidden_state, ref.outputs.last_hidden_state), null, `${isa}: last_hidden_state`);
    for (let l = 0; l < NL; l++) t.is(sameAnswer(r.outputs.attentions![l], ref.outputs.attentions![l]), null, `${isa}: attentions[${l}]`);
    // torch's answer, row by row, on this path.
    const p = r.outputs.attentions![0];
    const hs = r.outputs.last_hidden_state;
    for (let b = 0; b < B; b++) {
      const rowNaN = hs.subarray(b * L * H, (b + 1) * L * H).every(Number.isNaN);
      t.is(rowNaN, NAN_ROWS.has(b), `${isa}: batch row ${b} is ${rowNaN ? '' : 'not '}all NaN`);
      for (let h = 0; h < S; h++) {
        for (let i = 0; i < L; i++) {
          const probs = Array.from(p.subarray(((b * S + h) * L + i) * L, ((b * S + h) * L + i + 1) * L));
          if (NAN_ROWS.has(b)) t.true(probs.every(Number.isNaN), `${isa}: row ${b} probabilities ${probs}`);
          if (b === 2) t.is(probs[2], 0, `${isa}: a -Inf bias weighs exactly 0`);
          if (b === 3) t.deepEqual(probs, [0.5, 0, 0, 0.5], `${isa}: FLT_MAX biases share the weight`);
        }
      }
    }
  }
});

test('finite 3-D masks with overflowing values give the same answer on every CPU path', (t) => {
  const B = 2;
  // Row i of batch 0 holds one overflowing value per query; batch 1 is ordinary.
  const vals = [3, -1, 2, 1e30];
  const mask = new Float32Array(B * L * L).fill(1);
  for (let i = 0; i < L; i++) mask[i * L + ((i + 1) % L)] = vals[i];
  mask[L * L + 3] = 0;
  const runs = runAll(mask, 3, B);
  const ref = runs.get('generic')!;
  const p = ref.outputs.attentions![0];
  // Queries 0 and 3 see +Inf: NaN; query 1 sees -Inf at key 2: weight 0; query 2 puts all weight on key 3.
  t.true(Number.isNaN(p[0 * L]) && Number.isNaN(p[3 * L]));
  t.is(p[1 * L + 2], 0);
  t.deepEqual(Array.from(p.subarray(2 * L, 3 * L)), [0, 0, 0, 1]);
  for (const [isa, r] of runs) {
    t.is(sameAnswer(r.outputs.last_hidden_state, ref.outputs.last_hidden_state), null, `${isa}: last_hidden_state`);
    for (let l = 0; l < NL; l++) t.is(sameAnswer(r.outputs.attentions![l], ref.outputs.attentions![l]), null, `${isa}: attentions[${l}]`);
  }
});

test('Engine: NaN or ±Inf in attention_mask, head_mask or inputs_embeds is ERR_CONVBERT_ARG naming the first bad position', async (t) => {
  const Engine = engineClass();
  const engine = new Engine(m.spec);
  t.teardown(() => engine.dispose());
  const cases: Array<[string, (r: ForwardRequest) => void, RegExp]> = [
    ['NaN mask', (r) => (r.attention_mask![6] = NaN), /^attention_mask: expected finite values, got NaN at \[1, 2\]$/],
    [
      'Inf 3-D mask',
      (r) => {
        r.attention_mask = new Float32Array(2 * L * L).fill(1);
        r.attention_mask_rank = 3;
        r.attention_mask[L * L + 2 * L + 1] = Infinity;
      },
      /^attention_mask: expected finite values, got Infinity at \[1, 2, 1\]$/,
    ],
    [
      '-Inf head_mask',
      (r) => {
        r.head_mask = new Float32Array(NL * S).fill(1);
        r.head_mask[NL * S - 1] = -Infinity;
      },
      new RegExp(`^head_mask: expected finite values, got -Infinity at \\[${NL - 1}, ${S - 1}\\]$`),
    ],
    [
      'NaN embeds',
      (r) => {
        r.input_ids = null;
        r.inputs_embeds = new Float32Array(2 * L * m.spec.embedding_size);
        r.inputs_embeds[m.spec.embedding_size + 5] = NaN;
      },
      /^inputs_embeds: expected finite values, got NaN at \[0, 1, 5\]$/,
    ],
  ];
  for (const [label, edit, message] of cases) {
    const a = request(Float32Array.from([1, 1, 1, 1, 1, 1, 1, 0]), 2, 2);
    edit(a);
    const err = await t.throwsAsync(engine.forward(a), { instanceOf: ConvBertError, message }, label);
    t.is((err as ConvBertError).code, 'ERR_CONVBERT_ARG', label);
    t.throws(() => engine.forwardSync(a), { instanceOf: ConvBertError, message }, `${label} (sync)`);
  }
});

test('ConvBertModel.forward: NaN or ±Inf in a mask is ERR_CONVBERT_ARG naming the input and position as the caller shaped it', async (t) => {
  const model = await ConvBertModel.fromPretrained(tinyDir);
  t.teardown(() => model.dispose());
  const ids = [
    [5, 6, 7, 8],
    [9, 10, 11, 12],
  ];
  await t.throwsAsync(
    model.forward({
      input_ids: ids,
      attention_mask: [
        [1, 1, 1, 1],
        [1, NaN, 1, 1],
      ],
    }),
    {
      instanceOf: ConvBertError,
      code: 'ERR_CONVBERT_ARG',
      message: /^attention_mask: expected finite values, got NaN at \[1, 1\]$/,
    },
  );
  const m16 = new Tensor('float16', new Uint16Array(8).fill(0x3c00), [2, 4]);
  m16.data[3] = 0x7c00; // float16 +Inf
  await t.throwsAsync(model.forward({ input_ids: ids, attention_mask: m16 }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: /^attention_mask: expected finite values, got Infinity at \[0, 3\]$/,
  });
  // A head_mask of one row per head is broadcast over layers; the position is the caller's.
  t.throws(() => model.forwardSync({ input_ids: ids, head_mask: Array.from({ length: S }, (_, h) => (h === 1 ? -Infinity : 1)) }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: /^head_mask: expected finite values, got -Infinity at \[1\]$/,
  });
  // Large finite values are legal and run as HF's formula says (this row is NaN, as in torch).
  const out = await model.forward({
    input_ids: ids,
    attention_mask: [
      [1, 1, 1, 1],
      [1, 1e30, 1, 1],
    ],
  });
  t.false(out.last_hidden_state.data.subarray(0, L * H).some(Number.isNaN));
  t.true(out.last_hidden_state.data.subarray(L * H).every(Number.isNaN));
});
