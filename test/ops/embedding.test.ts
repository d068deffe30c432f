// embedding (word[id] or inputs_embeds, + position + token type) on every CPU
// path against an fp64 reference written here, and its own range check: a bad
// id is a ConvBertError naming input_ids, never an out-of-bounds read.
// Tolerance: rtol 1e-6, atol 1e-6 (two float additions of O(1) terms: up to
// about 3 ulp(4) absolute, even when the sum cancels to near zero).
import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { assertClose } from '../helpers/assert_close';
import { cpuPaths } from '../helpers/ops';
import { mulberry32, randn } from '../helpers/rng';
import { type EmbIn, embedding } from './kernels';

function embeddingRef(e: EmbIn): Float64Array {
  const y = new Float64Array(e.T * e.E);
  for (let t = 0; t < e.T; t++)
    for (let d = 0; d < e.E; d++) {
      const w = e.ids ? e.word[e.ids[t] * e.E + d] : e.embeds![t * e.E + d];
      y[t * e.E + d] = w + e.pos[e.positions[t] * e.E + d] + e.type[(e.types ? e.types[t] : 0) * e.E + d];
    }
  return y;
}

test('embedding sums match an fp64 reference on every path (ids or embeds, with or without types)', (t) => {
  const rand = mulberry32(2);
  for (const E of [1, 7, 33, 129]) {
    const T = 11;
    const V = 50;
    const P = 20;
    const TV = 3;
    const base = {
      positions: Int32Array.from({ length: T }, (_, i) => (i * 7) % P),
      word: randn(rand, V * E),
      pos: randn(rand, P * E),
      type: randn(rand, TV * E),
      T,
      E,
      V,
      P,
      TV,
    };
    const ids = Int32Array.from({ length: T }, (_, i) => (i * 13 + 5) % V);
    const types = Int32Array.from({ length: T }, (_, i) => i % TV);
    const variants: EmbIn[] = [
      { ...base, ids, embeds: null, types },
      { ...base, ids, embeds: null, types: null },
      { ...base, ids: null, embeds: randn(rand, T * E), types },
    ];
    for (const e of variants) {
      const want = embeddingRef(e);
      for (const path of cpuPaths()) {
        const { y, ran } = embedding(e, path);
        t.is(ran, path);
        assertClose(t, y, want, { rtol: 1e-6, atol: 1e-6, label: `${path} E=${E} ids=${e.ids !== null} types=${e.types !== null}` });
      }
    }
  }
});

test('embedding rejects an id, position or type out of range with a typed error', (t) => {
  const E = 4;
  const e: EmbIn = {
    ids: Int32Array.from([1, 9]),
    embeds: null,
    positions: Int32Array.from([0, 1]),
    types: null,
    word: new Float32Array(9 * E),
    pos: new Float32Array(2 * E),
    type: new Float32Array(E),
    T: 2,
    E,
    V: 9,
    P: 2,
    TV: 1,
  };
  for (const path of cpuPaths()) {
    const err = t.throws(() => embedding(e, path));
    t.true(err instanceof ConvBertError);
    t.is((err as ConvBertError).code, 'ERR_CONVBERT_ARG');
    t.regex(err!.message, /input_ids/);
    const badPos = t.throws(() => embedding({ ...e, ids: Int32Array.from([1, 2]), positions: Int32Array.from([0, 2]) }, path));
    t.regex(badPos!.message, /position_ids/);
  }
});
