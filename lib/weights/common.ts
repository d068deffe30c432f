// common.ts: what the checkpoint readers share: errors that name the file and
// the tensor, reading a whole file into ONE ArrayBuffer (offset 0, so typed
// views over it are aligned exactly as the file is), and zero-copy views that
// fall back to a copy only when the bytes are misaligned for the item size.
import * as os from 'os';

import { ConvBertError, type ConvBertErrorCode } from '../errors';
import { readRegularFile, readRegularFileSync } from '../files';
import { allocTyped, itemSize, typedView, type DataType, type DataTypeMap } from '../tensor';

/** `file: tensor "name": message` as a ConvBertError (ERR_CONVBERT_WEIGHTS unless told). */
export function weightsError(file: string, tensor: string | undefined, message: string, code: ConvBertErrorCode = 'ERR_CONVBERT_WEIGHTS'): ConvBertError {
  const where = tensor === undefined ? file : `${file}: tensor ${quote(tensor)}`;
  return new ConvBertError(`${where}: ${message}`, code);
}

export function ioError(file: string, what: string, err: unknown): ConvBertError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ConvBertError(`${file}: cannot ${what}: ${reason}`, 'ERR_CONVBERT_IO', { cause: err });
}

/** The readers reinterpret little-endian file bytes in place. */
export function checkLittleEndian(file: string): void {
  if (os.endianness() !== 'LE') {
    throw new ConvBertError(`${file}: checkpoints are little-endian and this host is big-endian`, 'ERR_CONVBERT_UNSUPPORTED');
  }
}

/**
 * The whole file in a fresh ArrayBuffer starting at offset 0 (never Node's
 * shared pool), read in place: the only copy of the file the readers hold.
 * Only a regular file is read (lib/files.ts): a FIFO or a device is an error, not a hang.
 */
export function readWholeFileSync(file: string): Uint8Array {
  return readRegularFileSync(file);
}

export async function readWholeFile(file: string): Promise<Uint8Array> {
  return readRegularFile(file);
}

/**
 * `count` elements of `dtype` starting at `bytes[byteOffset]`: a view sharing
 * the bytes when the absolute offset is a multiple of the item size, else an
 * aligned copy (typed arrays cannot be misaligned).
 */
export function viewOrCopy<T extends DataType>(dtype: T, bytes: Uint8Array, byteOffset: number, count: number): DataTypeMap[T] {
  const size = itemSize(dtype);
  const abs = bytes.byteOffset + byteOffset;
  if (abs % size === 0) return typedView(dtype, bytes.buffer, abs, count);
  const out = allocTyped(dtype, count);
  new Uint8Array(out.buffer, out.byteOffset, count * size).set(bytes.subarray(byteOffset, byteOffset + count * size));
  return out;
}

/** The bytes behind a typed array (no copy). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Product of dims as a safe integer, or undefined when a dim is invalid or it overflows. */
export function safeProduct(dims: readonly unknown[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/** JSON.stringify for names in messages, cut short so a hostile name cannot flood the log. */
export function quote(s: string, max = 200): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}
