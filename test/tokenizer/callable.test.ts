// The tokenizer is callable like transformers.js': tokenizer(text | texts, options)
// gives int64 Tensors [batch, L] that model.forward takes as they are. Checked
// against the golden fixtures: a 99-token vocabulary whose word i is "t<i>x" turns
// the fixture's id rows into texts, so the call must give back exactly the fixture's
// input_ids / attention_mask / token_type_ids, and the model fed with them the
// fixture's logits (|got - exp| <= 1e-4 + 1e-4|exp|, the fixtures README's float32 check).
import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { ConvBertForMaskedLM } from '../../lib/models';
import { Tensor } from '../../lib/tensor';
import { ConvBertTokenizer, PreTrainedTokenizerBase } from '../../lib/tokenizer';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';
import { readSafetensorsSync } from '../../lib/weights/safetensors';
import { compareTensor } from '../model/fixture_runner';
import { fixturesDir } from '../helpers/fixtures';

const MLM_DIR = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
// "t<i>x": no word is a substring of another, since special tokens are matched anywhere in the raw text.
const VOCAB = Array.from({ length: 99 }, (_, i) => `t${i}x`);
// Specials are ordinary vocab words here: pad = id 0 (the fixtures' pad_token_id).
const SPECIALS = { pad_token: VOCAB[0], unk_token: VOCAB[1], cls_token: VOCAB[2], sep_token: VOCAB[3], mask_token: VOCAB[4] };

function expected(): Map<string, Tensor> {
  const f = readSafetensorsSync(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'expected.safetensors')) as unknown as { tensors?: Map<string, Tensor> } & Map<
    string,
    Tensor
  >;
  return (f.tensors ?? f) as Map<string, Tensor>;
}

function rows(t: Tensor): number[][] {
  const [B, L] = t.dims;
  const d = Array.from(t.data as ArrayLike<number | bigint>, Number);
  return Array.from({ length: B }, (_, b) => d.slice(b * L, (b + 1) * L));
}

const words = (ids: number[]) => ids.map((i) => VOCAB[i]).join(' ');

for (const Cls of [ConvBertTokenizerFast, ConvBertTokenizer]) {
  test(`${Cls.name}: tokenizer(texts, {padding: true}) tensors into model.forward give the fixture logits`, async (t) => {
    const tok = new Cls({ vocab: VOCAB, do_lower_case: false, ...SPECIALS });
    t.is(typeof tok, 'function');
    t.true(tok instanceof Cls);
    t.true(tok instanceof PreTrainedTokenizerBase);
    t.is(tok.length, 99); // the getter, not a function's own length
    const exp = expected();
    const model = await ConvBertForMaskedLM.fromPretrained(MLM_DIR);
    t.teardown(() => model.dispose());

    // case0: two rows of 7 ids, no mask, no token types.
    const ids0 = rows(exp.get('case0.input_ids')!);
    const enc0 = tok(ids0.map(words), { add_special_tokens: false, padding: true });
    t.deepEqual(enc0.input_ids.dims, [2, 7]);
    t.is(enc0.input_ids.dtype, 'int64');
    t.deepEqual(rows(enc0.input_ids), ids0);
    const out0 = await model.forward(enc0);
    const c0 = compareTensor(out0.logits, exp.get('case0.logits')!, 'case0.logits');
    t.true(c0.ok, c0.detail);

    // case1: right-padded rows of 7, 5 and 2 tokens; row 0 is a pair (token types 0 0 0 1 1 1 1).
    const ids1 = rows(exp.get('case1.input_ids')!);
    const mask1 = rows(exp.get('case1.attention_mask')!);
    const types1 = rows(exp.get('case1.token_type_ids')!);
    const real = ids1.map((r, i) =>
      r.slice(
        0,
        mask1[i].reduce((s, v) => s + v, 0),
      ),
    );
    const cut = types1[0].indexOf(1);
    const enc1 = tok([words(real[0].slice(0, cut)), words(real[1]), words(real[2])], {
      text_pair: [words(real[0].slice(cut)), null, null],
      add_special_tokens: false,
      padding: true,
    });
    t.deepEqual(rows(enc1.input_ids), ids1);
    t.deepEqual(rows(enc1.attention_mask!), mask1);
    t.deepEqual(rows(enc1.token_type_ids!), types1);
    const out1 = await model.forward(enc1);
    const c1 = compareTensor(out1.logits, exp.get('case1.logits')!, 'case1.logits');
    t.true(c1.ok, c1.detail);
    if (tok instanceof ConvBertTokenizer) await tok.dispose();
  });
}

