// fixture_model.ts: test-side glue from a fixture folder to the native Engine:
// a minimal safetensors reader (F32 / I64 only, enough for the fixtures), an
// EngineSpec built from config.json with the README's defaults and >= 4.27
// geometry, and a ForwardRequest built from one case's inputs.
import * as fs from 'fs';
import * as path from 'path';

import { ARCHITECTURE_HEADS, isConvBertArchitecture } from '../../lib/config';
import { native } from '../../lib/native';
import { ACTIVATION_CODES, type EngineSpec, type ForwardRequest, type HeadKind, type NativeEngine } from '../../lib/engine_types';

export interface RawTensor {
  dtype: 'F32' | 'I64';
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export function readSafetensors(file: string): Map<string, RawTensor> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, RawTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const start = 8 + n + e.data_offsets[0];
    const bytes = buf.subarray(start, 8 + n + e.data_offsets[1]);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    if (e.dtype === 'F32') out.set(name, { dtype: 'F32', shape: e.shape, data: new Float32Array(copy.buffer) });
    else if (e.dtype === 'I64') out.set(name, { dtype: 'I64', shape: e.shape, data: new BigInt64Array(copy.buffer) });
    else throw new Error(`${file}: ${name} has dtype ${e.dtype}, not handled by this test reader`);
  }
  return out;
}

export interface FixtureModel {
  dir: string;
  arch: string;
  spec: EngineSpec;
  layers: number;
  saHeads: number;
}

export function loadFixtureModel(dir: string): FixtureModel {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const arch = (cfg.architectures as string[])[0];
  const num = (k: string, d: number): number => (typeof cfg[k] === 'number' ? (cfg[k] as number) : d);
  const hidden = num('hidden_size', 768);
  const heads = num('num_attention_heads', 12);
  const ratio = num('head_ratio', 2);
  const sa = Math.max(1, Math.floor(heads / ratio));
  const headDim = Math.floor(Math.floor(hidden / sa) / 2);
  const act = (name: unknown): number => ACTIVATION_CODES[(name ?? 'gelu') as keyof typeof ACTIVATION_CODES];
  const numLabels = cfg.id2label ? Object.keys(cfg.id2label as object).length : 2;
  const vocab = num('vocab_size', 30522);
  const sd = readSafetensors(path.join(dir, 'model.safetensors'));
  const trunk: Record<string, Float32Array> = {};
  const headW: Record<string, Float32Array> = {};
  for (const [name, t] of sd) {
    if (t.dtype !== 'F32') continue;
    const prefixed = name.startsWith('convbert.');
    if (arch === 'ConvBertModel' || prefixed) trunk[prefixed ? name.slice('convbert.'.length) : name] = t.data as Float32Array;
    else headW[name] = t.data as Float32Array;
  }
  if (!isConvBertArchitecture(arch)) throw new Error(`${dir}: unknown architecture ${arch}`);
  const kind: HeadKind = ARCHITECTURE_HEADS[arch];
  // Tied LM head: the word embedding matrix stands in for an absent generator_lm_head.weight.
  if (kind === 'masked_lm' && !headW['generator_lm_head.weight']) headW['generator_lm_head.weight'] = trunk['embeddings.word_embeddings.weight'];
  const useProj = cfg.summary_use_proj === true;
  const projToLabels = cfg.summary_proj_to_labels === true;
  const spec: EngineSpec = {
    vocab_size: vocab,
    hidden_size: hidden,
    embedding_size: num('embedding_size', 768),
    num_hidden_layers: num('num_hidden_layers', 12),
    sa_heads: sa,
    head_dim: headDim,
    intermediate_size: num('intermediate_size', 3072),
    conv_kernel_size: num('conv_kernel_size', 9),
    num_groups: num('num_groups', 1),
    max_position_embeddings: num('max_position_embeddings', 512),
    type_vocab_size: num('type_vocab_size', 2),
    layer_norm_eps: num('layer_norm_eps', 1e-12),
    hidden_act: act(cfg.hidden_act),
    weights: trunk,
    head: {
      kind,
      weights: headW,
      num_outputs: { none: 0, masked_lm: vocab, sequence_classification: numLabels, token_classification: numLabels, question_answering: 2, multiple_choice: 1 }[kind],
      act: act(cfg.hidden_act),
      summary_type: (cfg.summary_type as string | undefined) ?? 'last',
      summary_use_proj: useProj,
      summary_proj_out: useProj && projToLabels ? numLabels : hidden,
      summary_act: cfg.summary_activation ? act(cfg.summary_activation) : -1,
    },
  };
  return { dir, arch, spec, layers: spec.num_hidden_layers, saHeads: sa };
}

