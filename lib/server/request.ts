// request.ts: the checks a request body passes before it reaches a task, shared by
// the HTTP server (POST /v1/<task>) and the queue worker (a BullMQ job's data is the
// same body), so both accept and refuse exactly the same inputs with the same codes.
// A body is {"inputs": ..., "parameters": {...}} (plus HF clients' ignored "options");
// its rows are counted against maxInputs before any work.
import { type TaskHandler } from './tasks';

/** What one request (an HTTP body or a queue job) may ask for; ServerOptions and the worker's limits take these. */
export interface RequestLimits {
  /** Largest body (a job's data as JSON), in bytes (default 1 MiB). */
  maxBodyBytes: number;
  /** Most model rows one request may make: inputs x candidate labels / choices, QA windows (default 64). */
  maxInputs: number;
  /** Largest top_k (default 100). */
  maxTopK: number;
  /** Most mask tokens per fill-mask input (default 32). */
  maxMasks: number;
  /** Most fill-mask candidates (masks x top_k over the inputs) per request (default 1024). */
  maxCandidates: number;
  /** Deadline for one request's rows in the batcher, ms (default 30000; 0 = none). */
  requestTimeoutMs: number;
}

/** The defaults of `convbert serve` and `convbert worker` (docs/security.md lists them with their flags). */
export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  maxBodyBytes: 1 << 20,
  maxInputs: 64,
  maxTopK: 100,
  maxMasks: 32,
  maxCandidates: 1024,
  requestTimeoutMs: 30_000,
});

/** A refused request: the HTTP status the server answers and a ConvBertError-style code. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** A checked body: inputs present (and not an empty list), rows within maxInputs. */
export interface RequestBody {
  inputs: unknown;
  parameters: unknown;
}

/** Where the row limit comes from, for the 413 message: "the server's limit of 64 (--max-inputs)". */
export interface RowLimit {
  maxInputs: number;
  /** Whose limit (default "the server's"). */
  owner?: string;
  /** The option that sets it (default --max-inputs). */
  flag?: string;
}

/**
 * Checks a parsed body's shape and counts its rows (handler.countInputs) against
 * maxInputs. Throws RequestError (400 ERR_CONVBERT_ARG, 413 ERR_CONVBERT_TOO_MANY_INPUTS)
 * or the handler's ConvBertError.
 */
export function checkRequestBody(parsed: unknown, handler: TaskHandler, limit: RowLimit): RequestBody {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RequestError(
      400,
      `request body: expected an object {"inputs": ..., "parameters": {...}}, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`,
      'ERR_CONVBERT_ARG',
    );
  }
  const o = parsed as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    // HF clients send "options" (use_cache, wait_for_model); they do not apply to a local server.
    if (k !== 'inputs' && k !== 'parameters' && k !== 'options') throw new RequestError(400, `request body: unknown field '${k}'; expected inputs, parameters`, 'ERR_CONVBERT_ARG');
  }
  if (o.inputs === undefined) throw new RequestError(400, 'request body: "inputs" is required', 'ERR_CONVBERT_ARG');
  if (Array.isArray(o.inputs) && o.inputs.length === 0) throw new RequestError(400, 'inputs: expected at least one input, got an empty array', 'ERR_CONVBERT_ARG');
  const n = handler.countInputs(o.inputs, o.parameters);
  if (n > limit.maxInputs) {
    throw new RequestError(
      413,
      `inputs: this request makes ${n} rows, more than ${limit.owner ?? "the server's"} limit of ${limit.maxInputs} (${limit.flag ?? '--max-inputs'})`,
      'ERR_CONVBERT_TOO_MANY_INPUTS',
    );
  }
  return { inputs: o.inputs, parameters: o.parameters };
}

/**
 * HTTP status for a library error code: bad input is `invalidInput` (400 on the /v1/<task>
 * routes and the queue, 422 on text-embeddings-inference's), limits 413, overload 429.
 */
export function statusForCode(code: string, invalidInput = 400): number {
  switch (code) {
    case 'ERR_CONVBERT_ARG':
    case 'ERR_CONVBERT_SHAPE':
    case 'ERR_CONVBERT_DTYPE':
    case 'ERR_CONVBERT_TOKENIZER':
      return invalidInput;
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
