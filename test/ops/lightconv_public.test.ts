// The public ops.lightconv / ops.dynamicconv (lib/ops.ts, native/binding/ops_public.cc) on the
// CPU against the fp64 reference in test/helpers/lightconv_ref64.ts: T in 1, 7, 33 (T = 1 and K > T on
// purpose), K in 1, 3, 4, 9, C/H odd and even, padding 'both' / 'left' / a number, softmax on
// and off, with and without bias, async and sync. Then fairseq's semantics checked by hand,
// and every bad argument as a typed error naming it.
// Tolerance: rtol 1e-5, atol 1e-6: the CPU path accumulates in double and rounds once, so the
// only float error is the rounding of the output.
import test from 'ava';

import { ConvBertError, Tensor, ops, type ConvOpOptions } from '../../lib/index';
import { native } from '../../lib/native';
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { lightconvRef64 } from '../helpers/lightconv_ref64';

const f32 = (data: Float32Array, dims: number[]) => new Tensor('float32', data, dims);

interface Case {
  B: number;
  T: number;
  C: number;
  H: number;
  K: number;
  padding: 'both' | 'left' | number;
  softmax: boolean;
  bias: boolean;
  dynamic: boolean;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const T of [1, 7, 33])
    for (const [C, H] of [
      [1, 1],
      [9, 3],
      [7, 7],
      [16, 4],
    ])
      for (const K of [1, 3, 4, 9])
        for (const padding of ['both', 'left', 0] as const)
          for (const dynamic of [false, true]) {
            const softmax = (K + T + C) % 2 === 0;
            out.push({ B: 2, T, C, H, K, padding, softmax, bias: padding !== 'left', dynamic });
          }
  return out;
}

function paddingL(p: Case['padding'], K: number): number {
  return p === 'both' ? Math.floor((K - 1) / 2) : p === 'left' ? K - 1 : p;
}

function make(c: Case, rand: () => number) {
  const x = randn(rand, c.B * c.T * c.C);
  const w = randn(rand, c.dynamic ? c.B * c.T * c.H * c.K : c.H * c.K);
  const bias = c.bias ? randn(rand, c.C) : null;
  const want = lightconvRef64({ x, w, bias, B: c.B, T: c.T, C: c.C, H: c.H, K: c.K, padding_l: paddingL(c.padding, c.K), dynamic: c.dynamic, softmax: c.softmax });
  const xt = f32(x, [c.B, c.T, c.C]);
  const wt = f32(w, c.dynamic ? [c.B, c.T, c.H, c.K] : [c.H, c.K]);
  const opts: ConvOpOptions = { padding: c.padding, weightSoftmax: c.softmax, bias: bias ? f32(bias, [c.C]) : null };
  return { xt, wt, opts, want };
}

const label = (c: Case) => `${c.dynamic ? 'dynamicconv' : 'lightconv'} B=${c.B} T=${c.T} C=${c.C} H=${c.H} K=${c.K} padding=${c.padding} softmax=${c.softmax} bias=${c.bias}`;

test('ops.lightconv / ops.dynamicconv (CPU, async) match the fp64 reference', async (t) => {
  const rand = mulberry32(1301);
  for (const c of cases()) {
    const { xt, wt, opts, want } = make(c, rand);
    const y = await (c.dynamic ? ops.dynamicconv : ops.lightconv)(xt, wt, opts);
    t.is(y.dtype, 'float32');
    t.deepEqual(y.dims, [c.B, c.T, c.C]);
    assertClose(t, y.data, want, { rtol: 1e-5, atol: 1e-6, label: label(c) });
  }
});

test('ops.lightconvSync / ops.dynamicconvSync (CPU) match the fp64 reference', (t) => {
  const rand = mulberry32(1302);
  for (const c of cases().filter((_, i) => i % 3 === 0)) {
    const { xt, wt, opts, want } = make(c, rand);
    const y = (c.dynamic ? ops.dynamicconvSync : ops.lightconvSync)(xt, wt, opts);
    assertClose(t, y.data, want, { rtol: 1e-5, atol: 1e-6, label: `sync ${label(c)}` });
  }
});

