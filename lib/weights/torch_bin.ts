// torch_bin.ts: read a PyTorch `pytorch_model.bin` (the zip torch.save writes:
// <archive>/data.pkl, <archive>/data/<storage key>, <archive>/version).
// data.pkl runs through the restricted unpickler with an allow-list of
// OrderedDict, the tensor rebuilders and the storage types; storages resolve
// to zero-copy views of the archive (shared storages give shared bytes) and
// strided views are gathered into contiguous tensors. Nothing is executed.
import { ConvBertError } from '../errors';
import { Tensor, allocTyped, type DataType, type TypedArray } from '../tensor';
import { checkLittleEndian, quote, readWholeFile, readWholeFileSync, safeProduct, viewOrCopy, weightsError } from './common';
import { PyDict, PyGlobal, PyTuple, unpickle } from './pickle';
import type { TensorMap } from './safetensors';
import { ZipArchive, defaultInflateBudget, looksLikeZip, type InflateBudget } from './zip';

/** torch storage class -> how its bytes are read and which dtype the tensor gets. */
interface StorageKind {
  /** Element type of the bytes in the archive. */
  raw: 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
  /** Tensor dtype handed back (float64 -> float32 and int16 -> int32 convert). */
  dtype: DataType;
  bytes: number;
}

const STORAGES: Record<string, StorageKind> = {
  FloatStorage: { raw: 'float32', dtype: 'float32', bytes: 4 },
  DoubleStorage: { raw: 'float64', dtype: 'float32', bytes: 8 },
  HalfStorage: { raw: 'float16', dtype: 'float16', bytes: 2 },
  BFloat16Storage: { raw: 'bfloat16', dtype: 'bfloat16', bytes: 2 },
  LongStorage: { raw: 'int64', dtype: 'int64', bytes: 8 },
  IntStorage: { raw: 'int32', dtype: 'int32', bytes: 4 },
  ShortStorage: { raw: 'int16', dtype: 'int32', bytes: 2 },
  CharStorage: { raw: 'int8', dtype: 'int8', bytes: 1 },
  ByteStorage: { raw: 'uint8', dtype: 'uint8', bytes: 1 },
  BoolStorage: { raw: 'bool', dtype: 'bool', bytes: 1 },
};

/** torch.<dtype> globals, which newer writers may name in place of a storage class. */
const DTYPE_GLOBALS: Record<string, string> = {
  float32: 'FloatStorage',
  float: 'FloatStorage',
  float64: 'DoubleStorage',
  double: 'DoubleStorage',
  float16: 'HalfStorage',
  half: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
  int64: 'LongStorage',
  long: 'LongStorage',
  int32: 'IntStorage',
  int: 'IntStorage',
  int16: 'ShortStorage',
  short: 'ShortStorage',
  int8: 'CharStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const REBUILD_PARAMETER_STATE = 'torch._utils._rebuild_parameter_with_state';
const ORDERED_DICT = 'collections.OrderedDict';

/** Everything data.pkl may name. Anything else (os.system, builtins.eval, ...) is refused. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  ORDERED_DICT,
  REBUILD_TENSOR,
  REBUILD_PARAMETER,
  REBUILD_PARAMETER_STATE,
  ...Object.keys(STORAGES).map((s) => `torch.${s}`),
  ...Object.keys(DTYPE_GLOBALS).map((d) => `torch.${d}`),
]);

interface Storage {
  key: string;
  kind: StorageKind;
  kindName: string;
  bytes: Uint8Array;
  numel: number;
}

export interface TorchBinFile {
  /** Tensors in the pickle's (state dict) order. Tensors that share a storage share bytes. */
  tensors: TensorMap;
  /** OrderedDict `_metadata` (module prefix -> {version: ...}), when the pickle set it. */
  metadata: Map<string, Record<string, unknown>> | undefined;
  /** The archive folder inside the zip (`pytorch_model`, `archive`, ...). */
  archive: string;
  /** Storage key -> the tensor names that use it, for storages used by more than one (tied weights). */
  sharedStorages: Map<string, string[]>;
  /** Names of tensors whose storage was float64/int16 and was converted. */
  converted: Map<string, string>;
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x);
}

