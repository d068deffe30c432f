// Varlen (cu_seqlens) forwards: sequences packed end to end must give, token for
// token, what each sequence gives alone and unpadded, for the trunk and every
// head, on every CPU path; and the golden case9 (case1's row 1 without its pads)
// must come out of the packed batch. Tolerances: packed vs alone rtol 1e-5,
// atol 1e-6 (the same kernels on the same rows; only tiling can differ); packed
// vs golden the fixture README's 1e-4 + 1e-4|exp|.
import * as path from 'path';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import type { ForwardRequest } from '../../lib/engine_types';
import { assertClose } from '../helpers/assert_close';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { cpuPaths } from '../helpers/ops';
import { engineClass, type FixtureCase, type FixtureModel, loadFixtureModel, readSafetensors } from './fixture_model';

interface Seq {
  ids: Int32Array;
  types: Int32Array;
}

/** case1's rows without their padding (attention_mask gives each length). */
function case1Sequences(dir: string): Seq[] {
  const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
  const c = cases.find((x) => x.name === 'case1')!;
  const t = readSafetensors(path.join(dir, 'expected.safetensors'));
  const ids = t.get(c.inputs.input_ids)!;
  const mask = t.get(c.inputs.attention_mask)!.data as BigInt64Array;
  const types = c.inputs.token_type_ids ? (t.get(c.inputs.token_type_ids)!.data as BigInt64Array) : null;
  const L = ids.shape[ids.shape.length - 1];
  const rows = ids.data.length / L;
  const out: Seq[] = [];
  for (let r = 0; r < rows; r++) {
    let len = 0;
    for (let l = 0; l < L; l++) if (mask[r * L + l] !== 0n) len = l + 1;
    const id = Int32Array.from((ids.data as BigInt64Array).subarray(r * L, r * L + len), Number);
    const ty = types ? Int32Array.from(types.subarray(r * L, r * L + len), Number) : new Int32Array(len);
    out.push({ ids: id, types: ty });
  }
  return out;
}

function perToken(kind: string): boolean {
  return kind === 'masked_lm' || kind === 'token_classification' || kind === 'question_answering';
}

function makeReq(m: FixtureModel, seqs: Seq[], packed: boolean, hidden: boolean): ForwardRequest {
  const B = seqs.length;
  const T = seqs.reduce((s, q) => s + q.ids.length, 0);
  const L = Math.max(...seqs.map((q) => q.ids.length));
  const H = m.spec.hidden_size;
  const n = m.spec.head.num_outputs;
  const kind = m.spec.head.kind;
  const cu = new Int32Array(B + 1);
  seqs.forEach((q, i) => (cu[i + 1] = cu[i] + q.ids.length));
  const ids = new Int32Array(T);
  const types = new Int32Array(T);
  seqs.forEach((q, i) => {
    ids.set(q.ids, cu[i]);
    types.set(q.types, cu[i]);
  });
  if (!packed && B !== 1) throw new Error('unpacked requests are one sequence');
  return {
    B,
    L,
    input_ids: ids,
    inputs_embeds: null,
    token_type_ids: types,
    position_ids: null,
    attention_mask: null,
    attention_mask_rank: 0,
    head_mask: null,
    cls_index: null,
    cu_seqlens: packed ? cu : null,
    outputs: {
      last_hidden_state: new Float32Array(T * H),
      logits: kind === 'none' ? null : new Float32Array((perToken(kind) ? T : B) * n),
      hidden_states: hidden ? Array.from({ length: m.layers + 1 }, () => new Float32Array(T * H)) : null,
      attentions: null,
    },
  };
}

const FOLDERS = [
  'tiny-a/ConvBertModel',
  'proj-groups-b/ConvBertModel',
  'ratio1-c/ConvBertModel',
  'clamp-d/ConvBertModel',
  'odd-heads-e/ConvBertModel',
  'tiny-a/ConvBertForMaskedLM',
  'tiny-a/ConvBertForSequenceClassification',
  'proj-groups-b/ConvBertForMultipleChoice',
  'mc-summary-f/ConvBertForMultipleChoice',
  'proj-groups-b/ConvBertForTokenClassification',
  'odd-heads-e/ConvBertForQuestionAnswering',
];

