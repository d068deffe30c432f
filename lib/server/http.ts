// http.ts: `convbert serve`, an HTTP JSON API on Node's http module.
//   POST /v1/<task>  {"inputs": ..., "parameters": {...}} -> the pipeline's output (HF Inference API shapes)
//   POST /           the same for the served task as HF Inference Endpoints answer it (endpoint.ts); feature-extraction: as /embed
//   POST /v1/embeddings, /embed, /embed_all, /predict, /rerank, /tokenize, /decode, GET /info:
//                    OpenAI's and text-embeddings-inference's routes (tei.ts)
//   GET  /health     {"status": "ok", task, ...} (503 {"status": "draining"} while shutting down)
//   GET  /metrics    Prometheus text (metrics.ts)
// Errors on /v1/<task> are JSON {error, code}: 400 bad JSON / inputs / a top_k or
// mask count over its limit, 404 unknown route, 405, 413 body too large or more work than the
// limits allow (rows, windows, candidates), 415 not JSON, 429 overloaded (the batcher's queue
// is full), 503 draining or timed out, 500 a bug. The TEI routes answer TEI's {error,
// error_type} with TEI's statuses (413 too long / too many, 422 invalid fields, 400 empty),
// /v1/embeddings OpenAI's {error: {message, type, code}}. With an API key every route but
// /health wants `Authorization: Bearer <key>` (401). Every answer carries x-request-id; one
// access line per request goes to the log at level info. close() drains: in-flight requests
// finish while new ones get 503, then the listener and its sockets close and the task is disposed.
import { createHash, randomUUID, timingSafeEqual } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
/** Where a server listens (net.AddressInfo's fields; declared here so the public types need no @types/node). */
export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}
import { performance } from 'perf_hooks';

import { ConvBertError, argError } from '../errors';
import { EventLoopLag, ServerMetrics } from './metrics';
import { DEFAULT_REQUEST_LIMITS, RequestError, checkRequestBody, statusForCode } from './request';
import { endpointAnswer, endpointEmbedBody, endpointParameters } from './endpoint';
import { type TaskHandler } from './tasks';
import { TeiRoutes, teiErrorType, teiStatus, type EmbedPooling } from './tei';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';
const LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];

export interface ServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** Largest request body in bytes (default 1 MiB); larger gets 413. */
  maxBodyBytes?: number;
  /**
   * Most model rows one request may make (default 64): inputs, x candidate labels, choices,
   * question-answering windows. More gets 413.
   */
  maxInputs?: number;
  /** Largest top_k (fill-mask, question-answering; default 100); larger gets 400. */
  maxTopK?: number;
  /** Most mask tokens in one fill-mask input (default 32); more gets 400. */
  maxMasks?: number;
  /** Most fill-mask candidates (masks x top_k over the inputs) one request may ask for (default 1024); more gets 413. */
  maxCandidates?: number;
  /** Deadline for one request's rows in the batcher, ms (default 30000; 0 = none). Passed it: 503. */
  requestTimeoutMs?: number;
  /** How long close() waits for in-flight requests before cutting them, ms (default 30000). */
  drainTimeoutMs?: number;
  /** Called with one line per lifecycle event (listening, draining, closed) and access line; default: nothing. */
  log?: (line: string) => void;
  /**
   * Lines given to `log`: error (internal errors), warn (also access lines of 5xx, 429 and
   * aborted requests), info (lifecycle and every access line; default), debug, silent.
   */
  logLevel?: LogLevel;
  /** Requests must send `Authorization: Bearer <apiKey>` (else 401); /health stays open. Default: no key. */
  apiKey?: string;
  /** Origins allowed to call from a browser (CORS), or ['*']; default none (no CORS headers). */
  corsOrigins?: readonly string[];
  /** Pooled embeddings of the TEI and OpenAI routes: 'mean' (default) or 'cls'. */
  pooling?: EmbedPooling;
  /** L2-normalise pooled embeddings (default true; /embed's `normalize` overrides per request). */
  normalize?: boolean;
  /** The model's name in /info and OpenAI answers (default 'convbert'). */
  modelId?: string;
  /** The weights' dtype reported by /info (default: the model's). */
  dtype?: string;
}

