// The native WordPiece core (NativeWordPieceCore) on its own: exact ids, UTF-16
// offsets and word indices against the encode goldens (the test splits special
// tokens off itself, as the base does), agreement with the TypeScript core on
// seeded random Unicode text, linear time on 1 MB inputs, the event loop
// ticking during encodeBatchAsync, and typed errors on bad input.
// Tolerance: none; token ids and offsets are integers and must match exactly.
import * as fs from 'fs';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { type CoreEncoding, type WordPieceOptions } from '../../lib/tokenizer/core';
import { NativeWordPieceCore } from '../../lib/tokenizer/fast';
import { WordPieceCore } from '../../lib/tokenizer/wordpiece';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { mulberry32 } from '../helpers/rng';

interface Config {
  vocab: string;
  do_lower_case: boolean;
  strip_accents: boolean | null;
  tokenize_chinese_chars: boolean;
}
interface EncodeCase {
  id: string;
  config: string;
  text: string;
  text_pair: string | null;
  input_ids: number[];
  offsets_utf16: [number, number][];
  word_ids: (number | null)[];
}
interface EncodeFile {
  meta: { configs: Record<string, Config> };
  cases: EncodeCase[];
}

const vocabCache = new Map<string, string[]>();
function vocabOf(file: string): string[] {
  let v = vocabCache.get(file);
  if (!v) {
    // Split on \n only: vocab_chinese.txt holds tokens with U+2028 in them.
    v = fs.readFileSync(fixturesDir('tokenizer', file), 'utf8').split('\n');
    if (v[v.length - 1] === '') v.pop();
    vocabCache.set(file, v);
  }
  return v;
}

