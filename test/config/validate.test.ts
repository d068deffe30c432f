// lib/validate.ts: the one description of a received value that every argument error
// uses, and the option checkers built on it. Exact strings: these are messages, so
// there is no tolerance to state.
import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { boolOption, describe, enumOption, intOption, isPlainObject } from '../../lib/validate';

test('describe: primitives as typeof and value, strings quoted', (t) => {
  t.is(describe(null), 'null');
  t.is(describe(undefined), 'undefined');
  t.is(describe(1.5), 'number 1.5');
  t.is(describe(Number.NaN), 'number NaN');
  t.is(describe(true), 'boolean true');
  t.is(describe(5n), 'bigint 5');
  t.is(describe(Symbol('s')), 'symbol Symbol(s)');
  t.is(describe('int8'), '"int8"');
  t.is(describe(''), '""');
});

test('describe: a long string shows its length and its start only', (t) => {
  const s = `${'a'.repeat(40)}${'b'.repeat(1000)}`;
  t.is(describe(s), `a string of length 1040, "${'a'.repeat(40)}..."`);
  t.is(describe('a'.repeat(40)), `"${'a'.repeat(40)}"`);
  t.is(describe('abcdef', 3), 'a string of length 6, "abc..."');
});

test('describe: arrays and plain objects as JSON when short, else their size', (t) => {
  t.is(describe([]), 'an array []');
  t.is(describe([1, 'a', null, [true]]), 'an array [1,"a",null,[true]]');
  t.is(describe(new Array(1000).fill(0)), 'an array of length 1000');
  t.is(describe({}), 'an object {}');
  t.is(describe({ 0: [1, 2] }), 'an object {"0":[1,2]}');
  t.is(describe(Object.assign(Object.create(null) as object, { a: 1 })), 'an object {"a":1}');
  t.is(describe({ a: 'x'.repeat(100) }), 'an object with 1 key');
  t.is(describe({ a: 'x'.repeat(30), b: 'y'.repeat(30) }), 'an object with 2 keys');
  // a nested value that is not JSON (a typed array, a function) gives no preview
  t.is(describe([new Float32Array(2)]), 'an array of length 1');
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  t.is(describe(cyclic), 'an array of length 1');
});

test('describe: typed arrays, class instances, boxed values and functions by kind', (t) => {
  t.is(describe(new Float32Array(4)), 'a Float32Array of length 4');
  t.is(describe(new DataView(new ArrayBuffer(8))), 'a DataView of length 8');
  class Foo {}
  t.is(describe(new Foo()), 'an instance of Foo');
  t.is(describe(new Map()), 'an object ([object Map])');
  t.is(describe(new String('x')), 'an object ([object String])');
  t.is(
    describe(function named() {}),
    'a function (named)',
  );
  t.is(describe([() => 0][0]), 'a function');
});

test('describe: the work is bounded by the length shown, not by the value', (t) => {
  // Count the elements describe() reads: a full JSON.stringify would read all 2M of them
  // (and a cyclic value would never end); the bounded preview stops after 40 characters.
  let reads = 0;
  const big = new Proxy(new Array(2_000_000).fill('word'), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^[0-9]+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  t.is(describe(big), 'an array of length 2000000');
  t.true(reads > 0 && reads <= 41, `${reads} element reads`);
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  t.regex(describe(cyclic), /^an object/);
});

test('isPlainObject: objects, not null, arrays or typed arrays', (t) => {
  t.true(isPlainObject({}));
  t.true(isPlainObject(Object.create(null)));
  t.false(isPlainObject(null));
  t.false(isPlainObject([]));
  t.false(isPlainObject(new Uint8Array(1)));
  t.false(isPlainObject('x'));
});

test("intOption / boolOption / enumOption: defaults, and ERR_CONVBERT_ARG in describe()'s words", (t) => {
  t.is(intOption('top_k', undefined, 5, 1), 5);
  t.is(intOption('top_k', 3, 5, 1, 10), 3);
  t.throws(() => intOption('top_k', 0, 5, 1), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: 'top_k: expected an integer in [1, inf], got number 0' });
  t.throws(() => intOption('top_k', 11, 5, 1, 10), { code: 'ERR_CONVBERT_ARG', message: 'top_k: expected an integer in [1, 10], got number 11' });
  t.throws(() => intOption('top_k', '3', 5, 1), { code: 'ERR_CONVBERT_ARG', message: 'top_k: expected an integer in [1, inf], got "3"' });
  t.is(boolOption('normalize', undefined, true), true);
  t.is(boolOption('normalize', false, true), false);
  t.throws(() => boolOption('normalize', 'yes', true), { code: 'ERR_CONVBERT_ARG', message: 'normalize: expected a boolean, got "yes"' });
  t.is(enumOption('pooling', undefined, ['mean', 'cls'], 'mean'), 'mean');
  t.is(enumOption('pooling', 'cls', ['mean', 'cls'], 'mean'), 'cls');
  t.throws(() => enumOption('pooling', 'max', ['mean', 'cls'], 'mean'), { code: 'ERR_CONVBERT_ARG', message: "pooling: expected one of 'mean', 'cls', got \"max\"" });
});
