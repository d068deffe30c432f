// packed.ts: the rows of forwardPacked, unpadded sequences of different lengths, checked
// and concatenated into the engine's varlen layout (cu_seqlens: row b holds tokens
// cu[b]..cu[b+1]-1, positions restart at 0 in each row). Each head class cuts its own
// per-row outputs back out (packedRowOutput in lib/models/heads/ and convbert.ts).
import type { ConvBertConfig } from '../config';
import { argError, shapeError } from '../errors';
import { Tensor } from '../tensor';
import { fmtDims, idsInRange, readInput, sameDims, type TensorInput } from './inputs';

/** One unpadded sequence for forwardPacked. */
export interface PackedRow {
  input_ids: Int32Array | TensorInput;
  token_type_ids?: Int32Array | TensorInput | null;
}

/** One row's outputs from forwardPacked, batch dim 1. */
export type PackedRowOutput = Record<string, Tensor<'float32'>>;

/** Rows in the engine's varlen layout: B rows, T tokens in all, the longest L. */
export interface PackedBatch {
  B: number;
  L: number;
  T: number;
  cu_seqlens: Int32Array;
  input_ids: Int32Array;
  token_type_ids: Int32Array;
  position_ids: Int32Array;
}

/** Checks the rows against the config (ids in range, lengths within max_position_embeddings) and concatenates them. */
export function packRows(c: ConvBertConfig, rows: readonly PackedRow[]): PackedBatch {
  if (!Array.isArray(rows) || rows.length === 0) throw argError(`forwardPacked: rows must be a non-empty array, got ${Array.isArray(rows) ? 'an empty array' : typeof rows}`);
  const B = rows.length;
  const cu = new Int32Array(B + 1);
  const ids: Int32Array[] = [];
  const types: Array<Int32Array | null> = [];
  // Rows usually come from a tokenizer as Int32Arrays: take them as 1-D int32 tensors.
  const asInput = (v: Int32Array | TensorInput): TensorInput => (v instanceof Int32Array ? new Tensor('int32', v, [v.length]) : v);
  rows.forEach((r, b) => {
    if (r === null || typeof r !== 'object') throw argError(`rows[${b}]: expected { input_ids, token_type_ids? }, got ${r === null ? 'null' : typeof r}`);
    const x = readInput(`rows[${b}].input_ids`, asInput(r.input_ids), 'int');
    if (x.dims.length !== 1 || x.dims[0] === 0) throw shapeError(`rows[${b}].input_ids: expected a non-empty 1-D sequence, got dims ${fmtDims(x.dims)}`);
    const n = x.dims[0];
    if (n > c.max_position_embeddings) throw shapeError(`rows[${b}].input_ids: sequence length ${n} exceeds max_position_embeddings ${c.max_position_embeddings}`);
    ids.push(idsInRange(`rows[${b}].input_ids`, x, c.vocab_size, 'vocab_size'));
    if (r.token_type_ids !== undefined && r.token_type_ids !== null) {
      const tt = readInput(`rows[${b}].token_type_ids`, asInput(r.token_type_ids), 'int');
      if (!sameDims(tt.dims, x.dims)) throw shapeError(`rows[${b}].token_type_ids: expected dims ${fmtDims(x.dims)} like input_ids, got ${fmtDims(tt.dims)}`);
      types.push(idsInRange(`rows[${b}].token_type_ids`, tt, c.type_vocab_size, 'type_vocab_size'));
    } else types.push(null);
    cu[b + 1] = cu[b] + n;
  });
  const T = cu[B];
  let L = 0;
  for (let b = 0; b < B; b++) L = Math.max(L, cu[b + 1] - cu[b]);
  const input_ids = new Int32Array(T);
  const token_type_ids = new Int32Array(T);
  const position_ids = new Int32Array(T);
  for (let b = 0; b < B; b++) {
    input_ids.set(ids[b], cu[b]);
    if (types[b]) token_type_ids.set(types[b]!, cu[b]);
    for (let i = cu[b]; i < cu[b + 1]; i++) position_ids[i] = i - cu[b];
  }
  return { B, L, T, cu_seqlens: cu, input_ids, token_type_ids, position_ids };
}

/** Tokens cu[b]..cu[b+1]-1 of a per-token output of width n, as [1, len, n] (a copy). */
export function packedTokenRows(a: Float32Array, cu: Int32Array, b: number, n: number): Tensor<'float32'> {
  const s = cu[b];
  const len = cu[b + 1] - s;
  return new Tensor('float32', a.slice(s * n, (s + len) * n), [1, len, n]);
}