test('one text is a batch of one; return_tensor: false gives encodeBatch; encode keeps its arrays', async (t) => {
  const tok = new ConvBertTokenizerFast({ vocab_file: fixturesDir('tokenizer', 'vocab.txt') });
  const one = tok('Hello world', { text_pair: 'again' });
  const want = tok.encode('Hello world', { text_pair: 'again' });
  t.deepEqual(one.input_ids.dims, [1, want.input_ids.length]);
  t.deepEqual(rows(one.input_ids)[0], want.input_ids);
  t.deepEqual(rows(one.token_type_ids!)[0], want.token_type_ids);
  t.deepEqual(tok(['a b', 'c'], { return_tensor: false }), tok.encodeBatch(['a b', 'c']));
  t.true(Array.isArray(want.input_ids));
  const trunc = tok(['one two three four five', 'six'], { padding: 'max_length', truncation: true, max_length: 4 });
  t.deepEqual(trunc.input_ids.dims, [2, 4]);
  const off = tok('hello world', { return_offsets_mapping: true, return_special_tokens_mask: true });
  t.deepEqual(off.offset_mapping!.dims, [1, 4, 2]);
  t.deepEqual(Array.from(off.offset_mapping!.data as BigInt64Array, Number), [0, 0, 0, 5, 6, 11, 0, 0]);
  t.deepEqual(rows(off.special_tokens_mask!)[0], [1, 0, 0, 1]);
});

test('bad calls are typed errors naming the argument', (t) => {
  const tok = new ConvBertTokenizerFast({ vocab_file: fixturesDir('tokenizer', 'vocab.txt') });
  const e1 = t.throws(() => tok(['Hello world', 'hi']), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_SHAPE' });
  t.regex(e1!.message, /rows 0 and 1 have 4 and 3 tokens.*padding: true/);
  t.throws(() => tok(['x'], { paddnig: true } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'paddnig'; did you mean 'padding'\?/ });
  t.throws(() => tok(42 as never), { code: 'ERR_CONVBERT_TOKENIZER', message: /^text: expected a string or an array of strings, got number/ });
  t.throws(() => tok([]), { code: 'ERR_CONVBERT_TOKENIZER', message: /empty array/ });
  t.throws(() => tok('a', { text_pair: ['b'] }), { code: 'ERR_CONVBERT_TOKENIZER', message: /text_pair: expected a string like text/ });
  t.throws(() => tok(['a', 'b'], { text_pair: 'b' }), { code: 'ERR_CONVBERT_TOKENIZER', message: /text_pair: expected an array of 2 strings/ });
  t.throws(() => tok(['a', 'b'], { text_pair: ['b'] }), { code: 'ERR_CONVBERT_TOKENIZER', message: /text_pair/ });
  t.throws(() => tok('a', { return_tensor: 'yes' as never }), { code: 'ERR_CONVBERT_TOKENIZER', message: /return_tensor: expected a boolean/ });
  t.throws(() => tok('a', { return_word_ids: true }), { code: 'ERR_CONVBERT_TOKENIZER', message: /return_tensor: false/ });
  // encode and encodeBatch name a misspelt option too (they used to ignore it).
  t.throws(() => tok.encode('a', { padding_sid: 'left' } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'padding_sid'; did you mean 'padding_side'/ });
  t.throws(() => tok.encodeBatch(['a'], { max_len: 3 } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'max_len'/ });
  // decode and tokenize too: `skip_special` used to be ignored and [CLS] / [SEP] came back.
  t.throws(() => tok.decode([101, 7592, 102], { skip_special: true } as never), {
    code: 'ERR_CONVBERT_ARG',
    message: /^decode: options: unknown option 'skip_special'; did you mean 'skip_special_tokens'\?/,
  });
  t.is(tok.decode([101, 7592, 102], { skip_special_tokens: true }), 'hello');
  t.throws(() => tok.tokenize('a', { textpair: 'b' } as never), { code: 'ERR_CONVBERT_ARG', message: /^tokenize: options: unknown option 'textpair'; did you mean 'text_pair'\?/ });
  t.throws(() => new ConvBertTokenizerFast({ vocab_file: fixturesDir('tokenizer', 'vocab.txt'), num_thread: 2 } as never), {
    code: 'ERR_CONVBERT_ARG',
    message: /unknown option 'num_thread'; did you mean 'num_threads'/,
  });
});

test('fromPretrained: unknown option keys are typed errors; transformers.js spellings are accepted', async (t) => {
  const dir = fixturesDir('tokenizer');
  const e = await t.throwsAsync(ConvBertTokenizerFast.fromPretrained(dir, { do_lowercase: false } as never), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG' });
  t.regex(e!.message, /unknown option 'do_lowercase'; did you mean 'do_lower_case'\?/);
  await t.throwsAsync(ConvBertTokenizer.fromPretrained(dir, { num_threads: 2 } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'num_threads'/ });
  const tok = await ConvBertTokenizerFast.fromPretrained(dir, { local_files_only: true, cache_dir: '/nonexistent', num_threads: 1 });
  t.is(tok.numThreads, 1);
  await t.throwsAsync(ConvBertTokenizerFast.fromPretrained(dir, { local_files_only: true, localFilesOnly: false }), { code: 'ERR_CONVBERT_ARG', message: /disagree/ });
});
