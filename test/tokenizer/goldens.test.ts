// goldens.test.ts: every golden of fixtures/tokenizer through ConvBertTokenizer
// (the TypeScript core, slow-only never_split on). With the default 'rust' character
// tables the comparison is exact everywhere (tolerance zero: tokenization is
// discrete); with plain JS \p{...} tables the unicode_sensitive cases may differ,
// only inside the flagged words (see goldens.ts), which is checked too.
import test from 'ava';

import { ConvBertTokenizer } from '../../lib/tokenizer/convbert';
import type { TokenizerOptions } from '../../lib/tokenizer/options';
import { registerGoldenTests, runEncodeGoldens, runUnicodeClassGoldens } from './goldens';

registerGoldenTests(test, 'ConvBertTokenizer', ConvBertTokenizer, { unicodeTables: 'rust', neverSplit: true });

/** The same class with plain JS tables. */
const JsTables = {
  fromPretrained: (dir: string, overrides: Partial<TokenizerOptions> = {}) => ConvBertTokenizer.fromPretrained(dir, { ...overrides, unicode_tables: 'js' }),
};
test('ConvBertTokenizer (unicode_tables js): encode.json goldens, soft only on unicode_sensitive words', (t) =>
  runEncodeGoldens(t, JsTables, { unicodeTables: 'js', neverSplit: true }));
test('ConvBertTokenizer (unicode_tables js): unicode_classes.json', (t) => runUnicodeClassGoldens(t, JsTables, { unicodeTables: 'js', neverSplit: true }));
