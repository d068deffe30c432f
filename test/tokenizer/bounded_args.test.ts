// bounded_args.test.ts: lengths from arguments and tokenizer_config.json cannot make
// the tokenizers fill arrays until the process dies. Padding beyond MAX_PADDED_LENGTH
// (max_length, model_max_length, pad_to_multiple_of) and calls whose padding or
// overflow windows would pass MAX_OUTPUT_TOKENS are ERR_CONVBERT_LIMIT before anything
// is allocated; before the checks max_length 1e9 was a V8 fatal error and a stride of
// max_length - 1 over a text pair built one window per pair of positions. Both
// tokenizers share this code (PreTrainedTokenizerBase); both are run.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertError } from '../../lib/errors';
import { MAX_OUTPUT_TOKENS, MAX_PADDED_LENGTH } from '../../lib/tokenizer/encoding';
import { ConvBertTokenizer } from '../../lib/tokenizer/convbert';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';
import { fixturesDir } from '../helpers/fixtures';

const VOCAB = fixturesDir('tokenizer', 'vocab.txt');
const slow = new ConvBertTokenizer({ vocab_file: VOCAB });
const fast = new ConvBertTokenizerFast({ vocab_file: VOCAB, num_threads: 1 });
const both = [slow, fast];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-tokargs-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

function limited(t: import('ava').ExecutionContext, f: () => unknown, re: RegExp): void {
  const err = t.throws(f, { instanceOf: ConvBertError });
  t.is(err?.code, 'ERR_CONVBERT_LIMIT', err?.message);
  t.regex(err?.message ?? '', re);
}

test('the limits are what the README documents', (t) => {
  t.is(MAX_PADDED_LENGTH, 1 << 20);
  t.is(MAX_OUTPUT_TOKENS, 1 << 24);
});

test("padding='max_length' with max_length 1e9 is ERR_CONVBERT_LIMIT, in encode, encodeBatch and encodeBatchAsync", async (t) => {
  for (const tok of both) {
    const o = { padding: 'max_length', max_length: 1e9 } as const;
    limited(
      t,
      () => tok.encode('hello', o),
      /^max_length: padding='max_length' pads every row to max_length, expected at most 1048576 tokens \(MAX_PADDED_LENGTH\), got 1000000000$/,
    );
    limited(t, () => tok.encodeBatch(['hello', 'world'], o), /max_length.*got 1000000000/);
    const err = await t.throwsAsync(tok.encodeBatchAsync(['hello'], o), { instanceOf: ConvBertError });
    t.is(err?.code, 'ERR_CONVBERT_LIMIT');
    limited(t, () => tok.encode('hello', { padding: 'max_length', max_length: MAX_PADDED_LENGTH + 1, truncation: true }), /got 1048577/);
    limited(
      t,
      () => tok.encode('hello', { padding: true, pad_to_multiple_of: 1e9 }),
      /^pad_to_multiple_of: .*expected at most 1048576 tokens \(MAX_PADDED_LENGTH\), got 1000000000$/,
    );
  }
});

test('padding to exactly MAX_PADDED_LENGTH still works, and truncation alone takes any max_length (as in HF)', (t) => {
  const r = slow.encode('hello', { padding: 'max_length', max_length: MAX_PADDED_LENGTH });
  t.is(r.input_ids.length, MAX_PADDED_LENGTH);
  t.deepEqual(r.input_ids.slice(0, 4), [101, 7592, 102, 0]);
  for (const tok of both) t.deepEqual(tok.encode('hello world', { max_length: 1e9, truncation: true }).input_ids, [101, 7592, 2088, 102]);
});

test('model_max_length from tokenizer_config.json is the padding length only up to the limit', async (t) => {
  const dir = path.join(tmp, 'mml');
  fs.mkdirSync(dir);
  fs.copyFileSync(VOCAB, path.join(dir, 'vocab.txt'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 1e9 }));
  for (const tok of [await ConvBertTokenizer.fromPretrained(dir), await ConvBertTokenizerFast.fromPretrained(dir)]) {
    limited(
      t,
      () => tok.encode('hello', { padding: 'max_length' }),
      /^model_max_length: padding='max_length' without max_length pads every row to the tokenizer's model_max_length, expected at most 1048576 tokens .*got 1000000000$/,
    );
    // truncating to it pads nothing and is fine
    t.deepEqual(tok.encode('hello', { truncation: true }).input_ids, [101, 7592, 102]);
  }
});

