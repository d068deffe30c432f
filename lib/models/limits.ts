// limits.ts: what one model or one forward may ask for. A config is refused from its
// numbers alone (layers, the largest weight, parameters against the machine's memory)
// before any layout is built or weight drawn; an output array no Float32Array can hold,
// or the heap cannot give, is a typed error naming it, never a bare RangeError.
import { constants as bufferConstants } from 'buffer';
import * as os from 'os';

import { ARCHITECTURE_HEADS, type ConvBertConfig } from '../config';
import { ConvBertError } from '../errors';
import type { EngineOptions, HeadKind } from '../engine_types';

/**
 * The most encoder layers a model may have (the native engine's kMaxLayers). The deepest
 * published BERT-family encoders have 48; without a bound a 30-byte
 * `"num_hidden_layers": 1e6` listed 31 million weight specs before anything failed.
 */
export const MAX_NUM_HIDDEN_LAYERS = 1024;

/** The most elements one weight may have: it is drawn or read as one Float32Array. */
export const MAX_TENSOR_ELEMENTS = bufferConstants.MAX_LENGTH;

/**
 * Refuses, from the config's numbers alone (no layout is built), a model this library
 * cannot hold: more than MAX_NUM_HIDDEN_LAYERS layers, a weight larger than one typed
 * array, or parameters that need more memory than the machine has (at the engine's
 * bytes per weight: 4 for float32 and CUDA hosts, 2 for bfloat16, 1 for int8).
 */
export function checkModelSize(kind: HeadKind, c: ConvBertConfig, placement: EngineOptions, where: string): void {
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
 * A zeroed output array of n floats. Its size comes from the request (rows x length x
 * width), so one that no Float32Array can hold is ERR_CONVBERT_LIMIT and one the heap
 * cannot give is ERR_CONVBERT_OOM, both naming the output, never a bare RangeError.
 */
export function outputArray(n: number, what: string): Float32Array {
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
