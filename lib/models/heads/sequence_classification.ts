// sequence_classification.ts: ConvBertForSequenceClassification: token 0 ->
// dense(hidden, hidden) -> hidden_act -> out_proj(hidden, num_labels). The loss
// follows HF's problem_type rule: the config's value, else num_labels == 1 is
// regression (MSE), integer labels single-label (CE), float labels multi-label
// (BCEWithLogits); regression with num_labels > 1 is MSE over (B, num_labels).
import { shapeError } from '../../errors';
import { Tensor } from '../../tensor';
import { ConvBertPreTrainedModel, lossTensor, type ModelOutputBase, type PreparedForward } from '../base';
import type { ForwardRequest, HeadKind } from '../../engine_types';
import type { PackedBatch } from '../packed';
import { fmtDims, readInput, sameDims, type ConvBertInputs, type ForwardOptions, type TensorInput, type TrunkInputs } from '../inputs';
import { inferProblemType, sequenceClassificationLoss, type ProblemType } from '../losses';

export interface SequenceClassificationInputs extends Omit<ConvBertInputs, 'labels' | 'start_positions' | 'end_positions'> {
  /**
   * (B,) int class ids (single-label); (B,) or (B, 1) values (regression, 1 label);
   * (B, num_labels) floats (multi-label, or regression with several outputs).
   * Plain JS arrays: a flat array of integers counts as class ids, anything else as floats.
   */
  labels?: TensorInput | null;
}

export interface SequenceClassifierOutput extends ModelOutputBase {
  loss?: Tensor<'float32'>;
  /** (B, num_labels). */
  logits: Tensor<'float32'>;
}

interface SeqLabels {
  problem: ProblemType;
  values: Float64Array | Float32Array;
}

export class ConvBertForSequenceClassification extends ConvBertPreTrainedModel {
  static override readonly headKind: HeadKind = 'sequence_classification';

  protected override numOutputs(): number {
    return this.config.num_labels;
  }

  protected override labelKeys(): readonly string[] {
    return ['labels'];
  }

  protected override readLabels(inputs: SequenceClassificationInputs, t: TrunkInputs): SeqLabels | null {
    if (inputs.labels === undefined || inputs.labels === null) return null;
    const B = t.batchDims[0];
    const N = this.config.num_labels;
    const r = readInput('labels', inputs.labels, 'label');
    const problem = inferProblemType(this.config.problem_type, N, r.isInt);
    let ok: boolean;
    let want: string;
    if (problem === 'single_label_classification') {
      ok = sameDims(r.dims, [B]);
      want = fmtDims([B]);
    } else if (problem === 'regression' && N === 1) {
      ok = sameDims(r.dims, [B]) || sameDims(r.dims, [B, 1]);
      want = `${fmtDims([B])} or ${fmtDims([B, 1])}`;
    } else {
      ok = sameDims(r.dims, [B, N]);
      want = fmtDims([B, N]);
    }
    if (!ok) throw shapeError(`labels: expected dims ${want} for ${problem} with num_labels ${N}, got ${fmtDims(r.dims)}`);
    return { problem, values: r.values };
  }

  protected override logitsLength(rows: number): number {
    return rows * this.config.num_labels;
  }

  protected buildOutput(p: PreparedForward): SequenceClassifierOutput {
    const B = p.trunk.rows;
    const N = this.config.num_labels;
    const logits = p.req.outputs.logits!;
    const lab = p.labels as SeqLabels | null;
    const loss = lab ? lossTensor(sequenceClassificationLoss(lab.problem, logits, B, N, lab.values)) : undefined;
    return { ...(loss ? { loss } : {}), logits: new Tensor('float32', logits, [B, N]), ...this.extras(p) };
  }

  /** One logits row per sequence. */
  protected override packedPerSequence(): boolean {
    return true;
  }

  /** Row b's logits [1, num_labels]. */
  protected packedRowOutput(o: ForwardRequest['outputs'], _p: PackedBatch, b: number): { logits: Tensor<'float32'> } {
    const n = this.config.num_labels;
    return { logits: new Tensor('float32', o.logits!.slice(b * n, (b + 1) * n), [1, n]) };
  }

  override async forward(inputs: SequenceClassificationInputs, options?: ForwardOptions): Promise<SequenceClassifierOutput> {
    return (await super.forward(inputs, options)) as SequenceClassifierOutput;
  }

  override forwardSync(inputs: SequenceClassificationInputs, options?: ForwardOptions): SequenceClassifierOutput {
    return super.forwardSync(inputs, options) as SequenceClassifierOutput;
  }
}
