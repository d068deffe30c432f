// Tensor (lib/tensor.ts): dims/data consistency, nested arrays (ragged ones
// rejected), every dtype, zero-copy for typed arrays, int64 from numbers and
// bigints, float16/bfloat16 rounding, reshape, tolist, and typed errors.
// float16/bfloat16 are checked bit-exactly against a nearest-value search over
// every value of the format, written here: rounding is exact, so no tolerance.
import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import {
  Tensor,
  DATA_TYPES,
  dimsSize,
  itemSize,
  isDataType,
  typedView,
  allocTyped,
  arrayTypeName,
  float32ToFloat16Bits,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  bfloat16BitsToFloat32,
  type DataType,
} from '../../lib/tensor';
import { mulberry32 } from '../helpers/rng';

type Ctx = import('ava').ExecutionContext;

function throwsCode(t: Ctx, fn: () => unknown, code: ConvBertError['code'], message?: RegExp, label?: string): void {
  const err = t.throws(fn, { instanceOf: ConvBertError }, label);
  if (!err) return;
  t.is((err as ConvBertError).code, code, `${label ?? ''}: ${err.message}`);
  if (message) t.regex(err.message, message, label);
}

// ---------------------------------------------------------------- small-float references (written here)

interface Format {
  name: 'float16' | 'bfloat16';
  expBits: number;
  mantBits: number;
}
const F16: Format = { name: 'float16', expBits: 5, mantBits: 10 };
const BF16: Format = { name: 'bfloat16', expBits: 8, mantBits: 7 };

/** The value of a bit pattern, from the IEEE definition. */
function decodeRef(f: Format, bits: number): number {
  const bias = 2 ** (f.expBits - 1) - 1;
  const expMax = 2 ** f.expBits - 1;
  const sign = bits & (1 << (f.expBits + f.mantBits)) ? -1 : 1;
  const exp = (bits >> f.mantBits) & expMax;
  const mant = bits & (2 ** f.mantBits - 1);
  if (exp === expMax) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - f.mantBits);
  return sign * (1 + mant / 2 ** f.mantBits) * 2 ** (exp - bias);
}

/** Non-negative finite values in bit order (which is value order). */
function positiveValues(f: Format): number[] {
  const maxFinite = ((2 ** f.expBits - 1) << f.mantBits) - 1;
  const out: number[] = [];
  for (let b = 0; b <= maxFinite; b++) out.push(decodeRef(f, b));
  return out;
}

