// softmax (in place over groups of n floats, max-subtracted) on every CPU path
// against the fp64 reference (helpers/ref64.ts); inputs up to |x| = 50 so the max
// subtraction matters. Tolerance: rtol 1e-5, atol 1e-7 (probabilities; the
// vector exp is within about 1 ulp).
import test from 'ava';

import { assertClose } from '../helpers/assert_close';
import { cpuPaths } from '../helpers/ops';
import { softmaxRows } from '../helpers/ref64';
import { mulberry32, randn } from '../helpers/rng';
import { softmax } from './kernels';

test('softmax matches an fp64 reference on every path', (t) => {
  const rand = mulberry32(3);
  for (const n of [1, 7, 9, 33, 129]) {
    for (const scale of [1, 20]) {
      const rows = 5;
      const x = randn(rand, rows * n, scale);
      const want = softmaxRows(x, rows, n);
      for (const path of cpuPaths()) {
        const { y, ran } = softmax(x, rows, n, path);
        t.is(ran, path);
        assertClose(t, y, want, { rtol: 1e-5, atol: 1e-7, label: `${path} n=${n} scale=${scale}` });
      }
    }
  }
});

test('rows with NaN, +Inf or only -Inf come out all NaN on every path, as in torch; -Inf elsewhere weighs 0', (t) => {
  // softmaxRows follows IEEE like torch (Math.max carries NaN; Inf - Inf is NaN).
  // Row widths 5 and 21 put the odd values in full vectors and in tails.
  for (const n of [5, 21]) {
    const rows: number[][] = [
      Array.from({ length: n }, (_, i) => (i === n - 1 ? NaN : i / n)),
      Array.from({ length: n }, (_, i) => (i === 1 ? Infinity : -i)),
      Array.from({ length: n }, () => -Infinity),
      Array.from({ length: n }, (_, i) => (i % 2 ? -Infinity : i / 3)),
      Array.from({ length: n }, (_, i) => (i === 0 ? NaN : 1)),
    ];
    const x = Float32Array.from(rows.flat());
    const want = softmaxRows(x, rows.length, n);
    for (const path of cpuPaths()) {
      const { y, ran } = softmax(x, rows.length, n, path);
      t.is(ran, path);
      for (let i = 0; i < want.length; i++) {
        const ok = Number.isNaN(want[i]) ? Number.isNaN(y[i]) : Math.abs(y[i] - want[i]) <= 1e-7 + 1e-5 * want[i];
        if (!ok) t.fail(`${path} n=${n}: element ${i} (row ${Math.floor(i / n)}) got ${y[i]}, expected ${want[i]}`);
      }
      t.pass();
    }
  }
});
