// protobuf.ts: a minimal protocol-buffers writer, just what an ONNX model needs
// (varint, 32-bit float, length-delimited bytes/strings/messages, packed repeats).
// A message is a list of byte chunks plus its total length: nested messages and
// large payloads (weight tensors) are appended by reference, never copied, and
// the whole model is streamed to disk chunk by chunk. Little-endian host assumed
// for raw float payloads (checked by the ONNX writer).

/** Wire types of the protobuf encoding. */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO_POW_32 = 2 ** 32;
const SMALL_FLUSH = 4096;

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private small = new Uint8Array(256);
  private smallLen = 0;
  private total = 0;

  /** Bytes written so far (this message's encoded length). */
  get length(): number {
    return this.total;
  }

  private ensure(n: number): void {
    if (this.smallLen + n <= this.small.length) return;
    const grown = new Uint8Array(Math.max(this.small.length * 2, this.smallLen + n));
    grown.set(this.small.subarray(0, this.smallLen));
    this.small = grown;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.small[this.smallLen++] = b;
    this.total++;
  }

  private flushSmall(): void {
    if (this.smallLen === 0) return;
    this.chunks.push(this.small.slice(0, this.smallLen));
    this.smallLen = 0;
  }

  /** Raw bytes, appended by reference when large (the caller must not mutate them afterwards). */
  raw(bytes: Uint8Array): void {
    if (bytes.length < SMALL_FLUSH) {
      this.ensure(bytes.length);
      this.small.set(bytes, this.smallLen);
      this.smallLen += bytes.length;
    } else {
      this.flushSmall();
      this.chunks.push(bytes);
    }
    this.total += bytes.length;
  }

  /**
   * An unsigned varint. Numbers must be safe integers; negative values are written as
   * their 64-bit two's complement (10 bytes), which is how protobuf encodes int64/int32.
   */
  varint(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf varint: ${v} is not a safe integer`);
      if (v < 0) {
        this.varint(BigInt.asUintN(64, BigInt(v)));
        return;
      }
      // Split into 32-bit halves: bit operations in JS are 32-bit.
      let lo = v % TWO_POW_32;
      let hi = Math.floor(v / TWO_POW_32);
      while (hi > 0 || lo > 0x7f) {
        this.byte((lo & 0x7f) | 0x80);
        lo = (lo >>> 7) | ((hi & 0x7f) << 25);
        lo >>>= 0;
        hi = Math.floor(hi / 128);
      }
      this.byte(lo);
      return;
    }
    let x = BigInt.asUintN(64, v);
    while (x > 0x7fn) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** int64 / int32 / enum / bool field (always written, even when zero). */
  intField(field: number, v: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  floatField(field: number, v: number): void {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.raw(b);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  stringField(field: number, s: string): void {
    this.bytesField(field, Buffer.from(s, 'utf8'));
  }

  /** A nested message: its length, then its chunks (by reference). */
  messageField(field: number, msg: ProtoWriter): void {
    this.tag(field, WIRE_LEN);
    this.varint(msg.length);
    msg.flushSmall();
    this.flushSmall();
    for (const c of msg.chunks) this.chunks.push(c);
    this.total += msg.length;
  }

  /** repeated int64, packed (proto3's default for scalar repeats). */
  packedIntField(field: number, values: ReadonlyArray<number | bigint>): void {
    const body = new ProtoWriter();
    for (const v of values) body.varint(v);
    this.messageField(field, body);
  }

  /** repeated float, packed. */
  packedFloatField(field: number, values: ArrayLike<number>): void {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
    this.bytesField(field, b);
  }

  /** The encoded message as its chunks, in order (concatenate them, or write them one by one). */
  toChunks(): Uint8Array[] {
    this.flushSmall();
    return this.chunks.slice();
  }

  /** The encoded message as one buffer (a copy). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.toChunks()) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
