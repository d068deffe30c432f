// auto.ts: the Auto classes of transformers / transformers.js (AutoConfig,
// AutoTokenizer, AutoModel, AutoModelFor<Task>), each with fromPretrained and the
// from_pretrained alias. config.json picks the family: model_type "convbert", or,
// when model_type is absent, ConvBERT class names in `architectures` (HF's own
// fallback). Any other model type is ERR_CONVBERT_UNSUPPORTED naming what this
// library runs, before any weight is read. AutoModel is the bare trunk, as in HF.
import * as fs from 'fs';
import * as path from 'path';

import { ARCHITECTURE_HEADS, ConvBertConfig, isConvBertArchitecture } from './config';
import { ConvBertError, argError } from './errors';
import { readTextFile } from './files';
import { hfHubDownload, resolveModelPath, resolveTokenizerPath, type HubOptions } from './hub';
import { type ConvBertPreTrainedModel } from './models/base';
import { FROM_CONFIG_KEYS, FROM_PRETRAINED_KEYS, readModelOptions, type FromConfigOptions, type FromPretrainedOptions } from './models/load_options';
import { ConvBertModel } from './models/convbert';
import { ConvBertForMaskedLM } from './models/heads/masked_lm';
import { ConvBertForMultipleChoice } from './models/heads/multiple_choice';
import { ConvBertForQuestionAnswering } from './models/heads/question_answering';
import { ConvBertForSequenceClassification } from './models/heads/sequence_classification';
import { ConvBertForTokenClassification } from './models/heads/token_classification';
import { HUB_OPTION_ALIASES, checkOptionKeys, normalizeAliases, type TransformersJsHubOptions } from './options';
import { type TokenizerHubOptions, type TokenizerOptions } from './tokenizer/options';
import { describe } from './validate';
import { ConvBertTokenizer } from './tokenizer/convbert';
import { ConvBertTokenizerFast, type ConvBertTokenizerFastOptions } from './tokenizer/fast';

/** The model types the Auto classes load (HF's model_type). */
export const SUPPORTED_MODEL_TYPES = Object.freeze(['convbert'] as const);

/** tokenizer_config.json tokenizer_class values this library's WordPiece tokenizers implement (ConvBERT's is BERT's). */
export const SUPPORTED_TOKENIZER_CLASSES = Object.freeze(['ConvBertTokenizer', 'ConvBertTokenizerFast', 'BertTokenizer', 'BertTokenizerFast'] as const);

const HUB_KEYS: readonly string[] = ['revision', 'cacheDir', 'token', 'localFilesOnly', 'endpoint', 'progress', ...Object.keys(HUB_OPTION_ALIASES)];

type HubPick = Partial<Pick<HubOptions, 'revision' | 'cacheDir' | 'token' | 'localFilesOnly' | 'endpoint' | 'progress'>> & TransformersJsHubOptions;

/** AutoConfig.fromPretrained's options: where a Hub id is fetched from. */
export type AutoConfigOptions = HubPick;

/** AutoTokenizer.fromPretrained's options: tokenizer overrides, Hub settings, and which implementation. */
export type AutoTokenizerOptions = Partial<ConvBertTokenizerFastOptions> &
  TokenizerHubOptions & {
    /** true (default, as HF): ConvBertTokenizerFast, the native core; false: ConvBertTokenizer (TypeScript). */
    use_fast?: boolean;
  };

function supportedList(): string {
  return `model_type ${SUPPORTED_MODEL_TYPES.map((t) => JSON.stringify(t)).join(', ')} (${Object.keys(ARCHITECTURE_HEADS).join(', ')})`;
}

function unsupported(message: string): ConvBertError {
  return new ConvBertError(message, 'ERR_CONVBERT_UNSUPPORTED');
}

/**
 * Refuses a config.json of another model family, naming what it is and what is supported.
 * HF's AutoConfig reads model_type; without one it looks for a known name in the
 * architectures (here: the ConvBERT classes). `requireType` false accepts neither.
 */
