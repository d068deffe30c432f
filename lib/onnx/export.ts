// export.ts: ConvBERT (trunk + head) as a standard ONNX graph, in Hugging Face
// transformers >= 4.27 semantics: sa = heads // head_ratio (min 1) dot-product
// heads and sa span-based dynamic-conv heads of head_dim = (hidden // sa) // 2,
// grouped FFN layers, embeddings_project, mask bias (1 - m) * finfo(f32).min on
// the attention branch only, exact-GELU MLM head. Standard ai.onnx ops only
// (opset 14+); weights are float32 initializers. The graph takes input_ids,
// attention_mask (2-D) and token_type_ids, all int64 with dynamic batch and
// sequence axes; position_ids are arange(L) unless `positionIds: true` adds an input.
import * as fs from 'fs';

import { ARCHITECTURE_HEADS, ConvBertConfig, isConvBertArchitecture, type ConvBertArchitecture } from '../config';
import { ConvBertError, argError } from '../errors';
import { ACTIVATION_CODES, type HeadKind } from '../engine_types';
import { BASE_PREFIX, TIED_HEAD_KEY, WORD_EMBEDDINGS_KEY, headLayout, trunkLayout, type ParamSpec } from '../models/layout';
import { Tensor } from '../tensor';
import { describe, isPlainObject } from '../validate';
import { GraphBuilder, attr } from './graph';
import { encodeModel, type ValueInfoSpec } from './onnx_proto';

/** The head the graph ends in: the engine's HeadKind (config.ts maps each HF class to one). */
export type OnnxHead = HeadKind;

export const ONNX_HEADS: readonly OnnxHead[] = [...new Set<OnnxHead>(Object.values(ARCHITECTURE_HEADS))];

/** What a ConvBERT forward call accepts that the exported graph does not. */
export const ONNX_UNSUPPORTED_FEATURES = [
  'head_mask',
  'inputs_embeds',
  'position_ids (unless exported with positionIds: true)',
  '3-D attention_mask',
  'output_hidden_states',
  'output_attentions',
  'labels/loss',
] as const;

export type ConvBertConfigLike = Readonly<Record<string, unknown>>;
type WeightsLike = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** The plain source: a config with HF field names, HF-named weights, and the head to export. */
export interface OnnxExportSource {
  config: ConvBertConfigLike | object;
  weights: WeightsLike;
  head?: OnnxHead;
}

/** A model object: its config and a (sync or async) state dict; the head comes from its class. */
export interface OnnxExportModelLike {
  config: ConvBertConfigLike | object;
  stateDict(): WeightsLike | Promise<WeightsLike>;
}

export interface OnnxExportOptions {
  /** ai.onnx opset, 14 to 24 (default 17: LayerNormalization; below 17 it is decomposed). */
  opset?: number;
  /**
   * 'float32' (default): the exact model. 'int8': onnxruntime's dynamic quantization, done here
   * (what onnxruntime.quantization.quantize_dynamic writes for MatMul nodes; its ConvInteger and
   * quantized-Gather rewrites are not applied): every MatMul with a weight gets that
   * weight as int8 with one symmetric per-tensor scale, and its input quantized per call to uint8
   * (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul by both scales). Conv, attention
   * products, layernorm and softmax stay float32. Lossy: see the test for the measured error.
   */
  dtype?: 'float32' | 'int8';
  /**
   * With dtype 'int8': weights in 7 bits ([-64, 64], s = max|w| / 64), onnxruntime's
   * `reduce_range=True`. On CPUs without VNNI, onnxruntime's uint8 x int8 kernels add
   * pairs of products in int16 and saturate with 8-bit weights (255 * 127 * 2 > 32767);
   * 7-bit weights cannot. Default false (what quantize_dynamic writes by default).
   */
  reduceRange?: boolean;
  /** Overrides the head found from the model class, config.architectures or the weights. */
  head?: OnnxHead;
  /** Add a `position_ids` int64 input (same dims as input_ids) instead of arange(L). Default false. */
  positionIds?: boolean;
}

export interface OnnxExportInfo {
  path?: string;
  bytes: number;
  opset: number;
  irVersion: number;
  head: OnnxHead;
  dtype: 'float32' | 'int8';
  inputs: string[];
  outputs: string[];
  /** Forward features that this graph does not take (also in the model's doc_string). */
  unsupported: string[];
  /** The model's doc_string. */
  doc: string;
}

export const MIN_OPSET = 14;
export const MAX_OPSET = 24;
export const DEFAULT_OPSET = 17;

/** A serialized protobuf message must stay below 2 GiB (ConvBERT-base is about 0.45 GB). */
const PROTOBUF_LIMIT = 2 ** 31;
const F32_MIN = -3.4028234663852886e38; // torch.finfo(torch.float32).min

function weightsErr(msg: string): ConvBertError {
  return new ConvBertError(`exportOnnx: ${msg}`, 'ERR_CONVBERT_WEIGHTS');
}

// ---------------------------------------------------------------------------
// Config

