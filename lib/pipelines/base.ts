// base.ts: what every pipeline shares: loading a model + tokenizer from a Hub
// id or a folder, option checks that name the argument, and the batch runner.
// ConvBERT's conv branch reads padding (DESIGN.md, Padding semantics), so the
// runner never pads: it groups rows of equal token length (up to batch_size a
// forward), or hands the rows to model.forwardPacked when the model has one.
// Either way each row's output equals the row run alone. Texts longer than the
// model takes (model_max_length, max_position_embeddings) are truncated, except
// in question answering, which windows the context (doc stride). Every row a call
// makes counts against its limits (PipelineLimits), checked before the rows run.
import { AsyncLocalStorage } from 'async_hooks';

import { ConvBertError, argError } from '../errors';
import { attachBatching, groupByLength, type BatchingOptions } from '../batching/model';
import { ConvBertConfig } from '../config';
import { resolveModelPath, type HubOptions } from '../hub';
import { type ConvBertPreTrainedModel, type ModelDevice, type PretrainedDtype } from '../models/base';
import { HUB_OPTION_ALIASES, checkOptionKeys, normalizeAliases, type TransformersJsHubOptions } from '../options';
import { Tensor } from '../tensor';
import { ConvBertTokenizer } from '../tokenizer/convbert';
import { ConvBertTokenizerFast } from '../tokenizer/fast';
import { type PreTrainedTokenizerBase } from '../tokenizer/base';
import { describe, enumOption, intOption, isPlainObject } from '../validate';

/** Options of pipeline(): where the files come from and how batches run. */
export interface PipelineOptions extends TransformersJsHubOptions {
  /** 'fast' (native WordPiece, default) or 'slow' (TypeScript WordPiece); both give the same ids. */
  tokenizer?: 'fast' | 'slow';
  /** Hub branch, tag or commit (Hub ids only). */
  revision?: string;
  /** Hub cache root (Hub ids only). */
  cacheDir?: string;
  /** Use only the Hub cache, never the network (Hub ids only). */
  localFilesOnly?: boolean;
  /** Download progress: true (a bar on stderr), false, or a function called with each report. */
  progress?: HubOptions['progress'];
  /** Other Hub settings (token, endpoint, timeouts, ...). */
  hub?: Omit<HubOptions, 'revision' | 'cacheDir'>;
  /** The model's weight precision (fromPretrained's dtype): 'float32' (default), 'bfloat16', 'float16', 'int8', or transformers.js' 'fp32', 'bf16', 'fp16', 'q8'. */
  dtype?: PretrainedDtype;
  /** Where the model runs (fromPretrained's device): 'cpu' (default), 'cuda', 'cuda:N' or 'auto'. */
  device?: ModelDevice;
  /** Passed to the model's fromPretrained (linear modules kept in float32 under dtype 'bfloat16' or 'int8'). */
  modulesToNotConvert?: readonly string[];
  /** Most rows per forward call (default 8). Results do not depend on it. */
  batch_size?: number;
  /**
   * Dynamic batching across concurrent calls (lib/batching): rows of different calls share
   * one packed forward, each still computed as if alone. Not used by multiple-choice.
   */
  batching?: BatchingOptions;
  /** Bounds on the work one call may ask for (defaults: DEFAULT_LIMITS). */
  limits?: PipelineLimits;
}

/**
 * Bounds on the work one pipeline call may generate. HF's pipelines have none; here a
 * short input cannot make unbounded work: question answering with a tiny max_seq_len
 * makes a window per few tokens, zero-shot makes inputs x candidate_labels rows, and
 * fill-mask makes masks x top_k candidates, each a decoded sentence.
 */
export interface PipelineLimits {
  /**
   * Most rows the model runs for one call: inputs, zero-shot's inputs x candidate_labels,
   * multiple-choice's choices, question answering's windows. Beyond: ERR_CONVBERT_LIMIT.
   */
  maxRows?: number;
  /** Largest top_k of fill-mask and question-answering. Beyond: ERR_CONVBERT_ARG. */
  maxTopK?: number;
  /** Most mask tokens in one fill-mask input. Beyond: ERR_CONVBERT_ARG. */
  maxMasks?: number;
  /**
   * Most fill-mask candidates one call returns (over its inputs, masks x top_k, or x the
   * number of targets when smaller). Each carries a decoded sentence, so this bounds the
   * reply: at most maxCandidates x model_max_length tokens. Beyond: ERR_CONVBERT_LIMIT.
   */
  maxCandidates?: number;
}