export function checkModelType(obj: unknown, where: string, requireType = true): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return; // ConvBertConfig names what is wrong with it
  const o = obj as Record<string, unknown>;
  const mt = o.model_type;
  if (mt !== undefined) {
    if (typeof mt === 'string' && (SUPPORTED_MODEL_TYPES as readonly string[]).includes(mt)) return;
    throw unsupported(`${where}: model_type ${describe(mt)} is not supported; this library runs ${supportedList()}`);
  }
  const archs = o.architectures;
  if (Array.isArray(archs) && archs.length > 0) {
    const other = archs.filter((a) => !isConvBertArchitecture(a));
    if (other.length === 0) return;
    throw unsupported(`${where}: no model_type, and architectures names ${other.map((a) => JSON.stringify(a)).join(', ')}; this library runs ${supportedList()}`);
  }
  // A dict given to fromConfig is a ConvBERT config by the call itself; a config.json must say what it is.
  if (!requireType) return;
  throw unsupported(`${where}: neither model_type nor architectures says which model this is; expected model_type "convbert" (this library runs ${supportedList()})`);
}

function checkOptionsObject(where: string, o: unknown): Record<string, unknown> {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw argError(`${where}: options: expected an object, got ${describe(o)}`);
  return o as Record<string, unknown>;
}

/** The Hub settings among already-normalised options. */
function hubOf(o: Record<string, unknown>): HubOptions {
  const h: Record<string, unknown> = {};
  for (const k of ['revision', 'cacheDir', 'token', 'localFilesOnly', 'endpoint', 'progress']) if (o[k] !== undefined) h[k] = o[k];
  return h as HubOptions;
}

function checkId(where: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || id === '') throw argError(`${where}: expected a Hub repo id like "org/name" or a local folder, got ${describe(id)}`);
}

/** config.json of a folder, of the folder holding a file, or fetched for a Hub id. */
async function configFile(where: string, idOrPath: string, hub: HubOptions): Promise<string> {
  if (fs.existsSync(idOrPath)) {
    const st = fs.statSync(idOrPath);
    if (!st.isDirectory()) return path.basename(idOrPath) === 'config.json' ? idOrPath : path.join(path.dirname(idOrPath), 'config.json');
    return path.join(idOrPath, 'config.json');
  }
  try {
    return await hfHubDownload(idOrPath, 'config.json', hub);
  } catch (e) {
    if (e instanceof ConvBertError && e.code === 'ERR_CONVBERT_ARG') {
      throw new ConvBertError(`${where}: ${JSON.stringify(idOrPath)} is neither an existing file or folder nor a Hub repo id like "org/name"`, 'ERR_CONVBERT_IO', { cause: e });
    }
    throw e;
  }
}

/** Reads and checks config.json: the family first (ERR_CONVBERT_UNSUPPORTED), then ConvBertConfig's own checks. */
async function loadConfig(where: string, file: string): Promise<ConvBertConfig> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (e) {
    if (e instanceof ConvBertError) throw e;
    throw new ConvBertError(`${where}: cannot read ${file}: ${(e as Error).message}`, 'ERR_CONVBERT_IO', { cause: e });
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ConvBertError(`${file}: not valid JSON (${(e as Error).message})`, 'ERR_CONVBERT_CONFIG', { cause: e });
  }
  checkModelType(obj, file);
  return ConvBertConfig.fromPretrained(file);
}

/** transformers' AutoConfig: config.json of a ConvBERT model (a folder, a config file, or a Hub id). */
export class AutoConfig {
  static async fromPretrained(idOrPath: string, options?: AutoConfigOptions): Promise<ConvBertConfig> {
    const where = 'AutoConfig.fromPretrained';
    checkId(where, idOrPath);
    const o = checkOptionsObject(where, options);
    checkOptionKeys(where, o, HUB_KEYS);
    return loadConfig(where, await configFile(where, idOrPath, hubOf(normalizeAliases(where, o))));
  }

