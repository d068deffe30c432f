// allocLargeBuffer: the addon's buffers for the checkpoint reader (huge-page
// backed from 2 MiB). Sizes are exact, memory is writable and independent per
// buffer, bad sizes throw TypeError/RangeError naming the argument, and a
// safetensors load that reads through it equals the full (eager) loader.
import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { native } from '../../lib/native';
import { openCheckpoint } from '../../lib/models/checkpoint';
import { loadStateDict } from '../../lib/weights';
import { fixturesDir } from '../helpers/fixtures';

const alloc = native().allocLargeBuffer as (n: number) => ArrayBuffer;

test('allocLargeBuffer returns writable buffers of exactly the size asked, below and above 2 MiB', (t) => {
  for (const n of [0, 1, 4096, (2 << 20) - 1, 2 << 20, (3 << 20) + 5]) {
    const b = alloc(n);
    t.true(b instanceof ArrayBuffer);
    t.is(b.byteLength, n);
    if (n > 1) {
      const u = new Uint8Array(b);
      u[0] = 7;
      u[n - 1] = 9;
      t.is(u[0], 7);
      t.is(u[n - 1], 9);
    }
  }
  const a = new Float32Array(alloc(4 << 20));
  const c = new Float32Array(alloc(4 << 20));
  a.fill(1);
  c.fill(2);
  t.is(a[a.length - 1], 1);
  t.is(c[0], 2);
});

test('allocLargeBuffer: bad sizes are a ConvBertError naming the argument', (t) => {
  const arg = { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' };
  t.throws(() => (native().allocLargeBuffer as (n: unknown) => ArrayBuffer)('3'), { ...arg, message: "allocLargeBuffer: bytes: expected an integer >= 0, got '3'" });
  t.throws(() => alloc(-1), { ...arg, message: 'allocLargeBuffer: bytes: expected an integer >= 0, got -1' });
  t.throws(() => alloc(1.5), { ...arg, message: 'allocLargeBuffer: bytes: expected an integer >= 0, got 1.5' });
  t.throws(() => alloc(Number.NaN), { ...arg, message: 'allocLargeBuffer: bytes: expected an integer >= 0, got NaN' });
});

test('a safetensors checkpoint read through the reused large buffer equals the eager loader', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  const { checkpoint, lazy } = await openCheckpoint(dir, { reuseReadBuffer: true });
  t.true(lazy);
  const eager = await loadStateDict(dir);
  t.is(checkpoint.size, eager.size);
  for (const [k, e] of checkpoint) {
    // Each read lands in the shared buffer: compare before the next read overwrites it.
    const got = e.read();
    const want = eager.get(k)!;
    t.deepEqual(Array.from(e.dims), Array.from(want.dims), k);
    t.deepEqual(Array.from(got), Array.from(want.data as Float32Array), k);
  }
});
