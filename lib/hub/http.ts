// http.ts: one HTTP(S) request with Node's http/https, redirect following with
// huggingface_hub's rules, and the mapping of Hub answers to ConvBertErrors.
// Redirects: the metadata HEAD follows only those that stay on the original
// origin (a renamed repo) and reports any other (the LFS CDN) as the download
// location; a GET follows any. "Same origin" is decided on the parsed URL, never
// on the Location text (`/\host`, `/<TAB>/host` are other hosts), and credentials
// go only to the original request's origin, on every hop.
import * as http from 'http';
import * as https from 'https';

import { ConvBertError } from '../errors';

const MAX_REDIRECTS = 10;

/**
 * A failure worth retrying: connection errors, cut transfers, 5xx and 429 answers. `unreachable`
 * marks a host that could not be reached at all (refused, no DNS, no route): usually a machine
 * offline, so it is retried once only and the cache answers quickly where it can.
 */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
    readonly unreachable = false,
  ) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN']);

export interface RequestContext {
  repoId: string;
  file: string;
  revision: string;
  tokenSent: boolean;
}

function userAgent(): string {
  return `convbert; node/${process.versions.node}`;
}

/** Sends one request and resolves with the response head; the body is left to the caller. */
export function send(method: 'HEAD' | 'GET', url: URL, headers: Record<string, string>, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!mod) {
      reject(new ConvBertError(`redirect to ${url.href}: only http and https URLs can be downloaded`, 'ERR_CONVBERT_HUB_NETWORK'));
      return;
    }
    const req = mod.request(url, { method, headers: { 'User-Agent': userAgent(), ...headers } });
    // An idle socket (no byte in timeoutMs), during connect or mid-body, fails the attempt.
    req.setTimeout(timeoutMs, () => {
      req.destroy(new RetryableError(`${method} ${url.href}: no data for ${timeoutMs} ms`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof ConvBertError || e instanceof RetryableError) reject(e);
      else reject(new RetryableError(`${method} ${url.href}: ${e.message}`, undefined, { cause: e }, UNREACHABLE.has(e.code ?? '')));
    });
    req.on('response', (res) => resolve(res));
    req.end();
  });
}

export function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** `W/"abc"` or `"abc"` -> `abc` (huggingface_hub's _normalize_etag). */
export function normalizeEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  return etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"+|"+$/g, '');
}

/** Scheme, host name and port all equal (URL already lowercases the host and drops a default port). */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

// Request headers that carry credentials: they never leave the origin they were meant for.
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * The headers and URL for one hop: unchanged on the credentials' origin; elsewhere without
 * credential headers and without user:password in the URL (Node would send those as Basic auth).
 */
function forHop(url: URL, headers: Record<string, string>, withCredentials: boolean): { url: URL; headers: Record<string, string> } {
  if (withCredentials) return { url, headers };
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!CREDENTIAL_HEADERS.has(k.toLowerCase())) h[k] = v;
  let u = url;
  if (u.username !== '' || u.password !== '') {
    u = new URL(url.href);
    u.username = '';
    u.password = '';
  }
  return { url: u, headers: h };
}

/** The Hub's answer as an error: 401/403 auth, 404 not found, 5xx/429 retryable, the rest a network error. */
export function httpError(res: http.IncomingMessage, url: URL, ctx: RequestContext): Error {
  const status = res.statusCode ?? 0;
  const hubCode = header(res, 'x-error-code');
  const hubMsg = header(res, 'x-error-message');
  const detail = hubMsg ? ` (${hubMsg})` : hubCode ? ` (${hubCode})` : '';
  const what = `${ctx.repoId}/${ctx.file} at revision ${JSON.stringify(ctx.revision)}`;
  if (status === 401 || status === 403) {
    const hint =
      hubCode === 'GatedRepo'
        ? 'the repo is gated: accept its conditions on the Hub, then set HF_TOKEN to a token of that account'
        : ctx.tokenSent
          ? 'the token sent (HF_TOKEN or options.token) has no access to it, or the repo does not exist'
          : 'the repo is private or gated, or does not exist: set HF_TOKEN (or options.token) to a token with access';
    return new ConvBertError(`${what}: the Hub answered ${status}${detail}; ${hint}`, 'ERR_CONVBERT_HUB_AUTH');
  }
  if (status === 404) {
    const which =
      hubCode === 'RepoNotFound'
        ? `repo ${JSON.stringify(ctx.repoId)} not found`
        : hubCode === 'RevisionNotFound'
          ? `revision ${JSON.stringify(ctx.revision)} not found in ${ctx.repoId}`
          : `file ${JSON.stringify(ctx.file)} not found`;
    return new ConvBertError(`${what}: ${which} (HTTP 404 from ${url.origin})${detail}`, 'ERR_CONVBERT_HUB_NOT_FOUND');
  }
  if (status >= 500 || status === 429 || status === 408) {
    return new RetryableError(`${what}: the server answered ${status}${detail} for ${url.href}`, status);
  }
  return new ConvBertError(`${what}: unexpected HTTP ${status}${detail} from ${url.href}`, 'ERR_CONVBERT_HUB_NETWORK');
}

