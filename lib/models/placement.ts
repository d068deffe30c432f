// placement.ts: where a model's engine runs and at which precision: the dtype and
// device options, 'auto' resolved, and what this build or machine cannot do refused
// (ERR_CONVBERT_UNSUPPORTED with the reason) instead of silently running something else;
// modulesToNotConvert checked as names. Device strings are parsed by lib/device.ts,
// the library's one parser of them.
import { backendInfo } from '../backend';
import { cudaOrdinal } from '../device';
import { ConvBertError, argError } from '../errors';
import type { EngineOptions, NativeEngineCtor } from '../engine_types';
import { TRANSFORMERS_JS_DTYPES } from '../options';
import { describe } from '../validate';

export type ModelDtype = 'float32' | 'float16' | 'bfloat16' | 'int8';
/** transformers.js' spelling of a ModelDtype: 'fp32' = 'float32', 'fp16' = 'float16', 'bf16' = 'bfloat16', 'q8' = 'int8'. */
export type TransformersJsDtype = keyof typeof TRANSFORMERS_JS_DTYPES;
/** What the dtype option takes: this library's names or transformers.js'. */
export type PretrainedDtype = ModelDtype | TransformersJsDtype;
export type ModelDevice = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

/** More names than any model has linear modules (a base model has 111); a longer list is a mistake. */
const MAX_MODULE_NAMES = 1024;

/** options.modulesToNotConvert as a fresh array of non-empty strings (which modules they match, the engine checks). */
function checkModuleNames(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw argError(`${where}: modulesToNotConvert must be an array of module names, got ${describe(v)}`);
  if (v.length > MAX_MODULE_NAMES) throw argError(`${where}: modulesToNotConvert has ${v.length} names; at most ${MAX_MODULE_NAMES}`);
  const names: string[] = [];
  // An index loop, so that a hole in a sparse array is reported like any other non-string.
  for (let i = 0; i < v.length; i++) {
    const name: unknown = v[i];
    if (typeof name !== 'string' || name === '') throw argError(`${where}: modulesToNotConvert[${i}] must be a non-empty module name, got ${describe(name)}`);
    names.push(name);
  }
  return names;
}

/**
 * dtype/device: resolves 'auto' and refuses what this build or machine cannot do instead of
 * silently running something else (ERR_CONVBERT_UNSUPPORTED, with the CUDA reason when there is one).
 * A CUDA device that is reported available is left to the native Engine, whose CUDA errors are typed too. */
export function checkPlacement(o: { dtype?: unknown; device?: unknown; modulesToNotConvert?: unknown; engine?: NativeEngineCtor }, where: string): EngineOptions {
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16' && dtype !== 'int8') {
    throw new ConvBertError(
      `${where}: dtype ${JSON.stringify(o.dtype)} is not supported; use 'float32', 'float16', 'bfloat16' or 'int8' (or transformers.js' 'fp32', 'fp16', 'bf16', 'q8')`,
      'ERR_CONVBERT_UNSUPPORTED',
    );
  }
  const keep = checkModuleNames(o.modulesToNotConvert, where);
  let device = o.device ?? 'cpu';
  const isCuda = (d: unknown): d is 'cuda' | `cuda:${number}` => cudaOrdinal(d) !== null;
  if (device !== 'cpu' && device !== 'auto' && !isCuda(device)) {
    throw new ConvBertError(`${where}: device ${JSON.stringify(o.device)} is not supported; use 'cpu', 'cuda', 'cuda:N' or 'auto'`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  // A test engine constructor decides for itself; otherwise ask the loaded addon.
  const cuda = o.engine || device === 'cpu' ? null : backendInfo().cuda;
  // int8 and per-module float32 have only a CPU engine, so 'auto' means the CPU for them.
  // The emulated CUDA build (CI's stand-in for a GPU) runs only when 'cuda' is asked for by name.
  // It takes the first usable device (defaultDevice), which is not device 0 when that one is older than sm_80.
  if (device === 'auto') device = cuda?.available && !cuda.emulated && dtype !== 'int8' && keep.length === 0 ? `cuda:${cuda.defaultDevice ?? 0}` : 'cpu';
  // The CPU engine runs float32, bfloat16 and int8 (bf16 / int8 linear layers); float16 needs CUDA.
  if (device === 'cpu' && dtype === 'float16') {
    const why = o.device === 'auto' && cuda && !cuda.available ? ` (device 'auto' chose the CPU: ${cuda.reason ?? 'no CUDA device'})` : '';
    throw new ConvBertError(`${where}: dtype '${dtype}' needs a CUDA device; the CPU engine runs 'float32', 'bfloat16' and 'int8'${why}`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  // int8 is a CPU engine (VNNI dot products); the CUDA engine has no int8 path.
  if (device !== 'cpu' && dtype === 'int8') {
    throw new ConvBertError(`${where}: dtype 'int8' runs on the CPU engine only; use device 'cpu' (got ${JSON.stringify(o.device)})`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  // Mixed precision per module is the CPU engine's; the CUDA engine converts every linear layer.
  if (device !== 'cpu' && keep.length > 0) {
    throw new ConvBertError(`${where}: modulesToNotConvert runs on the CPU engine only; use device 'cpu' (got ${JSON.stringify(o.device)})`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  if (device !== 'cpu' && cuda && !cuda.available) {
    throw new ConvBertError(`${where}: device '${device}' is not available: ${cuda.reason ?? 'no CUDA device'}`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  const placement: EngineOptions = { device: device as EngineOptions['device'], dtype };
  if (keep.length > 0) placement.modulesToNotConvert = keep;
  return placement;
}