test('a batch whose padding would pass MAX_OUTPUT_TOKENS is refused before padding; one that padding does not grow is not', (t) => {
  const rows = Math.floor(MAX_OUTPUT_TOKENS / 1000) + 1;
  const texts = new Array<string>(rows).fill('hi');
  for (const tok of both) {
    limited(
      t,
      () => tok.encodeBatch(texts, { padding: 'max_length', max_length: 1000 }),
      new RegExp(`^padding: ${rows} rows padded to 1000 tokens would make this call return ${rows * 1000} tokens, more than 16777216 \\(MAX_OUTPUT_TOKENS\\)`),
    );
  }
  // 'longest' over equal rows adds nothing: the call is as big as its input, and runs
  const same = slow.encodeBatch(['a b', 'c d'], { padding: true });
  t.deepEqual(
    same.input_ids.map((r) => r.length),
    [4, 4],
  );
});

test('overflow windows of a text pair (A windows x B windows) are counted before they are built', (t) => {
  // 5000 + 5000 tokens, max_length 5002: 2499 + 2500 kept, and stride 2498 advances the
  // A windows one token at a time and the B windows two, so 2501 A windows, 1250 B
  // windows and every pair of them: 3130001 rows of up to 5002 tokens (1.6e10 tokens,
  // all built before, asked for or not).
  const a = 'a '.repeat(5000);
  const b = 'b '.repeat(5000);
  const o = { text_pair: b, max_length: 5002, stride: 2498, truncation: 'longest_first' } as const;
  for (const tok of both) {
    limited(
      t,
      () => tok.encode(a, { ...o, return_overflowing_tokens: true }),
      /^return_overflowing_tokens: 3130001 overflow windows of up to 5002 tokens \(max_length 5002, stride 2498\) would make this call return more than 16777216 tokens \(MAX_OUTPUT_TOKENS\)/,
    );
    limited(t, () => tok.encodeBatch([a], { ...o, text_pair: [b], return_overflowing_tokens: true }), /3130001 overflow windows/);
    // Not asking for the windows: truncation alone, no window is built.
    const r = tok.encode(a, o);
    t.is(r.input_ids.length, 5002);
    t.is(r.overflowing, undefined);
    t.is(tok.encodeBatch([a], { ...o, text_pair: [b] }).input_ids.length, 1);
  }
  // Below the limit the windows are tokenizers' (which stops reading at max_length tokens
  // first, so 'f' never gets a window); the goldens check many more.
  for (const tok of both) {
    const few = tok.encode('a b c d e f', { max_length: 5, stride: 1, return_overflowing_tokens: true });
    t.deepEqual(few.input_ids, [101, 1037, 1038, 1039, 102]);
    t.deepEqual(
      few.overflowing?.map((w) => w.input_ids),
      [[101, 1039, 1040, 1041, 102]],
    );
  }
});

test('model_max_length and max_input_chars_per_word must be integers: 8.5 padded to 9 and truncated to 8, NaN dropped every word', async (t) => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a'];
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ model_max_length: 8.5 }, /^model_max_length: expected a positive integer, got number 8\.5$/],
    [{ model_max_length: 0 }, /^model_max_length: expected a positive integer, got number 0$/],
    [{ max_input_chars_per_word: Number.NaN }, /^max_input_chars_per_word: expected a non-negative integer, got number NaN$/],
    [{ max_input_chars_per_word: -1 }, /^max_input_chars_per_word: expected a non-negative integer, got number -1$/],
    [{ max_input_chars_per_word: 2.5 }, /^max_input_chars_per_word: expected a non-negative integer, got number 2\.5$/],
  ];
  for (const [o, re] of bad) {
    for (const make of [() => new ConvBertTokenizer({ vocab, ...o }), () => new ConvBertTokenizerFast({ vocab, ...o })]) {
      const err = t.throws(make, { instanceOf: ConvBertError }, JSON.stringify(o));
      t.is(err?.code, 'ERR_CONVBERT_TOKENIZER');
      t.regex(err?.message ?? '', re);
    }
  }
  // "no limit" stays accepted: HF's int(1e30) and Infinity
  t.is(new ConvBertTokenizer({ vocab, model_max_length: 1e30 }).model_max_length, 1e30);
  t.is(new ConvBertTokenizer({ vocab, model_max_length: Number.POSITIVE_INFINITY }).model_max_length, Number.POSITIVE_INFINITY);
  const dir = path.join(tmp, 'frac');
  fs.mkdirSync(dir);
  fs.copyFileSync(VOCAB, path.join(dir, 'vocab.txt'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 512.5 }));
  const err = await t.throwsAsync(ConvBertTokenizer.fromPretrained(dir), { instanceOf: ConvBertError });
  t.regex(err?.message ?? '', /tokenizer_config\.json: model_max_length: expected a positive integer, got number 512\.5$/);
});
