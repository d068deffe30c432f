// fill_mask.ts: the fill-mask pipeline (transformers.js / HF FillMaskPipeline).
// For each [MASK] of a text: softmax over the vocab, the top_k tokens as
// {score, token, token_str, sequence}, the sequence being the text decoded with
// that mask filled (special tokens skipped). One mask gives a list; several give
// a list per mask, as HF. `targets` restricts the candidates to given tokens.
// The work is bounded before the model runs: top_k <= maxTopK, masks per text <=
// maxMasks, candidates (masks x top_k) per call <= maxCandidates (PipelineLimits).
import { setImmediate as nextTurn } from 'timers/promises';

import { argError } from '../errors';
import { type ConvBertForMaskedLM } from '../models/heads/masked_lm';
import { asBatch, checkAtMost, checkKeys, checkText, encodeRows, limitError, type PipelineCore } from './base';
import { describe, intOption } from '../validate';
import { softmaxInto, topk } from './math';

export interface FillMaskOptions {
  /** How many candidates per mask (default 5, at most the pipeline's limits.maxTopK). */
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

/** The answer for a text with one mask: its candidates, best first. */
export type FillMaskSingleMaskOutput = FillMaskResult[];

/** The answer for a text with several masks: one list of candidates per mask, in text order (as HF). */
export type FillMaskMultiMaskOutput = FillMaskResult[][];

/** One text's answer: the candidates of its mask, or one list per mask when it has several. */
export type FillMaskOutput = FillMaskSingleMaskOutput | FillMaskMultiMaskOutput;

/** True for a text with several masks (a list per mask), false for one mask (a list of candidates). */
export function isMultiMaskOutput(out: FillMaskOutput): out is FillMaskMultiMaskOutput {
  return out.length > 0 && Array.isArray(out[0]);
}

/**
 * Post-processing runs on the event loop (softmax and selection are O(vocab) per
 * mask, decoding O(tokens) per candidate; about 1.5 ms per mask of a 30522-token
 * vocab on a busy 2-vCPU machine). After about this many element steps (8 such
 * masks, ~15 ms) it yields a turn, so other requests' I/O runs between slices of a
 * large call; the whole call is bounded by maxCandidates (each mask has one or more).
 */
const WORK_PER_TURN = 1 << 18;

export async function runFillMask(core: PipelineCore<ConvBertForMaskedLM>, input: string | string[], options?: FillMaskOptions): Promise<FillMaskOutput | FillMaskOutput[]> {
  core.checkAlive('fill-mask');
  const limits = core.limits;
  const o = checkKeys('fill-mask options', options, ['top_k', 'targets']);
  const topK = intOption('top_k', o.top_k, 5, 1);
  checkAtMost('top_k', topK, 'maxTopK', limits.maxTopK);
  const tok = core.tokenizer;
  const V = core.model.config.vocab_size;
  const targetIds = o.targets === undefined ? null : resolveTargets(core, o.targets);
  const { items, batched } = asBatch('texts', input, checkText);
  core.checkRows('texts', items.length);
  const maskId = tok.mask_token_id;
  const rows = await encodeRows(tok, items, null, core.maxLength);
  const perMask = Math.min(topK, targetIds ? targetIds.length : V);
  let candidates = 0;
  const masks = rows.map((r, i) => {
    const pos: number[] = [];
    r.input_ids.forEach((id, j) => {
      if (id === maskId) pos.push(j);
    });
    const name = batched ? `texts[${i}]` : 'text';
    if (pos.length === 0) {
      throw argError(`${name}: no mask token (${tok.mask_token}) in ${describe(items[i])} (after truncation to ${core.maxLength} tokens)`);
    }
    checkAtMost(`${name}: mask tokens (${tok.mask_token})`, pos.length, 'maxMasks', limits.maxMasks);
    candidates += pos.length * perMask;
    return pos;
  });
  if (candidates > limits.maxCandidates) {
    const nMasks = masks.reduce((s, m) => s + m.length, 0);
    throw limitError(`fill-mask: ${nMasks} mask(s) x top_k ${perMask}`, candidates, 'candidates', 'maxCandidates', limits.maxCandidates);
  }
  const outs = await core.run(rows, ['logits']);
  // One buffer for every mask's probabilities: the same float64 softmax as math.softmax.
  const probs = new Float64Array(V);
  let work = 0;
  const results: FillMaskOutput[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const logits = outs[i].logits.data as Float32Array;
    const lists: FillMaskResult[][] = [];
    for (const p of masks[i]) {
      softmaxInto(logits.subarray(p * V, (p + 1) * V), probs);
      // Ties go to the lower id (index), as a stable sort of the probabilities gives.
      const cand = targetIds
        ? topk(
            targetIds.map((id) => probs[id]),
            topK,
          ).map((k) => targetIds[k])
        : topk(probs, topK);
      lists.push(
        cand.map((id) => {
          const filled = r.input_ids.slice();
          filled[p] = id;
          return {
            score: probs[id],
            token: id,
            token_str: tok.decode([id]),
            sequence: tok.decode(filled, { skip_special_tokens: true }),
          };
        }),
      );
      work += V + cand.length * r.input_ids.length;
      if (work >= WORK_PER_TURN) {
        work = 0;
        await nextTurn();
        core.checkAlive('fill-mask');
      }
    }
    results.push(lists.length === 1 ? lists[0] : lists);
  }
  return batched ? results : results[0];
}

function resolveTargets(core: PipelineCore<ConvBertForMaskedLM>, targets: unknown): number[] {
  const list = typeof targets === 'string' ? [targets] : targets;
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string')) {
    throw argError(`targets: expected a string or a non-empty array of strings, got ${describe(targets)}`);
  }
  const tok = core.tokenizer;
  // A Set keeps the first occurrence of each id in order, in O(1) per target (a long list stays linear).
  const ids = new Set<number>();
  for (const t of list as string[]) {
    let id = tok.tokenToId(t);
    if (id === null) {
      // Like HF: a word not in the vocab is tokenized and its first token used.
      const pieces = tok.encode(t, { add_special_tokens: false }).input_ids;
      if (pieces.length === 0) throw argError(`targets: ${JSON.stringify(t)} tokenizes to nothing`);
      id = pieces[0];
    }
    if (id >= core.model.config.vocab_size) throw argError(`targets: ${JSON.stringify(t)} maps to id ${id}, outside the model's vocab_size ${core.model.config.vocab_size}`);
    ids.add(id);
  }
  return [...ids];
}
