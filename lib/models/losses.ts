// losses.ts: the training losses HF's ConvBERT heads return, computed in TS
// from the float32 logits the engine wrote. Each matches torch's mean-reduced
// loss (CrossEntropyLoss with ignore_index, MSELoss, BCEWithLogitsLoss);
// accumulation is float64, so results agree with torch's float32 to ~1e-7
// relative. Invalid targets throw ERR_CONVBERT_ARG where torch would raise.
import { argError } from '../errors';

/** torch.nn.CrossEntropyLoss's default ignore_index. */
export const IGNORE_INDEX = -100;

/**
 * Mean cross entropy over rows of `logits` (rows x C, row-major) against integer
 * `targets` (rows). Rows whose target equals `ignoreIndex` are skipped; when every
 * row is skipped the result is NaN, as in torch.
 */
export function crossEntropy(logits: Float32Array, rows: number, C: number, targets: ArrayLike<number>, what: string, ignoreIndex = IGNORE_INDEX): number {
  if (logits.length !== rows * C) throw argError(`${what}: expected ${rows * C} logits, got ${logits.length}`);
  if (targets.length !== rows) throw argError(`${what}: expected ${rows} targets, got ${targets.length}`);
  let sum = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const y = targets[r];
    if (y === ignoreIndex) continue;
    if (!Number.isInteger(y) || y < 0 || y >= C) {
      throw argError(`${what}: target ${r} = ${y} is out of range [0, ${C}) (use ${ignoreIndex} to ignore a position)`);
    }
    const off = r * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) if (logits[off + c] > max) max = logits[off + c];
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp(logits[off + c] - max);
    sum += Math.log(z) + max - logits[off + y];
    count++;
  }
  return sum / count;
}

/** Mean squared error over all elements (torch.nn.MSELoss). */
export function mseLoss(pred: ArrayLike<number>, target: ArrayLike<number>, what: string): number {
  if (pred.length !== target.length) throw argError(`${what}: expected ${pred.length} targets, got ${target.length}`);
  let sum = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i] - target[i];
    sum += d * d;
  }
  return sum / pred.length;
}

/**
 * Mean binary cross entropy with logits over all elements (torch.nn.BCEWithLogitsLoss):
 * max(x, 0) - x*y + log(1 + exp(-|x|)), the form torch uses to stay finite.
 */
export function bceWithLogits(logits: ArrayLike<number>, target: ArrayLike<number>, what: string): number {
  if (logits.length !== target.length) throw argError(`${what}: expected ${logits.length} targets, got ${target.length}`);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    const y = target[i];
    sum += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return sum / logits.length;
}

/**
 * ConvBertForQuestionAnswering's loss: positions clamped to [0, L], L ignored,
 * (CE(start) + CE(end)) / 2. `startLogits`/`endLogits` are (B, L).
 */
export function questionAnsweringLoss(
  startLogits: Float32Array,
  endLogits: Float32Array,
  B: number,
  L: number,
  startPositions: ArrayLike<number>,
  endPositions: ArrayLike<number>,
): number {
  const clamp = (p: ArrayLike<number>): number[] => Array.from(p, (v) => Math.min(Math.max(v, 0), L));
  const s = crossEntropy(startLogits, B, L, clamp(startPositions), 'start_positions', L);
  const e = crossEntropy(endLogits, B, L, clamp(endPositions), 'end_positions', L);
  return (s + e) / 2;
}

export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

/**
 * HF's problem_type rule for ConvBertForSequenceClassification: the config's value
 * when set; else num_labels == 1 is regression, integer labels single-label, and
 * float labels multi-label.
 */
export function inferProblemType(configured: string | null | undefined, numLabels: number, labelsAreIntegers: boolean): ProblemType {
  if (configured) {
    if (configured === 'regression' || configured === 'single_label_classification' || configured === 'multi_label_classification') return configured;
    throw argError(`problem_type: expected regression, single_label_classification or multi_label_classification, got ${String(configured)}`);
  }
  if (numLabels === 1) return 'regression';
  return labelsAreIntegers ? 'single_label_classification' : 'multi_label_classification';
}

/**
 * The sequence-classification loss for logits (B, N). Labels: (B,) class ids for
 * single-label; (B,) or (B, 1) values for regression with N == 1; (B, N) values
 * for regression with N > 1 and for multi-label.
 */
export function sequenceClassificationLoss(problem: ProblemType, logits: Float32Array, B: number, N: number, labels: ArrayLike<number>): number {
  switch (problem) {
    case 'regression':
      if (labels.length !== B * N) throw argError(`labels: regression expects ${B * N} values (B=${B} x num_labels=${N}), got ${labels.length}`);
      return mseLoss(logits, labels, 'labels');
    case 'single_label_classification':
      return crossEntropy(logits, B, N, labels, 'labels');
    case 'multi_label_classification':
      if (labels.length !== B * N) throw argError(`labels: multi-label classification expects ${B * N} values (B=${B} x num_labels=${N}), got ${labels.length}`);
      return bceWithLogits(logits, labels, 'labels');
  }
}