interface Geometry {
  vocab: number;
  hidden: number;
  emb: number;
  layers: number;
  sa: number;
  headDim: number;
  allHead: number; // sa * headDim
  inter: number;
  k: number;
  groups: number;
  maxPos: number;
  typeVocab: number;
  eps: number;
  act: string;
  tie: boolean;
  numLabels: number;
  summaryType: string;
  summaryUseProj: boolean;
  summaryAct: string | null;
}

/**
 * The graph's sizes in short names, all read from a validated ConvBertConfig (its getters
 * give HF's head split), so the export knows no default or rule of its own.
 */
function geometryOf(cfg: ConvBertConfig): Geometry {
  return {
    vocab: cfg.vocab_size,
    hidden: cfg.hidden_size,
    emb: cfg.embedding_size,
    layers: cfg.num_hidden_layers,
    sa: cfg.saHeads,
    headDim: cfg.headDim,
    allHead: cfg.saHeads * cfg.headDim,
    inter: cfg.intermediate_size,
    k: cfg.conv_kernel_size,
    groups: cfg.num_groups,
    maxPos: cfg.max_position_embeddings,
    typeVocab: cfg.type_vocab_size,
    eps: cfg.layer_norm_eps,
    act: cfg.hidden_act,
    tie: cfg.tie_word_embeddings,
    numLabels: cfg.num_labels,
    summaryType: cfg.summaryType,
    summaryUseProj: cfg.summaryUseProj,
    summaryAct: cfg.summaryActivation,
  };
}

/** The ConvBERT class that runs `head` (the inverse of ARCHITECTURE_HEADS). */
function architectureOf(head: OnnxHead): ConvBertArchitecture {
  return (Object.keys(ARCHITECTURE_HEADS) as ConvBertArchitecture[]).find((a) => ARCHITECTURE_HEADS[a] === head)!;
}

/**
 * The source's config as a ConvBertConfig: one as it is (resolveSource re-validates it for
 * the head), anything else through fromDict (HF field names and defaults, ERR_CONVBERT_CONFIG
 * naming the field).
 */
function configOf(config: unknown): ConvBertConfig {
  return config instanceof ConvBertConfig ? config : ConvBertConfig.fromDict(config);
}

// ---------------------------------------------------------------------------
// Weights

class Weights {
  private readonly map: ReadonlyMap<string, Tensor>;
  private readonly shapes = new Map<string, readonly number[]>();

  constructor(w: WeightsLike) {
    if (w instanceof Map) this.map = w;
    else if (w && typeof w === 'object') this.map = new Map(Object.entries(w as Record<string, Tensor>));
    else throw argError('exportOnnx: source.weights must be a Map or an object of Tensors');
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Takes every shape from the parameter table (layout.ts: trunkLayout + headLayout) for this config. */
  useLayout(params: readonly ParamSpec[]): void {
    for (const p of params) this.shapes.set(p.key, p.shape);
  }

  /** The HF shape of weight `key` (trunk keys without the prefix), from the parameter table. */
  shape(key: string): readonly number[] {
    const d = this.shapes.get(key);
    if (!d) throw new ConvBertError(`exportOnnx: ${key} is not in the model's parameter table`, 'ERR_CONVBERT_INTERNAL');
    return d;
  }

  /** A trunk weight in its table shape, found with or without the `convbert.` prefix. */
  trunk(key: string): Float32Array {
    const t = this.map.get(`${BASE_PREFIX}${key}`) ?? this.map.get(key);
    return this.check(t, `${BASE_PREFIX}${key}`, this.shape(key));
  }

  /** A head weight in its table shape. */
  head(key: string): Float32Array {
    return this.check(this.map.get(key), key, this.shape(key));
  }

  private check(t: Tensor | undefined, key: string, dims: readonly number[]): Float32Array {
    if (!t) throw weightsErr(`weights: missing ${key} (expected dims [${dims.join(', ')}])`);
    if (typeof t !== 'object' || !Array.isArray(t.dims) || !ArrayBuffer.isView(t.data)) {
      throw weightsErr(`weights: ${key} is not a Tensor`);
    }
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      throw weightsErr(`weights: ${key}: expected dims [${dims.join(', ')}], got [${t.dims.join(', ')}]`);
    }
    if (t.dtype === 'float32' && t.data instanceof Float32Array) return t.data;
    if ((t.dtype === 'float16' || t.dtype === 'bfloat16') && typeof t.toFloat32 === 'function') return t.toFloat32();
    throw new ConvBertError(`exportOnnx: weights: ${key}: expected a float32/float16/bfloat16 tensor, got ${String(t.dtype)}`, 'ERR_CONVBERT_DTYPE');
  }
}

/** (rows, cols) row-major -> (cols, rows): nn.Linear's (out, in) becomes MatMul's (in, out). */
function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  const T = 32; // tiles keep both the reads and the strided writes in cache (about 2x faster on 768 x 3072)
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = a[base + c];
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Activations (HF ACT2FN), decomposed into standard ops

/** @internal The hidden_act / summary_activation names the export knows (HF ACT2FN). */
export const ACTIVATIONS: ReadonlySet<string> = new Set(Object.keys(ACTIVATION_CODES));

