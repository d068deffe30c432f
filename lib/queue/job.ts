// job.ts: one queue job, end to end, without bullmq: the job's data is the JSON body of
// POST /v1/<task> and its name the task; it passes the server's checks (request.ts)
// and limits and runs through the task handler (and so the dynamic batcher), and its
// result is the route's JSON response. A failure becomes a reason string
// "<code>: <message>" (the code the server puts in its JSON error) and a verdict: what
// the server answers with a 4xx other than 429 is the input's fault and is not retried.
import { ConvBertError } from '../errors';
import { type PipelineLimits } from '../pipelines';
import { statusForCode } from '../server/http';
import { DEFAULT_REQUEST_LIMITS, RequestError, checkRequestBody, type RequestLimits } from '../server/request';
import { canonicalTask, type TaskHandler } from '../server/tasks';

/** Per-job limits: the HTTP server's request limits, with the same defaults (lib/server/request.ts). */
export type JobLimits = RequestLimits;
export const DEFAULT_JOB_LIMITS: Readonly<JobLimits> = DEFAULT_REQUEST_LIMITS;

/** Why a job failed, and whether another attempt could succeed. */
export interface JobFailure {
  code: string;
  message: string;
  /** True for bad input (the server's 400/404/413...): retrying cannot help. */
  permanent: boolean;
}

/** "<code>: <message>", what a failed job's failedReason holds. */
export function failureReason(f: Pick<JobFailure, 'code' | 'message'>): string {
  return `${f.code}: ${f.message}`;
}

/** Splits a failedReason back into code and message; reasons from elsewhere get ERR_CONVBERT_QUEUE. */
export function parseFailureReason(reason: string | undefined | null): { code: string; message: string } {
  const m = /^(ERR_[A-Z0-9_]+): ([\s\S]*)$/.exec(reason ?? '');
  if (m) return { code: m[1], message: m[2] };
  return { code: 'ERR_CONVBERT_QUEUE', message: reason && reason.length > 0 ? reason : 'the job failed without a reason' };
}

/** Classifies an error thrown while running a job. */
export function classifyFailure(e: unknown): JobFailure {
  let status: number;
  let code: string;
  let message: string;
  if (e instanceof RequestError) {
    ({ status, code, message } = e);
  } else if (e instanceof ConvBertError) {
    status = statusForCode(e.code);
    code = e.code;
    message = e.message;
  } else {
    status = 500;
    code = 'ERR_CONVBERT_INTERNAL';
    message = e instanceof Error ? e.message : String(e);
  }
  // 429 (the batcher's queue full) is load, not input: another attempt later succeeds.
  return { code, message, permanent: status >= 400 && status < 500 && status !== 429 };
}

/**
 * Runs one job's data on the handler. `name` is the job's name, which must be the
 * handler's task or one of its aliases (a job meant for another task is refused rather
 * than answered with another task's output). Throws RequestError/ConvBertError.
 */
export async function runJob(handler: TaskHandler, name: string, data: unknown, limits: JobLimits): Promise<unknown> {
  let task: string | null = null;
  try {
    task = canonicalTask(name);
  } catch {
    task = null;
  }
  if (task !== handler.task) {
    throw new RequestError(
      404,
      `job name: this worker runs task ${handler.task}, so a job's name must be ${JSON.stringify(handler.task)}, got ${JSON.stringify(name)}`,
      'ERR_CONVBERT_NOT_FOUND',
    );
  }
  // bullmq has already parsed the data; its size as JSON is what the server would have read.
  const size = Buffer.byteLength(JSON.stringify(data) ?? '');
  if (size > limits.maxBodyBytes) {
    throw new RequestError(413, `job data of ${size} bytes exceeds the limit of ${limits.maxBodyBytes} bytes (--max-body)`, 'ERR_CONVBERT_TOO_LARGE');
  }
  const body = checkRequestBody(data, handler, { maxInputs: limits.maxInputs, owner: "the worker's" });
  const pl: PipelineLimits = { maxRows: limits.maxInputs, maxTopK: limits.maxTopK, maxMasks: limits.maxMasks, maxCandidates: limits.maxCandidates };
  return handler.run(body.inputs, body.parameters, { timeoutMs: limits.requestTimeoutMs, limits: pl });
}
