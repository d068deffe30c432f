// text_classification.ts: the text-classification pipeline (transformers.js /
// HF TextClassificationPipeline). Logits of the sequence-classification head go
// through function_to_apply (default from the config like HF: regression ->
// none, multi-label or one label -> sigmoid, otherwise softmax), then the top_k
// labels by score, named from id2label. Shapes as transformers.js: top_k 1 gives
// one {label, score} per text (flat), top_k > 1 (or null = all) a list per text.
import { type ConvBertConfig } from '../config';
import { argError } from '../errors';
import { type ConvBertForSequenceClassification } from '../models/heads/sequence_classification';
import { asBatch, checkKeys, encodeRows, type PipelineCore } from './base';
import { describe, enumOption, intOption, isPlainObject } from '../validate';
import { sigmoid, softmax, topk } from './math';

export type FunctionToApply = 'softmax' | 'sigmoid' | 'none';

export interface TextClassificationOptions {
  /** Labels per text (default 1); null returns every label, sorted. */
  top_k?: number | null;
  /** Default: from problem_type / num_labels as HF. */
  function_to_apply?: FunctionToApply;
}

/** A text, or a text with its pair ({text, text_pair}). */
export type TextClassificationInput = string | { text: string; text_pair?: string | null };

export interface TextClassificationResult {
  label: string;
  score: number;
}

export function defaultFunction(c: ConvBertConfig): FunctionToApply {
  if (c.problem_type === 'regression') return 'none';
  if (c.problem_type === 'multi_label_classification' || c.num_labels === 1) return 'sigmoid';
  return 'softmax';
}

export function applyFunction(f: FunctionToApply, logits: ArrayLike<number>): Float64Array {
  if (f === 'softmax') return softmax(logits);
  if (f === 'sigmoid') return sigmoid(logits);
  return Float64Array.from(logits);
}

export function labelName(c: ConvBertConfig, i: number): string {
  const l = (c.id2label as Record<string, string>)[String(i)];
  return typeof l === 'string' ? l : `LABEL_${i}`;
}

function checkInput(v: unknown, name: string): { text: string; pair: string | null } {
  if (typeof v === 'string') return { text: v, pair: null };
  if (isPlainObject(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'text' && k !== 'text_pair') throw argError(`${name}: unknown key '${k}'; expected text, text_pair`);
    if (typeof o.text !== 'string') throw argError(`${name}.text: expected a string, got ${describe(o.text)}`);
    if (o.text_pair !== undefined && o.text_pair !== null && typeof o.text_pair !== 'string') {
      throw argError(`${name}.text_pair: expected a string or null, got ${describe(o.text_pair)}`);
    }
    return { text: o.text, pair: (o.text_pair as string | null | undefined) ?? null };
  }
  throw argError(`${name}: expected a string or {text, text_pair}, got ${describe(v)}`);
}

export async function runTextClassification(
  core: PipelineCore<ConvBertForSequenceClassification>,
  input: TextClassificationInput | TextClassificationInput[],
  options?: TextClassificationOptions,
): Promise<TextClassificationResult[] | TextClassificationResult[][]> {
  core.checkAlive('text-classification');
  const o = checkKeys('text-classification options', options, ['top_k', 'function_to_apply']);
  const c = core.model.config;
  const N = c.num_labels;
  const topK = o.top_k === null ? N : intOption('top_k', o.top_k, 1, 1);
  const fn = enumOption<FunctionToApply>('function_to_apply', o.function_to_apply, ['softmax', 'sigmoid', 'none'], defaultFunction(c));
  const { items, batched } = asBatch('texts', input, checkInput);
  core.checkRows('texts', items.length);
  const rows = await encodeRows(
    core.tokenizer,
    items.map((x) => x.text),
    items.map((x) => x.pair),
    core.maxLength,
  );
  const outs = await core.run(rows, ['logits']);
  const per = outs.map((out) => {
    const scores = applyFunction(fn, out.logits.data as Float32Array);
    return topk(scores, topK).map((i) => ({ label: labelName(c, i), score: scores[i] }));
  });
  if (topK === 1 && o.top_k !== null) return per.map((p) => p[0]);
  return batched ? per : per[0];
}
