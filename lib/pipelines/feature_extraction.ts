// feature_extraction.ts: the feature-extraction pipeline (transformers.js). The
// bare trunk's last_hidden_state, pooled: 'none' (B, L, H), 'cls' (B, H) = token
// 0, 'mean' (B, H) = mean over the text's tokens (specials included, as
// transformers.js with an all-ones mask); normalize divides each vector along H
// by its L2 norm. With pooling 'none' and texts of different lengths, rows are
// zero-filled after their own length (every text still ran alone, unpadded).
import { type ConvBertModel } from '../models/convbert';
import { Tensor } from '../tensor';
import { asBatch, checkKeys, checkText, encodeRows, type PipelineCore } from './base';
import { boolOption, enumOption } from '../validate';

export type Pooling = 'none' | 'cls' | 'mean';

export interface FeatureExtractionOptions {
  /** Default 'none'. */
  pooling?: Pooling;
  /** L2-normalise along the hidden dim (default false). */
  normalize?: boolean;
}

function l2normalize(a: Float32Array, H: number): void {
  for (let o = 0; o < a.length; o += H) {
    let s = 0;
    for (let k = 0; k < H; k++) s += a[o + k] * a[o + k];
    // Like torch's F.normalize: divide by max(norm, eps) so a zero vector stays zero.
    const n = Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < H; k++) a[o + k] /= n;
  }
}

export async function runFeatureExtraction(core: PipelineCore<ConvBertModel>, input: string | string[], options?: FeatureExtractionOptions): Promise<Tensor<'float32'>> {
  core.checkAlive('feature-extraction');
  const o = checkKeys('feature-extraction options', options, ['pooling', 'normalize']);
  const pooling = enumOption<Pooling>('pooling', o.pooling, ['none', 'cls', 'mean'], 'none');
  const normalize = boolOption('normalize', o.normalize, false);
  const { items } = asBatch('texts', input, checkText);
  core.checkRows('texts', items.length);
  const rows = await encodeRows(core.tokenizer, items, null, core.maxLength);
  const outs = await core.run(rows, ['last_hidden_state']);
  const H = core.model.config.hidden_size;
  const B = rows.length;
  let result: Tensor<'float32'>;
  if (pooling === 'none') {
    const Lmax = Math.max(...rows.map((r) => r.input_ids.length));
    const data = new Float32Array(B * Lmax * H);
    outs.forEach((out, b) => data.set(out.last_hidden_state.data as Float32Array, b * Lmax * H));
    if (normalize) l2normalize(data, H);
    result = new Tensor('float32', data, [B, Lmax, H]);
  } else {
    const data = new Float32Array(B * H);
    outs.forEach((out, b) => {
      const h = out.last_hidden_state.data as Float32Array;
      const L = rows[b].input_ids.length;
      if (pooling === 'cls') data.set(h.subarray(0, H), b * H);
      else {
        // Sum in float64, then round once.
        const acc = new Float64Array(H);
        for (let j = 0; j < L; j++) for (let k = 0; k < H; k++) acc[k] += h[j * H + k];
        for (let k = 0; k < H; k++) data[b * H + k] = acc[k] / L;
      }
    });
    if (normalize) l2normalize(data, H);
    result = new Tensor('float32', data, [B, H]);
  }
  return result;
}