function pyToJs(x: unknown, depth = 0): unknown {
  // _metadata is {prefix: {"version": n}}; two levels is all a state dict has.
  if (depth > 4) return undefined;
  if (x instanceof PyDict) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of x.map) if (typeof k === 'string') o[k] = pyToJs(v, depth + 1);
    return o;
  }
  if (x instanceof PyTuple) return x.items.map((v) => pyToJs(v, depth + 1));
  return x;
}

export interface TorchBinOptions {
  /** Check each zip entry's CRC-32 (default true; a corrupted file then fails instead of loading wrong numbers). */
  verifyCrc?: boolean;
}

/** Parse a torch zip held in `bytes`. `file` names it in errors. */
export function parseTorchBin(bytes: Uint8Array, file = '<buffer>', options: TorchBinOptions = {}): TorchBinFile {
  checkLittleEndian(file);
  // Inflated entries and gathered or converted tensors are copies; bound them together so a small
  // archive (a deflated storage, thousands of views of one big storage) cannot allocate without limit.
  const copyBudget: InflateBudget = { left: defaultInflateBudget(bytes.length) };
  const readOpts = { verifyCrc: options.verifyCrc !== false, budget: copyBudget };
  if (!looksLikeZip(bytes)) {
    const legacy = bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5;
    throw weightsError(
      file,
      undefined,
      legacy
        ? 'not a PyTorch zip archive: this is the legacy torch.save format (PyTorch < 1.6), which is not supported; re-save it with a recent torch or convert it to safetensors'
        : 'not a PyTorch zip archive',
    );
  }
  const zip = new ZipArchive(bytes, file);
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw weightsError(file, undefined, `not a PyTorch zip archive: expected one <archive>/data.pkl entry, found ${pkls.length}`);
  }
  const archive = pkls[0].slice(0, -'/data.pkl'.length);
  const byteorder = zip.entries.has(`${archive}/byteorder`) ? Buffer.from(zip.read(`${archive}/byteorder`, readOpts)).toString('latin1') : 'little';
  if (byteorder !== 'little') {
    throw new ConvBertError(`${file}: tensors are stored ${quote(byteorder, 20)}-endian; only little-endian archives are supported`, 'ERR_CONVBERT_UNSUPPORTED');
  }

  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    const it = pid instanceof PyTuple ? pid.items : [];
    if (it.length !== 5 || it[0] !== 'storage') throw weightsError(file, undefined, 'pickle: persistent id is not a (storage, type, key, location, numel) tuple');
    const [, type, key, , numel] = it;
    if (!(type instanceof PyGlobal)) throw weightsError(file, undefined, 'pickle: storage type is not a torch storage class');
    const kindName = type.name.endsWith('Storage') ? type.name : DTYPE_GLOBALS[type.name];
    const kind = kindName === undefined ? undefined : STORAGES[kindName];
    if (!kind) throw weightsError(file, undefined, `pickle: ${type.qualname} is not a storage type`);
    if (typeof key !== 'string' || key.length === 0 || key.includes('/')) throw weightsError(file, undefined, 'pickle: storage key must be a plain name');
    if (!isInt(numel) || numel < 0) throw weightsError(file, undefined, `pickle: storage ${quote(key)} has a bad element count`);
    const seen = storages.get(key);
    if (seen) {
      if (seen.kindName !== kindName || seen.numel !== numel) throw weightsError(file, undefined, `storage ${quote(key)} is used with two different types or sizes`);
      return seen;
    }
    const entry = `${archive}/data/${key}`;
    if (!zip.entries.has(entry)) throw weightsError(file, undefined, `storage ${quote(key)}: the archive has no entry ${quote(entry)}`);
    // The size the pickle's type and count need, checked against the directory before the entry is
    // read, so a deflated entry inflates to exactly this many bytes or is refused.
    const need = numel * kind.bytes;
    const declared = zip.entries.get(entry)!.size;
    if (declared !== need) {
      throw weightsError(file, undefined, `storage ${quote(key)}: ${numel} x ${kindName} needs ${need} bytes, the archive entry has ${declared}`);
    }
    let data = zip.read(entry, readOpts);
    // Align once per storage (torch pads entries to 64 bytes, so this is for odd writers only); views then never copy.
    if (data.byteOffset % kind.bytes !== 0) {
      if (copyBudget.left < data.length) throw weightsError(file, undefined, `storage ${quote(key)}: copying it to align it would pass the memory bound for this file; refusing`);
      copyBudget.left -= data.length;
      data = data.slice();
    }
    const s: Storage = { key, kind, kindName, bytes: data, numel };
    storages.set(key, s);
    return s;
  };

  // Tensor -> storage key, to report shared storages and name tensors in errors.
  const tensorStorage = new Map<Tensor, Storage>();
  const reduce = (fn: PyGlobal, args: PyTuple): unknown => {
    const a = args.items;
    switch (fn.qualname) {
      case ORDERED_DICT: {
        const d = new PyDict(true);
        if (a.length === 0) return d;
        const pairs = a[0];
        if (a.length !== 1 || !Array.isArray(pairs)) throw weightsError(file, undefined, 'pickle: OrderedDict takes no arguments or a list of pairs');
        for (const p of pairs) {
          if (!(p instanceof PyTuple) || p.items.length !== 2) throw weightsError(file, undefined, 'pickle: OrderedDict pair is not a 2-tuple');
          d.map.set(p.items[0], p.items[1]);
        }
        return d;
      }
      case REBUILD_TENSOR: {
        const [storage, offset, size, stride] = a;
        if (a.length < 6 || a.length > 7 || !storages.has((storage as Storage)?.key) || storages.get((storage as Storage).key) !== storage) {
          throw weightsError(file, undefined, 'pickle: _rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks[, metadata])');
        }
        const t = rebuildTensor(file, storage as Storage, offset, size, stride, copyBudget);
        tensorStorage.set(t, storage as Storage);
        return t;
      }
      case REBUILD_PARAMETER:
      case REBUILD_PARAMETER_STATE: {
        if (!(a[0] instanceof Tensor)) throw weightsError(file, undefined, `pickle: ${fn.name} needs a tensor`);
        return a[0];
      }
      default:
        throw new ConvBertError(`${file}: pickle: ${fn.qualname} cannot be called`, 'ERR_CONVBERT_UNSAFE_PICKLE');
    }
  };

  const root = unpickle(zip.read(pkls[0], readOpts), `${file}: ${pkls[0]}`, { allowedGlobals: ALLOWED_GLOBALS, reduce, persistentLoad });
  if (!(root instanceof PyDict)) {
    throw weightsError(file, undefined, 'data.pkl does not hold a state dict (a dict of name -> tensor); a full pickled model or a training checkpoint is not supported');
  }
  const tensors: TensorMap = new Map();
  const byStorage = new Map<string, string[]>();
  const converted = new Map<string, string>();
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') throw weightsError(file, undefined, `state dict key ${String(k)} is not a string`);
    if (!(v instanceof Tensor)) {
      throw weightsError(file, k, `is not a tensor (a state dict holds only tensors; got ${v === null ? 'None' : v instanceof PyDict ? 'a dict' : typeof v})`);
    }
    tensors.set(k, v);
    const s = tensorStorage.get(v);
    if (s) {
      const names = byStorage.get(s.key) ?? [];
      names.push(k);
      byStorage.set(s.key, names);
      if (s.kind.raw === 'float64' || s.kind.raw === 'int16') converted.set(k, s.kindName);
    }
  }
  const sharedStorages = new Map([...byStorage].filter(([, names]) => names.length > 1));
  const md = root.attrs.get('_metadata');
  const metadata =
    md instanceof PyDict ? new Map([...md.map].filter(([k]) => typeof k === 'string').map(([k, v]) => [k as string, (pyToJs(v) ?? {}) as Record<string, unknown>])) : undefined;
  return { tensors, metadata, archive, sharedStorages, converted };
}

