// unicode_rust.test.ts: lib/tokenizer/unicode_rust.ts (where HF's Rust tables differ
// from JS \p{...}) is exactly what fixtures/tokenizer/unicode_classes.json lists, so
// the shipped table cannot drift from the oracle's data. Exact comparison.
import test from 'ava';

import { NOT_PUNCT, NOT_REMOVED, PUNCT, STRIP_DROP, STRIP_KEEP, inRanges } from '../../lib/tokenizer/unicode_rust';
import { fixturesDir, readJson } from '../helpers/fixtures';

interface Row {
  from: string;
  to: string;
  fast: string;
  js: string;
}

test('unicode_rust.ts equals the class and strip differences listed in unicode_classes.json', (t) => {
  const u = readJson<{ class_fast_vs_js: Row[]; strip_fast_vs_js: Row[] }>(fixturesDir('tokenizer', 'unicode_classes.json'));
  const cp = (s: string) => parseInt(s.slice(2), 16);
  const want: Record<string, number[]> = { NOT_PUNCT: [], NOT_REMOVED: [], PUNCT: [], STRIP_KEEP: [], STRIP_DROP: [] };
  for (const r of u.class_fast_vs_js) {
    const kinds: Record<string, string> = { 'other>punct': 'NOT_PUNCT', 'other>removed': 'NOT_REMOVED', 'punct>other': 'PUNCT' };
    const key = kinds[`${r.fast}>${r.js}`];
    t.truthy(key, `a class difference the core knows how to apply: ${r.from} ${r.fast}>${r.js}`);
    want[key!].push(cp(r.from), cp(r.to));
  }
  for (const r of u.strip_fast_vs_js) {
    if (r.fast === '') want.STRIP_DROP.push(cp(r.from), cp(r.to));
    else {
      t.is(r.fast, String.fromCodePoint(cp(r.from)), `${r.from}: HF keeps the character`);
      want.STRIP_KEEP.push(cp(r.from), cp(r.to));
    }
  }
  t.deepEqual({ NOT_PUNCT, NOT_REMOVED, PUNCT, STRIP_KEEP, STRIP_DROP }, want);
  t.true(inRanges(NOT_PUNCT, 0x2e43) && inRanges(NOT_PUNCT, 0x2e4f) && !inRanges(NOT_PUNCT, 0x2e50) && !inRanges(NOT_PUNCT, 0x2e42));
});
