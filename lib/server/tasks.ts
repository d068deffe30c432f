// tasks.ts: one served task: a pipeline (lib/pipelines) with dynamic batching
// attached to its model, and the mapping from the Hugging Face Inference API's
// request shape ({"inputs": ..., "parameters": {...}}) to the pipeline's call.
// Zero-shot takes parameters.candidate_labels as the pipeline's second argument;
// every other task passes parameters as the pipeline's options. Outputs are made
// JSON-ready (Tensors become nested arrays). The server's limits reach the
// pipeline per request (runWithLimits), where the rows it makes are counted.
import { attachBatching, runWithSubmitOptions, type BatchingOptions } from '../batching/model';
import { type BatcherStats, type DynamicBatcher } from '../batching/batcher';
import { argError } from '../errors';
import { pipeline, runWithLimits, SUPPORTED_TASKS, TASK_ALIASES, type AnyPipeline, type PipelineLimits, type PipelineOptions, type PipelineTask } from '../pipelines';
import { Tensor } from '../tensor';

/** What the HTTP server needs from a task. Tests may supply their own. */
export interface TaskHandler {
  /** Canonical task name; the route is POST /v1/<task>. */
  readonly task: string;
  /**
   * Runs one request. Errors with ConvBertError codes map to HTTP statuses. `limits`
   * replace the pipeline's own for this request (the server's flags).
   */
  run(inputs: unknown, parameters: unknown, options: { signal?: AbortSignal; timeoutMs?: number; limits?: PipelineLimits }): Promise<unknown>;
  /**
   * How many rows a request's inputs make, as far as their shape tells (for the maxInputs
   * limit, before any work); throws ERR_CONVBERT_ARG on bad shapes. Rows that only
   * tokenizing reveals (question answering's windows) are counted by the pipeline.
   */
  countInputs(inputs: unknown, parameters: unknown): number;
  /** The batcher's stats, or null without batching. */
  stats(): BatcherStats | null;
  /** Runs what is queued and frees the model. */
  dispose(): Promise<void>;
  /** The served pipeline (its model and tokenizer answer the TEI and OpenAI routes); absent in test handlers. */
  readonly pipeline?: AnyPipeline;
  /** The batching this handler runs with (for GET /info), or false. */
  readonly batching?: BatchingOptions | false;
}

export interface LoadTaskOptions {
  /** Dynamic batching across requests; false runs each request's rows on its own. Default DEFAULT_BATCHING. */
  batching?: BatchingOptions | false;
  /** Passed to pipeline() (tokenizer, revision, cacheDir, hub, batch_size). */
  pipeline?: PipelineOptions;
}

/** Two batches at once let one batch's tokenizing and post-processing overlap the next one's forward. */
export const DEFAULT_BATCHING: BatchingOptions = { maxBatchSize: 16, maxWaitMs: 5, maxQueue: 1024, maxConcurrentBatches: 2 };

/** The canonical name of a task or alias, or an ERR_CONVBERT_ARG naming the choices. */
export function canonicalTask(task: string): PipelineTask {
  if ((SUPPORTED_TASKS as readonly string[]).includes(task)) return task as PipelineTask;
  if (Object.prototype.hasOwnProperty.call(TASK_ALIASES, task)) return TASK_ALIASES[task];
  throw argError(`task: unknown task ${JSON.stringify(task)}; expected one of ${[...SUPPORTED_TASKS, ...Object.keys(TASK_ALIASES)].join(', ')}`);
}

/** Tensors as nested arrays, typed arrays as arrays: what JSON.stringify can write. */
export function toJsonable(v: unknown): unknown {
  if (v instanceof Tensor) return v.dims.length === 0 ? v.item() : v.tolist();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(toJsonable);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toJsonable(x);
    return o;
  }
  return v;
}

function paramsObject(parameters: unknown): Record<string, unknown> {
  if (parameters === undefined || parameters === null) return {};
  if (typeof parameters !== 'object' || Array.isArray(parameters))
    throw argError(`parameters: expected an object, got ${Array.isArray(parameters) ? 'an array' : typeof parameters}`);
  return parameters as Record<string, unknown>;
}

/** Builds the handler around an existing pipeline (attaching batching to its model unless batching is false). */
export function taskHandler(pipe: AnyPipeline, batching: BatchingOptions | false = DEFAULT_BATCHING): TaskHandler {
  const task = pipe.task;
  let batcher: DynamicBatcher<unknown, unknown> | null = null;
  // Multiple choice runs its choices as one (1, C, L) forward, which has no packed form; it is not batched.
  // A pipeline built with options.batching already has one: reuse it.
  const own = (pipe.model as { batcher?: DynamicBatcher<unknown, unknown> }).batcher;
  if (own) batcher = own;
  else if (batching !== false && task !== 'multiple-choice') batcher = attachBatching(pipe.model, batching) as unknown as DynamicBatcher<unknown, unknown>;
  const call = pipe as unknown as (...args: unknown[]) => Promise<unknown>;
  return {
    task,
    pipeline: pipe,
    batching: batcher && !own ? batching : false,
    countInputs(inputs, parameters) {
      if (inputs === undefined) throw argError('inputs: required');
      const n = Array.isArray(inputs) ? inputs.length : 1;
      if (task === 'zero-shot-classification') {
        const labels = paramsObject(parameters).candidate_labels;
        // A string is a comma-separated list (see the pipeline's checkLabels): count its labels too.
        const k = Array.isArray(labels) ? labels.length : typeof labels === 'string' ? Math.max(1, labels.split(',').filter((l) => l.trim().length > 0).length) : 1;
        return n * k;
      }
      if (task === 'multiple-choice') {
        const items = Array.isArray(inputs) ? inputs : [inputs];
        return items.reduce(
          (s: number, x) => s + (x && typeof x === 'object' && Array.isArray((x as { choices?: unknown }).choices) ? (x as { choices: unknown[] }).choices.length : 1),
          0,
        );
      }
      return n;
    },
    async run(inputs, parameters, options) {
      const p = paramsObject(parameters);
      const out = await runWithSubmitOptions({ signal: options.signal, timeoutMs: options.timeoutMs }, () =>
        runWithLimits(options.limits ?? {}, () => {
          if (task === 'zero-shot-classification') {
            const { candidate_labels, ...rest } = p;
            if (candidate_labels === undefined) throw argError('parameters.candidate_labels: required for zero-shot-classification');
            return call(inputs, candidate_labels, rest);
          }
          if (task === 'multiple-choice') return Object.keys(p).length === 0 ? call(inputs) : call(inputs, p);
          return call(inputs, p);
        }),
      );
      return toJsonable(out);
    },
    stats: () => (batcher ? batcher.stats() : null),
    async dispose() {
      if (batcher) await batcher.close();
      await pipe.dispose();
    },
  };
}

/** Loads the pipeline for `task` from a Hub id or folder and wraps it for serving. */
export async function loadTask(task: string, modelIdOrDir: string, options: LoadTaskOptions = {}): Promise<TaskHandler> {
  const t = canonicalTask(task);
  const po: PipelineOptions = { batch_size: 256, ...(options.pipeline ?? {}) };
  const pipe = await pipeline(t, modelIdOrDir, po);
  return taskHandler(pipe, options.batching === undefined ? DEFAULT_BATCHING : options.batching);
}
