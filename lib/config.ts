// config.ts: ConvBertConfig, Hugging Face's ConvBertConfig plus the PretrainedConfig
// fields that matter for inference, with HF's names (snake_case) and defaults.
// config.json is read and written the way save_pretrained writes it (to_diff_dict:
// keys sorted, PretrainedConfig defaults left out, unknown keys kept as they were).
// Loading rejects exactly what transformers cannot build or run, naming the field;
// geometry follows transformers >= 4.27 (saHeads dot-product + saHeads conv heads).
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError, argError } from './errors';
import { readTextFile, readTextFileSync } from './files';
import { ACTIVATION_CODES, type EngineSpec, type HeadKind } from './engine_types';
import { checkOptionKeys } from './options';
import { describe, isPlainObject } from './validate';

/** Activation names this library runs (a subset of HF's ACT2FN). */
export type ActivationName = keyof typeof ACTIVATION_CODES;

export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';
export const PROBLEM_TYPES: readonly ProblemType[] = ['regression', 'single_label_classification', 'multi_label_classification'];

/** HF's SequenceSummary summary_type values ("attn" exists in HF but raises NotImplementedError). */
export type SummaryType = 'last' | 'first' | 'mean' | 'cls_index';
export const SUMMARY_TYPES: readonly SummaryType[] = ['last', 'first', 'mean', 'cls_index'];

/** The ConvBERT model classes of transformers and the head each one runs. */
export const ARCHITECTURE_HEADS = {
  ConvBertModel: 'none',
  ConvBertForMaskedLM: 'masked_lm',
  ConvBertForSequenceClassification: 'sequence_classification',
  ConvBertForTokenClassification: 'token_classification',
  ConvBertForQuestionAnswering: 'question_answering',
  ConvBertForMultipleChoice: 'multiple_choice',
} as const satisfies Record<string, HeadKind>;
export type ConvBertArchitecture = keyof typeof ARCHITECTURE_HEADS;

export function isConvBertArchitecture(x: unknown): x is ConvBertArchitecture {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(ARCHITECTURE_HEADS, x);
}

// ACT2FN names transformers knows but this library does not run: a config naming
// one is valid for HF, so it gets ERR_CONVBERT_UNSUPPORTED rather than _CONFIG.
const HF_ONLY_ACTIVATIONS = new Set(['prelu', 'xielu']);

/** Every key ConvBertConfig itself defines (always written by to_diff_dict). */
const CONVBERT_DEFAULTS = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu' as string,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  embedding_size: 768,
  head_ratio: 2,
  conv_kernel_size: 9,
  num_groups: 1,
  classifier_dropout: null as number | null,
};
type ConvBertKey = keyof typeof CONVBERT_DEFAULTS;
const CONVBERT_KEYS = Object.keys(CONVBERT_DEFAULTS) as ConvBertKey[];

/** PretrainedConfig keys kept as fields, with PretrainedConfig's own defaults. */
const PRETRAINED_DEFAULTS: Record<string, unknown> = {
  pad_token_id: null,
  bos_token_id: null,
  eos_token_id: null,
  id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
  label2id: { LABEL_0: 0, LABEL_1: 1 },
  problem_type: null,
  tie_word_embeddings: true,
  architectures: null,
  torch_dtype: null,
  output_hidden_states: false,
  output_attentions: false,
  return_dict: true,
  pruned_heads: {},
};
/** Where ConvBertConfig's defaults differ from PretrainedConfig's. */
const CLASS_OVERRIDES: Record<string, unknown> = { pad_token_id: 1, bos_token_id: 0, eos_token_id: 2 };
const PRETRAINED_KEYS = Object.keys(PRETRAINED_DEFAULTS);

/** Keys SequenceSummary reads with getattr defaults: present only when set. */
const SUMMARY_KEYS = ['summary_type', 'summary_use_proj', 'summary_activation', 'summary_proj_to_labels', 'summary_first_dropout', 'summary_last_dropout'] as const;

/**
 * The most labels `num_labels` may ask for: it expands into id2label and label2id
 * entries (LABEL_0, ...) before anything else looks at it, so a 20-byte
 * `"num_labels": 1e7` would otherwise build two 10^7-entry maps (minutes, then out of
 * heap). transformers has no such limit; more labels are ERR_CONVBERT_UNSUPPORTED.
 */
export const MAX_NUM_LABELS = 1 << 16;

function checkNumLabels(n: unknown, where: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw configError(where, 'num_labels', `expected a non-negative integer, got ${describe(n)}`);
  if (n > MAX_NUM_LABELS) {
    throw new ConvBertError(
      `${where}num_labels: expected at most ${MAX_NUM_LABELS} labels (MAX_NUM_LABELS; each gets an id2label and a label2id entry), got ${n}`,
      'ERR_CONVBERT_UNSUPPORTED',
    );
  }
  return n;
}

/** Keys consumed on load and never written back as such. */
const CONSUMED_KEYS = new Set(['num_labels', 'model_type', 'transformers_version']);