/** An error answered to the client. `code` is a ConvBertError code or one of the HTTP-level ones below. */
const HttpError = RequestError;

export { statusForCode };

function checkPositiveInt(name: string, v: unknown, dflt: number, lo = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo) throw argError(`${name}: expected an integer >= ${lo}, got ${String(v)}`);
  return v;
}

export class ConvBertServer {
  readonly handler: TaskHandler;
  readonly metrics = new ServerMetrics();
  readonly #o: Required<Omit<ServerOptions, 'log' | 'logLevel' | 'apiKey' | 'corsOrigins' | 'pooling' | 'normalize' | 'modelId' | 'dtype'>> & { log: (line: string) => void };
  readonly #level: number;
  /** sha256 of the API key: compared in constant time against the sent key's digest. */
  readonly #keyDigest: Buffer | null;
  readonly #cors: ReadonlySet<string>;
  readonly #tei: TeiRoutes | null;
  readonly #dtype: string | undefined;
  readonly #server: http.Server;
  #inFlight = 0;
  /** Inference requests admitted before the drain began and not yet answered. */
  #work = 0;
  #draining = false;
  #closing: Promise<void> | null = null;
  #drained: (() => void)[] = [];
  /** Event-loop delay while listening (10 ms sampling), for /metrics. */
  readonly #lag = new EventLoopLag(10);