/** @internal HF activation `name` applied to value `x` (exported for the activation tests). */
export function activation(g: GraphBuilder, x: string, name: string, at: string): string {
  const half = (v: string): string => g.op('Mul', [v, g.f32(0.5)], at);
  const onePlus = (v: string): string => g.op('Add', [v, g.f32(1)], at);
  const geluErf = (v: string): string => {
    const e = g.op('Erf', [g.op('Mul', [v, g.f32(Math.SQRT1_2)], at)], at);
    return g.op('Mul', [half(v), onePlus(e)], at);
  };
  const geluTanh = (v: string): string => {
    const x3 = g.op('Mul', [g.op('Mul', [v, v], at), v], at);
    const inner = g.op('Mul', [g.op('Add', [v, g.op('Mul', [x3, g.f32(0.044715)], at)], at), g.f32(Math.sqrt(2 / Math.PI))], at);
    return g.op('Mul', [half(v), onePlus(g.op('Tanh', [inner], at))], at);
  };
  switch (name) {
    case 'linear':
      return x;
    case 'gelu':
    case 'gelu_python':
      return geluErf(x);
    case 'gelu_new':
    case 'gelu_fast':
    case 'gelu_pytorch_tanh':
    case 'gelu_accurate':
      return geluTanh(x);
    case 'quick_gelu':
      return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.f32(1.702)], at)], at)], at);
    case 'relu':
      return g.op('Relu', [x], at);
    case 'relu6':
      return g.op('Clip', [x, g.f32(0), g.f32(6)], at);
    case 'relu2': {
      const r = g.op('Relu', [x], at);
      return g.op('Mul', [r, r], at);
    }
    case 'silu':
    case 'swish':
      return g.op('Mul', [x, g.op('Sigmoid', [x], at)], at);
    case 'sigmoid':
      return g.op('Sigmoid', [x], at);
    case 'tanh':
      return g.op('Tanh', [x], at);
    case 'mish':
      return g.op('Mul', [x, g.op('Tanh', [g.op('Softplus', [x], at)], at)], at);
    case 'gelu_10':
      return g.op('Clip', [geluErf(x), g.f32(-10), g.f32(10)], at);
    case 'laplace': {
      // 0.5 * (1 + erf((x - mu) / (sigma * sqrt(2)))), mu = 0.707107, sigma = 0.282095
      const z = g.op('Div', [g.op('Sub', [x, g.f32(0.707107)], at), g.f32(0.282095 * Math.SQRT2)], at);
      return half(onePlus(g.op('Erf', [z], at)));
    }
    case 'leaky_relu':
      return g.op('LeakyRelu', [x], at, { alpha: attr.f(0.01) });
    default:
      throw new ConvBertError(`exportOnnx: activation ${name} is not supported`, 'ERR_CONVBERT_UNSUPPORTED');
  }
}

// ---------------------------------------------------------------------------
// The graph

interface Ctx {
  g: GraphBuilder;
  w: Weights;
  geo: Geometry;
  opset: number;
  /** Dynamic int8 quantization of the weight MatMuls. */
  int8: boolean;
  /** Largest weight code: 127, or 64 with reduceRange. */
  qmax: number;
}

/** Symmetric per-tensor int8 weights, as onnxruntime's quantize_dynamic: q = rint(w / s), s = max|w| / qmax (127; 64 with reduce_range). */
function quantizeWeight(w: Float32Array, qmax: number): { q: Int8Array; scale: number } {
  let absMax = 0;
  for (let i = 0; i < w.length; i++) absMax = Math.max(absMax, Math.abs(w[i]));
  const scale = Math.fround(absMax > 0 ? absMax / qmax : 1);
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = w[i] / scale;
    let r = Math.round(v);
    if (r - v === 0.5 && r % 2 !== 0) r -= 1; // round half to even, like numpy
    q[i] = Math.max(-qmax, Math.min(qmax, r));
  }
  return { q, scale };
}

/** x @ W for a constant W (in float, or dynamically quantized when c.int8). `w` is W's data in `dims` layout. */
function weightMatMul(c: Ctx, x: string, name: string, w: Float32Array, dims: readonly number[], at: string): string {
  const { g } = c;
  if (!c.int8) return g.op('MatMul', [x, g.float(name, w, dims)], at);
  const { q, scale } = quantizeWeight(w, c.qmax);
  const wq = g.int8(`${name}_quantized`, q, dims);
  const [xq, xScale, xZero] = g.opN('DynamicQuantizeLinear', [x], at, 3);
  const acc = g.op('MatMulInteger', [xq, wq, xZero], at);
  const both = g.op('Mul', [xScale, g.f32(scale)], at);
  return g.op('Mul', [g.op('Cast', [acc], at, { to: attr.i(1) }), both], at);
}

/** nn.Linear: x @ W^T + b, with W stored transposed as (in, out). `get` picks trunk or head weights. */
function linear(c: Ctx, x: string, prefix: string, inDim: number, outDim: number, trunk: boolean): string {
  const get = (k: string): Float32Array => (trunk ? c.w.trunk(k) : c.w.head(k));
  const wt = transpose2d(get(`${prefix}.weight`), outDim, inDim);
  const b = c.g.float(`${prefix}.bias`, get(`${prefix}.bias`), [outDim]);
  return c.g.op('Add', [weightMatMul(c, x, `${prefix}.weight_t`, wt, [inDim, outDim], prefix), b], prefix);
}

