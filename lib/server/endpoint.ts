// endpoint.ts: POST / of `convbert serve`, spoken as Hugging Face Inference Endpoints and
// the @huggingface/inference client (hf-inference helpers, `endpointUrl`) expect it. The body
// is the Inference API's {inputs, parameters}; what differs from POST /v1/<task> (the
// pipeline's own defaults and shapes) is written here, once, so both sides of the route agree:
//   token-classification: aggregation_strategy defaults to 'simple' (entity groups, what the
//     client checks for); `stride` is refused by name (no windowing of long texts here).
//   question-answering: max_question_len is taken and checked, then dropped (HF's fast-tokenizer
//     path does not use it either).
//   text-classification: one list of {label, score} per input, also for a single input ([[...]]).
//   feature-extraction: TEI's /embed body, its fields at the top or inside `parameters`.
import { argError } from '../errors';
import { describe } from '../validate';

type Params = Record<string, unknown>;

function plainObject(v: unknown): v is Params {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The pipeline options POST / runs a task with: the spec's parameters the pipeline lacks are
 * checked and dropped, and the hosted API's defaults filled in. A non-object is returned as
 * it is (the task handler refuses it with its own message).
 */
export function endpointParameters(task: string, parameters: unknown): unknown {
  if (parameters !== undefined && parameters !== null && !plainObject(parameters)) return parameters;
  const p: Params = { ...(parameters ?? {}) };
  if (task === 'token-classification') {
    if (p.stride !== undefined && p.stride !== null) {
      throw argError(
        `parameters.stride: not supported by this server, got ${describe(p.stride)}; it does not split long texts into overlapping windows (texts over the model's length are truncated)`,
      );
    }
    delete p.stride;
    // The hosted API groups tokens into entities; the client reads entity_group.
    if (p.aggregation_strategy === undefined) p.aggregation_strategy = 'simple';
  } else if (task === 'question-answering' && 'max_question_len' in p) {
    const v = p.max_question_len;
    if (v !== null && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)) throw argError(`parameters.max_question_len: expected an integer >= 1, got ${describe(v)}`);
    delete p.max_question_len;
  }
  return p;
}

/** The answer POST / sends for a task's pipeline output `out` on `inputs`. */
export function endpointAnswer(task: string, inputs: unknown, out: unknown): unknown {
  if (task !== 'text-classification' || !Array.isArray(out)) return out;
  // The pipeline answers a single input with a flat list and a batch with top_k 1 as one
  // {label, score} per input; the hosted API answers every input with its own list.
  if (!Array.isArray(inputs)) return [out];
  return out.map((x: unknown) => (Array.isArray(x) ? x : [x]));
}

/**
 * POST / of a feature-extraction server: {inputs, parameters?: {...}} with TEI's /embed fields
 * at the top or in parameters. HF clients' "options" and "model" are ignored (the hosted API's
 * wait_for_model and model choice; a local server has one model), and the client's
 * encoding_format is taken when it is "float", the only one this route answers.
 */
export function endpointEmbedBody(body: unknown): unknown {
  if (!plainObject(body)) return body;
  const { parameters, options: _options, model: _model, ...rest } = body;
  const flat: Params = plainObject(parameters) ? { ...rest, ...parameters } : parameters === undefined || parameters === null ? rest : { ...rest, parameters };
  if ('encoding_format' in flat) {
    const f = flat.encoding_format;
    if (f !== undefined && f !== null && f !== 'float') throw argError(`encoding_format: POST / answers float arrays; expected "float", got ${describe(f)}`);
    delete flat.encoding_format;
  }
  return flat;
}
