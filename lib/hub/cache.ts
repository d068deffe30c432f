// cache.ts: huggingface_hub's cache layout, so Python and we share downloads.
//   <cache>/models--org--name/blobs/<etag>                 file content (etag: git sha1, or sha256 for LFS)
//   <cache>/models--org--name/snapshots/<commit>/<file>    relative symlink to ../../blobs/<etag>
//   <cache>/models--org--name/refs/<revision>              the commit hash a branch or tag resolved to
//   <cache>/models--org--name/.no_exist/<commit>/<file>    empty: the file is known absent at that commit
//   <cache>/.locks/models--org--name/<etag>.convbert.lock  ours, held while a blob downloads
// A blob is written as <etag>.incomplete and renamed only once verified.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { argError, ConvBertError } from '../errors';
import { readTextFileSync } from '../files';

export const COMMIT_RE = /^[0-9a-f]{40}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

/** A refs/<revision> file holds one commit hash: more than this is not a ref (and is not read whole). */
const REF_MAX_BYTES = 4096;

/** A git commit hash: such a revision never moves, so a cached file needs no network check. */
export function isCommitHash(revision: string): boolean {
  return COMMIT_RE.test(revision);
}

/** An LFS etag is the sha256 of the content. */
export function isSha256(etag: string): boolean {
  return SHA256_RE.test(etag);
}

/** huggingface_hub's validate_repo_id: `name` or `namespace/name`, [\w.-], no `--` or `..`, at most 96 chars a part. */
export function isRepoId(id: string): boolean {
  return /^([\w.-]+\/)?[\w.-]{1,96}$/.test(id) && !id.includes('--') && !id.includes('..') && !/(^|\/)[.-]|[.-](\/|$)/.test(id);
}

export function checkRepoId(id: string): void {
  if (!isRepoId(id)) {
    throw argError(`repoId: expected a Hub repo id like "org/name" or "name", got ${JSON.stringify(id)}`);
  }
}

/** A file name inside a repo: relative, `/`-separated, no empty, `.` or `..` parts (it becomes a path on disk). */
export function checkRepoFilename(file: string, what = 'filename'): void {
  const bad =
    typeof file !== 'string' ||
    file === '' ||
    file.includes('\\') ||
    file.includes('\0') ||
    file.startsWith('/') ||
    file.split('/').some((p) => p === '' || p === '.' || p === '..');
  if (bad) throw argError(`${what}: expected a relative file name inside the repo, got ${JSON.stringify(file)}`);
}

/** A header value used as one path component (etag, commit): no separators, no dot-only names. */
export function checkPathSegment(value: string, what: string, url: string): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(value) || /^\.+$/.test(value)) {
    throw new ConvBertError(`${what} from ${url}: expected a plain identifier, got ${JSON.stringify(value)}; the server is not a Hugging Face Hub`, 'ERR_CONVBERT_HUB_NETWORK');
  }
}

/** models--org--name (repo_folder_name for repo_type "model"). */
export function repoFolderName(repoId: string): string {
  return ['models', ...repoId.split('/')].join('--');
}

export class RepoCache {
  readonly root: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.root = path.join(cacheDir, repoFolderName(repoId));
  }

  /**
   * Our lock for one blob download, beside huggingface_hub's own `.locks/<repo>/<etag>.lock` (an
   * flock that Node cannot take): it keeps our processes and worker threads from writing one
   * .incomplete file at once. Python's downloads are not excluded by it.
   */
  lockPath(etag: string): string {
    return path.join(this.cacheDir, '.locks', repoFolderName(this.repoId), `${etag}.convbert.lock`);
  }

  blobPath(etag: string): string {
    return path.join(this.root, 'blobs', etag);
  }

  pointerPath(commit: string, file: string): string {
    return path.join(this.root, 'snapshots', commit, ...file.split('/'));
  }

  noExistPath(commit: string, file: string): string {
    return path.join(this.root, '.no_exist', commit, ...file.split('/'));
  }

  refPath(revision: string): string {
    return path.join(this.root, 'refs', ...revision.split('/'));
  }

  /** The commit a revision stands for in the cache: itself if a hash, else refs/<revision>, else undefined. */
  commitFor(revision: string): string | undefined {
    if (isCommitHash(revision)) return revision;
    if (revision.split('/').some((p) => p === '' || p === '.' || p === '..')) return undefined;
    try {
      const c = readTextFileSync(this.refPath(revision), REF_MAX_BYTES).trim();
      return /^[A-Za-z0-9._-]{1,200}$/.test(c) && !/^\.+$/.test(c) ? c : undefined;
    } catch {
      return undefined;
    }
  }

  /** The snapshot file of `file` at `commit` if it exists and its blob is there (a dangling link does not count). */
  cachedPointer(commit: string, file: string): string | undefined {
    const p = this.pointerPath(commit, file);
    return fs.existsSync(p) ? p : undefined;
  }

  isKnownAbsent(commit: string, file: string): boolean {
    return fs.existsSync(this.noExistPath(commit, file));
  }

  markAbsent(commit: string, file: string): void {
    const p = this.noExistPath(commit, file);
    try {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.closeSync(fs.openSync(p, 'a'));
    } catch {
      // Only an optimisation (saves a request next time): a read-only cache is fine.
    }
  }

  /** refs/<revision> = commit, written only when it changes (a read-only shared cache stays usable). */
  writeRef(revision: string, commit: string): void {
    if (revision === commit || revision.split('/').some((p) => p === '' || p === '.' || p === '..')) return;
    const p = this.refPath(revision);
    try {
      if (readTextFileSync(p, REF_MAX_BYTES) === commit) return;
    } catch {
      // absent: write it
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, commit);
    fs.renameSync(tmp, p);
  }

  /**
   * snapshots/<commit>/<file> -> relative link to blobs/<etag>. A link already pointing there is kept;
   * anything else is replaced atomically (a temp link renamed over it), so a concurrent reader never
   * finds the path missing. Where the file system refuses symlinks (Windows without developer mode),
   * a copy of the blob, as huggingface_hub does.
   */
  linkPointer(commit: string, file: string, etag: string): string {
    const pointer = this.pointerPath(commit, file);
    const blob = this.blobPath(etag);
    try {
      if (fs.realpathSync(pointer) === fs.realpathSync(blob)) return pointer;
    } catch {
      // absent or dangling: (re)create it
    }
    fs.mkdirSync(path.dirname(pointer), { recursive: true });
    const tmp = `${pointer}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    try {
      try {
        fs.symlinkSync(path.relative(path.dirname(pointer), blob), tmp);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP' && code !== 'EINVAL' && code !== 'ENOSYS') throw e;
        fs.copyFileSync(blob, tmp);
      }
      fs.renameSync(tmp, pointer);
    } catch (e) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // never created
      }
      throw e;
    }
    return pointer;
  }
}
