// base.ts: ConvBertPreTrainedModel, what the six ConvBERT classes share:
// loading (HF's base_model_prefix rule, tied LM head, missing-head warning),
// HF initialisation, saving in HF layout, and forward(): validate in TS, make
// ONE native engine call that writes into preallocated outputs, then compute
// the loss in TS. Weights reach the engine through getters that read (or draw)
// one tensor at a time, and are not kept in JS: loading peaks near one copy,
// and savePretrained re-reads the checkpoint or re-draws the seed.
import { constants as bufferConstants } from 'buffer';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ARCHITECTURE_HEADS, ConvBertConfig, isConvBertArchitecture } from '../config';
import { ConvBertError, argError, shapeError } from '../errors';
import { backendInfo } from '../backend';
import { native } from '../native';
import { Tensor } from '../tensor';
import { describe } from '../validate';
import { resolveModelPath, type HubOptions } from '../hub';
import { HUB_OPTION_ALIASES, TRANSFORMERS_JS_DTYPES, checkOptionKeys, normalizeAliases, type TransformersJsHubOptions } from '../options';
import { saveStateDict, type StateDict } from '../weights';
import { openCheckpoint, type Checkpoint, type CheckpointEntry } from './checkpoint';
import { type EngineOptions, type EngineSpec, type ForwardRequest, type HeadKind, type NativeEngine, type NativeEngineCtor } from '../engine_types';
import { CallableModel } from './callable';
import { initParam } from './init';
import {
  fmtDims,
  idsInRange,
  readInput,
  readTrunkInputs,
  sameDims,
  type ConvBertInputs,
  type ForwardOptions,
  type TensorInput,
  type TrunkInputs,
} from './inputs';
import {
  BASE_PREFIX,
  TIED_HEAD_KEY,
  WORD_EMBEDDINGS_KEY,
  headLayout,
  isIgnoredBuffer,
  trunkLayout,
  type HeadLayoutConfig,
  type ParamSpec,
} from './layout';

/** What fromPretrained found: HF's names for keys the model wanted but the checkpoint lacked, and the reverse. */
export interface LoadInfo {
  missing_keys: string[];
  unexpected_keys: string[];
}

export interface FromPretrainedOptions
  extends Partial<Pick<HubOptions, 'revision' | 'cacheDir' | 'token' | 'localFilesOnly' | 'endpoint' | 'progress'>>,
    TransformersJsHubOptions {
  /** Use this config instead of the config.json beside the weights. */
  config?: ConvBertConfig;
  /**
   * Weight precision of the engine's linear layers: 'float32' (default, the exact reference path);
   * 'bfloat16' (CPU or CUDA: bf16 weights and inputs, fp32 accumulation); 'float16' (CUDA only); or
   * 'int8' (CPU only, opt-in: weights quantised per output channel at load, activations per token row
   * per call, int32 sums, fp32 epilogue; LayerNorm, softmax, attention and the convolutions stay fp32).
   * See docs/performance.md for the accuracy each costs. transformers.js' names are accepted too:
   * 'fp32', 'fp16', 'bf16' and 'q8' (= 'int8').
   */
  dtype?: PretrainedDtype;
  /**
   * Linear modules to keep in float32 when `dtype` is 'bfloat16' or 'int8' (CPU engine), like
   * `modules_to_not_convert` in HF's quantization configs: trades speed for accuracy where it matters
   * most (docs/accuracy.md measures each part). A name matches every linear module whose HF name
   * contains its dot-separated parts as a contiguous run: 'generator_lm_head', 'encoder.layer.11',
   * 'intermediate.dense', 'output.dense' (each layer's attention.output.dense and output.dense).
   * A layer's query, key, value and conv_out_layer run as one product, so naming any of them keeps all
   * four. A name that matches no linear module is an error; `model.float32Modules` lists what matched.
   */
  modulesToNotConvert?: readonly string[];
  /** Where the engine runs: 'cpu' (default), 'cuda' (= 'cuda:0'), 'cuda:N', or 'auto' (cuda:<backendInfo().cuda.defaultDevice>, the first usable device, when backendInfo().cuda.available, else the CPU). */
  device?: ModelDevice;
  /** Seed for head weights the checkpoint lacks (they are drawn as HF initialises them). Default 0. */
  seed?: number;
  /** @internal Engine constructor to use instead of the native addon's (tests only). */
  engine?: NativeEngineCtor;
}

export type ModelDtype = 'float32' | 'float16' | 'bfloat16' | 'int8';
/** transformers.js' spelling of a ModelDtype: 'fp32' = 'float32', 'fp16' = 'float16', 'bf16' = 'bfloat16', 'q8' = 'int8'. */
export type TransformersJsDtype = keyof typeof TRANSFORMERS_JS_DTYPES;
/** What the dtype option takes: this library's names or transformers.js'. */
export type PretrainedDtype = ModelDtype | TransformersJsDtype;

/** The keys fromPretrained knows (an unknown one is ERR_CONVBERT_ARG naming the closest of these). */
export const FROM_PRETRAINED_KEYS: readonly string[] = Object.freeze([
  'config',
  'dtype',
  'modulesToNotConvert',
  'device',
  'seed',
  'revision',
  'cacheDir',
  'token',
  'localFilesOnly',
  'endpoint',
  'progress',
  'engine',
  ...Object.keys(HUB_OPTION_ALIASES),
]);

/** The keys fromConfig knows. */
export const FROM_CONFIG_KEYS: readonly string[] = Object.freeze(['seed', 'dtype', 'modulesToNotConvert', 'device', 'engine']);

/**
 * The options object of fromPretrained / fromConfig: an object with known keys only (a
 * misspelt `devcie` used to be ignored and the model ran on the default device), the
 * transformers.js spellings renamed to ours.
 */
export function readModelOptions<T extends object>(where: string, o: unknown, known: readonly string[]): T {
  if (o === undefined) return {} as T;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw argError(`${where}: options: expected an object, got ${describe(o)}`);
  checkOptionKeys(where, o, known);
  return normalizeAliases(where, o as T);
}
export type ModelDevice = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

