// proto_reader.ts: a tiny protobuf decoder for the tests, written independently
// of lib/onnx/protobuf.ts, so the writer is checked against a separate reading of
// the wire format (field numbers of onnx.proto3). It decodes only what the tests
// inspect: ModelProto header fields, opsets, metadata, graph inputs/outputs and op types.

export interface Field {
  no: number;
  wire: number;
  /** varint value (wire 0) */
  int?: bigint;
  /** payload (wire 2), or the 4/8 raw bytes (wire 5/1) */
  bytes?: Uint8Array;
}

export function readVarint(b: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= b.length) throw new RangeError('truncated varint');
    const x = b[at++];
    v |= BigInt(x & 0x7f) << shift;
    if ((x & 0x80) === 0) return [v, at];
    shift += 7n;
    if (shift > 63n) throw new RangeError('varint longer than 10 bytes');
  }
}

export function decodeFields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < b.length) {
    const [tag, p] = readVarint(b, at);
    at = p;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, q] = readVarint(b, at);
      out.push({ no, wire, int: v });
      at = q;
    } else if (wire === 2) {
      const [len, q] = readVarint(b, at);
      const end = q + Number(len);
      if (end > b.length) throw new RangeError(`field ${no}: length ${len} runs past the end`);
      out.push({ no, wire, bytes: b.subarray(q, end) });
      at = end;
    } else if (wire === 5 || wire === 1) {
      const n = wire === 5 ? 4 : 8;
      out.push({ no, wire, bytes: b.subarray(at, at + n) });
      at += n;
    } else {
      throw new RangeError(`field ${no}: unsupported wire type ${wire}`);
    }
  }
  return out;
}

const text = (f: Field | undefined): string => (f?.bytes ? Buffer.from(f.bytes).toString('utf8') : '');
const all = (fs: Field[], no: number): Field[] => fs.filter((f) => f.no === no);
const one = (fs: Field[], no: number): Field | undefined => fs.find((f) => f.no === no);

export interface DecodedValueInfo {
  name: string;
  elemType: number;
  dims: Array<number | string>;
}

export interface DecodedModel {
  irVersion: number;
  producerName: string;
  doc: string;
  opsets: Array<{ domain: string; version: number }>;
  metadata: Record<string, string>;
  inputs: DecodedValueInfo[];
  outputs: DecodedValueInfo[];
  opTypes: Set<string>;
  nodeCount: number;
  initializerCount: number;
  nodes: Array<{ op: string; inputs: string[] }>;
  /** Initializer name -> TensorProto data_type. */
  initializers: Map<string, number>;
  /** The raw data of every int8 (data_type 3) initializer. */
  int8Data: Int8Array[];
}

function valueInfo(b: Uint8Array): DecodedValueInfo {
  const f = decodeFields(b);
  const type = decodeFields(one(f, 2)!.bytes!);
  const tensor = decodeFields(one(type, 1)!.bytes!);
  const shape = decodeFields(one(tensor, 2)?.bytes ?? new Uint8Array());
  const dims = all(shape, 1).map((d) => {
    const df = decodeFields(d.bytes!);
    const v = one(df, 1);
    return v ? Number(v.int) : text(one(df, 2));
  });
  return { name: text(one(f, 1)), elemType: Number(one(tensor, 1)?.int ?? 0n), dims };
}

export function decodeModel(bytes: Uint8Array): DecodedModel {
  const m = decodeFields(bytes);
  const graph = decodeFields(one(m, 7)!.bytes!);
  const opTypes = new Set<string>();
  const nodes = all(graph, 1).map((n) => {
    const nf = decodeFields(n.bytes!);
    return { op: text(one(nf, 4)), inputs: all(nf, 1).map(text) };
  });
  for (const n of nodes) opTypes.add(n.op);
  const initializers = new Map<string, number>();
  const int8Data: Int8Array[] = [];
  for (const i of all(graph, 5)) {
    const tf = decodeFields(i.bytes!);
    const type = Number(one(tf, 2)?.int ?? 0n);
    initializers.set(text(one(tf, 8)), type);
    const raw = one(tf, 9)?.bytes;
    if (type === 3 && raw) int8Data.push(new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  }
  const metadata: Record<string, string> = {};
  for (const e of all(m, 14)) {
    const ef = decodeFields(e.bytes!);
    metadata[text(one(ef, 1))] = text(one(ef, 2));
  }
  return {
    irVersion: Number(one(m, 1)?.int ?? 0n),
    producerName: text(one(m, 2)),
    doc: text(one(m, 6)),
    opsets: all(m, 8).map((o) => {
      const of = decodeFields(o.bytes!);
      return { domain: text(one(of, 1)), version: Number(one(of, 2)?.int ?? 0n) };
    }),
    metadata,
    inputs: all(graph, 11).map((v) => valueInfo(v.bytes!)),
    outputs: all(graph, 12).map((v) => valueInfo(v.bytes!)),
    opTypes,
    nodeCount: nodes.length,
    initializerCount: initializers.size,
    nodes,
    initializers,
    int8Data,
  };
}
