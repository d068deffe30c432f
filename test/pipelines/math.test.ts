// Post-processing math: topk (a heap selection) against a full stable descending
// sort of seeded random values, ties included (values drawn from a few levels),
// with ±Infinity and NaN; it reads each value about twice, not O(n log n) times;
// softmaxInto equals softmax. Exact comparisons: both sides order the same doubles.
import test from 'ava';

import { softmax, softmaxInto, topk } from '../../lib/pipelines/math';
import { mulberry32 as rng } from '../helpers/rng';

/** The reference: every index sorted by value, largest first, equal values by index; NaNs last, by index. */
function sortRef(x: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  const key = (i: number): number => (Number.isNaN(x[i]) ? -Infinity : x[i]);
  idx.sort((a, b) => {
    const na = Number.isNaN(x[a]);
    const nb = Number.isNaN(x[b]);
    if (na !== nb) return na ? 1 : -1;
    return key(b) - key(a) || a - b;
  });
  return idx.slice(0, Math.max(0, Math.min(k, x.length)));
}

test('topk equals the first k of a stable descending sort (ties by lower index) on random logits', (t) => {
  const r = rng(1234);
  for (const n of [1, 2, 7, 64, 1000, 30522]) {
    // Continuous float32 logits, and logits drawn from 5 levels (many ties).
    const cont = Float32Array.from({ length: n }, () => (r() - 0.5) * 20);
    const tied = Float32Array.from({ length: n }, () => Math.floor(r() * 5) - 2);
    for (const x of [cont, tied]) {
      for (const k of [1, 2, 5, 37, 100, n - 1, n, n + 3]) {
        if (k < 1) continue;
        t.deepEqual(topk(x, k), sortRef(x, k), `n=${n} k=${k} ${x === cont ? 'continuous' : 'tied'}`);
      }
    }
  }
});

test('topk: probabilities with ties, ±Infinity, -0, NaN, and k <= 0', (t) => {
  const r = rng(99);
  const probs = softmax(Float32Array.from({ length: 5000 }, () => Math.round(r() * 8)));
  t.deepEqual(topk(probs, 50), sortRef(probs, 50));
  const odd = [0, -0, Infinity, 3, -Infinity, Infinity, NaN, 3, NaN, -1];
  for (let k = 1; k <= odd.length; k++) t.deepEqual(topk(odd, k), sortRef(odd, k), `k=${k}`);
  t.deepEqual(topk([NaN, NaN, NaN], 2), [0, 1]);
  t.deepEqual(topk([1, 2, 3], 0), []);
  t.deepEqual(topk([], 3), []);
});

test('topk reads each value about twice (a selection), where a full sort reads it O(log n) times', (t) => {
  const n = 30522;
  const r = rng(7);
  const data = Float32Array.from({ length: n }, () => (r() - 0.5) * 20);
  let reads = 0;
  const counted = new Proxy(data, {
    get(target, prop) {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) reads++;
      return Reflect.get(target, prop) as unknown;
    },
  });
  const got = topk(counted, 5);
  t.deepEqual(got, sortRef(data, 5));
  // One comparison with the heap's root per value (2 reads), plus a few hundred for the
  // replacements; a comparison sort needs about 2 n log2 n = 30 n reads.
  t.true(reads < 3 * n, `${reads} reads for n = ${n}`);
});

test('softmaxInto equals softmax and reuses the buffer', (t) => {
  const r = rng(5);
  const buf = new Float64Array(300);
  for (const n of [1, 10, 300]) {
    const x = Float32Array.from({ length: n }, () => (r() - 0.5) * 40);
    const got = softmaxInto(x, buf);
    t.deepEqual(Array.from(got), Array.from(softmax(x)));
    t.is(got.buffer, buf.buffer);
  }
  t.throws(() => softmaxInto(new Float32Array(4), new Float64Array(3)), { instanceOf: RangeError });
});
