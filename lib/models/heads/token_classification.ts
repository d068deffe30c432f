// token_classification.ts: ConvBertForTokenClassification: classifier
// Linear(hidden, num_labels) on every token; the loss is CE over all (B*L)
// positions, -100 ignored, no attention-mask filtering (as HF).
import { Tensor } from '../../tensor';
import { ConvBertPreTrainedModel, lossTensor, type ModelOutputBase, type PreparedForward } from '../base';
import type { ForwardRequest, HeadKind } from '../../engine_types';
import { packedTokenRows, type PackedBatch } from '../packed';
import { readClassLabels, type ConvBertInputs, type ForwardOptions, type TensorInput, type TrunkInputs } from '../inputs';
import { crossEntropy } from '../losses';

export interface TokenClassificationInputs extends Omit<ConvBertInputs, 'labels' | 'start_positions' | 'end_positions'> {
  /** (B, L) class ids in [0, num_labels); -100 ignores a position. */
  labels?: TensorInput | null;
}

export interface TokenClassifierOutput extends ModelOutputBase {
  loss?: Tensor<'float32'>;
  /** (B, L, num_labels). */
  logits: Tensor<'float32'>;
}

export class ConvBertForTokenClassification extends ConvBertPreTrainedModel {
  static override readonly headKind: HeadKind = 'token_classification';

  protected override numOutputs(): number {
    return this.config.num_labels;
  }

  protected override labelKeys(): readonly string[] {
    return ['labels'];
  }

  protected override readLabels(inputs: TokenClassificationInputs, t: TrunkInputs): Float64Array | null {
    if (inputs.labels === undefined || inputs.labels === null) return null;
    return readClassLabels('labels', inputs.labels, t.batchDims);
  }

  protected override logitsLength(rows: number, L: number): number {
    return rows * L * this.config.num_labels;
  }

  protected buildOutput(p: PreparedForward): TokenClassifierOutput {
    const { rows, L } = p.trunk;
    const N = this.config.num_labels;
    const logits = p.req.outputs.logits!;
    const loss = p.labels ? lossTensor(crossEntropy(logits, rows * L, N, p.labels as Float64Array, 'labels')) : undefined;
    return { ...(loss ? { loss } : {}), logits: new Tensor('float32', logits, [rows, L, N]), ...this.extras(p) };
  }

  /** Row b's logits [1, len, num_labels]. */
  protected packedRowOutput(o: ForwardRequest['outputs'], p: PackedBatch, b: number): { logits: Tensor<'float32'> } {
    return { logits: packedTokenRows(o.logits!, p.cu_seqlens, b, this.config.num_labels) };
  }

  override async forward(inputs: TokenClassificationInputs, options?: ForwardOptions): Promise<TokenClassifierOutput> {
    return (await super.forward(inputs, options)) as TokenClassifierOutput;
  }

  override forwardSync(inputs: TokenClassificationInputs, options?: ForwardOptions): TokenClassifierOutput {
    return super.forwardSync(inputs, options) as TokenClassifierOutput;
  }
}
