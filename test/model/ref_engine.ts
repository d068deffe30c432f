// ref_engine.ts: a plain float64 TypeScript implementation of the native
// Engine contract (engine_types.ts), written from HF's modeling_convbert
// semantics as listed in the fixtures README. Tests use it to check the model
// classes' plumbing (weight mapping, validation, flattening, losses) apart
// from the native kernels, and as an independent oracle for random models.
// It is slow on purpose (scalar loops); use it on tiny configs only.
import type { EngineSpec, ForwardRequest, NativeEngine } from '../../lib/engine_types';
import { actByCode } from '../helpers/ref64';

const F32_MIN = -3.4028234663852886e38;

/** HF ACT2FN by the ACTIVATION_CODES numbering (test/helpers/ref64.ts). */
export const act = actByCode;

/** y (n, out) = x (n, in) @ W^T + b, W (out, in) like nn.Linear. */
function linear(x: Float64Array, n: number, inDim: number, W: Float32Array, b: Float32Array | null, out: number): Float64Array {
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      const wo = o * inDim;
      const xr = r * inDim;
      for (let i = 0; i < inDim; i++) s += x[xr + i] * W[wo + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

/** GroupedLinearLayer: W (G, in/G, out/G), not transposed; group g reads input slice g. */
function grouped(x: Float64Array, n: number, inDim: number, W: Float32Array, b: Float32Array, out: number, G: number): Float64Array {
  const gi = inDim / G;
  const go = out / G;
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let g = 0; g < G; g++) {
      for (let o = 0; o < go; o++) {
        let s = b[g * go + o];
        for (let i = 0; i < gi; i++) s += x[r * inDim + g * gi + i] * W[(g * gi + i) * go + o];
        y[r * out + g * go + o] = s;
      }
    }
  }
  return y;
}

function layerNorm(x: Float64Array, n: number, C: number, w: Float32Array, b: Float32Array, eps: number): void {
  for (let r = 0; r < n; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[r * C + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c] - mean) ** 2;
    v /= C;
    const inv = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) x[r * C + c] = (x[r * C + c] - mean) * inv * w[c] + b[c];
  }
}

export class RefEngine implements NativeEngine {
  #spec: EngineSpec | null;

  constructor(spec: EngineSpec) {
    // The model passes weights as getters that read or draw on access: read each once, like the native engine.
    const own = (o: Record<string, Float32Array>): Record<string, Float32Array> => Object.fromEntries(Object.keys(o).map((k) => [k, o[k]]));
    this.#spec = { ...spec, weights: own(spec.weights), head: { ...spec.head, weights: own(spec.head.weights) } };
  }

  get nativeBytes(): number {
    return 0;
  }

  dispose(): void {
    this.#spec = null;
  }

  async forward(req: ForwardRequest): Promise<void> {
    this.forwardSync(req);
  }

