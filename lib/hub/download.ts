// download.ts: hfHubDownload, one file of a Hub repo into the shared cache,
// following huggingface_hub's hf_hub_download: a commit-hash revision already
// cached costs no request; otherwise a HEAD gives the commit (X-Repo-Commit),
// the etag (X-Linked-Etag, else ETag) and the size (X-Linked-Size, else
// Content-Length); the blob is fetched into blobs/<etag>.incomplete, resumed
// with Range after a cut, checked (size; sha256 for LFS etags) and renamed.
// One download per blob at a time: in-process by a promise map, across
// processes and worker threads by a lock file under .locks/.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';

import { ConvBertError } from '../errors';
import { readTextFileSync } from '../files';
import { checkPathSegment, checkRepoFilename, checkRepoId, isCommitHash, isSha256, RepoCache } from './cache';
import { getFollowing, header, headMetadata, httpError, normalizeEtag, RetryableError, resolveUrl, type RequestContext } from './http';
import { progressSink, type ProgressSink } from './progress';
import { resolveSettings, type HubOptions, type HubSettings } from './settings';

/** Downloads in flight in this process, by blob path: a second caller waits for the first. */
const inflight = new Map<string, Promise<void>>();

interface FileMetadata {
  commit: string;
  etag: string;
  size: number | undefined;
  location: URL;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `fn`, again after each RetryableError (exponential backoff), at most `s.retries` more times. */
async function withRetries<T>(s: HubSettings, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!(e instanceof RetryableError) || attempt >= (e.unreachable ? Math.min(1, s.retries) : s.retries)) throw e;
      await sleep(Math.min(s.retryDelayMs * 2 ** attempt, s.retryDelayMs * 8));
    }
  }
}

function networkError(e: unknown, s: HubSettings): ConvBertError {
  if (e instanceof ConvBertError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const tries = e instanceof RetryableError && e.unreachable ? Math.min(1, s.retries) : s.retries;
  return new ConvBertError(`${msg} (gave up after ${tries} ${tries === 1 ? 'retry' : 'retries'})`, 'ERR_CONVBERT_HUB_NETWORK', { cause: e });
}

function what(ctx: RequestContext): string {
  return `${ctx.repoId}/${ctx.file} at revision ${JSON.stringify(ctx.revision)}`;
}

async function fetchMetadata(url: URL, headers: Record<string, string>, s: HubSettings, ctx: RequestContext, cache: RepoCache): Promise<FileMetadata> {
  const { res, url: answered, location } = await headMetadata(url, headers, s.headTimeoutMs);
  const status = res.statusCode ?? 0;
  if (status >= 400 || status < 200) {
    const commit = header(res, 'x-repo-commit');
    if (status === 404 && header(res, 'x-error-code') === 'EntryNotFound' && commit !== undefined && isCommitHash(commit)) {
      // Remember the absence at this commit, as huggingface_hub does, so a pinned lookup needs no request.
      cache.markAbsent(commit, ctx.file);
      try {
        cache.writeRef(ctx.revision, commit);
      } catch {
        // a read-only cache: the 404 below is the answer anyway
      }
    }
    throw httpError(res, answered, ctx);
  }
  const commit = header(res, 'x-repo-commit');
  const etag = normalizeEtag(header(res, 'x-linked-etag') ?? header(res, 'etag'));
  if (commit === undefined || etag === undefined || etag === '') {
    throw new ConvBertError(
      `${what(ctx)}: ${answered.origin} answered without ${commit === undefined ? 'X-Repo-Commit' : 'an ETag'}; it does not look like a Hugging Face Hub (check HF_ENDPOINT)`,
      'ERR_CONVBERT_HUB_NETWORK',
    );
  }
  checkPathSegment(commit, 'X-Repo-Commit', answered.href);
  checkPathSegment(etag, 'ETag', answered.href);
  // A redirect's own Content-Length is its (empty) body's, not the file's.
  const sizeText = header(res, 'x-linked-size') ?? (status < 300 ? header(res, 'content-length') : undefined);
  const size = sizeText !== undefined && /^\d+$/.test(sizeText.trim()) ? Number(sizeText.trim()) : undefined;
  return { commit, etag, size, location };
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

function removeQuietly(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    // absent
  }
}

async function sha256File(p: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(p), h);
  return h.digest('hex');
}

function ioError(e: unknown, file: string): ConvBertError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ConvBertError(`${file}: cannot write the download into the cache: ${msg}`, 'ERR_CONVBERT_IO', { cause: e });
}