for (const folder of FOLDERS) {
  test(`${folder}: a packed batch equals each sequence run alone, on every path`, (t) => {
    const dir = fixturesDir('convbert', folder);
    const m = loadFixtureModel(dir);
    const seqs = case1Sequences(dir);
    const kind = m.spec.head.kind;
    const H = m.spec.hidden_size;
    const n = m.spec.head.num_outputs;
    for (const isa of cpuPaths()) {
      const engine = new (engineClass())(m.spec, { isa });
      const packed = makeReq(m, seqs, true, true);
      engine.forwardSync(packed);
      let start = 0;
      seqs.forEach((q, b) => {
        const alone = makeReq(m, [q], false, true);
        engine.forwardSync(alone);
        const len = q.ids.length;
        const tol = { rtol: 1e-5, atol: 1e-6 };
        const tag = `${folder} ${isa} sequence ${b} (length ${len})`;
        assertClose(t, packed.outputs.last_hidden_state.subarray(start * H, (start + len) * H), alone.outputs.last_hidden_state, { ...tol, label: `${tag} last_hidden_state` });
        packed.outputs.hidden_states!.forEach((hs, i) =>
          assertClose(t, hs.subarray(start * H, (start + len) * H), alone.outputs.hidden_states![i], { ...tol, label: `${tag} hidden_states.${i}` }),
        );
        if (kind !== 'none') {
          const got = perToken(kind) ? packed.outputs.logits!.subarray(start * n, (start + len) * n) : packed.outputs.logits!.subarray(b * n, (b + 1) * n);
          assertClose(t, got, alone.outputs.logits!, { ...tol, label: `${tag} logits` });
        }
        start += len;
      });
      engine.dispose();
    }
  });
}

test('the packed batch reproduces the golden case9 (case1 row 1 without its pads) on every path', (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
  const m = loadFixtureModel(dir);
  const seqs = case1Sequences(dir);
  const golden = readSafetensors(path.join(dir, 'expected.safetensors')).get('case9.last_hidden_state')!.data as Float32Array;
  const H = m.spec.hidden_size;
  for (const isa of cpuPaths()) {
    const engine = new (engineClass())(m.spec, { isa });
    const req = makeReq(m, seqs, true, false);
    engine.forwardSync(req);
    const start = seqs[0].ids.length;
    t.is(golden.length, seqs[1].ids.length * H);
    assertClose(t, req.outputs.last_hidden_state.subarray(start * H, start * H + golden.length), golden, { rtol: 1e-4, atol: 1e-4, label: `case9 ${isa}` });
    engine.dispose();
  }
});

test('bad cu_seqlens, or a mask / attentions with cu_seqlens, are typed errors', async (t) => {
  const m = loadFixtureModel(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'));
  const engine = new (engineClass())(m.spec);
  const seqs: Seq[] = [
    { ids: Int32Array.from([1, 2, 3]), types: new Int32Array(3) },
    { ids: Int32Array.from([4]), types: new Int32Array(1) },
  ];
  const bad = makeReq(m, seqs, true, false);
  bad.cu_seqlens = Int32Array.from([0, 3, 3]);
  t.is(((await t.throwsAsync(engine.forward(bad))) as ConvBertError).code, 'ERR_CONVBERT_SHAPE');
  const masked = makeReq(m, seqs, true, false);
  masked.attention_mask = new Float32Array(2 * 3).fill(1);
  masked.attention_mask_rank = 2;
  const err = await t.throwsAsync(engine.forward(masked));
  t.true(err instanceof ConvBertError);
  t.regex(err!.message, /cu_seqlens/);
  const ok = makeReq(m, seqs, true, false);
  await engine.forward(ok);
  t.false(ok.outputs.last_hidden_state.some(Number.isNaN));
  engine.dispose();
});
