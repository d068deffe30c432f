// http.ts: `convbert serve`, an HTTP JSON API on Node's http module.
//   POST /v1/<task>  {"inputs": ..., "parameters": {...}} -> the pipeline's output (HF Inference API shapes)
//   GET  /health     {"status": "ok", task, ...} (503 {"status": "draining"} while shutting down)
//   GET  /metrics    Prometheus text (metrics.ts)
// Errors are JSON {error, code}: 400 bad JSON / inputs / a top_k or mask count over its
// limit, 404 unknown route, 405, 413 body too large or more work than the limits allow
// (rows, windows, candidates), 415 not JSON, 429 overloaded (the batcher's queue is full),
// 503 draining or timed out, 500 a bug. close() drains: in-flight requests finish while new
// ones get 503, then the listener and its sockets close and the task is disposed.
import * as http from 'http';
import { type AddressInfo } from 'net';
import { performance } from 'perf_hooks';

import { ConvBertError, argError } from '../errors';
import { EventLoopLag, ServerMetrics } from './metrics';
import { DEFAULT_REQUEST_LIMITS, RequestError, checkRequestBody } from './request';
import { type TaskHandler } from './tasks';

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
  /** Called with one line per lifecycle event (listening, draining, closed); default: nothing. */
  log?: (line: string) => void;
}

/** An error answered to the client. `code` is a ConvBertError code or one of the HTTP-level ones below. */
const HttpError = RequestError;

/** HTTP status for a library error code. */
export function statusForCode(code: string): number {
  switch (code) {
    case 'ERR_CONVBERT_ARG':
    case 'ERR_CONVBERT_SHAPE':
    case 'ERR_CONVBERT_DTYPE':
    case 'ERR_CONVBERT_TOKENIZER':
      return 400;
    case 'ERR_CONVBERT_LIMIT':
      return 413;
    case 'ERR_CONVBERT_OVERLOADED':
      return 429;
    case 'ERR_CONVBERT_TIMEOUT':
    case 'ERR_CONVBERT_DISPOSED':
      return 503;
    default:
      return 500;
  }
}

function checkPositiveInt(name: string, v: unknown, dflt: number, lo = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo) throw argError(`${name}: expected an integer >= ${lo}, got ${String(v)}`);
  return v;
}

export class ConvBertServer {
  readonly handler: TaskHandler;
  readonly metrics = new ServerMetrics();
  readonly #o: Required<Omit<ServerOptions, 'log'>> & { log: (line: string) => void };
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
        this.#o.log(`convbert serve: ${this.handler.task} on http://${a.address}:${a.port}/v1/${this.handler.task}`);
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
    this.#o.log(`convbert serve: draining (${this.#work} request(s) in flight)`);
    this.#closing = (async () => {
      if (this.#work > 0) {
        let timer: NodeJS.Timeout | null = null;
        await Promise.race([
          new Promise<void>((r) => this.#drained.push(r)),
          new Promise<void>((r) => (timer = setTimeout(r, this.#o.drainTimeoutMs))),
        ]);
        if (timer) clearTimeout(timer);
      }
      const closed = new Promise<void>((r) => this.#server.close(() => r()));
      this.#server.closeAllConnections();
      await closed;
      this.#lag.stop();
      await this.handler.dispose();
      this.#o.log('convbert serve: closed');
    })();
    return this.#closing;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    const url = (req.url ?? '/').split('?')[0];
    const route = url === '/health' || url === '/metrics' ? url : url.startsWith('/v1/') ? url : 'other';
    this.#inFlight++;
    res.on('close', () => {
      this.#inFlight--;
      // Unknown paths share one label so a scanner cannot grow the metrics without bound.
      const label = route === `/v1/${this.handler.task}` || route === '/health' || route === '/metrics' ? route : 'other';
      this.metrics.observe(label, res.statusCode, (performance.now() - t0) / 1000);
    });
    try {
      if (url === '/health') return this.#health(req, res);
      if (url === '/metrics') return this.#metrics(req, res);
      if (url.startsWith('/v1/')) return await this.#infer(req, res, url.slice(4));
      throw new HttpError(404, `no route ${url}; use POST /v1/${this.handler.task}, GET /health or GET /metrics`, 'ERR_CONVBERT_NOT_FOUND');
    } catch (e) {
      this.#error(res, e);
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
    const text = this.metrics.render(this.handler.stats(), { inFlightRequests: this.#inFlight - 1, draining: this.#draining, eventLoopLag: this.#lag.snapshot(), rssBytes: process.memoryUsage.rss() });
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async #infer(req: http.IncomingMessage, res: http.ServerResponse, task: string): Promise<void> {
    if (this.#draining) throw new HttpError(503, 'the server is shutting down; retry on another instance', 'ERR_CONVBERT_SHUTTING_DOWN');
    this.#work++;
    res.once('close', () => {
      this.#work--;
      if (this.#work === 0 && this.#drained.length > 0) for (const r of this.#drained.splice(0)) r();
    });
    if (task !== this.handler.task) {
      throw new HttpError(404, `this server runs task ${this.handler.task} (POST /v1/${this.handler.task}), not ${JSON.stringify(task)}`, 'ERR_CONVBERT_NOT_FOUND');
    }
    if (req.method !== 'POST') throw new HttpError(405, `/v1/${task} takes POST, got ${req.method}`, 'ERR_CONVBERT_METHOD');
    const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (ctype !== '' && ctype !== 'application/json') throw new HttpError(415, `expected content-type application/json, got ${ctype}`, 'ERR_CONVBERT_MEDIA_TYPE');
    const body = await this.#readBody(req);
    // A request that arrived before the drain began finishes; see close().
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`, 'ERR_CONVBERT_BAD_JSON');
    }
    const o = checkRequestBody(parsed, this.handler, { maxInputs: this.#o.maxInputs });
    // The client leaving cancels its queued rows (and drops running ones' results).
    const ac = new AbortController();
    const onGone = (): void => {
      if (!res.writableFinished) ac.abort(new ConvBertError('the client closed the connection', 'ERR_CONVBERT_ARG'));
    };
    res.on('close', onGone);
    try {
      const limits = { maxRows: this.#o.maxInputs, maxTopK: this.#o.maxTopK, maxMasks: this.#o.maxMasks, maxCandidates: this.#o.maxCandidates };
      const out = await this.handler.run(o.inputs, o.parameters, { signal: ac.signal, timeoutMs: this.#o.requestTimeoutMs, limits });
      if (ac.signal.aborted) return;
      this.#json(res, 200, out);
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

  #error(res: http.ServerResponse, e: unknown): void {
    let status: number;
    let code: string;
    let message: string;
    if (e instanceof HttpError) {
      ({ status, code, message } = e);
    } else if (e instanceof ConvBertError) {
      status = statusForCode(e.code);
      code = e.code;
      message = e.message;
      if (this.#draining && code === 'ERR_CONVBERT_OVERLOADED') status = 503;
    } else {
      status = 500;
      code = 'ERR_CONVBERT_INTERNAL';
      message = e instanceof Error ? e.message : String(e);
    }
    if (status === 500) this.#o.log(`convbert serve: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    this.#json(res, status, { error: message, code });
  }
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