/** One GET attempt, appending to `inc` from its current size (a Range request when it has bytes already). */
async function getInto(
  meta: FileMetadata,
  headers: Record<string, string>,
  authOrigin: URL,
  inc: string,
  s: HubSettings,
  ctx: RequestContext,
  sink: ProgressSink | undefined,
): Promise<void> {
  const expected = meta.size;
  let have = fileSize(inc);
  if (expected !== undefined && have > expected) {
    removeQuietly(inc);
    have = 0;
  }
  if (expected !== undefined && have === expected && have > 0) return;
  const h = { ...headers };
  if (have > 0) h.Range = `bytes=${have}-`;
  const { res, url } = await getFollowing(meta.location, h, authOrigin, s.getTimeoutMs);
  const status = res.statusCode ?? 0;
  let flags = 'a';
  if (status === 200) {
    // A server that ignores Range sends the whole file again: start over.
    if (have > 0) {
      flags = 'w';
      have = 0;
    }
  } else if (status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      res.destroy();
      removeQuietly(inc);
      throw new RetryableError(`${what(ctx)}: asked for bytes ${have}- of ${url.href}, got range ${JSON.stringify(header(res, 'content-range'))}`);
    }
  } else if (status === 416) {
    res.resume();
    if (expected !== undefined && have === expected) return;
    removeQuietly(inc);
    throw new RetryableError(`${what(ctx)}: ${url.href} refused the range bytes=${have}- (416); restarting`);
  } else {
    res.resume();
    throw httpError(res, url, ctx);
  }
  const lengthText = header(res, 'content-length');
  const total = expected ?? (lengthText !== undefined ? have + Number(lengthText) : undefined);
  let loaded = have;
  let sinkError: unknown;
  let fsError: unknown;
  sink?.(loaded, total, false);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      loaded += chunk.length;
      try {
        sink?.(loaded, total, false);
      } catch (e) {
        sinkError = e;
        cb(e as Error);
        return;
      }
      cb(null, chunk);
    },
  });
  let ws: fs.WriteStream;
  try {
    ws = fs.createWriteStream(inc, { flags });
  } catch (e) {
    res.destroy();
    throw ioError(e, inc);
  }
  ws.on('error', (e) => {
    fsError = e;
  });
  try {
    await pipeline(res, counter, ws);
  } catch (e) {
    if (sinkError !== undefined) throw sinkError;
    if (fsError !== undefined) throw ioError(fsError, inc);
    throw new RetryableError(`${what(ctx)}: transfer from ${url.href} cut after ${loaded} bytes (${(e as Error).message})`, undefined, { cause: e });
  }
  // A close-delimited body (no Content-Length) that ended early is a cut too; with a length, Node already
  // failed the stream if it came short, so a short file then is the server's own size and fails the check.
  if (expected !== undefined && loaded < expected && lengthText === undefined) {
    throw new RetryableError(`${what(ctx)}: transfer from ${url.href} ended after ${loaded} of ${expected} bytes`);
  }
}

async function fetchBlob(cache: RepoCache, meta: FileMetadata, headers: Record<string, string>, s: HubSettings, ctx: RequestContext): Promise<void> {
  const blob = cache.blobPath(meta.etag);
  const inc = `${blob}.incomplete`;
  try {
    fs.mkdirSync(path.dirname(blob), { recursive: true });
  } catch (e) {
    throw ioError(e, blob);
  }
  const sink = progressSink(s, ctx.repoId, ctx.file);
  const authOrigin = new URL(s.endpoint);
  try {
    await withRetries(s, () => getInto(meta, headers, authOrigin, inc, s, ctx, sink));
  } catch (e) {
    throw networkError(e, s);
  }
  const got = fileSize(inc);
  if (meta.size !== undefined && got !== meta.size) {
    removeQuietly(inc);
    throw new ConvBertError(`${what(ctx)}: downloaded ${got} bytes but the Hub announced ${meta.size}; nothing was cached, try again`, 'ERR_CONVBERT_HUB_INTEGRITY');
  }
  if (isSha256(meta.etag)) {
    const digest = await sha256File(inc);
    if (digest !== meta.etag) {
      removeQuietly(inc);
      throw new ConvBertError(`${what(ctx)}: the download's sha256 is ${digest} but the Hub announced ${meta.etag}; nothing was cached, try again`, 'ERR_CONVBERT_HUB_INTEGRITY');
    }
  }
  try {
    fs.renameSync(inc, blob);
  } catch (e) {
    throw ioError(e, blob);
  }
  sink?.(got, meta.size ?? got, true);
}

// Our blob lock: refreshed while held; one not refreshed for LOCK_STALE_MS, or whose process on
// this host is gone, was abandoned (a killed process or a terminated worker) and is taken over.
const LOCK_REFRESH_MS = 2_000;
const LOCK_STALE_MS = 20_000;
const LOCK_POLL_MS = 100;

function lockIsStale(p: string): boolean {
  try {
    const st = fs.statSync(p);
    let text = '';
    try {
      text = readTextFileSync(p, 4096);
    } catch {
      // Not a readable regular file (a FIFO, a directory): only its age can say it was abandoned.
    }
    const [pidText, host] = text.split('\n');
    const pid = Number(pidText);
    if (host === os.hostname() && Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
      }
    }
    return Date.now() - st.mtimeMs > LOCK_STALE_MS;
  } catch {
    return false; // gone already: the next exclusive open decides
  }
}

