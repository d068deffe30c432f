// forwardPacked: unpadded rows of different lengths in one varlen forward. Each
// row's outputs must equal that row run alone through forward(), at
// 1e-5 + 1e-5|x| (the same float32 kernels on the same values, possibly
// blocked differently for another token count). Checked on the native engine
// and on the float64 TS reference engine, for every head that takes rows.
import test from 'ava';

import { Tensor } from '../../lib/tensor';
import type { NativeEngineCtor } from '../../lib/engine_types';
import {
  ConvBertForMaskedLM,
  ConvBertForMultipleChoice,
  ConvBertForQuestionAnswering,
  ConvBertForSequenceClassification,
  ConvBertForTokenClassification,
  ConvBertModel,
} from '../../lib/models';
import { fixturesDir } from '../helpers/fixtures';
import { RefEngine } from './ref_engine';

const rows = [
  { input_ids: Int32Array.from([5, 17, 9, 40, 3, 2, 8]), token_type_ids: Int32Array.from([0, 0, 0, 1, 1, 1, 1]) },
  { input_ids: Int32Array.from([12]) },
  { input_ids: Int32Array.from([7, 7, 30, 61]), token_type_ids: Int32Array.from([0, 1, 1, 1]) },
];

const ENGINES: Array<[string, NativeEngineCtor | undefined]> = [
  ['native', undefined],
  ['ref', RefEngine],
];

const CLASSES = [ConvBertModel, ConvBertForMaskedLM, ConvBertForSequenceClassification, ConvBertForTokenClassification, ConvBertForQuestionAnswering] as const;

for (const [name, engine] of ENGINES) {
  test(`${name}: forwardPacked rows equal each row run alone, for every head that takes rows`, async (t) => {
    for (const cls of CLASSES) {
      const m = await (cls as typeof ConvBertModel).fromPretrained(fixturesDir('convbert', 'proj-groups-b', cls.name), { engine });
      const packed = await m.forwardPacked(rows);
      t.is(packed.length, rows.length);
      for (let b = 0; b < rows.length; b++) {
        const r = rows[b];
        const L = r.input_ids.length;
        const alone = (await m.forward({
          input_ids: new Tensor('int32', r.input_ids, [1, L]),
          ...(r.token_type_ids ? { token_type_ids: new Tensor('int32', r.token_type_ids, [1, L]) } : {}),
        })) as unknown as Record<string, Tensor>;
        const keys = Object.keys(packed[b]).sort();
        t.deepEqual(
          keys,
          Object.keys(alone)
            .filter((k) => k !== 'loss')
            .sort(),
          `${cls.name}: same output names`,
        );
        for (const k of keys) {
          const got = packed[b][k];
          const want = alone[k];
          t.deepEqual(got.dims, want.dims, `${cls.name} row ${b} ${k} dims`);
          const g = got.data as Float32Array;
          const w = want.data as Float32Array;
          let bad = -1;
          for (let i = 0; i < w.length; i++) if (!(Math.abs(g[i] - w[i]) <= 1e-5 + 1e-5 * Math.abs(w[i]))) bad = i;
          t.is(bad, -1, `${cls.name} row ${b} ${k}: element ${bad} got ${g[bad]} want ${w[bad]}`);
        }
      }
      m.dispose();
    }
  });
}

test('forwardPacked validates rows and refuses multiple choice', async (t) => {
  const m = await ConvBertModel.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'));
  t.teardown(() => m.dispose());
  await t.throwsAsync(m.forwardPacked([]), { code: 'ERR_CONVBERT_ARG' } as never);
  await t.throwsAsync(m.forwardPacked([{ input_ids: new Int32Array(0) }]), {
    code: 'ERR_CONVBERT_SHAPE',
    message: /rows\[0\]\.input_ids: expected a non-empty 1-D sequence/,
  } as never);
  await t.throwsAsync(m.forwardPacked([{ input_ids: Int32Array.from([1, 2]) }, { input_ids: Int32Array.from([1, 99]) }]), {
    code: 'ERR_CONVBERT_ARG',
    message: /rows\[1\]\.input_ids: value 99 at \[1\]/,
  } as never);
  await t.throwsAsync(m.forwardPacked([{ input_ids: Int32Array.from([1, 2]), token_type_ids: Int32Array.from([0]) }]), {
    code: 'ERR_CONVBERT_SHAPE',
    message: /rows\[0\]\.token_type_ids: expected dims \[2\] like input_ids/,
  } as never);
  await t.throwsAsync(m.forwardPacked([{ input_ids: new Int32Array(129).fill(1) }]), { code: 'ERR_CONVBERT_SHAPE', message: /exceeds max_position_embeddings 128/ } as never);
  const mc = await ConvBertForMultipleChoice.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertForMultipleChoice'));
  await t.throwsAsync(mc.forwardPacked(rows), { code: 'ERR_CONVBERT_UNSUPPORTED' } as never);
  mc.dispose();
  m.dispose();
  await t.throwsAsync(m.forwardPacked(rows), { code: 'ERR_CONVBERT_DISPOSED' } as never);
});
