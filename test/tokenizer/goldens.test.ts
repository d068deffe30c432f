// goldens.test.ts: every golden of fixtures/tokenizer through ConvBertTokenizer
// (the TypeScript core, JS \p{...} character tables, slow-only never_split on).
// Exact comparison (tolerance zero): see goldens.ts for the one soft case.
import test from 'ava';

import { ConvBertTokenizer } from '../../lib/tokenizer/convbert';
import { registerGoldenTests } from './goldens';

registerGoldenTests(test, 'ConvBertTokenizer', ConvBertTokenizer, { unicodeTables: 'js', neverSplit: true });
