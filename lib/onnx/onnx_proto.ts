// onnx_proto.ts: ONNX ModelProto encoding from plain specs, with the field
// numbers of onnx.proto3 (ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto/TypeProto, OperatorSetIdProto, StringStringEntryProto).
// Only the fields a standard inference graph uses are written. Tensor payloads go
// into raw_data (little-endian), appended by reference so weights are not copied.
import * as os from 'os';

import { ProtoWriter } from './protobuf';

/** TensorProto.DataType values used here. */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  bfloat16: 16,
} as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;

/** AttributeProto.AttributeType values. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

export interface TensorSpec {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
  /** Raw little-endian element bytes (product(dims) * itemsize). */
  raw: Uint8Array;
}

export type AttrValue =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'string'; v: string }
  | { kind: 'ints'; v: readonly number[] }
  | { kind: 'floats'; v: readonly number[] }
  | { kind: 'tensor'; v: TensorSpec };

export interface NodeSpec {
  op: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Readonly<Record<string, AttrValue>>;
  domain?: string;
}

/** A graph input or output: element type and dims (numbers are fixed, strings are symbolic). */
export interface ValueInfoSpec {
  name: string;
  dtype: OnnxDType;
  dims: ReadonlyArray<number | string>;
  doc?: string;
}

export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  doc?: string;
}

export interface ModelSpec {
  irVersion: number;
  opsets: ReadonlyArray<{ domain: string; version: number }>;
  producerName: string;
  producerVersion: string;
  doc?: string;
  metadata?: Readonly<Record<string, string>>;
  graph: GraphSpec;
}

/** The raw bytes of a typed array (a view, no copy). */
export function rawBytes(a: ArrayBufferView): Uint8Array {
  if (os.endianness() !== 'LE') throw new RangeError('ONNX export needs a little-endian host (raw_data is little-endian)');
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function encodeTensor(t: TensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length > 0) w.packedIntField(1, t.dims); // dims
  w.intField(2, ONNX_DTYPE[t.dtype]); // data_type
  w.stringField(8, t.name); // name
  w.bytesField(9, t.raw); // raw_data
  return w;
}

function encodeAttr(name: string, a: AttrValue): ProtoWriter {
  const w = new ProtoWriter();
  w.stringField(1, name);
  switch (a.kind) {
    case 'float':
      w.floatField(2, a.v);
      w.intField(20, ATTR_FLOAT);
      break;
    case 'int':
      w.intField(3, a.v);
      w.intField(20, ATTR_INT);
      break;
    case 'string':
      w.stringField(4, a.v);
      w.intField(20, ATTR_STRING);
      break;
    case 'tensor':
      w.messageField(5, encodeTensor(a.v));
      w.intField(20, ATTR_TENSOR);
      break;
    case 'floats':
      w.packedFloatField(7, a.v);
      w.intField(20, ATTR_FLOATS);
      break;
    case 'ints':
      w.packedIntField(8, a.v);
      w.intField(20, ATTR_INTS);
      break;
  }
  return w;
}

function encodeNode(n: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.stringField(1, i);
  for (const o of n.outputs) w.stringField(2, o);
  w.stringField(3, n.name);
  w.stringField(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.messageField(5, encodeAttr(k, v));
  if (n.domain) w.stringField(7, n.domain);
  return w;
}

function encodeValueInfo(v: ValueInfoSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number')
      dim.intField(1, d); // dim_value
    else dim.stringField(2, d); // dim_param
    shape.messageField(1, dim);
  }
  const tensorType = new ProtoWriter();
  tensorType.intField(1, ONNX_DTYPE[v.dtype]); // elem_type
  tensorType.messageField(2, shape); // shape
  const type = new ProtoWriter();
  type.messageField(1, tensorType); // TypeProto.tensor_type
  const w = new ProtoWriter();
  w.stringField(1, v.name);
  w.messageField(2, type);
  if (v.doc) w.stringField(3, v.doc);
  return w;
}

function encodeGraph(g: GraphSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.messageField(1, encodeNode(n));
  w.stringField(2, g.name);
  for (const t of g.initializers) w.messageField(5, encodeTensor(t));
  if (g.doc) w.stringField(10, g.doc);
  for (const i of g.inputs) w.messageField(11, encodeValueInfo(i));
  for (const o of g.outputs) w.messageField(12, encodeValueInfo(o));
  return w;
}

/** The whole ModelProto; `toChunks()` gives the bytes without concatenating the weights. */
export function encodeModel(m: ModelSpec): ProtoWriter {
  const w = new ProtoWriter();
  w.intField(1, m.irVersion);
  w.stringField(2, m.producerName);
  w.stringField(3, m.producerVersion);
  if (m.doc) w.stringField(6, m.doc);
  w.messageField(7, encodeGraph(m.graph));
  for (const o of m.opsets) {
    const op = new ProtoWriter();
    if (o.domain) op.stringField(1, o.domain);
    op.intField(2, o.version);
    w.messageField(8, op);
  }
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    const e = new ProtoWriter();
    e.stringField(1, k);
    e.stringField(2, v);
    w.messageField(14, e);
  }
  return w;
}