/** Bits of the value nearest to v (ties to the even pattern), by search over every value. */
function nearestRef(f: Format, values: number[], v: number): number {
  const signBit = 1 << (f.expBits + f.mantBits);
  const inf = (2 ** f.expBits - 1) << f.mantBits;
  if (Number.isNaN(v)) return -1;
  const sign = v < 0 || Object.is(v, -0) ? signBit : 0;
  const a = Math.abs(v);
  const last = values.length - 1;
  const max = values[last];
  // Beyond max, the next step would be max + ulp (an even pattern: the infinity).
  const ulp = max - values[last - 1];
  if (2 * a >= 2 * max + ulp) return sign | inf;
  let lo = 0;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (values[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  if (values[lo] === a || lo === last) return sign | lo;
  // 2a and the sum of two neighbours are exact in double, so this comparison is exact.
  const twice = 2 * a;
  const sum = values[lo] + values[lo + 1];
  if (twice < sum) return sign | lo;
  if (twice > sum) return sign | (lo + 1);
  return sign | (lo % 2 === 0 ? lo : lo + 1);
}

const encoders = { float16: float32ToFloat16Bits, bfloat16: float32ToBfloat16Bits };
const decoders = { float16: float16BitsToFloat32, bfloat16: bfloat16BitsToFloat32 };

for (const f of [F16, BF16]) {
  test(`${f.name}: decoding every bit pattern matches the IEEE definition`, (t) => {
    const total = 2 ** (1 + f.expBits + f.mantBits);
    let bad = -1;
    for (let b = 0; b < total; b++) {
      const want = decodeRef(f, b);
      const got = decoders[f.name](b);
      if (!(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)))) {
        bad = b;
        break;
      }
    }
    t.is(bad, -1, `first mismatch at 0x${bad.toString(16)}`);
  });

  test(`${f.name}: encoding rounds once to nearest, ties to even (values, midpoints, near-midpoints, random doubles)`, (t) => {
    const values = positiveValues(f);
    const inputs: number[] = [];
    for (let i = 0; i < values.length; i++) {
      inputs.push(values[i], -values[i]);
      if (i + 1 < values.length) {
        const mid = (values[i] + values[i + 1]) / 2;
        // Just off the midpoint by far less than a float32 ulp: rounding through float32
        // first would land on the midpoint and then tie the wrong way half the time.
        const eps = Math.max(mid * 2 ** -40, Number.MIN_VALUE);
        inputs.push(mid, -mid, mid + eps, mid - eps);
      }
    }
    const max = values[values.length - 1];
    const ulp = max - values[values.length - 2];
    inputs.push(max + ulp / 2, max + ulp / 2 - ulp * 2 ** -30, max * 4, 1e300, -1e300, Infinity, -Infinity, 0, -0, Number.MIN_VALUE);
    const rand = mulberry32(0xf16);
    for (let i = 0; i < 20000; i++) {
      // Log-uniform magnitudes across (and beyond) the format's range.
      const e = Math.floor(rand() * (2 * 2 ** (f.expBits - 1) + 2 * f.mantBits)) - 2 ** (f.expBits - 1) - f.mantBits - 2;
      inputs.push((rand() < 0.5 ? -1 : 1) * (1 + rand()) * 2 ** e);
    }
    let bad: string | null = null;
    for (const v of inputs) {
      const want = nearestRef(f, values, v);
      const got = encoders[f.name](v);
      if (got !== want) {
        bad = `${v} -> 0x${got.toString(16)}, expected 0x${want.toString(16)}`;
        break;
      }
    }
    t.is(bad, null);
    t.true(Number.isNaN(decoders[f.name](encoders[f.name](NaN))), 'NaN stays NaN');

    // The same through the Tensor constructor and back through tolist().
    const sample = inputs.slice(0, 5000);
    const tensor = new Tensor(f.name, sample);
    t.true(tensor.data instanceof Uint16Array);
    for (let i = 0; i < sample.length; i++) {
      if (tensor.data[i] !== nearestRef(f, values, sample[i])) {
        t.fail(`Tensor(${f.name}) element ${i} (${sample[i]}): 0x${tensor.data[i].toString(16)}`);
        return;
      }
    }
    const back = tensor.tolist() as number[];
    for (let i = 0; i < sample.length; i++) {
      const want = decodeRef(f, nearestRef(f, values, sample[i]));
      if (!Object.is(back[i], want)) {
        t.fail(`tolist ${f.name} element ${i}: ${back[i]} expected ${want}`);
        return;
      }
    }
  });
}

