// zero_shot_classification.ts: the zero-shot-classification pipeline (HF /
// transformers.js), on an NLI sequence-classification head. Each candidate label
// becomes a hypothesis (hypothesis_template with {} replaced) paired with the
// text. multi_label: per label, softmax over [contradiction, entailment] logits;
// otherwise softmax of the entailment logits across labels. The entailment and
// contradiction ids come from the config's label names (prefixes "entail" and
// "contradict"); without them, HF's fallback (entailment = last, contradiction =
// 0, or last when entailment is 0). Output {sequence, labels, scores}, sorted.
// Every (text, label) pair is a model row, counted against limits.maxRows.
import { type ConvBertConfig } from '../config';
import { ConvBertError, argError } from '../errors';
import { type ConvBertForSequenceClassification } from '../models/heads/sequence_classification';
import { asBatch, checkKeys, checkText, encodeRows, type PipelineCore } from './base';
import { boolOption, describe } from '../validate';
import { softmax } from './math';
import { labelName } from './text_classification';

export interface ZeroShotOptions {
  /** Default "This example is {}.". */
  hypothesis_template?: string;
  /** Score each label on its own (scores need not sum to 1); default false. */
  multi_label?: boolean;
}

export interface ZeroShotResult {
  sequence: string;
  labels: string[];
  scores: number[];
}

const warned = new WeakSet<ConvBertConfig>();

/**
 * Most characters of all hypotheses together: a template with many {} and long labels
 * would otherwise build strings far larger than the request (each is truncated to the
 * model's length by the tokenizer anyway).
 */
export const MAX_HYPOTHESIS_CHARS = 1 << 20;

/** The entailment and contradiction class ids of an NLI head (warns once per config when guessing). */
export function nliIds(c: ConvBertConfig): { entailment: number; contradiction: number } {
  const N = c.num_labels;
  let entailment = -1;
  let contradiction = -1;
  for (let i = 0; i < N; i++) {
    const l = labelName(c, i).toLowerCase();
    if (entailment < 0 && l.startsWith('entail')) entailment = i;
    if (contradiction < 0 && l.startsWith('contradict')) contradiction = i;
  }
  if (entailment < 0) {
    entailment = N - 1;
    if (!warned.has(c)) {
      warned.add(c);
      process.emitWarning(
        `zero-shot-classification: no label of id2label starts with "entail" (${Array.from({ length: N }, (_, i) => labelName(c, i)).join(', ')}); ` +
          `using the last one (${labelName(c, N - 1)}) as entailment, as HF does. Is this an NLI model?`,
        { code: 'CONVBERT_ZERO_SHOT_LABELS' },
      );
    }
  }
  if (contradiction < 0) contradiction = entailment === 0 ? N - 1 : 0;
  return { entailment, contradiction };
}

function checkLabels(v: unknown): string[] {
  let list: unknown = v;
  // Like HF: a string is a comma-separated list of labels.
  if (typeof v === 'string')
    list = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string' || x.length === 0)) {
    throw argError(`candidate_labels: expected a non-empty array of non-empty strings (or a comma-separated string), got ${describe(v)}`);
  }
  return list as string[];
}

export async function runZeroShot(
  core: PipelineCore<ConvBertForSequenceClassification>,
  input: string | string[],
  candidateLabels: string | string[],
  options?: ZeroShotOptions,
): Promise<ZeroShotResult | ZeroShotResult[]> {
  core.checkAlive('zero-shot-classification');
  const o = checkKeys('zero-shot-classification options', options, ['hypothesis_template', 'multi_label']);
  const template = o.hypothesis_template === undefined ? 'This example is {}.' : o.hypothesis_template;
  if (typeof template !== 'string' || !template.includes('{}')) {
    throw argError(`hypothesis_template: expected a string containing {} (where each label goes), got ${describe(template)}`);
  }
  const multi = boolOption('multi_label', o.multi_label, false);
  const labels = checkLabels(candidateLabels);
  const c = core.model.config;
  if (c.num_labels < 2) throw argError(`zero-shot-classification: the model has num_labels ${c.num_labels}; an NLI head needs entailment and contradiction classes`);
  const { entailment, contradiction } = nliIds(c);
  const { items, batched } = asBatch('texts', input, checkText);
  core.checkRows(`zero-shot-classification: ${items.length} text(s) x ${labels.length} candidate_labels`, items.length * labels.length);
  const parts = template.split('{}');
  const hypChars = labels.reduce((sum, l) => sum + template.length - 2 * (parts.length - 1) + (parts.length - 1) * l.length, 0);
  if (hypChars > MAX_HYPOTHESIS_CHARS) {
    throw new ConvBertError(
      `hypothesis_template: its ${parts.length - 1} {} filled with ${labels.length} candidate_labels make ${hypChars} characters of hypotheses, more than the limit of ${MAX_HYPOTHESIS_CHARS}`,
      'ERR_CONVBERT_LIMIT',
    );
  }
  const hyps = labels.map((l) => parts.join(l));
  const rows = await encodeRows(
    core.tokenizer,
    items.flatMap((t) => labels.map(() => t)),
    items.flatMap(() => hyps),
    core.maxLength,
  );
  const outs = await core.run(rows, ['logits']);
  const n = labels.length;
  const results = items.map((seq, i) => {
    const logit = (k: number, cls: number): number => (outs[i * n + k].logits.data as Float32Array)[cls];
    let scores: number[];
    if (multi || n === 1) scores = labels.map((_, k) => softmax([logit(k, contradiction), logit(k, entailment)])[1]);
    else scores = Array.from(softmax(labels.map((_, k) => logit(k, entailment))));
    const order = labels.map((_, k) => k).sort((a, b) => scores[b] - scores[a] || a - b);
    return { sequence: seq, labels: order.map((k) => labels[k]), scores: order.map((k) => scores[k]) };
  });
  return batched ? results : results[0];
}
