// checkpoint.ts: a checkpoint as the model loader sees it: per key, the dims,
// the stored dtype and a function that reads that one tensor as float32.
// safetensors files (single or sharded) are opened lazily: only the header is
// read up front and each tensor is read from disk when the engine asks for it,
// so loading peaks near one copy of the weights (the engine's). With
// reuseReadBuffer every tensor is read into one buffer, so the load touches the
// largest tensor's bytes of fresh memory instead of the whole file's. Anything this
// fast path does not recognise goes through lib/weights' full loader, which
// also owns the error messages for malformed files and reads pytorch_model.bin.
import * as fs from 'fs';
import * as path from 'path';

import { native } from '../native';
import { Tensor, type DataType } from '../tensor';
import { loadStateDict, resolveWeightsFile, type StateDict } from '../weights';

export interface CheckpointEntry {
  dims: readonly number[];
  /** Tensor dtype the data decodes to (float32 for F64 files, as lib/weights does). */
  dtype: DataType;
  /** Reads the tensor as float32 (a fresh array, or a view for an in-memory float32 tensor). */
  read(): Float32Array;
}

export type Checkpoint = Map<string, CheckpointEntry>;

/** A state dict already in memory, as a Checkpoint. */
export function checkpointFromStateDict(sd: StateDict): Checkpoint {
  const out: Checkpoint = new Map();
  for (const [k, t] of sd) out.set(k, { dims: t.dims, dtype: t.dtype, read: () => t.toFloat32() });
  return out;
}

const FLOAT_FILE_DTYPES: Record<string, { dtype: DataType; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F16: { dtype: 'float16', bytes: 2 },
  BF16: { dtype: 'bfloat16', bytes: 2 },
  F64: { dtype: 'float32', bytes: 8 },
  I64: { dtype: 'int64', bytes: 8 },
  I32: { dtype: 'int32', bytes: 4 },
};

/** Options of openCheckpoint. */
export interface OpenCheckpointOptions {
  /**
   * Read every tensor of a safetensors checkpoint into ONE buffer (sized to the
   * largest tensor, allocated on the first read) instead of a fresh array per
   * tensor: each read() then returns a view that the next read() overwrites. Only
   * for a consumer that is done with a tensor before it reads the next one, as
   * the native Engine constructor is (it copies or packs each weight before the
   * next lookup). Fresh memory costs one page fault per 4 KiB on first touch; on
   * virtual machines that is 10-20 us a page, which made the per-tensor arrays
   * (the whole file again) about 40% of ConvBERT-base's load time.
   */
  reuseReadBuffer?: boolean;
}

function readAt(file: string, offset: number, length: number, into?: Uint8Array): Uint8Array {
  const buf = into ? into.subarray(0, length) : new Uint8Array(length);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, offset + done);
      if (n <= 0) throw new Error(`${file}: unexpected end of file`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

function decode(fileDtype: string, bytes: Uint8Array, count: number, dims: readonly number[]): Float32Array {
  switch (fileDtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    case 'F64':
      return Float32Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, count));
    case 'F16':
      return new Tensor('float16', new Uint16Array(bytes.buffer, bytes.byteOffset, count), dims).toFloat32();
    case 'BF16':
      return new Tensor('bfloat16', new Uint16Array(bytes.buffer, bytes.byteOffset, count), dims).toFloat32();
    case 'I64':
      return Float32Array.from(new BigInt64Array(bytes.buffer, bytes.byteOffset, count), (v) => Number(v));
    default:
      return Float32Array.from(new Int32Array(bytes.buffer, bytes.byteOffset, count));
  }
}

/**
 * A fresh buffer of `bytes` for the reused read buffer: from the addon, which backs
 * large buffers with transparent huge pages (one fault per 2 MiB instead of 512;
 * see native/binding/memory.cc), or an ordinary array where it cannot.
 */
function largeBuffer(bytes: number): Uint8Array {
  const alloc = native().allocLargeBuffer as ((n: number) => ArrayBuffer) | undefined;
  return new Uint8Array(typeof alloc === 'function' ? alloc(bytes) : new ArrayBuffer(bytes));
}

/** The header of one safetensors file as lazy entries, or null when anything looks unusual. */
function lazySafetensors(file: string, reuse: boolean): Checkpoint | null {
  let size: number;
  try {
    size = fs.statSync(file).size;
    if (size < 8) return null;
    const head = readAt(file, 0, 8);
    const n = Number(new DataView(head.buffer).getBigUint64(0, true));
    if (n < 2 || n > 100_000_000 || 8 + n > size) return null;
    const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readAt(file, 8, n))) as unknown;
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return null;
    const dataStart = 8 + n;
    const out: Checkpoint = new Map();
    let maxBytes = 0;
    let shared: Uint8Array | null = null;
    // The shared buffer exists only once something is read, and lives as long as the entries do.
    const scratch = (): Uint8Array | undefined => (reuse ? (shared ??= largeBuffer(maxBytes)) : undefined);
    for (const [k, v] of Object.entries(header as Record<string, unknown>)) {
      if (k === '__metadata__') continue;
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const info = typeof e?.dtype === 'string' ? FLOAT_FILE_DTYPES[e.dtype] : undefined;
      if (!info || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) return null;
      const dims = e.shape as number[];
      if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) return null;
      const count = dims.reduce((a, b) => a * b, 1);
      const [begin, end] = e.data_offsets as number[];
      if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || end - begin !== count * info.bytes || begin < 0 || dataStart + end > size) return null;
      const fileDtype = e.dtype as string;
      maxBytes = Math.max(maxBytes, end - begin);
      out.set(k, { dims, dtype: info.dtype, read: () => decode(fileDtype, readAt(file, dataStart + begin, end - begin, scratch()), count, dims) });
    }
    return out;
  } catch {
    return null;
  }
}

/** A sharded safetensors checkpoint (model.safetensors.index.json) as lazy entries, or null. */
function lazySharded(indexFile: string, reuse: boolean): Checkpoint | null {
  try {
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { weight_map?: Record<string, string> };
    if (!index.weight_map || typeof index.weight_map !== 'object') return null;
    const shards = new Map<string, Checkpoint>();
    const out: Checkpoint = new Map();
    for (const [k, f] of Object.entries(index.weight_map)) {
      if (typeof f !== 'string' || !f.endsWith('.safetensors') || f.includes('/') || f.includes('\\')) return null;
      let shard = shards.get(f);
      if (!shard) {
        const s = lazySafetensors(path.join(path.dirname(indexFile), f), reuse);
        if (!s) return null;
        shards.set(f, (shard = s));
      }
      const e = shard.get(k);
      if (!e) return null;
      out.set(k, e);
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * Opens the checkpoint at `dirOrFile` (a directory, or a weights file): lazily for
 * safetensors, fully through lib/weights otherwise (pytorch_model.bin, or any file
 * the lazy path finds unusual, so that lib/weights reports what is wrong with it).
 */
export async function openCheckpoint(dirOrFile: string, options: OpenCheckpointOptions = {}): Promise<{ file: string; checkpoint: Checkpoint; lazy: boolean }> {
  const file = resolveWeightsFile(dirOrFile);
  const base = path.basename(file).toLowerCase();
  let lazy: Checkpoint | null = null;
  const reuse = options.reuseReadBuffer === true;
  if (base.endsWith('.safetensors')) lazy = lazySafetensors(file, reuse);
  else if (base.endsWith('.safetensors.index.json')) lazy = lazySharded(file, reuse);
  if (lazy) return { file, checkpoint: lazy, lazy: true };
  return { file, checkpoint: checkpointFromStateDict(await loadStateDict(file)), lazy: false };
}
