// masked_lm.ts: ConvBertForMaskedLM. The engine runs generator_predictions
// (dense hidden -> embedding_size, exact erf-GELU whatever hidden_act says,
// LayerNorm) and generator_lm_head (embedding_size -> vocab, tied to the word
// embeddings by default); the loss is CE over the vocab, ignore_index -100.
import { Tensor } from '../../tensor';
import { ConvBertPreTrainedModel, lossTensor, type ModelOutputBase, type PreparedForward } from '../base';
import type { ForwardRequest, HeadKind } from '../../engine_types';
import { packedTokenRows, type PackedBatch } from '../packed';
import { readClassLabels, type ConvBertInputs, type ForwardOptions, type TensorInput, type TrunkInputs } from '../inputs';
import { crossEntropy } from '../losses';

export interface MaskedLMInputs extends Omit<ConvBertInputs, 'labels' | 'start_positions' | 'end_positions'> {
  /** (B, L) token ids to predict; -100 marks positions left out of the loss. */
  labels?: TensorInput | null;
}

export interface MaskedLMOutput extends ModelOutputBase {
  /** 0-d mean CE, when labels are given. */
  loss?: Tensor<'float32'>;
  /** (B, L, vocab_size). */
  logits: Tensor<'float32'>;
}

export class ConvBertForMaskedLM extends ConvBertPreTrainedModel {
  static override readonly headKind: HeadKind = 'masked_lm';

  protected override numOutputs(): number {
    return this.config.vocab_size;
  }

  protected override labelKeys(): readonly string[] {
    return ['labels'];
  }

  protected override readLabels(inputs: MaskedLMInputs, t: TrunkInputs): Float64Array | null {
    if (inputs.labels === undefined || inputs.labels === null) return null;
    return readClassLabels('labels', inputs.labels, t.batchDims);
  }

  protected override logitsLength(rows: number, L: number): number {
    return rows * L * this.config.vocab_size;
  }

  protected buildOutput(p: PreparedForward): MaskedLMOutput {
    const { rows, L } = p.trunk;
    const V = this.config.vocab_size;
    const logits = p.req.outputs.logits!;
    const loss = p.labels ? lossTensor(crossEntropy(logits, rows * L, V, p.labels as Float64Array, 'labels')) : undefined;
    return { ...(loss ? { loss } : {}), logits: new Tensor('float32', logits, [rows, L, V]), ...this.extras(p) };
  }

  /** Row b's logits [1, len, vocab_size]. */
  protected packedRowOutput(o: ForwardRequest['outputs'], p: PackedBatch, b: number): { logits: Tensor<'float32'> } {
    return { logits: packedTokenRows(o.logits!, p.cu_seqlens, b, this.config.vocab_size) };
  }

  override async forward(inputs: MaskedLMInputs, options?: ForwardOptions): Promise<MaskedLMOutput> {
    return (await super.forward(inputs, options)) as MaskedLMOutput;
  }

  override forwardSync(inputs: MaskedLMInputs, options?: ForwardOptions): MaskedLMOutput {
    return super.forwardSync(inputs, options) as MaskedLMOutput;
  }
}