/** GroupedLinearLayer: output group g = x[g-th input slice] @ W[g] (W is (G, in/G, out/G), not transposed), + bias. */
function groupedLinear(c: Ctx, x: string, prefix: string, inDim: number, outDim: number): string {
  const G = c.geo.groups;
  if (G === 1) return linear(c, x, prefix, inDim, outDim, true);
  const gi = inDim / G;
  const go = outDim / G;
  const { g } = c;
  const b = g.float(`${prefix}.bias`, c.w.trunk(`${prefix}.bias`), [outDim]);
  const xs = g.op('Reshape', [x, g.i64([0, 0, G, gi])], prefix); // (B, L, G, gi)
  const xt = g.op('Transpose', [xs], prefix, { perm: attr.ints([2, 0, 1, 3]) }); // (G, B, L, gi)
  const y = weightMatMul(c, xt, `${prefix}.weight`, c.w.trunk(`${prefix}.weight`), [G, 1, gi, go], prefix); // (G, B, L, go)
  const yt = g.op('Transpose', [y], prefix, { perm: attr.ints([1, 2, 0, 3]) }); // (B, L, G, go)
  const yr = g.op('Reshape', [yt, g.i64([0, 0, outDim])], prefix);
  return g.op('Add', [yr, b], prefix);
}

function layerNorm(c: Ctx, x: string, prefix: string, dim: number, trunk: boolean): string {
  const { g } = c;
  const get = (k: string): Float32Array => (trunk ? c.w.trunk(k) : c.w.head(k));
  const gamma = g.float(`${prefix}.weight`, get(`${prefix}.weight`), [dim]);
  const beta = g.float(`${prefix}.bias`, get(`${prefix}.bias`), [dim]);
  if (c.opset >= 17) {
    return g.op('LayerNormalization', [x, gamma, beta], prefix, { axis: attr.i(-1), epsilon: attr.f(c.geo.eps) });
  }
  // Decomposed (opset < 17): (x - mean) / sqrt(var + eps) * gamma + beta, biased variance like torch.
  const mean = g.op('ReduceMean', [x], prefix, { axes: attr.ints([-1]), keepdims: attr.i(1) });
  const d = g.op('Sub', [x, mean], prefix);
  const v = g.op('ReduceMean', [g.op('Mul', [d, d], prefix)], prefix, { axes: attr.ints([-1]), keepdims: attr.i(1) });
  const inv = g.op('Sqrt', [g.op('Add', [v, g.f32(c.geo.eps)], prefix)], prefix);
  return g.op('Add', [g.op('Mul', [g.op('Div', [d, inv], prefix), gamma], prefix), beta], prefix);
}

interface SeqInfo {
  /** The mask bias (B, 1, 1, L) added to the attention scores. */
  maskBias: string;
  /** Unfold indices (L, k): l + j into the sequence padded by (k - 1) / 2 on each side. */
  unfoldIdx: string;
}

