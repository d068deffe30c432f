// The TS losses against torch: every fixture loss recomputed from that case's
// expected logits and labels (no engine involved), at 1e-6 + 1e-5|exp| (torch
// accumulates in float32, we in float64: the gap is float32 rounding of a sum
// of at most a few hundred terms), plus hand-checked values for each rule.
import test from 'ava';
import * as path from 'path';

import { ConvBertConfig } from '../../lib/config';
import { Tensor } from '../../lib/tensor';
import { readSafetensorsSync } from '../../lib/weights/safetensors';
import { bceWithLogits, crossEntropy, inferProblemType, mseLoss, questionAnsweringLoss, sequenceClassificationLoss } from '../../lib/models/losses';
import { readInput } from '../../lib/models/inputs';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { fixtureIndex, type FixtureCase } from './fixture_runner';

const close = (got: number, want: number): boolean => Math.abs(got - want) <= 1e-6 + 1e-5 * Math.abs(want);

function nums(t: Tensor): Float64Array {
  return Float64Array.from(t.toFlatArray(), (v) => Number(v));
}

test('every fixture loss is reproduced from the expected logits and the labels', (t) => {
  let checked = 0;
  for (const e of fixtureIndex()) {
    const dir = fixturesDir('convbert', e.path);
    const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
    const cfg = ConvBertConfig.fromPretrainedSync(dir);
    const tensors = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
    for (const c of cases) {
      if (!c.outputs.loss) continue;
      const want = Number(tensors.get(c.outputs.loss as string)!.item());
      const get = (k: string): Tensor => tensors.get(c.inputs[k] ?? (c.outputs[k] as string))!;
      let got: number;
      switch (e.architecture) {
        case 'ConvBertForMaskedLM':
        case 'ConvBertForTokenClassification': {
          const logits = get('logits');
          const C = logits.dims[logits.dims.length - 1];
          got = crossEntropy(logits.data as Float32Array, logits.size / C, C, nums(get('labels')), 'labels');
          break;
        }
        case 'ConvBertForMultipleChoice': {
          const logits = get('logits');
          got = crossEntropy(logits.data as Float32Array, logits.dims[0], logits.dims[1], nums(get('labels')), 'labels');
          break;
        }
        case 'ConvBertForQuestionAnswering': {
          const s = get('start_logits');
          got = questionAnsweringLoss(
            s.data as Float32Array,
            get('end_logits').data as Float32Array,
            s.dims[0],
            s.dims[1],
            nums(get('start_positions')),
            nums(get('end_positions')),
          );
          break;
        }
        case 'ConvBertForSequenceClassification': {
          const logits = get('logits');
          const r = readInput('labels', get('labels'), 'label');
          const problem = inferProblemType(cfg.problem_type, cfg.num_labels, r.isInt);
          got = sequenceClassificationLoss(problem, logits.data as Float32Array, logits.dims[0], logits.dims[1], r.values);
          break;
        }
        default:
          throw new Error(`no loss for ${e.architecture}`);
      }
      t.true(close(got, want), `${e.path} ${c.name}: got ${got}, torch ${want}`);
      checked++;
    }
  }
  // Every head folder's case1-case4 carries labels (cases.json of 14 head folders).
  t.true(checked >= 50, `checked ${checked} losses`);
});

test('cross entropy: uniform logits give log(C); -100 rows are skipped; all ignored is NaN; bad targets throw', (t) => {
  const C = 5;
  const logits = new Float32Array(3 * C);
  t.true(close(crossEntropy(logits, 3, C, [0, 4, -100], 'labels'), Math.log(C)));
  // A confident right answer costs about exp(-margin).
  const sharp = new Float32Array([20, 0, 0]);
  t.true(crossEntropy(sharp, 1, 3, [0], 'labels') < 1e-8);
  t.true(close(crossEntropy(sharp, 1, 3, [1], 'labels'), 20 + Math.log(1 + 2 * Math.exp(-20))));
  t.true(Number.isNaN(crossEntropy(logits, 3, C, [-100, -100, -100], 'labels')));
  t.throws(() => crossEntropy(logits, 3, C, [0, 5, 1], 'labels'), { code: 'ERR_CONVBERT_ARG', message: /labels: target 1 = 5 is out of range \[0, 5\)/ } as never);
  t.throws(() => crossEntropy(logits, 3, C, [0, -1, 1], 'labels'), { code: 'ERR_CONVBERT_ARG' } as never);
});

test('QA loss clamps positions to [0, L] and ignores L', (t) => {
  const L = 4;
  const s = new Float32Array([1, 2, 3, 4, 0, 0, 0, 0]);
  const e = new Float32Array([4, 3, 2, 1, 1, 1, 1, 1]);
  const ce = (row: number[], y: number): number => Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[y];
  // Row 0: start 9 clamps to 4 = L (ignored), end -3 clamps to 0; row 1: start 2, end 3.
  const want = (ce([0, 0, 0, 0], 2) + (ce([4, 3, 2, 1], 0) + ce([1, 1, 1, 1], 3)) / 2) / 2;
  t.true(close(questionAnsweringLoss(s, e, 2, L, [9, 2], [-3, 3]), want));
});

test('sequence classification: problem type rule, MSE, BCE with logits', (t) => {
  t.is(inferProblemType(null, 1, true), 'regression');
  t.is(inferProblemType(null, 3, true), 'single_label_classification');
  t.is(inferProblemType(null, 3, false), 'multi_label_classification');
  t.is(inferProblemType('regression', 3, true), 'regression');
  t.throws(() => inferProblemType('ranking', 3, true), { code: 'ERR_CONVBERT_ARG' } as never);
  t.true(close(mseLoss([1, 2, 3, 4], [1, 0, 3, 0], 'labels'), (4 + 16) / 4));
  // Regression with 2 outputs is MSE over all (B, 2) elements.
  t.true(close(sequenceClassificationLoss('regression', new Float32Array([1, 2, 3, 4]), 2, 2, [0, 0, 0, 0]), (1 + 4 + 9 + 16) / 4));
  // BCE with logits in its stable form equals the naive one where both are finite, and stays finite at 100.
  const x = [-2, 0.5, 3];
  const y = [0, 1, 0.25];
  const naive = x.reduce((a, v, i) => a - (y[i] * Math.log(1 / (1 + Math.exp(-v))) + (1 - y[i]) * Math.log(1 - 1 / (1 + Math.exp(-v)))), 0) / 3;
  t.true(close(bceWithLogits(x, y, 'labels'), naive));
  t.true(close(bceWithLogits([100], [0], 'labels'), 100));
  t.throws(() => sequenceClassificationLoss('multi_label_classification', new Float32Array(6), 2, 3, [1, 0]), { code: 'ERR_CONVBERT_ARG' } as never);
});
