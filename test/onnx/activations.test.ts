// Every activation the ONNX export knows (HF ACT2FN names), run in
// onnxruntime-node on values from -12 to 12 and compared with fp64 formulas
// written here from transformers' activations.py. Tolerance: rtol 1e-5,
// atol 1e-6: float32 rounding of Erf/Tanh/Sigmoid/Exp inside onnxruntime.
import test from 'ava';
import * as ort from 'onnxruntime-node';

import { ACTIVATIONS, activation } from '../../lib/onnx/export';
import { GraphBuilder } from '../../lib/onnx/graph';
import { encodeModel } from '../../lib/onnx/onnx_proto';
import { assertClose } from '../helpers/assert_close';

/** erf to ~1e-15: Maclaurin series near 0, continued fraction for erfc further out. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 120; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...))))
  let f = a;
  for (let n = 80; n >= 1; n--) f = a + n / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

const REF: Record<string, (x: number) => number> = {
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

test('every known activation matches its fp64 formula in onnxruntime-node', async (t) => {
  t.deepEqual([...ACTIVATIONS].sort(), Object.keys(REF).sort(), 'the export and this test know the same activations');
  const n = 241;
  const x = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
  const g = new GraphBuilder();
  g.reserve('x');
  const names = [...ACTIVATIONS];
  for (const name of names) {
    const y = activation(g, 'x', name, name);
    g.op('Identity', [y], `${name}.out`, undefined, g.reserve(`y_${name}`));
  }
  const bytes = encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'convbert-test',
    producerVersion: '0',
    graph: {
      name: 'activations',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: 'x', dtype: 'float32', dims: [n] }],
      outputs: names.map((name) => ({ name: `y_${name}`, dtype: 'float32' as const, dims: [n] })),
    },
  }).toBytes();
  const sess = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await sess.run({ x: new ort.Tensor('float32', x, [n]) });
  for (const name of names) {
    const want = Array.from(x, (v) => REF[name](v));
    assertClose(t, out[`y_${name}`].data as Float32Array, want, { rtol: 1e-5, atol: 1e-6, label: name });
  }
  await sess.release();
});