function coreOptions(c: Config): Partial<WordPieceOptions> & { vocab: string[] } {
  return { vocab: vocabOf(c.vocab), do_lower_case: c.do_lower_case, strip_accents: c.strip_accents, tokenize_chinese_chars: c.tokenize_chinese_chars };
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const SPECIAL_RE = /\[(?:PAD|UNK|CLS|SEP|MASK)\]/g;

/** One sequence through the core, with in-text special tokens split off first. */
function encodeSeq(core: NativeWordPieceCore, vocab: string[], text: string) {
  const ids: number[] = [];
  const offs: [number, number][] = [];
  const words: number[] = [];
  let word = 0;
  let last = 0;
  const run = (a: number, b: number) => {
    if (b <= a) return;
    const r = core.tokenizeWithOffsets(text.slice(a, b));
    let maxW = -1;
    for (let i = 0; i < r.ids.length; i++) {
      ids.push(r.ids[i]);
      offs.push([r.offsets[2 * i] + a, r.offsets[2 * i + 1] + a]);
      words.push(r.words![i] + word);
      maxW = Math.max(maxW, r.words![i]);
    }
    word += maxW + 1;
  };
  for (const m of text.matchAll(SPECIAL_RE)) {
    run(last, m.index!);
    ids.push(vocab.indexOf(m[0]));
    offs.push([m.index!, m.index! + m[0].length]);
    words.push(word++);
    last = m.index! + m[0].length;
  }
  run(last, text.length);
  return { ids, offs, words };
}

const encodeGoldens = readJson<EncodeFile>(fixturesDir('tokenizer', 'encode.json'));

test('native core reproduces the encode goldens (ids, UTF-16 offsets, word ids), unicode_sensitive cases included', (t) => {
  const cores = new Map<string, NativeWordPieceCore>();
  for (const [name, c] of Object.entries(encodeGoldens.meta.configs)) cores.set(name, new NativeWordPieceCore(coreOptions(c)));
  t.true(encodeGoldens.cases.length > 100);
  let checked = 0;
  for (const cs of encodeGoldens.cases) {
    const cfg = encodeGoldens.meta.configs[cs.config];
    const vocab = vocabOf(cfg.vocab);
    const core = cores.get(cs.config)!;
    const ids = [vocab.indexOf('[CLS]')];
    const offs: [number, number][] = [[0, 0]];
    const words: (number | null)[] = [null];
    for (const text of cs.text_pair === null ? [cs.text] : [cs.text, cs.text_pair]) {
      const r = encodeSeq(core, vocab, text);
      ids.push(...r.ids, vocab.indexOf('[SEP]'));
      offs.push(...r.offs, [0, 0]);
      words.push(...r.words, null);
    }
    t.deepEqual(ids, cs.input_ids, `${cs.id} input_ids`);
    t.deepEqual(offs, cs.offsets_utf16, `${cs.id} offsets_utf16`);
    t.deepEqual(words, cs.word_ids, `${cs.id} word_ids`);
    checked++;
  }
  t.is(checked, encodeGoldens.cases.length);
  t.deepEqual(
    SPECIALS.map((s) => vocabOf('vocab.txt').indexOf(s)),
    [0, 100, 101, 102, 103],
  );
});

// ---- fast vs TypeScript on random text ----

/** Code points where the native (Rust-equivalent) tables and the JS \p{...} tables disagree, per the fixture. */
function jsRustDifferences(): Set<number> {
  const d = readJson<Record<string, { from: string; to: string }[]>>(fixturesDir('tokenizer', 'unicode_classes.json'));
  const out = new Set<number>();
  for (const key of ['class_fast_vs_js', 'strip_fast_vs_js', 'lower_fast_vs_js']) {
    for (const e of d[key]) for (let cp = parseInt(e.from.slice(2), 16); cp <= parseInt(e.to.slice(2), 16); cp++) out.add(cp);
  }
  return out;
}

function randomText(rand: () => number, vocab: string[], skip: Set<number>, len: number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const range = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pieces: string[] = [];
  let n = 0;
  while (n < len) {
    let s: string;
    const r = rand();
    if (r < 0.25) s = pick(vocab).replace(/^##/, '') + (rand() < 0.5 ? pick(vocab).replace(/^##/, '') : '');
    else if (r < 0.35) s = pick([' ', ' ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2028', '\u1680']);
    else if (r < 0.42) s = pick(['.', ',', '!', '?', '-', '$', '+', '<', '=', '>', '^', '`', '|', '~', '\u00bf', '\u3001', '\u2014', '\u201c', '\u20ac', '\u00a9']);
    else if (r < 0.5) s = String.fromCodePoint(range(0xc0, 0x24f)) + (rand() < 0.3 ? String.fromCodePoint(range(0x300, 0x36f)) : '');
    else if (r < 0.56) s = String.fromCodePoint(pick([range(0x4e00, 0x9fff), range(0x3040, 0x30ff), range(0xac00, 0xd7a3), range(0xf900, 0xfaff)]));
    else if (r < 0.6) s = String.fromCodePoint(pick([range(0x370, 0x3ff), range(0x400, 0x4ff), range(0x1f300, 0x1f64f), 0x130, 0x3a3, 0x1e9e]));
    else if (r < 0.64) s = pick(['\u200b', '\u200c', '\u00ad', '\u0085', '\u000b', '\u000c', '\ufeff', '\u0000', '\ufffd', '\ud800', '\udfff', 'a\ud83d']);
    else if (r < 0.7) s = pick(SPECIALS).toLowerCase();
    else if (r < 0.8) s = String.fromCodePoint(range(0, 0x10ffff));
    else if (r < 0.82) s = 'x'.repeat(range(95, 105));
    else s = pick(['the', 'tokenization', 'Hello', 'WORLD', 'caf\u00e9', 'na\u00efve', '\u00dcber', 'stra\u00dfe', '\u039f\u0394\u039f\u03a3']);
    let ok = true;
    for (const ch of s) if (skip.has(ch.codePointAt(0)!)) ok = false;
    if (!ok) continue;
    pieces.push(s);
    n += s.length;
  }
  return pieces.join('');
}

function same(a: CoreEncoding, b: CoreEncoding): boolean {
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>) => x.length === y.length && Array.prototype.every.call(x, (v: number, i: number) => v === y[i]);
  return eq(a.ids, b.ids) && eq(a.offsets, b.offsets) && eq(a.words!, b.words!);
}

test('native core agrees with the TypeScript core on seeded random Unicode text (all normalizer settings)', (t) => {
  const skip = jsRustDifferences();
  t.true(skip.size > 100, 'the fixture lists the JS-vs-Rust table differences');
  const settings: [string, Partial<WordPieceOptions>][] = [
    ['vocab.txt', { do_lower_case: true, strip_accents: null, tokenize_chinese_chars: true }],
    ['vocab.txt', { do_lower_case: true, strip_accents: false, tokenize_chinese_chars: false }],
    ['vocab_chinese.txt', { do_lower_case: false, strip_accents: null, tokenize_chinese_chars: true }],
    ['vocab_chinese.txt', { do_lower_case: false, strip_accents: true, tokenize_chinese_chars: true }],
  ];
  let tokens = 0;
  for (const [si, [file, o]] of settings.entries()) {
    const vocab = vocabOf(file);
    const fast = new NativeWordPieceCore({ vocab, ...o });
    const ref = new WordPieceCore({ vocab, ...o });
    const rand = mulberry32(1234 + si);
    const texts: string[] = [];
    for (let i = 0; i < 150; i++) texts.push(randomText(rand, vocab, skip, 1 + Math.floor(rand() * 300)));
    const batch = fast.tokenizeBatchWithOffsets(texts, { threads: 2 });
    for (let i = 0; i < texts.length; i++) {
      const want = ref.tokenizeWithOffsets(texts[i]);
      const got = fast.tokenizeWithOffsets(texts[i]);
      if (!same(got, want)) {
        t.fail(
          `setting ${si} text ${i} ${JSON.stringify(texts[i])}: native ${JSON.stringify([...got.ids])} ${JSON.stringify([...got.offsets])} vs TS ${JSON.stringify([...want.ids])} ${JSON.stringify([...want.offsets])}`,
        );
        return;
      }
      t.true(same(batch[i], want), `setting ${si} text ${i}: batch row differs from single encode`);
      tokens += want.ids.length;
    }
  }
  t.true(tokens > 10000, `compared ${tokens} tokens`);
});

// ---- linear time, big inputs, event loop ----

/** CPU time of this process for fn(), in ms (other processes on the machine do not count). */
function cpuMs(fn: () => void): number {
  const u0 = process.cpuUsage();
  fn();
  const u = process.cpuUsage(u0);
  return (u.user + u.system) / 1000;
}

test('1 MB inputs tokenize in linear time: prose, one giant word, long near-vocab words, 10 MB without a stack overflow', (t) => {
  const core = new NativeWordPieceCore({ vocab: vocabOf('vocab.txt') });
  const prose = fs.readFileSync(fixturesDir('tokenizer', 'bench_en_1mb.txt'), 'utf8');
  const quarter = prose.slice(0, prose.length >> 2);
  // Pathological shapes: a word far over 100 chars, and 100-char words that
  // match the vocab only in short pieces (the greedy walk restarts often).
  const giant = 'a'.repeat(1 << 20);
  const nearVocab = ('unaffable'.repeat(11).slice(0, 99) + ' ').repeat((1 << 20) / 100);
  for (const [name, big] of [
    ['prose', prose],
    ['giant word', giant],
    ['near-vocab words', nearVocab],
  ] as const) {
    // No speed assertion (a loaded machine makes any ratio flaky). Linearity is checked
    // two ways instead. (1) Work: the 1 MB result is exactly 4 copies of a quarter's
    // result when the input is 4 copies of a whitespace-ended quarter, so nothing is
    // re-scanned or lost across the input. (2) A blow-up bound: a walk quadratic in the
    // input needs >= (2^20)^2 / 2 = 5.5e11 steps on 1 MB, i.e. minutes; linear needs
    // well under a second. The bound, 20 s of this process's CPU time (not wall
    // clock), sits about 100x above linear and far below quadratic.
    const head = big.slice(0, big.length >> 2);
    const cut = head.search(/\s\S*$/); // end at a word boundary (the giant word has none: keep it whole)
    const q = (cut > 0 ? head.slice(0, cut) : head) + ' ';
    const four = q.repeat(4);
    const rq = core.tokenizeWithOffsets(q);
    let r4: CoreEncoding | null = null;
    const ms = cpuMs(() => (r4 = core.tokenizeWithOffsets(four)));
    const r = r4 as unknown as CoreEncoding;
    const n = rq.ids.length;
    t.is(r.ids.length, 4 * n, `${name}: 4x the input gives 4x the tokens`);
    let match = true;
    for (let k = 0; k < 4 && match; k++) {
      for (let i = 0; i < n; i++) {
        if (r.ids[k * n + i] !== rq.ids[i] || r.offsets[2 * (k * n + i)] !== rq.offsets[2 * i] + k * q.length) {
          match = false;
          break;
        }
      }
    }
    t.true(match, `${name}: each quarter of the 1 MB result equals the quarter's own result, shifted`);
    t.true(ms < 20000, `${name}: ${ms.toFixed(0)} ms CPU for ${four.length} chars (quadratic would take minutes)`);
    t.true(cpuMs(() => core.tokenizeWithOffsets(big)) < 20000, `${name}: the 1 MB input itself`);
  }
  const g = core.tokenizeWithOffsets(giant);
  t.deepEqual([...g.ids], [100], 'a 1M-char word is one [UNK]');
  t.deepEqual([...g.offsets], [0, giant.length]);
  t.true(core.tokenizeWithOffsets(quarter).ids.length > 10000);
  // 10 MB in one string: 10 copies of the text, separated by a newline, give 10x the tokens.
  const unit = prose + '\n';
  const one = core.tokenizeWithOffsets(unit);
  const ten = core.tokenizeWithOffsets(unit.repeat(10));
  t.is(ten.ids.length, one.ids.length * 10);
  t.is(ten.offsets[ten.offsets.length - 1], one.offsets[one.offsets.length - 1] + 9 * unit.length);
  t.true(core.tokenizeWithOffsets('x'.repeat(10 << 20)).ids.length === 1);
});

test('encodeBatchAsync does not block the event loop, and matches the sync batch', async (t) => {
  const core = new NativeWordPieceCore({ vocab: vocabOf('vocab.txt') });
  const lines = fs.readFileSync(fixturesDir('tokenizer', 'bench_en_1mb.txt'), 'utf8').split('\n');
  const texts = lines;
  const t0 = process.hrtime.bigint();
  const sync = core.tokenizeBatchWithOffsets(texts, { threads: 1 });
  const syncMs = Number(process.hrtime.bigint() - t0) / 1e6;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t1 = process.hrtime.bigint();
  const rows = await core.tokenizeBatchWithOffsetsAsync(texts, { threads: 1 });
  const asyncMs = Number(process.hrtime.bigint() - t1) / 1e6;
  clearInterval(timer);
  // A 1 ms timer fires about once per ms while the loop is free; a loop blocked for the
  // whole batch gives 0 (the sync call would). No assertion on how many: on a machine whose
  // cores are taken by other jobs the main thread itself may get few time slices, so only
  // "the loop ran during the batch" is something the code decides.
  t.true(ticks >= 1, `${ticks} timer ticks during a ${asyncMs.toFixed(1)} ms batch (sync: ${syncMs.toFixed(1)} ms)`);
  t.is(rows.length, texts.length);
  for (let i = 0; i < texts.length; i++) {
    if (!same(rows[i], sync[i])) {
      t.fail(`row ${i} differs between the async and sync batch`);
      return;
    }
  }
  const multi = await core.tokenizeBatchWithOffsetsAsync(texts, { threads: 2 });
  t.true(
    multi.every((r, i) => same(r, sync[i])),
    'two threads give the same rows',
  );
});

// ---- bad input ----

test('bad input throws ConvBertError, never crashes', async (t) => {
  const vocab = vocabOf('vocab.txt');
  const core = new NativeWordPieceCore({ vocab });
  for (const bad of [undefined, null, 42, {}, ['a'], Symbol('x')]) {
    const e = t.throws(() => core.tokenizeWithOffsets(bad as unknown as string), { instanceOf: ConvBertError });
    t.is(e?.code, 'ERR_CONVBERT_ARG');
  }
  t.throws(() => core.tokenizeBatchWithOffsets(['ok', 3 as unknown as string]), { instanceOf: ConvBertError, message: /texts\[1\]/ });
  t.throws(() => core.tokenizeBatchWithOffsets('abc' as unknown as string[]), { instanceOf: ConvBertError });
  await t.throwsAsync(() => core.tokenizeBatchWithOffsetsAsync([null as unknown as string]), { instanceOf: ConvBertError });
  t.throws(() => core.tokenizeBatchWithOffsets(['a'], { threads: 0 }), { instanceOf: ConvBertError, message: /threads/ });
  // Vocab errors: not an array, a non-string entry, an empty vocab.
  t.throws(() => new NativeWordPieceCore({ vocab: 'abc' as unknown as string[] }), { instanceOf: ConvBertError });
  const e2 = t.throws(() => new NativeWordPieceCore({ vocab: ['[UNK]', 7 as unknown as string] }), { instanceOf: ConvBertError });
  t.is(e2?.code, 'ERR_CONVBERT_TOKENIZER');
  t.throws(() => new NativeWordPieceCore({ vocab: [] }), { instanceOf: ConvBertError });
  // As in HF, a vocab without the unk token loads; only a word that needs it fails.
  const noUnk = new NativeWordPieceCore({ vocab: ['a', '##b'] });
  t.deepEqual([...noUnk.tokenizeWithOffsets('ab a').ids], [0, 1, 0]);
  const e3 = t.throws(() => noUnk.tokenizeWithOffsets('abc'), { instanceOf: ConvBertError, message: /Missing \[UNK\]/ });
  t.is(e3?.code, 'ERR_CONVBERT_TOKENIZER');
  await t.throwsAsync(() => noUnk.tokenizeBatchWithOffsetsAsync(['a', 'zz']), { instanceOf: ConvBertError, message: /Missing \[UNK\]/ });
  // Lone surrogates are dropped like U+FFFD (what Node hands the Rust tokenizer).
  const ls = core.tokenizeWithOffsets('a\ud800b \udc00 c');
  const ab = core.tokenizeWithOffsets('ab');
  t.deepEqual([...ls.ids], [...ab.ids, vocab.indexOf('c')], 'lone surrogates removed, the word around one kept whole');
  t.deepEqual([...ls.offsets.slice(0, 2)], [0, 3]);
  t.deepEqual([...ls.offsets.slice(-2)], [6, 7]);
});
