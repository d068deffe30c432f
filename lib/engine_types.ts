// engine_types.ts: the contract between the TypeScript models (lib/models) and
// the native engine (native/binding/engine_wrap.cc, exported as addon.Engine).
// One native call per forward: TS validates user input, builds a
// ForwardRequest of typed arrays, preallocates every output, and the engine
// writes into them on a worker thread. forward() copies the input arrays before
// it returns, so they may change afterwards; the outputs must stay unreachable
// by other code (no transfer, no reuse) until its promise settles. Arrays over a
// SharedArrayBuffer or a detached buffer are refused (ERR_CONVBERT_ARG).

/** Activation codes shared with native/include/convbert/ops.h (enum Activation). */
export const ACTIVATION_CODES = {
  linear: 0,
  gelu: 1,
  gelu_python: 1,
  gelu_new: 2,
  gelu_fast: 2,
  gelu_pytorch_tanh: 2,
  gelu_accurate: 2,
  quick_gelu: 3,
  relu: 4,
  relu6: 5,
  relu2: 6,
  silu: 7,
  swish: 7,
  sigmoid: 8,
  tanh: 9,
  mish: 10,
  gelu_10: 11,
  laplace: 12,
  leaky_relu: 13,
} as const;

export type HeadKind =
  | 'none' // ConvBertModel: last_hidden_state only
  | 'masked_lm' // generator_predictions (dense E, exact gelu, LayerNorm) then generator_lm_head (E -> V)
  | 'sequence_classification' // token 0 -> dense(h,h) -> hidden_act -> out_proj(h, num_labels)
  | 'token_classification' // every token -> classifier(h, num_labels)
  | 'question_answering' // every token -> qa_outputs(h, 2), start = [..., 0], end = [..., 1]
  | 'multiple_choice'; // sequence_summary (summary_* options) -> classifier(h, 1)

export interface EngineSpec {
  // Trunk geometry (HF >= 4.27: sa_heads dot-product heads and sa_heads conv heads, each head_dim wide).
  vocab_size: number;
  hidden_size: number;
  embedding_size: number;
  num_hidden_layers: number;
  sa_heads: number;
  head_dim: number;
  intermediate_size: number;
  conv_kernel_size: number;
  num_groups: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  /** ACTIVATION_CODES[config.hidden_act]. */
  hidden_act: number;
  /**
   * Trunk weights by HF key WITHOUT the `convbert.` prefix, float32, in HF's
   * own layout (nn.Linear weight is (out, in); grouped weights are (G, in/G, out/G)).
   * The engine copies (and may pre-pack) them: the JS arrays can be dropped after construction.
   */
  weights: Record<string, Float32Array>;
  head: {
    kind: HeadKind;
    /** Head weights by HF key (e.g. `generator_lm_head.weight`, `classifier.out_proj.weight`). */
    weights: Record<string, Float32Array>;
    /** Output width: vocab for masked_lm, num_labels, 2 for QA, 1 for multiple choice. */
    num_outputs: number;
    /** sequence_classification: ACTIVATION_CODES of hidden_act. */
    act?: number;
    /** multiple_choice summary: 'last' | 'first' | 'mean' | 'cls_index'; proj/activation per config summary_*. */
    summary_type?: string;
    summary_use_proj?: boolean;
    summary_proj_out?: number;
    /** ACTIVATION_CODES of summary_activation, or -1 for none. */
    summary_act?: number;
  };
}

