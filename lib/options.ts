// options.ts: the option objects of fromPretrained / pipeline, checked the same way
// everywhere: an unknown key is ERR_CONVBERT_ARG naming it and the closest known key
// (a typo like `devcie` used to be ignored silently), and the transformers.js
// spellings (`dtype: 'q8'`, `local_files_only`, `cache_dir`, `progress_callback`)
// are mapped onto this library's own names where they mean the same thing.
import { argError } from './errors';
import type { HubProgressEvent } from './hub/settings';

/** Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean". */
function distance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

/**
 * The known name closest to `word`, or null when none is close: case, `_` and `-` are
 * ignored (`cacheDir` ~ `cache_dir`), and at most a third of the letters may differ, or
 * `word` is the start of a known name.
 */
export function closestName(word: string, known: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  // Only short keys are compared: a name of 200 characters is no typo of an option.
  if (word.length > 64) return null;
  const w = norm(word);
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dk = distance(w, norm(k));
    if (dk < bestD) {
      best = k;
      bestD = dk;
    }
  }
  if (best !== null && bestD <= Math.max(1, Math.floor(w.length / 3))) return best;
  // A shortened name (`skip_special` for `skip_special_tokens`): the known key that starts with it.
  if (w.length >= 4) for (const k of known) if (norm(k).startsWith(w)) return k;
  return null;
}

/** Throws ERR_CONVBERT_ARG for the first key of `o` not in `known`, suggesting the closest known one. */
export function checkOptionKeys(where: string, o: object, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = closestName(k, known);
    const hint = near ? `did you mean '${near}'? ` : '';
    throw argError(`${where}: unknown option '${k}'; ${hint}expected some of ${known.join(', ')}`);
  }
}

/** transformers.js' dtype names that mean what one of ModelDtype means here. */
export const TRANSFORMERS_JS_DTYPES = Object.freeze({ fp32: 'float32', fp16: 'float16', bf16: 'bfloat16', q8: 'int8' } as const);

/** transformers.js' snake_case Hub options and the names this library uses for them. */
export const HUB_OPTION_ALIASES = Object.freeze({ local_files_only: 'localFilesOnly', cache_dir: 'cacheDir', progress_callback: 'progress' } as const);

/** The transformers.js spellings of the Hub options fromPretrained and pipeline accept. */
export interface TransformersJsHubOptions {
  /** = localFilesOnly. */
  local_files_only?: boolean;
  /** = cacheDir. */
  cache_dir?: string;
  /**
   * transformers.js's progress callback, with its events: per downloaded file `initiate`,
   * `download`, `progress` (percent, loaded, total bytes) and `done`; then `ready` when a
   * pipeline has loaded. (`progress` as a function gets this library's own reports instead.)
   */
  progress_callback?: (event: TransformersJsProgressInfo) => void;
}

/** transformers.js's progress events, as its progress_callback receives them. */
export type TransformersJsProgressInfo =
  | { status: 'initiate' | 'download' | 'done'; name: string; file: string }
  | { status: 'progress'; name: string; file: string; progress: number; loaded: number; total: number }
  | { status: 'ready'; task: string; model: string };

/** A `progress` function that turns this library's download reports into transformers.js's events. */
function transformersJsProgress(cb: (event: TransformersJsProgressInfo) => void): (e: HubProgressEvent) => void {
  const started = new Set<string>();
  return (e) => {
    const name = e.repoId,
      file = e.file,
      key = `${name}\u0000${file}`;
    if (!started.has(key)) {
      started.add(key);
      cb({ status: 'initiate', name, file });
      cb({ status: 'download', name, file });
    }
    const total = e.total ?? 0;
    cb({ status: 'progress', name, file, progress: total > 0 ? Math.min(100, (e.loaded / total) * 100) : e.done ? 100 : 0, loaded: e.loaded, total });
    if (e.done) {
      started.delete(key);
      cb({ status: 'done', name, file });
    }
  };
}

/**
 * A copy of `o` with the transformers.js spellings renamed (and a transformers.js dtype
 * mapped). Giving both spellings of one option with different values is an error, since
 * one of them would be ignored.
 */
export function normalizeAliases<T extends object>(where: string, o: T): T {
  const r = { ...o } as Record<string, unknown>;
  for (const [alias, name] of Object.entries(HUB_OPTION_ALIASES)) {
    if (r[alias] === undefined) {
      delete r[alias];
      continue;
    }
    if (r[name] !== undefined && r[name] !== r[alias]) {
      throw argError(`${where}: options '${alias}' and '${name}' are the same option and disagree; give one of them`);
    }
    if (alias === 'progress_callback' && typeof r[alias] !== 'function') {
      throw argError(`${where}: progress_callback: expected a function, got ${r[alias] === null ? 'null' : typeof r[alias]}`);
    }
    r[name] = alias === 'progress_callback' ? transformersJsProgress(r[alias] as (event: TransformersJsProgressInfo) => void) : r[alias];
    delete r[alias];
  }
  if (typeof r.dtype === 'string' && Object.prototype.hasOwnProperty.call(TRANSFORMERS_JS_DTYPES, r.dtype)) {
    r.dtype = TRANSFORMERS_JS_DTYPES[r.dtype as keyof typeof TRANSFORMERS_JS_DTYPES];
  }
  return r as T;
}
