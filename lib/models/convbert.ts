// convbert.ts: ConvBertModel, the bare trunk (embeddings, optional
// embeddings_project, encoder layers of dot-product + span-based dynamic
// convolution heads), returning last_hidden_state like HF's ConvBertModel.
// The five task heads live in heads/; this file re-exports them.
import { Tensor } from '../tensor';
import { ConvBertPreTrainedModel, type ModelOutputBase, type PreparedForward } from './base';
import type { ForwardRequest, HeadKind } from '../engine_types';
import { packedTokenRows, type PackedBatch } from './packed';
import type { ConvBertInputs, ForwardOptions, TensorInput } from './inputs';

/** ConvBertModel's inputs: no labels. */
export type ConvBertModelInputs = Omit<ConvBertInputs, 'labels' | 'start_positions' | 'end_positions'>;

export interface BaseModelOutput extends ModelOutputBase {
  /** (B, L, hidden_size). */
  last_hidden_state: Tensor<'float32'>;
}

export class ConvBertModel extends ConvBertPreTrainedModel {
  static override readonly headKind: HeadKind = 'none';

  protected buildOutput(p: PreparedForward): BaseModelOutput {
    const { rows, L } = p.trunk;
    return {
      last_hidden_state: new Tensor('float32', p.req.outputs.last_hidden_state, [rows, L, this.config.hidden_size]),
      ...this.extras(p),
    };
  }

  /** Row b's last_hidden_state [1, len, hidden_size]. */
  protected packedRowOutput(o: ForwardRequest['outputs'], p: PackedBatch, b: number): { last_hidden_state: Tensor<'float32'> } {
    return { last_hidden_state: packedTokenRows(o.last_hidden_state, p.cu_seqlens, b, this.config.hidden_size) };
  }

  override async forward(inputs: ConvBertModelInputs, options?: ForwardOptions): Promise<BaseModelOutput> {
    return (await super.forward(inputs, options)) as BaseModelOutput;
  }

  override forwardSync(inputs: ConvBertModelInputs, options?: ForwardOptions): BaseModelOutput {
    return super.forwardSync(inputs, options) as BaseModelOutput;
  }
}

export type { TensorInput };
export { ConvBertPreTrainedModel } from './base';
export { ConvBertForMaskedLM } from './heads/masked_lm';
export { ConvBertForSequenceClassification } from './heads/sequence_classification';
export { ConvBertForTokenClassification } from './heads/token_classification';
export { ConvBertForQuestionAnswering } from './heads/question_answering';
export { ConvBertForMultipleChoice } from './heads/multiple_choice';
