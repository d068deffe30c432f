// base.ts: ConvBertPreTrainedModel, what the six ConvBERT classes share: the
// lifecycle (fromPretrained, fromConfig, stateDict, savePretrained, dispose) and
// forward(): validate in TS, make ONE native engine call that writes into
// preallocated outputs, then build the head's outputs (and loss) in TS. Where the
// weights come from is checkpoint_map.ts, where the engine runs placement.ts, the
// size limits limits.ts, and the packed rows of forwardPacked packed.ts.
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertConfig, isConvBertArchitecture } from '../config';
import { ConvBertError, argError } from '../errors';
import { native } from '../native';
import { Tensor } from '../tensor';
import { resolveModelPath } from '../hub';
import { saveStateDict, type StateDict } from '../weights';
import { openCheckpoint } from './checkpoint';
import {
  checkAgainstCheckpoint,
  initWeights,
  lazyRecord,
  listKeys,
  mapCheckpoint,
  rebuildWeights,
  toStateDict,
  type LoadInfo,
  type WeightSource,
  type Weights,
} from './checkpoint_map';
import { type EngineOptions, type EngineSpec, type ForwardRequest, type HeadKind, type NativeEngine, type NativeEngineCtor } from '../engine_types';
import { CallableModel } from './callable';
import { readTrunkInputs, type ConvBertInputs, type ForwardOptions, type TrunkInputs } from './inputs';
import { checkModelSize, outputArray } from './limits';
import { FROM_CONFIG_KEYS, FROM_PRETRAINED_KEYS, readModelOptions, type FromConfigOptions, type FromPretrainedOptions } from './load_options';
import { packRows, type PackedBatch, type PackedRow, type PackedRowOutput } from './packed';
import { checkPlacement, type ModelDtype } from './placement';

// Kept where importers outside lib/models found them before the split.
export type { LoadInfo } from './checkpoint_map';
export type { ModelDevice, ModelDtype, PretrainedDtype, TransformersJsDtype } from './placement';
export type { FromConfigOptions, FromPretrainedOptions } from './load_options';
export type { PackedRow, PackedRowOutput } from './packed';

/** Outputs every head may return (HF's names); each class narrows this. */
export interface ModelOutputBase {
  /** num_hidden_layers + 1 tensors (rows, L, hidden); entry 0 is the embedding output. */
  hidden_states?: Tensor<'float32'>[];
  /** num_hidden_layers tensors (rows, sa_heads, L, L), after head_mask. */
  attentions?: Tensor<'float32'>[];
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

/** Checks the config can run under this class (what HF would fail on at construction or forward). */
function checkHeadConfig(c: ConvBertConfig, cls: string): void {
  if (isConvBertArchitecture(cls)) c.validate(cls);
  else c.validate();
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
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- adds the call signature; CallableModel's constructor makes it true
export interface ConvBertPreTrainedModel {
  (...args: Parameters<this['forward']>): ReturnType<this['forward']>;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
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
  #modulesToNotConvert: string[];
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
    // The native Engine reports the modules it kept in float32, by full name.
    this.#modulesToNotConvert = [...(this.#engine.modulesToNotConvert ?? [])];
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
  get modulesToNotConvert(): string[] {
    return [...this.#modulesToNotConvert];
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

  /** transformers.js's spelling of fromPretrained. */
  static from_pretrained<T extends ConvBertPreTrainedModel>(this: ModelClass<T>, dirOrFile: string, opts: FromPretrainedOptions = {}): Promise<T> {
    return ConvBertPreTrainedModel.fromPretrained.call(this, dirOrFile, opts) as Promise<T>;
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
    return toStateDict(kind, this.config, await rebuildWeights(kind, this.config, this.#source));
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
    const p = packRows(this.config, rows);
    const { B, T } = p;
    const H = this.config.hidden_size;
    const n = this.numOutputs();
    const perSeq = this.packedPerSequence();
    const req: ForwardRequest = {
      B,
      L: p.L,
      input_ids: p.input_ids,
      inputs_embeds: null,
      token_type_ids: p.token_type_ids,
      position_ids: p.position_ids,
      attention_mask: null,
      attention_mask_rank: 0,
      head_mask: null,
      cls_index: null,
      cu_seqlens: p.cu_seqlens,
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
    return Array.from({ length: B }, (_, b) => this.packedRowOutput(req.outputs, p, b));
  }

  /** True when the head gives one output row per sequence (sequence classification), false for one per token. */
  protected packedPerSequence(): boolean {
    return false;
  }

  /** Row b's outputs of a filled varlen request, batch dim 1 (each head cuts out its own). */
  protected abstract packedRowOutput(outputs: ForwardRequest['outputs'], p: PackedBatch, b: number): PackedRowOutput;
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
