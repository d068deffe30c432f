// layout.ts: every parameter of a ConvBERT model by HF key, with its shape and
// how HF initialises it (_init_weights plus SeparableConv1D's own init).
// Trunk keys carry no `convbert.` prefix; head keys are as HF names them.
// Shapes are HF's: nn.Linear (out, in), grouped linear (G, in/G, out/G),
// depthwise conv (hidden, 1, k), pointwise conv (A, hidden, 1), conv bias (A, 1).
import type { HeadKind } from '../engine_types';

/** normal(0, initializer_range); zeros; ones; normal with the padding row zeroed. */
export type InitKind = 'normal' | 'zeros' | 'ones' | 'embedding_pad';

export interface ParamSpec {
  key: string;
  shape: number[];
  init: InitKind;
}

/** The config fields the layout depends on (ConvBertConfig provides them all). */
export interface LayoutConfig {
  vocab_size: number;
  hidden_size: number;
  embedding_size: number;
  num_hidden_layers: number;
  intermediate_size: number;
  conv_kernel_size: number;
  num_groups: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  saHeads: number;
  headDim: number;
}

export function trunkLayout(c: LayoutConfig): ParamSpec[] {
  const H = c.hidden_size;
  const E = c.embedding_size;
  const I = c.intermediate_size;
  const G = c.num_groups;
  const k = c.conv_kernel_size;
  const sa = c.saHeads;
  const A = sa * c.headDim;
  const out: ParamSpec[] = [
    { key: 'embeddings.word_embeddings.weight', shape: [c.vocab_size, E], init: 'embedding_pad' },
    { key: 'embeddings.position_embeddings.weight', shape: [c.max_position_embeddings, E], init: 'normal' },
    { key: 'embeddings.token_type_embeddings.weight', shape: [c.type_vocab_size, E], init: 'normal' },
    { key: 'embeddings.LayerNorm.weight', shape: [E], init: 'ones' },
    { key: 'embeddings.LayerNorm.bias', shape: [E], init: 'zeros' },
  ];
  if (E !== H) {
    out.push({ key: 'embeddings_project.weight', shape: [H, E], init: 'normal' });
    out.push({ key: 'embeddings_project.bias', shape: [H], init: 'zeros' });
  }
  const linear = (key: string, o: number, i: number): void => {
    out.push({ key: `${key}.weight`, shape: [o, i], init: 'normal' });
    out.push({ key: `${key}.bias`, shape: [o], init: 'zeros' });
  };
  const maybeGrouped = (key: string, o: number, i: number): void => {
    if (G === 1) return linear(key, o, i);
    out.push({ key: `${key}.weight`, shape: [G, i / G, o / G], init: 'normal' });
    out.push({ key: `${key}.bias`, shape: [o], init: 'zeros' });
  };
  const layerNorm = (key: string, n: number): void => {
    out.push({ key: `${key}.weight`, shape: [n], init: 'ones' });
    out.push({ key: `${key}.bias`, shape: [n], init: 'zeros' });
  };
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}`;
    linear(`${p}.attention.self.query`, A, H);
    linear(`${p}.attention.self.key`, A, H);
    linear(`${p}.attention.self.value`, A, H);
    out.push({ key: `${p}.attention.self.key_conv_attn_layer.depthwise.weight`, shape: [H, 1, k], init: 'normal' });
    out.push({ key: `${p}.attention.self.key_conv_attn_layer.pointwise.weight`, shape: [A, H, 1], init: 'normal' });
    out.push({ key: `${p}.attention.self.key_conv_attn_layer.bias`, shape: [A, 1], init: 'zeros' });
    linear(`${p}.attention.self.conv_kernel_layer`, sa * k, A);
    linear(`${p}.attention.self.conv_out_layer`, A, H);
    linear(`${p}.attention.output.dense`, H, H);
    layerNorm(`${p}.attention.output.LayerNorm`, H);
    maybeGrouped(`${p}.intermediate.dense`, I, H);
    maybeGrouped(`${p}.output.dense`, H, I);
    layerNorm(`${p}.output.LayerNorm`, H);
  }
  return out;
}

/** The head config fields the layout depends on. */
export interface HeadLayoutConfig extends LayoutConfig {
  num_labels: number;
  summary_use_proj?: boolean;
  summary_proj_to_labels?: boolean;
}

/** Output width of the multiple-choice summary projection (HF's SequenceSummary). */
export function summaryProjOut(c: HeadLayoutConfig): number {
  return c.summary_proj_to_labels && c.num_labels > 0 ? c.num_labels : c.hidden_size;
}

export function headLayout(kind: HeadKind, c: HeadLayoutConfig): ParamSpec[] {
  const H = c.hidden_size;
  const E = c.embedding_size;
  const lin = (key: string, o: number, i: number): ParamSpec[] => [
    { key: `${key}.weight`, shape: [o, i], init: 'normal' },
    { key: `${key}.bias`, shape: [o], init: 'zeros' },
  ];
  switch (kind) {
    case 'none':
      return [];
    case 'masked_lm':
      return [
        ...lin('generator_predictions.dense', E, H),
        { key: 'generator_predictions.LayerNorm.weight', shape: [E], init: 'ones' },
        { key: 'generator_predictions.LayerNorm.bias', shape: [E], init: 'zeros' },
        ...lin('generator_lm_head', c.vocab_size, E),
      ];
    case 'sequence_classification':
      return [...lin('classifier.dense', H, H), ...lin('classifier.out_proj', c.num_labels, H)];
    case 'token_classification':
      return lin('classifier', c.num_labels, H);
    case 'question_answering':
      return lin('qa_outputs', c.num_labels, H);
    case 'multiple_choice': {
      const out: ParamSpec[] = [];
      if (c.summary_use_proj) out.push(...lin('sequence_summary.summary', summaryProjOut(c), H));
      out.push(...lin('classifier', 1, H));
      return out;
    }
  }
}

/** The tied LM head weight: it is the word-embedding matrix when tie_word_embeddings holds. */
export const TIED_HEAD_KEY = 'generator_lm_head.weight';
export const WORD_EMBEDDINGS_KEY = 'embeddings.word_embeddings.weight';
export const BASE_PREFIX = 'convbert.';

/** Checkpoint keys that are buffers, not parameters: HF ignores them on load. */
export function isIgnoredBuffer(key: string): boolean {
  const k = key.startsWith(BASE_PREFIX) ? key.slice(BASE_PREFIX.length) : key;
  return k === 'embeddings.position_ids' || k === 'embeddings.token_type_ids';
}