function selfAttention(c: Ctx, x: string, p: string, s: SeqInfo): string {
  const { g, geo } = c;
  const { hidden: C, sa, headDim: D, allHead: A, k } = geo;
  const pre = `${p}.attention.self`;
  const q = linear(c, x, `${pre}.query`, C, A, true);
  const key = linear(c, x, `${pre}.key`, C, A, true);
  const val = linear(c, x, `${pre}.value`, C, A, true);

  // key_conv_attn_layer: depthwise conv (zero padding k // 2, no bias), pointwise 1x1 conv, then bias.
  const dwW = g.float(`${pre}.key_conv_attn_layer.depthwise.weight`, c.w.trunk(`${pre}.key_conv_attn_layer.depthwise.weight`), [C, 1, k]);
  const pwW = g.float(`${pre}.key_conv_attn_layer.pointwise.weight`, c.w.trunk(`${pre}.key_conv_attn_layer.pointwise.weight`), [A, C, 1]);
  const kcB = g.float(`${pre}.key_conv_attn_layer.bias`, c.w.trunk(`${pre}.key_conv_attn_layer.bias`), [A]);
  const kcp = `${pre}.key_conv_attn_layer`;
  const xT = g.op('Transpose', [x], kcp, { perm: attr.ints([0, 2, 1]) }); // (B, C, L)
  const dw = g.op('Conv', [xT, dwW], `${kcp}.depthwise`, {
    group: attr.i(C),
    kernel_shape: attr.ints([k]),
    pads: attr.ints([(k - 1) / 2, (k - 1) / 2]),
  });
  const pw = g.op('Conv', [dw, pwW, kcB], `${kcp}.pointwise`, { kernel_shape: attr.ints([1]) }); // (B, A, L)
  const keyConv = g.op('Transpose', [pw], kcp, { perm: attr.ints([0, 2, 1]) }); // (B, L, A)

  // Span-based dynamic conv: kernel = softmax_k(conv_kernel_layer(keyConv * q)), head-major (h * k + j).
  const convAttn = g.op('Mul', [keyConv, q], pre);
  const kern = linear(c, convAttn, `${pre}.conv_kernel_layer`, A, sa * k, true);
  const kernSm = g.op('Softmax', [g.op('Reshape', [kern, g.i64([0, 0, sa, k])], pre)], pre, { axis: attr.i(-1) }); // (B, L, sa, k)
  const kernT = g.op('Unsqueeze', [g.op('Transpose', [kernSm], pre, { perm: attr.ints([0, 1, 3, 2]) }), g.i64([4])], pre); // (B, L, k, sa, 1)
  const convOut = linear(c, x, `${pre}.conv_out_layer`, C, A, true); // (B, L, A)
  const pad = (k - 1) / 2;
  const padded = g.op('Pad', [convOut, g.i64([0, pad, 0, 0, pad, 0])], pre); // zeros outside [0, L), like unfold
  const windows = g.op('Gather', [padded, s.unfoldIdx], pre, { axis: attr.i(1) }); // (B, L, k, A)
  const win5 = g.op('Reshape', [windows, g.i64([0, 0, k, sa, D])], pre);
  const convCtx = g.op('ReduceSum', [g.op('Mul', [win5, kernT], pre), g.i64([2])], pre, { keepdims: attr.i(0) }); // (B, L, sa, D)

  // Dot-product heads: softmax(q k^T / sqrt(D) + mask bias) v.
  const heads = (t: string, perm: number[]): string => g.op('Transpose', [g.op('Reshape', [t, g.i64([0, 0, sa, D])], pre)], pre, { perm: attr.ints(perm) });
  const qh = heads(q, [0, 2, 1, 3]); // (B, sa, L, D)
  const kh = heads(key, [0, 2, 3, 1]); // (B, sa, D, L)
  const vh = heads(val, [0, 2, 1, 3]);
  const scores = g.op('Div', [g.op('MatMul', [qh, kh], pre), g.f32(Math.sqrt(D))], pre);
  const probs = g.op('Softmax', [g.op('Add', [scores, s.maskBias], pre)], pre, { axis: attr.i(-1) });
  const ctxh = g.op('Transpose', [g.op('MatMul', [probs, vh], pre)], pre, { perm: attr.ints([0, 2, 1, 3]) }); // (B, L, sa, D)

  // [attention heads | conv heads] -> (B, L, hidden)
  const cat = g.op('Concat', [ctxh, convCtx], pre, { axis: attr.i(2) });
  return g.op('Reshape', [cat, g.i64([0, 0, C])], pre);
}

function encoderLayer(c: Ctx, x: string, i: number, s: SeqInfo): string {
  const { hidden: C, inter, act } = c.geo;
  const p = `encoder.layer.${i}`;
  const sa = selfAttention(c, x, p, s);
  const ao = linear(c, sa, `${p}.attention.output.dense`, C, C, true);
  const h1 = layerNorm(c, c.g.op('Add', [ao, x], `${p}.attention.output`), `${p}.attention.output.LayerNorm`, C, true);
  const it = activation(c.g, groupedLinear(c, h1, `${p}.intermediate.dense`, C, inter), act, `${p}.intermediate`);
  const o = groupedLinear(c, it, `${p}.output.dense`, inter, C);
  return layerNorm(c, c.g.op('Add', [o, h1], `${p}.output`), `${p}.output.LayerNorm`, C, true);
}

interface Built {
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
}

const BATCH = 'batch_size';
const SEQ = 'sequence_length';
const CHOICES = 'num_choices';