test('lightconv: a long sequence over the thread pool matches the fp64 reference', async (t) => {
  // Enough positions (2 x 300) that lightconv_cpu splits them across threads.
  const rand = mulberry32(1303);
  const c: Case = { B: 2, T: 300, C: 24, H: 6, K: 31, padding: 'both', softmax: true, bias: true, dynamic: true };
  const { xt, wt, opts, want } = make(c, rand);
  assertClose(t, (await ops.dynamicconv(xt, wt, opts)).data, want, { rtol: 1e-5, atol: 1e-6, label: label(c) });
});

test("lightconv: fairseq's semantics by hand (causal mean, centred window, even K, [H, 1, K] weights, defaults)", async (t) => {
  const x = f32(new Float32Array([1, 2, 3, 4, 5]), [1, 5, 1]);
  const ones = f32(new Float32Array([0.5, 0.5, 0.5]), [1, 3]);
  // Equal logits -> taps 1/3 each: 'left' (decoder, padding_l = K - 1) is the causal window mean with zeros before t = 0.
  assertClose(t, (await ops.lightconv(x, ones, { padding: 'left' })).data, [1 / 3, 1, 2, 3, 4], { rtol: 1e-6, atol: 1e-6, label: 'causal mean' });
  // 'both' (encoder, K // 2 = 1 for K = 3) centres the window; it is also the default.
  const centred = [(1 + 2) / 3, (1 + 2 + 3) / 3, (2 + 3 + 4) / 3, (3 + 4 + 5) / 3, (4 + 5) / 3];
  assertClose(t, (await ops.lightconv(x, ones, { padding: 'both' })).data, centred, { rtol: 1e-6, atol: 1e-6, label: 'centred mean' });
  assertClose(t, (await ops.lightconv(x, ones)).data, centred, { rtol: 1e-6, atol: 1e-6, label: 'default padding and softmax' });
  // Even K = 4 with 'both': fairseq pads (K - 1) // 2 = 1 on the left and K // 2 = 2 on the right,
  // so y[t] = x[t-1] + 10 x[t] + 100 x[t+1] + 1000 x[t+2] (powers of ten keep each tap visible).
  const w4 = f32(new Float32Array([1, 10, 100, 1000]), [1, 4]);
  t.deepEqual(Array.from((await ops.lightconv(x, w4, { padding: 'both', weightSoftmax: false })).data), [3210, 4321, 5432, 543, 54]);
  // fairseq's parameter layout (H, 1, K) is the same kernel as (H, K).
  const wt = new Float32Array([0.3, -1, 2, 0.1, 0.7, -0.2]);
  const x2 = f32(new Float32Array([1, -2, 3, 0.5, 4, -1, 2, 2]), [1, 4, 2]);
  const a = await ops.lightconv(x2, f32(wt, [2, 3]), { padding: 'left' });
  const b = await ops.lightconv(x2, f32(wt, [2, 1, 3]), { padding: 'left' });
  t.deepEqual(Array.from(b.data), Array.from(a.data));
  // A numeric padding is padding_l itself.
  t.deepEqual(Array.from((await ops.lightconv(x2, f32(wt, [2, 3]), { padding: 2 })).data), Array.from(a.data));
});

test('lightconv: the README example gives what the README says', async (t) => {
  const x = f32(new Float32Array([1, 10, 2, 20, 3, 30, 4, 40]), [1, 4, 2]);
  assertClose(t, (await ops.lightconv(x, f32(new Float32Array([0, 0, 0]), [1, 3]), { padding: 'left' })).data, [1 / 3, 10 / 3, 1, 10, 2, 20, 3, 30], {
    rtol: 1e-6,
    atol: 1e-6,
    label: 'causal mean',
  });
  // A logit of 1e9 against two zeros: the softmax puts all the weight on that tap (exp(-1e9) is 0).
  const w = f32(new Float32Array([0, 0, 0, 0, 0, 1e9]), [2, 3]);
  const bias = f32(new Float32Array([0.5, -0.5]), [2]);
  assertClose(t, (await ops.lightconv(x, w, { padding: 'both', bias })).data, [1.5, 19.5, 2.5, 29.5, 3.5, 39.5, 7 / 3 + 0.5, -0.5], {
    rtol: 1e-6,
    atol: 1e-6,
    label: 'two heads, bias',
  });
  t.deepEqual((await ops.dynamicconv(x, f32(new Float32Array(24), [1, 4, 2, 3]), { padding: 'left' })).dims, [1, 4, 2]);
});

