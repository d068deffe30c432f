// fake_hub.ts: a Hugging Face Hub stand-in on 127.0.0.1 for the hub tests.
// It serves the Hub's URL layout, {repo}/resolve/{revision}/{file}, with its
// headers: X-Repo-Commit, ETag (git blob sha1) for plain files, and for LFS
// files a 302 carrying X-Linked-Etag (sha256) and X-Linked-Size to the blob,
// either on this server (a relative Location) or on a second server standing
// for the CDN (another host). Blobs honour Range. Switches inject failures.
import * as crypto from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FakeFile {
  data: Buffer;
  /** LFS: the resolve URL redirects to the blob, on this server ('relative') or the CDN server ('cdn'). */
  lfs?: 'relative' | 'cdn';
}

export interface FakeRepo {
  /** commit hash -> file name -> file */
  commits: Record<string, Record<string, FakeFile>>;
  /** branch or tag -> commit hash */
  refs: Record<string, string>;
  /** A private repo: requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** git's blob id: sha1("blob <size>\0" + content), the ETag the Hub gives plain files. */
export function gitBlobSha1(b: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}

/** A 40-hex commit id derived from a label, so tests can name commits. */
export function commitId(label: string): string {
  return crypto.createHash('sha1').update(label).digest('hex');
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  /** Renamed repos: old id -> new id (answered with a relative 307, as the Hub does). */
  readonly renamed = new Map<string, string>();
  readonly log: LoggedRequest[] = [];
  /** sha256 of blobs whose next GET is cut after half the body. */
  readonly cutOnce = new Set<string>();
  /** sha256 of blobs whose next GET sends half the body, then stalls with the connection open. */
  readonly stallOnce = new Set<string>();
  /** sha256 of blobs served with one byte flipped (right size, wrong hash). */
  readonly corrupt = new Set<string>();
  /** File names whose resolve URL answers 500. */
  readonly fail500 = new Set<string>();
  /** sha256 of LFS blobs announced with a wrong X-Linked-Size (one byte more than served). */
  readonly wrongSize = new Set<string>();
  /** Blobs ignore Range and answer 200 with the whole body. */
  ignoreRange = false;
  private readonly blobs = new Map<string, Buffer>();

  private constructor(
    private readonly hubServer: http.Server,
    private readonly cdnServer: http.Server,
    readonly endpoint: string,
    readonly cdnOrigin: string,
  ) {}

  static async start(): Promise<FakeHub> {
    // The handlers run only on requests, which come after `hub` is set below.
    const hubServer = http.createServer((req, res) => hub.handle('hub', req, res));
    const cdnServer = http.createServer((req, res) => hub.handle('cdn', req, res));
    const [endpoint, cdnOrigin] = await Promise.all([listen(hubServer), listen(cdnServer)]);
    const hub = new FakeHub(hubServer, cdnServer, endpoint, cdnOrigin);
    return hub;
  }

  close(): Promise<void> {
    const stop = (s: http.Server) =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      });
    return Promise.all([stop(this.hubServer), stop(this.cdnServer)]).then(() => undefined);
  }

  /** Adds (or extends) a repo with one commit; `refs` names it (e.g. ['main']). */
  addCommit(repoId: string, commit: string, files: Record<string, FakeFile>, refs: string[] = ['main'], token?: string): void {
    const repo = this.repos.get(repoId) ?? { commits: {}, refs: {}, token };
    repo.commits[commit] = files;
    for (const r of refs) repo.refs[r] = commit;
    if (token !== undefined) repo.token = token;
    this.repos.set(repoId, repo);
    for (const f of Object.values(files)) if (f.lfs) this.blobs.set(sha256(f.data), f.data);
  }

  /** Requests seen, optionally only those of one method or server. */
  requests(filter: Partial<Pick<LoggedRequest, 'server' | 'method'>> = {}): LoggedRequest[] {
    return this.log.filter((r) => (filter.server === undefined || r.server === filter.server) && (filter.method === undefined || r.method === filter.method));
  }

  private handle(server: 'hub' | 'cdn', req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.log.push({ server, method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, range: req.headers.range });
    const blob = /^\/lfs-blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    if (blob) return this.serveBlob(req, res, blob[1]);
    if (server === 'hub') return this.serveResolve(req, res, url.pathname);
    res.writeHead(404).end();
  }

  private fail(res: http.ServerResponse, status: number, code: string, extra: Record<string, string> = {}): void {
    const body = JSON.stringify({ error: code });
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Error-Code': code, ...extra });
    res.end(body);
  }

  private serveResolve(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
    const at = pathname.indexOf('/resolve/');
    if (at < 0) return this.fail(res, 404, 'EntryNotFound');
    const repoId = pathname.slice(1, at);
    const [revEnc, ...fileParts] = pathname.slice(at + '/resolve/'.length).split('/');
    const renamedTo = this.renamed.get(repoId);
    if (renamedTo !== undefined) {
      res.writeHead(307, { Location: `/${renamedTo}/resolve/${revEnc}/${fileParts.join('/')}` }).end();
      return;
    }
    const repo = this.repos.get(repoId);
    if (!repo) return this.fail(res, 404, 'RepoNotFound');
    if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) return this.fail(res, 401, 'RepoNotFound');
    const rev = decodeURIComponent(revEnc);
    const commit = repo.refs[rev] ?? (repo.commits[rev] ? rev : undefined);
    if (commit === undefined) return this.fail(res, 404, 'RevisionNotFound');
    const name = fileParts.map(decodeURIComponent).join('/');
    if (this.fail500.has(name)) return this.fail(res, 500, 'InternalError');
    const file = repo.commits[commit][name];
    if (!file) return this.fail(res, 404, 'EntryNotFound', { 'X-Repo-Commit': commit });
    if (file.lfs) {
      const sha = sha256(file.data);
      const size = file.data.length + (this.wrongSize.has(sha) ? 1 : 0);
      const location = file.lfs === 'cdn' ? `${this.cdnOrigin}/lfs-blobs/${sha}` : `/lfs-blobs/${sha}`;
      res.writeHead(302, {
        Location: location,
        'X-Repo-Commit': commit,
        'X-Linked-Etag': `"${sha}"`,
        'X-Linked-Size': String(size),
        // The pointer file's own etag: a client must prefer X-Linked-Etag.
        ETag: `"${gitBlobSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\nsize ${size}\n`))}"`,
        'Content-Length': '0',
      });
      res.end();
      return;
    }
    this.sendBody(req, res, file.data, { ETag: `"${gitBlobSha1(file.data)}"`, 'X-Repo-Commit': commit });
  }

  private serveBlob(req: http.IncomingMessage, res: http.ServerResponse, sha: string): void {
    const data = this.blobs.get(sha);
    if (!data) return this.fail(res, 404, 'EntryNotFound');
    let body = data;
    if (this.corrupt.has(sha)) {
      body = Buffer.from(data);
      body[body.length >> 1] ^= 0xff;
    }
    const cut = req.method === 'GET' && this.cutOnce.delete(sha) ? 'cut' : req.method === 'GET' && this.stallOnce.delete(sha) ? 'stall' : undefined;
    this.sendBody(req, res, body, { ETag: `"${sha}"` }, cut);
  }

  private sendBody(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer, headers: Record<string, string>, cut?: 'cut' | 'stall'): void {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    let status = 200;
    const h: Record<string, string> = { ...headers, 'Accept-Ranges': 'bytes' };
    if (m && !this.ignoreRange) {
      start = Number(m[1]);
      if (start >= data.length) {
        res.writeHead(416, { ...h, 'Content-Range': `bytes */${data.length}` }).end();
        return;
      }
      status = 206;
      h['Content-Range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    }
    const body = data.subarray(start);
    res.writeHead(status, { ...h, 'Content-Length': String(body.length) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (cut === 'cut') {
      // Half the body, then the connection drops: the client sees a short, aborted response.
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    if (cut === 'stall') {
      // Half the body, then silence on an open connection: only a client timeout ends it.
      res.write(body.subarray(0, body.length >> 1));
      return;
    }
    res.end(body);
  }
}