function buildGraph(c: Ctx, head: OnnxHead, positionIds: boolean): Built {
  const { g, geo } = c;
  const { hidden: C, emb: E } = geo;
  const mc = head === 'multiple_choice';
  const inDims = mc ? [BATCH, CHOICES, SEQ] : [BATCH, SEQ];
  const inputNames = ['input_ids', 'attention_mask', 'token_type_ids', ...(positionIds ? ['position_ids'] : [])];
  const inputs: ValueInfoSpec[] = inputNames.map((name) => ({ name: g.reserve(name), dtype: 'int64', dims: inDims }));
  // Multiple choice runs the trunk on (B * C, L).
  const flat = (name: string): string => (mc ? g.op('Flatten', [name], name, { axis: attr.i(2) }) : name);
  const ids = flat('input_ids');
  const mask = flat('attention_mask');
  const tt = flat('token_type_ids');

  // Embeddings: word + position + token_type, LayerNorm, then embeddings_project when E != C.
  const wordW = c.w.trunk(WORD_EMBEDDINGS_KEY);
  const word = g.float(WORD_EMBEDDINGS_KEY, wordW, [geo.vocab, E]);
  const pos = g.float('embeddings.position_embeddings.weight', c.w.trunk('embeddings.position_embeddings.weight'), [geo.maxPos, E]);
  const typ = g.float('embeddings.token_type_embeddings.weight', c.w.trunk('embeddings.token_type_embeddings.weight'), [geo.typeVocab, E]);
  const seqLen = g.op('Gather', [g.op('Shape', [ids], 'seq'), g.i64([1], [])], 'seq', { axis: attr.i(0) }); // scalar L
  const arangeL = g.op('Range', [g.i64([0], []), seqLen, g.i64([1], [])], 'seq'); // (L,)
  const posIds = positionIds ? flat('position_ids') : arangeL;
  const we = g.op('Gather', [word, ids], 'embeddings.word_embeddings', { axis: attr.i(0) });
  const pe = g.op('Gather', [pos, posIds], 'embeddings.position_embeddings', { axis: attr.i(0) });
  const te = g.op('Gather', [typ, tt], 'embeddings.token_type_embeddings', { axis: attr.i(0) });
  const sum = g.op('Add', [g.op('Add', [we, pe], 'embeddings'), te], 'embeddings');
  let h = layerNorm(c, sum, 'embeddings.LayerNorm', E, true);
  if (E !== C) h = linear(c, h, 'embeddings_project', E, C, true); // (HF ignores a stray embeddings_project when E == C; so do we)

  // Mask bias (1 - m) * finfo(float32).min, shape (B, 1, 1, L); a fully masked row stays finite (uniform softmax).
  const mf = g.op('Cast', [mask], 'mask', { to: attr.i(1) });
  const bias = g.op('Mul', [g.op('Sub', [g.f32(1), mf], 'mask'), g.f32(F32_MIN)], 'mask');
  const maskBias = g.op('Unsqueeze', [bias, g.i64([1, 2])], 'mask');
  const kIdx = g.i64(
    Array.from({ length: geo.k }, (_, j) => j),
    [1, geo.k],
  );
  const unfoldIdx = g.op('Add', [g.op('Unsqueeze', [arangeL, g.i64([1])], 'unfold'), kIdx], 'unfold'); // (L, k)
  const s: SeqInfo = { maskBias, unfoldIdx };

  for (let i = 0; i < geo.layers; i++) h = encoderLayer(c, h, i, s);

  const out = (name: string, from: string, dims: Array<number | string>): ValueInfoSpec => {
    g.op('Identity', [from], name, undefined, g.reserve(name));
    return { name, dtype: 'float32', dims };
  };
  switch (head) {
    case 'none':
      return { inputs, outputs: [out('last_hidden_state', h, [BATCH, SEQ, C])] };
    case 'masked_lm': {
      const d = linear(c, h, 'generator_predictions.dense', C, E, false);
      // ConvBertGeneratorPredictions always uses exact (erf) GELU, whatever hidden_act says.
      const ln = layerNorm(c, activation(g, d, 'gelu', 'generator_predictions'), 'generator_predictions.LayerNorm', E, false);
      let lmW: Float32Array;
      // A tied checkpoint may leave the LM weight out: it is the word-embedding matrix then.
      if (c.w.has(TIED_HEAD_KEY) || !geo.tie) lmW = c.w.head(TIED_HEAD_KEY);
      else lmW = wordW;
      const wt = transpose2d(lmW, geo.vocab, E);
      const b = g.float('generator_lm_head.bias', c.w.head('generator_lm_head.bias'), [geo.vocab]);
      const logits = g.op('Add', [weightMatMul(c, ln, 'generator_lm_head.weight_t', wt, [E, geo.vocab], 'generator_lm_head'), b], 'generator_lm_head');
      return { inputs, outputs: [out('logits', logits, [BATCH, SEQ, geo.vocab])] };
    }
    case 'sequence_classification': {
      const n = geo.numLabels;
      const first = g.op('Gather', [h, g.i64([0], [])], 'classifier', { axis: attr.i(1) }); // (B, C): token 0
      const d = activation(g, linear(c, first, 'classifier.dense', C, C, false), geo.act, 'classifier');
      const logits = linear(c, d, 'classifier.out_proj', C, n, false);
      return { inputs, outputs: [out('logits', logits, [BATCH, n])] };
    }
    case 'token_classification': {
      const n = geo.numLabels;
      return { inputs, outputs: [out('logits', linear(c, h, 'classifier', C, n, false), [BATCH, SEQ, n])] };
    }
    case 'question_answering': {
      const qa = linear(c, h, 'qa_outputs', C, geo.numLabels, false); // (B, L, 2): the config checks num_labels == 2
      const start = g.op('Gather', [qa, g.i64([0], [])], 'qa_outputs', { axis: attr.i(-1) });
      const end = g.op('Gather', [qa, g.i64([1], [])], 'qa_outputs', { axis: attr.i(-1) });
      return { inputs, outputs: [out('start_logits', start, [BATCH, SEQ]), out('end_logits', end, [BATCH, SEQ])] };
    }
    case 'multiple_choice': {
      // SequenceSummary: pick a token (or the mean), optional projection and activation; then classifier(h, 1).
      let pooled: string;
      if (geo.summaryType === 'mean') {
        pooled =
          c.opset >= 18
            ? g.op('ReduceMean', [h, g.i64([1])], 'sequence_summary', { keepdims: attr.i(0) })
            : g.op('ReduceMean', [h], 'sequence_summary', { axes: attr.ints([1]), keepdims: attr.i(0) });
      } else {
        // 'last' and 'cls_index' without a cls_index argument both take the last position (padding included).
        const idx = geo.summaryType === 'first' ? 0 : -1;
        pooled = g.op('Gather', [h, g.i64([idx], [])], 'sequence_summary', { axis: attr.i(1) });
      }
      // The config checked that the projection keeps hidden_size features (classifier is Linear(hidden, 1)).
      if (geo.summaryUseProj) pooled = linear(c, pooled, 'sequence_summary.summary', C, C, false);
      if (geo.summaryAct) {
        pooled = activation(g, pooled, geo.summaryAct, 'sequence_summary');
      }
      const logit = linear(c, pooled, 'classifier', C, 1, false); // (B * C, 1)
      const bc = g.op('Slice', [g.op('Shape', ['input_ids'], 'choices'), g.i64([0]), g.i64([2])], 'choices');
      const logits = g.op('Reshape', [logit, bc], 'choices');
      return { inputs, outputs: [out('logits', logits, [BATCH, CHOICES])] };
    }
  }
}

