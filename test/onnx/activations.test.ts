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
import { ACT_FN } from '../helpers/ref64';

const REF = ACT_FN;

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
