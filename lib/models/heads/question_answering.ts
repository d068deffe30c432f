// question_answering.ts: ConvBertForQuestionAnswering: qa_outputs
// Linear(hidden, 2) per token, split into start and end logits (B, L). The
// loss clamps positions to [0, L], ignores L, and averages the two CEs (HF).
import { argError } from '../../errors';
import { Tensor } from '../../tensor';
import { ConvBertPreTrainedModel, lossTensor, type ModelOutputBase, type PreparedForward } from '../base';
import type { ForwardRequest, HeadKind } from '../../engine_types';
import type { PackedBatch } from '../packed';
import { readClassLabels, type ConvBertInputs, type ForwardOptions, type TensorInput, type TrunkInputs } from '../inputs';
import { questionAnsweringLoss } from '../losses';

export interface QuestionAnsweringInputs extends Omit<ConvBertInputs, 'labels' | 'start_positions' | 'end_positions'> {
  /** (B,) or (B, 1) answer start positions; give both or neither. */
  start_positions?: TensorInput | null;
  /** (B,) or (B, 1) answer end positions. */
  end_positions?: TensorInput | null;
}

export interface QuestionAnsweringModelOutput extends ModelOutputBase {
  loss?: Tensor<'float32'>;
  /** (B, L). */
  start_logits: Tensor<'float32'>;
  /** (B, L). */
  end_logits: Tensor<'float32'>;
}

export class ConvBertForQuestionAnswering extends ConvBertPreTrainedModel {
  static override readonly headKind: HeadKind = 'question_answering';

  protected override numOutputs(): number {
    return 2;
  }

  protected override labelKeys(): readonly string[] {
    return ['start_positions', 'end_positions'];
  }

  protected override readLabels(inputs: QuestionAnsweringInputs, t: TrunkInputs): { start: Float64Array; end: Float64Array } | null {
    const has = (v: unknown): boolean => v !== undefined && v !== null;
    const s = has(inputs.start_positions);
    const e = has(inputs.end_positions);
    if (!s && !e) return null;
    if (s !== e) throw argError(`${s ? 'end_positions' : 'start_positions'}: required with ${s ? 'start_positions' : 'end_positions'} (the loss needs both)`);
    const B = t.batchDims[0];
    return {
      start: readClassLabels('start_positions', inputs.start_positions!, [B], [B, 1]),
      end: readClassLabels('end_positions', inputs.end_positions!, [B], [B, 1]),
    };
  }

  protected override logitsLength(rows: number, L: number): number {
    return rows * L * 2;
  }

  protected buildOutput(p: PreparedForward): QuestionAnsweringModelOutput {
    const { rows, L } = p.trunk;
    const logits = p.req.outputs.logits!;
    const start = new Float32Array(rows * L);
    const end = new Float32Array(rows * L);
    for (let i = 0; i < rows * L; i++) {
      start[i] = logits[2 * i];
      end[i] = logits[2 * i + 1];
    }
    const lab = p.labels as { start: Float64Array; end: Float64Array } | null;
    const loss = lab ? lossTensor(questionAnsweringLoss(start, end, rows, L, lab.start, lab.end)) : undefined;
    return {
      ...(loss ? { loss } : {}),
      start_logits: new Tensor('float32', start, [rows, L]),
      end_logits: new Tensor('float32', end, [rows, L]),
      ...this.extras(p),
    };
  }

  /** Row b's start and end logits, [1, len] each (the engine gives them interleaved per token). */
  protected packedRowOutput(o: ForwardRequest['outputs'], p: PackedBatch, b: number): { start_logits: Tensor<'float32'>; end_logits: Tensor<'float32'> } {
    const logits = o.logits!;
    const s = p.cu_seqlens[b];
    const len = p.cu_seqlens[b + 1] - s;
    const st = new Float32Array(len);
    const en = new Float32Array(len);
    for (let i = 0; i < len; i++) {
      st[i] = logits[2 * (s + i)];
      en[i] = logits[2 * (s + i) + 1];
    }
    return { start_logits: new Tensor('float32', st, [1, len]), end_logits: new Tensor('float32', en, [1, len]) };
  }

  override async forward(inputs: QuestionAnsweringInputs, options?: ForwardOptions): Promise<QuestionAnsweringModelOutput> {
    return (await super.forward(inputs, options)) as QuestionAnsweringModelOutput;
  }

  override forwardSync(inputs: QuestionAnsweringInputs, options?: ForwardOptions): QuestionAnsweringModelOutput {
    return super.forwardSync(inputs, options) as QuestionAnsweringModelOutput;
  }
}