// ---------------------------------------------------------------------------
// Entry points

/**
 * The head whose parameters (headLayout) the weights hold most of; ties go to the earlier
 * head in ONNX_HEADS (token classification before a multiple choice without projection:
 * both are a bare `classifier`). A head only partly present is still chosen, so its
 * missing weights are reported rather than the head being dropped.
 */
function headFromWeights(w: Weights, cfg: ConvBertConfig): OnnxHead | undefined {
  let best: OnnxHead | undefined;
  let bestCount = 0;
  for (const kind of ONNX_HEADS) {
    const count = headLayout(kind, cfg).filter((p) => w.has(p.key)).length;
    if (count > bestCount) {
      best = kind;
      bestCount = count;
    }
  }
  return best;
}

function isHead(x: unknown): x is OnnxHead {
  return typeof x === 'string' && (ONNX_HEADS as readonly string[]).includes(x);
}

async function resolveSource(source: OnnxExportSource | OnnxExportModelLike, options: OnnxExportOptions): Promise<{ config: ConvBertConfig; weights: Weights; head: OnnxHead }> {
  // A model is callable (typeof 'function'); a { config, weights, head } source is an object.
  if (!source || (typeof source !== 'object' && typeof source !== 'function')) throw argError('exportOnnx: source must be a model or { config, weights, head }');
  if (!isPlainObject(source.config) && !(source.config instanceof ConvBertConfig)) {
    throw argError(`exportOnnx: source.config: expected a ConvBertConfig or a config object with HF field names, got ${describe(source.config)}`);
  }
  const config = configOf(source.config);
  let weights: Weights;
  let head: unknown = options.head;
  if (typeof (source as OnnxExportModelLike).stateDict === 'function') {
    weights = new Weights(await (source as OnnxExportModelLike).stateDict());
    head ??= (source.constructor as { headKind?: unknown }).headKind;
  } else if ('weights' in source) {
    weights = new Weights(source.weights);
    head ??= source.head;
  } else {
    throw argError('exportOnnx: source must have weights (a Map of Tensors) or a stateDict() method');
  }
  if (head === undefined) {
    const arch = config.architectures?.[0];
    // Only the ConvBERT classes count: an inherited key such as 'constructor' is not an architecture.
    head = (isConvBertArchitecture(arch) ? ARCHITECTURE_HEADS[arch] : undefined) ?? headFromWeights(weights, config) ?? 'none';
  }
  if (!isHead(head)) throw argError(`exportOnnx: head must be one of ${ONNX_HEADS.join(', ')}, got ${describe(head)}`);
  // What the head's class needs of the config (qa: 2 labels; multiple choice: its summary settings).
  config.validate(architectureOf(head), 'config: ');
  return { config, weights, head };
}

function irVersionFor(opset: number): number {
  // onnx's opset -> IR version table (IR 8 at the least: ORT reads it for every opset used here).
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  return 8;
}

