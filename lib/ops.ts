// ops.ts: public single ops on Tensors. lightconv and dynamicconv are the lightweight and
// dynamic convolutions of Wu et al. 2019 with fairseq's semantics (LightweightConv1dTBC,
// DynamicConv1dTBC forward at inference, so weight dropout is off), batch-major:
//   y[b,t,c] = Σ_k w'[head(c), k] · x[b, t + k - padding_l, c] (+ bias[c]), zeros outside [0, T),
// head(c) = floor(c / (C/H)), w' = softmax over the K taps of w when weightSoftmax is set.
// Inputs are checked here (typed errors naming the argument) and again in the binding
// (native/binding/ops_public.cc); the CPU path is lightconv_cpu, the CUDA one lightconv.cu.
import { cudaOrdinal } from './device';
import { ConvBertError, argError, dtypeError, shapeError } from './errors';
import { native } from './native';
import { checkOptionKeys } from './options';
import { Tensor, bufferProblem } from './tensor';
import { boolOption, describe, isPlainObject } from './validate';

/**
 * Where the taps sit relative to the output position:
 * - 'both' (default): padding_l = floor((K - 1) / 2), fairseq's encoder layers (K // 2 for odd K;
 *   for even K, (K - 1) // 2 on the left and K // 2 on the right);
 * - 'left': padding_l = K - 1, fairseq's decoder layers (causal: y[t] reads x[t - K + 1 .. t]);
 * - a number: padding_l itself, an integer in [0, K).
 */
export type ConvPadding = 'both' | 'left' | number;

/** 'cpu' (default), 'cuda' (= 'cuda:0') or 'cuda:N' (a CUDA build of the addon). */
export type OpDevice = 'cpu' | 'cuda' | `cuda:${number}`;

export interface ConvOpOptions {
  /** See ConvPadding. Default 'both'. */
  padding?: ConvPadding;
  /**
   * Softmax over the K taps of each head before use (fairseq's weight_softmax). Default true, as in
   * the paper and fairseq's lightconv models (the bare fairseq modules default to false).
   */
  weightSoftmax?: boolean;
  /** float32 [C], added to every position (fairseq's bias=True). */
  bias?: Tensor | null;
  /** Where the op runs. Default 'cpu'. */
  device?: OpDevice;
}

interface Prepared {
  req: {
    x: Float32Array;
    w: Float32Array;
    bias: Float32Array | null;
    y: Float32Array;
    B: number;
    T: number;
    C: number;
    H: number;
    K: number;
    padding_l: number;
    per_position: boolean;
    softmax: boolean;
    device: number;
  };
  dims: number[];
}

interface OpsAddon {
  lightconvRun(req: Prepared['req']): Promise<void>;
  lightconvRunSync(req: Prepared['req']): void;
}

const OPTION_KEYS: readonly string[] = ['padding', 'weightSoftmax', 'bias', 'device'];

