// The opt-in int8 CPU engine (Engine(spec, { dtype: 'int8' }) and
// fromPretrained(dir, { dtype: 'int8' })) against the fp32 engine on every public
// fixture case (every architecture, padded batches included), on every CPU path
// (avx512 runs the AVX512_VNNI kernel when the CPU has it, avx2 the int16 one,
// generic the scalar reference: all compute the same integers).
// Bounds, the same for every folder and case (derived, then checked against the
// measurements logged below):
//  - hidden states (every layer's output and last_hidden_state): cosine with fp32
//    >= 0.99 for EVERY token row. Each linear layer quantises its input row to 255
//    levels of its range and each weight row to 127 levels of its max, about 0.5%
//    relative rms error per layer; a dozen layers compound that to a few percent,
//    and cos = 1 - rel_rms^2 / 2, so 0.99 allows a 14% rms error (measured worst row
//    0.9966 on odd-heads-e, whose init std 0.3 makes the softmax sharp). A wrong
//    scale, zero point, column or group gives cos far below 0.9.
//  - head outputs: max abs error over a folder's cases <= 0.25 * the largest |fp32|
//    of that output over those cases (its scale; a single case can have tiny logits,
//    odd-heads-e case2's start logits peak at 0.14). Measured worst 11%, odd-heads-e
//    end_logits: large random weights amplify, as for bf16.
//  - tiny-a (init std 0.02, the scale of real checkpoints): every row's cosine
//    >= 0.9999 (measured >= 0.99999); MLM logits off by <= 2% of each row's logit
//    range (measured 1.1%), and top-1 agrees with fp32 wherever fp32's own top-2 gap
//    is above 1% of that range. This random model's logits are nearly flat (range
//    ~0.5, top-2 gaps often ~1e-3), so near-ties may flip: measured 143/146 agree,
//    the 3 flips had gaps of 0.02-0.3% of the range.
//  - a floor: int8 differs from fp32 somewhere (> 1e-5), so the int8 path ran.
// forwardPacked: int8 activations are quantised per token row, so a row's result
// does not depend on what it is batched with: packed rows equal each row alone at
// the fp32 packed test's 1e-5 + 1e-5|x|.
import * as path from 'path';

import test from 'ava';

import {
  ConvBertForMaskedLM,
  ConvBertForMultipleChoice,
  ConvBertForQuestionAnswering,
  ConvBertForSequenceClassification,
  ConvBertForTokenClassification,
  ConvBertModel,
} from '../../lib/models';
import { Tensor } from '../../lib/tensor';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { cpuPaths } from '../helpers/ops';
import { buildRequest, engineClass, type FixtureCase, loadFixtureModel, producedOutputs, readSafetensors } from './fixture_model';

const MIN_ROW_COS = 0.99;
const MIN_ROW_COS_REAL_SCALE = 0.9999;
const MAX_HEAD_REL = 0.25;
const MIN_DIFF = 1e-5;
const root = fixturesDir('convbert');
const index = readJson<{ path: string; architecture: string }[]>(path.join(root, 'index.json'));