  constructor(handler: TaskHandler, options: ServerOptions = {}) {
    if (!handler || typeof handler.run !== 'function') throw argError('ConvBertServer: handler must be a TaskHandler (see loadTask)');
    this.handler = handler;
    this.#o = {
      host: options.host ?? '127.0.0.1',
      port: checkPositiveInt('port', options.port, 8080, 0),
      maxBodyBytes: checkPositiveInt('maxBodyBytes', options.maxBodyBytes, DEFAULT_REQUEST_LIMITS.maxBodyBytes),
      maxInputs: checkPositiveInt('maxInputs', options.maxInputs, DEFAULT_REQUEST_LIMITS.maxInputs),
      maxTopK: checkPositiveInt('maxTopK', options.maxTopK, DEFAULT_REQUEST_LIMITS.maxTopK),
      maxMasks: checkPositiveInt('maxMasks', options.maxMasks, DEFAULT_REQUEST_LIMITS.maxMasks),
      maxCandidates: checkPositiveInt('maxCandidates', options.maxCandidates, DEFAULT_REQUEST_LIMITS.maxCandidates),
      requestTimeoutMs: checkPositiveInt('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_REQUEST_LIMITS.requestTimeoutMs, 0),
      drainTimeoutMs: checkPositiveInt('drainTimeoutMs', options.drainTimeoutMs, 30_000, 0),
      log: options.log ?? (() => {}),
    };
    if (this.#o.port > 65535) throw argError(`port: expected an integer in [0, 65535], got ${this.#o.port}`);
    const level = options.logLevel ?? 'info';
    if (!LEVELS.includes(level)) throw argError(`logLevel: expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
    this.#level = LEVELS.indexOf(level);
    if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey.length === 0)) throw argError('apiKey: expected a non-empty string');
    this.#keyDigest = options.apiKey ? createHash('sha256').update(options.apiKey).digest() : null;
    const cors = options.corsOrigins ?? [];
    if (!Array.isArray(cors) || cors.some((o) => typeof o !== 'string' || !(o === '*' || /^https?:\/\/[^/\s]+$/.test(o)))) {
      throw argError(`corsOrigins: expected origins like https://app.example.com or '*', got ${JSON.stringify(cors)}`);
    }
    this.#cors = new Set(cors);
    if (options.pooling !== undefined && options.pooling !== 'mean' && options.pooling !== 'cls')
      throw argError(`pooling: expected 'mean' or 'cls', got ${JSON.stringify(options.pooling)}`);
    if (options.normalize !== undefined && typeof options.normalize !== 'boolean') throw argError(`normalize: expected a boolean, got ${typeof options.normalize}`);
    this.#dtype = options.dtype;
    this.#tei = handler.pipeline ? new TeiRoutes(handler.pipeline, { pooling: options.pooling, normalize: options.normalize, modelId: options.modelId ?? 'convbert' }) : null;
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    // A slow client cannot hold a socket forever.
    this.#server.headersTimeout = 20_000;
    this.#server.requestTimeout = 120_000;
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Starts listening; resolves with the bound address (use port 0 for a free port). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onErr = (e: Error): void => reject(new ConvBertError(`serve: cannot listen on ${this.#o.host}:${this.#o.port}: ${e.message}`, 'ERR_CONVBERT_IO', { cause: e }));
      this.#server.once('error', onErr);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', onErr);
        const a = this.#server.address() as AddressInfo;
        this.#lag.start();
        this.#logAt('info', `convbert serve: ${this.handler.task} on http://${a.address}:${a.port}/v1/${this.handler.task}`);
        resolve(a);
      });
    });
  }

  get address(): AddressInfo | null {
    return (this.#server.address() as AddressInfo | null) ?? null;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Graceful shutdown: every new request (on new or open connections) gets 503 and
   * /health says draining, so a load balancer moves traffic away; inference requests
   * that arrived before keep running (up to drainTimeoutMs). Then the listener
   * closes, the remaining connections close, and the task is disposed.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#draining = true;
    this.#logAt('info', `convbert serve: draining (${this.#work} request(s) in flight)`);
    this.#closing = (async () => {
      if (this.#work > 0) {
        let timer: NodeJS.Timeout | null = null;
        await Promise.race([new Promise<void>((r) => this.#drained.push(r)), new Promise<void>((r) => (timer = setTimeout(r, this.#o.drainTimeoutMs)))]);
        if (timer) clearTimeout(timer);
      }
      const closed = new Promise<void>((r) => this.#server.close(() => r()));
      this.#server.closeAllConnections();
      await closed;
      this.#lag.stop();
      await this.handler.dispose();
      this.#logAt('info', 'convbert serve: closed');
    })();
    return this.#closing;
  }

  #logAt(level: Exclude<LogLevel, 'silent'>, line: string): void {
    if (LEVELS.indexOf(level) <= this.#level) this.#o.log(line);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    const url = (req.url ?? '/').split('?')[0];
    const route = url === '/health' || url === '/metrics' ? url : url.startsWith('/v1/') ? url : 'other';
    const family: Family = url === '/v1/embeddings' ? 'openai' : TEI_ROUTES.has(url) || (url === '/' && this.handler.task === 'feature-extraction') ? 'tei' : 'legacy';
    // The client's id when it is a sane token (no spaces or control characters to forge log lines), else a new one.
    const sent = req.headers['x-request-id'];
    const id = typeof sent === 'string' && /^[\w.:@+=/-]{1,128}$/.test(sent) ? sent : randomUUID();
    res.setHeader('x-request-id', id);
    this.#inFlight++;
    res.on('close', () => {
      this.#inFlight--;
      const seconds = (performance.now() - t0) / 1000;
      // Unknown paths share one label so a scanner cannot grow the metrics without bound.
      const label =
        route === `/v1/${this.handler.task}` || route === '/health' || route === '/metrics' || KNOWN_LABELS.has(url)
          ? url === '/'
            ? '/'
            : route === 'other'
              ? url
              : route
          : 'other';
      this.metrics.observe(label, res.statusCode, seconds);
      // Failures the operator should see (5xx, 429, a client gone mid-request) log at warn, the rest at info.
      const failed = !res.writableFinished || res.statusCode >= 500 || res.statusCode === 429;
      this.#logAt(
        failed ? 'warn' : 'info',
        `convbert serve: ${req.method} ${label === 'other' ? '(other)' : url} ${res.writableFinished ? res.statusCode : 'aborted'} ${(seconds * 1000).toFixed(1)} ms id=${id}`,
      );
    });
    try {
      if (this.#corsHeaders(req, res) && req.method === 'OPTIONS') {
        res.writeHead(204, { 'content-length': 0 });
        res.end();
        return;
      }
      if (url !== '/health') this.#authorize(req);
      if (url === '/health') return this.#health(req, res);
      if (url === '/metrics') return this.#metrics(req, res);
      if (url === '/info') return this.#info(req, res);
      if (family !== 'legacy') return await this.#teiRoute(req, res, url);
      if (url === '/') return await this.#infer(req, res, this.handler.task);
      if (url.startsWith('/v1/')) return await this.#infer(req, res, url.slice(4));
      throw new HttpError(404, `no route ${url}; use POST /v1/${this.handler.task}, GET /health or GET /metrics`, 'ERR_CONVBERT_NOT_FOUND');
    } catch (e) {
      this.#error(res, e, family);
    }
  }

  /** CORS headers for an allowed Origin; true when the request is one (its preflight is answered 204). */
  #corsHeaders(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const origin = req.headers.origin;
    if (this.#cors.size === 0 || typeof origin !== 'string') return false;
    if (this.#cors.has('*')) res.setHeader('access-control-allow-origin', '*');
    else if (this.#cors.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
    } else return false;
    res.setHeader('access-control-expose-headers', 'x-request-id');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'authorization, content-type, x-request-id');
      res.setHeader('access-control-max-age', '600');
    }
    return true;
  }

  /** With an API key: `Authorization: Bearer <key>`, compared in constant time (digests of equal length), else 401. */
  #authorize(req: http.IncomingMessage): void {
    if (!this.#keyDigest) return;
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
    const got = createHash('sha256')
      .update(m ? m[1] : '')
      .digest();
    if (!m || !timingSafeEqual(got, this.#keyDigest)) {
      throw new HttpError(401, m ? 'the API key is not valid' : 'this server wants an API key: send Authorization: Bearer <key>', 'ERR_CONVBERT_UNAUTHORIZED');
    }
  }

  #info(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET') throw new HttpError(405, `/info takes GET, got ${req.method}`, 'ERR_CONVBERT_METHOD');
    const b = this.handler.batching;
    const base = { model_id: this.#tei?.modelId ?? 'convbert', task: this.handler.task, version: packageVersion() };
    if (!this.#tei) return this.#json(res, 200, base);
    const dtype = this.#dtype ?? String((this.#tei.model as { dtype?: unknown }).dtype ?? 'float32');
    const info = this.#tei.info({
      version: base.version,
      dtype,
      maxBatchTokens: b ? (b.maxTokens ?? null) : null,
      maxBatchRequests: b ? (b.maxBatchSize ?? null) : null,
      maxClientBatchSize: this.#o.maxInputs,
    });
    this.#json(res, 200, { ...(info as object), task: this.handler.task });
  }

  /** Admits an inference request: refused while draining; counted until its response closes so close() waits for it. */
  #admit(res: http.ServerResponse): void {
    if (this.#draining) throw new HttpError(503, 'the server is shutting down; retry on another instance', 'ERR_CONVBERT_SHUTTING_DOWN');
    this.#work++;
    res.once('close', () => {
      this.#work--;
      if (this.#work === 0 && this.#drained.length > 0) for (const r of this.#drained.splice(0)) r();
    });
  }

  /** Method, content type and body of a POST: the parsed JSON. */
  async #body(req: http.IncomingMessage, path: string): Promise<unknown> {
    if (req.method !== 'POST') throw new HttpError(405, `${path} takes POST, got ${req.method}`, 'ERR_CONVBERT_METHOD');
    const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (ctype !== '' && ctype !== 'application/json') throw new HttpError(415, `expected content-type application/json, got ${ctype}`, 'ERR_CONVBERT_MEDIA_TYPE');
    const body = await this.#readBody(req);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`, 'ERR_CONVBERT_BAD_JSON');
    }
  }

  /** The OpenAI and TEI routes (and POST / of a feature-extraction server, answered as /embed). */
  async #teiRoute(req: http.IncomingMessage, res: http.ServerResponse, url: string): Promise<void> {
    const tei = this.#tei;
    if (!tei) throw new HttpError(404, `${url} needs a server built by loadTask (a pipeline); this handler has none`, 'ERR_CONVBERT_NOT_FOUND');
    this.#admit(res);
    let body = await this.#body(req, url);
    const ac = new AbortController();
    const onGone = (): void => {
      if (!res.writableFinished) ac.abort(new ConvBertError('the client closed the connection', 'ERR_CONVBERT_ARG'));
    };
    res.on('close', onGone);
    try {
      const ctx = { signal: ac.signal, timeoutMs: this.#o.requestTimeoutMs, limits: { maxRows: this.#o.maxInputs } };
      let out: unknown;
      switch (url) {
        case '/v1/embeddings':
          out = await tei.openaiEmbeddings(body, ctx);
          break;
        case '/':
          body = endpointEmbedBody(body);
          out = await tei.embed(body, ctx);
          break;
        case '/embed':
          out = await tei.embed(body, ctx);
          break;
        case '/embed_all':
          out = await tei.embedAll(body, ctx);
          break;
        case '/predict':
          out = await tei.predict(body, ctx);
          break;
        case '/rerank':
          out = await tei.rerank(body, ctx);
          break;
        case '/tokenize':
          out = tei.tokenize(body, ctx);
          break;
        default:
          out = tei.decode(body, ctx);
      }
      if (ac.signal.aborted) return;
      this.#json(res, 200, out);
    } finally {
      res.off('close', onGone);
    }
  }

  #health(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `/health takes GET, got ${req.method}`, 'ERR_CONVBERT_METHOD');
    const s = this.handler.stats();
    const body = { status: this.#draining ? 'draining' : 'ok', task: this.handler.task, inFlight: this.#inFlight - 1, queueDepth: s ? s.queueDepth : 0 };
    this.#json(res, this.#draining ? 503 : 200, body);
  }

  #metrics(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET') throw new HttpError(405, `/metrics takes GET, got ${req.method}`, 'ERR_CONVBERT_METHOD');
    // This scrape is in flight too; it is not counted.
    const text = this.metrics.render(this.handler.stats(), {
      inFlightRequests: this.#inFlight - 1,
      draining: this.#draining,
      eventLoopLag: this.#lag.snapshot(),
      rssBytes: process.memoryUsage.rss(),
    });
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async #infer(req: http.IncomingMessage, res: http.ServerResponse, task: string): Promise<void> {
    this.#admit(res);
    if (task !== this.handler.task) {
      throw new HttpError(404, `this server runs task ${this.handler.task} (POST /v1/${this.handler.task}), not ${JSON.stringify(task)}`, 'ERR_CONVBERT_NOT_FOUND');
    }
    // A request that arrived before the drain began finishes; see close().
    const root = req.url?.split('?')[0] === '/';
    const parsed = await this.#body(req, root ? '/' : `/v1/${task}`);
    const o = checkRequestBody(parsed, this.handler, { maxInputs: this.#o.maxInputs });
    // POST / speaks Inference Endpoints' defaults and answer shapes (endpoint.ts).
    const parameters = root ? endpointParameters(task, o.parameters) : o.parameters;
    // The client leaving cancels its queued rows (and drops running ones' results).
    const ac = new AbortController();
    const onGone = (): void => {
      if (!res.writableFinished) ac.abort(new ConvBertError('the client closed the connection', 'ERR_CONVBERT_ARG'));
    };
    res.on('close', onGone);
    try {
      const limits = { maxRows: this.#o.maxInputs, maxTopK: this.#o.maxTopK, maxMasks: this.#o.maxMasks, maxCandidates: this.#o.maxCandidates };
      const out = await this.handler.run(o.inputs, parameters, { signal: ac.signal, timeoutMs: this.#o.requestTimeoutMs, limits });
      if (ac.signal.aborted) return;
      this.#json(res, 200, root ? endpointAnswer(task, o.inputs, out) : out);
    } finally {
      res.off('close', onGone);
    }
  }

  #readBody(req: http.IncomingMessage): Promise<Buffer> {
    const limit = this.#o.maxBodyBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return Promise.reject(new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes (--max-body)`, 'ERR_CONVBERT_TOO_LARGE'));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        if (over) return;
        size += c.length;
        if (size > limit) {
          over = true;
          chunks.length = 0;
          reject(new HttpError(413, `request body exceeds the limit of ${limit} bytes (--max-body)`, 'ERR_CONVBERT_TOO_LARGE'));
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(chunks));
      });
      req.on('error', (e) => reject(new HttpError(400, `reading the request failed: ${e.message}`, 'ERR_CONVBERT_ARG')));
      // A client that leaves mid-body: settle, so the request does not hang.
      req.on('close', () => {
        if (!req.complete && !over) reject(new HttpError(400, 'the client closed the connection before the body ended', 'ERR_CONVBERT_ARG'));
      });
    });
  }

  #json(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
    if (this.#draining) headers.connection = 'close';
    if (status === 429) headers['retry-after'] = '1';
    res.writeHead(status, headers);
    res.end(text);
  }

  #error(res: http.ServerResponse, e: unknown, family: Family): void {
    let status: number;
    let code: string;
    let message: string;
    if (e instanceof HttpError) {
      ({ status, code, message } = e);
    } else if (e instanceof ConvBertError) {
      status = family === 'legacy' ? statusForCode(e.code) : teiStatus(e);
      code = e.code;
      message = e.message;
      if (this.#draining && code === 'ERR_CONVBERT_OVERLOADED') status = 503;
    } else {
      status = 500;
      code = 'ERR_CONVBERT_INTERNAL';
      message = e instanceof Error ? e.message : String(e);
    }
    if (status === 500)
      this.#logAt('error', `convbert serve: internal error (id=${String(res.getHeader('x-request-id'))}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    if (status === 401) res.setHeader('www-authenticate', 'Bearer');
    const errorType = teiErrorType(status, code);
    if (family === 'tei') this.#json(res, status, { error: message, error_type: errorType });
    else if (family === 'openai') this.#json(res, status, { error: { message, type: openaiType(status), param: null, code } });
    else this.#json(res, status, { error: message, code });
  }
}

