// inputs.ts: validation of forward() inputs, before any native call. Every
// input may be a Tensor or (nested) JS arrays; ids must be int64 or int32,
// masks int or float, embeddings and head masks float; masks and embeddings
// finite; no data over a SharedArrayBuffer or a detached buffer. Float32 data is
// passed on as is: the engine copies every input when forward() reads the
// request, so callers may reuse their arrays once forward() has returned.
// Messages name the argument, what was expected and what was found, e.g.
// `attention_mask: expected dims [2, 128] like input_ids, got [2, 127]`.
import { ConvBertError, argError, dtypeError, shapeError } from '../errors';
import { Tensor, bufferProblem, type DataType, type NestedArray } from '../tensor';
import type { ForwardRequest } from '../engine_types';

/** A Tensor, or nested JS arrays of numbers (bigints and booleans where they make sense). */
export type TensorInput = Tensor | NestedArray<number | bigint | boolean>;

/** Every input forward() understands; heads accept their own label names. */
export interface ConvBertInputs {
  input_ids?: TensorInput | null;
  attention_mask?: TensorInput | null;
  token_type_ids?: TensorInput | null;
  position_ids?: TensorInput | null;
  head_mask?: TensorInput | null;
  inputs_embeds?: TensorInput | null;
  labels?: TensorInput | null;
  start_positions?: TensorInput | null;
  end_positions?: TensorInput | null;
}

export interface ForwardOptions {
  /** Return every layer's hidden states (num_hidden_layers + 1 tensors). */
  output_hidden_states?: boolean;
  /** Return every layer's attention probabilities (B, sa_heads, L, L). */
  output_attentions?: boolean;
}

/** Values of an input as JS numbers plus its dims, and whether its dtype was an integer type. */
export interface ReadTensor {
  dims: number[];
  values: Float64Array | Float32Array;
  isInt: boolean;
}

const INT_TYPES: readonly DataType[] = ['int64', 'int32'];
const MASK_TYPES: readonly DataType[] = ['int64', 'int32', 'float32', 'float16', 'bfloat16', 'bool', 'uint8', 'int8'];
const FLOAT_TYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16'];

export type InputKind = 'int' | 'mask' | 'float' | 'label';

function allowed(kind: InputKind): readonly DataType[] {
  switch (kind) {
    case 'int':
      return INT_TYPES;
    case 'mask':
      return MASK_TYPES;
    case 'float':
      return FLOAT_TYPES;
    case 'label':
      return ['int64', 'int32', 'float32', 'float16', 'bfloat16'];
  }
}

function allIntegers(a: ArrayLike<unknown>): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'bigint') continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) return false;
  }
  return true;
}

/**
 * Reads one input. Nested arrays are converted: for ids they must hold integers;
 * for labels, integer values in a 0/1-d array count as class ids (int64), anything
 * else as float values (so regression and multi-label targets work from plain arrays).
 */
export function readInput(name: string, x: TensorInput, kind: InputKind): ReadTensor {
  let t: Tensor;
  if (x instanceof Tensor) {
    t = x;
    if (!allowed(kind).includes(t.dtype)) {
      throw dtypeError(`${name}: expected dtype ${allowed(kind).join(' or ')}, got ${t.dtype}`);
    }
    const problem = bufferProblem(t.data);
    if (problem) throw argError(`${name}: expected data over an ArrayBuffer, got a ${t.data.constructor.name} ${problem}`);
  } else if (Array.isArray(x) || typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') {
    try {
      const probe = new Tensor('float32', Array.isArray(x) ? (x as NestedArray<number>) : [x as number]);
      const dims = Array.isArray(x) ? [...probe.dims] : [];
      let dtype: DataType;
      if (kind === 'int') dtype = 'int64';
      else if (kind === 'float') dtype = 'float32';
      else if (kind === 'mask') dtype = 'float32';
      else dtype = dims.length <= 1 && allIntegers(flatValues(x)) ? 'int64' : 'float32';
      t = dtype === 'float32' ? probe.reshape(dims) : new Tensor(dtype, flatValues(x) as number[], dims);
    } catch (e) {
      if (e instanceof ConvBertError) throw new ConvBertError(`${name}: ${e.message}`, e.code);
      throw e;
    }
  } else {
    throw argError(`${name}: expected a Tensor or nested arrays of numbers, got ${x === null ? 'null' : typeof x}`);
  }
  const isInt = t.dtype === 'int64' || t.dtype === 'int32' || t.dtype === 'int8' || t.dtype === 'uint8' || t.dtype === 'bool';
  let values: Float64Array | Float32Array;
  if (t.dtype === 'float32') values = t.data as Float32Array;
  else if (t.dtype === 'int64') {
    const d = t.data as BigInt64Array;
    values = new Float64Array(d.length);
    for (let i = 0; i < d.length; i++) values[i] = Number(d[i]);
  } else if (t.dtype === 'float16' || t.dtype === 'bfloat16') values = t.toFloat32();
  else values = Float64Array.from(t.data as ArrayLike<number>);
  return { dims: [...t.dims], values, isInt };
}

