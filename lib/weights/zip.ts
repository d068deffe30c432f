// zip.ts: a read-only zip reader for the archives torch.save writes.
// It reads the central directory (zip64 too) from bytes already in memory.
// Stored entries come back as views of those bytes (no copy), deflated ones
// through zlib, each bounded by its declared size, which is charged to a memory
// budget before inflating, and checked against its CRC-32.
// Encrypted entries, multi-disk archives and other methods are refused.
import * as zlib from 'zlib';

import { quote, weightsError } from './common';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Where the entry's bytes start in the archive (after its local header). */
  dataOffset: number;
}

/** Bytes a reader may still allocate beyond the file (inflated entries, gathered copies); shared and spent down. */
export interface InflateBudget {
  left: number;
}

/** The bound torch_bin uses: 4x the file's size plus 1 MiB for everything allocated beyond the file. */
export function defaultInflateBudget(fileSize: number): number {
  return 4 * fileSize + (1 << 20);
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;

/** True when the bytes start like a zip archive (a local header, or the end record of an empty one). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const sig = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24);
  return sig >>> 0 === SIG_LOCAL || sig >>> 0 === SIG_EOCD;
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly dv: DataView;

  /** `file` names the archive in errors. */
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readDirectory();
  }

  private fail(message: string): never {
    throw weightsError(this.file, undefined, message);
  }

  private u16(off: number): number {
    if (off < 0 || off + 2 > this.bytes.length) this.fail(`zip structure points past the end of the file (offset ${off})`);
    return this.dv.getUint16(off, true);
  }

  private u32(off: number): number {
    if (off < 0 || off + 4 > this.bytes.length) this.fail(`zip structure points past the end of the file (offset ${off})`);
    return this.dv.getUint32(off, true);
  }

  private u64(off: number): number {
    if (off < 0 || off + 8 > this.bytes.length) this.fail(`zip structure points past the end of the file (offset ${off})`);
    const v = this.dv.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`zip64 field at offset ${off} is too large (${v})`);
    return Number(v);
  }

  private findEndRecord(): number {
    const len = this.bytes.length;
    // The end record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
    for (let i = len - 22; i >= 0 && i >= len - 22 - 0xffff; i--) {
      if (this.dv.getUint32(i, true) === SIG_EOCD && i + 22 + this.dv.getUint16(i + 20, true) <= len) return i;
    }
    return this.fail('no zip end-of-central-directory record (truncated, or not a zip archive)');
  }

  private readDirectory(): void {
    const eocd = this.findEndRecord();
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (this.u16(eocd + 4) !== 0 || this.u16(eocd + 6) !== 0) this.fail('multi-disk zip archives are not supported');
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || this.u32(loc) !== SIG_ZIP64_LOCATOR) this.fail('zip64 fields without a zip64 end-record locator');
      const z = this.u64(loc + 8);
      if (this.u32(z) !== SIG_ZIP64_EOCD) this.fail(`no zip64 end record at offset ${z}`);
      count = this.u64(z + 32);
      cdSize = this.u64(z + 40);
      cdOffset = this.u64(z + 48);
    }
    if (cdOffset + cdSize > this.bytes.length) this.fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past the end of the file (${this.bytes.length} bytes)`);
    if (count * 46 > cdSize) this.fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
    let p = cdOffset;
    const end = cdOffset + cdSize;
    const names = new TextDecoder('utf-8');
    for (let i = 0; i < count; i++) {
      if (p + 46 > end || this.u32(p) !== SIG_CENTRAL) this.fail(`central directory entry ${i} is malformed`);
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc32 = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localOffset = this.u32(p + 42);
      const next = p + 46 + nameLen + extraLen + commentLen;
      if (next > end) this.fail(`central directory entry ${i} runs past the directory`);
      const name = names.decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // zip64 extra field: only the 32-bit fields that overflowed appear, in this order.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = this.u16(x);
        const sz = this.u16(x + 2);
        if (x + 4 + sz > xEnd) this.fail(`entry ${quote(name)}: extra field runs past its entry`);
        if (id === 0x0001) {
          let q = x + 4;
          const take = (): number => {
            if (q + 8 > x + 4 + sz) this.fail(`entry ${quote(name)}: zip64 extra field is too short`);
            const v = this.u64(q);
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localOffset === 0xffffffff) localOffset = take();
        }
        x += 4 + sz;
      }
      if (flags & 1) this.fail(`entry ${quote(name)} is encrypted`);
      if (method !== 0 && method !== 8) this.fail(`entry ${quote(name)} uses compression method ${method} (only stored and deflate are supported)`);
      if (method === 0 && compressedSize !== size) this.fail(`entry ${quote(name)} is stored but its sizes differ (${compressedSize} vs ${size})`);
      if (this.u32(localOffset) !== SIG_LOCAL) this.fail(`entry ${quote(name)}: no local header at offset ${localOffset}`);
      const dataOffset = localOffset + 30 + this.u16(localOffset + 26) + this.u16(localOffset + 28);
      if (dataOffset + compressedSize > this.bytes.length) {
        this.fail(`entry ${quote(name)}: data [${dataOffset}, ${dataOffset + compressedSize}) runs past the end of the file (${this.bytes.length} bytes; truncated?)`);
      }
      if (this.entries.has(name)) this.fail(`entry ${quote(name)} appears twice`);
      this.entries.set(name, { name, method, crc32, compressedSize, size, dataOffset });
      p = next;
    }
  }

  /**
   * An entry's bytes: a view for stored entries, inflated for deflated ones. Checks the CRC unless
   * told not to. A deflated entry's size, from the directory, is charged to `budget` (the caller's
   * bound on memory beyond the file) before inflating, and zlib may write exactly that many bytes
   * and no more, so a small archive cannot inflate into gigabytes.
   */
  read(name: string, options: { verifyCrc?: boolean; budget?: InflateBudget } = {}): Uint8Array {
    const e = this.entries.get(name);
    if (!e) this.fail(`no entry ${quote(name)} in the archive`);
    const raw = this.bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    let out: Uint8Array;
    if (e.method === 0) {
      out = raw;
    } else {
      const budget = options.budget ?? { left: defaultInflateBudget(this.bytes.length) };
      if (e.size > budget.left) {
        this.fail(
          `entry ${quote(name)}: inflating it to ${e.size} bytes would pass the memory bound for this file (4x its ${this.bytes.length} bytes + 1 MiB, ${budget.left} left); refusing`,
        );
      }
      budget.left -= e.size;
      try {
        out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        this.fail(`entry ${quote(name)}: cannot inflate to the ${e.size} bytes the directory says (${(err as Error).message})`);
      }
      if (out.length !== e.size) this.fail(`entry ${quote(name)}: inflated to ${out.length} bytes, the directory says ${e.size}`);
    }
    if (options.verifyCrc !== false && typeof zlib.crc32 === 'function') {
      const crc = zlib.crc32(out) >>> 0;
      if (crc !== e.crc32) this.fail(`entry ${quote(name)}: CRC-32 mismatch (file corrupted)`);
    }
    return out;
  }
}
