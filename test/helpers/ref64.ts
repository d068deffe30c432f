// ref64.ts: the one set of float64 reference functions the tests compare kernels,
// engines and exported graphs against: erf, HF's activations (ACT2FN formulas, by
// name and by the addon's activation code) and a row softmax. Plain, scalar and
// written from the definitions; accurate to ~1e-14, far below any float32 tolerance.

/** erf to ~1e-14: the Maclaurin series below |x| = 3, a continued fraction for erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...)))), evaluated bottom-up.
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** HF 'gelu': the exact, erf-based GELU. */
export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
/** HF 'gelu_new' (= gelu_pytorch_tanh, gelu_accurate): the tanh approximation. */
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** HF ACT2FN formulas by name (aliases included). */
export const ACT_FN: Record<string, (x: number) => number> = {
  linear: (x) => x,
  gelu,
  gelu_python: gelu,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_accurate: geluTanh,
  gelu_fast: (x) => 0.5 * x * (1 + Math.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))),
  quick_gelu: (x) => x * sigmoid(1.702 * x),
  relu: (x) => Math.max(0, x),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  relu2: (x) => Math.max(0, x) ** 2,
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  sigmoid,
  tanh: Math.tanh,
  mish: (x) => x * Math.tanh(Math.log1p(Math.exp(x))),
  gelu_10: (x) => Math.min(10, Math.max(-10, gelu(x))),
  laplace: (x) => 0.5 * (1 + erf((x - 0.707107) / (0.282095 * Math.SQRT2))),
  leaky_relu: (x) => (x >= 0 ? x : 0.01 * x),
};

/** The addon's activation codes (lib/models ACTIVATION_CODES numbering), in order. */
export const ACT_NAMES = ['linear', 'gelu', 'gelu_new', 'quick_gelu', 'relu', 'relu6', 'relu2', 'silu', 'sigmoid', 'tanh', 'mish', 'gelu_10', 'laplace', 'leaky_relu'] as const;

/** act(x) for an activation code. */
export function actByCode(code: number, x: number): number {
  const name = ACT_NAMES[code];
  if (name === undefined) throw new Error(`ref64: unknown activation code ${code}`);
  return ACT_FN[name](x);
}

/** Softmax over each row of n values (max-subtracted), in float64. */
export function softmaxRows(x: ArrayLike<number>, rows: number, n: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, x[i * n + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += y[i * n + j] = Math.exp(x[i * n + j] - mx);
    for (let j = 0; j < n; j++) y[i * n + j] /= s;
  }
  return y;
}