test('float16/bfloat16: well-known bit patterns and rounding cases', (t) => {
  // float16: 1 = 0x3c00, max 65504 = 0x7bff, 65520 is the tie to infinity, 2^-24 the smallest subnormal.
  t.is(float32ToFloat16Bits(1), 0x3c00);
  t.is(float32ToFloat16Bits(-2), 0xc000);
  t.is(float32ToFloat16Bits(65504), 0x7bff);
  t.is(float32ToFloat16Bits(65519.99), 0x7bff);
  t.is(float32ToFloat16Bits(65520), 0x7c00);
  t.is(float32ToFloat16Bits(2 ** -24), 0x0001);
  t.is(float32ToFloat16Bits(2 ** -25), 0x0000, 'tie between 0 and the smallest subnormal goes to 0 (even)');
  t.is(float32ToFloat16Bits(3 * 2 ** -25), 0x0002, 'tie between 1 and 2 ulps goes to 2 (even)');
  t.is(float32ToFloat16Bits(-0), 0x8000);
  // 1 + 2^-11 is the midpoint of 1 and 1 + 2^-10: ties to even gives 1; a hair above gives 1 + 2^-10.
  t.is(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00);
  t.is(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -40), 0x3c01, 'a double above the midpoint rounds up (no double rounding via float32)');
  t.is(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
  // bfloat16: the top half of the float32 bits, rounded.
  t.is(float32ToBfloat16Bits(1), 0x3f80);
  t.is(float32ToBfloat16Bits(1 + 2 ** -8), 0x3f80, 'midpoint ties to even');
  t.is(float32ToBfloat16Bits(1 + 2 ** -8 + 2 ** -40), 0x3f81, 'a double above the midpoint rounds up');
  t.is(float32ToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
  t.is(float32ToBfloat16Bits(3.4028234663852886e38), 0x7f80, 'float32 max rounds to infinity in bfloat16');
  t.is(float32ToBfloat16Bits(-Infinity), 0xff80);
});

// ---------------------------------------------------------------- construction

const SAMPLES: Record<DataType, { values: Array<number | bigint | boolean>; ctor: string }> = {
  float32: { values: [0, -1.5, 3.25, 1e-3], ctor: 'Float32Array' },
  float16: { values: [0, -1.5, 3.25, 65504], ctor: 'Uint16Array' },
  bfloat16: { values: [0, -1.5, 3.25, 2 ** 100], ctor: 'Uint16Array' },
  int8: { values: [-128, 0, 1, 127], ctor: 'Int8Array' },
  uint8: { values: [0, 1, 128, 255], ctor: 'Uint8Array' },
  int32: { values: [-(2 ** 31), -1, 7, 2 ** 31 - 1], ctor: 'Int32Array' },
  int64: { values: [-(2n ** 63n), -1n, 2 ** 53 - 1, 2n ** 63n - 1n], ctor: 'BigInt64Array' },
  bool: { values: [true, false, 1, 0], ctor: 'Uint8Array' },
};

test('every dtype: item sizes, array classes, flat and nested construction, tolist round trip', (t) => {
  t.deepEqual([...DATA_TYPES].sort(), ['bfloat16', 'bool', 'float16', 'float32', 'int32', 'int64', 'int8', 'uint8']);
  const sizes: Record<DataType, number> = { float32: 4, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int32: 4, int64: 8, bool: 1 };
  for (const dtype of DATA_TYPES) {
    t.true(isDataType(dtype));
    t.is(itemSize(dtype), sizes[dtype], dtype);
    t.is(arrayTypeName(dtype), SAMPLES[dtype].ctor, dtype);
    const { values } = SAMPLES[dtype];
    const flat = new Tensor(dtype, values, [2, 2]);
    t.is(flat.dtype, dtype);
    t.is(flat.type, dtype);
    t.deepEqual(flat.dims, [2, 2]);
    t.is(flat.size, 4);
    t.is(flat.data.constructor.name, SAMPLES[dtype].ctor, dtype);
    const nested = new Tensor(dtype, [values.slice(0, 2), values.slice(2)] as never);
    t.deepEqual(nested.dims, [2, 2]);
    t.deepEqual(Array.from(nested.data as ArrayLike<unknown>), Array.from(flat.data as ArrayLike<unknown>), dtype);
    // tolist gives JS values: numbers, bigints for int64, booleans for bool.
    const want = values.map((v) =>
      dtype === 'int64' ? BigInt(v as number | bigint) : dtype === 'bool' ? Boolean(v) : dtype === 'float32' ? Math.fround(v as number) : (v as number),
    );
    t.deepEqual(flat.tolist(), [want.slice(0, 2), want.slice(2)], dtype);
    t.deepEqual(flat.toFlatArray(), want, dtype);
    // Zero-size and 0-d tensors.
    t.deepEqual(new Tensor(dtype, allocTyped(dtype, 0), [3, 0]).tolist(), [[], [], []]);
    t.is(new Tensor(dtype, [values[1]] as never, []).item(), want[1]);
  }
  t.false(isDataType('float64'));
  t.false(isDataType('toString'));
});

test('typed arrays are kept zero-copy: same object, same buffer, same offset; reshape shares it too', (t) => {
  for (const dtype of DATA_TYPES) {
    const backing = allocTyped(dtype, 16);
    const view = typedView(dtype, backing.buffer, 4 * itemSize(dtype), 6);
    const tensor = new Tensor(dtype, view, [2, 3]);
    t.is(tensor.data, view, dtype);
    t.is(tensor.data.buffer, backing.buffer, dtype);
    t.is(tensor.data.byteOffset, 4 * itemSize(dtype));
    const r = tensor.reshape([3, -1]);
    t.deepEqual(r.dims, [3, 2]);
    t.is(r.data, view, `${dtype}: reshape copies nothing`);
    // A write through the original array shows in the tensor.
    (view as unknown as { [i: number]: number | bigint })[0] = dtype === 'int64' ? 5n : 5;
    t.is(Number(tensor.data[0]), 5, dtype);
  }
  // A Node Buffer is a Uint8Array: kept as is for uint8.
  const buf = Buffer.from([1, 2, 3, 4]);
  t.is(new Tensor('uint8', buf, [4]).data, buf);
  // Without dims, a typed array is 1-D.
  t.deepEqual(new Tensor('float32', new Float32Array(5)).dims, [5]);
  // Conversions copy: to() of the same dtype does not alias.
  const f = new Tensor('float32', new Float32Array([1, 2]));
  t.not(f.to('float32').data, f.data);
  t.is(f.toFloat32(), f.data, 'toFloat32 of float32 is a view');
});

test('int64 from numbers and bigints: exact, safe-integer numbers only, int64 range enforced', (t) => {
  const a = new Tensor('int64', [1, -2, 2 ** 53 - 1, -(2 ** 53 - 1), 5n, -(2n ** 63n), 2n ** 63n - 1n]);
  t.true(a.data instanceof BigInt64Array);
  t.deepEqual([...a.data], [1n, -2n, 2n ** 53n - 1n, -(2n ** 53n - 1n), 5n, -(2n ** 63n), 2n ** 63n - 1n]);
  t.deepEqual(
    new Tensor('int64', [
      [1, 2],
      [3n, 4n],
    ]).tolist(),
    [
      [1n, 2n],
      [3n, 4n],
    ],
  );
  throwsCode(t, () => new Tensor('int64', [2 ** 53]), 'ERR_CONVBERT_DTYPE', /element 0/, 'unsafe number');
  throwsCode(t, () => new Tensor('int64', [0, 1.5]), 'ERR_CONVBERT_DTYPE', /element 1/, 'fraction');
  throwsCode(t, () => new Tensor('int64', [2n ** 63n]), 'ERR_CONVBERT_DTYPE', /does not fit int64/, 'bigint too large');
  throwsCode(t, () => new Tensor('int64', [-(2n ** 63n) - 1n]), 'ERR_CONVBERT_DTYPE', /does not fit int64/, 'bigint too small');
  throwsCode(t, () => new Tensor('int64', ['1' as never]), 'ERR_CONVBERT_DTYPE', undefined, 'string');
  throwsCode(t, () => new Tensor('int64', new Int32Array(2) as never), 'ERR_CONVBERT_DTYPE', /BigInt64Array/, 'Int32Array for int64');
  // Other dtypes take bigints by value.
  t.deepEqual([...new Tensor('int32', [3n, -4n]).data], [3, -4]);
  t.deepEqual([...new Tensor('float32', [3n]).data], [3]);
});

test('integer and bool dtypes check range and kind', (t) => {
  throwsCode(t, () => new Tensor('int8', [128]), 'ERR_CONVBERT_DTYPE', /does not fit int8/, 'int8 128');
  throwsCode(t, () => new Tensor('int8', [-129]), 'ERR_CONVBERT_DTYPE', undefined, 'int8 -129');
  throwsCode(t, () => new Tensor('uint8', [-1]), 'ERR_CONVBERT_DTYPE', undefined, 'uint8 -1');
  throwsCode(t, () => new Tensor('uint8', [256]), 'ERR_CONVBERT_DTYPE', undefined, 'uint8 256');
  throwsCode(t, () => new Tensor('int32', [2 ** 31]), 'ERR_CONVBERT_DTYPE', undefined, 'int32 2^31');
  throwsCode(t, () => new Tensor('int32', [0.5]), 'ERR_CONVBERT_DTYPE', undefined, 'int32 0.5');
  throwsCode(t, () => new Tensor('int32', [NaN]), 'ERR_CONVBERT_DTYPE', undefined, 'int32 NaN');
  throwsCode(t, () => new Tensor('bool', [2]), 'ERR_CONVBERT_DTYPE', undefined, 'bool 2');
  throwsCode(t, () => new Tensor('bool', ['true' as never]), 'ERR_CONVBERT_DTYPE', undefined, 'bool string');
  throwsCode(t, () => new Tensor('float32', [true as never]), 'ERR_CONVBERT_DTYPE', undefined, 'float32 boolean');
  throwsCode(t, () => new Tensor('float32', [null as never]), 'ERR_CONVBERT_DTYPE', undefined, 'float32 null');
  const b = new Tensor('bool', [true, 0, 1, false]);
  t.deepEqual([...b.data], [1, 0, 1, 0]);
  t.deepEqual(b.tolist(), [true, false, true, false]);
  // float32 stores the nearest float32 (Math.fround), and NaN/Infinity pass through.
  t.deepEqual([...new Tensor('float32', [0.1, NaN, -Infinity]).data], [Math.fround(0.1), NaN, -Infinity]);
});

test('dims and data must agree; bad dims and data are typed errors', (t) => {
  throwsCode(t, () => new Tensor('float32', new Float32Array(6), [2, 2]), 'ERR_CONVBERT_SHAPE', /6 elements but dims \[2, 2\] need 4/, 'typed mismatch');
  throwsCode(t, () => new Tensor('float32', [1, 2, 3], [2, 2]), 'ERR_CONVBERT_SHAPE', undefined, 'array mismatch');
  throwsCode(
    t,
    () =>
      new Tensor(
        'float32',
        [
          [1, 2],
          [3, 4],
        ],
        [3],
      ),
    'ERR_CONVBERT_SHAPE',
    undefined,
    'nested mismatch',
  );
  throwsCode(t, () => new Tensor('float32', new Float32Array(2), [-1, -2]), 'ERR_CONVBERT_SHAPE', /non-negative integer/, 'negative dims');
  throwsCode(t, () => new Tensor('float32', new Float32Array(2), [2.5]), 'ERR_CONVBERT_SHAPE', undefined, 'fractional dim');
  throwsCode(t, () => new Tensor('float32', new Float32Array(2), [NaN]), 'ERR_CONVBERT_SHAPE', undefined, 'NaN dim');
  throwsCode(t, () => new Tensor('float32', new Float32Array(2), 2 as never), 'ERR_CONVBERT_ARG', /dims/, 'dims a number');
  throwsCode(t, () => new Tensor('float32', new Float32Array(2), null as never), 'ERR_CONVBERT_ARG', /dims/, 'dims null');
  throwsCode(t, () => new Tensor('float32', new Float32Array(2), '2' as never), 'ERR_CONVBERT_ARG', /dims/, 'dims a string');
  throwsCode(t, () => new Tensor('float32', 3 as never), 'ERR_CONVBERT_ARG', /data/, 'data a number');
  throwsCode(t, () => new Tensor('float32', null as never), 'ERR_CONVBERT_ARG', /null/, 'data null');
  throwsCode(t, () => new Tensor('float32', new DataView(new ArrayBuffer(8)) as never), 'ERR_CONVBERT_DTYPE', /DataView/, 'DataView');
  throwsCode(t, () => new Tensor('float64' as never, [1]), 'ERR_CONVBERT_DTYPE', /float64/, 'unknown dtype');
  throwsCode(t, () => new Tensor('float32', new Float64Array(2) as never), 'ERR_CONVBERT_DTYPE', /Float32Array.*Float64Array/, 'Float64Array');
  throwsCode(t, () => new Tensor('float16', new Float32Array(2) as never), 'ERR_CONVBERT_DTYPE', /Uint16Array/, 'float16 raw bits');
  throwsCode(t, () => new Tensor('uint8', new Uint8ClampedArray(2) as never), 'ERR_CONVBERT_DTYPE', undefined, 'clamped');
  throwsCode(t, () => dimsSize([2 ** 30, 2 ** 30, 2 ** 30]), 'ERR_CONVBERT_SHAPE', /too many elements/, 'overflowing dims');
  t.is(dimsSize([]), 1);
  t.is(dimsSize([3, 0, 5]), 0);
  // A scalar needs dims [] and one element.
  const s = new Tensor('float32', [4], []);
  t.deepEqual(s.dims, []);
  t.is(s.tolist(), 4);
  throwsCode(t, () => new Tensor('float32', [], []), 'ERR_CONVBERT_SHAPE', undefined, 'empty scalar');
  t.true(Object.isFrozen(s.dims), 'dims cannot be changed behind the data');
});

test('nested arrays: dims inferred, row-major order, ragged arrays rejected with their position', (t) => {
  const x = new Tensor('float32', [
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    [
      [7, 8, 9],
      [10, 11, 12],
    ],
  ]);
  t.deepEqual(x.dims, [2, 2, 3]);
  t.deepEqual([...x.data], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  t.deepEqual(new Tensor('float32', []).dims, [0]);
  t.deepEqual(new Tensor('float32', [[], []]).dims, [2, 0]);
  // A nested array can be given other dims with the same element count.
  t.deepEqual(
    new Tensor(
      'float32',
      [
        [1, 2],
        [3, 4],
      ],
      [4],
    ).dims,
    [4],
  );
  throwsCode(t, () => new Tensor('float32', [[1, 2], [3]]), 'ERR_CONVBERT_SHAPE', /ragged.*\[1\].*expected length 2, got 1/, 'short row');
  throwsCode(t, () => new Tensor('float32', [[1, 2], 3] as never), 'ERR_CONVBERT_SHAPE', /ragged.*\[1\]/, 'scalar row');
  throwsCode(t, () => new Tensor('float32', [1, [2, 3]] as never), 'ERR_CONVBERT_SHAPE', /ragged.*\[1\].*expected a scalar/, 'array leaf');
  throwsCode(t, () => new Tensor('float32', [1, [2, 3]] as never, [3]), 'ERR_CONVBERT_SHAPE', /ragged/, 'array leaf with dims');
  throwsCode(
    t,
    () =>
      new Tensor('float32', [
        [[1], [2]],
        [[3], [4, 5]],
      ]),
    'ERR_CONVBERT_SHAPE',
    /\[1\]\[1\]/,
    'deep ragged',
  );
  throwsCode(t, () => new Tensor('float32', [[], [1]]), 'ERR_CONVBERT_SHAPE', /ragged/, 'empty then full');
});

test('reshape: -1 inference, element count kept, errors', (t) => {
  const x = new Tensor('int32', new Int32Array(24), [2, 3, 4]);
  t.deepEqual(x.reshape([4, 6]).dims, [4, 6]);
  t.deepEqual(x.reshape([-1]).dims, [24]);
  t.deepEqual(x.reshape([2, -1, 3]).dims, [2, 4, 3]);
  t.deepEqual(x.reshape([1, 24, 1]).dims, [1, 24, 1]);
  t.deepEqual(x.dims, [2, 3, 4], 'the original keeps its dims');
  throwsCode(t, () => x.reshape([5, 5]), 'ERR_CONVBERT_SHAPE', /24 elements/, 'wrong count');
  throwsCode(t, () => x.reshape([5, -1]), 'ERR_CONVBERT_SHAPE', /-1/, '-1 not dividing');
  throwsCode(t, () => x.reshape([-1, -1]), 'ERR_CONVBERT_SHAPE', undefined, 'two -1');
  throwsCode(t, () => x.reshape([0, -1]), 'ERR_CONVBERT_SHAPE', undefined, '-1 with a zero dim');
  throwsCode(t, () => x.reshape([-2, -12]), 'ERR_CONVBERT_SHAPE', undefined, 'negative dims');
  throwsCode(t, () => x.reshape(24 as never), 'ERR_CONVBERT_ARG', /dims/, 'dims a number');
});

test('tolist builds nested arrays in the shape of dims; at/item/to/toFloat32 decode values', (t) => {
  const v = Array.from({ length: 24 }, (_, i) => i - 12);
  const x = new Tensor('int32', v, [2, 3, 4]);
  const list = x.tolist() as number[][][];
  t.is(list.length, 2);
  t.is(list[0].length, 3);
  t.is(list[0][0].length, 4);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) t.is(list[i][j][k], v[i * 12 + j * 4 + k]);
  t.deepEqual(new Tensor('int32', list).data, x.data, 'tolist -> Tensor round trip');
  throwsCode(t, () => x.item(), 'ERR_CONVBERT_SHAPE', /24 elements/, 'item of many');
  // float16 data decode through at() and toFloat32().
  const h = new Tensor('float16', [0.5, -2, 65504]);
  t.deepEqual(h.toFlatArray(), [0.5, -2, 65504]);
  t.deepEqual([...h.toFloat32()], [0.5, -2, 65504]);
  // to(): floats round to nearest even, ints must be exact.
  t.deepEqual([...new Tensor('float32', [1 + 2 ** -11 + 2 ** -20]).to('float16').data], [float32ToFloat16Bits(Math.fround(1 + 2 ** -11 + 2 ** -20))]);
  t.deepEqual([...new Tensor('int32', [1, -2]).to('int64').data], [1n, -2n]);
  t.deepEqual([...new Tensor('int64', [3n]).to('float32').data], [3]);
  throwsCode(t, () => new Tensor('float32', [1.5]).to('int32'), 'ERR_CONVBERT_DTYPE', undefined, 'inexact to int');
});
