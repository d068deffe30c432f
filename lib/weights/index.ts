// weights/index.ts: state dicts in Hugging Face's checkpoint layout. A
// directory is searched in transformers' order (model.safetensors, its sharded
// index, pytorch_model.bin, its sharded index); a file is read by its name or,
// failing that, its first bytes. Saving writes model.safetensors, or shards and
// model.safetensors.index.json above maxShardSize (default 5 GB, like HF).
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError } from '../errors';
import type { Tensor } from '../tensor';
import { readTextFile, readTextFileSync } from '../files';
import { readWholeFile, readWholeFileSync } from './common';
import { mergeShards, parseSafetensors, parseShardIndex, saveSafetensorsDir, saveSafetensorsDirSync, type SaveShardedOptions, type TensorMap } from './safetensors';
import { parseTorchBin } from './torch_bin';
import { looksLikeZip } from './zip';

/** Tensors by HF key, in checkpoint order. */
export type StateDict = Map<string, Tensor>;

export {
  DEFAULT_MAX_SHARD_SIZE,
  MAX_HEADER_BYTES,
  SAFE_WEIGHTS_INDEX_NAME,
  SAFE_WEIGHTS_NAME,
  encodeSafetensors,
  layoutSafetensors,
  parseSafetensors,
  parseSize,
  planShards,
  readSafetensors,
  readSafetensorsSync,
  readShardedSafetensors,
  readShardedSafetensorsSync,
  saveSafetensorsDir,
  saveSafetensorsDirSync,
  shardFileName,
  writeSafetensors,
  writeSafetensorsSync,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SaveShardedOptions,
  type SavedFiles,
  type ShardIndex,
  type ShardedFile,
  type TensorMap,
  type TensorsLike,
} from './safetensors';
export { ALLOWED_GLOBALS, parseTorchBin, readTorchBin, readTorchBinSync, type TorchBinFile, type TorchBinOptions } from './torch_bin';
export { ZipArchive, looksLikeZip, type ZipEntry } from './zip';
export { PyDict, PyGlobal, PyTuple, unpickle, type UnpickleHooks } from './pickle';

export const WEIGHTS_NAME = 'pytorch_model.bin';
export const WEIGHTS_INDEX_NAME = 'pytorch_model.bin.index.json';

/** The names a checkpoint directory is searched for, in transformers' order. */
export const WEIGHTS_SEARCH_ORDER: readonly string[] = ['model.safetensors', 'model.safetensors.index.json', WEIGHTS_NAME, WEIGHTS_INDEX_NAME];

/**
 * The weights file for `dirOrFile`: the file itself, or the first of
 * WEIGHTS_SEARCH_ORDER inside the directory. ERR_CONVBERT_IO names the path and what was looked for.
 */
export function resolveWeightsFile(dirOrFile: string): string {
  if (typeof dirOrFile !== 'string' || dirOrFile.length === 0) {
    throw new ConvBertError(
      `dirOrFile: expected a checkpoint directory or file path, got ${typeof dirOrFile === 'string' ? 'an empty string' : typeof dirOrFile}`,
      'ERR_CONVBERT_ARG',
    );
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(dirOrFile);
  } catch (err) {
    throw new ConvBertError(
      `${dirOrFile}: no such checkpoint file or directory (expected a directory holding one of ${WEIGHTS_SEARCH_ORDER.join(', ')}, or one of those files)`,
      'ERR_CONVBERT_IO',
      { cause: err },
    );
  }
  if (!st.isDirectory()) return dirOrFile;
  for (const name of WEIGHTS_SEARCH_ORDER) {
    const p = path.join(dirOrFile, name);
    if (fs.existsSync(p)) return p;
  }
  throw new ConvBertError(`${dirOrFile}: no weights in this directory (looked for ${WEIGHTS_SEARCH_ORDER.join(', ')})`, 'ERR_CONVBERT_IO');
}

type Format = 'safetensors' | 'torch' | 'index';

function formatByName(file: string): Format | undefined {
  const base = path.basename(file).toLowerCase();
  if (base.endsWith('.index.json')) return 'index';
  if (base.endsWith('.safetensors')) return 'safetensors';
  if (base.endsWith('.bin') || base.endsWith('.pt') || base.endsWith('.pth')) return 'torch';
  return undefined;
}

/** One weights file already in memory, read by its name or else by its first bytes (zip = torch). */
function parseWeights(bytes: Uint8Array, file: string): TensorMap {
  const fmt = formatByName(file) ?? (looksLikeZip(bytes) ? 'torch' : 'safetensors');
  return fmt === 'torch' ? parseTorchBin(bytes, file).tensors : parseSafetensors(bytes, file).tensors;
}

function shardFiles(indexFile: string, text: string): { index: ReturnType<typeof parseShardIndex>; files: string[] } {
  const index = parseShardIndex(text, indexFile);
  return { index, files: [...new Set(Object.values(index.weight_map))] };
}

export function loadStateDictSync(dirOrFile: string): StateDict {
  const file = resolveWeightsFile(dirOrFile);
  if (formatByName(file) !== 'index') return parseWeights(readWholeFileSync(file), file);
  const { index, files } = shardFiles(file, readTextFileSync(file));
  const shards = new Map<string, { tensors: TensorMap }>();
  for (const f of files) {
    const p = path.join(path.dirname(file), f);
    shards.set(f, { tensors: parseWeights(readWholeFileSync(p), p) });
  }
  return mergeShards(file, index, shards);
}

export async function loadStateDict(dirOrFile: string): Promise<StateDict> {
  const file = resolveWeightsFile(dirOrFile);
  if (formatByName(file) !== 'index') return parseWeights(await readWholeFile(file), file);
  const { index, files } = shardFiles(file, await readTextFile(file));
  const shards = new Map<string, { tensors: TensorMap }>();
  for (const f of files) {
    const p = path.join(path.dirname(file), f);
    shards.set(f, { tensors: parseWeights(await readWholeFile(p), p) });
  }
  return mergeShards(file, index, shards);
}

export type SaveStateDictOptions = SaveShardedOptions;

/** Write `sd` into `dir` as model.safetensors, or as shards plus model.safetensors.index.json. */
export async function saveStateDict(dir: string, sd: StateDict, options: SaveStateDictOptions = {}): Promise<void> {
  await saveSafetensorsDir(dir, sd, options);
}

export function saveStateDictSync(dir: string, sd: StateDict, options: SaveStateDictOptions = {}): void {
  saveSafetensorsDirSync(dir, sd, options);
}