/**
 * In-process defaults: generous enough for batch jobs (a few thousand texts, a book-length
 * QA context at the default max_seq_len), small enough that no call makes millions of rows.
 * The server has its own, smaller defaults (lib/server/http.ts) and passes them per request.
 */
export const DEFAULT_LIMITS: Readonly<Required<PipelineLimits>> = Object.freeze({
  maxRows: 16384,
  maxTopK: 100,
  maxMasks: 32,
  maxCandidates: 65536,
});

/** Where each limit is set, for the messages: the option, and the server's flag. */
const LIMIT_SOURCE: Readonly<Record<keyof PipelineLimits, string>> = {
  maxRows: 'limits.maxRows; convbert serve --max-inputs',
  maxTopK: 'limits.maxTopK; convbert serve --max-top-k',
  maxMasks: 'limits.maxMasks; convbert serve --max-masks',
  maxCandidates: 'limits.maxCandidates; convbert serve --max-candidates',
};

const LIMIT_KEYS = Object.keys(LIMIT_SOURCE) as (keyof PipelineLimits)[];

/** Checks a limits object: known keys, each an integer >= 1 (absent keys stay absent). */
export function checkLimits(what: string, v: unknown): PipelineLimits {
  const o = checkKeys(what, v, LIMIT_KEYS);
  const r: PipelineLimits = {};
  for (const k of LIMIT_KEYS) if (o[k] !== undefined) r[k] = intOption(`${what}.${k}`, o[k], 1, 1);
  return r;
}

/** A request-scoped override of the limits (what the server sets per request); see runWithLimits. */
const limitsContext = new AsyncLocalStorage<PipelineLimits>();

/**
 * Runs fn with these limits in place of the pipelines' own (key by key) for every
 * pipeline call started inside it, however deep: the server passes its flags this
 * way, since a pipeline's per-call options come from the client.
 */
export function runWithLimits<T>(limits: PipelineLimits, fn: () => T): T {
  return limitsContext.run(checkLimits('limits', limits), fn);
}

/** The refusal of a call whose work passes a limit: names what made the work, the count and the limit. */
export function limitError(what: string, count: number, unit: string, key: keyof PipelineLimits, limit: number): ConvBertError {
  return new ConvBertError(`${what}: ${count} ${unit}, more than the limit of ${limit} (${LIMIT_SOURCE[key]})`, 'ERR_CONVBERT_LIMIT');
}

/** An option (top_k) or a count in one input (masks) above its limit: a value out of range, ERR_CONVBERT_ARG. */
export function checkAtMost(name: string, v: number, key: keyof PipelineLimits, limit: number): void {
  if (v > limit) throw argError(`${name}: ${v}, more than the limit of ${limit} (${LIMIT_SOURCE[key]})`);
}

/** One row for the model: token ids and segment ids of equal length (no padding). */
export interface Row {
  input_ids: number[];
  token_type_ids: number[];
}

/**
 * The packed (varlen) forward of ConvBertPreTrainedModel.forwardPacked: every row run
 * as if alone in one engine call, one output per row shaped like forward()'s for a
 * batch of one. Detected at run time (a model without it gets equal-length groups);
 * multiple choice has no packed form, so its rows always go through forward().
 */
export type ForwardPacked = (rows: { input_ids: Int32Array; token_type_ids: Int32Array }[]) => Promise<Record<string, unknown>[]>;

/** What the runner hands back per row: the head's output tensors cut to that row (batch dim 1). */
export type RowOutput = Record<string, Tensor<'float32'>>;

const DEFAULT_BATCH_SIZE = 8;

/** Rejects option keys the call does not know, naming them. */
export function checkKeys(what: string, o: unknown, known: readonly string[]): Record<string, unknown> {
  if (o === undefined || o === null) return {};
  if (!isPlainObject(o)) throw argError(`${what}: expected an options object, got ${describe(o)}`);
  checkOptionKeys(what, o, known);
  return o;
}

/** One input or an array of them; returns the list and whether the caller gave an array. */
export function asBatch<T>(what: string, x: unknown, check: (v: unknown, name: string) => T): { items: T[]; batched: boolean } {
  if (Array.isArray(x)) {
    if (x.length === 0) throw argError(`${what}: expected at least one input, got an empty array`);
    return { items: x.map((v, i) => check(v, `${what}[${i}]`)), batched: true };
  }
  return { items: [check(x, what)], batched: false };
}