export interface EngineCtor {
  new (spec: EngineSpec, options?: { isa?: string }): NativeEngine & { readonly isa: string };
}

export function engineClass(): EngineCtor {
  return native().Engine as EngineCtor;
}

export interface FixtureCase {
  name: string;
  tags?: string[];
  inputs: Record<string, string>;
  kwargs: { output_hidden_states?: boolean; output_attentions?: boolean };
  outputs: Record<string, string | string[]>;
}

const toI32 = (t: RawTensor): Int32Array => Int32Array.from(t.data as BigInt64Array, (v) => Number(v));
const toF32 = (t: RawTensor): Float32Array => (t.dtype === 'F32' ? (t.data as Float32Array) : Float32Array.from(t.data as BigInt64Array, (v) => Number(v)));

/** A request for one case (multiple choice runs the trunk on (B*C, L)), with its outputs preallocated. */
export function buildRequest(m: FixtureModel, c: FixtureCase, t: Map<string, RawTensor>): { req: ForwardRequest; rows: number; L: number } {
  const get = (arg: string): RawTensor | undefined => (c.inputs[arg] ? t.get(c.inputs[arg]) : undefined);
  const ids = get('input_ids');
  const embeds = get('inputs_embeds');
  const lead = (ids ?? embeds)!.shape;
  const L = ids ? lead[lead.length - 1] : lead[lead.length - 2];
  const rows = (ids ? ids.data.length : embeds!.data.length / m.spec.embedding_size) / L;
  const mask = get('attention_mask');
  const maskRank = mask
    ? mask.data.length === rows * L * L && mask.shape.length >= 3 && mask.shape[mask.shape.length - 1] === mask.shape[mask.shape.length - 2] && mask.data.length !== rows * L
      ? 3
      : 2
    : 0;
  let headMask: Float32Array | null = null;
  const hm = get('head_mask');
  if (hm) {
    const f = toF32(hm);
    headMask = new Float32Array(m.layers * m.saHeads);
    for (let i = 0; i < headMask.length; i++) headMask[i] = hm.shape.length === 1 ? f[i % m.saHeads] : f[i];
  }
  const H = m.spec.hidden_size;
  const kind = m.spec.head.kind;
  const nOut = m.spec.head.num_outputs;
  const logitsLen = kind === 'none' ? 0 : kind === 'sequence_classification' || kind === 'multiple_choice' ? rows * nOut : rows * L * nOut;
  const req: ForwardRequest = {
    B: rows,
    L,
    input_ids: ids ? toI32(ids) : null,
    inputs_embeds: embeds ? toF32(embeds) : null,
    token_type_ids: get('token_type_ids') ? toI32(get('token_type_ids')!) : null,
    position_ids: get('position_ids') ? toI32(get('position_ids')!) : null,
    attention_mask: mask ? toF32(mask) : null,
    attention_mask_rank: maskRank,
    head_mask: headMask,
    cls_index: null,
    outputs: {
      last_hidden_state: new Float32Array(rows * L * H),
      logits: kind === 'none' ? null : new Float32Array(logitsLen),
      hidden_states: c.kwargs.output_hidden_states ? Array.from({ length: m.layers + 1 }, () => new Float32Array(rows * L * H)) : null,
      attentions: c.kwargs.output_attentions ? Array.from({ length: m.layers }, () => new Float32Array(rows * m.saHeads * L * L)) : null,
    },
  };
  return { req, rows, L };
}

/** Output name -> what the engine produced for it (QA logits split into start/end). */
export function producedOutputs(req: ForwardRequest, kind: HeadKind, L: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  out.set('last_hidden_state', req.outputs.last_hidden_state);
  const lg = req.outputs.logits;
  if (lg) {
    if (kind === 'question_answering') {
      const n = lg.length / 2;
      const s = new Float32Array(n);
      const e = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        s[i] = lg[2 * i];
        e[i] = lg[2 * i + 1];
      }
      out.set('start_logits', s);
      out.set('end_logits', e);
    } else {
      out.set('logits', lg);
    }
  }
  req.outputs.hidden_states?.forEach((a, i) => out.set(`hidden_states.${i}`, a));
  req.outputs.attentions?.forEach((a, i) => out.set(`attentions.${i}`, a));
  void L;
  return out;
}