/**
 * A contiguous tensor from (storage, offset, size, stride): a view when the
 * layout is already contiguous (and aligned), else a gathered copy. Views
 * that read an element twice (stride 0, expand) need more memory than the
 * file holds and are refused, which also bounds what a hostile file can allocate.
 */
function rebuildTensor(file: string, s: Storage, offset: unknown, size: unknown, stride: unknown, budget: { left: number }): Tensor {
  const what = `storage ${quote(s.key)}`;
  const spend = (n: number): void => {
    budget.left -= n;
    if (budget.left < 0) throw weightsError(file, undefined, `${what}: strided or converted tensors and inflated entries would need more than 4x the file size (+1 MiB); refusing`);
  };
  const dims = size instanceof PyTuple ? size.items : undefined;
  const strides = stride instanceof PyTuple ? stride.items : undefined;
  if (!dims || !strides || dims.length !== strides.length) throw weightsError(file, undefined, `${what}: tensor size and stride must be tuples of one length`);
  const numel = safeProduct(dims);
  if (numel === undefined) throw weightsError(file, undefined, `${what}: bad tensor size`);
  if (!isInt(offset) || offset < 0 || !strides.every((x) => isInt(x) && x >= 0)) throw weightsError(file, undefined, `${what}: bad storage offset or stride`);
  const shape = dims as number[];
  const st = strides as number[];
  const rawType = s.kind.raw === 'float64' ? 'float64' : s.kind.raw === 'int16' ? 'int16' : undefined;
  const out = (data: TypedArray): Tensor => {
    if (rawType) spend(data.length * 4);
    if (s.kind.raw === 'float64') return new Tensor('float32', Float32Array.from(data as unknown as Float64Array), shape);
    if (s.kind.raw === 'int16') return new Tensor('int32', Int32Array.from(data as unknown as Int16Array), shape);
    return new Tensor(s.kind.dtype, data, shape);
  };
  const view = (off: number, n: number): TypedArray => {
    if (rawType) {
      const abs = s.bytes.byteOffset + off * s.kind.bytes;
      const buf = abs % s.kind.bytes === 0 ? s.bytes.buffer : s.bytes.slice(off * s.kind.bytes, (off + n) * s.kind.bytes).buffer;
      const at = abs % s.kind.bytes === 0 ? abs : 0;
      return (rawType === 'float64' ? new Float64Array(buf, at, n) : new Int16Array(buf, at, n)) as unknown as TypedArray;
    }
    return viewOrCopy(s.kind.dtype, s.bytes, off * s.kind.bytes, n);
  };
  if (numel === 0) return out(view(0, 0));
  let last = offset;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * st[i];
  if (last >= s.numel) throw weightsError(file, undefined, `${what}: a tensor of size [${shape.join(', ')}] at offset ${offset} reads element ${last}, the storage has ${s.numel}`);
  if (numel > s.numel) throw weightsError(file, undefined, `${what}: tensor [${shape.join(', ')}] reads storage elements more than once (expanded views are not supported)`);
  // Contiguous (size-1 dims may have any stride): one view, no copy.
  let expect = 1;
  let contiguous = true;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && st[i] !== expect) contiguous = false;
    expect *= shape[i];
  }
  if (contiguous) return out(view(offset, numel));
  spend(numel * s.kind.bytes);
  const src = view(0, s.numel) as unknown as { [i: number]: number | bigint; length: number };
  const dst = (rawType ? new (rawType === 'float64' ? Float64Array : Int16Array)(numel) : allocTyped(s.kind.dtype, numel)) as unknown as { [i: number]: number | bigint };
  const idx = new Array<number>(shape.length).fill(0);
  let p = offset;
  for (let i = 0; i < numel; i++) {
    dst[i] = src[p];
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      p += st[d];
      if (idx[d] < shape[d]) break;
      p -= st[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out(dst as unknown as TypedArray);
}

export function readTorchBinSync(file: string, options?: TorchBinOptions): TorchBinFile {
  return parseTorchBin(readWholeFileSync(file), file, options);
}

export async function readTorchBin(file: string, options?: TorchBinOptions): Promise<TorchBinFile> {
  return parseTorchBin(await readWholeFile(file), file, options);
}