function flatValues(x: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const e of v) walk(e);
    else out.push(v);
  };
  walk(x);
  return out;
}

export function fmtDims(d: readonly number[]): string {
  return `[${d.join(', ')}]`;
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The multi-index of flat element i in dims, for messages. */
export function where(i: number, dims: readonly number[]): string {
  const idx = new Array<number>(dims.length);
  for (let k = dims.length - 1; k >= 0; k--) {
    idx[k] = i % dims[k];
    i = Math.floor(i / dims[k]);
  }
  return fmtDims(idx);
}

/** Checks integer values lie in [0, hi) and returns them as Int32Array. */
export function idsInRange(name: string, r: ReadTensor, hi: number, limitName: string): Int32Array {
  const out = new Int32Array(r.values.length);
  for (let i = 0; i < r.values.length; i++) {
    const v = r.values[i];
    if (!Number.isInteger(v) || v < 0 || v >= hi) {
      throw new ConvBertError(`${name}: value ${v} at ${where(i, r.dims)} is out of range [0, ${hi}) (${limitName} = ${hi})`, 'ERR_CONVBERT_ARG');
    }
    out[i] = v;
  }
  return out;
}

/**
 * Throws unless every value is finite. torch would run NaN or ±Inf through a
 * mask or an embedding and answer NaN; our kernel paths would not all carry it
 * the same way (vector clamps turn NaN into numbers), so it is refused instead.
 */
export function checkFinite(name: string, r: ReadTensor): void {
  const v = r.values;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw argError(`${name}: expected finite values, got ${v[i]} at ${where(i, r.dims)}`);
  }
}

/** What the trunk needs from the config to validate inputs. */
export interface InputConfig {
  vocab_size: number;
  embedding_size: number;
  num_hidden_layers: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  saHeads: number;
}

/**
 * The validated trunk inputs, flattened to (rows, L) as the engine runs them: the trunk's
 * fields of a ForwardRequest (the engine contract), typed from it.
 */
export interface TrunkInputs extends Pick<
  ForwardRequest,
  'L' | 'input_ids' | 'inputs_embeds' | 'token_type_ids' | 'position_ids' | 'attention_mask' | 'attention_mask_rank' | 'head_mask'
> {
  /** Batch dims as the user gave them: [B, L] or, for multiple choice, [B, C, L]. */
  batchDims: number[];
  /** Rows the trunk runs (B, or B*C). */
  rows: number;
}

const TRUNK_KEYS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids', 'head_mask', 'inputs_embeds'] as const;

/**
 * Validates the trunk inputs. `batchRank` is 2 for (B, L) models and 3 for
 * multiple choice (B, C, L). `labelKeys` are the extra names this head accepts.
 */