  /** transformers.js' spelling of fromPretrained. */
  static from_pretrained(idOrPath: string, options?: AutoConfigOptions): Promise<ConvBertConfig> {
    return AutoConfig.fromPretrained(idOrPath, options);
  }

  /** A config from a plain object (checked like config.json): HF's AutoConfig.for_model. */
  static fromDict(obj: Record<string, unknown>): ConvBertConfig {
    checkModelType(obj, 'AutoConfig.fromDict', false);
    return ConvBertConfig.fromDict(obj);
  }
}

/** The static side of a model class the Auto classes build. */
interface ModelStatics<T extends ConvBertPreTrainedModel> {
  readonly name: string;
  fromPretrained(dirOrFile: string, options?: FromPretrainedOptions): Promise<T>;
  fromConfig(config: ConvBertConfig | Record<string, unknown>, options?: FromConfigOptions): T;
}

/** What every AutoModel* class has. */
export interface AutoModelClass<T extends ConvBertPreTrainedModel> {
  /** The class it builds. */
  readonly modelClass: ModelStatics<T>;
  /** config.json (model_type "convbert") and the weights of a folder, a weights file or a Hub id. */
  fromPretrained(idOrPath: string, options?: FromPretrainedOptions): Promise<T>;
  /** transformers.js' spelling of fromPretrained. */
  from_pretrained(idOrPath: string, options?: FromPretrainedOptions): Promise<T>;
  /** A fresh model with HF's initialisation (HF's AutoModel.from_config). */
  fromConfig(config: ConvBertConfig | Record<string, unknown>, options?: FromConfigOptions): T;
  /** transformers' spelling of fromConfig. */
  from_config(config: ConvBertConfig | Record<string, unknown>, options?: FromConfigOptions): T;
}

function autoModel<T extends ConvBertPreTrainedModel>(autoName: string, cls: ModelStatics<T>): AutoModelClass<T> {
  const fromPretrained = async (idOrPath: string, options?: FromPretrainedOptions): Promise<T> => {
    const where = `${autoName}.fromPretrained`;
    checkId(where, idOrPath);
    // Keys are checked before anything is fetched: a typo must not cost a download.
    const o = readModelOptions<FromPretrainedOptions>(where, options, FROM_PRETRAINED_KEYS);
    const hub = hubOf(o as Record<string, unknown>);
    let local = idOrPath;
    if (!fs.existsSync(idOrPath)) {
      // config.json alone first, so that a model of another family fails before its weights are downloaded.
      if (o.config === undefined) await loadConfig(where, await configFile(where, idOrPath, hub));
      local = await resolveModelPath(idOrPath, hub);
    }
    const config = o.config ?? (await loadConfig(where, await configFile(where, local, hub)));
    return cls.fromPretrained(local, { ...o, config });
  };
  const fromConfig = (config: ConvBertConfig | Record<string, unknown>, options?: FromConfigOptions): T => {
    const where = `${autoName}.fromConfig`;
    if (!(config instanceof ConvBertConfig)) {
      if (config === null || typeof config !== 'object' || Array.isArray(config))
        throw argError(`${where}: config: expected a ConvBertConfig or a config object, got ${describe(config)}`);
      checkModelType(config, where, false);
    }
    return cls.fromConfig(config, readModelOptions<FromConfigOptions>(where, options, FROM_CONFIG_KEYS));
  };
  return Object.freeze({ modelClass: cls, fromPretrained, from_pretrained: fromPretrained, fromConfig, from_config: fromConfig });
}