/** Runs `fn` holding the lock file `p`; returns undefined without running it if `done()` turns true while waiting. */
async function withLock<T>(p: string, done: () => boolean, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    fs.mkdirSync(path.dirname(p), { recursive: true });
  } catch (e) {
    throw ioError(e, p);
  }
  for (;;) {
    try {
      const fd = fs.openSync(p, 'wx');
      try {
        fs.writeSync(fd, `${process.pid}\n${os.hostname()}\n`);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, p);
      if (lockIsStale(p)) {
        removeQuietly(p);
        continue;
      }
      await sleep(LOCK_POLL_MS);
      if (done()) return undefined;
    }
  }
  const timer = setInterval(() => {
    try {
      const now = new Date();
      fs.utimesSync(p, now, now);
    } catch {
      // removed under us: the download still finishes and is verified
    }
  }, LOCK_REFRESH_MS);
  timer.unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    removeQuietly(p);
  }
}

function offlineError(cache: RepoCache, ctx: RequestContext): ConvBertError {
  return new ConvBertError(
    `${what(ctx)} is not in the cache (${cache.root}) and offline mode is on (HF_HUB_OFFLINE or localFilesOnly): ` +
      'run once with network access to download it, or pass a local directory',
    'ERR_CONVBERT_HUB_OFFLINE',
  );
}

function knownAbsentError(ctx: RequestContext, commit: string): ConvBertError {
  return new ConvBertError(`${what(ctx)}: file ${JSON.stringify(ctx.file)} not found (the cache records it as absent at commit ${commit})`, 'ERR_CONVBERT_HUB_NOT_FOUND');
}

/** hfHubDownload with settings already resolved (resolveModelPath calls it once per file). */
export async function downloadFile(s: HubSettings, repoId: string, file: string): Promise<string> {
  const cache = new RepoCache(s.cacheDir, repoId);
  const ctx: RequestContext = { repoId, file, revision: s.revision, tokenSent: s.token !== undefined };
  const cachedCommit = cache.commitFor(s.revision);
  if (isCommitHash(s.revision)) {
    const hit = cache.cachedPointer(s.revision, file);
    if (hit) return hit;
    if (cache.isKnownAbsent(s.revision, file)) throw knownAbsentError(ctx, s.revision);
  }
  if (s.offline) {
    const hit = cachedCommit !== undefined ? cache.cachedPointer(cachedCommit, file) : undefined;
    if (hit) return hit;
    if (cachedCommit !== undefined && cache.isKnownAbsent(cachedCommit, file)) throw knownAbsentError(ctx, cachedCommit);
    throw offlineError(cache, ctx);
  }

  const headers: Record<string, string> = s.token !== undefined ? { Authorization: `Bearer ${s.token}` } : {};
  let meta: FileMetadata;
  try {
    meta = await withRetries(s, () => fetchMetadata(resolveUrl(s.endpoint, repoId, s.revision, file), headers, s, ctx, cache));
  } catch (e) {
    if (e instanceof RetryableError || (e instanceof ConvBertError && e.code === 'ERR_CONVBERT_HUB_NETWORK')) {
      // Like huggingface_hub: with the Hub unreachable, a copy cached for this revision is still the answer.
      const hit = cachedCommit !== undefined ? cache.cachedPointer(cachedCommit, file) : undefined;
      if (hit) return hit;
    }
    throw networkError(e, s);
  }

  try {
    cache.writeRef(s.revision, meta.commit);
    const existing = cache.cachedPointer(meta.commit, file);
    if (existing) return existing;
  } catch (e) {
    throw ioError(e, cache.root);
  }
  const blob = cache.blobPath(meta.etag);
  if (!fs.existsSync(blob)) {
    let job = inflight.get(blob);
    if (!job) {
      const fetchUnlessDone = () => (fs.existsSync(blob) ? Promise.resolve() : fetchBlob(cache, meta, headers, s, ctx));
      job = withLock(cache.lockPath(meta.etag), () => fs.existsSync(blob), fetchUnlessDone)
        .then(() => undefined)
        .finally(() => inflight.delete(blob));
      inflight.set(blob, job);
    }
    await job;
  }
  try {
    return cache.linkPointer(meta.commit, file, meta.etag);
  } catch (e) {
    throw ioError(e, cache.pointerPath(meta.commit, file));
  }
}

/**
 * Downloads `filename` of the Hub model repo `repoId` into the Hugging Face cache (or finds it there)
 * and returns the path of its snapshot file, `<cache>/models--org--name/snapshots/<commit>/<filename>`.
 */
export async function hfHubDownload(repoId: string, filename: string, opts?: HubOptions): Promise<string> {
  if (typeof repoId !== 'string') throw new ConvBertError(`repoId: expected a string, got ${typeof repoId}`, 'ERR_CONVBERT_ARG');
  checkRepoId(repoId);
  checkRepoFilename(filename);
  return downloadFile(resolveSettings(opts), repoId, filename);
}
