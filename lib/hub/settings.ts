// settings.ts: the Hub options of one call, resolved against the environment
// the way huggingface_hub reads it: HF_ENDPOINT, HF_TOKEN (then the legacy
// HUGGING_FACE_HUB_TOKEN, then the token file that `huggingface-cli login`
// writes), HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE, HF_HUB_ETAG_TIMEOUT,
// HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_DISABLE_PROGRESS_BARS. Options given in code win
// over the environment; the environment is read at each call, never cached.
import * as os from 'os';
import * as path from 'path';

import { argError } from '../errors';
import { readTextFileSync } from '../files';

/** One progress report: `loaded` of `total` bytes of `file` (total is undefined when unknown). */
export interface HubProgressEvent {
  repoId: string;
  file: string;
  loaded: number;
  total: number | undefined;
  done: boolean;
}

/** Options shared by hfHubDownload and resolveModelPath. */
export interface HubOptions {
  /** Branch, tag or 40-hex commit hash; default "main". */
  revision?: string;
  /** Cache root (the folder holding models--org--name); default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Access token sent as `Authorization: Bearer`; default $HF_TOKEN. `false` sends none. */
  token?: string | false;
  /** Use only the cache, never the network; default $HF_HUB_OFFLINE. */
  localFilesOnly?: boolean;
  /** Hub base URL; default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /**
   * resolveModelPath only: glob patterns (`*`, `?`) that the optional files must match to be fetched,
   * like snapshot_download's allow_patterns. config.json is always fetched.
   */
  allowPatterns?: string[];
  /**
   * true: a progress bar on stderr; false: none; a function: called with each report.
   * Default: a bar when stderr is a TTY and HF_HUB_DISABLE_PROGRESS_BARS is not set.
   */
  progress?: boolean | ((event: HubProgressEvent) => void);
  /**
   * Idle timeout of one request, in ms (no byte for this long fails the attempt). Default: 10 s, or
   * $HF_HUB_ETAG_TIMEOUT (metadata) and $HF_HUB_DOWNLOAD_TIMEOUT (content), in seconds, as in huggingface_hub.
   */
  timeoutMs?: number;
  /** Retries after a connection error, a cut transfer or a 5xx/429 answer; default 5. */
  retries?: number;
  /** First retry delay in ms, doubled at each retry up to 8x; default 250. */
  retryDelayMs?: number;
}

export interface HubSettings {
  endpoint: string;
  revision: string;
  cacheDir: string;
  token: string | undefined;
  offline: boolean;
  progress: HubOptions['progress'];
  /** Idle timeouts of the metadata HEAD and of the content GET, in ms. */
  headTimeoutMs: number;
  getTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
}

function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~' + path.sep)) return path.join(os.homedir(), p.slice(2));
  return p;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v !== '' ? v : undefined;
}

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = nonEmpty(env.HF_HOME);
  if (home) return expandHome(home);
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  return path.join(xdg ? expandHome(xdg) : path.join(os.homedir(), '.cache'), 'huggingface');
}

/** The cache root shared with Python's huggingface_hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  return explicit ? expandHome(explicit) : path.join(hfHome(env), 'hub');
}

/** huggingface_hub's truthy spellings: 1, ON, YES, TRUE (any case). */
export function envFlag(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());
}

/** A positive number of seconds from the environment, in ms; undefined when unset or not a number. */
function envSeconds(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const v = nonEmpty(env[name]);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

function readTokenFile(env: NodeJS.ProcessEnv): string | undefined {
  const file = nonEmpty(env.HF_TOKEN_PATH) ? expandHome(env.HF_TOKEN_PATH as string) : path.join(hfHome(env), 'token');
  try {
    // A regular file only (a FIFO there must not hang every call), and a token is short.
    const t = readTextFileSync(file, 64 * 1024).trim();
    return t !== '' ? t : undefined;
  } catch {
    return undefined;
  }
}

export function resolveSettings(opts: HubOptions | undefined, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const o = opts ?? {};
  if (typeof o !== 'object') throw argError(`options: expected an object, got ${typeof o}`);
  const revision = o.revision ?? 'main';
  if (typeof revision !== 'string' || revision === '') {
    throw argError(`options.revision: expected a non-empty branch, tag or commit hash, got ${JSON.stringify(revision)}`);
  }
  const endpoint = (o.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? 'https://huggingface.co').replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw argError(`endpoint (HF_ENDPOINT): expected an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw argError(`endpoint (HF_ENDPOINT): expected an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  let token: string | undefined;
  if (o.token === false) token = undefined;
  else if (o.token !== undefined) {
    if (typeof o.token !== 'string' || o.token === '') throw argError('options.token: expected a non-empty string or false');
    token = o.token;
  } else token = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN) ?? readTokenFile(env);
  const num = (name: string, v: number | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw argError(`options.${name}: expected a number >= ${min}, got ${v}`);
    return v;
  };
  return {
    endpoint,
    revision,
    cacheDir: o.cacheDir !== undefined ? path.resolve(expandHome(o.cacheDir)) : path.resolve(hubCacheDir(env)),
    token,
    offline: o.localFilesOnly === true || envFlag(env.HF_HUB_OFFLINE),
    progress: o.progress === undefined && envFlag(env.HF_HUB_DISABLE_PROGRESS_BARS) ? false : o.progress,
    headTimeoutMs: num('timeoutMs', o.timeoutMs, envSeconds('HF_HUB_ETAG_TIMEOUT', env) ?? 10_000, 1),
    getTimeoutMs: num('timeoutMs', o.timeoutMs, envSeconds('HF_HUB_DOWNLOAD_TIMEOUT', env) ?? 10_000, 1),
    retries: Math.floor(num('retries', o.retries, 5, 0)),
    retryDelayMs: num('retryDelayMs', o.retryDelayMs, 250, 0),
  };
}
