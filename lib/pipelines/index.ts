// index.ts: pipeline(task, modelIdOrDir, options), the transformers.js-style
// entry point. It resolves a Hub id or folder, loads the task's head and the
// tokenizer, and returns a callable `pipe(input, options)` (one input or an
// array) with `pipe.task`, `pipe.model`, `pipe.tokenizer` and `pipe.dispose()`.
// Every task runs rows unpadded (see base.ts), so batched == alone.
import { argError } from '../errors';
import { ConvBertModel } from '../models/convbert';
import { type ConvBertPreTrainedModel } from '../models/base';
import { ConvBertForMaskedLM } from '../models/heads/masked_lm';
import { ConvBertForMultipleChoice } from '../models/heads/multiple_choice';
import { ConvBertForQuestionAnswering } from '../models/heads/question_answering';
import { ConvBertForSequenceClassification } from '../models/heads/sequence_classification';
import { ConvBertForTokenClassification } from '../models/heads/token_classification';
import { type Tensor } from '../tensor';
import { type PreTrainedTokenizerBase } from '../tokenizer/base';
import { PipelineCore, checkPipelineOptions, loadParts, type PipelineOptions } from './base';
import { describe } from '../validate';
import { runFeatureExtraction, type FeatureExtractionOptions } from './feature_extraction';
import { runFillMask, type FillMaskOptions, type FillMaskOutput } from './fill_mask';
import { runMultipleChoice, type MultipleChoiceInput, type MultipleChoiceResult } from './multiple_choice';
import { runQuestionAnswering, type QuestionAnsweringInput, type QuestionAnsweringOptions, type QuestionAnsweringResult } from './question_answering';
import { runTextClassification, type TextClassificationInput, type TextClassificationOptions, type TextClassificationResult } from './text_classification';
import { runTokenClassification, type EntityGroup, type TokenClassificationOptions, type TokenEntity } from './token_classification';
import { runZeroShot, type ZeroShotOptions, type ZeroShotResult } from './zero_shot_classification';

export type { PipelineLimits, PipelineOptions } from './base';
export { DEFAULT_LIMITS, runWithLimits } from './base';
export type { FeatureExtractionOptions, Pooling } from './feature_extraction';
export type { FillMaskOptions, FillMaskOutput, FillMaskResult, FillMaskSingleMaskOutput, FillMaskMultiMaskOutput } from './fill_mask';
export { isMultiMaskOutput } from './fill_mask';
export type { MultipleChoiceInput, MultipleChoiceResult } from './multiple_choice';
export type { QuestionAnsweringInput, QuestionAnsweringOptions, QuestionAnsweringResult } from './question_answering';
export type { FunctionToApply, TextClassificationInput, TextClassificationOptions, TextClassificationResult } from './text_classification';
export type { AggregationStrategy, EntityGroup, TokenClassificationOptions, TokenEntity } from './token_classification';
export type { ZeroShotOptions, ZeroShotResult } from './zero_shot_classification';

export const SUPPORTED_TASKS = [
  'fill-mask',
  'text-classification',
  'token-classification',
  'question-answering',
  'feature-extraction',
  'zero-shot-classification',
  'multiple-choice',
] as const;
export type PipelineTask = (typeof SUPPORTED_TASKS)[number];

const ALIASES = {
  'sentiment-analysis': 'text-classification',
  ner: 'token-classification',
  embeddings: 'feature-extraction',
} as const satisfies Record<string, PipelineTask>;

/** transformers.js' aliases. */
export const TASK_ALIASES: Readonly<Record<string, PipelineTask>> = Object.freeze({ ...ALIASES });

/** Every name pipeline() takes: the tasks and their aliases (a string-literal union, no `string`). */
export type PipelineTaskName = PipelineTask | keyof typeof ALIASES;

/** What every pipeline has besides being callable. */
export interface PipelineBase<M extends ConvBertPreTrainedModel> {
  readonly task: PipelineTask;
  readonly model: M;
  readonly tokenizer: PreTrainedTokenizerBase;
  /** Frees the model's native memory (and the slow tokenizer's workers); later calls throw ERR_CONVBERT_DISPOSED. */
  dispose(): Promise<void>;
}

export interface FillMaskPipeline extends PipelineBase<ConvBertForMaskedLM> {
  (text: string, options?: FillMaskOptions): Promise<FillMaskOutput>;
  (texts: string[], options?: FillMaskOptions): Promise<FillMaskOutput[]>;
}

export interface TextClassificationPipeline extends PipelineBase<ConvBertForSequenceClassification> {
  /** top_k 1: [{label, score}]; top_k > 1 or null: a list, sorted. */
  (text: TextClassificationInput, options?: TextClassificationOptions): Promise<TextClassificationResult[]>;
  /** top_k 1: one {label, score} per text; otherwise one sorted list per text. */
  (texts: TextClassificationInput[], options?: TextClassificationOptions): Promise<TextClassificationResult[] | TextClassificationResult[][]>;
}

