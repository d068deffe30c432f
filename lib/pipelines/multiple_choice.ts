// multiple_choice.ts: the multiple-choice pipeline (ours; HF has none). Each
// choice is encoded as the pair (question, choice) and run through
// ConvBertForMultipleChoice ALONE, unpadded (HF pads choices to one length and its
// 'last' summary then reads a pad position; we score each choice as if it were the
// only one). scores = softmax over the question's choice logits; best = argmax.
// Every choice is a model row, counted against limits.maxRows.
import { argError } from '../errors';
import { type ConvBertForMultipleChoice } from '../models/heads/multiple_choice';
import { asBatch, checkKeys, encodeRows, type PipelineCore } from './base';
import { describe, isPlainObject } from '../validate';
import { argmax, softmax } from './math';

export interface MultipleChoiceInput {
  question: string;
  choices: string[];
}

export interface MultipleChoiceResult {
  /** One probability per choice, in the order given (they sum to 1). */
  scores: number[];
  /** Index of the highest-scoring choice. */
  best: number;
}

function checkInput(v: unknown, name: string): MultipleChoiceInput {
  if (!isPlainObject(v)) throw argError(`${name}: expected {question, choices}, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'question' && k !== 'choices') throw argError(`${name}: unknown key '${k}'; expected question, choices`);
  if (typeof o.question !== 'string') throw argError(`${name}.question: expected a string, got ${describe(o.question)}`);
  if (!Array.isArray(o.choices) || o.choices.length === 0) throw argError(`${name}.choices: expected a non-empty array of strings, got ${describe(o.choices)}`);
  o.choices.forEach((c, i) => {
    if (typeof c !== 'string') throw argError(`${name}.choices[${i}]: expected a string, got ${describe(c)}`);
  });
  return { question: o.question, choices: o.choices as string[] };
}

export async function runMultipleChoice(
  core: PipelineCore<ConvBertForMultipleChoice>,
  input: MultipleChoiceInput | MultipleChoiceInput[],
  options?: Record<string, never>,
): Promise<MultipleChoiceResult | MultipleChoiceResult[]> {
  core.checkAlive('multiple-choice');
  checkKeys('multiple-choice options', options, []);
  const { items, batched } = asBatch('inputs', input, checkInput);
  core.checkRows(
    'multiple-choice: the choices of all inputs',
    items.reduce((sum, x) => sum + x.choices.length, 0),
  );
  const rows = await encodeRows(
    core.tokenizer,
    items.flatMap((x) => x.choices.map(() => x.question)),
    items.flatMap((x) => x.choices),
    core.maxLength,
  );
  const outs = await core.run(rows, ['logits'], true);
  let k = 0;
  const results = items.map((x) => {
    const logits = x.choices.map(() => (outs[k++].logits.data as Float32Array)[0]);
    const scores = Array.from(softmax(logits));
    return { scores, best: argmax(scores) };
  });
  return batched ? results : results[0];
}
