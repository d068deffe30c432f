// checkpoint.ts: a checkpoint as the model loader sees it: per key, the dims,
// the stored dtype and a function that reads that one tensor as float32.
// safetensors files (single or sharded) are opened lazily: only the header is
// read up front and each tensor is read from disk when the engine asks for it,
// so loading peaks near one copy of the weights (the engine's). With
// reuseReadBuffer every tensor is read into one buffer, so the load touches the
// largest tensor's bytes of fresh memory instead of the whole file's. The header
// goes through the same validator as lib/weights' full loader, so a malformed
// file is the same error on both paths; pytorch_model.bin, .bin shards and the
// integer dtypes this path does not decode go through the full loader.
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError } from '../errors';
import { openRegularSync, readExactlySync, readTextFileSync } from '../files';
import { native } from '../native';
import { Tensor, type DataType } from '../tensor';
import { loadStateDict, resolveWeightsFile, type StateDict } from '../weights';
import { mergeShards, parseSafetensorsHeader, parseShardIndex, safetensorsHeaderLength, type SafetensorsHeader } from '../weights/safetensors';

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

/**
 * `length` bytes at `offset` of `file`, which must still be the regular file of `size` bytes whose
 * header was checked (a file replaced or cut since is an error, not other bytes read as weights).
 */
function readAt(file: string, size: number, offset: number, length: number, into?: Uint8Array): Uint8Array {
  const buf = into ? into.subarray(0, length) : new Uint8Array(length);
  const f = openRegularSync(file);
  try {
    if (f.size !== size) {
      throw new ConvBertError(`${file}: changed on disk while loading (${f.size} bytes now, ${size} when its header was read)`, 'ERR_CONVBERT_IO');
    }
    readExactlySync(f.fd, file, buf, offset);
  } finally {
    fs.closeSync(f.fd);
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

/** The header of one safetensors file, checked by lib/weights' validator, and the file's size. */
function readHeader(file: string): { header: SafetensorsHeader; size: number } {
  const { fd, size } = openRegularSync(file);
  try {
    const prefix = new Uint8Array(Math.min(size, 8));
    readExactlySync(fd, file, prefix, 0);
    // N is checked against the file's size before it sizes the read.
    const json = new Uint8Array(safetensorsHeaderLength(prefix, size, file));
    readExactlySync(fd, file, json, 8);
    return { header: parseSafetensorsHeader(json, size, file), size };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * One safetensors file as lazy entries. A malformed file throws the validator's error; null only
 * for a valid file holding a dtype this path does not decode, which the full loader then reads.
 */
function lazySafetensors(file: string, reuse: boolean): Checkpoint | null {
  const { header, size } = readHeader(file);
  if (header.entries.some((e) => FLOAT_FILE_DTYPES[e.entry.dtype] === undefined)) return null;
  const out: Checkpoint = new Map();
  let maxBytes = 0;
  let shared: Uint8Array | null = null;
  // The shared buffer exists only once something is read, and lives as long as the entries do.
  const scratch = (): Uint8Array | undefined => (reuse ? (shared ??= largeBuffer(maxBytes)) : undefined);
  for (const { name, entry, numel } of header.entries) {
    const [begin, end] = entry.dataOffsets;
    const dims = entry.shape;
    maxBytes = Math.max(maxBytes, end - begin);
    out.set(name, {
      dims,
      dtype: FLOAT_FILE_DTYPES[entry.dtype].dtype,
      read: () => decode(entry.dtype, readAt(file, size, header.dataStart + begin, end - begin, scratch()), numel, dims),
    });
  }
  return out;
}

/**
 * A sharded safetensors checkpoint (model.safetensors.index.json) as lazy entries, with the full
 * loader's index rules (parseShardIndex, mergeShards); null when a shard is not safetensors or a
 * shard holds a dtype this path does not decode.
 */
function lazySharded(indexFile: string, reuse: boolean): Checkpoint | null {
  const index = parseShardIndex(readTextFileSync(indexFile), indexFile);
  const files = [...new Set(Object.values(index.weight_map))];
  if (files.some((f) => !f.toLowerCase().endsWith('.safetensors'))) return null;
  const shards = new Map<string, { tensors: Checkpoint }>();
  for (const f of files) {
    const s = lazySafetensors(path.join(path.dirname(indexFile), f), reuse);
    if (!s) return null;
    shards.set(f, { tensors: s });
  }
  return mergeShards(indexFile, index, shards);
}

/**
 * Opens the checkpoint at `dirOrFile` (a directory, or a weights file): lazily for
 * safetensors, fully through lib/weights otherwise (pytorch_model.bin, or a valid
 * safetensors file with integer dtypes the lazy reader does not decode).
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
