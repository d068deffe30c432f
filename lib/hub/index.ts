// hub/index.ts: model ids to local folders. resolveModelPath returns an
// existing path as is; a Hub repo id ("org/name" or "name") is resolved to a
// commit once (the config.json request), and every other file is fetched at
// that commit, so a snapshot never mixes revisions. Files land in the Hugging
// Face cache layout (see cache.ts), shared with Python's huggingface_hub.
import * as fs from 'fs';
import * as path from 'path';

import { argError, ConvBertError } from '../errors';
import { readTextFileSync } from '../files';
import { checkRepoFilename, isRepoId } from './cache';
import { downloadFile } from './download';
import { resolveSettings, type HubOptions, type HubSettings } from './settings';

export { hfHubDownload } from './download';
export { hubCacheDir, type HubOptions, type HubProgressEvent } from './settings';
export { repoFolderName } from './cache';

/** The weight layouts a ConvBERT checkpoint may have, in the order transformers prefers them. */
const WEIGHT_CHOICES: ReadonlyArray<{ single: string; index: string }> = [
  { single: 'model.safetensors', index: 'model.safetensors.index.json' },
  { single: 'pytorch_model.bin', index: 'pytorch_model.bin.index.json' },
];

/** Tokenizer files, each optional. */
const TOKENIZER_FILES = ['tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'tokenizer.json', 'added_tokens.json'];

/** fnmatch-style: `*` any run of characters (slashes included, as in fnmatch), `?` one character. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function allowedBy(patterns: string[] | undefined): (file: string) => boolean {
  if (patterns === undefined) return () => true;
  if (!Array.isArray(patterns) || patterns.some((p) => typeof p !== 'string')) {
    throw argError('options.allowPatterns: expected an array of glob strings');
  }
  const res = patterns.map(globToRegExp);
  return (file) => res.some((r) => r.test(file));
}

/** A missing optional file: the Hub said 404, or (offline) the cache does not hold it. */
function isAbsent(e: unknown): boolean {
  return e instanceof ConvBertError && (e.code === 'ERR_CONVBERT_HUB_NOT_FOUND' || e.code === 'ERR_CONVBERT_HUB_OFFLINE');
}

async function optional(s: HubSettings, repoId: string, file: string): Promise<string | undefined> {
  try {
    return await downloadFile(s, repoId, file);
  } catch (e) {
    if (isAbsent(e)) return undefined;
    throw e;
  }
}

/** The shard names of a sharded checkpoint's index ({"weight_map": {tensor: shard}}). */
function shardsOf(indexFile: string, repoId: string, name: string): string[] {
  const text = readTextFileSync(indexFile);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConvBertError(`${repoId}/${name}: not a readable JSON index (${(e as Error).message})`, 'ERR_CONVBERT_WEIGHTS');
  }
  const map = (parsed as { weight_map?: unknown }).weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ConvBertError(`${repoId}/${name}: expected an object "weight_map" of tensor name -> shard file`, 'ERR_CONVBERT_WEIGHTS');
  }
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const f of shards) {
    if (typeof f !== 'string') throw new ConvBertError(`${repoId}/${name}: weight_map values must be file names, got ${JSON.stringify(f)}`, 'ERR_CONVBERT_WEIGHTS');
    checkRepoFilename(f, `${repoId}/${name} weight_map shard`);
  }
  return shards as string[];
}

async function fetchWeights(s: HubSettings, repoId: string, allow: (f: string) => boolean): Promise<void> {
  const tried: string[] = [];
  for (const { single, index } of WEIGHT_CHOICES) {
    if (allow(single)) {
      tried.push(single);
      if ((await optional(s, repoId, single)) !== undefined) return;
    }
    if (allow(index)) {
      tried.push(index);
      const idx = await optional(s, repoId, index);
      if (idx !== undefined) {
        // Shards are required once the index names them.
        for (const shard of shardsOf(idx, repoId, index)) await downloadFile(s, repoId, shard);
        return;
      }
    }
  }
  const where = s.offline ? 'in the cache (offline mode is on)' : 'on the Hub';
  throw new ConvBertError(
    `${repoId} at revision ${JSON.stringify(s.revision)}: no weights found ${where}; looked for ${tried.join(', ') || 'nothing (allowPatterns excludes every weight file)'}`,
    s.offline ? 'ERR_CONVBERT_HUB_OFFLINE' : 'ERR_CONVBERT_HUB_NOT_FOUND',
  );
}

/** Not a repo id but meant as a path: absolute, ./ ../ ~ prefixes, backslashes, more than one slash. */
function looksLikePath(s: string): boolean {
  return path.isAbsolute(s) || /^(\.{1,2}|~)([/\\]|$)/.test(s) || s.includes('\\') || s.split('/').length > 2;
}

/**
 * A local folder with config.json, the weights and the tokenizer files of `idOrDir`.
 * An existing file or directory is returned as is. Otherwise `idOrDir` is a Hub repo id: the files a
 * ConvBERT model needs are downloaded (or found in the cache) and the snapshot folder is returned.
 */
export async function resolveModelPath(idOrDir: string, opts?: HubOptions): Promise<string> {
  return resolveSnapshot(idOrDir, opts, 'model');
}

/**
 * A local folder with the tokenizer files of `idOrDir` (vocab.txt required; tokenizer_config.json,
 * special_tokens_map.json, tokenizer.json, added_tokens.json when the repo has them). No weights are fetched.
 */
export async function resolveTokenizerPath(idOrDir: string, opts?: HubOptions): Promise<string> {
  return resolveSnapshot(idOrDir, opts, 'tokenizer');
}

async function resolveSnapshot(idOrDir: string, opts: HubOptions | undefined, what: 'model' | 'tokenizer'): Promise<string> {
  if (typeof idOrDir !== 'string' || idOrDir === '') {
    throw argError(`idOrDir: expected a local path or a Hub repo id like "org/name", got ${JSON.stringify(idOrDir)}`);
  }
  if (fs.existsSync(idOrDir)) return idOrDir;
  if (looksLikePath(idOrDir) || !isRepoId(idOrDir)) {
    throw new ConvBertError(
      `idOrDir: ${JSON.stringify(idOrDir)} is neither an existing file or directory nor a Hub repo id like "org/name"`,
      looksLikePath(idOrDir) ? 'ERR_CONVBERT_IO' : 'ERR_CONVBERT_ARG',
    );
  }
  const base = resolveSettings(opts);
  const allow = allowedBy(opts?.allowPatterns);
  // The first (required) file fixes the commit; every other file is pinned to it (its snapshot folder's name).
  const first = await downloadFile(base, idOrDir, what === 'model' ? 'config.json' : 'vocab.txt');
  const snapshot = path.dirname(first);
  const pinned: HubSettings = { ...base, revision: path.basename(snapshot) };
  if (what === 'model') await fetchWeights(pinned, idOrDir, allow);
  for (const f of TOKENIZER_FILES) if (allow(f) && !(what === 'tokenizer' && f === 'vocab.txt')) await optional(pinned, idOrDir, f);
  return snapshot;
}