  forwardSync(req: ForwardRequest): void {
    const s = this.#spec;
    if (!s) throw Object.assign(new Error('disposed'), { code: 'ERR_CONVBERT_DISPOSED' });
    if (req.cu_seqlens) return this.varlen(s, req, req.cu_seqlens);
    const w = (k: string): Float32Array => {
      const a = s.weights[k];
      if (!a) throw new Error(`ref_engine: no weight ${k}`);
      return a;
    };
    const hw = (k: string): Float32Array => {
      const a = s.head.weights[k];
      if (!a) throw new Error(`ref_engine: no head weight ${k}`);
      return a;
    };
    const { B, L } = req;
    const E = s.embedding_size;
    const H = s.hidden_size;
    const sa = s.sa_heads;
    const hd = s.head_dim;
    const A = sa * hd;
    const K = s.conv_kernel_size;
    const G = s.num_groups;
    const I = s.intermediate_size;
    const pad = (K - 1) / 2;
    for (let b = 0; b < B; b++) {
      // Embeddings: word (or given) + position + token type, LayerNorm, then the projection.
      let h: Float64Array = new Float64Array(L * E);
      for (let l = 0; l < L; l++) {
        const pid = req.position_ids ? req.position_ids[b * L + l] : l;
        const tid = req.token_type_ids ? req.token_type_ids[b * L + l] : 0;
        for (let e = 0; e < E; e++) {
          const base = req.input_ids ? w('embeddings.word_embeddings.weight')[req.input_ids[b * L + l] * E + e] : req.inputs_embeds![(b * L + l) * E + e];
          h[l * E + e] = base + w('embeddings.position_embeddings.weight')[pid * E + e] + w('embeddings.token_type_embeddings.weight')[tid * E + e];
        }
      }
      layerNorm(h, L, E, w('embeddings.LayerNorm.weight'), w('embeddings.LayerNorm.bias'), s.layer_norm_eps);
      if (E !== H) h = linear(h, L, E, w('embeddings_project.weight'), w('embeddings_project.bias'), H);
      const put = (dst: Float32Array, src: Float64Array, off: number): void => {
        for (let i = 0; i < src.length; i++) dst[off + i] = src[i];
      };
      if (req.outputs.hidden_states) put(req.outputs.hidden_states[0], h, b * L * H);
      for (let layer = 0; layer < s.num_hidden_layers; layer++) {
        const p = `encoder.layer.${layer}.`;
        const q = linear(h, L, H, w(p + 'attention.self.query.weight'), w(p + 'attention.self.query.bias'), A);
        const k = linear(h, L, H, w(p + 'attention.self.key.weight'), w(p + 'attention.self.key.bias'), A);
        const v = linear(h, L, H, w(p + 'attention.self.value.weight'), w(p + 'attention.self.value.bias'), A);
        // Separable conv over the sequence: depthwise (zero padding k//2), pointwise, bias.
        const dwW = w(p + 'attention.self.key_conv_attn_layer.depthwise.weight');
        const dw = new Float64Array(L * H);
        for (let l = 0; l < L; l++) {
          for (let c = 0; c < H; c++) {
            let acc = 0;
            for (let j = 0; j < K; j++) {
              const src = l + j - Math.floor(K / 2);
              if (src >= 0 && src < L) acc += dwW[c * K + j] * h[src * H + c];
            }
            dw[l * H + c] = acc;
          }
        }
        const pwW = w(p + 'attention.self.key_conv_attn_layer.pointwise.weight');
        const kc = linear(dw, L, H, pwW, w(p + 'attention.self.key_conv_attn_layer.bias'), A);
        for (let i = 0; i < kc.length; i++) kc[i] *= q[i];
        const ck = linear(kc, L, A, w(p + 'attention.self.conv_kernel_layer.weight'), w(p + 'attention.self.conv_kernel_layer.bias'), sa * K);
        for (let r = 0; r < L * sa; r++) {
          let m = -Infinity;
          for (let j = 0; j < K; j++) m = Math.max(m, ck[r * K + j]);
          let z = 0;
          for (let j = 0; j < K; j++) z += Math.exp(ck[r * K + j] - m);
          for (let j = 0; j < K; j++) ck[r * K + j] = Math.exp(ck[r * K + j] - m) / z;
        }
        const co = linear(h, L, H, w(p + 'attention.self.conv_out_layer.weight'), w(p + 'attention.self.conv_out_layer.bias'), A);
        const ctx = new Float64Array(L * H);
        for (let l = 0; l < L; l++) {
          for (let hh = 0; hh < sa; hh++) {
            for (let d = 0; d < hd; d++) {
              let acc = 0;
              for (let j = 0; j < K; j++) {
                const src = l + j - pad;
                if (src >= 0 && src < L) acc += ck[(l * sa + hh) * K + j] * co[src * A + hh * hd + d];
              }
              ctx[l * H + A + hh * hd + d] = acc;
            }
          }
        }
        // Dot-product heads with the finfo.min mask bias, then head_mask on the probabilities.
        const scale = 1 / Math.sqrt(hd);
        const probs = new Float64Array(L);
        for (let hh = 0; hh < sa; hh++) {
          const hm = req.head_mask ? req.head_mask[layer * sa + hh] : 1;
          for (let i = 0; i < L; i++) {
            let m = -Infinity;
            for (let j = 0; j < L; j++) {
              let sc = 0;
              for (let d = 0; d < hd; d++) sc += q[i * A + hh * hd + d] * k[j * A + hh * hd + d];
              sc *= scale;
              if (req.attention_mask) {
                const mv = req.attention_mask_rank === 3 ? req.attention_mask[(b * L + i) * L + j] : req.attention_mask[b * L + j];
                sc = Math.fround(Math.fround(sc) + Math.fround((1 - mv) * F32_MIN));
              }
              probs[j] = sc;
              m = Math.max(m, sc);
            }
            let z = 0;
            for (let j = 0; j < L; j++) z += Math.exp(probs[j] - m);
            for (let j = 0; j < L; j++) probs[j] = (Math.exp(probs[j] - m) / z) * hm;
            if (req.outputs.attentions) {
              const att = req.outputs.attentions[layer];
              for (let j = 0; j < L; j++) att[((b * sa + hh) * L + i) * L + j] = probs[j];
            }
            for (let d = 0; d < hd; d++) {
              let acc = 0;
              for (let j = 0; j < L; j++) acc += probs[j] * v[j * A + hh * hd + d];
              ctx[i * H + hh * hd + d] = acc;
            }
          }
        }
        const ao = linear(ctx, L, H, w(p + 'attention.output.dense.weight'), w(p + 'attention.output.dense.bias'), H);
        for (let i = 0; i < ao.length; i++) ao[i] += h[i];
        layerNorm(ao, L, H, w(p + 'attention.output.LayerNorm.weight'), w(p + 'attention.output.LayerNorm.bias'), s.layer_norm_eps);
        const inter =
          G === 1
            ? linear(ao, L, H, w(p + 'intermediate.dense.weight'), w(p + 'intermediate.dense.bias'), I)
            : grouped(ao, L, H, w(p + 'intermediate.dense.weight'), w(p + 'intermediate.dense.bias'), I, G);
        for (let i = 0; i < inter.length; i++) inter[i] = act(s.hidden_act, inter[i]);
        const out =
          G === 1
            ? linear(inter, L, I, w(p + 'output.dense.weight'), w(p + 'output.dense.bias'), H)
            : grouped(inter, L, I, w(p + 'output.dense.weight'), w(p + 'output.dense.bias'), H, G);
        for (let i = 0; i < out.length; i++) out[i] += ao[i];
        layerNorm(out, L, H, w(p + 'output.LayerNorm.weight'), w(p + 'output.LayerNorm.bias'), s.layer_norm_eps);
        h = out;
        if (req.outputs.hidden_states) put(req.outputs.hidden_states[layer + 1], h, b * L * H);
      }
      put(req.outputs.last_hidden_state, h, b * L * H);
      this.head(s, req, b, h, hw);
    }
  }