// The class is named as a type argument: inferred from the generic static fromPretrained, T would be the base class.
/** The bare trunk (ConvBertModel), as HF's AutoModel. */
export const AutoModel = autoModel<ConvBertModel>('AutoModel', ConvBertModel);
export const AutoModelForMaskedLM = autoModel<ConvBertForMaskedLM>('AutoModelForMaskedLM', ConvBertForMaskedLM);
export const AutoModelForSequenceClassification = autoModel<ConvBertForSequenceClassification>('AutoModelForSequenceClassification', ConvBertForSequenceClassification);
export const AutoModelForTokenClassification = autoModel<ConvBertForTokenClassification>('AutoModelForTokenClassification', ConvBertForTokenClassification);
export const AutoModelForQuestionAnswering = autoModel<ConvBertForQuestionAnswering>('AutoModelForQuestionAnswering', ConvBertForQuestionAnswering);
export const AutoModelForMultipleChoice = autoModel<ConvBertForMultipleChoice>('AutoModelForMultipleChoice', ConvBertForMultipleChoice);

async function readOptionalJsonObject(file: string): Promise<Record<string, unknown> | null> {
  if (!fs.existsSync(file)) return null;
  const text = await readTextFile(file);
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ConvBertError(`${file}: not valid JSON (${(e as Error).message})`, 'ERR_CONVBERT_TOKENIZER', { cause: e });
  }
  return obj !== null && typeof obj === 'object' && !Array.isArray(obj) ? (obj as Record<string, unknown>) : null;
}

/**
 * transformers' AutoTokenizer: the tokenizer of a folder or Hub id, when its
 * tokenizer_config.json names a ConvBERT/BERT WordPiece class (or, without one, its
 * config.json says model_type "convbert"). Other classes are ERR_CONVBERT_UNSUPPORTED.
 */
export class AutoTokenizer {
  static async fromPretrained(idOrPath: string, options?: AutoTokenizerOptions): Promise<ConvBertTokenizerFast | ConvBertTokenizer> {
    const where = 'AutoTokenizer.fromPretrained';
    checkId(where, idOrPath);
    const o = checkOptionsObject(where, options);
    checkOptionKeys(where, o, [...ConvBertTokenizerFast.optionKeys, ...HUB_KEYS, 'use_fast']);
    const { use_fast, ...rest } = normalizeAliases(where, o);
    if (use_fast !== undefined && typeof use_fast !== 'boolean') throw argError(`${where}: use_fast: expected a boolean, got ${describe(use_fast)}`);
    const dir = await resolveTokenizerPath(idOrPath, hubOf(rest));
    const cfg = await readOptionalJsonObject(path.join(dir, 'tokenizer_config.json'));
    const cls = cfg?.tokenizer_class;
    if (cls !== undefined && cls !== null) {
      if (typeof cls !== 'string' || !(SUPPORTED_TOKENIZER_CLASSES as readonly string[]).includes(cls)) {
        throw unsupported(
          `${where}: ${path.join(dir, 'tokenizer_config.json')}: tokenizer_class ${describe(cls)} is not supported; this library runs ${SUPPORTED_TOKENIZER_CLASSES.join(', ')} (WordPiece)`,
        );
      }
    } else {
      const model = await readOptionalJsonObject(path.join(dir, 'config.json'));
      if (model && model.model_type !== undefined) checkModelType(model, path.join(dir, 'config.json'));
    }
    // The Hub settings were used above; what is left are tokenizer options.
    const tokOpts: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) if (!HUB_KEYS.includes(k)) tokOpts[k] = v;
    if (use_fast === false) {
      if (tokOpts.num_threads !== undefined) throw argError(`${where}: num_threads is an option of the fast tokenizer; drop it or use_fast: true`);
      return ConvBertTokenizer.fromPretrained(dir, tokOpts as Partial<TokenizerOptions>);
    }
    return ConvBertTokenizerFast.fromPretrained(dir, tokOpts as Partial<ConvBertTokenizerFastOptions>);
  }

  /** transformers.js' spelling of fromPretrained. */
  static from_pretrained(idOrPath: string, options?: AutoTokenizerOptions): Promise<ConvBertTokenizerFast | ConvBertTokenizer> {
    return AutoTokenizer.fromPretrained(idOrPath, options);
  }
}