test('lightconv: empty batch or sequence gives an empty output', async (t) => {
  const y = await ops.lightconv(f32(new Float32Array(0), [0, 5, 4]), f32(new Float32Array(6), [2, 3]));
  t.deepEqual(y.dims, [0, 5, 4]);
  const z = await ops.dynamicconv(f32(new Float32Array(0), [2, 0, 4]), f32(new Float32Array(0), [2, 0, 2, 3]));
  t.deepEqual(z.dims, [2, 0, 4]);
  t.is(z.data.length, 0);
});

test('lightconv: the inputs are copied before the promise is returned', async (t) => {
  const rand = mulberry32(1304);
  const c: Case = { B: 2, T: 64, C: 32, H: 4, K: 7, padding: 'both', softmax: true, bias: true, dynamic: true };
  const { xt, wt, opts, want } = make(c, rand);
  const p = ops.dynamicconv(xt, wt, opts);
  xt.data.fill(1e6);
  wt.data.fill(-1e6);
  (opts.bias as Tensor<'float32'>).data.fill(7);
  assertClose(t, (await p).data, want, { rtol: 1e-5, atol: 1e-6, label: 'inputs changed after the call' });
});

async function code(t: import('ava').ExecutionContext, p: () => unknown, want: ConvBertError['code'], msg: RegExp): Promise<void> {
  const e = await t.throwsAsync(async () => p(), { instanceOf: ConvBertError });
  t.is(e?.code, want, e?.message);
  t.regex(e?.message ?? '', msg);
}