function checkOptions(options: OnnxExportOptions): { opset: number; positionIds: boolean; int8: boolean; qmax: number } {
  if (!options || typeof options !== 'object') throw argError('exportOnnx: options must be an object');
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isSafeInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw argError(`exportOnnx: options.opset: expected an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${String(opset)}`);
  }
  if (options.dtype !== undefined && options.dtype !== 'float32' && options.dtype !== 'int8') {
    throw new ConvBertError(`exportOnnx: options.dtype: expected 'float32' or 'int8', got ${JSON.stringify(options.dtype)}`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  if (options.positionIds !== undefined && typeof options.positionIds !== 'boolean') {
    throw argError(`exportOnnx: options.positionIds: expected a boolean, got ${typeof options.positionIds}`);
  }
  if (options.reduceRange !== undefined && typeof options.reduceRange !== 'boolean') {
    throw argError(`exportOnnx: options.reduceRange: expected a boolean, got ${typeof options.reduceRange}`);
  }
  if (options.reduceRange && options.dtype !== 'int8') throw argError("exportOnnx: options.reduceRange: applies to dtype 'int8' only");
  return { opset, positionIds: options.positionIds === true, int8: options.dtype === 'int8', qmax: options.reduceRange ? 64 : 127 };
}

function docString(head: OnnxHead, geo: Geometry, positionIds: boolean, int8: boolean, unsupported: string[]): string {
  return [
    `ConvBERT (${head === 'none' ? 'ConvBertModel' : head}), Hugging Face transformers >= 4.27 semantics, ` +
      (int8 ? 'dynamically quantized: weight MatMuls in int8 (per-tensor symmetric weights, uint8 activations quantized per call), the rest float32.' : 'float32.'),
    `Inputs (int64, [${BATCH}, ${SEQ}]${head === 'multiple_choice' ? ` per choice: [${BATCH}, ${CHOICES}, ${SEQ}]` : ''}): input_ids, ` +
      `attention_mask (2-D, 1 = attend, 0 = masked; bias (1 - m) * finfo(float32).min on the attention branch only), ` +
      `token_type_ids${positionIds ? ', position_ids' : ''}. Feed ones / zeros for HF's default mask / token types.`,
    positionIds ? 'position_ids are an input.' : 'position_ids are arange(sequence_length) for every row (HF default).',
    `sequence_length <= max_position_embeddings (${geo.maxPos}); ids < vocab_size (${geo.vocab}); token types < type_vocab_size (${geo.typeVocab}).`,
    `Geometry: hidden ${geo.hidden}, embedding ${geo.emb}, ${geo.layers} layers, ${geo.sa} attention + ${geo.sa} conv heads of ${geo.headDim}, ` +
      `kernel ${geo.k}, groups ${geo.groups}, hidden_act ${geo.act}.`,
    `Not exported (unsupported by this graph): ${unsupported.join('; ')}.`,
  ].join('\n');
}

interface Encoded {
  chunks: Uint8Array[];
  info: OnnxExportInfo;
}

async function encode(source: OnnxExportSource | OnnxExportModelLike, options: OnnxExportOptions): Promise<Encoded> {
  const { opset, positionIds, int8, qmax } = checkOptions(options);
  const { config, weights, head } = await resolveSource(source, options);
  const geo = geometryOf(config);
  weights.useLayout([...trunkLayout(config), ...headLayout(head, config)]);
  const g = new GraphBuilder();
  const c: Ctx = { g, w: weights, geo, opset, int8, qmax };
  const built = buildGraph(c, head, positionIds);
  const unsupported = ONNX_UNSUPPORTED_FEATURES.filter((f) => !(positionIds && f.startsWith('position_ids')));
  const doc = docString(head, geo, positionIds, int8, unsupported);
  const irVersion = irVersionFor(opset);
  const model = encodeModel({
    irVersion,
    opsets: [{ domain: '', version: opset }],
    producerName: 'convbert',
    producerVersion: '0.1.0',
    doc,
    metadata: { head, dtype: int8 ? 'int8' : 'float32', unsupported: unsupported.join('; ') },
    graph: { name: 'convbert', nodes: g.nodes, initializers: g.initializers, inputs: built.inputs, outputs: built.outputs },
  });
  if (model.length >= PROTOBUF_LIMIT) {
    throw new ConvBertError(`exportOnnx: the model needs ${model.length} bytes, over protobuf's 2 GiB limit (external data is not written)`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  return {
    chunks: model.toChunks(),
    info: {
      bytes: model.length,
      opset,
      irVersion,
      head,
      dtype: int8 ? 'int8' : 'float32',
      inputs: built.inputs.map((v) => v.name),
      outputs: built.outputs.map((v) => v.name),
      unsupported,
      doc,
    },
  };
}

/**
 * Writes a ConvBERT model as an ONNX file.
 * `source` is a model object (config + stateDict(), head from its class) or
 * `{ config, weights, head }` with HF field names and keys (trunk keys with or without `convbert.`).
 */
export async function exportOnnx(source: OnnxExportSource | OnnxExportModelLike, path: string, options: OnnxExportOptions = {}): Promise<OnnxExportInfo> {
  if (typeof path !== 'string' || path.length === 0) throw argError('exportOnnx: path must be a non-empty string');
  const { chunks, info } = await encode(source, options);
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'w');
    for (const ch of chunks) {
      let off = 0;
      while (off < ch.length) off += fs.writeSync(fd, ch, off, ch.length - off);
    }
  } catch (err) {
    throw new ConvBertError(`exportOnnx: cannot write ${path}: ${(err as Error).message}`, 'ERR_CONVBERT_IO', { cause: err });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return { ...info, path };
}

/** The same model as bytes in memory (for InferenceSession.create(bytes)). */
export async function exportOnnxBytes(source: OnnxExportSource | OnnxExportModelLike, options: OnnxExportOptions = {}): Promise<{ bytes: Uint8Array; info: OnnxExportInfo }> {
  const { chunks, info } = await encode(source, options);
  const bytes = new Uint8Array(info.bytes);
  let at = 0;
  for (const ch of chunks) {
    bytes.set(ch, at);
    at += ch.length;
  }
  return { bytes, info };
}