export interface FromConfigOptions {
  /** Seed of HF's initialisation; the same seed gives the same weights. Default 0. */
  seed?: number;
  /** As in fromPretrained. */
  dtype?: PretrainedDtype;
  /** As in fromPretrained. */
  modulesToNotConvert?: readonly string[];
  /** As in fromPretrained. */
  device?: ModelDevice;
  /** @internal Engine constructor to use instead of the native addon's (tests only). */
  engine?: NativeEngineCtor;
}

/** Outputs every head may return (HF's names); each class narrows this. */
export interface ModelOutputBase {
  /** num_hidden_layers + 1 tensors (rows, L, hidden); entry 0 is the embedding output. */
  hidden_states?: Tensor<'float32'>[];
  /** num_hidden_layers tensors (rows, sa_heads, L, L), after head_mask. */
  attentions?: Tensor<'float32'>[];
}

/** One unpadded sequence for forwardPacked. */
export interface PackedRow {
  input_ids: Int32Array | TensorInput;
  token_type_ids?: Int32Array | TensorInput | null;
}

/** One row's outputs from forwardPacked, batch dim 1. */
export type PackedRowOutput = Record<string, Tensor<'float32'>>;

/** Where the weights came from, so savePretrained can rebuild them without keeping a JS copy. */
type WeightSource = { kind: 'seed'; seed: number } | { kind: 'file'; file: string; seed: number };

/**
 * Trunk and head weights (trunk keys without the prefix) as loaders: the engine
 * reads each once through a getter and copies it, so at most one tensor is
 * materialised in JS at a time (drawn from the seed, or read from disk).
 */
type Loader = () => Float32Array;
interface Weights {
  trunk: Map<string, Loader>;
  head: Map<string, Loader>;
}

/** An object whose properties read their weight on access (what EngineSpec.weights may be). */
function lazyRecord(m: Map<string, Loader>): Record<string, Float32Array> {
  const o: Record<string, Float32Array> = {};
  for (const [k, load] of m) Object.defineProperty(o, k, { get: load, enumerable: true });
  return o;
}

/** A validated forward call, ready for the engine. */
export interface PreparedForward {
  trunk: TrunkInputs;
  req: ForwardRequest;
  opts: ForwardOptions;
  /** Head-specific parsed labels, or null. */
  labels: unknown;
}

/** @internal The constructor arguments; use fromPretrained or fromConfig. */
export interface ModelInit {
  config: ConvBertConfig;
  weights: Weights;
  loadInfo: LoadInfo;
  source: WeightSource;
  engine?: NativeEngineCtor;
  /** Engine placement (from checkPlacement); absent = the CPU, float32. */
  placement?: EngineOptions;
}

/** The static side every model class has. */
export interface ModelClass<T extends ConvBertPreTrainedModel> {
  new (init: ModelInit): T;
  readonly headKind: HeadKind;
  readonly name: string;
}

const SEED_DEFAULT = 0;

function fmt(d: readonly number[]): string {
  return `[${d.join(', ')}]`;
}

function listKeys(keys: string[], max = 20): string {
  return keys.length <= max ? keys.join(', ') : `${keys.slice(0, max).join(', ')} and ${keys.length - max} more`;
}

/** The model's geometry and head options, resolved once from the config (HF defaults applied). */
export function layoutConfig(c: ConvBertConfig): HeadLayoutConfig {
  return {
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    embedding_size: c.embedding_size,
    num_hidden_layers: c.num_hidden_layers,
    intermediate_size: c.intermediate_size,
    conv_kernel_size: c.conv_kernel_size,
    num_groups: c.num_groups,
    max_position_embeddings: c.max_position_embeddings,
    type_vocab_size: c.type_vocab_size,
    saHeads: c.saHeads,
    headDim: c.headDim,
    num_labels: c.num_labels,
    summary_use_proj: c.summaryUseProj,
    summary_proj_to_labels: c.summaryProjToLabels,
  };
}

function tiedHead(kind: HeadKind, c: ConvBertConfig): boolean {
  return kind === 'masked_lm' && c.tie_word_embeddings !== false;
}

/** Checks the config can run under this class (what HF would fail on at construction or forward). */
function checkHeadConfig(c: ConvBertConfig, cls: string): void {
  if (isConvBertArchitecture(cls)) c.validate(cls);
  else c.validate();
}

/** Random weights exactly as HF initialises a fresh model (drawn when read). */
function initWeights(kind: HeadKind, c: ConvBertConfig, seed: number): Weights {
  const lc = layoutConfig(c);
  const o = { seed, initializerRange: c.initializer_range, padTokenId: c.pad_token_id ?? null };
  const trunk = new Map<string, Loader>();
  for (const s of trunkLayout(lc)) trunk.set(s.key, () => initParam(s, o));
  const head = new Map<string, Loader>();
  for (const s of headLayout(kind, lc)) {
    if (s.key === TIED_HEAD_KEY && tiedHead(kind, c)) head.set(s.key, trunk.get(WORD_EMBEDDINGS_KEY)!);
    else head.set(s.key, () => initParam(s, o));
  }
  return { trunk, head };
}

/** Checks a checkpoint entry's shape and dtype against the layout; returns its loader. */
function checkEntry(key: string, e: CheckpointEntry, spec: ParamSpec): Loader {
  const same = e.dims.length === spec.shape.length && e.dims.every((d, i) => d === spec.shape[i]);
  if (!same) {
    throw new ConvBertError(`checkpoint weight ${key}: expected shape ${fmt(spec.shape)}, got ${fmt(e.dims)}`, 'ERR_CONVBERT_WEIGHTS');
  }
  if (e.dtype !== 'float32' && e.dtype !== 'float16' && e.dtype !== 'bfloat16') {
    throw new ConvBertError(`checkpoint weight ${key}: expected a float tensor, got ${e.dtype}`, 'ERR_CONVBERT_WEIGHTS');
  }
  return () => e.read();
}

/**
 * Maps a checkpoint onto the model's keys the way HF's base_model_prefix logic does:
 * a checkpoint whose keys carry `convbert.` has its trunk there (its other keys are
 * head keys); one without the prefix is a bare trunk (plus any head keys).
 * Only dims and dtypes are looked at here; the data is read when the engine asks.
 */
