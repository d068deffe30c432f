// builders.ts: small writers the weights tests use to make their own inputs:
// a pickle assembler (opcode by opcode, so malicious pickles are explicit),
// a stored/deflated zip writer with optional zip64 records, and a torch.save-
// style archive builder (data.pkl + data/<key> + version), written from the
// formats' specs, independent of the readers under test.
import * as zlib from 'zlib';

export class PickleWriter {
  private readonly out: number[] = [];

  raw(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }

  proto(v = 2): this {
    return this.raw(0x80, v);
  }

  /** GLOBAL: `c module\nname\n`. */
  global(module: string, name: string): this {
    return this.raw(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }

  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.raw(0x58, ...u32le(b.length), ...b);
  }

  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a, ...u32le(n >>> 0));
    // LONG1 little-endian two's complement
    const bytes: number[] = [];
    let v = BigInt(n);
    for (let i = 0; i < 8; i++) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    return this.raw(0x8a, 8, ...bytes);
  }

  /** A tuple of ints (torch.Size / stride). */
  intTuple(xs: number[]): this {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }

  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  build(): this {
    return this.raw(0x62);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  newFalse(): this {
    return this.raw(0x89);
  }
  stop(): this {
    return this.raw(0x2e);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

function u16le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}

function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function u64le(n: number): number[] {
  return [...u32le(n >>> 0), ...u32le(Math.floor(n / 2 ** 32))];
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** A body deflated elsewhere (`data` is then unused), with the size and CRC-32 the directory states. */
  deflated?: { body: Uint8Array; size: number; crc: number };
}

/**
 * A raw deflate stream of `mib` MiB of zeros, about 1 KB per MiB: one 1 MiB block compressed with a
 * full flush (so it does not depend on what came before) repeated, then an empty final block.
 * Also returns the CRC-32 of the zeros, computed a MiB at a time.
 */
export function zeroBomb(mib: number): { body: Uint8Array; size: number; crc: number } {
  const chunk = Buffer.alloc(1 << 20);
  const block = zlib.deflateRawSync(chunk, { finishFlush: zlib.constants.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = zlib.crc32(chunk, crc);
  const body = Buffer.concat([...new Array<Buffer>(mib).fill(block), Buffer.from([0x03, 0x00])]);
  return { body: new Uint8Array(body), size: mib << 20, crc: crc >>> 0 };
}

/** A zip archive (PKWARE APPNOTE): local headers + data, central directory, end record(s). */
export function makeZip(entries: ZipInput[], opts: { zip64?: boolean; align?: number } = {}): Uint8Array {
  const parts: number[][] = [];
  const central: number[][] = [];
  let offset = 0;
  const push = (b: number[] | Uint8Array): void => {
    parts.push(Array.from(b));
    offset += b.length;
  };
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const deflate = e.deflate === true || e.deflated !== undefined;
    const body = e.deflated ? e.deflated.body : e.deflate ? new Uint8Array(zlib.deflateRawSync(e.data)) : e.data;
    const crc = e.deflated ? e.deflated.crc : zlib.crc32(e.data) >>> 0;
    const size = e.deflated ? e.deflated.size : e.data.length;
    const local = offset;
    // Pad the extra field so data starts aligned, as torch's writer does (64 bytes).
    let extraLen = 0;
    if (opts.align) {
      const start = offset + 30 + name.length + 4;
      extraLen = 4 + ((opts.align - (start % opts.align)) % opts.align);
    }
    const extra = extraLen ? [...u16le(0xcafe), ...u16le(extraLen - 4), ...new Array<number>(extraLen - 4).fill(0)] : [];
    push([
      ...u32le(0x04034b50),
      ...u16le(20),
      ...u16le(0),
      ...u16le(deflate ? 8 : 0),
      0,
      0,
      0,
      0,
      ...u32le(crc),
      ...u32le(body.length),
      ...u32le(size),
      ...u16le(name.length),
      ...u16le(extra.length),
      ...name,
      ...extra,
    ]);
    push(body);
    const z64 = opts.zip64 ? [...u16le(1), ...u16le(24), ...u64le(size), ...u64le(body.length), ...u64le(local)] : [];
    const big = opts.zip64 ? 0xffffffff : -1;
    central.push([
      ...u32le(0x02014b50),
      ...u16le(45),
      ...u16le(45),
      ...u16le(0),
      ...u16le(deflate ? 8 : 0),
      0,
      0,
      0,
      0,
      ...u32le(crc),
      ...u32le(big >= 0 ? big : body.length),
      ...u32le(big >= 0 ? big : size),
      ...u16le(name.length),
      ...u16le(z64.length),
      ...u16le(0),
      ...u16le(0),
      ...u16le(0),
      ...u32le(0),
      ...u32le(big >= 0 ? big : local),
      ...name,
      ...z64,
    ]);
  }
  const cdStart = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdStart;
  if (opts.zip64) {
    const z64eocd = offset;
    push([
      ...u32le(0x06064b50),
      ...u64le(44),
      ...u16le(45),
      ...u16le(45),
      ...u32le(0),
      ...u32le(0),
      ...u64le(entries.length),
      ...u64le(entries.length),
      ...u64le(cdSize),
      ...u64le(cdStart),
    ]);
    push([...u32le(0x07064b50), ...u32le(0), ...u64le(z64eocd), ...u32le(1)]);
    push([...u32le(0x06054b50), ...u16le(0), ...u16le(0), ...u16le(0xffff), ...u16le(0xffff), ...u32le(0xffffffff), ...u32le(0xffffffff), ...u16le(0)]);
  } else {
    push([...u32le(0x06054b50), ...u16le(0), ...u16le(0), ...u16le(entries.length), ...u16le(entries.length), ...u32le(cdSize), ...u32le(cdStart), ...u16le(0)]);
  }
  const out = new Uint8Array(offset);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** One tensor of a synthetic state dict: a view (offset, size, stride) into a storage. */
export interface TorchTensorSpec {
  name: string;
  storage: string;
  /** torch storage class, e.g. 'FloatStorage'. */
  storageType: string;
  offset: number;
  size: number[];
  stride: number[];
}

/**
 * The data.pkl torch.save writes for an OrderedDict state dict (protocol 2):
 * OrderedDict() then per key _rebuild_tensor_v2((storage...), offset, size,
 * stride, False, OrderedDict()) and, optionally, BUILD {'_metadata': ...}.
 */
export function stateDictPickle(tensors: TorchTensorSpec[], numel: Record<string, number>, withMetadata = true): Uint8Array {
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) {
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.storageType).str(t.storage).str('cpu').int(numel[t.storage]).tuple().binpersid();
    w.int(t.offset).intTuple(t.size).intTuple(t.stride).newFalse().global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  w.setitems();
  if (withMetadata) {
    // state {'_metadata': OrderedDict({'': {'version': 1}})}
    w.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce();
    w.str('').emptyDict().str('version').int(1).setitem().setitem();
    w.setitem().build();
  }
  return w.stop().bytes();
}

/** A torch.save zip: <archive>/data.pkl, <archive>/data/<key>, <archive>/version. */
export function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, opts: { archive?: string; zip64?: boolean; deflate?: boolean } = {}): Uint8Array {
  const a = opts.archive ?? 'archive';
  return makeZip(
    [
      { name: `${a}/data.pkl`, data: pkl },
      ...Object.keys(storages).map((k) => ({ name: `${a}/data/${k}`, data: storages[k], deflate: opts.deflate })),
      { name: `${a}/version`, data: Buffer.from('3\n') },
    ],
    { zip64: opts.zip64, align: 64 },
  );
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(bytesOf(a)).equals(Buffer.from(bytesOf(b)));
}