export interface TokenClassificationPipeline extends PipelineBase<ConvBertForTokenClassification> {
  (text: string, options?: TokenClassificationOptions): Promise<(TokenEntity | EntityGroup)[]>;
  (texts: string[], options?: TokenClassificationOptions): Promise<(TokenEntity | EntityGroup)[][]>;
}

export interface QuestionAnsweringPipeline extends PipelineBase<ConvBertForQuestionAnswering> {
  /** transformers.js' form: (question, context, options). top_k 1: one answer; more: a sorted list. */
  (question: string, context: string, options?: QuestionAnsweringOptions): Promise<QuestionAnsweringResult | QuestionAnsweringResult[]>;
  /** Questions and contexts side by side (one answer, or list, per pair). */
  (questions: string[], contexts: string[], options?: QuestionAnsweringOptions): Promise<(QuestionAnsweringResult | QuestionAnsweringResult[])[]>;
  /** top_k 1: one answer; more: a sorted list. */
  (input: QuestionAnsweringInput, options?: QuestionAnsweringOptions): Promise<QuestionAnsweringResult | QuestionAnsweringResult[]>;
  (inputs: QuestionAnsweringInput[], options?: QuestionAnsweringOptions): Promise<(QuestionAnsweringResult | QuestionAnsweringResult[])[]>;
}

export interface FeatureExtractionPipeline extends PipelineBase<ConvBertModel> {
  (texts: string | string[], options?: FeatureExtractionOptions): Promise<Tensor<'float32'>>;
}

export interface ZeroShotClassificationPipeline extends PipelineBase<ConvBertForSequenceClassification> {
  (text: string, candidate_labels: string | string[], options?: ZeroShotOptions): Promise<ZeroShotResult>;
  (texts: string[], candidate_labels: string | string[], options?: ZeroShotOptions): Promise<ZeroShotResult[]>;
}

export interface MultipleChoicePipeline extends PipelineBase<ConvBertForMultipleChoice> {
  (input: MultipleChoiceInput): Promise<MultipleChoiceResult>;
  (inputs: MultipleChoiceInput[]): Promise<MultipleChoiceResult[]>;
}

export interface PipelineTypes extends Record<PipelineTaskName, PipelineBase<ConvBertPreTrainedModel>> {
  'fill-mask': FillMaskPipeline;
  'text-classification': TextClassificationPipeline;
  'sentiment-analysis': TextClassificationPipeline;
  'token-classification': TokenClassificationPipeline;
  ner: TokenClassificationPipeline;
  'question-answering': QuestionAnsweringPipeline;
  'feature-extraction': FeatureExtractionPipeline;
  embeddings: FeatureExtractionPipeline;
  'zero-shot-classification': ZeroShotClassificationPipeline;
  'multiple-choice': MultipleChoicePipeline;
}

export type AnyPipeline = PipelineTypes[keyof PipelineTypes];

type Runner = (...args: never[]) => Promise<unknown>;

function makePipe<M extends ConvBertPreTrainedModel>(task: PipelineTask, core: PipelineCore<M>, run: Runner): PipelineBase<M> {
  const fn = run as unknown as PipelineBase<M> & Record<string, unknown>;
  Object.defineProperties(fn, {
    task: { value: task, enumerable: true },
    model: { value: core.model, enumerable: true },
    tokenizer: { value: core.tokenizer, enumerable: true },
    dispose: { value: () => core.dispose(), enumerable: false },
  });
  return fn;
}

/**
 * Builds a pipeline for `task` from a Hub id ("org/name") or a local model folder.
 * Options: tokenizer 'fast' | 'slow', revision, cacheDir, hub (other Hub settings),
 * dtype/device (passed to fromPretrained), batch_size (most rows per forward),
 * limits (the work one call may ask for; DEFAULT_LIMITS otherwise).
 */
export async function pipeline<T extends PipelineTaskName>(task: T, modelIdOrDir: string, options?: PipelineOptions): Promise<PipelineTypes[T]>;
export async function pipeline(task: PipelineTaskName, modelIdOrDir: string, options: PipelineOptions = {}): Promise<AnyPipeline> {
  if (typeof task !== 'string') throw argError(`task: expected a task name string, got ${describe(task)}`);
  let t: PipelineTask | undefined;
  if ((SUPPORTED_TASKS as readonly string[]).includes(task)) t = task as PipelineTask;
  else if (Object.prototype.hasOwnProperty.call(TASK_ALIASES, task)) t = TASK_ALIASES[task];
  if (t === undefined) {
    throw argError(`task: unknown task ${JSON.stringify(task)}; expected one of ${[...SUPPORTED_TASKS, ...Object.keys(TASK_ALIASES)].join(', ')}`);
  }
  if (typeof modelIdOrDir !== 'string' || modelIdOrDir === '') {
    throw argError(`modelIdOrDir: expected a Hub repo id like "org/name" or a model folder, got ${describe(modelIdOrDir)}`);
  }
  const o = checkPipelineOptions(options);
  const pipe = await build(t, modelIdOrDir, o);
  // transformers.js's last progress event: the pipeline is loaded and ready to run.
  if (typeof options.progress_callback === 'function') options.progress_callback({ status: 'ready', task: t, model: modelIdOrDir });
  return pipe;
}