function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  // "__proto__" through defineProperty, so it is stored as data, not as a prototype. Every
  // other key by plain assignment (the same own data property): defineProperty on integer
  // keys turns the object's elements into a slow dictionary, and a label map of 10^6
  // entries then took 25 s instead of under one.
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** A deep copy of arrays and plain objects (JSON-like values); anything else as is. */
function copyValue<T>(v: T): T {
  if (Array.isArray(v)) return v.map(copyValue) as T;
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setOwn(out, k, copyValue(v[k]));
    return out as T;
  }
  return v;
}

/**
 * JSON text as Python's json.dumps(obj, indent=2, sort_keys=True) writes it, which is
 * what save_pretrained writes: keys sorted as strings at every level, non-ASCII as \uXXXX,
 * floats in Python's repr (1e-05, not 0.00001), so a saved file matches HF's byte for byte.
 */
export function pythonJsonDumps(value: unknown, indent = 2): string {
  const pad = (n: number): string => ' '.repeat(n * indent);
  const str = (s: string): string => JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const walk = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return pythonFloatRepr(v);
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((x) => pad(depth + 1) + walk(x, depth + 1)).join(',\n')}\n${pad(depth)}]`;
    }
    if (typeof v === 'object') {
      const keys = Object.keys(v as object).sort();
      if (keys.length === 0) return '{}';
      const o = v as Record<string, unknown>;
      return `{\n${keys.map((k) => `${pad(depth + 1)}${str(k)}: ${walk(o[k], depth + 1)}`).join(',\n')}\n${pad(depth)}}`;
    }
    throw new ConvBertError(`config: cannot write a ${typeof v} to JSON`, 'ERR_CONVBERT_CONFIG');
  };
  return walk(value, 0);
}

function pythonFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  // JSON cannot tell 1 from 1.0; integers stay integers (Python ints print the same).
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return String(v);
  // Shortest round-trip digits, then Python's layout: scientific when the decimal
  // exponent is < -4 or >= 16, with a signed two-digit exponent.
  const [mant, expStr] = v.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}

function configError(where: string, field: string, message: string): ConvBertError {
  return new ConvBertError(`${where}${field}: ${message}`, 'ERR_CONVBERT_CONFIG');
}

/** The keys of fromPretrained's options; fromDict takes only `architecture`. */
const FROM_PRETRAINED_KEYS: readonly string[] = Object.freeze(['overrides', 'architecture']);
const FROM_DICT_KEYS: readonly string[] = Object.freeze(['architecture']);

/**
 * A loader's options object: an object with known keys only (a misspelt `{ architecure }`
 * or a Hub option like `revision`, which only the model loaders take, used to be ignored).
 * Unknown keys inside config.json itself stay accepted, as HF keeps them.
 */
function readConfigOptions(where: string, o: unknown, known: readonly string[]): FromPretrainedOptions {
  if (o === undefined) return {};
  if (!isPlainObject(o)) throw argError(`${where}: options: expected an object, got ${describe(o)}`);
  checkOptionKeys(where, o, known);
  return o as FromPretrainedOptions;
}

export interface FromPretrainedOptions {
  /** Values that replace config.json's, like kwargs of HF's from_pretrained (e.g. { num_labels: 3 }). */
  overrides?: Record<string, unknown>;
  /** Also check that this head can run (on top of every ConvBERT class listed in `architectures`). */
  architecture?: ConvBertArchitecture;
}

export class ConvBertConfig {
  // --- ConvBertConfig ---
  vocab_size = CONVBERT_DEFAULTS.vocab_size;
  hidden_size = CONVBERT_DEFAULTS.hidden_size;
  num_hidden_layers = CONVBERT_DEFAULTS.num_hidden_layers;
  num_attention_heads = CONVBERT_DEFAULTS.num_attention_heads;
  intermediate_size = CONVBERT_DEFAULTS.intermediate_size;
  /** A name from HF's ACT2FN that this library runs (see ACTIVATION_CODES). */
  hidden_act: string = CONVBERT_DEFAULTS.hidden_act;
  hidden_dropout_prob = CONVBERT_DEFAULTS.hidden_dropout_prob;
  attention_probs_dropout_prob = CONVBERT_DEFAULTS.attention_probs_dropout_prob;
  max_position_embeddings = CONVBERT_DEFAULTS.max_position_embeddings;
  type_vocab_size = CONVBERT_DEFAULTS.type_vocab_size;
  initializer_range = CONVBERT_DEFAULTS.initializer_range;
  layer_norm_eps = CONVBERT_DEFAULTS.layer_norm_eps;
  embedding_size = CONVBERT_DEFAULTS.embedding_size;
  /** Heads per dot-product head: saHeads = max(1, num_attention_heads // head_ratio). */
  head_ratio = CONVBERT_DEFAULTS.head_ratio;
  conv_kernel_size = CONVBERT_DEFAULTS.conv_kernel_size;
  /** > 1: the FFN's two linears are block-diagonal GroupedLinearLayers. */
  num_groups = CONVBERT_DEFAULTS.num_groups;
  /** null: the classification heads use hidden_dropout_prob (no effect in eval). */
  classifier_dropout: number | null = CONVBERT_DEFAULTS.classifier_dropout;

  // --- PretrainedConfig ---
  /** ConvBertConfig defaults to 1, although the published checkpoints say 0. */
  pad_token_id: number | null = 1;
  bos_token_id: number | null = 0;
  eos_token_id: number | number[] | null = 2;
  /** Label names by class index (JSON keys are strings; here they are numbers). */
  id2label: Record<number, string> = { 0: 'LABEL_0', 1: 'LABEL_1' };
  label2id: Record<string, number> = { LABEL_0: 0, LABEL_1: 1 };
  /** null: ConvBertForSequenceClassification infers it from num_labels and the labels' dtype. */
  problem_type: ProblemType | null = null;
  /** generator_lm_head.weight is the word-embedding matrix when true. */
  tie_word_embeddings = true;
  architectures: string[] | null = null;
  readonly model_type = 'convbert';
  torch_dtype: string | null = null;
  output_hidden_states = false;
  output_attentions = false;
  return_dict = true;
  /** Heads removed per layer (HF prune_heads); only {} is supported. */
  pruned_heads: Record<number, number[]> = {};
  /** As read from config.json (HF writes its own version there); null when absent. */
  transformers_version: string | null = null;

  // --- SequenceSummary (ConvBertForMultipleChoice): undefined = not set, HF's getattr default applies ---
  summary_type?: string;
  summary_use_proj?: boolean;
  summary_activation?: string | null;
  summary_proj_to_labels?: boolean;
  summary_first_dropout?: number;
  summary_last_dropout?: number;

  /** Keys this class does not know, kept as read and written back on save. */
  readonly extra: Record<string, unknown> = {};

  /** A config with HF's defaults, then `values` applied like fromDict (validated). */
  constructor(values?: Record<string, unknown>) {
    if (values !== undefined) {
      this.assign(values, 'ConvBertConfig: ');
      this.validate(undefined, 'ConvBertConfig: ');
    }
  }

  // ---------------------------------------------------------------- labels

  /** len(id2label); setting it regenerates LABEL_i names when the count changes (as HF does). */
  get num_labels(): number {
    return Object.keys(this.id2label).length;
  }

  set num_labels(n: number) {
    checkNumLabels(n, 'ConvBertConfig: ');
    if (this.num_labels === n) return;
    const id2label: Record<number, string> = {};
    const label2id: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      setOwn(id2label, String(i), `LABEL_${i}`);
      setOwn(label2id, `LABEL_${i}`, i);
    }
    this.id2label = id2label;
    this.label2id = label2id;
  }

  // ---------------------------------------------------------------- geometry (HF >= 4.27)

  /** Dot-product heads; there are as many conv heads. max(1, num_attention_heads // head_ratio). */
  get saHeads(): number {
    return Math.max(1, Math.floor(this.num_attention_heads / this.head_ratio));
  }

  /** Width of every head: (hidden_size // saHeads) // 2. */
  get headDim(): number {
    return Math.floor(Math.floor(this.hidden_size / this.saHeads) / 2);
  }

  /** Width of the dot-product half (= of the conv half): saHeads * headDim = hidden_size / 2. */
  get allHeadSize(): number {
    return this.saHeads * this.headDim;
  }

  /** embeddings_project (Linear embedding_size -> hidden_size) exists. */
  get hasEmbeddingsProject(): boolean {
    return this.embedding_size !== this.hidden_size;
  }

  /** ACTIVATION_CODES of hidden_act (FFN and the sequence-classification head). */
  get hiddenActCode(): number {
    return activationCode(this.hidden_act, 'hidden_act');
  }

  /** Dropout of the classification heads (eval mode ignores it). */
  get classifierDropoutProb(): number {
    return this.classifier_dropout ?? this.hidden_dropout_prob;
  }

  get use_return_dict(): boolean {
    return this.return_dict;
  }

  // ---------------------------------------------------------------- SequenceSummary, as HF reads it

  get summaryType(): string {
    return this.summary_type ?? 'last';
  }

  get summaryUseProj(): boolean {
    return this.summary_use_proj === true;
  }

  get summaryProjToLabels(): boolean {
    return this.summary_proj_to_labels === true;
  }

  /** The activation name after the projection, or null for identity (HF: falsy means none). */
  get summaryActivation(): string | null {
    return this.summary_activation ? this.summary_activation : null;
  }

  /** ACTIVATION_CODES of summaryActivation, or -1 for none. */
  get summaryActCode(): number {
    const a = this.summaryActivation;
    return a === null ? -1 : activationCode(a, 'summary_activation');
  }

  get summaryFirstDropout(): number {
    return this.summary_first_dropout ?? 0;
  }

  get summaryLastDropout(): number {
    return this.summary_last_dropout ?? 0;
  }

  /** Output width of the summary projection: num_labels when projecting to labels, else hidden_size. */
  get summaryProjOut(): number {
    return this.summaryProjToLabels && this.num_labels > 0 ? this.num_labels : this.hidden_size;
  }

  // ---------------------------------------------------------------- model builder helpers

  /** The head an architecture runs. */
  static headKind(architecture: ConvBertArchitecture): HeadKind {
    return ARCHITECTURE_HEADS[architecture];
  }

  /** Output width of a head: vocab (MLM), num_labels (seq/token cls), 2 (QA), 1 (multiple choice), 0 (none). */
  headOutputs(architecture: ConvBertArchitecture): number {
    switch (ARCHITECTURE_HEADS[architecture]) {
      case 'none':
        return 0;
      case 'masked_lm':
        return this.vocab_size;
      case 'sequence_classification':
      case 'token_classification':
        return this.num_labels;
      case 'question_answering':
        return 2;
      case 'multiple_choice':
        return 1;
    }
  }

  /** The trunk fields of the native EngineSpec (weights and head are the model builder's). */
  engineGeometry(): Omit<EngineSpec, 'weights' | 'head'> {
    return {
      vocab_size: this.vocab_size,
      hidden_size: this.hidden_size,
      embedding_size: this.embedding_size,
      num_hidden_layers: this.num_hidden_layers,
      sa_heads: this.saHeads,
      head_dim: this.headDim,
      intermediate_size: this.intermediate_size,
      conv_kernel_size: this.conv_kernel_size,
      num_groups: this.num_groups,
      max_position_embeddings: this.max_position_embeddings,
      type_vocab_size: this.type_vocab_size,
      layer_norm_eps: this.layer_norm_eps,
      hidden_act: this.hiddenActCode,
    };
  }

  // ---------------------------------------------------------------- loading

  /** Parses and validates a config.json object (throws ERR_CONVBERT_CONFIG naming the field). */
  static fromDict(obj: unknown, options: Pick<FromPretrainedOptions, 'architecture'> = {}): ConvBertConfig {
    const o = readConfigOptions('ConvBertConfig.fromDict', options, FROM_DICT_KEYS);
    return ConvBertConfig.parse(obj, 'config: ', o.architecture);
  }

  /** Reads `dir/config.json` (or the file itself), like HF's ConvBertConfig.from_pretrained. */
  static async fromPretrained(dirOrFile: string, options: FromPretrainedOptions = {}): Promise<ConvBertConfig> {
    const o = readConfigOptions('ConvBertConfig.fromPretrained', options, FROM_PRETRAINED_KEYS);
    const file = await resolveConfigPath(dirOrFile);
    let text: string;
    try {
      text = await readTextFile(file);
    } catch (e) {
      throw readError(file, e);
    }
    return ConvBertConfig.fromText(text, file, o, 'ConvBertConfig.fromPretrained');
  }

  static fromPretrainedSync(dirOrFile: string, options: FromPretrainedOptions = {}): ConvBertConfig {
    const o = readConfigOptions('ConvBertConfig.fromPretrainedSync', options, FROM_PRETRAINED_KEYS);
    const file = resolveConfigPathSync(dirOrFile);
    let text: string;
    try {
      text = readTextFileSync(file);
    } catch (e) {
      throw readError(file, e);
    }
    return ConvBertConfig.fromText(text, file, o, 'ConvBertConfig.fromPretrainedSync');
  }

  private static fromText(text: string, file: string, options: FromPretrainedOptions, fn: string): ConvBertConfig {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new ConvBertError(`${file}: not valid JSON (${(e as Error).message})`, 'ERR_CONVBERT_CONFIG', { cause: e });
    }
    if (options.overrides !== undefined) {
      if (!isPlainObject(options.overrides)) throw argError(`${fn}: options.overrides: expected an object of config values, got ${describe(options.overrides)}`);
      if (isPlainObject(obj)) obj = { ...obj, ...options.overrides };
    }
    return ConvBertConfig.parse(obj, `${file}: `, options.architecture);
  }

  private static parse(obj: unknown, where: string, architecture?: ConvBertArchitecture): ConvBertConfig {
    const c = new ConvBertConfig();
    c.assign(obj, where);
    c.validate(architecture, where);
    return c;
  }

  /** Copies JSON values onto this config; label maps are converted here, the rest is checked by validate(). */
  private assign(obj: unknown, where: string): void {
    if (!isPlainObject(obj)) throw configError(where, 'config', `expected a JSON object, got ${describe(obj)}`);
    if (hasOwn(obj, 'model_type') && obj.model_type !== 'convbert') {
      throw configError(where, 'model_type', `expected "convbert", got ${describe(obj.model_type)}: this is not a ConvBERT config`);
    }
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if ((CONVBERT_KEYS as string[]).includes(key) || (SUMMARY_KEYS as readonly string[]).includes(key)) self[key] = copyValue(v);
      else if (key === 'id2label' || key === 'label2id') continue;
      else if (PRETRAINED_KEYS.includes(key)) self[key] = key === 'pruned_heads' ? readPrunedHeads(v, where) : copyValue(v);
      else if (key === 'transformers_version') {
        if (v !== null && typeof v !== 'string') throw configError(where, key, `expected a string, got ${describe(v)}`);
        this.transformers_version = v;
      } else if (!CONSUMED_KEYS.has(key)) setOwn(this.extra, key, copyValue(v));
    }
    // Labels as PretrainedConfig.__init__ sets them: id2label wins over num_labels
    // (HF warns and ignores num_labels); without id2label, num_labels (default 2) makes LABEL_i.
    const id2label = hasOwn(obj, 'id2label') ? obj.id2label : null;
    const label2id = hasOwn(obj, 'label2id') ? obj.label2id : null;
    if (id2label !== null) {
      this.id2label = readId2Label(id2label, where);
    } else if (hasOwn(obj, 'num_labels') && obj.num_labels !== null) {
      this.num_labels = checkNumLabels(obj.num_labels, where);
    }
    if (label2id !== null) this.label2id = readLabel2Id(label2id, where);
    else this.label2id = invertLabels(this.id2label);
  }

  // ---------------------------------------------------------------- validation

  /**
   * Checks every field (types, ranges) and the conditions under which transformers
   * fails to build or run the model, for `architecture` and for every ConvBERT class
   * in `architectures`. Called on load; call it again after changing fields by hand.
   */
  validate(architecture?: ConvBertArchitecture, where = 'config: '): void {
    const err = (field: string, msg: string): ConvBertError => configError(where, field, msg);
    const self = this as unknown as Record<string, unknown>;

    const int = (key: string, min: number): number => {
      const v = self[key];
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw err(key, `expected an integer, got ${describe(v)}`);
      if (v < min) throw err(key, `expected an integer >= ${min}, got ${v}`);
      return v;
    };
    const prob = (key: string, v: unknown, nullable = false): void => {
      if (nullable && (v === null || v === undefined)) return;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw err(key, `expected a probability (a number in [0, 1]), got ${describe(v)}`);
      // torch.nn.Dropout raises ValueError outside [0, 1].
      if (v < 0 || v > 1) throw err(key, `expected a probability in [0, 1] (nn.Dropout rejects others), got ${v}`);
    };
    const bool = (key: string, v: unknown, optional = false): void => {
      if (optional && v === undefined) return;
      if (typeof v !== 'boolean') throw err(key, `expected true or false, got ${describe(v)}`);
    };
    const tokenId = (key: string, v: unknown, allowList: boolean): void => {
      if (v === null) return;
      if (typeof v === 'number' && Number.isSafeInteger(v)) return;
      if (allowList && Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) return;
      throw err(key, `expected an integer${allowList ? ', a list of integers' : ''} or null, got ${describe(v)}`);
    };

    // Sizes: every one builds an nn.Linear / nn.Embedding / conv of that size.
    const vocab = int('vocab_size', 1);
    const hidden = int('hidden_size', 1);
    int('num_hidden_layers', 1);
    const heads = int('num_attention_heads', 1);
    const inter = int('intermediate_size', 1);
    int('max_position_embeddings', 1);
    // token_type_ids default to 0, so at least one token type must exist.
    int('type_vocab_size', 1);
    int('embedding_size', 1);
    // head_ratio 0 is a ZeroDivisionError in ConvBertSelfAttention.
    const ratio = int('head_ratio', 1);
    const k = int('conv_kernel_size', 1);
    const groups = int('num_groups', 1);

    if (typeof this.hidden_act !== 'string') throw err('hidden_act', `expected an activation name (string), got ${describe(this.hidden_act)}`);
    activationCode(this.hidden_act, 'hidden_act', where);
    prob('hidden_dropout_prob', this.hidden_dropout_prob);
    prob('attention_probs_dropout_prob', this.attention_probs_dropout_prob);
    prob('classifier_dropout', this.classifier_dropout, true);
    if (typeof this.initializer_range !== 'number' || !Number.isFinite(this.initializer_range) || this.initializer_range < 0) {
      // _init_weights calls normal_(std=initializer_range), which rejects std < 0.
      throw err('initializer_range', `expected a finite number >= 0, got ${describe(this.initializer_range)}`);
    }
    if (typeof this.layer_norm_eps !== 'number' || !Number.isFinite(this.layer_norm_eps) || this.layer_norm_eps <= 0) {
      throw err('layer_norm_eps', `expected a finite number > 0, got ${describe(this.layer_norm_eps)}`);
    }

    tokenId('pad_token_id', this.pad_token_id, false);
    tokenId('bos_token_id', this.bos_token_id, true);
    tokenId('eos_token_id', this.eos_token_id, true);
    // nn.Embedding(vocab_size, ..., padding_idx=pad_token_id) asserts -vocab <= pad < vocab.
    if (this.pad_token_id !== null && (this.pad_token_id >= vocab || this.pad_token_id < -vocab)) {
      throw err('pad_token_id', `expected null or an id in [${-vocab}, ${vocab}) (the word embedding's padding_idx), got ${this.pad_token_id}`);
    }

    if (this.problem_type !== null && !PROBLEM_TYPES.includes(this.problem_type)) {
      throw err('problem_type', `expected null, ${PROBLEM_TYPES.map((p) => `"${p}"`).join(', ')}, got ${describe(this.problem_type)}`);
    }
    bool('tie_word_embeddings', this.tie_word_embeddings);
    bool('output_hidden_states', this.output_hidden_states);
    bool('output_attentions', this.output_attentions);
    bool('return_dict', this.return_dict);
    if (this.architectures !== null && (!Array.isArray(this.architectures) || !this.architectures.every((a) => typeof a === 'string'))) {
      throw err('architectures', `expected a list of class names or null, got ${describe(this.architectures)}`);
    }
    if (this.torch_dtype !== null && typeof this.torch_dtype !== 'string') throw err('torch_dtype', `expected a dtype name or null, got ${describe(this.torch_dtype)}`);
    if (!isPlainObject(this.pruned_heads)) throw err('pruned_heads', `expected an object, got ${describe(this.pruned_heads)}`);
    if (Object.values(this.pruned_heads).some((h) => Array.isArray(h) && h.length > 0)) {
      throw new ConvBertError(`${where}pruned_heads: pruned attention heads are not supported, got ${describe(this.pruned_heads)}`, 'ERR_CONVBERT_UNSUPPORTED');
    }
    this.checkLabels(err);

    if (this.summary_type !== undefined && typeof this.summary_type !== 'string') throw err('summary_type', `expected a string, got ${describe(this.summary_type)}`);
    bool('summary_use_proj', this.summary_use_proj, true);
    bool('summary_proj_to_labels', this.summary_proj_to_labels, true);
    if (this.summary_activation !== undefined && this.summary_activation !== null && typeof this.summary_activation !== 'string') {
      throw err('summary_activation', `expected an activation name or null, got ${describe(this.summary_activation)}`);
    }
    if (this.summary_first_dropout !== undefined) prob('summary_first_dropout', this.summary_first_dropout);
    if (this.summary_last_dropout !== undefined) prob('summary_last_dropout', this.summary_last_dropout);

    // --- what ConvBertSelfAttention needs (transformers >= 4.27) ---
    // SeparableConv1D pads k // 2 on both sides: an even k yields L + 1 positions and the
    // product with the query fails ("size of tensor a (8) must match ... (7)").
    if (k % 2 === 0) {
      throw err(
        'conv_kernel_size',
        `expected an odd kernel size, got ${k}: the depthwise conv pads ${k} // 2 = ${k / 2} on each side and yields L + 1 positions, so transformers fails in the forward pass`,
      );
    }
    const sa = Math.max(1, Math.floor(heads / ratio));
    const saNote = `num_attention_heads // head_ratio = ${heads} // ${ratio}${Math.floor(heads / ratio) < 1 ? ' (raised to 1)' : ''} = ${sa}`;
    if (hidden % sa !== 0) {
      throw err('hidden_size', `expected a multiple of the dot-product head count ${saNote}, got ${hidden}: ConvBertSelfAttention raises ValueError`);
    }
    if ((hidden / sa) % 2 !== 0) {
      const hd = Math.floor(hidden / sa / 2);
      throw err(
        'hidden_size',
        `expected a multiple of 2 * ${sa} (${sa} dot-product and ${sa} conv heads of equal width; ${saNote}), got ${hidden}: ` +
          `heads of (${hidden} // ${sa}) // 2 = ${hd} give ${2 * sa * hd} features but attention.output.dense expects ${hidden}`,
      );
    }
    // GroupedLinearLayer reshapes (.., hidden) to [-1, G, hidden // G] and (.., intermediate) likewise.
    if (groups > 1 && (hidden % groups !== 0 || inter % groups !== 0)) {
      const what = hidden % groups !== 0 ? `hidden_size = ${hidden}` : `intermediate_size = ${inter}`;
      throw err(
        'num_groups',
        `expected a divisor of hidden_size (${hidden}) and intermediate_size (${inter}), got ${groups}: ${what} is not a multiple of it, so GroupedLinearLayer's reshape fails`,
      );
    }

    const archs = new Set<ConvBertArchitecture>();
    if (architecture !== undefined) {
      if (!isConvBertArchitecture(architecture))
        throw new ConvBertError(`validate: architecture must be one of ${Object.keys(ARCHITECTURE_HEADS).join(', ')}, got ${describe(architecture)}`, 'ERR_CONVBERT_ARG');
      archs.add(architecture);
    }
    for (const a of this.architectures ?? []) if (isConvBertArchitecture(a)) archs.add(a);
    for (const a of archs) this.checkHead(a, where);
  }

  private checkLabels(err: (field: string, msg: string) => ConvBertError): void {
    if (!isPlainObject(this.id2label)) throw err('id2label', `expected an object of {index: name}, got ${describe(this.id2label)}`);
    if (!isPlainObject(this.label2id)) throw err('label2id', `expected an object of {name: index}, got ${describe(this.label2id)}`);
    const ids = Object.keys(this.id2label);
    for (const key of ids) {
      if (!/^-?\d+$/.test(key)) throw err('id2label', `expected integer keys, got ${JSON.stringify(key)}`);
      const name = (this.id2label as Record<string, unknown>)[key];
      if (typeof name !== 'string') throw err('id2label', `expected label names (strings), got ${describe(name)} for ${key}`);
    }
    for (const name of Object.keys(this.label2id)) {
      const id = (this.label2id as Record<string, unknown>)[name];
      if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw err('label2id', `expected integer indices, got ${describe(id)} for ${JSON.stringify(name)}`);
    }
    // label2id must be id2label turned around: every name maps back to its index.
    const l2i = Object.keys(this.label2id);
    if (l2i.length !== ids.length) {
      throw err(
        'label2id',
        `expected the inverse of id2label (${ids.length} labels), got ${l2i.length} entries: ${describe(this.label2id)} vs id2label ${describe(this.id2label)}`,
      );
    }
    for (const name of l2i) {
      const id = this.label2id[name];
      if (!hasOwn(this.id2label, String(id)) || this.id2label[id] !== name) {
        throw err(
          'label2id',
          `expected the inverse of id2label, but label2id[${JSON.stringify(name)}] = ${id} while id2label[${id}] = ${describe(hasOwn(this.id2label, String(id)) ? this.id2label[id] : undefined)}`,
        );
      }
    }
  }

  private checkHead(arch: ConvBertArchitecture, where: string): void {
    const err = (field: string, msg: string): ConvBertError => configError(where, field, msg);
    if (arch === 'ConvBertForQuestionAnswering' && this.num_labels !== 2) {
      // qa_outputs has num_labels outputs, then logits.split(1, dim=-1) unpacks into (start, end).
      throw err('num_labels', `ConvBertForQuestionAnswering needs exactly 2 labels (start and end logits), got ${this.num_labels}: transformers fails unpacking logits.split(1)`);
    }
    if (arch === 'ConvBertForMultipleChoice') {
      const st = this.summaryType;
      if (st === 'attn')
        throw err('summary_type', `expected one of ${SUMMARY_TYPES.map((s) => `"${s}"`).join(', ')}, got "attn": transformers' SequenceSummary raises NotImplementedError for it`);
      if (!(SUMMARY_TYPES as readonly string[]).includes(st)) throw err('summary_type', `expected one of ${SUMMARY_TYPES.map((s) => `"${s}"`).join(', ')}, got ${describe(st)}`);
      const act = this.summaryActivation;
      if (act !== null) activationCode(act, 'summary_activation', where);
      // The summary Linear projects to num_labels, but the choice classifier is Linear(hidden_size, 1).
      if (this.summaryUseProj && this.summaryProjOut !== this.hidden_size) {
        throw err(
          'summary_proj_to_labels',
          `with summary_use_proj the summary projects to num_labels = ${this.num_labels} features, but ConvBertForMultipleChoice's classifier expects hidden_size = ${this.hidden_size}: transformers fails in the forward pass`,
        );
      }
    }
  }

  // ---------------------------------------------------------------- saving

  /** Every field (HF's to_dict): label keys as strings, summary keys only when set, unknown keys kept. */
  toDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(this.extra)) setOwn(out, k, copyValue(v));
    for (const k of CONVBERT_KEYS) setOwn(out, k, self[k]);
    for (const k of PRETRAINED_KEYS) setOwn(out, k, copyValue(self[k]));
    for (const k of SUMMARY_KEYS) if (self[k] !== undefined) setOwn(out, k, self[k]);
    setOwn(out, 'model_type', this.model_type);
    if (this.transformers_version !== null) setOwn(out, 'transformers_version', this.transformers_version);
    return sortKeys(out);
  }

  /**
   * config.json content as save_pretrained writes it (to_diff_dict): ConvBERT's own keys
   * always; PretrainedConfig keys only where they differ from PretrainedConfig's default
   * or ConvBertConfig's; summary keys when set; unknown keys as read. Keys sorted.
   */
  toJSON(): Record<string, unknown> {
    const full = this.toDict();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(full)) {
      if (PRETRAINED_KEYS.includes(k)) {
        const classDefault = hasOwn(CLASS_OVERRIDES, k) ? CLASS_OVERRIDES[k] : PRETRAINED_DEFAULTS[k];
        if (deepEqual(v, PRETRAINED_DEFAULTS[k]) && deepEqual(v, classDefault)) continue;
      }
      setOwn(out, k, v);
    }
    return out;
  }

  /** The config.json text: Python json.dumps(indent=2, sort_keys=True) plus a newline, as HF writes it. */
  toJSONString(): string {
    return `${pythonJsonDumps(this.toJSON())}\n`;
  }

  /** Writes `dir/config.json` (creating dir), or the file itself when the path ends in .json. */
  async save(dirOrFile: string): Promise<string> {
    const file = await saveTarget(dirOrFile);
    try {
      await fs.promises.writeFile(file, this.toJSONString());
    } catch (e) {
      throw ioError(file, e);
    }
    return file;
  }

  saveSync(dirOrFile: string): string {
    const file = saveTargetSync(dirOrFile);
    try {
      fs.writeFileSync(file, this.toJSONString());
    } catch (e) {
      throw ioError(file, e);
    }
    return file;
  }

  /** An independent copy (label maps, lists and unknown keys copied too). Not re-validated. */
  clone(): ConvBertConfig {
    const c = new ConvBertConfig();
    c.assign(this.toDict(), 'clone: ');
    return c;
  }
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) setOwn(out, k, o[k]);
  return out;
}

