// tensor.ts: the Tensor type shared with the ecosystem (onnxruntime-common,
// transformers.js): `new Tensor(dtype, data, dims)` with .dtype .dims .data .size.
// Typed arrays are kept as given (zero-copy; over a SharedArrayBuffer too,
// though forward() refuses those); nested or flat JS arrays are converted once.
// float16 and bfloat16 hold their raw bits in a Uint16Array.
import { dtypeError, shapeError, argError } from './errors';

export type DataType = 'float32' | 'float16' | 'bfloat16' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';

export interface DataTypeMap {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

export type TypedArray = DataTypeMap[DataType];

type ArrayCtor = { new (n: number): TypedArray; new (buf: ArrayBufferLike, off: number, n: number): TypedArray; BYTES_PER_ELEMENT: number };

const CTORS: Record<DataType, ArrayCtor> = {
  float32: Float32Array as unknown as ArrayCtor,
  float16: Uint16Array as unknown as ArrayCtor,
  bfloat16: Uint16Array as unknown as ArrayCtor,
  int8: Int8Array as unknown as ArrayCtor,
  uint8: Uint8Array as unknown as ArrayCtor,
  int32: Int32Array as unknown as ArrayCtor,
  int64: BigInt64Array as unknown as ArrayCtor,
  bool: Uint8Array as unknown as ArrayCtor,
};

export const DATA_TYPES: readonly DataType[] = Object.keys(CTORS) as DataType[];

/** Bytes per element of a dtype. */
export function itemSize(dtype: DataType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

export function isDataType(x: unknown): x is DataType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(CTORS, x);
}

/** A typed array of `dtype` over existing bytes (no copy). The offset must be aligned to the item size. */
export function typedView<T extends DataType>(dtype: T, buffer: ArrayBufferLike, byteOffset: number, length: number): DataTypeMap[T] {
  return new CTORS[dtype](buffer, byteOffset, length) as DataTypeMap[T];
}

export function allocTyped<T extends DataType>(dtype: T, length: number): DataTypeMap[T] {
  return new CTORS[dtype](length) as DataTypeMap[T];
}

/**
 * Why the memory under a typed array cannot be handed to a forward: 'over a
 * SharedArrayBuffer' (another thread may write it while the engine reads) or
 * 'whose ArrayBuffer is detached' (it was transferred; nothing is left to read).
 * Null when it is a live ArrayBuffer.
 */
export function bufferProblem(a: ArrayBufferView): string | null {
  const buf = a.buffer;
  if (typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer) return 'over a SharedArrayBuffer';
  if (buf.byteLength === 0) {
    // Node 20 has no ArrayBuffer.prototype.detached; only a detached buffer refuses a view.
    try {
      new Uint8Array(buf);
    } catch {
      return 'whose ArrayBuffer is detached';
    }
  }
  return null;
}

/** Product of dims, checking each is a non-negative safe integer. */
export function dimsSize(dims: readonly number[], what = 'dims'): number {
  let n = 1;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    if (!Number.isSafeInteger(d) || d < 0) throw shapeError(`${what}: entry ${i} must be a non-negative integer, got ${String(d)}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw shapeError(`${what}: [${dims.join(', ')}] has too many elements`);
  return n;
}

// --- float16 / bfloat16 conversions (round to nearest even) ---
// Encoders take any JS number and round it ONCE to the nearest value of the
// target format (ties to even). Going through float32 first would round twice
// and can land one ulp off (a double just above a float16 midpoint rounds down
// onto the midpoint in float32, then ties-to-even may go the wrong way).
// Values that already are float32 take the bit-trick fast path, which rounds once.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u32of64 = new Uint32Array(f64.buffer);
const HI_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian: the high word is [1]

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Bits of the nearest binary float with expBits/mantBits (IEEE layout, subnormals, ties to even). */
function roundToSmallFloat(v: number, expBits: number, mantBits: number, nanBits: number): number {
  if (Number.isNaN(v)) return nanBits;
  const bias = (1 << (expBits - 1)) - 1;
  const expMax = (1 << expBits) - 1;
  const sign = v < 0 || Object.is(v, -0) ? 1 << (expBits + mantBits) : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | (expMax << mantBits);
  const minExp = 1 - bias; // exponent of the smallest normal; subnormals share its quantum
  // At most half the smallest subnormal: rounds to (signed) zero, ties to even included.
  if (a <= 2 ** (minExp - mantBits - 1)) return sign;
  // a is a normal double here, so its exponent field is floor(log2(a)) exactly.
  f64[0] = a;
  let e = Math.max(minExp, ((u32of64[HI_WORD] >>> 20) & 0x7ff) - 1023);
  const one = 2 ** mantBits;
  // a / quantum is exact (division by a power of two), so this is the only rounding.
  let m = roundHalfEven(a / 2 ** (e - mantBits));
  if (m >= 2 * one) {
    m /= 2;
    e++;
  }
  if (m < one) return sign | m; // subnormal (or zero); m === one would be the smallest normal
  const biased = e + bias;
  if (biased >= expMax) return sign | (expMax << mantBits);
  return sign | (biased << mantBits) | (m - one);
}

export function float32ToBfloat16Bits(v: number): number {
  if (Math.fround(v) !== v) return Number.isNaN(v) ? 0x7fc0 : roundToSmallFloat(v, 8, 7, 0x7fc0);
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bfloat16BitsToFloat32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

export function float32ToFloat16Bits(v: number): number {
  if (Math.fround(v) !== v) return Number.isNaN(v) ? 0x7e00 : roundToSmallFloat(v, 5, 10, 0x7e00);
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Nested JS arrays (or a flat array) as flat values plus dims. */
export type NestedArray<T> = T | NestedArray<T>[];

function inferDims(x: unknown, what: string): number[] {
  const dims: number[] = [];
  let cur: unknown = x;
  while (Array.isArray(cur)) {
    dims.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  // Ragged arrays are rejected while flattening.
  void what;
  return dims;
}

function flatten(x: unknown, dims: number[], what: string): ArrayLike<unknown> {
  const index: number[] = []; // the position being walked; turned into text only for an error
  const where = (): string => (index.length ? index.map((i) => `[${i}]`).join('') : 'top');
  const last = dims.length - 1;
  const checkLeaves = (v: unknown[]): void => {
    for (let i = 0; i < v.length; i++) {
      if (Array.isArray(v[i])) {
        index.push(i);
        throw shapeError(`${what}: ragged nested array at ${where()}: expected a scalar, got an array`);
      }
    }
  };
  if (last <= 0) {
    // A flat array (or a scalar): no copy needed, only no arrays inside.
    if (Array.isArray(x)) checkLeaves(x);
    return last < 0 ? [x] : (x as unknown[]);
  }
  const out: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (!Array.isArray(v) || v.length !== dims[depth]) {
      throw shapeError(`${what}: ragged nested array at ${where()}: expected length ${dims[depth]}, got ${Array.isArray(v) ? v.length : typeof v}`);
    }
    if (depth === last) {
      checkLeaves(v);
      for (let i = 0; i < v.length; i++) out.push(v[i]);
      return;
    }
    index.push(0);
    for (let i = 0; i < v.length; i++) {
      index[depth] = i;
      walk(v[i], depth + 1);
    }
    index.pop();
  };
  walk(x, 0);
  return out;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fillFrom(dtype: DataType, values: ArrayLike<unknown>, what: string): TypedArray {
  const n = values.length;
  const out = allocTyped(dtype, n);
  const lim: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255], int32: [-(2 ** 31), 2 ** 31 - 1] };
  for (let i = 0; i < n; i++) {
    const v = values[i];
    switch (dtype) {
      case 'int64': {
        if (typeof v === 'bigint') {
          // BigInt64Array would wrap silently; a value outside int64 is an error.
          if (v < INT64_MIN || v > INT64_MAX) throw dtypeError(`${what}: element ${i} = ${v} does not fit int64`);
          (out as BigInt64Array)[i] = v;
        } else if (typeof v === 'number' && Number.isSafeInteger(v)) (out as BigInt64Array)[i] = BigInt(v);
        else throw dtypeError(`${what}: element ${i} must be an integer for int64, got ${String(v)}`);
        break;
      }
      case 'bool':
        if (typeof v !== 'boolean' && v !== 0 && v !== 1) throw dtypeError(`${what}: element ${i} must be a boolean, got ${String(v)}`);
        out[i] = v ? 1 : 0;
        break;
      case 'float16':
      case 'bfloat16':
      case 'float32': {
        const num = typeof v === 'bigint' ? Number(v) : v;
        if (typeof num !== 'number') throw dtypeError(`${what}: element ${i} must be a number, got ${typeof v}`);
        if (dtype === 'float32') out[i] = num;
        else out[i] = dtype === 'float16' ? float32ToFloat16Bits(num) : float32ToBfloat16Bits(num);
        break;
      }
      default: {
        const num = typeof v === 'bigint' ? Number(v) : v;
        if (typeof num !== 'number' || !Number.isInteger(num)) throw dtypeError(`${what}: element ${i} must be an integer for ${dtype}, got ${String(v)}`);
        const [lo, hi] = lim[dtype];
        if (num < lo || num > hi) throw dtypeError(`${what}: element ${i} = ${num} does not fit ${dtype}`);
        out[i] = num;
      }
    }
  }
  return out;
}

function matchesDtype(dtype: DataType, data: unknown): boolean {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'float16':
    case 'bfloat16':
      return data instanceof Uint16Array;
    case 'int8':
      return data instanceof Int8Array;
    case 'uint8':
    case 'bool':
      return data instanceof Uint8Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'int64':
      return data instanceof BigInt64Array;
  }
}

export class Tensor<T extends DataType = DataType> {
  readonly dtype: T;
  readonly dims: readonly number[];
  readonly data: DataTypeMap[T];

  /**
   * new Tensor('float32', new Float32Array(6), [2, 3])   zero-copy
   * new Tensor('int64', [[1, 2], [3, 4]])                 nested arrays convert (dims inferred)
   * new Tensor('int64', [1, 2, 3, 4], [2, 2])             flat array with dims
   */
  constructor(dtype: T, data: DataTypeMap[T] | NestedArray<number | bigint | boolean>, dims?: readonly number[]) {
    if (!isDataType(dtype)) throw dtypeError(`Tensor: dtype must be one of ${DATA_TYPES.join(', ')}, got ${String(dtype)}`);
    if (dims !== undefined && !Array.isArray(dims)) throw argError(`Tensor: dims must be an array of integers, got ${dims === null ? 'null' : typeof dims}`);
    let flat: TypedArray;
    let shape: number[];
    if (ArrayBuffer.isView(data)) {
      if (!matchesDtype(dtype, data)) {
        throw dtypeError(`Tensor: data for dtype ${dtype} must be a ${CTORS[dtype].name}, got ${data.constructor.name}`);
      }
      // A detached view reads as empty: say so rather than report a size mismatch.
      if (bufferProblem(data) === 'whose ArrayBuffer is detached') {
        throw argError(`Tensor: data must be a typed array over a live ArrayBuffer, got a ${data.constructor.name} whose ArrayBuffer is detached (transferred)`);
      }
      flat = data as TypedArray;
      shape = dims ? [...dims] : [flat.length];
    } else if (Array.isArray(data)) {
      // Nested arrays are flattened in row-major order (ragged ones rejected), then
      // `dims`, when given, only has to hold the same number of elements.
      const nestedDims = inferDims(data, 'Tensor data');
      flat = fillFrom(dtype, flatten(data, nestedDims, 'Tensor data'), 'Tensor data');
      shape = dims ? [...dims] : nestedDims;
    } else {
      throw argError(`Tensor: data must be a typed array or a (nested) array, got ${data === null ? 'null' : typeof data}`);
    }
    const size = dimsSize(shape, 'Tensor dims');
    if (size !== flat.length) {
      throw shapeError(`Tensor: data has ${flat.length} elements but dims [${shape.join(', ')}] need ${size}`);
    }
    this.dtype = dtype;
    this.dims = Object.freeze(shape);
    this.data = flat as DataTypeMap[T];
  }

  /** Number of elements (product of dims). */
  get size(): number {
    return this.data.length;
  }

  get type(): T {
    return this.dtype;
  }

  /** Same data, other dims (no copy). One entry may be -1. */
  reshape(dims: readonly number[]): Tensor<T> {
    if (!Array.isArray(dims)) throw argError(`reshape: dims must be an array of integers, got ${dims === null ? 'null' : typeof dims}`);
    const d = [...dims];
    const neg = d.indexOf(-1);
    if (neg >= 0) {
      const rest = dimsSize(
        d.filter((_, i) => i !== neg),
        'reshape dims',
      );
      if (rest === 0 || this.size % rest !== 0) throw shapeError(`reshape: cannot infer -1 in [${dims.join(', ')}] for ${this.size} elements`);
      d[neg] = this.size / rest;
    }
    return new Tensor(this.dtype, this.data, d);
  }

  /** Element values as JS numbers (bigint for int64, boolean for bool), flat. */
  toFlatArray(): Array<number | bigint | boolean> {
    const out: Array<number | bigint | boolean> = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.at(i);
    return out;
  }

  /** Nested JS arrays in the shape of dims (a scalar for 0-d tensors). */
  tolist(): NestedArray<number | bigint | boolean> {
    const flat = this.toFlatArray();
    if (this.dims.length === 0) return flat[0];
    let pos = 0;
    const build = (depth: number): NestedArray<number | bigint | boolean> => {
      const n = this.dims[depth];
      const out: NestedArray<number | bigint | boolean>[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = depth === this.dims.length - 1 ? flat[pos++] : build(depth + 1);
      return out;
    };
    return build(0);
  }

  /** Value of flat element i, decoded (float16/bfloat16 bits become numbers). */
  at(i: number): number | bigint | boolean {
    const v = this.data[i];
    switch (this.dtype) {
      case 'float16':
        return float16BitsToFloat32(v as number);
      case 'bfloat16':
        return bfloat16BitsToFloat32(v as number);
      case 'bool':
        return v !== 0;
      default:
        return v;
    }
  }

  /** The only element of a one-element tensor. */
  item(): number | bigint | boolean {
    if (this.size !== 1) throw shapeError(`item: tensor has ${this.size} elements, expected 1`);
    return this.at(0);
  }

  /** A copy converted to another dtype (floats round to nearest even; ints must be exact). */
  to<U extends DataType>(dtype: U): Tensor<U> {
    if ((dtype as DataType) === this.dtype) return new Tensor(dtype, (this.data as TypedArray).slice() as DataTypeMap[U], this.dims);
    return new Tensor(dtype, fillFrom(dtype, this.toFlatArray(), 'Tensor.to') as DataTypeMap[U], this.dims);
  }

  /** The data as float32 (a view when already float32). */
  toFloat32(): Float32Array {
    if (this.dtype === 'float32') return this.data as Float32Array;
    const out = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = Number(this.at(i));
    return out;
  }
}

/** A typed-array constructor name for a dtype (used in messages). */
export function arrayTypeName(dtype: DataType): string {
  return CTORS[dtype].name;
}
