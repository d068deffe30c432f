// tei.ts: the routes existing embedding clients speak, over the served pipeline's
// model and tokenizer: text-embeddings-inference's (POST /embed, /embed_all,
// /predict, /rerank, /tokenize, /decode, GET /info) and OpenAI's POST /v1/embeddings.
// Each text is tokenized here (so an over-long input is refused, or truncated on
// request, as TEI does) and its rows go through the pipeline's PipelineCore.run,
// i.e. the dynamic batcher: every text runs as if alone (DESIGN.md, padding).
// Pooled embeddings are the mean over the text's tokens (its attention mask is all
// ones) or token 0, then L2-normalised, with the same float32 arithmetic as the
// feature-extraction pipeline so both give the same bits.
import { runWithSubmitOptions } from '../batching/model';
import { ConvBertError } from '../errors';
import { type ConvBertPreTrainedModel } from '../models/base';
import { runWithLimits, type AnyPipeline, type PipelineLimits } from '../pipelines';
import { PipelineCore, type Row } from '../pipelines/base';
import { applyFunction, labelName } from '../pipelines/text_classification';
import { type PreTrainedTokenizerBase } from '../tokenizer/base';
import { describe, isPlainObject } from '../validate';
import { RequestError, statusForCode } from './request';

export type EmbedPooling = 'mean' | 'cls';

/** How `serve` answers the pooled routes (--pooling, --no-normalize) and what /info reports. */
export interface EmbedSettings {
  /** Default 'mean' (over the attention mask, as text-embeddings-inference). */
  pooling?: EmbedPooling;
  /** L2-normalise pooled embeddings unless a request says otherwise (default true). */
  normalize?: boolean;
  /** Model name answered in OpenAI's `model` and /info's model_id (default: the --model argument). */
  modelId?: string;
}

/** One request's context: cancellation, deadline and the server's row limit. */
export interface CallContext {
  signal?: AbortSignal;
  timeoutMs?: number;
  limits: PipelineLimits & { maxRows: number };
}

/** 422: a field of the right name with the wrong type or value (TEI: axum's JSON rejection). */
export function invalid(message: string): RequestError {
  return new RequestError(422, message, 'ERR_CONVBERT_ARG');
}

function obj(body: unknown, route: string): Record<string, unknown> {
  if (!isPlainObject(body)) throw invalid(`${route}: expected a JSON object body, got ${describe(body)}`);
  return body;
}

function onlyKeys(o: Record<string, unknown>, route: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw invalid(`${route}: unknown field '${k}'; expected ${known.join(', ')}`);
}

function bool(o: Record<string, unknown>, name: string, dflt: boolean): boolean {
  const v = o[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw invalid(`${name}: expected a boolean, got ${describe(v)}`);
  return v;
}

/** TEI's truncation_direction: "Right" (default) or "Left" (case-insensitive here). */
function direction(o: Record<string, unknown>): 'left' | 'right' {
  const v = o.truncation_direction;
  if (v === undefined || v === null) return 'right';
  if (typeof v === 'string' && (v.toLowerCase() === 'left' || v.toLowerCase() === 'right')) return v.toLowerCase() as 'left' | 'right';
  throw invalid(`truncation_direction: expected "Left" or "Right", got ${describe(v)}`);
}

/** A string or a non-empty list of strings (TEI's Input). */
function texts(v: unknown, name: string): { items: string[]; batched: boolean } {
  if (v === undefined) throw invalid(`${name}: required`);
  if (typeof v === 'string') return { items: [v], batched: false };
  if (!Array.isArray(v)) throw invalid(`${name}: expected a string or an array of strings, got ${describe(v)}`);
  if (v.length === 0) throw new RequestError(400, `${name}: expected at least one input, got an empty array`, 'ERR_CONVBERT_EMPTY');
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw invalid(`${name}[${i}]: expected a string, got ${describe(x)}`);
  });
  return { items: v as string[], batched: true };
}

