// model.ts: withBatching(model, opts), a model whose forwardPacked(rows) sends
// every row through one shared DynamicBatcher, so rows of concurrent callers
// share forwards. Each row runs as if alone (DESIGN.md, Padding semantics): the
// batch goes to the model's own forwardPacked when it has one (varlen, no
// compute on padding); otherwise rows of equal length share one unpadded
// forward and the other lengths run separately. Everything else (config,
// forward, dispose, ...) is the wrapped model's own.
import { AsyncLocalStorage } from 'async_hooks';

import { ConvBertError, argError } from '../errors';
import { type ConvBertPreTrainedModel } from '../models/base';
import { Tensor } from '../tensor';
import { DynamicBatcher, type BatcherOptions, type BatcherStats, type SubmitOptions } from './batcher';

/** One sequence: token ids and segment ids of the same length, no padding. */
export interface BatchRow {
  input_ids: Int32Array;
  token_type_ids?: Int32Array | null;
}

/** One row's outputs: every batch-major float output of the head, with batch dim 1 (e.g. logits [1, L, V]). */
export type BatchRowOutput = Record<string, Tensor<'float32'>>;

/** The batching options a model or pipeline takes as `{ batching: {...} }`. maxTokens counts tokens (row lengths). */
export type BatchingOptions = Omit<BatcherOptions<BatchRow>, 'cost'>;

export type ForwardPackedFn = (rows: BatchRow[], options?: SubmitOptions) => Promise<BatchRowOutput[]>;

/**
 * Submit options (signal, timeoutMs) for every batched row started inside fn,
 * however deep: code that cannot pass them (a pipeline calling forwardPacked)
 * still has its rows cancelled or timed out with the caller's request.
 */
const submitContext = new AsyncLocalStorage<SubmitOptions>();

export function runWithSubmitOptions<T>(options: SubmitOptions, fn: () => T): T {
  return submitContext.run(options, fn);
}

/** What withBatching adds to the model. */
export interface BatchingExtras {
  /** Rows through the shared batcher; resolves with one output per row, as if each ran alone. */
  forwardPacked: ForwardPackedFn;
  /** The shared batcher (stats(), close()). */
  readonly batcher: DynamicBatcher<BatchRow, BatchRowOutput>;
}

export type BatchedModel<M extends ConvBertPreTrainedModel> = M & BatchingExtras;

function checkRow(r: unknown, i: number): BatchRow {
  if (r === null || typeof r !== 'object') throw argError(`rows[${i}]: expected {input_ids, token_type_ids}, got ${r === null ? 'null' : typeof r}`);
  const row = r as BatchRow;
  if (!(row.input_ids instanceof Int32Array) || row.input_ids.length === 0) throw argError(`rows[${i}].input_ids: expected a non-empty Int32Array`);
  if (row.token_type_ids != null && (!(row.token_type_ids instanceof Int32Array) || row.token_type_ids.length !== row.input_ids.length)) {
    throw argError(`rows[${i}].token_type_ids: expected an Int32Array of length ${row.input_ids.length} like input_ids`);
  }
  return row;
}

/** Row k of a batch-major output (dims [n, ...rest]) as [1, ...rest]; a copy, so rows do not pin the batch. */
function sliceRow(t: Tensor<'float32'>, k: number, n: number): Tensor<'float32'> {
  const per = (t.data as Float32Array).length / n;
  return new Tensor('float32', (t.data as Float32Array).slice(k * per, (k + 1) * per), [1, ...t.dims.slice(1)]);
}

/** Row indices grouped by token count, in first-seen order (so the work is deterministic). */
export function groupByLength(rows: readonly { input_ids: ArrayLike<number> }[]): Map<number, number[]> {
  const byLen = new Map<number, number[]>();
  rows.forEach((r, i) => {
    const g = byLen.get(r.input_ids.length);
    if (g) g.push(i);
    else byLen.set(r.input_ids.length, [i]);
  });
  return byLen;
}

/**
 * Runs rows as if each were alone on a model without forwardPacked: one forward
 * per distinct length (rows of that length stacked, no padding), in first-seen order.
 */
export async function runRowsByLength(model: ConvBertPreTrainedModel, rows: readonly BatchRow[]): Promise<BatchRowOutput[]> {
  const out = new Array<BatchRowOutput>(rows.length);
  for (const [L, idx] of groupByLength(rows)) {
    const n = idx.length;
    const ids = new Int32Array(n * L);
    const types = new Int32Array(n * L);
    idx.forEach((ri, k) => {
      ids.set(rows[ri].input_ids, k * L);
      if (rows[ri].token_type_ids) types.set(rows[ri].token_type_ids!, k * L);
    });
    const res = (await model.forward({
      input_ids: new Tensor('int32', ids, [n, L]),
      token_type_ids: new Tensor('int32', types, [n, L]),
    })) as unknown as Record<string, unknown>;
    idx.forEach((ri, k) => {
      const o: BatchRowOutput = {};
      for (const [name, v] of Object.entries(res)) {
        if (v instanceof Tensor && v.dtype === 'float32' && v.dims[0] === n && v.dims.length >= 2) o[name] = sliceRow(v as Tensor<'float32'>, k, n);
      }
      out[ri] = o;
    });
  }
  return out;
}

