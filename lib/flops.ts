// flops.ts: the work of one ConvBERT trunk forward, counted from the config: its
// floating-point operations (multiply-add = 2 FLOPs; ConvBERT-base at 128 tokens:
// 21.2 GFLOP per sequence; a grouped FFN, num_groups > 1, counts 1/num_groups) and
// the linear layers of one encoder layer as the engine runs them. Internal (not
// exported by lib/index.ts): the benches turn latencies into GFLOP/s with it, and
// test/ops checks the gemm timer's flops against it.
import { ConvBertError } from './errors';

export interface TrunkShape {
  hidden_size: number;
  embedding_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  head_ratio: number;
  intermediate_size: number;
  conv_kernel_size: number;
  /** Grouped FFN (GroupedLinearLayer) when > 1: each group is (I/G, H/G), so the FFN costs 1/G. */
  num_groups?: number;
}

export function trunkFlops(c: TrunkShape, L: number): number {
  const sa = Math.max(1, Math.floor(c.num_attention_heads / c.head_ratio));
  const hd = Math.floor(Math.floor(c.hidden_size / sa) / 2);
  const A = sa * hd;
  const h = c.hidden_size;
  const k = c.conv_kernel_size;
  const perLayer =
    2 * L * h * A * 3 + // query, key, value
    2 * L * h * k + // depthwise key conv
    2 * L * h * A + // pointwise key conv
    2 * L * A * sa * k + // conv_kernel_layer
    2 * L * h * A + // conv_out_layer
    2 * L * A * k + // span-based dynamic conv (weighted sum over taps)
    2 * 2 * L * L * A + // QK^T and P·V
    2 * L * h * h + // attention output dense
    (2 * 2 * L * h * c.intermediate_size) / Math.max(1, c.num_groups ?? 1); // FFN in and out (grouped: 1/G)
  const project = c.embedding_size !== h ? 2 * L * c.embedding_size * h : 0;
  return c.num_hidden_layers * perLayer + project;
}

/** One linear layer of an encoder layer as the engine runs it: `groups` products of (rows, k) x (k, n). */
export interface LinearShape {
  name: string;
  n: number;
  k: number;
  groups: number;
}

/** The engine's linear layers of one ConvBERT encoder layer (native/src/engine/forward.cc), HF names. */
export function layerLinears(c: Record<string, unknown>): LinearShape[] {
  const num = (key: string, def?: number): number => {
    const v = c[key] ?? def;
    if (typeof v !== 'number') throw new ConvBertError(`config: ${key} must be a number`, 'ERR_CONVBERT_CONFIG');
    return v;
  };
  const H = num('hidden_size');
  const heads = num('num_attention_heads');
  // HF's ConvBertSelfAttention: S heads of (hidden_size // S) // 2 (lib/config.ts allHeadSize).
  const S = Math.max(1, Math.floor(heads / num('head_ratio', 2)));
  const A = S * Math.floor(Math.floor(H / S) / 2);
  const I = num('intermediate_size');
  const G = num('num_groups', 1);
  const K = num('conv_kernel_size', 9);
  return [
    { name: 'query|key|value|conv_out_layer', n: 4 * A, k: H, groups: 1 },
    { name: 'key_conv_attn_layer.pointwise', n: A, k: H, groups: 1 },
    { name: 'conv_kernel_layer', n: S * K, k: A, groups: 1 },
    { name: 'attention.output.dense', n: H, k: H, groups: 1 },
    { name: 'intermediate.dense', n: I / G, k: H / G, groups: G },
    { name: 'output.dense', n: H / G, k: I / G, groups: G },
  ];
}