export function checkText(v: unknown, name: string): string {
  if (typeof v !== 'string') throw argError(`${name}: expected a string, got ${describe(v)}`);
  return v;
}

/** Loads the model class and the tokenizer from a Hub id or a local folder. */
export async function loadParts<T extends ConvBertPreTrainedModel>(
  load: (dir: string, opts: object) => Promise<T>,
  modelIdOrDir: string,
  options: PipelineOptions,
): Promise<{ model: T; tokenizer: PreTrainedTokenizerBase }> {
  const hub: HubOptions = { ...(options.hub ?? {}) };
  if (options.revision !== undefined) hub.revision = options.revision;
  if (options.cacheDir !== undefined) hub.cacheDir = options.cacheDir;
  if (options.localFilesOnly !== undefined) hub.localFilesOnly = options.localFilesOnly;
  if (options.progress !== undefined) hub.progress = options.progress;
  const dir = await resolveModelPath(modelIdOrDir, hub);
  const kind = options.tokenizer ?? 'fast';
  const tokenizer = kind === 'fast' ? await ConvBertTokenizerFast.fromPretrained(dir) : await ConvBertTokenizer.fromPretrained(dir);
  try {
    // Before the weights are read: a tokenizer whose ids the model cannot embed fails now, not at the first call.
    checkVocab(tokenizer, await ConvBertConfig.fromPretrained(dir), dir);
    const modelOpts: Record<string, unknown> = {};
    if (options.dtype !== undefined) modelOpts.dtype = options.dtype;
    if (options.device !== undefined) modelOpts.device = options.device;
    if (options.modulesToNotConvert !== undefined) modelOpts.modulesToNotConvert = options.modulesToNotConvert;
    const model = await load(dir, modelOpts);
    if (options.batching !== undefined) attachBatching(model, options.batching);
    return { model, tokenizer };
  } catch (e) {
    const tk = tokenizer as { dispose?: () => unknown };
    if (typeof tk.dispose === 'function') await tk.dispose();
    throw e;
  }
}

/**
 * The tokenizer may have fewer ids than config.vocab_size (as in HF: checkpoints pad their
 * embedding matrix), but every id it can produce must have an embedding row; one past the
 * end used to fail only when a text first produced it.
 */
export function checkVocab(tokenizer: PreTrainedTokenizerBase, config: ConvBertConfig, dir: string): void {
  let maxId = -1;
  let maxTok = '';
  for (const [tok, id] of Object.entries(tokenizer.getVocab())) {
    if (id > maxId) {
      maxId = id;
      maxTok = tok;
    }
  }
  if (maxId >= config.vocab_size) {
    throw new ConvBertError(
      `pipeline: the tokenizer of ${dir} has ids up to ${maxId} (${JSON.stringify(maxTok)}), but the model's vocab_size is ${config.vocab_size}: ` +
        `expected every token id below vocab_size; use the tokenizer the model was trained with (or a config.json whose vocab_size covers it)`,
      'ERR_CONVBERT_TOKENIZER',
    );
  }
}

/** The settings options.hub takes (revision and cacheDir are options of their own). */
const HUB_SETTING_KEYS: readonly string[] = ['token', 'localFilesOnly', 'endpoint', 'allowPatterns', 'progress', 'timeoutMs', 'retries', 'retryDelayMs'];

const PIPELINE_OPTION_KEYS: readonly string[] = [
  'tokenizer',
  'revision',
  'cacheDir',
  'localFilesOnly',
  'progress',
  'hub',
  'dtype',
  'device',
  'modulesToNotConvert',
  'batch_size',
  'batching',
  'limits',
  ...Object.keys(HUB_OPTION_ALIASES),
];

export function checkPipelineOptions(o: unknown): PipelineOptions {
  const r = normalizeAliases('options', checkKeys('options', o, PIPELINE_OPTION_KEYS));
  if (r.limits !== undefined) checkLimits('options.limits', r.limits);
  if (r.batching !== undefined && !isPlainObject(r.batching)) {
    throw argError(`options.batching: expected an object like { maxBatchSize, maxWaitMs, maxTokens }, got ${describe(r.batching)}`);
  }
  enumOption('options.tokenizer', r.tokenizer, ['fast', 'slow'], 'fast');
  intOption('options.batch_size', r.batch_size, DEFAULT_BATCH_SIZE, 1, 4096);
  for (const k of ['revision', 'cacheDir', 'dtype', 'device'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'string') throw argError(`options.${k}: expected a string, got ${describe(r[k])}`);
  }
  if (r.localFilesOnly !== undefined && typeof r.localFilesOnly !== 'boolean') throw argError(`options.localFilesOnly: expected a boolean, got ${describe(r.localFilesOnly)}`);
  if (r.hub !== undefined && !isPlainObject(r.hub)) {
    throw argError(`options.hub: expected an object of Hub settings, got ${describe(r.hub)}`);
  }
  // A misspelt Hub setting (`{ hub: { tokn } }`) used to be ignored like a misspelt option.
  if (r.hub !== undefined) checkKeys('options.hub', r.hub, HUB_SETTING_KEYS);
  return r as PipelineOptions;
}

