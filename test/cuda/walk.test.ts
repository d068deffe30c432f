// The one forward walk on CUDA: the CUDA engine runs the CPU engine's plan (engine.h
// walk_forward) on the CUDA op table, so every request feature must come out of it as
// the CPU engine gives it: varlen (cu_seqlens) for the trunk and every head, every
// multiple-choice summary (cls_index included), head_mask, attentions and hidden states.
// A repeated request shape replays its captured graph, so two packings with the same
// (B, L, T) but different sequence boundaries must each be right (the boundaries are
// staged data, not baked into the graph). Tolerance: rtol 1e-4, atol 1e-4 (float32, no
// TF32: the same ops, only the gemm summation order differs; the fixtures' own bound).
import type { ExecutionContext } from 'ava';

import type { EngineSpec, ForwardRequest, NativeEngine } from '../../lib/engine_types';
import { native } from '../../lib/native';
import { assertClose } from '../helpers/assert_close';
import { fixturesDir } from '../helpers/fixtures';
import { loadFixtureModel, type FixtureModel } from '../engine/fixture_model';
import { cudaOps, gpuTest } from './helpers';

const TOL = { rtol: 1e-4, atol: 1e-4 };
type Engine = NativeEngine & { device: string };
const Engine = () => native().Engine as unknown as new (spec: EngineSpec, opts?: object) => Engine;

const perToken = (kind: string) => kind === 'masked_lm' || kind === 'token_classification' || kind === 'question_answering';

interface ReqOpts {
  lens: number[];
  packed: boolean;
  hidden: boolean;
  attentions?: boolean;
  headMask?: boolean;
  clsIndex?: boolean;
}

// Deterministic ids and types; padded requests mask each row past its length.
function makeReq(m: FixtureModel, o: ReqOpts): ForwardRequest {
  const B = o.lens.length;
  const L = Math.max(...o.lens);
  const T = o.packed ? o.lens.reduce((a, b) => a + b, 0) : B * L;
  const H = m.spec.hidden_size;
  const n = m.spec.head.num_outputs;
  const kind = m.spec.head.kind;
  const ids = new Int32Array(T);
  const types = new Int32Array(T);
  const cu = new Int32Array(B + 1);
  const mask = new Float32Array(B * L);
  o.lens.forEach((len, b) => {
    cu[b + 1] = cu[b] + len;
    const start = o.packed ? cu[b] : b * L;
    for (let l = 0; l < len; l++) {
      ids[start + l] = (b * 31 + l * 7 + 3) % m.spec.vocab_size;
      types[start + l] = l >= len / 2 ? 1 % m.spec.type_vocab_size : 0;
      mask[b * L + l] = 1;
    }
  });
  const S = m.saHeads;
  return {
    B,
    L,
    input_ids: ids,
    inputs_embeds: null,
    token_type_ids: types,
    position_ids: null,
    attention_mask: o.packed ? null : mask,
    attention_mask_rank: o.packed ? 0 : 2,
    head_mask: o.headMask ? Float32Array.from({ length: m.layers * S }, (_, i) => [1, 0, 0.5][i % 3]) : null,
    cls_index: o.clsIndex ? Int32Array.from(o.lens, (len, b) => (b * 5 + 1) % len) : null,
    cu_seqlens: o.packed ? cu : null,
    outputs: {
      last_hidden_state: new Float32Array(T * H),
      logits: kind === 'none' ? null : new Float32Array((perToken(kind) ? T : B) * n),
      hidden_states: o.hidden ? Array.from({ length: m.layers + 1 }, () => new Float32Array(T * H)) : null,
      attentions: o.attentions ? Array.from({ length: m.layers }, () => new Float32Array(B * S * L * L)) : null,
    },
  };
}

async function compare(t: ExecutionContext, cpu: Engine, gpu: Engine, m: FixtureModel, o: ReqOpts, tag: string) {
  const want = makeReq(m, o);
  const got = makeReq(m, o);
  await cpu.forward(want);
  await gpu.forward(got);
  const w = want.outputs,
    g = got.outputs;
  assertClose(t, g.last_hidden_state, w.last_hidden_state, { ...TOL, label: `${tag} last_hidden_state` });
  if (w.logits) assertClose(t, g.logits!, w.logits, { ...TOL, label: `${tag} logits` });
  w.hidden_states?.forEach((hs, i) => assertClose(t, g.hidden_states![i], hs, { ...TOL, label: `${tag} hidden_states.${i}` }));
  w.attentions?.forEach((a, i) => assertClose(t, g.attentions![i], a, { ...TOL, label: `${tag} attentions.${i}` }));
}

const FOLDERS = [
  'tiny-a/ConvBertModel',
  'proj-groups-b/ConvBertModel',
  'odd-heads-e/ConvBertModel',
  'tiny-a/ConvBertForMaskedLM',
  'tiny-a/ConvBertForSequenceClassification',
  'proj-groups-b/ConvBertForTokenClassification',
  'odd-heads-e/ConvBertForQuestionAnswering',
  'proj-groups-b/ConvBertForMultipleChoice',
  'mc-summary-f/ConvBertForMultipleChoice',
];

const probe = () => cudaOps().cudaGemm({ A: new Float32Array(1), B: new Float32Array(1), M: 1, N: 1, K: 1 });

gpuTest('one walk: the CUDA engine equals the CPU engine on varlen, head_mask, attentions and every head', probe, async (t) => {
  for (const folder of FOLDERS) {
    const m = loadFixtureModel(fixturesDir('convbert', folder));
    const summaries = m.spec.head.kind === 'multiple_choice' ? ['last', 'first', 'mean', 'cls_index'] : [m.spec.head.summary_type];
    for (const summary of summaries) {
      const spec = { ...m.spec, head: { ...m.spec.head, summary_type: summary } };
      const mm = { ...m, spec };
      const cpu = new (Engine())(spec);
      const gpu = new (Engine())(spec, { device: 'cuda:0', dtype: 'float32', tf32: false });
      try {
        t.is(gpu.device, 'cuda:0');
        const tag = `${folder} summary=${summary}`;
        const cls = summary === 'cls_index';
        await compare(t, cpu, gpu, mm, { lens: [3, 7, 1, 5], packed: true, hidden: true, clsIndex: cls }, `${tag} varlen`);
        // The same (B, L, T) with other boundaries: the replayed graph reads them from the arena.
        await compare(t, cpu, gpu, mm, { lens: [7, 3, 5, 1], packed: true, hidden: true, clsIndex: cls }, `${tag} varlen replay`);
        await compare(t, cpu, gpu, mm, { lens: [6, 4], packed: false, hidden: true, attentions: true, headMask: true, clsIndex: cls }, `${tag} padded`);
      } finally {
        cpu.dispose();
        gpu.dispose();
      }
    }
  }
});