  /** Varlen: each packed sequence runs alone as a (1, len) forward; outputs are copied into place. */
  private varlen(s: EngineSpec, req: ForwardRequest, cu: Int32Array): void {
    const H = s.hidden_size;
    const n = s.head.num_outputs;
    const perSeq = s.head.kind === 'sequence_classification' || s.head.kind === 'multiple_choice';
    for (let b = 0; b < req.B; b++) {
      const a = cu[b];
      const len = cu[b + 1] - a;
      const sub: ForwardRequest = {
        B: 1,
        L: len,
        input_ids: req.input_ids ? req.input_ids.slice(a, a + len) : null,
        inputs_embeds: req.inputs_embeds ? req.inputs_embeds.slice(a * s.embedding_size, (a + len) * s.embedding_size) : null,
        token_type_ids: req.token_type_ids ? req.token_type_ids.slice(a, a + len) : null,
        position_ids: req.position_ids ? req.position_ids.slice(a, a + len) : null,
        attention_mask: null,
        attention_mask_rank: 0,
        head_mask: req.head_mask,
        cls_index: req.cls_index ? req.cls_index.slice(b, b + 1) : null,
        outputs: {
          last_hidden_state: new Float32Array(len * H),
          logits: req.outputs.logits ? new Float32Array((perSeq ? 1 : len) * n) : null,
          hidden_states: req.outputs.hidden_states ? req.outputs.hidden_states.map(() => new Float32Array(len * H)) : null,
          attentions: null,
        },
      };
      this.forwardSync(sub);
      req.outputs.last_hidden_state.set(sub.outputs.last_hidden_state, a * H);
      if (req.outputs.logits) req.outputs.logits.set(sub.outputs.logits!, (perSeq ? b : a) * n);
      req.outputs.hidden_states?.forEach((h, i) => h.set(sub.outputs.hidden_states![i], a * H));
    }
  }

