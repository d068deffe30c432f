// multiple_choice.ts: ConvBertForMultipleChoice. Inputs (B, C, L) run through
// the trunk as (B*C, L); the sequence summary (summary_type 'last' by
// default: the LAST position, padding included; summary_* options as HF's
// SequenceSummary) feeds classifier Linear(hidden, 1), giving logits (B, C).
import { ConvBertError } from '../../errors';
import { Tensor } from '../../tensor';
import { ConvBertPreTrainedModel, lossTensor, type ModelOutputBase, type PreparedForward } from '../base';
import type { PackedRow, PackedRowOutput } from '../packed';
import type { HeadKind } from '../../engine_types';
import { readClassLabels, type ConvBertInputs, type ForwardOptions, type TensorInput, type TrunkInputs } from '../inputs';
import { crossEntropy } from '../losses';

export interface MultipleChoiceInputs extends Omit<ConvBertInputs, 'labels' | 'start_positions' | 'end_positions'> {
  /** (B,) index of the right choice in [0, C). */
  labels?: TensorInput | null;
}

export interface MultipleChoiceModelOutput extends ModelOutputBase {
  loss?: Tensor<'float32'>;
  /** (B, num_choices). */
  logits: Tensor<'float32'>;
}

function noPackedRows(): ConvBertError {
  return new ConvBertError('ConvBertForMultipleChoice.forwardPacked: rows have no choices; use forward with (B, C, L) inputs', 'ERR_CONVBERT_UNSUPPORTED');
}

export class ConvBertForMultipleChoice extends ConvBertPreTrainedModel {
  static override readonly headKind: HeadKind = 'multiple_choice';

  protected override numOutputs(): number {
    return 1;
  }

  protected override batchRank(): 3 {
    return 3;
  }

  protected override labelKeys(): readonly string[] {
    return ['labels'];
  }

  protected override readLabels(inputs: MultipleChoiceInputs, t: TrunkInputs): Float64Array | null {
    if (inputs.labels === undefined || inputs.labels === null) return null;
    return readClassLabels('labels', inputs.labels, [t.batchDims[0]]);
  }

  protected override logitsLength(rows: number): number {
    return rows;
  }

  protected buildOutput(p: PreparedForward): MultipleChoiceModelOutput {
    const [B, C] = p.trunk.batchDims;
    const logits = p.req.outputs.logits!;
    const loss = p.labels ? lossTensor(crossEntropy(logits, B, C, p.labels as Float64Array, 'labels')) : undefined;
    return { ...(loss ? { loss } : {}), logits: new Tensor('float32', logits, [B, C]), ...this.extras(p) };
  }

  /** Packed rows are single sequences, and a multiple-choice row needs its choices: refused. */
  override async forwardPacked(_rows: readonly PackedRow[]): Promise<PackedRowOutput[]> {
    this.checkAlive('forwardPacked');
    throw noPackedRows();
  }

  protected packedRowOutput(): never {
    throw noPackedRows();
  }

  override async forward(inputs: MultipleChoiceInputs, options?: ForwardOptions): Promise<MultipleChoiceModelOutput> {
    return (await super.forward(inputs, options)) as MultipleChoiceModelOutput;
  }

  override forwardSync(inputs: MultipleChoiceInputs, options?: ForwardOptions): MultipleChoiceModelOutput {
    return super.forwardSync(inputs, options) as MultipleChoiceModelOutput;
  }
}
