// fill_mask.ts: the fill-mask pipeline (transformers.js / HF FillMaskPipeline).
// For each [MASK] of a text: softmax over the vocab, the top_k tokens as
// {score, token, token_str, sequence}, the sequence being the text decoded with
// that mask filled (special tokens skipped). One mask gives a list; several give
// a list per mask, as HF. `targets` restricts the candidates to given tokens.
import { argError } from '../errors';
import { type ConvBertForMaskedLM } from '../models/heads/masked_lm';
import { asBatch, checkKeys, checkText, describe, encodeRows, intOption, type PipelineCore } from './base';
import { softmax, topk } from './math';

export interface FillMaskOptions {
  /** How many candidates per mask (default 5). */
  top_k?: number;
  /** Only score these tokens (each a vocab token or a word that tokenizes to one token first). */
  targets?: string | string[];
}

export interface FillMaskResult {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

/** One text's answer: the candidates of its mask, or one list per mask when it has several. */
export type FillMaskOutput = FillMaskResult[] | FillMaskResult[][];

export async function runFillMask(
  core: PipelineCore<ConvBertForMaskedLM>,
  input: string | string[],
  options?: FillMaskOptions,
): Promise<FillMaskOutput | FillMaskOutput[]> {
  core.checkAlive('fill-mask');
  const o = checkKeys('fill-mask options', options, ['top_k', 'targets']);
  const topK = intOption('top_k', o.top_k, 5, 1);
  const tok = core.tokenizer;
  const targetIds = o.targets === undefined ? null : resolveTargets(core, o.targets);
  const { items, batched } = asBatch('texts', input, checkText);
  const maskId = tok.mask_token_id;
  const rows = await encodeRows(tok, items, null, core.maxLength);
  const masks = rows.map((r, i) => {
    const pos: number[] = [];
    r.input_ids.forEach((id, j) => {
      if (id === maskId) pos.push(j);
    });
    if (pos.length === 0) {
      throw argError(`${batched ? `texts[${i}]` : 'text'}: no mask token (${tok.mask_token}) in ${describe(items[i])} (after truncation to ${core.maxLength} tokens)`);
    }
    return pos;
  });
  const outs = await core.run(rows, ['logits']);
  const V = core.model.config.vocab_size;
  const results = rows.map((r, i): FillMaskOutput => {
    const logits = outs[i].logits.data as Float32Array;
    const perMask = masks[i].map((p) => {
      const probs = softmax(logits.subarray(p * V, (p + 1) * V));
      let cand: number[];
      if (targetIds) {
        const sc = targetIds.map((id) => probs[id]);
        cand = topk(sc, topK).map((k) => targetIds[k]);
      } else cand = topk(probs, topK);
      return cand.map((id) => {
        const filled = r.input_ids.slice();
        filled[p] = id;
        return {
          score: probs[id],
          token: id,
          token_str: tok.decode([id]),
          sequence: tok.decode(filled, { skip_special_tokens: true }),
        };
      });
    });
    return perMask.length === 1 ? perMask[0] : perMask;
  });
  return batched ? results : results[0];
}

function resolveTargets(core: PipelineCore<ConvBertForMaskedLM>, targets: unknown): number[] {
  const list = typeof targets === 'string' ? [targets] : targets;
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string')) {
    throw argError(`targets: expected a string or a non-empty array of strings, got ${describe(targets)}`);
  }
  const tok = core.tokenizer;
  const ids: number[] = [];
  for (const t of list as string[]) {
    let id = tok.tokenToId(t);
    if (id === null) {
      // Like HF: a word not in the vocab is tokenized and its first token used.
      const pieces = tok.encode(t, { add_special_tokens: false }).input_ids;
      if (pieces.length === 0) throw argError(`targets: ${JSON.stringify(t)} tokenizes to nothing`);
      id = pieces[0];
    }
    if (id >= core.model.config.vocab_size) throw argError(`targets: ${JSON.stringify(t)} maps to id ${id}, outside the model's vocab_size ${core.model.config.vocab_size}`);
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}
