// bounded_files.test.ts: tokenizer files from a model repository cannot size an
// allocation by an id they name. Crafted tokenizer.json / added_tokens.json /
// tokenizer_config.json files of ~150 bytes (an id of 4e8, negative, fractional or
// repeated ids, repeated tokens, holes) give a typed ERR_CONVBERT_TOKENIZER naming the
// file and the entry, for both tokenizers; before the checks an id of 4e8 made the
// loader fill a 4e8-entry array and die of heap exhaustion. Valid files still load.
// The native core checks what it is handed again (sparse arrays, added ids).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertError } from '../../lib/errors';
import { native } from '../../lib/native';
import type { PreTrainedTokenizerBase } from '../../lib/tokenizer/base';
import { ConvBertTokenizer } from '../../lib/tokenizer/convbert';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-tokfiles-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

let dirCount = 0;
function modelDir(files: Record<string, string>): string {
  const dir = path.join(tmp, `m${dirCount++}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const SPECIALS = '"[UNK]":0,"[CLS]":1,"[SEP]":2,"[PAD]":3,"[MASK]":4';
/** A tokenizer.json whose WordPiece vocab is SPECIALS plus `rest` (raw JSON members). */
function tokenizerJson(rest: string, added = ''): string {
  return `{"added_tokens":[${added}],"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{${SPECIALS}${rest}}}}`;
}
const VOCAB_TXT = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n';

/** Both tokenizers' fromPretrained, by name. */
const LOADERS: [string, (dir: string) => Promise<PreTrainedTokenizerBase>][] = [
  ['ConvBertTokenizer', (d) => ConvBertTokenizer.fromPretrained(d)],
  ['ConvBertTokenizerFast', (d) => ConvBertTokenizerFast.fromPretrained(d)],
];

async function loadFails(t: import('ava').ExecutionContext, files: Record<string, string>, re: RegExp): Promise<void> {
  const dir = modelDir(files);
  for (const [name, load] of LOADERS) {
    const err = await t.throwsAsync(load(dir), { instanceOf: ConvBertError }, `${name}: ${JSON.stringify(files)}`);
    t.is(err?.code, 'ERR_CONVBERT_TOKENIZER', err?.message);
    t.regex(err?.message ?? '', re);
  }
}

test('tokenizer.json: a WordPiece id of 4e8 in a 150-byte file is a typed error, not a 4e8-entry array', async (t) => {
  const text = tokenizerJson(',"a":400000000');
  t.true(text.length < 160, `the file is ${text.length} bytes`);
  await loadFails(t, { 'tokenizer.json': text }, /tokenizer\.json: model\.vocab\["a"\]: expected an integer id in \[0, 6\).*got number 400000000/);
});

test('tokenizer.json: negative, fractional, non-number, repeated ids and holes are typed errors naming the token', async (t) => {
  await loadFails(t, { 'tokenizer.json': tokenizerJson(',"a":-1') }, /model\.vocab\["a"\]: expected an integer id in \[0, 6\).*got number -1/);
  await loadFails(t, { 'tokenizer.json': tokenizerJson(',"a":5.5') }, /model\.vocab\["a"\]: .*got number 5\.5/);
  await loadFails(t, { 'tokenizer.json': tokenizerJson(',"a":"5"') }, /model\.vocab\["a"\]: .*got "5"/);
  await loadFails(t, { 'tokenizer.json': tokenizerJson(',"a":1e300') }, /model\.vocab\["a"\]: .*got number 1e\+300/);
  // two tokens, one id: the second is reported with the first
  await loadFails(t, { 'tokenizer.json': tokenizerJson(',"a":4,"b":5') }, /model\.vocab: id 4 is given to both "\[MASK\]" and "a"/);
  // a hole (ids 0..4 and 6 for 6 entries)
  await loadFails(t, { 'tokenizer.json': tokenizerJson(',"a":6') }, /model\.vocab\["a"\]: expected an integer id in \[0, 6\).*got number 6/);
  // a repeated token: JSON.parse keeps the last, which leaves id 5 unused
  await loadFails(t, { 'tokenizer.json': tokenizerJson(',"a":5,"a":6') }, /model\.vocab\["a"\]: expected an integer id in \[0, 6\).*got number 6/);
  await loadFails(t, { 'tokenizer.json': '{"model":{"type":"WordPiece","vocab":{}}}' }, /model\.vocab: expected at least one token/);
});

test('tokenizer.json: added_tokens ids are checked against the vocab and added-token counts', async (t) => {
  const ok = (id: number) => `{"id":${id},"content":"<x>","special":true}`;
  await loadFails(t, { 'tokenizer.json': tokenizerJson('', ok(400000000)) }, /tokenizer\.json: added_tokens\[0\]: expected an id below 6 .*got 400000000/);
  await loadFails(t, { 'tokenizer.json': tokenizerJson('', ok(-3)) }, /added_tokens\[0\]: expected a non-negative integer id, got number -3/);
  await loadFails(t, { 'tokenizer.json': tokenizerJson('', '{"id":1.5,"content":"<x>"}') }, /added_tokens\[0\]: expected a non-negative integer id, got number 1\.5/);
  await loadFails(t, { 'tokenizer.json': tokenizerJson('', '{"content":"<x>"}') }, /added_tokens\[0\]: expected a non-negative integer id, got undefined/);
  await loadFails(t, { 'tokenizer.json': tokenizerJson('', '{"id":5}') }, /added_tokens\[0\]: expected \{"id": \.\.\., "content": "\.\.\."\}/);
  // the next id after the vocab is fine, and is the token's id
  const dir = modelDir({ 'tokenizer.json': tokenizerJson('', ok(5)) });
  for (const [, load] of LOADERS) {
    const tok = await load(dir);
    t.is(tok.vocabSize, 5);
    t.deepEqual(tok.encode('[UNK]<x>').input_ids, [1, 0, 5, 2]);
  }
});

test('vocab.txt with added_tokens.json or added_tokens_decoder: ids far past the vocab are typed errors', async (t) => {
  await loadFails(t, { 'vocab.txt': VOCAB_TXT, 'added_tokens.json': '{"<new>": 400000000}' }, /added_tokens\.json: "<new>": expected an id below 7 .*got 400000000/);
  await loadFails(t, { 'vocab.txt': VOCAB_TXT, 'added_tokens.json': '{"<new>": -1}' }, /added_tokens\.json: "<new>": expected a non-negative integer id, got number -1/);
  await loadFails(t, { 'vocab.txt': VOCAB_TXT, 'added_tokens.json': '{"<new>": 6.5}' }, /added_tokens\.json: "<new>": expected a non-negative integer id, got number 6\.5/);
  const decoder = (key: string) => JSON.stringify({ added_tokens_decoder: { [key]: { content: '<sp>', special: true } } });
  await loadFails(
    t,
    { 'vocab.txt': VOCAB_TXT, 'tokenizer_config.json': decoder('400000000') },
    /tokenizer_config\.json: added_tokens_decoder\["400000000"\]: expected an id below 7/,
  );
  await loadFails(t, { 'vocab.txt': VOCAB_TXT, 'tokenizer_config.json': decoder('-1') }, /added_tokens_decoder\["-1"\]: expected a non-negative integer id, got "-1"/);
  await loadFails(t, { 'vocab.txt': VOCAB_TXT, 'tokenizer_config.json': decoder('1e9') }, /added_tokens_decoder\["1e9"\]: expected a non-negative integer id, got "1e9"/);
  // the ids right after the vocab load, as before
  const dir = modelDir({ 'vocab.txt': VOCAB_TXT, 'added_tokens.json': '{"<new>": 6}', 'tokenizer_config.json': decoder('7') });
  const tok = await ConvBertTokenizer.fromPretrained(dir);
  t.deepEqual(tok.encode('<new><sp>').input_ids, [2, 6, 7, 3]);
});

test('added_token_ids given in code are checked the same way', (t) => {
  const vocab = VOCAB_TXT.trim().split('\n');
  for (const id of [400000000, -1, 2.5, Number.NaN]) {
    const err = t.throws(() => new ConvBertTokenizer({ vocab, added_tokens: ['<x>'], added_token_ids: { '<x>': id } }), { instanceOf: ConvBertError });
    t.is(err?.code, 'ERR_CONVBERT_TOKENIZER');
    t.regex(err?.message ?? '', /added_token_ids\["<x>"\]: expected an integer id in \[0, 12\)/);
  }
  const ok = new ConvBertTokenizer({ vocab, added_tokens: ['<x>'], added_token_ids: { '<x>': 6, constructor: 99 } });
  t.is(ok.convertTokensToIds('<x>'), 6);
});

test('the native core re-checks what it is handed: sparse arrays and out-of-range added ids are typed errors, not aborts', async (t) => {
  type Core = { encode(s: string): { ids: Int32Array }; encodeBatch(a: unknown, n: number): unknown; encodeBatchAsync(a: unknown, n: number): Promise<unknown> };
  const WordPieceCore = native().WordPieceCore as new (vocab: unknown, opts?: unknown) => Core;
  // A sparse array of length 2^32 - 1: sizing a vector by its length used to throw
  // std::bad_alloc out of the constructor, which terminated the process.
  const sparse: string[] = [];
  sparse.length = 2 ** 32 - 1;
  const codeOf = (f: () => unknown): string | undefined => (t.throws(f) as { code?: string } | undefined)?.code;
  t.is(
    codeOf(() => new WordPieceCore(sparse, {})),
    'ERR_CONVBERT_TOKENIZER',
  );
  const core = new WordPieceCore(['[UNK]', 'a', 'b'], {});
  t.is(
    codeOf(() => core.encodeBatch(sparse, 1)),
    'ERR_CONVBERT_TOKENIZER',
  );
  t.is(
    codeOf(() => core.encodeBatchAsync(sparse, 1)),
    'ERR_CONVBERT_TOKENIZER',
  );
  // Added ids must be exact int32 ids below vocab + added count (3 + 1 here); 1e10 used to wrap to another id.
  for (const id of [1e10, Number.NaN, -1, 1.5, 4, 400000000]) {
    const err = t.throws(() => new WordPieceCore(['[UNK]', 'a', 'b'], { addedTokens: ['<x>'], addedIds: [id] }));
    t.is((err as { code?: string } | undefined)?.code, 'ERR_CONVBERT_TOKENIZER', `id ${id}`);
    t.regex(err?.message ?? '', /addedIds\[0\]/);
  }
  t.throws(() => new WordPieceCore(['[UNK]'], { addedTokens: ['<x>', '<y>'], addedIds: [1] }), { message: /addedIds: expected one id per added token \(2\), got 1/ });
  const ok = new WordPieceCore(['[UNK]', 'a', 'b'], { addedTokens: ['<x>'], addedIds: [3] });
  t.deepEqual([...ok.encode('a<x>b').ids], [1, 3, 2]);
});