/** The part of a pipeline that owns the model and tokenizer and runs rows through the model. */
export class PipelineCore<M extends ConvBertPreTrainedModel> {
  readonly model: M;
  readonly tokenizer: PreTrainedTokenizerBase;
  readonly batchSize: number;
  /** Longest row the model takes: the tokenizer's model_max_length capped by max_position_embeddings. */
  readonly maxLength: number;
  readonly #limits: Readonly<Required<PipelineLimits>>;
  #disposed = false;

  constructor(model: M, tokenizer: PreTrainedTokenizerBase, batchSize = DEFAULT_BATCH_SIZE, limits: PipelineLimits = {}) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.batchSize = batchSize;
    this.maxLength = Math.min(tokenizer.model_max_length, model.config.max_position_embeddings);
    this.#limits = Object.freeze({ ...DEFAULT_LIMITS, ...checkLimits('limits', limits) });
  }

  /** The limits of the current call: the pipeline's own, with runWithLimits' keys in their place. */
  get limits(): Readonly<Required<PipelineLimits>> {
    const over = limitsContext.getStore();
    return over ? { ...this.#limits, ...over } : this.#limits;
  }

  /** Refuses (ERR_CONVBERT_LIMIT) a call whose `count` model rows, made as `what` says, pass maxRows. */
  checkRows(what: string, count: number): void {
    const max = this.limits.maxRows;
    if (count > max) throw limitError(what, count, 'rows for the model', 'maxRows', max);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  checkAlive(task: string): void {
    if (this.#disposed) throw new ConvBertError(`${task} pipeline: used after dispose()`, 'ERR_CONVBERT_DISPOSED');
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    // A batcher attached by options.batching finishes what it has queued before the model goes.
    const batcher = (this.model as { batcher?: { close(): Promise<void> } }).batcher;
    if (batcher) await batcher.close();
    this.model.dispose();
    const tk = this.tokenizer as { dispose?: () => unknown };
    if (typeof tk.dispose === 'function') await tk.dispose();
  }

  /**
   * Runs each row as if alone and returns, per row, the named float outputs with
   * their leading batch dim cut to 1. `rank3` wraps each forward's rows as (1, n, L)
   * (multiple choice); otherwise (n, L).
   */
  async run(rows: readonly Row[], outputs: readonly string[], rank3 = false): Promise<RowOutput[]> {
    // The tasks count their rows before encoding them; this catches any row they missed.
    this.checkRows('this call', rows.length);
    for (const r of rows) {
      if (r.input_ids.length === 0) throw argError('inputs: a row with no tokens (the tokenizer returned nothing)');
      if (r.input_ids.length > this.model.config.max_position_embeddings) {
        throw argError(`inputs: ${r.input_ids.length} tokens exceed max_position_embeddings ${this.model.config.max_position_embeddings}`);
      }
    }
    const packed = (this.model as unknown as { forwardPacked?: ForwardPacked }).forwardPacked;
    if (typeof packed === 'function' && !rank3) return this.runPacked(packed.bind(this.model), rows, outputs);
    const out = new Array<RowOutput>(rows.length);
    for (const [L, idx] of groupByLength(rows)) {
      for (let s = 0; s < idx.length; s += this.batchSize) {
        const chunk = idx.slice(s, s + this.batchSize);
        const n = chunk.length;
        const ids = new Int32Array(n * L);
        const types = new Int32Array(n * L);
        chunk.forEach((ri, k) => {
          ids.set(rows[ri].input_ids, k * L);
          types.set(rows[ri].token_type_ids, k * L);
        });
        const dims = rank3 ? [1, n, L] : [n, L];
        const res = (await this.model.forward({
          input_ids: new Tensor('int32', ids, dims),
          token_type_ids: new Tensor('int32', types, dims),
        })) as unknown as Record<string, Tensor<'float32'>>;
        chunk.forEach((ri, k) => {
          const o: RowOutput = {};
          for (const name of outputs) o[name] = sliceRow(name, res[name], k, n, rank3);
          out[ri] = o;
        });
      }
    }
    return out;
  }

  private async runPacked(packed: ForwardPacked, rows: readonly Row[], outputs: readonly string[]): Promise<RowOutput[]> {
    const out: RowOutput[] = [];
    for (let s = 0; s < rows.length; s += this.batchSize) {
      const chunk = rows.slice(s, s + this.batchSize).map((r) => ({ input_ids: Int32Array.from(r.input_ids), token_type_ids: Int32Array.from(r.token_type_ids) }));
      const res = await packed(chunk);
      for (const r of res) {
        const o: RowOutput = {};
        for (const name of outputs) {
          const t = r[name];
          if (!(t instanceof Tensor)) throw new ConvBertError(`forwardPacked: output '${name}' missing`, 'ERR_CONVBERT_INTERNAL');
          o[name] = t as Tensor<'float32'>;
        }
        out.push(o);
      }
    }
    return out;
  }
}

/** Row k of a batch output: dims [n, ...rest] -> [1, ...rest]; for rank-3 (1, n) outputs, [1, n] -> [1, 1]. */
function sliceRow(name: string, t: Tensor<'float32'> | undefined, k: number, n: number, rank3: boolean): Tensor<'float32'> {
  if (!t) throw new ConvBertError(`model output '${name}' missing`, 'ERR_CONVBERT_INTERNAL');
  const data = t.data as Float32Array;
  if (rank3) {
    // (1, n) logits: one value per row.
    return new Tensor('float32', data.slice(k, k + 1), [1, 1]);
  }
  const per = data.length / n;
  return new Tensor('float32', data.slice(k * per, (k + 1) * per), [1, ...t.dims.slice(1)]);
}

/** Encodes one text (and pair) without padding, truncated to `maxLength` tokens. */
export function encodeRow(
  tok: PreTrainedTokenizerBase,
  text: string,
  pair: string | null,
  maxLength: number,
  extra: { offsets?: boolean; words?: boolean; special?: boolean } = {},
): Row & { offsets?: [number, number][]; word_ids?: (number | null)[]; special?: number[] } {
  const e = tok.encode(text, {
    text_pair: pair,
    truncation: true,
    max_length: maxLength,
    return_offsets_mapping: extra.offsets ?? false,
    return_word_ids: extra.words ?? false,
    return_special_tokens_mask: extra.special ?? false,
  });
  const ids = e.input_ids;
  return {
    input_ids: ids,
    token_type_ids: e.token_type_ids ?? new Array<number>(ids.length).fill(0),
    ...(e.offset_mapping ? { offsets: e.offset_mapping } : {}),
    ...(e.word_ids ? { word_ids: e.word_ids } : {}),
    ...(e.special_tokens_mask ? { special: e.special_tokens_mask } : {}),
  };
}

/** Rows with what encodeRow adds on request. */
export type EncodedRowPlus = ReturnType<typeof encodeRow>;

/**
 * encodeRow over many texts at once: a batch goes through encodeBatchAsync (the fast
 * tokenizer's native threads, off the event loop), unpadded, so each row equals
 * encodeRow on its own text.
 */
export async function encodeRows(
  tok: PreTrainedTokenizerBase,
  texts: readonly string[],
  pairs: readonly (string | null)[] | null,
  maxLength: number,
  extra: { offsets?: boolean; words?: boolean; special?: boolean } = {},
): Promise<EncodedRowPlus[]> {
  if (texts.length === 1) return [encodeRow(tok, texts[0], pairs ? pairs[0] : null, maxLength, extra)];
  const b = await tok.encodeBatchAsync(texts, {
    text_pair: pairs,
    truncation: true,
    max_length: maxLength,
    padding: false,
    return_offsets_mapping: extra.offsets ?? false,
    return_word_ids: extra.words ?? false,
    return_special_tokens_mask: extra.special ?? false,
  });
  return b.input_ids.map((ids, i) => ({
    input_ids: ids,
    token_type_ids: b.token_type_ids ? b.token_type_ids[i] : new Array<number>(ids.length).fill(0),
    ...(b.offset_mapping ? { offsets: b.offset_mapping[i] } : {}),
    ...(b.word_ids ? { word_ids: b.word_ids[i] } : {}),
    ...(b.special_tokens_mask ? { special: b.special_tokens_mask[i] } : {}),
  }));
}
