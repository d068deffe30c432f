// The protobuf/ONNX writer on its own: varints against the encoding rules
// (protobuf's documented examples and 64-bit two's complement), a round trip
// through the test's separate decoder, and tiny hand-built graphs that
// onnxruntime-node loads and runs. Tolerance: exact for integer ops; 1e-6
// absolute (float32 rounding of exp/sum) for Softmax against an fp64 reference.
import test from 'ava';
import * as ort from 'onnxruntime-node';

import { GraphBuilder, attr } from '../../lib/onnx/graph';
import { encodeModel } from '../../lib/onnx/onnx_proto';
import { ProtoWriter } from '../../lib/onnx/protobuf';
import { assertClose } from '../helpers/assert_close';
import { decodeFields, decodeModel, readVarint } from './proto_reader';

function varintBytes(v: number | bigint): number[] {
  const w = new ProtoWriter();
  w.varint(v);
  return [...w.toBytes()];
}

test('varints follow the wire format', (t) => {
  t.deepEqual(varintBytes(0), [0]);
  t.deepEqual(varintBytes(1), [1]);
  t.deepEqual(varintBytes(127), [0x7f]);
  t.deepEqual(varintBytes(128), [0x80, 0x01]);
  t.deepEqual(varintBytes(300), [0xac, 0x02]); // the protobuf documentation's example
  t.deepEqual(varintBytes(2 ** 32), [0x80, 0x80, 0x80, 0x80, 0x10]);
  // Negative int64 is the 64-bit two's complement: ten bytes.
  t.deepEqual(varintBytes(-1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  // The number and bigint paths agree, and the separate decoder reads the value back.
  for (const v of [1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER, -2, -(2 ** 40)]) {
    t.deepEqual(varintBytes(v), varintBytes(BigInt(v)), `value ${v}`);
    const [back] = readVarint(Uint8Array.from(varintBytes(v)), 0);
    t.is(BigInt.asIntN(64, back), BigInt(v), `round trip ${v}`);
  }
  t.throws(() => varintBytes(0.5), { instanceOf: RangeError });
});

test('fields: tags, strings, nested messages and packed repeats', (t) => {
  const w = new ProtoWriter();
  w.intField(1, 150);
  t.deepEqual([...w.toBytes()], [0x08, 0x96, 0x01]); // documentation example: field 1 = 150
  const inner = new ProtoWriter();
  inner.stringField(2, 'testing');
  const big = new Uint8Array(10_000).map((_, i) => i & 0xff); // appended by reference
  inner.bytesField(3, big);
  const outer = new ProtoWriter();
  outer.messageField(4, inner);
  outer.packedIntField(5, [3, 270, 86942]);
  outer.floatField(6, 1.5);
  const f = decodeFields(outer.toBytes());
  t.deepEqual(
    f.map((x) => [x.no, x.wire]),
    [
      [4, 2],
      [5, 2],
      [6, 5],
    ],
  );
  const fi = decodeFields(f[0].bytes!);
  t.is(Buffer.from(fi[0].bytes!).toString('utf8'), 'testing');
  t.deepEqual([...fi[1].bytes!], [...big]);
  t.deepEqual([...f[1].bytes!], [0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]); // documentation's packed example
  t.is(Buffer.from(f[2].bytes!).readFloatLE(0), 1.5);
  t.is(outer.length, outer.toBytes().length);
});

test('a hand-built graph loads and runs in onnxruntime-node', async (t) => {
  const g = new GraphBuilder();
  g.reserve('x');
  g.reserve('ids');
  const table = g.float('table', Float32Array.from([10, 20, 30, 40, 50, 60]), [3, 2]);
  const gathered = g.op('Gather', [table, 'ids'], 'emb', { axis: attr.i(0) }); // (2, 2)
  const sum = g.op('Add', ['x', gathered], 'sum');
  const perm = g.op('Transpose', [sum], 'tr', { perm: attr.ints([1, 0]) });
  g.op('Softmax', [perm], 'sm', { axis: attr.i(-1) }, g.reserve('probs'));
  g.op('Identity', [sum], 'id', undefined, g.reserve('sum'));
  const model = encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'convbert-test',
    producerVersion: '0',
    doc: 'tiny graph',
    metadata: { k: 'v' },
    graph: {
      name: 'tiny',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [
        { name: 'x', dtype: 'float32', dims: ['n', 2] },
        { name: 'ids', dtype: 'int64', dims: ['n'] },
      ],
      outputs: [
        { name: 'probs', dtype: 'float32', dims: [2, 'n'] },
        { name: 'sum', dtype: 'float32', dims: ['n', 2] },
      ],
    },
  });
  const bytes = model.toBytes();
  const dec = decodeModel(bytes);
  t.is(dec.irVersion, 8);
  t.deepEqual(dec.opsets, [{ domain: '', version: 17 }]);
  t.is(dec.doc, 'tiny graph');
  t.deepEqual(dec.metadata, { k: 'v' });
  t.deepEqual(dec.inputs, [
    { name: 'x', elemType: 1, dims: ['n', 2] },
    { name: 'ids', elemType: 7, dims: ['n'] },
  ]);
  t.deepEqual([...dec.opTypes].sort(), ['Add', 'Gather', 'Identity', 'Softmax', 'Transpose']);

  const sess = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const x = Float32Array.from([0.5, -1, 2, 0.25]);
  const ids = BigInt64Array.from([2n, 0n]);
  const out = await sess.run({ x: new ort.Tensor('float32', x, [2, 2]), ids: new ort.Tensor('int64', ids, [2]) });
  // Independent reference: rows of the table picked by ids, added, transposed, softmaxed in fp64.
  const tbl = [10, 20, 30, 40, 50, 60];
  const s = [x[0] + tbl[4], x[1] + tbl[5], x[2] + tbl[0], x[3] + tbl[1]];
  t.deepEqual([...(out.sum.data as Float32Array)], s.map(Math.fround));
  t.deepEqual(out.probs.dims, [2, 2]);
  const cols = [
    [s[0], s[2]],
    [s[1], s[3]],
  ];
  const want = cols.flatMap((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const z = e[0] + e[1];
    return e.map((v) => v / z);
  });
  assertClose(t, out.probs.data as Float32Array, want, { atol: 1e-6, rtol: 0, label: 'softmax' });
});