function mapCheckpoint(kind: HeadKind, c: ConvBertConfig, ck: Checkpoint, seed: number, file: string): { weights: Weights; info: LoadInfo } {
  const lc = layoutConfig(c);
  const trunkSpecs = trunkLayout(lc);
  const headSpecs = headLayout(kind, lc);
  const trunkByKey = new Map(trunkSpecs.map((s) => [s.key, s]));
  const headByKey = new Map(headSpecs.map((s) => [s.key, s]));
  const prefixed = kind !== 'none';
  let hasPrefix = false;
  for (const k of ck.keys()) if (k.startsWith(BASE_PREFIX)) hasPrefix = true;
  const tied = tiedHead(kind, c);

  const trunk = new Map<string, Loader>();
  const head = new Map<string, Loader>();
  const unexpected: string[] = [];
  for (const [k, e] of ck) {
    if (isIgnoredBuffer(k)) continue;
    let tk: string | null = null;
    if (hasPrefix && k.startsWith(BASE_PREFIX)) tk = k.slice(BASE_PREFIX.length);
    else if (!hasPrefix && trunkByKey.has(k)) tk = k;
    if (tk !== null && trunkByKey.has(tk)) {
      trunk.set(tk, checkEntry(k, e, trunkByKey.get(tk)!));
      continue;
    }
    if (tk === null && headByKey.has(k)) {
      const load = checkEntry(k, e, headByKey.get(k)!);
      // The tied weight IS the word-embedding matrix; a stored copy is only checked for shape.
      if (!(k === TIED_HEAD_KEY && tied)) head.set(k, load);
      continue;
    }
    unexpected.push(k);
  }
  const missingTrunk = trunkSpecs.filter((s) => !trunk.has(s.key)).map((s) => (prefixed ? BASE_PREFIX + s.key : s.key));
  if (missingTrunk.length > 0) {
    throw new ConvBertError(
      `checkpoint ${file} lacks ${missingTrunk.length} trunk weight(s) the config needs: ${listKeys(missingTrunk)}`,
      'ERR_CONVBERT_WEIGHTS',
    );
  }
  const missing: string[] = [];
  const o = { seed, initializerRange: c.initializer_range, padTokenId: c.pad_token_id ?? null };
  for (const s of headSpecs) {
    if (s.key === TIED_HEAD_KEY && tied) {
      head.set(s.key, trunk.get(WORD_EMBEDDINGS_KEY)!);
      continue;
    }
    if (!head.has(s.key)) {
      missing.push(s.key);
      head.set(s.key, () => initParam(s, o));
    }
  }
  // Keep the engine's key order stable: layout order.
  const headOrdered = new Map(headSpecs.map((s) => [s.key, head.get(s.key)!]));
  const trunkOrdered = new Map(trunkSpecs.map((s) => [s.key, trunk.get(s.key)!]));
  return { weights: { trunk: trunkOrdered, head: headOrdered }, info: { missing_keys: missing, unexpected_keys: unexpected } };
}

/**
 * The most encoder layers a model may have (the native engine's kMaxLayers). The deepest
 * published BERT-family encoders have 48; without a bound a 30-byte
 * `"num_hidden_layers": 1e6` listed 31 million weight specs before anything failed.
 */
export const MAX_NUM_HIDDEN_LAYERS = 1024;

/** The most elements one weight may have: it is drawn or read as one Float32Array. */
const MAX_TENSOR_ELEMENTS = bufferConstants.MAX_LENGTH;

/**
 * Refuses, from the config's numbers alone (no layout is built), a model this library
 * cannot hold: more than MAX_NUM_HIDDEN_LAYERS layers, a weight larger than one typed
 * array, or parameters that need more memory than the machine has (at the engine's
 * bytes per weight: 4 for float32 and CUDA hosts, 2 for bfloat16, 1 for int8).
 */
function checkModelSize(kind: HeadKind, c: ConvBertConfig, placement: EngineOptions, where: string): void {
  if (c.num_hidden_layers > MAX_NUM_HIDDEN_LAYERS) {
    throw new ConvBertError(
      `${where}: num_hidden_layers: expected at most ${MAX_NUM_HIDDEN_LAYERS} layers (MAX_NUM_HIDDEN_LAYERS), got ${c.num_hidden_layers}`,
      'ERR_CONVBERT_UNSUPPORTED',
    );
  }
  const V = c.vocab_size;
  const H = c.hidden_size;
  const E = c.embedding_size;
  const I = c.intermediate_size;
  const k = c.conv_kernel_size;
  const sa = c.saHeads;
  const A = c.allHeadSize;
  const n = c.headOutputs(headArchitecture(kind));
  const P = kind === 'multiple_choice' && c.summaryUseProj ? c.summaryProjOut : 0;
  // [name, elements] of the largest weight of each kind (grouped FFN weights hold I * H / G)
  const big: [string, number][] = [
    ['embeddings.word_embeddings.weight (vocab_size x embedding_size)', V * E],
    ['embeddings.position_embeddings.weight (max_position_embeddings x embedding_size)', c.max_position_embeddings * E],
    ['embeddings.token_type_embeddings.weight (type_vocab_size x embedding_size)', c.type_vocab_size * E],
    ['embeddings_project.weight (hidden_size x embedding_size)', E === H ? 0 : H * E],
    ['attention.self.query.weight (all-head size x hidden_size)', A * H],
    ['attention.self.conv_kernel_layer.weight', sa * k * A],
    ['attention.output.dense.weight (hidden_size x hidden_size)', H * H],
    ['intermediate.dense.weight (intermediate_size x hidden_size / num_groups)', (I * H) / c.num_groups],
    ['the head output layer (outputs x hidden_size)', n * Math.max(H, E)],
    ['sequence_summary.summary.weight', P * H],
  ];
  for (const [name, count] of big) {
    if (count > MAX_TENSOR_ELEMENTS) {
      throw new ConvBertError(`${where}: ${name} would have ${count} elements, more than one Float32Array holds (${MAX_TENSOR_ELEMENTS})`, 'ERR_CONVBERT_UNSUPPORTED');
    }
  }
  const perLayer = 4 * (A * H + A) + H * k + A * H + A + sa * k * A + sa * k + H * H + H + 2 * H + 2 * ((I * H) / c.num_groups) + I + H + 2 * H;
  const embeddings = (V + c.max_position_embeddings + c.type_vocab_size) * E + 2 * E + (E === H ? 0 : H * E + H);
  const head = n * Math.max(H, E) + n + H * Math.max(H, E) + 2 * E + P * H + P;
  const params = embeddings + c.num_hidden_layers * perLayer + head;
  const bytesPer = placement.device !== 'cpu' ? 4 : placement.dtype === 'int8' ? 1 : placement.dtype === 'bfloat16' ? 2 : 4;
  const total = os.totalmem();
  if (params * bytesPer > total) {
    const gb = (b: number) => (b / 2 ** 30).toPrecision(3);
    throw new ConvBertError(
      `${where}: the config makes a model of about ${params.toExponential(2)} parameters (${gb(params * bytesPer)} GiB as ${placement.dtype}), more than this machine's ${gb(total)} GiB of memory`,
      'ERR_CONVBERT_OOM',
    );
  }
}

