// flops.ts: floating-point operations of one ConvBERT trunk forward, counted
// from the config (multiply-add = 2 FLOPs). Used to turn latencies into GFLOP/s.
// ConvBERT-base at 128 tokens: 21.2 GFLOP per sequence; medium-small (num_groups 2)
// counts its grouped FFN at 1/num_groups.

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