/** Which error JSON a route answers: ours ({error, code}), TEI's ({error, error_type}) or OpenAI's ({error: {...}}). */
type Family = 'legacy' | 'tei' | 'openai';

const TEI_ROUTES: ReadonlySet<string> = new Set(['/embed', '/embed_all', '/predict', '/rerank', '/tokenize', '/decode']);
/** Paths with their own metrics label (the rest share 'other'). */
const KNOWN_LABELS: ReadonlySet<string> = new Set([...TEI_ROUTES, '/v1/embeddings', '/info', '/']);

/** OpenAI's error `type` for a status. */
function openaiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

let version: string | null = null;
/** This package's version (GET /info). */
function packageVersion(): string {
  if (version === null) {
    try {
      version = String((JSON.parse(fs.readFileSync(require.resolve('../../package.json'), 'utf8')) as { version?: string }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

export interface ServeOptions extends ServerOptions {
  /** Close gracefully on SIGTERM and SIGINT, then exit(0) (default true). */
  handleSignals?: boolean;
}

/** Builds the server around a loaded task and listens; SIGTERM/SIGINT drain and exit when handleSignals. */
export async function serve(handler: TaskHandler, options: ServeOptions = {}): Promise<ConvBertServer> {
  const server = new ConvBertServer(handler, options);
  await server.listen();
  if (options.handleSignals ?? true) {
    const onSignal = (sig: NodeJS.Signals): void => {
      options.log?.(`convbert serve: ${sig}`);
      server.close().then(
        () => process.exit(0),
        (e: unknown) => {
          options.log?.(`convbert serve: shutdown failed: ${String(e)}`);
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return server;
}