export function readTrunkInputs(cfg: InputConfig, inputs: ConvBertInputs, batchRank: 2 | 3, labelKeys: readonly string[], className: string): TrunkInputs {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs) || inputs instanceof Tensor) {
    throw argError(
      `${className}.forward: inputs must be an object like { input_ids, attention_mask }, got ${inputs === null ? 'null' : Array.isArray(inputs) ? 'an array' : typeof inputs}`,
    );
  }
  const known = new Set<string>([...TRUNK_KEYS, ...labelKeys]);
  for (const k of Object.keys(inputs)) {
    if (!known.has(k)) throw argError(`${className}.forward: unknown input '${k}'; expected some of ${[...known].join(', ')}`);
  }
  const given = (v: unknown): boolean => v !== undefined && v !== null;
  const hasIds = given(inputs.input_ids);
  const hasEmb = given(inputs.inputs_embeds);
  if (hasIds && hasEmb) throw argError('input_ids, inputs_embeds: give one of them, not both');
  if (!hasIds && !hasEmb) throw argError('input_ids: required (or inputs_embeds)');

  let batchDims: number[];
  let input_ids: Int32Array | null = null;
  let inputs_embeds: Float32Array | null = null;
  let ref: string;
  const shapeWord = batchRank === 2 ? '[batch, seq_len]' : '[batch, num_choices, seq_len]';
  if (hasIds) {
    const r = readInput('input_ids', inputs.input_ids as TensorInput, 'int');
    if (r.dims.length !== batchRank) throw shapeError(`input_ids: expected ${batchRank} dims ${shapeWord}, got ${fmtDims(r.dims)}`);
    batchDims = r.dims;
    ref = 'input_ids';
    checkNonEmpty('input_ids', batchDims);
    input_ids = idsInRange('input_ids', r, cfg.vocab_size, 'vocab_size');
  } else {
    const r = readInput('inputs_embeds', inputs.inputs_embeds as TensorInput, 'float');
    if (r.dims.length !== batchRank + 1 || r.dims[batchRank] !== cfg.embedding_size) {
      throw shapeError(
        `inputs_embeds: expected ${batchRank + 1} dims ${shapeWord.slice(0, -1)}, ${cfg.embedding_size}] (embedding_size ${cfg.embedding_size}), got ${fmtDims(r.dims)}`,
      );
    }
    batchDims = r.dims.slice(0, batchRank);
    ref = 'inputs_embeds';
    checkNonEmpty('inputs_embeds', batchDims);
    checkFinite('inputs_embeds', r);
    inputs_embeds = r.values instanceof Float32Array ? r.values : Float32Array.from(r.values);
  }
  const L = batchDims[batchRank - 1];
  const rows = batchDims.slice(0, -1).reduce((a, b) => a * b, 1);
  if (L > cfg.max_position_embeddings) {
    throw shapeError(`${ref}: sequence length ${L} exceeds max_position_embeddings ${cfg.max_position_embeddings}`);
  }
  const like = `like ${ref}`;

  let token_type_ids: Int32Array | null = null;
  if (given(inputs.token_type_ids)) {
    const r = readInput('token_type_ids', inputs.token_type_ids as TensorInput, 'int');
    if (!sameDims(r.dims, batchDims)) throw shapeError(`token_type_ids: expected dims ${fmtDims(batchDims)} ${like}, got ${fmtDims(r.dims)}`);
    token_type_ids = idsInRange('token_type_ids', r, cfg.type_vocab_size, 'type_vocab_size');
  }

  let position_ids: Int32Array | null = null;
  if (given(inputs.position_ids)) {
    const r = readInput('position_ids', inputs.position_ids as TensorInput, 'int');
    const ids = idsInRange('position_ids', r, cfg.max_position_embeddings, 'max_position_embeddings');
    if (sameDims(r.dims, batchDims)) position_ids = ids;
    else if (r.dims.length >= 1 && r.dims.length <= batchRank && r.dims[r.dims.length - 1] === L && r.values.length === L) {
      // (L,) or (1, L): broadcast over the batch, as torch's addition does.
      position_ids = new Int32Array(rows * L);
      for (let b = 0; b < rows; b++) position_ids.set(ids, b * L);
    } else {
      throw shapeError(`position_ids: expected dims ${fmtDims(batchDims)} ${like} (or [1, ${L}]), got ${fmtDims(r.dims)}`);
    }
  }

  let attention_mask: Float32Array | null = null;
  let attention_mask_rank = 0;
  if (given(inputs.attention_mask)) {
    const r = readInput('attention_mask', inputs.attention_mask as TensorInput, 'mask');
    const dims3 = [...batchDims, L];
    if (sameDims(r.dims, batchDims)) attention_mask_rank = 2;
    else if (batchRank === 2 && sameDims(r.dims, dims3)) attention_mask_rank = 3;
    else {
      const alt = batchRank === 2 ? ` (a 3-D mask is ${fmtDims(dims3)})` : '';
      throw shapeError(`attention_mask: expected dims ${fmtDims(batchDims)} ${like}, got ${fmtDims(r.dims)}${alt}`);
    }
    checkFinite('attention_mask', r);
    attention_mask = r.values instanceof Float32Array ? r.values : Float32Array.from(r.values);
  }

  let head_mask: Float32Array | null = null;
  if (given(inputs.head_mask)) {
    const r = readInput('head_mask', inputs.head_mask as TensorInput, 'mask');
    const nl = cfg.num_hidden_layers;
    const sa = cfg.saHeads;
    head_mask = new Float32Array(nl * sa);
    if (sameDims(r.dims, [sa])) for (let l = 0; l < nl; l++) for (let h = 0; h < sa; h++) head_mask[l * sa + h] = r.values[h];
    else if (sameDims(r.dims, [nl, sa])) head_mask.set(r.values);
    else {
      throw shapeError(`head_mask: expected dims [${sa}] (attention heads) or [${nl}, ${sa}] (layers, attention heads), got ${fmtDims(r.dims)}`);
    }
    checkFinite('head_mask', r);
  }
  return { batchDims, rows, L, input_ids, inputs_embeds, token_type_ids, position_ids, attention_mask, attention_mask_rank, head_mask };
}

function checkNonEmpty(name: string, dims: readonly number[]): void {
  if (dims.some((d) => d === 0)) throw shapeError(`${name}: empty input (dims ${fmtDims(dims)}); every dim must be at least 1`);
}

/** Reads integer class labels of the given dims (CE targets; -100 is allowed as "ignore"). */
export function readClassLabels(name: string, x: TensorInput, dims: readonly number[], alt?: readonly number[]): Float64Array {
  const r = readInput(name, x, 'int');
  if (!sameDims(r.dims, dims) && !(alt && sameDims(r.dims, alt))) {
    throw shapeError(`${name}: expected dims ${fmtDims(dims)}${alt ? ` or ${fmtDims(alt)}` : ''}, got ${fmtDims(r.dims)}`);
  }
  return r.values instanceof Float64Array ? r.values : Float64Array.from(r.values);
}
