// checkpoint_map.ts: where each weight of a model comes from, by HF's names. A
// checkpoint is mapped onto the layout the way HF's base_model_prefix rule does
// (trunk keys under `convbert.` or bare, head keys beside them, the tied LM head read
// from the word embeddings, missing head weights drawn as HF initialises them); a
// fresh model draws every weight from its seed. Weights are loaders, read one at a
// time when the engine asks, and stateDict rebuilds them from the same source.
import { ConvBertConfig } from '../config';
import { ConvBertError } from '../errors';
import { Tensor } from '../tensor';
import type { HeadKind } from '../engine_types';
import type { StateDict } from '../weights';
import { openCheckpoint, type Checkpoint, type CheckpointEntry } from './checkpoint';
import { initParam } from './init';
import { BASE_PREFIX, TIED_HEAD_KEY, WORD_EMBEDDINGS_KEY, headLayout, isIgnoredBuffer, trunkLayout, type HeadLayoutConfig, type ParamSpec } from './layout';

/** What fromPretrained found: HF's names for keys the model wanted but the checkpoint lacked, and the reverse. */
export interface LoadInfo {
  missing_keys: string[];
  unexpected_keys: string[];
}

/** Where the weights came from, so savePretrained can rebuild them without keeping a JS copy. */
export type WeightSource = { kind: 'seed'; seed: number } | { kind: 'file'; file: string; seed: number };

/**
 * Trunk and head weights (trunk keys without the prefix) as loaders: the engine
 * reads each once through a getter and copies it, so at most one tensor is
 * materialised in JS at a time (drawn from the seed, or read from disk).
 */
export type Loader = () => Float32Array;
export interface Weights {
  trunk: Map<string, Loader>;
  head: Map<string, Loader>;
}

/** An object whose properties read their weight on access (what EngineSpec.weights may be). */
export function lazyRecord(m: Map<string, Loader>): Record<string, Float32Array> {
  const o: Record<string, Float32Array> = {};
  for (const [k, load] of m) Object.defineProperty(o, k, { get: load, enumerable: true });
  return o;
}

function fmt(d: readonly number[]): string {
  return `[${d.join(', ')}]`;
}

/** Up to `max` keys, then how many more. */
export function listKeys(keys: string[], max = 20): string {
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

export function tiedHead(kind: HeadKind, c: ConvBertConfig): boolean {
  return kind === 'masked_lm' && c.tie_word_embeddings !== false;
}

/** Random weights exactly as HF initialises a fresh model (drawn when read). */
export function initWeights(kind: HeadKind, c: ConvBertConfig, seed: number): Weights {
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
export function mapCheckpoint(kind: HeadKind, c: ConvBertConfig, ck: Checkpoint, seed: number, file: string): { weights: Weights; info: LoadInfo } {
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
    throw new ConvBertError(`checkpoint ${file} lacks ${missingTrunk.length} trunk weight(s) the config needs: ${listKeys(missingTrunk)}`, 'ERR_CONVBERT_WEIGHTS');
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
 * Compares the config with the checkpoint's tensors before any layout is built, so a
 * config that asks for more than the file holds fails at once with the field named:
 * encoder layers (the highest `encoder.layer.N.` present), the word embeddings' shape,
 * and the classifier's rows against num_labels.
 */
export function checkAgainstCheckpoint(kind: HeadKind, c: ConvBertConfig, ck: Checkpoint, file: string): void {
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

/** The weights of `source` again (re-read from the checkpoint file, or re-drawn from the seed). */
export async function rebuildWeights(kind: HeadKind, c: ConvBertConfig, source: WeightSource): Promise<Weights> {
  if (source.kind === 'seed') return initWeights(kind, c, source.seed);
  const { checkpoint } = await openCheckpoint(source.file);
  return mapCheckpoint(kind, c, checkpoint, source.seed, source.file).weights;
}

/** The weights by HF key (trunk under `convbert.` for heads), the tied LM weight left out like HF. */
export function toStateDict(kind: HeadKind, c: ConvBertConfig, w: Weights): StateDict {
  const lc = layoutConfig(c);
  const out: StateDict = new Map();
  const prefix = kind === 'none' ? '' : BASE_PREFIX;
  for (const s of trunkLayout(lc)) out.set(prefix + s.key, new Tensor('float32', w.trunk.get(s.key)!(), s.shape));
  for (const s of headLayout(kind, lc)) {
    if (s.key === TIED_HEAD_KEY && tiedHead(kind, c)) continue;
    out.set(s.key, new Tensor('float32', w.head.get(s.key)!(), s.shape));
  }
  return out;
}