  private head(s: EngineSpec, req: ForwardRequest, b: number, h: Float64Array, hw: (k: string) => Float32Array): void {
    const { L } = req;
    const H = s.hidden_size;
    const E = s.embedding_size;
    const logits = req.outputs.logits;
    const N = s.head.num_outputs;
    const put = (src: Float64Array, off: number): void => {
      for (let i = 0; i < src.length; i++) logits![off + i] = src[i];
    };
    switch (s.head.kind) {
      case 'none':
        return;
      case 'masked_lm': {
        const t = linear(h, L, H, hw('generator_predictions.dense.weight'), hw('generator_predictions.dense.bias'), E);
        for (let i = 0; i < t.length; i++) t[i] = act(1, t[i]);
        layerNorm(t, L, E, hw('generator_predictions.LayerNorm.weight'), hw('generator_predictions.LayerNorm.bias'), s.layer_norm_eps);
        put(linear(t, L, E, hw('generator_lm_head.weight'), hw('generator_lm_head.bias'), N), b * L * N);
        return;
      }
      case 'sequence_classification': {
        const x = linear(h.subarray(0, H), 1, H, hw('classifier.dense.weight'), hw('classifier.dense.bias'), H);
        for (let i = 0; i < H; i++) x[i] = act(s.head.act!, x[i]);
        put(linear(x, 1, H, hw('classifier.out_proj.weight'), hw('classifier.out_proj.bias'), N), b * N);
        return;
      }
      case 'token_classification':
        put(linear(h, L, H, hw('classifier.weight'), hw('classifier.bias'), N), b * L * N);
        return;
      case 'question_answering':
        put(linear(h, L, H, hw('qa_outputs.weight'), hw('qa_outputs.bias'), 2), b * L * 2);
        return;
      case 'multiple_choice': {
        let x: Float64Array = new Float64Array(H);
        const st = s.head.summary_type ?? 'last';
        if (st === 'first') x.set(h.subarray(0, H));
        else if (st === 'mean') {
          for (let l = 0; l < L; l++) for (let c = 0; c < H; c++) x[c] += h[l * H + c] / L;
        } else {
          const pos = st === 'cls_index' && req.cls_index ? req.cls_index[b] : L - 1;
          x.set(h.subarray(pos * H, pos * H + H));
        }
        if (s.head.summary_use_proj) x = linear(x, 1, H, hw('sequence_summary.summary.weight'), hw('sequence_summary.summary.bias'), s.head.summary_proj_out!);
        if (s.head.summary_act !== undefined && s.head.summary_act >= 0) for (let i = 0; i < x.length; i++) x[i] = act(s.head.summary_act, x[i]);
        put(linear(x, 1, x.length, hw('classifier.weight'), hw('classifier.bias'), 1), b);
        return;
      }
    }
  }
}
