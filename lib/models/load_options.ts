// load_options.ts: the options objects of fromPretrained and fromConfig (and of the
// Auto classes, which pass them on): their fields, the keys each knows, and the reader
// that refuses an unknown key by name and renames transformers.js' spellings to ours.
import type { ConvBertConfig } from '../config';
import { argError } from '../errors';
import type { NativeEngineCtor } from '../engine_types';
import type { HubOptions } from '../hub';
import { HUB_OPTION_ALIASES, checkOptionKeys, normalizeAliases, type TransformersJsHubOptions } from '../options';
import { describe } from '../validate';
import type { ModelDevice, PretrainedDtype } from './placement';

export interface FromPretrainedOptions extends Partial<Pick<HubOptions, 'revision' | 'cacheDir' | 'token' | 'localFilesOnly' | 'endpoint' | 'progress'>>, TransformersJsHubOptions {
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
   * four. A name that matches no linear module is an error; `model.modulesToNotConvert` lists what matched.
   */
  modulesToNotConvert?: readonly string[];
  /** Where the engine runs: 'cpu' (default), 'cuda' (= 'cuda:0'), 'cuda:N', or 'auto' (cuda:<backendInfo().cuda.defaultDevice>, the first usable device, when backendInfo().cuda.available, else the CPU). */
  device?: ModelDevice;
  /** Seed for head weights the checkpoint lacks (they are drawn as HF initialises them). Default 0. */
  seed?: number;
  /** @internal Engine constructor to use instead of the native addon's (tests only). */
  engine?: NativeEngineCtor;
}

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