async function build(t: PipelineTask, modelIdOrDir: string, o: PipelineOptions): Promise<AnyPipeline> {
  const bs = o.batch_size;
  switch (t) {
    case 'fill-mask': {
      const p = await loadParts((d, mo) => ConvBertForMaskedLM.fromPretrained(d, mo), modelIdOrDir, o);
      const core = new PipelineCore(p.model, p.tokenizer, bs, o.limits);
      return makePipe(t, core, (input: string | string[], opts?: FillMaskOptions) => runFillMask(core, input, opts)) as FillMaskPipeline;
    }
    case 'text-classification': {
      const p = await loadParts((d, mo) => ConvBertForSequenceClassification.fromPretrained(d, mo), modelIdOrDir, o);
      const core = new PipelineCore(p.model, p.tokenizer, bs, o.limits);
      return makePipe(t, core, (input: TextClassificationInput | TextClassificationInput[], opts?: TextClassificationOptions) =>
        runTextClassification(core, input, opts),
      ) as TextClassificationPipeline;
    }
    case 'token-classification': {
      const p = await loadParts((d, mo) => ConvBertForTokenClassification.fromPretrained(d, mo), modelIdOrDir, o);
      const core = new PipelineCore(p.model, p.tokenizer, bs, o.limits);
      return makePipe(t, core, (input: string | string[], opts?: TokenClassificationOptions) => runTokenClassification(core, input, opts)) as TokenClassificationPipeline;
    }
    case 'question-answering': {
      const p = await loadParts((d, mo) => ConvBertForQuestionAnswering.fromPretrained(d, mo), modelIdOrDir, o);
      const core = new PipelineCore(p.model, p.tokenizer, bs, o.limits);
      // async: a bad argument is a rejected promise, like every other pipeline error.
      return makePipe(t, core, async (input: unknown, second?: unknown, third?: unknown) => {
        const { inputs, options: opts } = qaArguments(input, second, third, argCount(input, second, third));
        return runQuestionAnswering(core, inputs, opts);
      }) as QuestionAnsweringPipeline;
    }
    case 'feature-extraction': {
      const p = await loadParts((d, mo) => ConvBertModel.fromPretrained(d, mo), modelIdOrDir, o);
      const core = new PipelineCore(p.model, p.tokenizer, bs, o.limits);
      return makePipe(t, core, (input: string | string[], opts?: FeatureExtractionOptions) => runFeatureExtraction(core, input, opts)) as FeatureExtractionPipeline;
    }
    case 'zero-shot-classification': {
      const p = await loadParts((d, mo) => ConvBertForSequenceClassification.fromPretrained(d, mo), modelIdOrDir, o);
      const core = new PipelineCore(p.model, p.tokenizer, bs, o.limits);
      return makePipe(t, core, (input: string | string[], labels: string | string[], opts?: ZeroShotOptions) =>
        runZeroShot(core, input, labels, opts),
      ) as ZeroShotClassificationPipeline;
    }
    case 'multiple-choice': {
      const p = await loadParts((d, mo) => ConvBertForMultipleChoice.fromPretrained(d, mo), modelIdOrDir, o);
      const core = new PipelineCore(p.model, p.tokenizer, bs, o.limits);
      return makePipe(t, core, (input: MultipleChoiceInput | MultipleChoiceInput[], opts?: Record<string, never>) =>
        runMultipleChoice(core, input, opts),
      ) as MultipleChoicePipeline;
    }
  }
}

/** How many arguments a call gave, trailing undefined ones not counted. */
function argCount(...a: unknown[]): number {
  let n = a.length;
  while (n > 0 && a[n - 1] === undefined) n--;
  return n;
}

/**
 * question-answering's two call forms: ({question, context} | list, options), or
 * transformers.js' (question, context, options) with strings or equal-length lists.
 */
function qaArguments(a: unknown, b: unknown, c: unknown, n: number): { inputs: QuestionAnsweringInput | QuestionAnsweringInput[]; options: QuestionAnsweringOptions | undefined } {
  const isStrings = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
  if (typeof a === 'string' || isStrings(a)) {
    if (typeof a === 'string') {
      if (typeof b !== 'string') {
        throw argError(`context: expected a string after the question, as in qa(question, context, options) (or one {question, context} object), got ${describe(b)}`);
      }
      return { inputs: { question: a, context: b }, options: c as QuestionAnsweringOptions | undefined };
    }
    const qs = a as string[];
    if (!isStrings(b) || (b as string[]).length !== qs.length) {
      throw argError(`contexts: expected an array of ${qs.length} strings, one per question, got ${Array.isArray(b) ? `an array of ${b.length}` : describe(b)}`);
    }
    return { inputs: qs.map((question, i) => ({ question, context: (b as string[])[i] })), options: c as QuestionAnsweringOptions | undefined };
  }
  if (n > 2) throw argError(`question-answering: expected (question, context, options) or ({question, context}, options), got 3 arguments starting with ${describe(a)}`);
  return { inputs: a as QuestionAnsweringInput | QuestionAnsweringInput[], options: b as QuestionAnsweringOptions | undefined };
}
