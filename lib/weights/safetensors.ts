// safetensors.ts: read and write Hugging Face safetensors, single and sharded.
// Layout: u64 LE header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data area.
// Reading holds the file once and returns zero-copy views (a copy only for a
// misaligned tensor); every header is checked as the reference library does.
// Writing follows save_file: metadata first, tensors by dtype size then name.
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError } from '../errors';
import { readTextFile, readTextFileSync } from '../files';
import { Tensor, itemSize, type DataType, type TypedArray } from '../tensor';
import { bytesOf, checkLittleEndian, ioError, quote, readWholeFile, readWholeFileSync, safeProduct, viewOrCopy, weightsError } from './common';
import { describe, isPlainObject } from '../validate';

/** Tensors by name, in the order the file holds them. */
export type TensorMap = Map<string, Tensor>;

/** What `save_file` accepts here: a Map or a plain object of tensors. */
export type TensorsLike = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** One header entry, as the file states it (dtype is the file's, e.g. 'F64' even when converted). */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  dataOffsets: [number, number];
}

export interface SafetensorsFile {
  /** Tensors in data order. F64 arrives as float32 and I16 as int32 (see `entries` for the stored dtype). */
  tensors: TensorMap;
  /** The `__metadata__` string map, or undefined when the header has none. */
  metadata: Record<string, string> | undefined;
  /** The header entries, in data order. */
  entries: Map<string, SafetensorsEntry>;
  /** N, the JSON header's length in bytes (padding included). */
  headerLength: number;
}

/** The reference library refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

/** safetensors dtype -> our dtype. F64 and I16 convert (to float32, int32), the rest are views. */
const FILE_DTYPES: Record<string, { dtype: DataType; bytes: number }> = {
  F64: { dtype: 'float32', bytes: 8 },
  F32: { dtype: 'float32', bytes: 4 },
  F16: { dtype: 'float16', bytes: 2 },
  BF16: { dtype: 'bfloat16', bytes: 2 },
  I64: { dtype: 'int64', bytes: 8 },
  I32: { dtype: 'int32', bytes: 4 },
  I16: { dtype: 'int32', bytes: 2 },
  I8: { dtype: 'int8', bytes: 1 },
  U8: { dtype: 'uint8', bytes: 1 },
  BOOL: { dtype: 'bool', bytes: 1 },
};

/** Valid safetensors dtypes that have no Tensor dtype here: ERR_CONVBERT_DTYPE, not a malformed file. */
const UNSUPPORTED_DTYPES = new Set(['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

const TO_FILE_DTYPE: Record<DataType, string> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/**
 * The order the reference writer lays tensors out: larger dtypes first (its
 * Dtype enum, descending), then by name. It keeps every tensor aligned.
 */
const DTYPE_RANK: Record<DataType, number> = {
  int64: 0,
  float32: 1,
  int32: 2,
  bfloat16: 3,
  float16: 4,
  int8: 5,
  uint8: 6,
  bool: 7,
};

/** One checked header entry with its element count, as every reader uses it. */
export interface CheckedEntry {
  name: string;
  entry: SafetensorsEntry;
  numel: number;
}

/** A safetensors header that passed every rule of the format (parseSafetensorsHeader). */
export interface SafetensorsHeader {
  /** N, the JSON header's length in bytes (padding included). */
  headerLength: number;
  /** 8 + N: where the data area starts in the file. */
  dataStart: number;
  metadata: Record<string, string> | undefined;
  /** The entries in data order (by offset), tiling the data area exactly. */
  entries: CheckedEntry[];
}

/**
 * N from the file's first 8 bytes, checked against the whole file's size: at least 2 (`{}`), at
 * most MAX_HEADER_BYTES, and inside the file. Every reader calls this before it sizes a read by N.
 */
export function safetensorsHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  checkLittleEndian(file);
  if (fileSize < 8 || prefix.length < 8) {
    throw weightsError(file, undefined, `truncated: ${fileSize} bytes, too short for the 8-byte header length`);
  }
  const n64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(fileSize - 8)) {
    throw weightsError(file, undefined, `header length ${n64} runs past the end of the file (${fileSize} bytes; truncated or not safetensors)`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) throw weightsError(file, undefined, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) throw weightsError(file, undefined, `header length ${n} is too small for a JSON object`);
  return n;
}

/**
 * The first key that appears twice in one JSON object of `text` (already valid JSON), or undefined.
 * JSON.parse keeps the last of duplicate keys silently, so a header could say one thing to us and
 * another to a reader that keeps the first; the format has one entry per name.
 */
export function duplicateJsonKey(text: string): string | undefined {
  // One frame per open container: the keys seen (objects) and whether a key comes next.
  const stack: Array<{ keys: Set<string> | undefined; expectKey: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push({ keys: new Set(), expectKey: true });
    else if (c === 0x5b /* [ */) stack.push({ keys: undefined, expectKey: false });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        // Decoded, so "a" and "\u0061" are the same key, as JSON.parse sees them.
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
    }
  }
  return undefined;
}

