// tokenizer.test.ts: ConvBertTokenizer's API beyond the goldens: loading and saving
// model directories (vocab.txt, tokenizer_config.json, special_tokens_map.json,
// tokenizer.json), option handling, the id/token helpers, and bad input (typed
// ConvBertError, never a crash). Expected values come from the fixtures' vocab or
// are derived in the test; comparisons are exact (tokenization is discrete).
import test from 'ava';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertError, type ConvBertErrorCode } from '../../lib/errors';
import { cleanUpTokenization } from '../../lib/tokenizer/base';
import { ConvBertTokenizer } from '../../lib/tokenizer/convbert';
import { parseVocab } from '../../lib/tokenizer/files';
import { CorePool } from '../../lib/tokenizer/pool';
import { fixturesDir } from '../helpers/fixtures';

const VOCAB = fixturesDir('tokenizer', 'vocab.txt');
const VOCAB_ZH = fixturesDir('tokenizer', 'vocab_chinese.txt');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-tok-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

let dirCount = 0;
function modelDir(files: Record<string, string | Buffer>, vocabFrom: string | null = VOCAB): string {
  const dir = path.join(tmp, `m${dirCount++}`);
  fs.mkdirSync(dir);
  if (vocabFrom) fs.copyFileSync(vocabFrom, path.join(dir, 'vocab.txt'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const vocabLines = parseVocab(fs.readFileSync(VOCAB, 'utf8'));
const tok = new ConvBertTokenizer({ vocab: vocabLines, model_max_length: 512 });

function throwsTok(t: import('ava').ExecutionContext, f: () => unknown, re: RegExp, code: ConvBertErrorCode = 'ERR_CONVBERT_TOKENIZER'): void {
  const err = t.throws(f, { instanceOf: ConvBertError });
  t.is(err?.code, code);
  t.regex(err?.message ?? '', re);
}

test('vocab files: split on \\n only, so the U+2028 entries of the Chinese vocab keep their ids', (t) => {
  const zh = parseVocab(fs.readFileSync(VOCAB_ZH, 'utf8'));
  t.is(zh.length, 21128);
  t.true(zh[343].includes('\u2028'));
  t.true(zh[13502].includes('\u2028'));
  t.is(vocabLines.length, 30522);
  t.is(tok.vocabSize, 30522);
  t.deepEqual([tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id], [0, 100, 101, 102, 103]);
  t.deepEqual(parseVocab('a\r\nb\r\n'), ['a', 'b'], 'CRLF files load like Python text mode');
});

test('fromPretrained reads tokenizer_config.json and special_tokens_map.json (AddedToken dicts too)', async (t) => {
  const dir = modelDir({
    'tokenizer_config.json': JSON.stringify({ do_lower_case: false, model_max_length: 8, padding_side: 'left', tokenizer_class: 'ConvBertTokenizer' }),
    'special_tokens_map.json': JSON.stringify({ mask_token: { content: '[MASK]', lstrip: false, normalized: false, rstrip: false, single_word: false } }),
  });
  const t2 = await ConvBertTokenizer.fromPretrained(dir);
  t.false(t2.do_lower_case);
  t.is(t2.model_max_length, 8);
  t.is(t2.padding_side, 'left');
  // cased: "Hello" is not in the uncased vocab as is
  t.deepEqual(t2.tokenize('Hello [MASK]'), [...tok.tokenize('hello').map(() => '[UNK]'), '[MASK]']);
  // truncation=true without max_length uses model_max_length; padding='max_length' too, on the config's side
  t.is(t2.encode('a b c d e f g h i j', { truncation: true }).input_ids.length, 8);
  const padded = t2.encode('a', { padding: 'max_length' });
  t.deepEqual(padded.input_ids, [0, 0, 0, 0, 0, 101, 1037, 102]);
  t.deepEqual(padded.attention_mask, [0, 0, 0, 0, 0, 1, 1, 1]);
});

test('fromPretrained: tokenizer.json (WordPiece) supplies the vocab; the config flags win over its normalizer, as in transformers', async (t) => {
  const vocab: Record<string, number> = {};
  vocabLines.forEach((v, i) => (vocab[v] = i));
  const tj = {
    version: '1.0',
    added_tokens: [{ id: 103, content: '[MASK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  };
  const onlyJson = modelDir({ 'tokenizer.json': JSON.stringify(tj), 'tokenizer_config.json': JSON.stringify({ do_lower_case: true }) }, null);
  const a = await ConvBertTokenizer.fromPretrained(onlyJson);
  t.is(a.vocabSize, 30522);
  t.true(a.do_lower_case, 'tokenizer_config.json do_lower_case wins');
  t.deepEqual(a.encode('Hello World').input_ids, tok.encode('Hello World').input_ids);
  const cased = modelDir({ 'tokenizer.json': JSON.stringify(tj), 'tokenizer_config.json': JSON.stringify({ do_lower_case: false }) }, null);
  const b = await ConvBertTokenizer.fromPretrained(cased);
  t.false(b.do_lower_case);
  t.deepEqual(b.tokenize('Hello'), ['[UNK]']);
  const notWp = modelDir({ 'tokenizer.json': JSON.stringify({ ...tj, model: { type: 'BPE', vocab: {}, merges: [] } }) }, null);
  const err = await t.throwsAsync(ConvBertTokenizer.fromPretrained(notWp), { instanceOf: ConvBertError });
  t.is(err?.code, 'ERR_CONVBERT_UNSUPPORTED');
});

test('savePretrained writes files transformers loads, and they load back to the same tokenizer', async (t) => {
  for (const vocabFile of [VOCAB, VOCAB_ZH]) {
    const src = new ConvBertTokenizer({ vocab_file: vocabFile, do_lower_case: vocabFile === VOCAB, strip_accents: false, never_split: ['[foo]'] });
    const dir = path.join(tmp, `saved${dirCount++}`);
    const files = await src.savePretrained(dir);
    t.deepEqual(files.map((f) => path.basename(f)).sort(), ['special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    t.is(sha(path.join(dir, 'vocab.txt')), sha(vocabFile), 'vocab.txt round-trips byte for byte');
    const raw = fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8');
    t.regex(raw, /"model_max_length": 1000000000000000019884624838656/, 'int(1e30), as transformers writes it');
    const cfg = JSON.parse(raw);
    t.is(cfg.tokenizer_class, 'ConvBertTokenizer');
    t.is(cfg.strip_accents, false);
    t.is(cfg.added_tokens_decoder['103'].content, '[MASK]');
    t.true(cfg.added_tokens_decoder['103'].special);
    const back = await ConvBertTokenizer.fromPretrained(dir);
    const text = 'Héllo [MASK] wörld, 你好 [foo]!';
    t.deepEqual(back.encodeFull(text), src.encodeFull(text));
    t.deepEqual(back.tokenize(text), src.tokenize(text));
  }
  const vdir = path.join(tmp, `vocab${dirCount++}`);
  const [vf] = await tok.saveVocabulary(vdir, 'x');
  t.is(path.basename(vf), 'x-vocab.txt');
});

test('bad model directories: typed errors that name the file', async (t) => {
  const missing = await t.throwsAsync(ConvBertTokenizer.fromPretrained(path.join(tmp, 'nope')), { instanceOf: ConvBertError });
  t.is(missing?.code, 'ERR_CONVBERT_IO');
  const noVocab = await t.throwsAsync(ConvBertTokenizer.fromPretrained(modelDir({}, null)), { instanceOf: ConvBertError });
  t.is(noVocab?.code, 'ERR_CONVBERT_IO');
  t.regex(noVocab?.message ?? '', /vocab\.txt/);
  const badJson = await t.throwsAsync(ConvBertTokenizer.fromPretrained(modelDir({ 'tokenizer_config.json': '{"do_lower_case": tru' })), { instanceOf: ConvBertError });
  t.is(badJson?.code, 'ERR_CONVBERT_TOKENIZER');
  t.regex(badJson?.message ?? '', /tokenizer_config\.json/);
  const empty = modelDir({}, null);
  fs.writeFileSync(path.join(empty, 'vocab.txt'), '');
  const e2 = await t.throwsAsync(ConvBertTokenizer.fromPretrained(empty), { instanceOf: ConvBertError });
  t.regex(e2?.message ?? '', /empty/);
  const bin = modelDir({}, null);
  fs.writeFileSync(path.join(bin, 'vocab.txt'), Buffer.from([0x5b, 0xff, 0xfe, 0x0a]));
  const e3 = await t.throwsAsync(ConvBertTokenizer.fromPretrained(bin), { instanceOf: ConvBertError });
  t.regex(e3?.message ?? '', /UTF-8/);
  // a vocab without the unk token fails only when unk is needed, like HF's WordPiece
  const noUnk = new ConvBertTokenizer({ vocab: ['[PAD]', '[CLS]', '[SEP]', 'a'] });
  t.deepEqual(noUnk.tokenize('a a'), ['a', 'a']);
  throwsTok(t, () => noUnk.tokenize('b'), /\[UNK\]/);
});

test('bad input: typed errors naming the argument', (t) => {
  for (const v of [42, null, undefined, ['a'], { text: 'a' }]) {
    throwsTok(t, () => tok.encode(v as unknown as string), /text/);
    throwsTok(t, () => tok.tokenize(v as unknown as string), /text/);
  }
  throwsTok(t, () => tok.encode('a', { text_pair: 5 as unknown as string }), /text_pair/);
  throwsTok(t, () => tok.encodeBatch('abc' as unknown as string[]), /texts/);
  throwsTok(t, () => tok.encodeBatch(['a', 7 as unknown as string]), /texts\[1\]/);
  throwsTok(t, () => tok.encodeBatch(['a', 'b'], { text_pair: ['x'] }), /text_pair/);
  throwsTok(t, () => tok.encodeBatch(['a', 'b'], { text_pair: ['x', 3 as unknown as string] }), /text_pair\[1\]/);
  // null pairs inside a batch are allowed (that row is a single sequence)
  const mixed = tok.encodeBatch(['a', 'b'], { text_pair: ['x', null] });
  t.deepEqual(mixed.token_type_ids, [
    [0, 0, 0, 1, 1],
    [0, 0, 0],
  ]);
  throwsTok(t, () => tok.encode('a b c', { truncation: true, max_length: 1 }), /max_length/);
  throwsTok(t, () => tok.encode('a b c', { truncation: true, max_length: 4, stride: 3 }), /stride/);
  throwsTok(t, () => tok.encode('a', { max_length: -1 }), /max_length/);
  throwsTok(t, () => tok.encode('a', { padding: 'yes' as unknown as boolean }), /padding/);
  throwsTok(t, () => tok.encode('a', { truncation: 'first' as unknown as boolean }), /truncation/);
  throwsTok(t, () => tok.encode('a', { padding_side: 'up' as unknown as 'left' }), /padding_side/);
  throwsTok(t, () => tok.encode('a', { padding: true, truncation: true, max_length: 10, pad_to_multiple_of: 4 }), /pad_to_multiple_of/);
  throwsTok(t, () => tok.decode(['a'] as unknown as number[]), /ids\[0\]/);
  throwsTok(t, () => tok.decode([1.5]), /ids\[0\]/);
  throwsTok(t, () => tok.getSpecialTokensMask([101, 102], [1], true), /second sequence/);
  throwsTok(t, () => new ConvBertTokenizer({ vocab: [] }), /vocab/);
  throwsTok(t, () => new ConvBertTokenizer({ vocab: vocabLines, strip_accents: 'yes' as unknown as boolean }), /strip_accents/);
});

test('ids out of range decode like HF fast (dropped); unknown tokens map to [UNK]', (t) => {
  t.is(tok.decode([101, 7592, 99999, -3, 2088, 102]), '[CLS] hello world [SEP]');
  t.deepEqual(tok.convertIdsToTokens([7592, 30522, -1]), ['hello', null, null]);
  t.deepEqual(tok.convertTokensToIds(['hello', 'no-such-token']), [7592, 100]);
  t.is(tok.convertTokensToIds('world'), 2088);
  t.deepEqual(tok.convertIdsToTokens([101, 7592, 102], true), ['hello']);
  t.is(tok.decode(new Int32Array([7592, 2088])), 'hello world');
});

test('decode: the WordPiece decoder cleans each token (" do not" becomes " don\'t" there only), then transformers\' cleanup runs on the text', (t) => {
  // An added token holding spaces is how a token reaches the per-token cleanup with " do not" or " 's" inside.
  const a = new ConvBertTokenizer({ vocab: vocabLines, added_tokens: ['we do not', "it 's"] });
  const we = a.tokenToId('we do not')!;
  const its = a.tokenToId("it 's")!;
  t.is(a.decode([7592, we, its]), "hello we don't it's");
  t.is(a.decode([7592, we, its], { clean_up_tokenization_spaces: false }), "hello we don't it's");
  const off = new ConvBertTokenizer({ vocab: vocabLines, added_tokens: ['we do not', "it 's"], wordpiece_decoder_cleanup: false });
  t.is(off.decode([7592, off.tokenToId('we do not')!, off.tokenToId("it 's")!]), "hello we do not it's");
  t.is(off.decode([7592, off.tokenToId('we do not')!, off.tokenToId("it 's")!], { clean_up_tokenization_spaces: false }), "hello we do not it 's");
  // transformers' clean_up_tokenization has no " do not" rule
  t.is(cleanUpTokenization("we do not 's ."), "we do not's.");
});

test('lone surrogates are dropped but still count as one offset unit', (t) => {
  const text = '\ud800ab \udc00c\ud83d';
  const e = tok.encodeFull(text);
  t.deepEqual(e.tokens, ['[CLS]', 'ab', 'c', '[SEP]']);
  t.deepEqual(e.offsets, [
    [0, 0],
    [1, 3],
    [5, 6],
    [0, 0],
  ]);
  t.deepEqual(tok.encodeFull(text, { offset_unit: 'code_point' }).offsets, [
    [0, 0],
    [1, 3],
    [5, 6],
    [0, 0],
  ]);
  const astral = tok.encodeFull('😀 ab', { offset_unit: 'code_point' });
  t.deepEqual(astral.offsets, [
    [0, 0],
    [0, 1],
    [2, 4],
    [0, 0],
  ]);
});

test('offsets slice the original text (derived: lowercase ASCII input)', (t) => {
  const text = 'the quick brown fox, unbelievably, jumped over 12345 lazy dogs!';
  const e = tok.encode(text, { return_offsets_mapping: true, add_special_tokens: false });
  const pieces = e.offset_mapping!.map(([s, end]) => text.slice(s, end));
  const toks = tok.convertIdsToTokens(e.input_ids).map((x) => x!.replace(/^##/, ''));
  t.deepEqual(pieces, toks);
});

test('huge inputs: one 10 MB word is one [UNK]; long texts and long words do not overflow the stack', (t) => {
  const big = 'a'.repeat(10_000_000);
  const e = tok.encode(big, { return_offsets_mapping: true });
  t.deepEqual(e.input_ids, [101, 100, 102]);
  t.deepEqual(e.offset_mapping, [
    [0, 0],
    [0, 10_000_000],
    [0, 0],
  ]);
  const words = 'hello world, '.repeat(40_000); // 520 kB, 120k tokens
  const w = tok.encode(words);
  t.is(w.input_ids.length, 120_000 + 2);
  // 100-char words that almost match force the most WordPiece work per word: still bounded
  const hard = ('x'.repeat(99) + '\u00e9 ').repeat(2000);
  t.is(tok.encode(hard).input_ids.length, 2 + 2000 * tok.tokenize('x'.repeat(99) + 'e').length);
  // padding to a large length uses loops, not argument spreading
  t.is(tok.encode('hi', { padding: 'max_length', max_length: 300_000 }).input_ids.length, 300_000);
});

test('special-token helpers follow BertTokenizer', (t) => {
  t.deepEqual(tok.buildInputsWithSpecialTokens([7, 8]), [101, 7, 8, 102]);
  t.deepEqual(tok.buildInputsWithSpecialTokens([7, 8], [9]), [101, 7, 8, 102, 9, 102]);
  t.deepEqual(tok.createTokenTypeIdsFromSequences([7, 8]), [0, 0, 0, 0]);
  t.deepEqual(tok.createTokenTypeIdsFromSequences([7, 8], [9]), [0, 0, 0, 0, 1, 1]);
  t.deepEqual(tok.getSpecialTokensMask([7, 8], [9]), [1, 0, 0, 1, 0, 1]);
  t.deepEqual(tok.getSpecialTokensMask([101, 7, 100, 103, 102, 0], null, true), [1, 0, 1, 1, 1, 1]);
  t.deepEqual(tok.all_special_tokens, ['[UNK]', '[SEP]', '[PAD]', '[CLS]', '[MASK]']);
  t.deepEqual(tok.all_special_ids, [100, 102, 0, 101, 103]);
  t.is(tok.numSpecialTokensToAdd(true), 3);
});

test('encode options: add_special_tokens, return flags, HF defaults for max_length and padding', (t) => {
  const plain = tok.encode('hello world', { add_special_tokens: false, return_token_type_ids: false, return_attention_mask: false });
  t.deepEqual(plain, { input_ids: [7592, 2088] });
  // max_length alone (no padding) turns on longest_first, as transformers does
  t.deepEqual(tok.encode('a b c d e', { max_length: 4 }).input_ids, [101, 1037, 1038, 102]);
  // padding=true on one sequence is a no-op, except pad_to_multiple_of
  t.is(tok.encode('a b', { padding: true }).input_ids.length, 4);
  t.is(tok.encode('a b', { padding: true, pad_to_multiple_of: 8 }).input_ids.length, 8);
  // without special tokens the whole max_length is the budget
  t.deepEqual(tok.encode('a b c d e', { max_length: 3, truncation: true, add_special_tokens: false }).input_ids, [1037, 1038, 1039]);
  // truncation_side left keeps the end
  t.deepEqual(tok.encode('a b c d e', { max_length: 4, truncation: true, truncation_side: 'left' }).input_ids, [101, 1040, 1041, 102]);
});

test('encodeBatch with overflow flattens windows and maps them to their sample, like transformers', (t) => {
  const b = tok.encodeBatch(['a b c d e f', 'x'], { max_length: 5, truncation: true, stride: 1, return_overflowing_tokens: true, padding: true });
  // tokenizers stops at max_length tokens (here "a".."e"), so f never reaches a window
  t.deepEqual(b.overflow_to_sample_mapping, [0, 0, 1]);
  t.deepEqual(b.input_ids, [
    [101, 1037, 1038, 1039, 102],
    [101, 1039, 1040, 1041, 102],
    [101, 1060, 102, 0, 0],
  ]);
  const single = tok.encode('a b c d e f', { max_length: 5, truncation: true, stride: 1, return_overflowing_tokens: true });
  t.deepEqual(
    [single.input_ids, ...single.overflowing!.map((r) => r.input_ids)],
    b.input_ids.slice(0, 2).map((r) => r.filter((x) => x !== 0)),
  );
});

test('encodeBatchAsync resolves to what encodeBatch returns', async (t) => {
  const texts = ['Hello, world!', 'ConvBERT uses span-based dynamic convolution.', '', '[MASK] is here'];
  const opts = { text_pair: ['x', null, 'y', null], padding: 'longest', return_offsets_mapping: true } as const;
  t.deepEqual(await tok.encodeBatchAsync(texts, opts), tok.encodeBatch(texts, opts));
});

test('encodeBatchAsync runs a large batch on worker threads and matches encodeBatch', async (t) => {
  const lines = fs.readFileSync(fixturesDir('tokenizer', 'bench_en_1mb.txt'), 'utf8').split('\n').slice(0, 400);
  t.true(lines.join('').length > 32 * 1024, 'big enough for the pool');
  const local = new ConvBertTokenizer({ vocab: vocabLines, never_split: ['[foo]'] });
  lines.push('keep [foo] whole');
  const opts = { padding: true, return_offsets_mapping: true, return_special_tokens_mask: true } as const;
  const before = local.workerPool.workerBatches;
  const got = await local.encodeBatchAsync(lines, opts);
  t.is(local.workerPool.workerBatches, before + 1, 'the worker pool ran');
  t.deepEqual(got, local.encodeBatch(lines, opts));
  await local.dispose();
});

test('an empty batch returns the requested columns, empty', (t) => {
  t.deepEqual(tok.encodeBatch([], { return_offsets_mapping: true }), { input_ids: [], token_type_ids: [], attention_mask: [], offset_mapping: [] });
  t.deepEqual(tok.batchDecode([]), []);
});

test('added tokens (added_tokens.json, added_tokens_decoder) get ids after the vocab and are matched on the raw text', async (t) => {
  const dir = modelDir({
    'added_tokens.json': JSON.stringify({ '<new>': 30522 }),
    'tokenizer_config.json': JSON.stringify({
      added_tokens_decoder: { '30523': { content: '<sp>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false } },
    }),
  });
  const a = await ConvBertTokenizer.fromPretrained(dir);
  t.is(a.vocabSize, 30522);
  t.is(a.length, 30524);
  t.deepEqual(a.encode('hi<new>there <sp>').input_ids, [101, 7632, 30522, 2045, 30523, 102]);
  t.is(a.decode([7632, 30522, 30523], { skip_special_tokens: true }), 'hi <new>');
  t.true(a.all_special_tokens.includes('<sp>'));
});

test('a worker pool that cannot start rejects with a typed error (never hangs or crashes)', async (t) => {
  const pool = new CorePool(path.join(tmp, 'no_such_worker.js'), {}, 1);
  const err = await t.throwsAsync(pool.run(['a b c']), { instanceOf: ConvBertError });
  t.is(err?.code, 'ERR_CONVBERT_INTERNAL');
  await pool.close();
});