/** ACTIVATION_CODES[name], or an error naming the field. */
export function activationCode(name: string, field = 'hidden_act', where = 'config: '): number {
  if (typeof name === 'string' && hasOwn(ACTIVATION_CODES, name)) return ACTIVATION_CODES[name as ActivationName];
  if (typeof name === 'string' && HF_ONLY_ACTIVATIONS.has(name)) {
    throw new ConvBertError(
      `${where}${field}: "${name}" is a transformers activation this library does not run (it runs ${Object.keys(ACTIVATION_CODES).join(', ')})`,
      'ERR_CONVBERT_UNSUPPORTED',
    );
  }
  throw configError(where, field, `expected one of transformers' activations (${Object.keys(ACTIVATION_CODES).join(', ')}), got ${describe(name)}`);
}

function readId2Label(v: unknown, where: string): Record<number, string> {
  if (!isPlainObject(v)) throw configError(where, 'id2label', `expected an object of {"index": name}, got ${describe(v)}`);
  const out: Record<number, string> = {};
  const keys = Object.keys(v);
  // the same bound as num_labels: every label also gets a label2id entry and a classifier row
  if (keys.length > MAX_NUM_LABELS) {
    throw new ConvBertError(`${where}id2label: expected at most ${MAX_NUM_LABELS} labels (MAX_NUM_LABELS), got ${keys.length}`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  for (const key of keys) {
    // HF converts with int(key); JSON keys are strings.
    if (!/^\s*[-+]?\d+\s*$/.test(key)) throw configError(where, 'id2label', `expected integer keys, got ${JSON.stringify(key)}`);
    const name = v[key];
    if (typeof name !== 'string') throw configError(where, 'id2label', `expected label names (strings), got ${describe(name)} for key ${JSON.stringify(key)}`);
    const id = Number.parseInt(key, 10);
    if (!Number.isSafeInteger(id)) throw configError(where, 'id2label', `key ${JSON.stringify(key)} is out of range`);
    setOwn(out, String(id), name);
  }
  return out;
}

function readLabel2Id(v: unknown, where: string): Record<string, number> {
  if (!isPlainObject(v)) throw configError(where, 'label2id', `expected an object of {name: index}, got ${describe(v)}`);
  const out: Record<string, number> = {};
  for (const key of Object.keys(v)) {
    const id = v[key];
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw configError(where, 'label2id', `expected integer indices, got ${describe(id)} for ${JSON.stringify(key)}`);
    setOwn(out, key, id);
  }
  return out;
}

function invertLabels(id2label: Record<number, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(id2label)) setOwn(out, (id2label as Record<string, string>)[key], Number(key));
  return out;
}

function readPrunedHeads(v: unknown, where: string): Record<number, number[]> {
  if (!isPlainObject(v)) throw configError(where, 'pruned_heads', `expected an object of {"layer": [heads]}, got ${describe(v)}`);
  const out: Record<number, number[]> = {};
  for (const key of Object.keys(v)) {
    const heads = v[key];
    if (!/^\d+$/.test(key) || !Array.isArray(heads) || !heads.every((h) => Number.isSafeInteger(h))) {
      throw configError(where, 'pruned_heads', `expected {"layer": [head indices]}, got ${describe(v)}`);
    }
    setOwn(out, String(Number(key)), [...(heads as number[])]);
  }
  return out;
}

function ioError(file: string, e: unknown): ConvBertError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = code === 'ENOENT' ? 'no such file' : ((e as Error)?.message ?? String(e));
  return new ConvBertError(`${file}: cannot read or write the config (${why})`, 'ERR_CONVBERT_IO', { cause: e });
}