test('lightconv / dynamicconv: bad arguments are typed errors naming the argument', async (t) => {
  const x = f32(new Float32Array(2 * 3 * 6), [2, 3, 6]);
  const w = f32(new Float32Array(2 * 3), [2, 3]);
  const dw = f32(new Float32Array(2 * 3 * 2 * 3), [2, 3, 2, 3]);
  await code(t, () => ops.lightconv(new Float32Array(36) as unknown as Tensor, w), 'ERR_CONVBERT_ARG', /^lightconv: x must be a Tensor, got a Float32Array/);
  await code(t, () => ops.lightconv(new Tensor('float16', new Uint16Array(36), [2, 3, 6]), w), 'ERR_CONVBERT_DTYPE', /^lightconv: x: expected dtype float32, got float16/);
  await code(t, () => ops.lightconv(f32(new Float32Array(36), [6, 6]), w), 'ERR_CONVBERT_SHAPE', /x: expected dims \[B, T, C\], got \[6, 6\]/);
  await code(t, () => ops.lightconv(f32(new Float32Array(0), [2, 3, 0]), w), 'ERR_CONVBERT_SHAPE', /x: expected at least one channel/);
  await code(t, () => ops.lightconv(x, f32(new Float32Array(6), [6])), 'ERR_CONVBERT_SHAPE', /weight: expected dims \[H, K\] or \[H, 1, K\], got \[6\]/);
  await code(t, () => ops.lightconv(x, f32(new Float32Array(6), [2, 3, 1])), 'ERR_CONVBERT_SHAPE', /weight: expected dims \[H, K\] or \[H, 1, K\], got \[2, 3, 1\]/);
  await code(t, () => ops.lightconv(x, f32(new Float32Array(0), [2, 0])), 'ERR_CONVBERT_SHAPE', /K >= 1 taps/);
  await code(t, () => ops.lightconv(x, f32(new Float32Array(12), [4, 3])), 'ERR_CONVBERT_SHAPE', /weight: expected a head count that divides C = 6 .*got H = 4/);
  await code(t, () => ops.dynamicconv(x, w), 'ERR_CONVBERT_SHAPE', /^dynamicconv: weight: expected dims \[2, 3, H, K\] \(B and T like x\), got \[2, 3\]/);
  await code(t, () => ops.dynamicconv(x, f32(new Float32Array(36), [3, 2, 2, 3])), 'ERR_CONVBERT_SHAPE', /expected dims \[2, 3, H, K\]/);
  await code(
    t,
    () => ops.dynamicconv(x, dw, { padding: 3 }),
    'ERR_CONVBERT_ARG',
    /^dynamicconv: options.padding: expected 'both', 'left' or an integer in \[0, 3\) \(K = 3\), got number 3/,
  );
  await code(t, () => ops.lightconv(x, w, { padding: 3 }), 'ERR_CONVBERT_ARG', /options.padding: expected 'both', 'left' or an integer in \[0, 3\) \(K = 3\), got number 3/);
  await code(t, () => ops.lightconv(x, w, { padding: 'right' as 'left' }), 'ERR_CONVBERT_ARG', /options.padding: .*got "right"/);
  await code(t, () => ops.lightconv(x, w, { padding: 0.5 }), 'ERR_CONVBERT_ARG', /options.padding/);
  await code(t, () => ops.lightconv(x, w, { weightSoftmax: 1 as unknown as boolean }), 'ERR_CONVBERT_ARG', /options.weightSoftmax: expected a boolean, got number 1/);
  await code(t, () => ops.lightconv(x, w, { bias: f32(new Float32Array(5), [5]) }), 'ERR_CONVBERT_SHAPE', /options.bias: expected dims \[6\] like x's channels, got \[5\]/);
  await code(t, () => ops.lightconv(x, w, { bias: new Float32Array(6) as unknown as Tensor }), 'ERR_CONVBERT_ARG', /options.bias must be a Tensor/);
  await code(t, () => ops.lightconv(x, w, { device: 'gpu' as 'cpu' }), 'ERR_CONVBERT_UNSUPPORTED', /options.device "gpu" is not supported/);
  await code(
    t,
    () => ops.lightconv(x, w, { weight_softmax: true } as ConvOpOptions),
    'ERR_CONVBERT_ARG',
    /^lightconv: options: unknown option 'weight_softmax'; did you mean 'weightSoftmax'\?/,
  );
  await code(t, () => ops.lightconv(x, w, 5 as unknown as ConvOpOptions), 'ERR_CONVBERT_ARG', /options must be an object, got number 5/);
  await code(t, () => ops.lightconvSync(x, w, { padding: -1 }), 'ERR_CONVBERT_ARG', /^lightconvSync: options.padding/);
  const shared = new Float32Array(new SharedArrayBuffer(36 * 4));
  await code(t, () => ops.lightconv(f32(shared, [2, 3, 6]), w), 'ERR_CONVBERT_ARG', /x must be a Float32Array over an ArrayBuffer, got one over a SharedArrayBuffer/);
});

test('lightconv binding: lengths and aliasing are re-checked (ConvBertError naming the argument), never trusted', (t) => {
  const run = (native() as unknown as { lightconvRunSync(o: object): void }).lightconvRunSync;
  const base = {
    x: new Float32Array(6),
    w: new Float32Array(3),
    bias: null,
    y: new Float32Array(6),
    B: 1,
    T: 2,
    C: 3,
    H: 1,
    K: 3,
    padding_l: 1,
    per_position: false,
    softmax: true,
    device: -1,
  };
  t.notThrows(() => run(base));
  const shape = { instanceOf: ConvBertError, code: 'ERR_CONVBERT_SHAPE' };
  t.throws(() => run({ ...base, x: new Float32Array(5) }), { ...shape, message: 'lightconv: x: expected 6 elements, got 5' });
  t.throws(() => run({ ...base, y: new Float32Array(7) }), { ...shape, message: 'lightconv: y: expected 6 elements, got 7' });
  t.throws(() => run({ ...base, per_position: true }), { ...shape, message: 'lightconv: w: expected 6 elements, got 3' });
  t.throws(() => run({ ...base, padding_l: 3 }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: 'lightconv: padding_l: expected an integer in [0, 2], got 3' });
  t.throws(() => run({ ...base, x: new Int32Array(6) }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_DTYPE',
    message: 'lightconv: x: expected a Float32Array, got an Int32Array',
  });
  t.throws(() => run({ ...base, B: 2 ** 40, T: 2 ** 40 }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_LIMIT',
    message: /^lightconv: B \* T \* C: expected at most 2\^53 - 1 elements/,
  });
  t.throws(() => run({ ...base, softmax: 1 }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: 'lightconv: softmax: expected a boolean, got 1' });
  // y over x: the op would read rows it already overwrote.
  const buf = new Float32Array(12);
  t.throws(() => run({ ...base, x: buf.subarray(0, 6), y: buf.subarray(3, 9) }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: 'lightconv: y: expected memory apart from x, w and bias, got an overlap',
  });
  const e = t.throws(() => run({ ...base, C: 4, H: 3, x: new Float32Array(8), y: new Float32Array(8), w: new Float32Array(9), K: 3 })) as ConvBertError;
  t.is(e.code, 'ERR_CONVBERT_SHAPE');
  t.regex(e.message, /channels 4 must be a multiple of heads 3/);
});