/**
 * Wraps a model with a dynamic batcher. The result is the same model (a Proxy:
 * instanceof, config, forward, dispose and calling it work as before) plus `forwardPacked`
 * through the batcher and `batcher` for stats. Pipelines detect forwardPacked,
 * so `new PipelineCore(withBatching(model, opts), tokenizer)` batches across callers.
 */
export function withBatching<M extends ConvBertPreTrainedModel>(model: M, options: BatchingOptions = {}): BatchedModel<M> {
  const { forwardPacked, batcher } = makeBatched(model, options);
  return new Proxy(model, {
    get(target, prop) {
      if (prop === 'forwardPacked') return forwardPacked;
      if (prop === 'batcher') return batcher;
      // Methods run on the real model: its private fields are not on the proxy.
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as BatchedModel<M>;
}

/**
 * The same, installed on the model object itself (an own `forwardPacked`), for
 * code that already holds the model, such as a built pipeline (`pipe.model`).
 * Returns the batcher, also kept as the model's `batcher`. Installing twice is an error.
 */
export function attachBatching(model: ConvBertPreTrainedModel, options: BatchingOptions = {}): DynamicBatcher<BatchRow, BatchRowOutput> {
  if (isObjectLike(model) && Object.prototype.hasOwnProperty.call(model, 'forwardPacked')) {
    throw argError('attachBatching: this model already has batching attached');
  }
  const { forwardPacked, batcher } = makeBatched(model, options);
  Object.defineProperty(model, 'forwardPacked', { value: forwardPacked, enumerable: false, configurable: true });
  Object.defineProperty(model, 'batcher', { value: batcher, enumerable: false, configurable: true });
  return batcher;
}

/** Models are callable (their instances are functions), so an object or a function. */
function isObjectLike(v: unknown): v is object {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

function makeBatched(model: ConvBertPreTrainedModel, options: BatchingOptions): BatchingExtras {
  if (!isObjectLike(model) || typeof (model as { forward?: unknown }).forward !== 'function') {
    throw argError(`withBatching: model must be a ConvBERT model, got ${model === null ? 'null' : typeof model}`);
  }
  if (options === null || typeof options !== 'object') throw argError(`withBatching: options must be an object, got ${options === null ? 'null' : typeof options}`);
  if ('cost' in options) throw argError('withBatching: options.cost is not an option here (a row costs its token count)');
  const own = (model as unknown as { forwardPacked?: (rows: BatchRow[]) => Promise<Record<string, unknown>[]> }).forwardPacked;
  const ownPacked = typeof own === 'function' ? own.bind(model) : null;
  const runBatch = async (rows: BatchRow[]): Promise<BatchRowOutput[]> => {
    if (!ownPacked) return runRowsByLength(model, rows);
    const res = await ownPacked(rows);
    if (!Array.isArray(res) || res.length !== rows.length) {
      throw new ConvBertError(`forwardPacked: expected ${rows.length} outputs, got ${Array.isArray(res) ? res.length : typeof res}`, 'ERR_CONVBERT_INTERNAL');
    }
    return res as BatchRowOutput[];
  };
  const batcher = new DynamicBatcher<BatchRow, BatchRowOutput>({ ...options, cost: (r) => r.input_ids.length }, runBatch);
  const forwardPacked: ForwardPackedFn = (rows, submitOptions) => {
    if (!Array.isArray(rows)) return Promise.reject(argError(`forwardPacked: rows must be an array, got ${typeof rows}`));
    let own: BatchRow[];
    try {
      // Copies: a row waits in the queue while the caller runs on, and must not change (or be
      // detached by a transfer) before its batch runs.
      own = rows.map((r, i) => {
        const row = checkRow(r, i);
        return { input_ids: row.input_ids.slice(), token_type_ids: row.token_type_ids ? row.token_type_ids.slice() : null };
      });
    } catch (e) {
      return Promise.reject(e);
    }
    const so = submitOptions ?? submitContext.getStore();
    // If one row fails (overload, timeout), the others of this call are left to finish on their own.
    return Promise.all(batcher.submitMany(own, so));
  };
  return { forwardPacked, batcher };
}

export type { BatcherStats };