/** Holds the served pipeline's parts and answers the TEI and OpenAI routes. */
export class TeiRoutes {
  readonly task: string;
  readonly model: ConvBertPreTrainedModel;
  readonly tokenizer: PreTrainedTokenizerBase;
  readonly pooling: EmbedPooling;
  readonly normalize: boolean;
  readonly modelId: string;
  /** Longest row the model takes: model_max_length capped by max_position_embeddings (TEI's max_input_length). */
  readonly maxLength: number;
  /** Shares the pipeline's model (and its batcher); never disposed here: the pipeline owns the model. */
  readonly #core: PipelineCore<ConvBertPreTrainedModel>;

  constructor(pipe: AnyPipeline, settings: EmbedSettings & { modelId: string }) {
    this.task = pipe.task;
    this.model = pipe.model as ConvBertPreTrainedModel;
    this.tokenizer = pipe.tokenizer;
    this.pooling = settings.pooling ?? 'mean';
    this.normalize = settings.normalize ?? true;
    this.modelId = settings.modelId;
    this.#core = new PipelineCore(this.model, this.tokenizer, 256);
    this.maxLength = this.#core.maxLength;
  }

  get hiddenSize(): number {
    return this.model.config.hidden_size;
  }

  #need(task: string, route: string): void {
    if (this.task !== task) {
      throw new RequestError(400, `${route} needs a server started with --task ${task}; this one runs ${this.task}`, 'ERR_CONVBERT_UNSUPPORTED');
    }
  }

  /**
   * Tokenizes one text (or pair). Longer than maxLength: 413 unless truncate, then cut on
   * `side` (the pair's longest first, as HF's longest_first).
   */
  #row(text: string, pair: string | null, truncate: boolean, side: 'left' | 'right', name: string): Row {
    const e = truncate
      ? this.tokenizer.encode(text, { text_pair: pair, truncation: true, max_length: this.maxLength, truncation_side: side })
      : this.tokenizer.encode(text, { text_pair: pair, truncation: false });
    const ids = e.input_ids;
    if (ids.length > this.maxLength) {
      throw new RequestError(
        413,
        `${name}: must have at most ${this.maxLength} tokens (the model's max input length), got ${ids.length}; send truncate: true to cut it`,
        'ERR_CONVBERT_LIMIT',
      );
    }
    return { input_ids: ids, token_type_ids: e.token_type_ids ?? new Array<number>(ids.length).fill(0) };
  }

  /** Token ids sent as-is (OpenAI's token-array input): no special tokens are added. */
  #idsRow(v: unknown[], truncate: boolean, name: string): Row {
    if (v.length === 0) throw new RequestError(400, `${name}: expected at least one token id, got an empty array`, 'ERR_CONVBERT_EMPTY');
    const V = this.model.config.vocab_size;
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= V) throw invalid(`${name}[${i}]: expected a token id in [0, ${V - 1}], got ${describe(x)}`);
    });
    let ids = v as number[];
    if (ids.length > this.maxLength) {
      if (!truncate) throw new RequestError(413, `${name}: must have at most ${this.maxLength} tokens (the model's max input length), got ${ids.length}`, 'ERR_CONVBERT_LIMIT');
      ids = ids.slice(0, this.maxLength);
    }
    return { input_ids: ids, token_type_ids: new Array<number>(ids.length).fill(0) };
  }

  #checkRows(n: number, ctx: CallContext): void {
    if (n > ctx.limits.maxRows) {
      throw new RequestError(413, `inputs: this request makes ${n} rows, more than the server's limit of ${ctx.limits.maxRows} (--max-inputs)`, 'ERR_CONVBERT_TOO_MANY_INPUTS');
    }
  }

  async #run(rows: Row[], output: string, ctx: CallContext): Promise<Float32Array[]> {
    const outs = await runWithSubmitOptions({ signal: ctx.signal, timeoutMs: ctx.timeoutMs }, () => runWithLimits(ctx.limits, () => this.#core.run(rows, [output])));
    return outs.map((o) => o[output].data as Float32Array);
  }

  /** Pooled (and maybe normalised, maybe cut to `dims`) embeddings, one per row. */
  async #embed(rows: Row[], normalize: boolean, dims: number | null, ctx: CallContext): Promise<Float32Array[]> {
    const H = this.hiddenSize;
    const hs = await this.#run(rows, 'last_hidden_state', ctx);
    return hs.map((h, b) => {
      const L = rows[b].input_ids.length;
      const v = new Float32Array(H);
      if (this.pooling === 'cls') v.set(h.subarray(0, H));
      else {
        // Sum in float64, round once: the feature-extraction pipeline's arithmetic.
        const acc = new Float64Array(H);
        for (let j = 0; j < L; j++) for (let k = 0; k < H; k++) acc[k] += h[j * H + k];
        for (let k = 0; k < H; k++) v[k] = acc[k] / L;
      }
      // Matryoshka-style `dimensions`: keep the first ones, then normalise what is kept.
      const out = dims !== null && dims < H ? v.slice(0, dims) : v;
      if (normalize) l2normalize(out);
      return out;
    });
  }

  /** POST /embed: {inputs, normalize = true, truncate, truncation_direction, dimensions} -> [[f32]]. */
  async embed(body: unknown, ctx: CallContext): Promise<number[][]> {
    this.#need('feature-extraction', 'POST /embed');
    const o = obj(body, 'POST /embed');
    const rows = this.#embedRows(o, 'POST /embed', ['normalize', 'dimensions'], ctx);
    const vecs = await this.#embed(rows, bool(o, 'normalize', this.normalize), this.#dims(o.dimensions), ctx);
    return vecs.map((v) => Array.from(v));
  }

  /** The rows of an /embed or /embed_all body: its keys checked (`extra` beside the shared ones), one text per row. */
  #embedRows(o: Record<string, unknown>, route: string, extra: string[], ctx: CallContext) {
    // prompt_name is TEI's sentence-transformers prompt; ConvBERT configs have none, so only null is taken.
    onlyKeys(o, route, ['inputs', 'truncate', 'truncation_direction', 'prompt_name', ...extra]);
    if (o.prompt_name !== undefined && o.prompt_name !== null) throw invalid(`prompt_name: this model has no prompts, got ${describe(o.prompt_name)}`);
    const { items } = texts(o.inputs, 'inputs');
    this.#checkRows(items.length, ctx);
    const truncate = bool(o, 'truncate', false);
    const side = direction(o);
    return items.map((t, i) => this.#row(t, null, truncate, side, items.length === 1 ? 'inputs' : `inputs[${i}]`));
  }

  #dims(v: unknown): number | null {
    if (v === undefined || v === null) return null;
    const H = this.hiddenSize;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > H)
      throw invalid(`dimensions: expected an integer in [1, ${H}] (the model's hidden size), got ${describe(v)}`);
    return v;
  }

  /** POST /embed_all: per-token last_hidden_state, [[[f32]]] (each text its own length, no padding). */
  async embedAll(body: unknown, ctx: CallContext): Promise<number[][][]> {
    this.#need('feature-extraction', 'POST /embed_all');
    const o = obj(body, 'POST /embed_all');
    const rows = this.#embedRows(o, 'POST /embed_all', [], ctx);
    const H = this.hiddenSize;
    const hs = await this.#run(rows, 'last_hidden_state', ctx);
    return hs.map((h, b) => {
      const L = rows[b].input_ids.length;
      const out: number[][] = [];
      for (let j = 0; j < L; j++) out.push(Array.from(h.subarray(j * H, (j + 1) * H)));
      return out;
    });
  }

  /**
   * POST /v1/embeddings (OpenAI): {input: string | string[] | number[] | number[][], model?,
   * encoding_format?: 'float' | 'base64', dimensions?, user?}. base64 is the float32 vector's
   * little-endian bytes, as OpenAI sends it (the official client asks for it by default).
   */
  async openaiEmbeddings(body: unknown, ctx: CallContext): Promise<unknown> {
    this.#need('feature-extraction', 'POST /v1/embeddings');
    const o = obj(body, 'POST /v1/embeddings');
    onlyKeys(o, 'POST /v1/embeddings', ['input', 'model', 'encoding_format', 'dimensions', 'user']);
    if (o.model !== undefined && o.model !== null && typeof o.model !== 'string') throw invalid(`model: expected a string, got ${describe(o.model)}`);
    if (o.user !== undefined && o.user !== null && typeof o.user !== 'string') throw invalid(`user: expected a string, got ${describe(o.user)}`);
    const fmt = o.encoding_format ?? 'float';
    if (fmt !== 'float' && fmt !== 'base64') throw invalid(`encoding_format: expected "float" or "base64", got ${describe(fmt)}`);
    const dims = this.#dims(o.dimensions);
    const inp = o.input;
    let rows: Row[];
    if (typeof inp === 'string') rows = [this.#row(inp, null, false, 'right', 'input')];
    else if (Array.isArray(inp)) {
      if (inp.length === 0) throw new RequestError(400, 'input: expected at least one input, got an empty array', 'ERR_CONVBERT_EMPTY');
      if (typeof inp[0] === 'number') rows = [this.#idsRow(inp, false, 'input')];
      else {
        this.#checkRows(inp.length, ctx);
        rows = inp.map((x, i) => {
          if (typeof x === 'string') return this.#row(x, null, false, 'right', `input[${i}]`);
          if (Array.isArray(x)) return this.#idsRow(x, false, `input[${i}]`);
          throw invalid(`input[${i}]: expected a string or an array of token ids, got ${describe(x)}`);
        });
      }
    } else throw invalid(`input: expected a string, an array of strings, or token ids, got ${describe(inp)}`);
    this.#checkRows(rows.length, ctx);
    const vecs = await this.#embed(rows, this.normalize, dims, ctx);
    const tokens = rows.reduce((s, r) => s + r.input_ids.length, 0);
    return {
      object: 'list',
      data: vecs.map((v, index) => ({
        object: 'embedding',
        index,
        embedding: fmt === 'base64' ? float32Base64(v) : Array.from(v),
      })),
      model: this.modelId,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  }

  /** Class scores of rows through the sequence-classification head (raw logits or TEI's activation). */
  async #classify(rows: Row[], raw: boolean, ctx: CallContext): Promise<Float64Array[]> {
    const logits = await this.#run(rows, 'logits', ctx);
    // TEI: one label -> sigmoid, several -> softmax; raw_scores -> the logits.
    const fn = raw ? 'none' : this.model.config.num_labels === 1 ? 'sigmoid' : 'softmax';
    return logits.map((l) => applyFunction(fn, l));
  }

  /**
   * POST /predict: {inputs, raw_scores, truncate, truncation_direction}. inputs is TEI's:
   * "text", ["text", "pair"] (one pair), or a batch [["text"], ["text", "pair"], ...].
   * -> [{label, score}] sorted by score (one input) or a list of those (a batch).
   */
  async predict(body: unknown, ctx: CallContext): Promise<unknown> {
    this.#need('text-classification', 'POST /predict');
    const o = obj(body, 'POST /predict');
    onlyKeys(o, 'POST /predict', ['inputs', 'raw_scores', 'truncate', 'truncation_direction']);
    const seqs = predictInputs(o.inputs);
    this.#checkRows(seqs.items.length, ctx);
    const truncate = bool(o, 'truncate', false);
    const side = direction(o);
    const rows = seqs.items.map(([a, b], i) => this.#row(a, b, truncate, side, seqs.batched ? `inputs[${i}]` : 'inputs'));
    const scores = await this.#classify(rows, bool(o, 'raw_scores', false), ctx);
    const c = this.model.config;
    const per = scores.map((s) => Array.from(s, (score, i) => ({ score, label: labelName(c, i) })).sort((x, y) => y.score - x.score));
    return seqs.batched ? per : per[0];
  }

  /**
   * POST /rerank: a one-label classifier as a cross-encoder over (query, text) pairs:
   * {query, texts, truncate, truncation_direction, raw_scores, return_text} -> [{index, score, text?}]
   * sorted by score.
   */
  async rerank(body: unknown, ctx: CallContext): Promise<unknown> {
    this.#need('text-classification', 'POST /rerank');
    if (this.model.config.num_labels !== 1) {
      throw new RequestError(
        400,
        `POST /rerank needs a re-ranker (a sequence classifier with num_labels 1); this model has ${this.model.config.num_labels} labels`,
        'ERR_CONVBERT_UNSUPPORTED',
      );
    }
    const o = obj(body, 'POST /rerank');
    onlyKeys(o, 'POST /rerank', ['query', 'texts', 'truncate', 'truncation_direction', 'raw_scores', 'return_text']);
    if (typeof o.query !== 'string') throw invalid(`query: expected a string, got ${describe(o.query)}`);
    const query = o.query;
    const { items } = texts(o.texts, 'texts');
    this.#checkRows(items.length, ctx);
    const truncate = bool(o, 'truncate', false);
    const side = direction(o);
    const returnText = bool(o, 'return_text', false);
    const rows = items.map((t, i) => this.#row(query, t, truncate, side, `texts[${i}]`));
    const scores = await this.#classify(rows, bool(o, 'raw_scores', false), ctx);
    return scores.map((s, index) => (returnText ? { index, text: items[index], score: s[0] } : { index, score: s[0] })).sort((x, y) => y.score - x.score);
  }

  /**
   * POST /tokenize: {inputs, add_special_tokens = true} -> [[{id, text, special, start, stop}]]
   * with start/stop UTF-8 byte offsets into the text (as TEI), null for added special tokens.
   */
  tokenize(body: unknown, ctx: CallContext): unknown {
    const o = obj(body, 'POST /tokenize');
    onlyKeys(o, 'POST /tokenize', ['inputs', 'add_special_tokens', 'prompt_name']);
    if (o.prompt_name !== undefined && o.prompt_name !== null) throw invalid(`prompt_name: this model has no prompts, got ${describe(o.prompt_name)}`);
    const { items } = texts(o.inputs, 'inputs');
    this.#checkRows(items.length, ctx);
    const add = bool(o, 'add_special_tokens', true);
    return items.map((text) => {
      const e = this.tokenizer.encode(text, { add_special_tokens: add, truncation: false, return_offsets_mapping: true, return_special_tokens_mask: true });
      const toks = this.tokenizer.convertIdsToTokens(e.input_ids);
      const offs = e.offset_mapping ?? [];
      const special = e.special_tokens_mask ?? [];
      return e.input_ids.map((id, i) => {
        const isSpecial = special[i] === 1;
        const [s, t] = offs[i] ?? [0, 0];
        if (isSpecial && s === t) return { id, text: toks[i] ?? '', special: true, start: null, stop: null };
        const start = Buffer.byteLength(text.slice(0, s));
        return { id, text: text.slice(s, t), special: isSpecial, start, stop: start + Buffer.byteLength(text.slice(s, t)) };
      });
    });
  }

  /** POST /decode: {ids: number[] | number[][], skip_special_tokens = true} -> [string]. */
  decode(body: unknown, ctx: CallContext): string[] {
    const o = obj(body, 'POST /decode');
    onlyKeys(o, 'POST /decode', ['ids', 'skip_special_tokens']);
    const ids = o.ids;
    if (!Array.isArray(ids)) throw invalid(`ids: expected an array of token ids or a list of them, got ${describe(ids)}`);
    if (ids.length === 0) throw new RequestError(400, 'ids: expected at least one token id, got an empty array', 'ERR_CONVBERT_EMPTY');
    const batch = (Array.isArray(ids[0]) ? ids : [ids]) as unknown[];
    this.#checkRows(batch.length, ctx);
    const skip = bool(o, 'skip_special_tokens', true);
    return batch.map((seq, b) => {
      const name = batch === ids ? `ids[${b}]` : 'ids';
      if (!Array.isArray(seq)) throw invalid(`${name}: expected an array of token ids, got ${describe(seq)}`);
      seq.forEach((x, i) => {
        if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw invalid(`${name}[${i}]: expected a non-negative integer token id, got ${describe(x)}`);
      });
      return this.tokenizer.decode(seq as number[], { skip_special_tokens: skip });
    });
  }

  /** GET /info: TEI's fields that apply here. */
  info(extra: { version: string; maxBatchTokens: number | null; maxBatchRequests: number | null; maxClientBatchSize: number; dtype: string }): unknown {
    const c = this.model.config;
    const modelType =
      this.task === 'feature-extraction'
        ? { embedding: { pooling: this.pooling } }
        : this.task === 'text-classification'
          ? c.num_labels === 1
            ? { reranker: { id2label: c.id2label, label2id: c.label2id } }
            : { classifier: { id2label: c.id2label, label2id: c.label2id } }
          : { task: this.task };
    return {
      model_id: this.modelId,
      model_sha: null,
      model_dtype: extra.dtype,
      model_type: modelType,
      embedding_dimension: this.task === 'feature-extraction' ? c.hidden_size : null,
      max_input_length: this.maxLength,
      max_batch_tokens: extra.maxBatchTokens,
      max_batch_requests: extra.maxBatchRequests,
      max_client_batch_size: extra.maxClientBatchSize,
      auto_truncate: false,
      normalize: this.normalize,
      version: extra.version,
    };
  }
}

/** Divides by max(norm, 1e-12) like torch's F.normalize, in the feature-extraction pipeline's arithmetic. */
function l2normalize(a: Float32Array): void {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * a[k];
  const n = Math.max(Math.sqrt(s), 1e-12);
  for (let k = 0; k < a.length; k++) a[k] /= n;
}

/** A float32 vector as OpenAI's base64: its little-endian bytes. */
export function float32Base64(v: Float32Array): string {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i], i * 4);
  return b.toString('base64');
}

/** TEI's PredictInput: a string, a pair ["a", "b"], or a batch of [a] / [a, b] lists. */
function predictInputs(v: unknown): { items: [string, string | null][]; batched: boolean } {
  if (typeof v === 'string') return { items: [[v, null]], batched: false };
  if (!Array.isArray(v)) throw invalid(`inputs: expected a string, a pair ["text", "text_pair"] or a batch [["text"], ["text", "text_pair"], ...], got ${describe(v)}`);
  if (v.length === 0) throw new RequestError(400, 'inputs: expected at least one input, got an empty array', 'ERR_CONVBERT_EMPTY');
  if (typeof v[0] === 'string') {
    if (v.length > 2 || v.some((x) => typeof x !== 'string'))
      throw invalid(`inputs: a single input is a string or a pair of two strings, got ${v.length} items; a batch is a list of lists`);
    return { items: [[v[0] as string, v.length === 2 ? (v[1] as string) : null]], batched: false };
  }
  return {
    batched: true,
    items: v.map((x, i) => {
      if (!Array.isArray(x) || x.length < 1 || x.length > 2 || x.some((s) => typeof s !== 'string')) {
        throw invalid(`inputs[${i}]: expected ["text"] or ["text", "text_pair"], got ${describe(x)}`);
      }
      return [x[0] as string, x.length === 2 ? (x[1] as string) : null];
    }),
  };
}

/** A ConvBertError from the model or tokenizer, as TEI's status: bad input 422, limits 413. */
export function teiStatus(e: ConvBertError): number {
  return statusForCode(e.code, 422);
}

/** TEI's error_type for a status (and code): what clients branch on. */
export function teiErrorType(status: number, code: string): string {
  if (code === 'ERR_CONVBERT_TOKENIZER') return 'tokenizer';
  if (code === 'ERR_CONVBERT_EMPTY') return 'empty';
  if (code === 'ERR_CONVBERT_UNSUPPORTED') return 'backend';
  switch (status) {
    case 401:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 429:
      return 'overloaded';
    case 503:
      return 'unhealthy';
    case 500:
      return 'backend';
    default:
      return status < 500 ? 'validation' : 'backend';
  }
}