/** The architecture whose head is `kind` (for headOutputs). */
function headArchitecture(kind: HeadKind): Parameters<ConvBertConfig['headOutputs']>[0] {
  const found = (Object.keys(ARCHITECTURE_HEADS) as (keyof typeof ARCHITECTURE_HEADS)[]).find((a) => ARCHITECTURE_HEADS[a] === kind);
  return found ?? 'ConvBertModel';
}

/**
 * Compares the config with the checkpoint's tensors before any layout is built, so a
 * config that asks for more than the file holds fails at once with the field named:
 * encoder layers (the highest `encoder.layer.N.` present), the word embeddings' shape,
 * and the classifier's rows against num_labels.
 */
function checkAgainstCheckpoint(kind: HeadKind, c: ConvBertConfig, ck: Checkpoint, file: string): void {
  let layers = 0;
  const layerRe = /(?:^|\.)encoder\.layer\.(\d+)\./;
  for (const k of ck.keys()) {
    const m = layerRe.exec(k);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (c.num_hidden_layers > layers) {
    const held = layers === 0 ? 'no encoder layers' : `encoder layers 0..${layers - 1} (${layers})`;
    throw new ConvBertError(
      `checkpoint ${file}: config num_hidden_layers = ${c.num_hidden_layers}, but the checkpoint holds ${held}; expected num_hidden_layers <= ${layers}`,
      'ERR_CONVBERT_WEIGHTS',
    );
  }
  const entry = (key: string): CheckpointEntry | undefined => ck.get(key) ?? ck.get(BASE_PREFIX + key);
  const word = entry(WORD_EMBEDDINGS_KEY);
  if (word && (word.dims.length !== 2 || word.dims[0] !== c.vocab_size || word.dims[1] !== c.embedding_size)) {
    throw new ConvBertError(
      `checkpoint ${file}: config vocab_size = ${c.vocab_size} and embedding_size = ${c.embedding_size} expect ${WORD_EMBEDDINGS_KEY} of shape ${fmt([c.vocab_size, c.embedding_size])}, got ${fmt(word.dims)}`,
      'ERR_CONVBERT_WEIGHTS',
    );
  }
  const classifier = kind === 'sequence_classification' ? 'classifier.out_proj.weight' : kind === 'token_classification' ? 'classifier.weight' : null;
  const cls = classifier ? ck.get(classifier) : undefined;
  if (classifier && cls && cls.dims[0] !== c.num_labels) {
    throw new ConvBertError(
      `checkpoint ${file}: config num_labels = ${c.num_labels}, but ${classifier} has ${cls.dims[0]} rows (shape ${fmt(cls.dims)}); set num_labels to ${cls.dims[0]} or drop the head weights`,
      'ERR_CONVBERT_WEIGHTS',
    );
  }
}

/** More names than any model has linear modules (a base model has 111); a longer list is a mistake. */
const MAX_MODULE_NAMES = 1024;

/** options.modulesToNotConvert as a fresh array of non-empty strings (which modules they match, the engine checks). */
function checkModuleNames(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw argError(`${where}: modulesToNotConvert must be an array of module names, got ${describe(v)}`);
  if (v.length > MAX_MODULE_NAMES) throw argError(`${where}: modulesToNotConvert has ${v.length} names; at most ${MAX_MODULE_NAMES}`);
  const names: string[] = [];
  // An index loop, so that a hole in a sparse array is reported like any other non-string.
  for (let i = 0; i < v.length; i++) {
    const name: unknown = v[i];
    if (typeof name !== 'string' || name === '') throw argError(`${where}: modulesToNotConvert[${i}] must be a non-empty module name, got ${describe(name)}`);
    names.push(name);
  }
  return names;
}

/**
 * dtype/device: resolves 'auto' and refuses what this build or machine cannot do instead of
 * silently running something else (ERR_CONVBERT_UNSUPPORTED, with the CUDA reason when there is one).
 * A CUDA device that is reported available is left to the native Engine, whose CUDA errors are typed too.
 */

function checkPlacement(o: { dtype?: unknown; device?: unknown; modulesToNotConvert?: unknown; engine?: NativeEngineCtor }, where: string): EngineOptions {
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16' && dtype !== 'int8') {
    throw new ConvBertError(
      `${where}: dtype ${JSON.stringify(o.dtype)} is not supported; use 'float32', 'float16', 'bfloat16' or 'int8' (or transformers.js' 'fp32', 'fp16', 'bf16', 'q8')`,
      'ERR_CONVBERT_UNSUPPORTED',
    );
  }
  const keep = checkModuleNames(o.modulesToNotConvert, where);
  let device = o.device ?? 'cpu';
  const isCuda = (d: unknown): d is 'cuda' | `cuda:${number}` => d === 'cuda' || (typeof d === 'string' && /^cuda:(0|[1-9][0-9]{0,2})$/.test(d));
  if (device !== 'cpu' && device !== 'auto' && !isCuda(device)) {
    throw new ConvBertError(`${where}: device ${JSON.stringify(o.device)} is not supported; use 'cpu', 'cuda', 'cuda:N' or 'auto'`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  // A test engine constructor decides for itself; otherwise ask the loaded addon.
  const cuda = o.engine || device === 'cpu' ? null : backendInfo().cuda;
  // int8 and per-module float32 have only a CPU engine, so 'auto' means the CPU for them.
  // The emulated CUDA build (CI's stand-in for a GPU) runs only when 'cuda' is asked for by name.
  // It takes the first usable device (defaultDevice), which is not device 0 when that one is older than sm_80.
  if (device === 'auto') device = cuda?.available && !cuda.emulated && dtype !== 'int8' && keep.length === 0 ? `cuda:${cuda.defaultDevice ?? 0}` : 'cpu';
  // The CPU engine runs float32, bfloat16 and int8 (bf16 / int8 linear layers); float16 needs CUDA.
  if (device === 'cpu' && dtype === 'float16') {
    const why = o.device === 'auto' && cuda && !cuda.available ? ` (device 'auto' chose the CPU: ${cuda.reason ?? 'no CUDA device'})` : '';
    throw new ConvBertError(`${where}: dtype '${dtype}' needs a CUDA device; the CPU engine runs 'float32', 'bfloat16' and 'int8'${why}`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  // int8 is a CPU engine (VNNI dot products); the CUDA engine has no int8 path.
  if (device !== 'cpu' && dtype === 'int8') {
    throw new ConvBertError(`${where}: dtype 'int8' runs on the CPU engine only; use device 'cpu' (got ${JSON.stringify(o.device)})`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  // Mixed precision per module is the CPU engine's; the CUDA engine converts every linear layer.
  if (device !== 'cpu' && keep.length > 0) {
    throw new ConvBertError(`${where}: modulesToNotConvert runs on the CPU engine only; use device 'cpu' (got ${JSON.stringify(o.device)})`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  if (device !== 'cpu' && cuda && !cuda.available) {
    throw new ConvBertError(`${where}: device '${device}' is not available: ${cuda.reason ?? 'no CUDA device'}`, 'ERR_CONVBERT_UNSUPPORTED');
  }
  const placement: EngineOptions = { device: device as EngineOptions['device'], dtype };
  if (keep.length > 0) placement.modulesToNotConvert = keep;
  return placement;
}

/** Resolves `dirOrFile` to the weights path and the config.json beside it. */
function resolvePaths(dirOrFile: string): { weights: string; config: string } {
  if (typeof dirOrFile !== 'string' || dirOrFile.length === 0) throw argError(`fromPretrained: dirOrFile must be a path, got ${typeof dirOrFile}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(dirOrFile);
  } catch (e) {
    throw new ConvBertError(`fromPretrained: cannot read ${dirOrFile}: ${(e as Error).message}`, 'ERR_CONVBERT_IO', { cause: e });
  }
  if (st.isDirectory()) return { weights: dirOrFile, config: path.join(dirOrFile, 'config.json') };
  return { weights: dirOrFile, config: path.join(path.dirname(dirOrFile), 'config.json') };
}

/**
 * A model is callable, as in transformers.js: `await model(inputs, options)` is
 * `await model.forward(inputs, options)`. The signature is read from `this['forward']`,
 * so each class's call takes and gives that class's own inputs and outputs.
 */
export interface ConvBertPreTrainedModel {
  (...args: Parameters<this['forward']>): ReturnType<this['forward']>;
}

export abstract class ConvBertPreTrainedModel extends CallableModel {
  /** Which head the engine runs; each subclass sets it. */
  static readonly headKind: HeadKind = 'none';
  /** HF's base_model_prefix. */
  static readonly baseModelPrefix = 'convbert';

  readonly config: ConvBertConfig;
  /** Keys fromPretrained could not fill (initialised randomly) and checkpoint keys it did not use. */
  readonly loadInfo: LoadInfo;
  #engine: NativeEngine | null;
  #device: string;
  #dtype: ModelDtype;
  #float32Modules: string[];
  readonly #source: WeightSource;

  /** @internal Use fromPretrained or fromConfig. */
  constructor(init: ModelInit) {
    super();
    const kind = (this.constructor as ModelClass<ConvBertPreTrainedModel>).headKind;
    this.config = init.config;
    this.loadInfo = init.loadInfo;
    this.#source = init.source;
    const Engine = init.engine ?? (native().Engine as NativeEngineCtor | undefined);
    if (typeof Engine !== 'function') {
      throw new ConvBertError('this build of the native addon has no Engine (rebuild the addon)', 'ERR_CONVBERT_UNSUPPORTED');
    }
    this.#engine = init.placement ? new Engine(this.engineSpec(kind, init.weights), init.placement) : new Engine(this.engineSpec(kind, init.weights));
    this.#device = this.#engine.device ?? 'cpu';
    this.#dtype = (this.#engine.dtype ?? init.placement?.dtype ?? 'float32') as ModelDtype;
    this.#float32Modules = [...(this.#engine.float32Modules ?? [])];
  }

  /** Where the engine runs: 'cpu' or 'cuda:N' (kept after dispose()). */
  get device(): string {
    return this.#device;
  }

  /** The engine's linear-layer weight type: 'float32', 'float16', 'bfloat16' or 'int8' (kept after dispose()). */
  get dtype(): ModelDtype {
    return this.#dtype;
  }

  /**
   * HF names of the linear modules that `modulesToNotConvert` kept in float32 (empty without it; kept
   * after dispose()). With dtype 'float32' every module is float32 anyway; these are the ones named.
   */
  get float32Modules(): string[] {
    return [...this.#float32Modules];
  }

  private engineSpec(kind: HeadKind, w: Weights): EngineSpec {
    const c = this.config;
    const head: EngineSpec['head'] = { kind, weights: lazyRecord(w.head), num_outputs: this.numOutputs() };
    if (kind === 'sequence_classification') head.act = c.hiddenActCode;
    if (kind === 'multiple_choice') {
      head.summary_type = c.summaryType;
      head.summary_use_proj = c.summaryUseProj;
      head.summary_proj_out = c.summaryProjOut;
      head.summary_act = c.summaryActCode;
    }
    return { ...c.engineGeometry(), weights: lazyRecord(w.trunk), head };
  }

  /** Head output width per trunk row (vocab, num_labels, 2 for QA, 1 for multiple choice); 0 for none. */
  protected numOutputs(): number {
    return 0;
  }

  /**
   * Loads config.json and the weights (model.safetensors, a sharded index, or
   * pytorch_model.bin; or the weights file given). Head weights the checkpoint
   * lacks are initialised as HF does and listed in a warning (code
   * CONVBERT_MISSING_WEIGHTS) and in `model.loadInfo.missing_keys`.
   */
  static async fromPretrained<T extends ConvBertPreTrainedModel>(this: ModelClass<T>, dirOrFile: string, opts: FromPretrainedOptions = {}): Promise<T> {
    const options = readModelOptions<FromPretrainedOptions>('fromPretrained', opts, FROM_PRETRAINED_KEYS);
    const placement = checkPlacement(options, 'fromPretrained');
    // A Hub repo id ("org/name") is downloaded into huggingface_hub's cache first; local paths are used as they are.
    if (typeof dirOrFile === 'string' && dirOrFile !== '' && !fs.existsSync(dirOrFile)) dirOrFile = await resolveModelPath(dirOrFile, options);
    const p = resolvePaths(dirOrFile);
    const config = options.config ?? (await ConvBertConfig.fromPretrained(p.config));
    checkHeadConfig(config, this.name);
    const seed = options.seed ?? SEED_DEFAULT;
    if (!Number.isSafeInteger(seed)) throw argError(`fromPretrained: seed must be an integer, got ${String(seed)}`);
    // The native Engine constructor copies or packs each weight before it reads the next, so one read
    // buffer serves them all. A test engine may keep the arrays it is given: it gets fresh ones.
    const { file, checkpoint } = await openCheckpoint(p.weights, { reuseReadBuffer: options.engine === undefined });
    checkAgainstCheckpoint(this.headKind, config, checkpoint, dirOrFile);
    checkModelSize(this.headKind, config, placement, 'fromPretrained');
    const { weights, info } = mapCheckpoint(this.headKind, config, checkpoint, seed, dirOrFile);
    if (info.missing_keys.length > 0) {
      process.emitWarning(
        `${this.name}: ${info.missing_keys.length} weight(s) are not in ${dirOrFile} and were initialised randomly ` +
          `(normal(0, ${config.initializer_range}), seed ${seed}): ${listKeys(info.missing_keys)}. Train or load them before trusting the outputs.`,
        { code: 'CONVBERT_MISSING_WEIGHTS' },
      );
    }
    const archs = config.architectures ?? [];
    if (info.unexpected_keys.length > 0 && archs.includes(this.name)) {
      process.emitWarning(`${this.name}: ${info.unexpected_keys.length} weight(s) in ${dirOrFile} were not used: ${listKeys(info.unexpected_keys)}`, {
        code: 'CONVBERT_UNEXPECTED_WEIGHTS',
      });
    }
    return new this({ config, weights, loadInfo: info, source: { kind: 'file', file, seed }, engine: options.engine, placement });
  }

  /** A fresh model with HF's initialisation, deterministic for `seed`. */
  static fromConfig<T extends ConvBertPreTrainedModel>(this: ModelClass<T>, config: ConvBertConfig | Record<string, unknown>, opts: FromConfigOptions = {}): T {
    const options = readModelOptions<FromConfigOptions>('fromConfig', opts, FROM_CONFIG_KEYS);
    const placement = checkPlacement(options, 'fromConfig');
    const cfg = config instanceof ConvBertConfig ? config : ConvBertConfig.fromDict(config);
    checkHeadConfig(cfg, this.name);
    const seed = options.seed ?? SEED_DEFAULT;
    if (!Number.isSafeInteger(seed)) throw argError(`fromConfig: seed must be an integer, got ${String(seed)}`);
    checkModelSize(this.headKind, cfg, placement, 'fromConfig');
    const weights = initWeights(this.headKind, cfg, seed);
    return new this({ config: cfg, weights, loadInfo: { missing_keys: [], unexpected_keys: [] }, source: { kind: 'seed', seed }, engine: options.engine, placement });
  }

  /** The model's weights by HF key (trunk under `convbert.` for heads), the tied LM weight left out like HF. */
  async stateDict(): Promise<StateDict> {
    this.checkAlive('stateDict');
    const kind = (this.constructor as ModelClass<ConvBertPreTrainedModel>).headKind;
    let w: Weights;
    if (this.#source.kind === 'seed') w = initWeights(kind, this.config, this.#source.seed);
    else {
      const { checkpoint } = await openCheckpoint(this.#source.file);
      w = mapCheckpoint(kind, this.config, checkpoint, this.#source.seed, this.#source.file).weights;
    }
    const lc = layoutConfig(this.config);
    const out: StateDict = new Map();
    const prefix = kind === 'none' ? '' : BASE_PREFIX;
    for (const s of trunkLayout(lc)) out.set(prefix + s.key, new Tensor('float32', w.trunk.get(s.key)!(), s.shape));
    for (const s of headLayout(kind, lc)) {
      if (s.key === TIED_HEAD_KEY && tiedHead(kind, this.config)) continue;
      out.set(s.key, new Tensor('float32', w.head.get(s.key)!(), s.shape));
    }
    return out;
  }

  /** Writes config.json and model.safetensors in HF's layout (HF's from_pretrained loads them). */
  async savePretrained(dir: string): Promise<void> {
    this.checkAlive('savePretrained');
    const sd = await this.stateDict();
    await fs.promises.mkdir(dir, { recursive: true });
    // Like save_pretrained: the config names the class that saved it.
    const cfg = this.config.clone();
    cfg.architectures = [(this.constructor as ModelClass<ConvBertPreTrainedModel>).name];
    await cfg.save(dir);
    await saveStateDict(dir, sd);
  }

  /** True once dispose() ran. */
  get disposed(): boolean {
    return this.#engine === null;
  }

  /** Native memory held by the engine (weights and arena), in bytes; 0 after dispose(). */
  get nativeBytes(): number {
    return this.#engine ? this.#engine.nativeBytes : 0;
  }

  /** Frees the native weights and workspace now; later calls throw ERR_CONVBERT_DISPOSED. */
  dispose(): void {
    if (this.#engine) {
      this.#engine.dispose();
      this.#engine = null;
    }
  }

  protected checkAlive(what: string): NativeEngine {
    if (!this.#engine) {
      throw new ConvBertError(`${this.constructor.name}.${what}: the model was disposed`, 'ERR_CONVBERT_DISPOSED');
    }
    return this.#engine;
  }

  /** 2 for (B, L) inputs, 3 for multiple choice's (B, C, L). */
  protected batchRank(): 2 | 3 {
    return 2;
  }

  /** Label input names this head accepts. */
  protected labelKeys(): readonly string[] {
    return [];
  }

  /** Validates this head's labels against the trunk inputs; returns them parsed (or null when absent). */
  protected readLabels(_inputs: ConvBertInputs, _trunk: TrunkInputs): unknown {
    return null;
  }

  /** Length of the engine's head output for `rows` rows of length L. */
  protected logitsLength(_rows: number, _L: number): number {
    return 0;
  }

  /** Builds this head's output object from the filled request. */
  protected abstract buildOutput(p: PreparedForward): ModelOutputBase;

  protected prepare(inputs: ConvBertInputs, opts: ForwardOptions | undefined): PreparedForward {
    const o = opts ?? {};
    if (typeof o !== 'object') throw argError(`${this.constructor.name}.forward: options must be an object, got ${typeof o}`);
    for (const k of Object.keys(o)) {
      if (k !== 'output_hidden_states' && k !== 'output_attentions') {
        throw argError(`${this.constructor.name}.forward: unknown option '${k}'; expected output_hidden_states, output_attentions`);
      }
      const v = (o as Record<string, unknown>)[k];
      if (v !== undefined && typeof v !== 'boolean') throw argError(`${k}: expected a boolean, got ${typeof v}`);
    }
    const c = this.config;
    // Like HF, options left out fall back to the config's output_hidden_states / output_attentions.
    const wantHidden = o.output_hidden_states ?? c.output_hidden_states === true;
    const wantAttn = o.output_attentions ?? c.output_attentions === true;
    const trunk = readTrunkInputs(c, inputs, this.batchRank(), this.labelKeys(), this.constructor.name);
    const labels = this.readLabels(inputs, trunk);
    const { rows, L } = trunk;
    const H = c.hidden_size;
    const nl = c.num_hidden_layers;
    const sa = c.saHeads;
    const kind = (this.constructor as ModelClass<ConvBertPreTrainedModel>).headKind;
    let cls_index: Int32Array | null = null;
    if (kind === 'multiple_choice' && c.summaryType === 'cls_index') {
      // HF's multiple-choice head passes no cls_index, so SequenceSummary takes the last position.
      cls_index = new Int32Array(rows).fill(L - 1);
    }
    const req: ForwardRequest = {
      B: rows,
      L,
      input_ids: trunk.input_ids,
      inputs_embeds: trunk.inputs_embeds,
      token_type_ids: trunk.token_type_ids,
      position_ids: trunk.position_ids,
      attention_mask: trunk.attention_mask,
      attention_mask_rank: trunk.attention_mask_rank,
      head_mask: trunk.head_mask,
      cls_index,
      outputs: {
        last_hidden_state: outputArray(rows * L * H, `last_hidden_state [${rows}, ${L}, ${H}]`),
        logits: kind === 'none' ? null : outputArray(this.logitsLength(rows, L), `the ${kind} logits of ${rows} rows of ${L} tokens`),
        hidden_states: wantHidden ? Array.from({ length: nl + 1 }, () => outputArray(rows * L * H, `hidden_states [${rows}, ${L}, ${H}]`)) : null,
        attentions: wantAttn ? Array.from({ length: nl }, () => outputArray(rows * sa * L * L, `attentions [${rows}, ${sa}, ${L}, ${L}]`)) : null,
      },
    };
    return { trunk, req, opts: o, labels };
  }

  /** hidden_states and attentions as Tensors, when asked for. */
  protected extras(p: PreparedForward): ModelOutputBase {
    const { rows, L } = p.trunk;
    const H = this.config.hidden_size;
    const sa = this.config.saHeads;
    const out: ModelOutputBase = {};
    if (p.req.outputs.hidden_states) out.hidden_states = p.req.outputs.hidden_states.map((a) => new Tensor('float32', a, [rows, L, H]));
    if (p.req.outputs.attentions) out.attentions = p.req.outputs.attentions.map((a) => new Tensor('float32', a, [rows, sa, L, L]));
    return out;
  }

  /** `model(inputs, options)`: the same as forward. */
  protected _call(inputs: ConvBertInputs, options?: ForwardOptions): Promise<ModelOutputBase> {
    return this.forward(inputs, options);
  }

  /** Runs the model on a worker thread: ONE native call for the whole forward pass. */
  async forward(inputs: ConvBertInputs, options?: ForwardOptions): Promise<ModelOutputBase> {
    const engine = this.checkAlive('forward');
    const p = this.prepare(inputs, options);
    try {
      await engine.forward(p.req);
    } catch (e) {
      throw rethrow(e);
    }
    return this.buildOutput(p);
  }

  /** The same, blocking the calling thread: only for code already on a worker_threads worker. */
  forwardSync(inputs: ConvBertInputs, options?: ForwardOptions): ModelOutputBase {
    const engine = this.checkAlive('forwardSync');
    const p = this.prepare(inputs, options);
    try {
      engine.forwardSync(p.req);
    } catch (e) {
      throw rethrow(e);
    }
    return this.buildOutput(p);
  }

  /**
   * Runs unpadded sequences of different lengths in ONE varlen forward (the engine's
   * cu_seqlens mode): each row's outputs equal that row run alone, with no compute
   * on padding. Resolves with one object per row holding this head's outputs with
   * batch dim 1 (e.g. logits [1, L_row, V]; sequence classification [1, num_labels]).
   * Batchers and pipelines use it; most callers want forward().
   */
  async forwardPacked(rows: readonly PackedRow[]): Promise<PackedRowOutput[]> {
    const engine = this.checkAlive('forwardPacked');
    const kind = (this.constructor as ModelClass<ConvBertPreTrainedModel>).headKind;
    if (kind === 'multiple_choice') {
      throw new ConvBertError('ConvBertForMultipleChoice.forwardPacked: rows have no choices; use forward with (B, C, L) inputs', 'ERR_CONVBERT_UNSUPPORTED');
    }
    const c = this.config;
    if (!Array.isArray(rows) || rows.length === 0) throw argError(`forwardPacked: rows must be a non-empty array, got ${Array.isArray(rows) ? 'an empty array' : typeof rows}`);
    const B = rows.length;
    const cu = new Int32Array(B + 1);
    const ids: Int32Array[] = [];
    const types: Array<Int32Array | null> = [];
    // Rows usually come from a tokenizer as Int32Arrays: take them as 1-D int32 tensors.
    const asInput = (v: Int32Array | TensorInput): TensorInput => (v instanceof Int32Array ? new Tensor('int32', v, [v.length]) : v);
    rows.forEach((r, b) => {
      if (r === null || typeof r !== 'object') throw argError(`rows[${b}]: expected { input_ids, token_type_ids? }, got ${r === null ? 'null' : typeof r}`);
      const x = readInput(`rows[${b}].input_ids`, asInput(r.input_ids), 'int');
      if (x.dims.length !== 1 || x.dims[0] === 0) throw shapeError(`rows[${b}].input_ids: expected a non-empty 1-D sequence, got dims ${fmtDims(x.dims)}`);
      const n = x.dims[0];
      if (n > c.max_position_embeddings) throw shapeError(`rows[${b}].input_ids: sequence length ${n} exceeds max_position_embeddings ${c.max_position_embeddings}`);
      ids.push(idsInRange(`rows[${b}].input_ids`, x, c.vocab_size, 'vocab_size'));
      if (r.token_type_ids !== undefined && r.token_type_ids !== null) {
        const tt = readInput(`rows[${b}].token_type_ids`, asInput(r.token_type_ids), 'int');
        if (!sameDims(tt.dims, x.dims)) throw shapeError(`rows[${b}].token_type_ids: expected dims ${fmtDims(x.dims)} like input_ids, got ${fmtDims(tt.dims)}`);
        types.push(idsInRange(`rows[${b}].token_type_ids`, tt, c.type_vocab_size, 'type_vocab_size'));
      } else types.push(null);
      cu[b + 1] = cu[b] + n;
    });
    const T = cu[B];
    let L = 0;
    for (let b = 0; b < B; b++) L = Math.max(L, cu[b + 1] - cu[b]);
    const input_ids = new Int32Array(T);
    const token_type_ids = new Int32Array(T);
    const position_ids = new Int32Array(T);
    for (let b = 0; b < B; b++) {
      input_ids.set(ids[b], cu[b]);
      if (types[b]) token_type_ids.set(types[b]!, cu[b]);
      for (let i = cu[b]; i < cu[b + 1]; i++) position_ids[i] = i - cu[b];
    }
    const H = c.hidden_size;
    const n = this.numOutputs();
    const perSeq = kind === 'sequence_classification';
    const req: ForwardRequest = {
      B,
      L,
      input_ids,
      inputs_embeds: null,
      token_type_ids,
      position_ids,
      attention_mask: null,
      attention_mask_rank: 0,
      head_mask: null,
      cls_index: null,
      cu_seqlens: cu,
      outputs: {
        last_hidden_state: outputArray(T * H, `last_hidden_state [${T}, ${H}]`),
        logits: kind === 'none' ? null : outputArray((perSeq ? B : T) * n, `the ${kind} logits of ${perSeq ? B : T} ${perSeq ? 'rows' : 'tokens'} x ${n}`),
        hidden_states: null,
        attentions: null,
      },
    };
    try {
      await engine.forward(req);
    } catch (e) {
      throw rethrow(e);
    }
    const out: PackedRowOutput[] = [];
    const logits = req.outputs.logits;
    for (let b = 0; b < B; b++) {
      const s = cu[b];
      const len = cu[b + 1] - s;
      switch (kind) {
        case 'none':
          out.push({ last_hidden_state: new Tensor('float32', req.outputs.last_hidden_state.slice(s * H, (s + len) * H), [1, len, H]) });
          break;
        case 'sequence_classification':
          out.push({ logits: new Tensor('float32', logits!.slice(b * n, (b + 1) * n), [1, n]) });
          break;
        case 'question_answering': {
          const st = new Float32Array(len);
          const en = new Float32Array(len);
          for (let i = 0; i < len; i++) {
            st[i] = logits![2 * (s + i)];
            en[i] = logits![2 * (s + i) + 1];
          }
          out.push({ start_logits: new Tensor('float32', st, [1, len]), end_logits: new Tensor('float32', en, [1, len]) });
          break;
        }
        default:
          out.push({ logits: new Tensor('float32', logits!.slice(s * n, (s + len) * n), [1, len, n]) });
      }
    }
    return out;
  }
}

/**
 * A zeroed output array of n floats. Its size comes from the request (rows x length x
 * width), so one that no Float32Array can hold is ERR_CONVBERT_LIMIT and one the heap
 * cannot give is ERR_CONVBERT_OOM, both naming the output, never a bare RangeError.
 */
function outputArray(n: number, what: string): Float32Array {
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new ConvBertError(
      `forward: ${what} would hold ${n} floats, more than one Float32Array holds (${MAX_TENSOR_ELEMENTS}); run fewer or shorter rows per call`,
      'ERR_CONVBERT_LIMIT',
    );
  }
  try {
    return new Float32Array(n);
  } catch (e) {
    throw new ConvBertError(`forward: cannot allocate ${what} (${n} floats): ${(e as Error).message}`, 'ERR_CONVBERT_OOM', { cause: e });
  }
}

/** Native rejections keep their code; the stack is the caller's (the native one has no JS frames). */
function rethrow(e: unknown): unknown {
  if (e instanceof Error) {
    const err = e as Error;
    Error.captureStackTrace?.(err, rethrow);
  }
  return e;
}

/** A 0-d float32 loss tensor. */
export function lossTensor(v: number): Tensor<'float32'> {
  return new Tensor('float32', new Float32Array([v]), []);
}