function show(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

function float32Tensor(fn: string, name: string, v: unknown): Tensor<'float32'> {
  if (!(v instanceof Tensor)) throw argError(`${fn}: ${name} must be a Tensor, got ${describe(v)}`);
  if (v.dtype !== 'float32') throw dtypeError(`${fn}: ${name}: expected dtype float32, got ${v.dtype}`);
  const problem = bufferProblem(v.data);
  if (problem) throw argError(`${fn}: ${name} must be a Float32Array over an ArrayBuffer, got one ${problem}`);
  return v as Tensor<'float32'>;
}

function parseDevice(fn: string, d: unknown): number {
  if (d === undefined || d === 'cpu') return -1;
  const n = cudaOrdinal(d);
  if (n !== null) return n;
  throw new ConvBertError(`${fn}: options.device ${JSON.stringify(d) ?? String(d)} is not supported; use 'cpu', 'cuda' or 'cuda:N'`, 'ERR_CONVBERT_UNSUPPORTED');
}

function prepare(fn: string, x: unknown, weight: unknown, options: ConvOpOptions | undefined, dynamic: boolean): Prepared {
  if (options !== undefined && !isPlainObject(options)) throw argError(`${fn}: options must be an object, got ${describe(options)}`);
  const o = options ?? {};
  checkOptionKeys(`${fn}: options`, o, OPTION_KEYS);
  const xt = float32Tensor(fn, 'x', x);
  if (xt.dims.length !== 3) throw shapeError(`${fn}: x: expected dims [B, T, C], got ${show(xt.dims)}`);
  const [B, T, C] = xt.dims;
  if (C < 1) throw shapeError(`${fn}: x: expected at least one channel (dims [B, T, C] with C >= 1), got ${show(xt.dims)}`);
  const wt = float32Tensor(fn, 'weight', weight);
  let H: number;
  let K: number;
  if (dynamic) {
    if (wt.dims.length !== 4 || wt.dims[0] !== B || wt.dims[1] !== T) {
      throw shapeError(`${fn}: weight: expected dims [${B}, ${T}, H, K] (B and T like x), got ${show(wt.dims)}`);
    }
    [, , H, K] = wt.dims;
  } else {
    // [H, K], or fairseq's LightweightConv1dTBC.weight layout [H, 1, K].
    if (wt.dims.length === 2) [H, K] = wt.dims;
    else if (wt.dims.length === 3 && wt.dims[1] === 1) [H, , K] = wt.dims;
    else throw shapeError(`${fn}: weight: expected dims [H, K] or [H, 1, K], got ${show(wt.dims)}`);
  }
  if (H < 1 || K < 1) throw shapeError(`${fn}: weight: expected H >= 1 heads and K >= 1 taps, got dims ${show(wt.dims)}`);
  if (C % H !== 0) {
    throw shapeError(`${fn}: weight: expected a head count that divides C = ${C} (x's channels), got H = ${H} (dims ${show(wt.dims)})`);
  }
  const padding = o.padding ?? 'both';
  let padding_l: number;
  if (padding === 'both') padding_l = Math.floor((K - 1) / 2);
  else if (padding === 'left') padding_l = K - 1;
  else if (typeof padding === 'number' && Number.isInteger(padding) && padding >= 0 && padding < K) padding_l = padding;
  else throw argError(`${fn}: options.padding: expected 'both', 'left' or an integer in [0, ${K}) (K = ${K}), got ${describe(padding)}`);
  const ws = boolOption(`${fn}: options.weightSoftmax`, o.weightSoftmax ?? undefined, true);
  let bias: Float32Array | null = null;
  if (o.bias !== undefined && o.bias !== null) {
    const bt = float32Tensor(fn, 'options.bias', o.bias);
    if (bt.dims.length !== 1 || bt.dims[0] !== C) throw shapeError(`${fn}: options.bias: expected dims [${C}] like x's channels, got ${show(bt.dims)}`);
    bias = bt.data;
  }
  const device = parseDevice(fn, o.device);
  let y: Float32Array;
  try {
    y = new Float32Array(xt.size);
  } catch {
    throw new ConvBertError(`${fn}: the output [${B}, ${T}, ${C}] (${xt.size} floats) is more than one Float32Array can hold`, 'ERR_CONVBERT_LIMIT');
  }
  return {
    req: { x: xt.data, w: wt.data, bias, y, B, T, C, H, K, padding_l, per_position: dynamic, softmax: ws, device },
    dims: [B, T, C],
  };
}

function addon(): OpsAddon {
  return native() as unknown as OpsAddon;
}

/**
 * Lightweight convolution (Wu et al. 2019): one K-tap kernel per head, shared by the C/H channels of
 * that head and by every position. x: float32 [B, T, C]; weight: float32 [H, K] (or fairseq's [H, 1, K]).
 * Resolves to a float32 [B, T, C] Tensor. Runs on a libuv thread; the inputs are copied before it returns.
 */
export async function lightconv(x: Tensor, weight: Tensor, options?: ConvOpOptions): Promise<Tensor<'float32'>> {
  const p = prepare('lightconv', x, weight, options, false);
  await addon().lightconvRun(p.req);
  return new Tensor('float32', p.req.y, p.dims);
}

/** lightconv on the calling thread (for code already on a worker_threads worker). */
export function lightconvSync(x: Tensor, weight: Tensor, options?: ConvOpOptions): Tensor<'float32'> {
  const p = prepare('lightconvSync', x, weight, options, false);
  addon().lightconvRunSync(p.req);
  return new Tensor('float32', p.req.y, p.dims);
}

/**
 * Dynamic convolution (Wu et al. 2019): like lightconv, but every position has its own kernels.
 * x: float32 [B, T, C]; weight: float32 [B, T, H, K] (fairseq computes it as a linear map of the
 * input; pass that result, batch-major). Resolves to a float32 [B, T, C] Tensor.
 */
export async function dynamicconv(x: Tensor, weight: Tensor, options?: ConvOpOptions): Promise<Tensor<'float32'>> {
  const p = prepare('dynamicconv', x, weight, options, true);
  await addon().lightconvRun(p.req);
  return new Tensor('float32', p.req.y, p.dims);
}

/** dynamicconv on the calling thread (for code already on a worker_threads worker). */
export function dynamicconvSync(x: Tensor, weight: Tensor, options?: ConvOpOptions): Tensor<'float32'> {
  const p = prepare('dynamicconvSync', x, weight, options, true);
  addon().lightconvRunSync(p.req);
  return new Tensor('float32', p.req.y, p.dims);
}

/** The public single ops: `import { ops } from 'convbert'; await ops.lightconv(x, w, { padding: 'left' })`. */
export const ops = Object.freeze({ lightconv, lightconvSync, dynamicconv, dynamicconvSync });