export interface ForwardRequest {
  B: number;
  L: number;
  /** (B, L) ids, or null when inputs_embeds is given. */
  input_ids: Int32Array | null;
  /** (B, L, embedding_size), or null. */
  inputs_embeds: Float32Array | null;
  /** (B, L); null = all zeros. */
  token_type_ids: Int32Array | null;
  /** (B, L); null = arange(L) for every row. */
  position_ids: Int32Array | null;
  /** (B, L) or (B, L, L) values (1 attend, 0 masked), as float; null = all ones. */
  attention_mask: Float32Array | null;
  /** 2 or 3 when attention_mask is given. */
  attention_mask_rank: number;
  /** (num_hidden_layers, sa_heads) multipliers on the attention probabilities; null = ones. */
  head_mask: Float32Array | null;
  /** multiple_choice with summary_type 'cls_index': (B,) positions; otherwise null. */
  cls_index: Int32Array | null;
  /**
   * Optional varlen (packed) mode; absent or null = the padded (B, L) layout above.
   * (B + 1) offsets into one token axis of T = cu_seqlens[B] tokens, cu_seqlens[0] = 0, every sequence
   * at least 1 token long. Sequence b is tokens [cu_seqlens[b], cu_seqlens[b+1]) and runs exactly as
   * if it were alone and unpadded (its convolutions and attention see only itself). Then L is the longest
   * sequence; input_ids / token_type_ids / position_ids are (T,), inputs_embeds (T, E); attention_mask
   * and outputs.attentions must be null; last_hidden_state and hidden_states are (T, hidden); per-token
   * logits are (T, n) and per-sequence logits (B, n); cls_index holds positions within each sequence.
   */
  cu_seqlens?: Int32Array | null;
  outputs: {
    /** (B, L, hidden). Always written. */
    last_hidden_state: Float32Array;
    /** Head output: (B, L, V) masked_lm, (B, num_labels) seq-cls, (B, L, num_labels) token-cls,
     *  (B, L, 2) QA, (B, 1) multiple choice. Null for kind 'none'. */
    logits: Float32Array | null;
    /** num_hidden_layers + 1 arrays of (B, L, hidden), or null. Entry 0 = embeddings after LN and projection. */
    hidden_states: Float32Array[] | null;
    /** num_hidden_layers arrays of (B, sa_heads, L, L) (after head_mask), or null. */
    attentions: Float32Array[] | null;
  };
}

/** The native Engine object (addon.Engine). */
export interface NativeEngine {
  forward(req: ForwardRequest): Promise<void>;
  /** Only for callers already on a worker thread. */
  forwardSync(req: ForwardRequest): void;
  /** Frees native memory now. Later calls throw ERR_CONVBERT_DISPOSED. */
  dispose(): void;
  /** Bytes of native memory held (weights + arena, host and CUDA device together). */
  readonly nativeBytes: number;
  /** Where the engine runs: 'cpu' or 'cuda:N' (absent on test doubles: read as 'cpu'). */
  readonly device?: string;
  /** The linear layers' weight type: 'float32', 'float16', 'bfloat16' or 'int8' (absent on test doubles: read as the requested dtype). */
  readonly dtype?: string;
  /** HF names of the linear modules kept in float32 by options.modulesToNotConvert (absent on test doubles). */
  readonly modulesToNotConvert?: string[];
}

/** Second argument of `new Engine(spec, options)`; every field is optional. */
export interface EngineOptions {
  /** 'cpu' (default), 'cuda' (= 'cuda:0') or 'cuda:N'. A build or machine without CUDA refuses 'cuda' with the reason. */
  device?: 'cpu' | 'cuda' | `cuda:${number}`;
  /**
   * Gemm weight type: 'float32' and 'bfloat16' on the CPU (bf16 dot products where the CPU has AVX512_BF16);
   * 'float16' needs CUDA; 'int8' is CPU only (weights quantised per output channel at load, activations per
   * row per call, int32 sums with AVX512_VNNI where the CPU has it, fp32 epilogue).
   */
  dtype?: 'float32' | 'float16' | 'bfloat16' | 'int8';
  /**
   * Linear modules the CPU engine keeps in float32 whatever `dtype` is (HF quantization configs'
   * modules_to_not_convert): a name matches every module whose dotted HF name contains its parts as a
   * contiguous run; one that matches none is an error. Refused on CUDA.
   */
  modulesToNotConvert?: string[];
  /** CUDA float32 gemms on TF32 tensor cores (opt-in: about 1e-3 relative error). Default false. */
  tf32?: boolean;
  /** CPU kernel path (tests only); default the process's active path. */
  isa?: 'generic' | 'avx2' | 'avx512';
}

export interface NativeEngineCtor {
  new (spec: EngineSpec, options?: EngineOptions): NativeEngine;
}