/**
 * The one safetensors header validator, used by every reader (the whole-file reader here and the
 * lazy one the model loader uses): `json` is the N header bytes, `fileSize` the whole file's size.
 * The rules are the format's: a JSON object without duplicate keys; `__metadata__` absent, null or
 * a string -> string map; per tensor a known dtype, a shape of non-negative safe integers and
 * data_offsets [begin, end] with end - begin = numel x itemsize; sorted by offset, the tensors tile
 * the data area from 0 with no gap or overlap and end exactly at the end of the file.
 */
export function parseSafetensorsHeader(json: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const n = json.length;
  const dataStart = 8 + n;
  if (dataStart > fileSize) throw weightsError(file, undefined, `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw weightsError(file, undefined, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw weightsError(file, undefined, `header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) throw weightsError(file, undefined, `header must be a JSON object, got ${describe(header)}`);
  const dup = duplicateJsonKey(text);
  if (dup !== undefined) throw weightsError(file, undefined, `header has the key ${quote(dup)} twice (each name must appear once)`);

  const dataLen = fileSize - dataStart;
  let metadata: Record<string, string> | undefined;
  const raw: CheckedEntry[] = [];

  for (const name of Object.keys(header)) {
    const info = header[name];
    if (name === '__metadata__') {
      if (info === null) continue;
      if (!isPlainObject(info)) throw weightsError(file, undefined, `__metadata__ must be an object of strings, got ${describe(info)}`);
      metadata = {};
      for (const k of Object.keys(info)) {
        const v = info[k];
        if (typeof v !== 'string') throw weightsError(file, undefined, `__metadata__[${quote(k)}] must be a string, got ${describe(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isPlainObject(info)) throw weightsError(file, name, `header entry must be an object, got ${describe(info)}`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string') throw weightsError(file, name, `dtype must be a string, got ${describe(dtype)}`);
    if (!Object.prototype.hasOwnProperty.call(FILE_DTYPES, dtype)) {
      if (UNSUPPORTED_DTYPES.has(dtype)) {
        throw weightsError(file, name, `dtype ${dtype} is not supported (supported: ${Object.keys(FILE_DTYPES).join(', ')})`, 'ERR_CONVBERT_DTYPE');
      }
      throw weightsError(file, name, `unknown dtype ${quote(dtype, 40)}`);
    }
    const known = FILE_DTYPES[dtype];
    if (!Array.isArray(shape)) throw weightsError(file, name, `shape must be an array, got ${describe(shape)}`);
    const numel = safeProduct(shape);
    if (numel === undefined) throw weightsError(file, name, `shape must hold non-negative integers with a safe product, got ${quote(JSON.stringify(shape), 80)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
      throw weightsError(file, name, `data_offsets must be [begin, end] non-negative integers, got ${quote(JSON.stringify(offsets) ?? 'undefined', 80)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw weightsError(file, name, `data_offsets [${begin}, ${end}]: begin is after end`);
    if (end > dataLen) {
      throw weightsError(file, name, `data_offsets [${begin}, ${end}] run past the data area (${dataLen} bytes; file truncated?)`);
    }
    const want = numel * known.bytes;
    if (end - begin !== want) {
      throw weightsError(file, name, `shape [${shape.join(', ')}] x ${dtype} needs ${want} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    raw.push({ name, entry: { dtype, shape: shape as number[], dataOffsets: [begin, end] }, numel });
  }

  // Tensors must tile the data area: no overlap, no hole, nothing after (the reference reader's rule).
  raw.sort((a, b) => a.entry.dataOffsets[0] - b.entry.dataOffsets[0] || a.entry.dataOffsets[1] - b.entry.dataOffsets[1]);
  let cursor = 0;
  let prev: string | undefined;
  for (const { name, entry } of raw) {
    const [begin, end] = entry.dataOffsets;
    if (begin < cursor) {
      throw weightsError(file, name, `data_offsets [${begin}, ${end}] overlap tensor ${quote(prev ?? '')} (which ends at ${cursor})`);
    }
    if (begin > cursor) throw weightsError(file, name, `data_offsets [${begin}, ${end}] leave bytes [${cursor}, ${begin}) of the data area unused`);
    cursor = end;
    prev = name;
  }
  if (cursor !== dataLen) {
    throw weightsError(file, undefined, `the data area has ${dataLen} bytes but the tensors cover ${cursor} (trailing bytes or a bad header length)`);
  }
  return { headerLength: n, dataStart, metadata, entries: raw };
}

/** The tensor dtype a safetensors dtype reads as (F64 -> float32, I16 -> int32), and its size in the file. */
export function safetensorsDtype(fileDtype: string): { dtype: DataType; bytes: number } | undefined {
  return Object.prototype.hasOwnProperty.call(FILE_DTYPES, fileDtype) ? FILE_DTYPES[fileDtype] : undefined;
}

/** Parse and validate a whole safetensors file held in `bytes`. `file` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const n = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, file);
  const { dataStart, metadata, entries: checked } = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length, file);
  const tensors: TensorMap = new Map();
  const entries = new Map<string, SafetensorsEntry>();
  for (const { name, entry, numel } of checked) {
    const begin = dataStart + entry.dataOffsets[0];
    let data: TypedArray;
    if (entry.dtype === 'F64') {
      data = Float32Array.from(readF64(bytes, begin, numel)); // rounds to nearest, like torch's .float()
    } else if (entry.dtype === 'I16') {
      data = Int32Array.from(readI16(bytes, begin, numel));
    } else {
      data = viewOrCopy(FILE_DTYPES[entry.dtype].dtype, bytes, begin, numel);
    }
    tensors.set(name, new Tensor(FILE_DTYPES[entry.dtype].dtype, data, entry.shape));
    entries.set(name, entry);
  }
  return { tensors, metadata, entries, headerLength: n };
}

function readF64(bytes: Uint8Array, off: number, count: number): Float64Array {
  const abs = bytes.byteOffset + off;
  if (abs % 8 === 0) return new Float64Array(bytes.buffer, abs, count);
  return new Float64Array(bytes.slice(off, off + count * 8).buffer);
}

function readI16(bytes: Uint8Array, off: number, count: number): Int16Array {
  const abs = bytes.byteOffset + off;
  if (abs % 2 === 0) return new Int16Array(bytes.buffer, abs, count);
  return new Int16Array(bytes.slice(off, off + count * 2).buffer);
}

export function readSafetensorsSync(file: string): SafetensorsFile {
  return parseSafetensors(readWholeFileSync(file), file);
}

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readWholeFile(file), file);
}

// ---------------------------------------------------------------- writing

function entriesOf(tensors: TensorsLike): Array<[string, Tensor]> {
  if (tensors instanceof Map) return [...(tensors as ReadonlyMap<string, Tensor>).entries()];
  if (typeof tensors !== 'object' || tensors === null) throw new ConvBertError('tensors: expected a Map or an object of Tensors', 'ERR_CONVBERT_ARG');
  return Object.keys(tensors).map((k) => [k, (tensors as Record<string, Tensor>)[k]]);
}

function checkTensor(name: string, t: unknown): Tensor {
  if (name === '__metadata__' || name.length === 0) {
    throw new ConvBertError(`tensors: ${quote(name)} cannot be a tensor name in safetensors`, 'ERR_CONVBERT_ARG');
  }
  if (!(t instanceof Tensor)) throw new ConvBertError(`tensors[${quote(name)}]: expected a Tensor, got ${describe(t)}`, 'ERR_CONVBERT_ARG');
  const want = t.size * itemSize(t.dtype);
  if (t.data.byteLength !== want) {
    throw new ConvBertError(`tensors[${quote(name)}]: data has ${t.data.byteLength} bytes, dims [${t.dims.join(', ')}] need ${want}`, 'ERR_CONVBERT_SHAPE');
  }
  return t;
}

/** The laid-out file: header bytes (length prefix + padded JSON) and the tensors in data order. */
export interface SafetensorsLayout {
  header: Uint8Array;
  order: Array<[string, Tensor]>;
  /** Header plus data, in bytes. */
  fileSize: number;
}

/** Lay out a file the way the reference writer does (`save_file`, as transformers calls it). */
export function layoutSafetensors(tensors: TensorsLike, metadata: Record<string, string> = { format: 'pt' }): SafetensorsLayout {
  const order = entriesOf(tensors).map(([k, t]) => [k, checkTensor(k, t)] as [string, Tensor]);
  order.sort((a, b) => DTYPE_RANK[a[1].dtype] - DTYPE_RANK[b[1].dtype] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < order.length; i++) {
    if (order[i][0] === order[i - 1][0]) throw new ConvBertError(`tensors: duplicate name ${quote(order[i][0])}`, 'ERR_CONVBERT_ARG');
  }
  if (!isPlainObject(metadata)) throw new ConvBertError('metadata: expected an object of strings', 'ERR_CONVBERT_ARG');
  // Written by hand, not JSON.stringify(object): JS objects would move integer-like keys first.
  const metaParts: string[] = [];
  for (const k of Object.keys(metadata)) {
    if (typeof metadata[k] !== 'string') throw new ConvBertError(`metadata[${quote(k)}]: expected a string, got ${describe(metadata[k])}`, 'ERR_CONVBERT_ARG');
    metaParts.push(`${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
  }
  const parts = [`"__metadata__":{${metaParts.join(',')}}`];
  let offset = 0;
  for (const [name, t] of order) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${TO_FILE_DTYPE[t.dtype]}","shape":[${t.dims.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const header = new Uint8Array(8 + padded);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length);
  return { header, order, fileSize: header.length + offset };
}

/** The whole file in memory (small files, tests). */
export function encodeSafetensors(tensors: TensorsLike, metadata?: Record<string, string>): Uint8Array {
  const { header, order, fileSize } = layoutSafetensors(tensors, metadata);
  const out = new Uint8Array(fileSize);
  out.set(header, 0);
  let pos = header.length;
  for (const [, t] of order) {
    out.set(bytesOf(t.data), pos);
    pos += t.data.byteLength;
  }
  return out;
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
}

/** Write a safetensors file (via a temporary file renamed into place, so readers never see half a file). */
export function writeSafetensorsSync(file: string, tensors: TensorsLike, metadata?: Record<string, string>): void {
  const { header, order } = layoutSafetensors(tensors, metadata);
  const tmp = tempName(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w');
    writeAllSync(fd, header);
    for (const [, t] of order) writeAllSync(fd, bytesOf(t.data));
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw ioError(file, 'write', err);
  }
}

export async function writeSafetensors(file: string, tensors: TensorsLike, metadata?: Record<string, string>): Promise<void> {
  const { header, order } = layoutSafetensors(tensors, metadata);
  const tmp = tempName(file);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, 'w');
    await writeAll(fh, header);
    for (const [, t] of order) await writeAll(fh, bytesOf(t.data));
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, file);
  } catch (err) {
    if (fh !== undefined) await fh.close();
    await fs.promises.rm(tmp, { force: true });
    throw ioError(file, 'write', err);
  }
}

const CHUNK = 1 << 30;

function writeAllSync(fd: number, bytes: Uint8Array): void {
  let pos = 0;
  while (pos < bytes.length) pos += fs.writeSync(fd, bytes, pos, Math.min(bytes.length - pos, CHUNK));
}

async function writeAll(fh: fs.promises.FileHandle, bytes: Uint8Array): Promise<void> {
  let pos = 0;
  while (pos < bytes.length) pos += (await fh.write(bytes, pos, Math.min(bytes.length - pos, CHUNK))).bytesWritten;
}

// ---------------------------------------------------------------- sharding

export const SAFE_WEIGHTS_NAME = 'model.safetensors';
export const SAFE_WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';
/** transformers' default max_shard_size, "5GB" (decimal). */
export const DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

/** The `*.index.json` beside shards: total tensor bytes and which file holds each tensor. */
export interface ShardIndex {
  metadata: { total_size: number; [k: string]: unknown };
  weight_map: Record<string, string>;
}

const UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** A byte count, or transformers' strings: "5GB" (10^9), "500MiB" (2^20), "10KB". */
export function parseSize(size: number | string, what = 'maxShardSize'): number {
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size <= 0) throw new ConvBertError(`${what}: expected a positive integer of bytes, got ${size}`, 'ERR_CONVBERT_ARG');
    return size;
  }
  const m = typeof size === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([KMGT]I?B|B)?\s*$/i.exec(size) : null;
  if (!m) throw new ConvBertError(`${what}: expected bytes or a size like "5GB" or "500MiB", got ${describe(size)}`, 'ERR_CONVBERT_ARG');
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'B').toUpperCase()]);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new ConvBertError(`${what}: ${size} is not a usable size`, 'ERR_CONVBERT_ARG');
  return bytes;
}

/**
 * Split tensors into shards like transformers (huggingface_hub's splitter):
 * in state-dict order, a new shard starts when the next tensor would pass the
 * limit; a tensor larger than the limit gets a shard of its own.
 */
export function planShards(tensors: TensorsLike, maxShardSize: number | string = DEFAULT_MAX_SHARD_SIZE): Array<Array<[string, Tensor]>> {
  const max = parseSize(maxShardSize);
  const shards: Array<Array<[string, Tensor]>> = [];
  let cur: Array<[string, Tensor]> = [];
  let curSize = 0;
  for (const [name, t0] of entriesOf(tensors)) {
    const t = checkTensor(name, t0);
    const size = t.data.byteLength;
    if (size > max) {
      shards.push([[name, t]]);
      continue;
    }
    if (curSize + size > max) {
      shards.push(cur);
      cur = [];
      curSize = 0;
    }
    cur.push([name, t]);
    curSize += size;
  }
  if (cur.length > 0) shards.push(cur);
  return shards;
}

/** model-00001-of-00003.safetensors */
export function shardFileName(i: number, count: number, stem = 'model', ext = 'safetensors'): string {
  const pad = (x: number): string => String(x).padStart(5, '0');
  return `${stem}-${pad(i + 1)}-of-${pad(count)}.${ext}`;
}

const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Python's json.dumps(x, indent=2, sort_keys=True) (ensure_ascii on), which transformers uses for the index. */
export function pythonJson(x: unknown, indent = 2, level = 0): string {
  const pad = ' '.repeat(indent * (level + 1));
  const end = ' '.repeat(indent * level);
  if (typeof x === 'string') return JSON.stringify(x).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof x === 'number' || typeof x === 'boolean' || x === null) return JSON.stringify(x);
  if (Array.isArray(x)) {
    if (x.length === 0) return '[]';
    return `[\n${x.map((v) => pad + pythonJson(v, indent, level + 1)).join(',\n')}\n${end}]`;
  }
  if (isPlainObject(x)) {
    const keys = Object.keys(x).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${pad}${pythonJson(k)}: ${pythonJson(x[k], indent, level + 1)}`).join(',\n')}\n${end}}`;
  }
  throw new ConvBertError(`pythonJson: cannot encode ${typeof x}`, 'ERR_CONVBERT_INTERNAL');
}

export interface SaveShardedOptions {
  /** Largest shard in bytes, or "5GB"-style (default 5 GB like transformers). */
  maxShardSize?: number | string;
  /** Extra `__metadata__` entries; "format": "pt" is always written. */
  metadata?: Record<string, string>;
}

export interface SavedFiles {
  /** File names written in `dir`. */
  files: string[];
  /** The index, when sharded. */
  index?: ShardIndex;
}

function planSave(
  tensors: TensorsLike,
  options: SaveShardedOptions,
): { shards: Array<Array<[string, Tensor]>>; names: string[]; index?: ShardIndex; meta: Record<string, string> } {
  const shards = planShards(tensors, options.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE);
  const meta = { format: 'pt', ...(options.metadata ?? {}) };
  if (shards.length <= 1) return { shards: [shards[0] ?? []], names: [SAFE_WEIGHTS_NAME], meta };
  const names = shards.map((_, i) => shardFileName(i, shards.length));
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((shard, i) => {
    for (const [name, t] of shard) {
      weightMap[name] = names[i];
      total += t.data.byteLength;
    }
  });
  return { shards, names, meta, index: { metadata: { total_size: total }, weight_map: weightMap } };
}

/** Stale files that would shadow or contradict what was just written (transformers removes them too). */
function staleFiles(existing: string[], written: string[]): string[] {
  const keep = new Set(written);
  const sharded = written.length > 1;
  return existing.filter((f) => !keep.has(f) && (SHARD_RE.test(f) || (sharded ? f === SAFE_WEIGHTS_NAME : f === SAFE_WEIGHTS_INDEX_NAME)));
}

/** Write model.safetensors, or shards plus model.safetensors.index.json when over maxShardSize. */
export async function saveSafetensorsDir(dir: string, tensors: TensorsLike, options: SaveShardedOptions = {}): Promise<SavedFiles> {
  const plan = planSave(tensors, options);
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    throw ioError(dir, 'create directory', err);
  }
  for (let i = 0; i < plan.shards.length; i++) {
    await writeSafetensors(path.join(dir, plan.names[i]), new Map(plan.shards[i]), plan.meta);
  }
  const files = [...plan.names];
  if (plan.index) {
    const file = path.join(dir, SAFE_WEIGHTS_INDEX_NAME);
    try {
      await fs.promises.writeFile(file, `${pythonJson(plan.index)}\n`);
    } catch (err) {
      throw ioError(file, 'write', err);
    }
    files.push(SAFE_WEIGHTS_INDEX_NAME);
  }
  for (const f of staleFiles(await fs.promises.readdir(dir), files)) await fs.promises.rm(path.join(dir, f), { force: true });
  return { files, index: plan.index };
}

export function saveSafetensorsDirSync(dir: string, tensors: TensorsLike, options: SaveShardedOptions = {}): SavedFiles {
  const plan = planSave(tensors, options);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw ioError(dir, 'create directory', err);
  }
  for (let i = 0; i < plan.shards.length; i++) writeSafetensorsSync(path.join(dir, plan.names[i]), new Map(plan.shards[i]), plan.meta);
  const files = [...plan.names];
  if (plan.index) {
    const file = path.join(dir, SAFE_WEIGHTS_INDEX_NAME);
    try {
      fs.writeFileSync(file, `${pythonJson(plan.index)}\n`);
    } catch (err) {
      throw ioError(file, 'write', err);
    }
    files.push(SAFE_WEIGHTS_INDEX_NAME);
  }
  for (const f of staleFiles(fs.readdirSync(dir), files)) fs.rmSync(path.join(dir, f), { force: true });
  return { files, index: plan.index };
}

// ---------------------------------------------------------------- sharded reading

/** Parse and check an index file's text: a weight_map of names to plain file names beside it. */
export function parseShardIndex(text: string, file: string): ShardIndex {
  let idx: unknown;
  try {
    idx = JSON.parse(text);
  } catch (err) {
    throw weightsError(file, undefined, `index is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(idx)) throw weightsError(file, undefined, `index must be a JSON object, got ${describe(idx)}`);
  const wm = idx.weight_map;
  if (!isPlainObject(wm)) throw weightsError(file, undefined, `weight_map must be an object of tensor name -> shard file, got ${describe(wm)}`);
  for (const k of Object.keys(wm)) {
    const f = wm[k];
    // Shards live beside the index: a path could read any file on the machine.
    if (typeof f !== 'string' || f.length === 0 || f !== path.basename(f) || f === '.' || f === '..' || f.includes('\\') || f.includes('\0')) {
      throw weightsError(file, k, `weight_map entry must be a file name in the same directory, got ${describe(f)}`);
    }
  }
  const meta = idx.metadata === undefined || idx.metadata === null ? {} : idx.metadata;
  if (!isPlainObject(meta)) throw weightsError(file, undefined, `metadata must be an object, got ${describe(meta)}`);
  return { metadata: { ...meta, total_size: typeof meta.total_size === 'number' ? meta.total_size : NaN }, weight_map: wm as Record<string, string> };
}

export interface ShardedFile {
  tensors: TensorMap;
  index: ShardIndex;
  /** `__metadata__` of each shard, by file name. */
  shardMetadata: Map<string, Record<string, string> | undefined>;
}

/** Merge shards in index order, checking each tensor is where the index says and appears once. */
export function mergeShards<T>(indexFile: string, index: ShardIndex, shards: Map<string, { tensors: Map<string, T> }>): Map<string, T> {
  const out = new Map<string, T>();
  const owner = new Map<string, string>();
  for (const [shardName, shard] of shards) {
    for (const [name, t] of shard.tensors) {
      const prev = owner.get(name);
      if (prev !== undefined) throw weightsError(indexFile, name, `appears in two shards, ${prev} and ${shardName}`);
      owner.set(name, shardName);
      out.set(name, t);
    }
  }
  for (const name of Object.keys(index.weight_map)) {
    const where = owner.get(name);
    if (where === undefined) throw weightsError(indexFile, name, `weight_map says it is in ${index.weight_map[name]}, but that shard does not hold it`);
    if (where !== index.weight_map[name]) throw weightsError(indexFile, name, `weight_map says ${index.weight_map[name]}, but it is in ${where}`);
  }
  return out;
}

function uniqueShards(index: ShardIndex): string[] {
  return [...new Set(Object.values(index.weight_map))];
}

export function readShardedSafetensorsSync(indexFile: string): ShardedFile {
  const index = parseShardIndex(readTextFileSync(indexFile), indexFile);
  const shards = new Map<string, SafetensorsFile>();
  for (const f of uniqueShards(index)) shards.set(f, readSafetensorsSync(path.join(path.dirname(indexFile), f)));
  return { tensors: mergeShards(indexFile, index, shards), index, shardMetadata: new Map([...shards].map(([k, v]) => [k, v.metadata])) };
}

export async function readShardedSafetensors(indexFile: string): Promise<ShardedFile> {
  const index = parseShardIndex(await readTextFile(indexFile), indexFile);
  const shards = new Map<string, SafetensorsFile>();
  for (const f of uniqueShards(index)) shards.set(f, await readSafetensors(path.join(path.dirname(indexFile), f)));
  return { tensors: mergeShards(indexFile, index, shards), index, shardMetadata: new Map([...shards].map(([k, v]) => [k, v.metadata])) };
}