export interface MetadataResponse {
  res: http.IncomingMessage;
  /** The URL whose answer `res` is (after relative redirects). */
  url: URL;
  /** Where to GET the content: an absolute redirect's target, else `url`. */
  location: URL;
}

/**
 * HEAD for file metadata, following only redirects that stay on `url`'s origin (huggingface_hub's
 * relative redirects, decided on the resolved URL). A redirect that already carries the Hub's file
 * headers (X-Repo-Commit and an etag) is the LFS redirect: its answer is the metadata and its target
 * the download location, on this host or another. Credentials are sent to `url`'s origin only.
 */
export async function headMetadata(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<MetadataResponse> {
  let cur = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const h = forHop(cur, headers, sameOrigin(cur, url));
    const res = await send('HEAD', h.url, { ...h.headers, 'Accept-Encoding': 'identity' }, timeoutMs);
    res.resume();
    const status = res.statusCode ?? 0;
    const loc = header(res, 'location');
    if (status >= 300 && status < 400 && loc !== undefined) {
      let target: URL;
      try {
        target = new URL(loc, cur);
      } catch {
        throw new ConvBertError(`HEAD ${cur.href}: redirect to an invalid URL ${JSON.stringify(loc)}`, 'ERR_CONVBERT_HUB_NETWORK');
      }
      const carriesMetadata = header(res, 'x-repo-commit') !== undefined && (header(res, 'x-linked-etag') ?? header(res, 'etag')) !== undefined;
      if (sameOrigin(target, url) && !carriesMetadata) {
        cur = target;
        continue;
      }
      return { res, url: cur, location: target };
    }
    return { res, url: cur, location: cur };
  }
  throw new ConvBertError(`HEAD ${url.href}: more than ${MAX_REDIRECTS} redirects`, 'ERR_CONVBERT_HUB_NETWORK');
}

/**
 * GET following redirects (relative or absolute, to any host). Credentials (Authorization, cookies,
 * user:password) go only to `authOrigin`, the origin they were meant for; every other header (Range
 * included) travels along.
 */
export async function getFollowing(url: URL, headers: Record<string, string>, authOrigin: URL, timeoutMs: number): Promise<{ res: http.IncomingMessage; url: URL }> {
  let cur = url;
  // Once dropped (a hop off authOrigin), the token stays dropped, as in requests' rebuild_auth:
  // a host that redirects back must not be able to bounce the token through itself.
  let withAuth = sameOrigin(cur, authOrigin);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const h = forHop(cur, headers, withAuth);
    const res = await send('GET', h.url, { ...h.headers, 'Accept-Encoding': 'identity' }, timeoutMs);
    const status = res.statusCode ?? 0;
    const loc = header(res, 'location');
    if (status >= 300 && status < 400 && loc !== undefined) {
      res.resume();
      let next: URL;
      try {
        next = new URL(loc, cur);
      } catch {
        throw new ConvBertError(`GET ${cur.href}: redirect to an invalid URL ${JSON.stringify(loc)}`, 'ERR_CONVBERT_HUB_NETWORK');
      }
      withAuth = withAuth && sameOrigin(next, authOrigin);
      cur = next;
      continue;
    }
    return { res, url: cur };
  }
  throw new ConvBertError(`GET ${url.href}: more than ${MAX_REDIRECTS} redirects`, 'ERR_CONVBERT_HUB_NETWORK');
}

/** The Hub's resolve URL: {endpoint}/{repo}/resolve/{revision}/{file}, revision fully encoded, file per segment. */
export function resolveUrl(endpoint: string, repoId: string, revision: string, file: string): URL {
  const f = file.split('/').map(encodeURIComponent).join('/');
  return new URL(`${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${f}`);
}