/** lib/files' errors as config errors: an open or read failure in ioError's words, the rest (not a regular file, too large) as they are. */
function readError(file: string, e: unknown): ConvBertError {
  if (e instanceof ConvBertError && e.cause !== undefined) return ioError(file, e.cause);
  return e instanceof ConvBertError ? e : ioError(file, e);
}

function checkPathArg(p: unknown, fn: string): asserts p is string {
  if (typeof p !== 'string' || p.length === 0) throw new ConvBertError(`${fn}: dirOrFile must be a non-empty path string, got ${describe(p)}`, 'ERR_CONVBERT_ARG');
}

async function resolveConfigPath(dirOrFile: string): Promise<string> {
  checkPathArg(dirOrFile, 'ConvBertConfig.fromPretrained');
  try {
    const st = await fs.promises.stat(dirOrFile);
    return st.isDirectory() ? path.join(dirOrFile, 'config.json') : dirOrFile;
  } catch (e) {
    throw ioError(dirOrFile, e);
  }
}

function resolveConfigPathSync(dirOrFile: string): string {
  checkPathArg(dirOrFile, 'ConvBertConfig.fromPretrainedSync');
  try {
    return fs.statSync(dirOrFile).isDirectory() ? path.join(dirOrFile, 'config.json') : dirOrFile;
  } catch (e) {
    throw ioError(dirOrFile, e);
  }
}

async function saveTarget(dirOrFile: string): Promise<string> {
  checkPathArg(dirOrFile, 'ConvBertConfig.save');
  const st = await fs.promises.stat(dirOrFile).catch(() => null);
  const isFile = st ? !st.isDirectory() : dirOrFile.endsWith('.json');
  const dir = isFile ? path.dirname(dirOrFile) : dirOrFile;
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (e) {
    throw ioError(dir, e);
  }
  return isFile ? dirOrFile : path.join(dirOrFile, 'config.json');
}

function saveTargetSync(dirOrFile: string): string {
  checkPathArg(dirOrFile, 'ConvBertConfig.saveSync');
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(dirOrFile);
  } catch {
    st = null;
  }
  const isFile = st ? !st.isDirectory() : dirOrFile.endsWith('.json');
  const dir = isFile ? path.dirname(dirOrFile) : dirOrFile;
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError(dir, e);
  }
  return isFile ? dirOrFile : path.join(dirOrFile, 'config.json');
}