interface Int8Engine {
  readonly isa: string;
  readonly dtype: string;
  readonly gemmKernel: string;
  forwardSync(req: unknown): void;
  dispose(): void;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Smallest cosine between matching rows of width W (rows that are zero in both count as equal). */
function minRowCosine(a: Float32Array, b: Float32Array, W: number): number {
  let worst = 1;
  for (let r = 0; r < a.length / W; r++) {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = r * W; i < (r + 1) * W; i++) {
      d += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    if (na === 0 && nb === 0) continue;
    worst = Math.min(worst, d / Math.sqrt(na * nb));
  }
  return worst;
}

test('fixture folders: every architecture has a folder to check', (t) => {
  t.true(index.length >= 6);
});

for (const entry of index) {
  for (const isa of cpuPaths()) {
    test(`${entry.path} on ${isa}: int8 outputs close to float32 on every case`, (t) => {
      const dir = path.join(root, entry.path);
      const initRange = readJson<{ initializer_range?: number }>(path.join(dir, 'config.json')).initializer_range ?? 0.02;
      const minCos = initRange <= 0.02 ? MIN_ROW_COS_REAL_SCALE : MIN_ROW_COS;
      const m = loadFixtureModel(dir);
      const Engine = engineClass() as unknown as new (spec: unknown, o: unknown) => Int8Engine;
      const f32 = new Engine(m.spec, { isa });
      const q = new Engine(m.spec, { isa, dtype: 'int8' });
      t.teardown(() => {
        f32.dispose();
        q.dispose();
      });
      t.is(q.dtype, 'int8');
      t.is(q.isa, isa);
      t.true(q.gemmKernel === isa || (isa === 'avx512' && (q.gemmKernel === 'avx512_vnni' || q.gemmKernel === 'avx2')), q.gemmKernel);
      const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
      const tensors = readSafetensors(path.join(dir, 'expected.safetensors'));
      const H = m.spec.hidden_size;
      let worstCos = 1;
      let diff = 0;
      // Head outputs: per name, the largest error and the largest |fp32| over all cases.
      const heads = new Map<string, { err: number; mag: number }>();
      for (const c of cases) {
        const a = buildRequest(m, c, tensors);
        const b = buildRequest(m, c, tensors);
        f32.forwardSync(a.req);
        q.forwardSync(b.req);
        const ga = producedOutputs(a.req, m.spec.head.kind, a.L);
        const gb = producedOutputs(b.req, m.spec.head.kind, b.L);
        for (const [name, va] of ga) {
          if (name.startsWith('attentions')) continue; // probabilities: checked through the states they produce
          const vb = gb.get(name)!;
          diff = Math.max(diff, maxAbs(va, vb));
          if (name === 'last_hidden_state' || name.startsWith('hidden_states')) {
            const cos = minRowCosine(va, vb, H);
            worstCos = Math.min(worstCos, cos);
            t.true(cos >= minCos, `${entry.path} ${c.name} ${name} (${isa}): a row has cosine ${cos} < ${minCos}`);
          } else {
            const h = heads.get(name) ?? { err: 0, mag: 0 };
            h.err = Math.max(h.err, maxAbs(va, vb));
            for (const v of va) h.mag = Math.max(h.mag, Math.abs(v));
            heads.set(name, h);
          }
        }
      }
      let worstHead = 0;
      for (const [name, h] of heads) {
        worstHead = Math.max(worstHead, h.err / h.mag);
        t.true(h.err <= MAX_HEAD_REL * h.mag, `${entry.path} ${name} (${isa}): max abs ${h.err} > ${MAX_HEAD_REL} x max |fp32| ${h.mag}`);
      }
      t.true(diff > MIN_DIFF, `${entry.path} (${isa}): int8 equals fp32 (max abs ${diff}): the int8 path did not run`);
      t.log(`${entry.path} ${isa} (${q.gemmKernel}): worst row cosine ${worstCos.toFixed(6)}, worst head max abs / max|fp32| ${worstHead.toExponential(2)}`);
    });
  }
}

test("tiny-a MaskedLM: int8 logits within 2% of each row's range, top-1 as fp32 except near-ties", (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  const m = loadFixtureModel(dir);
  const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
  const tensors = readSafetensors(path.join(dir, 'expected.safetensors'));
  const Engine = engineClass() as unknown as new (spec: unknown, o?: unknown) => Int8Engine;
  const e32 = new Engine(m.spec);
  const e8 = new Engine(m.spec, { dtype: 'int8' });
  t.teardown(() => {
    e32.dispose();
    e8.dispose();
  });
  const V = m.spec.head.num_outputs;
  let agree = 0;
  let total = 0;
  let worstErr = 0;
  for (const c of cases) {
    const a = buildRequest(m, c, tensors);
    const b = buildRequest(m, c, tensors);
    e32.forwardSync(a.req);
    e8.forwardSync(b.req);
    const la = a.req.outputs.logits!;
    const lb = b.req.outputs.logits!;
    const mask = a.req.attention_mask;
    for (let r = 0; r < la.length / V; r++) {
      if (mask && a.req.attention_mask_rank === 2 && mask[r] === 0) continue;
      let ia = 0;
      let ib = 0;
      let lo = Infinity;
      let hi = -Infinity;
      let err = 0;
      for (let v = 0; v < V; v++) {
        const x = la[r * V + v];
        if (x > la[r * V + ia]) ia = v;
        if (lb[r * V + v] > lb[r * V + ib]) ib = v;
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
        err = Math.max(err, Math.abs(x - lb[r * V + v]));
      }
      const range = hi - lo;
      worstErr = Math.max(worstErr, err / range);
      t.true(err <= 0.02 * range, `${c.name} row ${r}: max logit error ${err} > 2% of the range ${range}`);
      let second = -Infinity;
      for (let v = 0; v < V; v++) if (v !== ia) second = Math.max(second, la[r * V + v]);
      const gap = la[r * V + ia] - second;
      total++;
      if (ia === ib) agree++;
      else t.true(gap <= 0.01 * range, `${c.name} row ${r}: top-1 flipped although fp32's top-2 gap ${gap} is ${(100 * gap) / range}% of the range`);
    }
  }
  t.true(total > 0);
  t.log(`top-1 agreement ${agree}/${total}; worst logit error ${(100 * worstErr).toFixed(2)}% of the row's range`);
});

const HEADS = [
  ConvBertModel,
  ConvBertForMaskedLM,
  ConvBertForSequenceClassification,
  ConvBertForTokenClassification,
  ConvBertForQuestionAnswering,
  ConvBertForMultipleChoice,
] as const;

test('fromPretrained dtype int8, every head class: reports int8 and gives the int8 engine outputs, close to float32', async (t) => {
  for (const cls of HEADS) {
    const dir = fixturesDir('convbert', 'tiny-a', cls.name);
    const f32 = await (cls as typeof ConvBertModel).fromPretrained(dir);
    const q = await (cls as typeof ConvBertModel).fromPretrained(dir, { dtype: 'int8' });
    t.is(f32.dtype, 'float32');
    t.is(q.dtype, 'int8');
    const mc = cls === ConvBertForMultipleChoice;
    const ids = Int32Array.from({ length: mc ? 2 * 2 * 9 : 2 * 9 }, (_, i) => 5 + ((i * 37) % 90));
    const mask = new Int32Array(ids.length).fill(1);
    mask.fill(0, ids.length - 3); // the last row padded: the padded path
    const dims = mc ? [2, 2, 9] : [2, 9];
    const inputs = { input_ids: new Tensor('int32', ids, dims), attention_mask: new Tensor('int32', mask, dims) };
    const a = (await f32.forward(inputs)) as unknown as Record<string, Tensor>;
    const b = (await q.forward(inputs)) as unknown as Record<string, Tensor>;
    for (const k of Object.keys(a)) {
      const va = a[k].data as Float32Array;
      const vb = b[k].data as Float32Array;
      let mag = 0;
      for (const v of va) mag = Math.max(mag, Math.abs(v));
      const e = maxAbs(va, vb);
      t.true(e > MIN_DIFF, `${cls.name} ${k}: int8 equals fp32 (the int8 engine did not run)`);
      t.true(e <= MAX_HEAD_REL * mag, `${cls.name} ${k}: max abs ${e} vs max |fp32| ${mag}`);
    }
    f32.dispose();
    q.dispose();
    t.is(q.dtype, 'int8');
  }
});

test('int8 forwardPacked: each row equals that row alone (per-row quantisation does not depend on the batch)', async (t) => {
  const rows = [
    { input_ids: Int32Array.from([5, 17, 9, 40, 3, 2, 8]), token_type_ids: Int32Array.from([0, 0, 0, 1, 1, 1, 1]) },
    { input_ids: Int32Array.from([12]) },
    { input_ids: Int32Array.from([7, 7, 30, 61]), token_type_ids: Int32Array.from([0, 1, 1, 1]) },
  ];
  for (const cls of [ConvBertModel, ConvBertForMaskedLM, ConvBertForSequenceClassification, ConvBertForTokenClassification, ConvBertForQuestionAnswering] as const) {
    const m = await (cls as typeof ConvBertModel).fromPretrained(fixturesDir('convbert', 'proj-groups-b', cls.name), { dtype: 'int8' });
    const packed = await m.forwardPacked(rows);
    for (let b = 0; b < rows.length; b++) {
      const r = rows[b];
      const L = r.input_ids.length;
      const alone = (await m.forward({
        input_ids: new Tensor('int32', r.input_ids, [1, L]),
        ...(r.token_type_ids ? { token_type_ids: new Tensor('int32', r.token_type_ids, [1, L]) } : {}),
      })) as unknown as Record<string, Tensor>;
      for (const k of Object.keys(packed[b])) {
        const g = packed[b][k].data as Float32Array;
        const w = alone[k].data as Float32Array;
        let bad = -1;
        for (let i = 0; i < w.length; i++) if (!(Math.abs(g[i] - w[i]) <= 1e-5 + 1e-5 * Math.abs(w[i]))) bad = i;
        t.is(bad, -1, `${cls.name} row ${b} ${k}: element ${bad} got ${g[bad]} want ${w[bad]}`);
      }
    }
    m.dispose();
  }
});
