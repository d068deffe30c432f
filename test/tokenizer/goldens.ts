// goldens.ts: runs the tokenizer goldens of fixtures/tokenizer (encode, truncation,
// padding, decode, never_split, unicode_classes) through any tokenizer class built
// on PreTrainedTokenizerBase, comparing the `fast` fields EXACTLY (ids, tokens,
// masks, both offset units, word/sequence ids, decode strings): tolerance is zero,
// since tokenization is discrete. The only allowed difference: cases flagged
// unicode_sensitive, where a tokenizer built on JS \p{...} tables may differ from
// HF's Unicode-8 Rust tables, and then only on the words holding a flagged code point.
// Used by tokenizer.test.ts (TypeScript) and by the fast tokenizer's tests.
import type { ExecutionContext, TestFn } from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertError } from '../../lib/errors';
import type { PreTrainedTokenizerBase } from '../../lib/tokenizer/base';
import type { FullEncoding } from '../../lib/tokenizer/encoding';
import type { TokenizerOptions } from '../../lib/tokenizer/options';
import { fixturesDir, readJson } from '../helpers/fixtures';

export interface TokenizerClass {
  fromPretrained(dir: string, overrides?: Partial<TokenizerOptions>): Promise<PreTrainedTokenizerBase>;
}

export interface GoldenOptions {
  /** Which character tables the tokenizer uses: JS \p{...} ('js') or HF's Rust tables ('rust'). */
  unicodeTables: 'js' | 'rust';
  /** Whether the class implements the slow-only never_split (ConvBertTokenizer) or ignores it like HF fast. */
  neverSplit: boolean;
}

export type GoldenFile = 'encode' | 'truncation' | 'padding' | 'decode' | 'never_split' | 'unicode_classes';
export const GOLDEN_FILES: readonly GoldenFile[] = ['encode', 'truncation', 'padding', 'decode', 'never_split', 'unicode_classes'];

interface ConfigSpec {
  vocab: string;
  do_lower_case: boolean;
  strip_accents: boolean | null;
  tokenize_chinese_chars: boolean;
}

type Offsets = [number, number][];

interface EncodeFields {
  tokens: string[];
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  special_tokens_mask: number[];
  offsets_utf16: Offsets;
  offsets_codepoint?: Offsets;
  word_ids: (number | null)[];
  sequence_ids: (number | null)[];
}

interface EncodeCase extends EncodeFields {
  id: string;
  config: string;
  text: string;
  text_pair: string | null;
  tokenize_text: string[];
  tokenize_text_pair?: string[];
  special_tokens_mask_from_ids: number[];
  decode: { keep_special: string; skip_special: string };
  decode_no_cleanup: { fast: { keep_special: string; skip_special: string } };
  unicode_sensitive?: { cp: string; reasons: string[] }[];
}

interface GoldenFileJson<C> {
  meta: { configs: Record<string, ConfigSpec> };
  cases: C[];
}

// ------------------------------------------------------------------ model dirs

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-tok-goldens-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** A model directory (temp) for a fixture config: vocab.txt copied from the fixtures + tokenizer_config.json. */
export function modelDirFor(name: string, spec: ConfigSpec): string {
  const dir = path.join(tmpRoot, name);
  if (!fs.existsSync(path.join(dir, 'tokenizer_config.json'))) {
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(fixturesDir('tokenizer', spec.vocab), path.join(dir, 'vocab.txt'));
    const cfg = {
      do_lower_case: spec.do_lower_case,
      strip_accents: spec.strip_accents,
      tokenize_chinese_chars: spec.tokenize_chinese_chars,
      tokenizer_class: 'ConvBertTokenizer',
      model_max_length: 512,
    };
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(cfg));
  }
  return dir;
}

const cache = new Map<TokenizerClass, Map<string, Promise<PreTrainedTokenizerBase>>>();
export function tokenizerFor(cls: TokenizerClass, name: string, spec: ConfigSpec): Promise<PreTrainedTokenizerBase> {
  let m = cache.get(cls);
  if (!m) cache.set(cls, (m = new Map()));
  let p = m.get(name);
  if (!p) m.set(name, (p = cls.fromPretrained(modelDirFor(name, spec))));
  return p;
}

const loaded = new Map<string, unknown>();
export function golden<C>(file: GoldenFile): GoldenFileJson<C> {
  if (!loaded.has(file)) loaded.set(file, readJson(fixturesDir('tokenizer', `${file}.json`)));
  return loaded.get(file) as GoldenFileJson<C>;
}

// ------------------------------------------------------------------ comparisons

function pick(e: FullEncoding, cp?: FullEncoding): EncodeFields {
  const f: EncodeFields = {
    tokens: e.tokens,
    input_ids: e.input_ids,
    token_type_ids: e.token_type_ids,
    attention_mask: e.attention_mask,
    special_tokens_mask: e.special_tokens_mask,
    offsets_utf16: e.offsets,
    word_ids: e.word_ids,
    sequence_ids: e.sequence_ids,
  };
  if (cp) f.offsets_codepoint = cp.offsets;
  return f;
}

function want(c: EncodeFields, withCodepoints: boolean): EncodeFields {
  const f: EncodeFields = {
    tokens: c.tokens,
    input_ids: c.input_ids,
    token_type_ids: c.token_type_ids,
    attention_mask: c.attention_mask,
    special_tokens_mask: c.special_tokens_mask,
    offsets_utf16: c.offsets_utf16,
    word_ids: c.word_ids,
    sequence_ids: c.sequence_ids,
  };
  if (withCodepoints) f.offsets_codepoint = c.offsets_codepoint;
  return f;
}

/**
 * UTF-16 spans of `text` that a flagged code point can influence: from the whitespace
 * before it to the whitespace after it (the code point itself counts as non-space,
 * since its class is what differs).
 */
function taintedSpans(text: string, cps: number[]): [number, number][] {
  const spans: [number, number][] = [];
  const isSpace = (ch: string) => /^\s$/u.test(ch);
  for (const cp of cps) {
    const ch = String.fromCodePoint(cp);
    for (let p = text.indexOf(ch); p >= 0; p = text.indexOf(ch, p + 1)) {
      let a = p;
      while (a > 0 && !isSpace(text[a - 1])) a--;
      let b = p + ch.length;
      while (b < text.length && !isSpace(text[b])) b++;
      spans.push([a, b]);
    }
  }
  return spans;
}

/** Drop the tokens of sequence `seq` whose offsets touch a tainted span (index-aligned fields). */
function withoutTainted(f: EncodeFields, spans: [number, number][][]): Omit<EncodeFields, 'word_ids'> {
  const keep: number[] = [];
  for (let i = 0; i < f.input_ids.length; i++) {
    const seq = f.sequence_ids[i];
    const [s, e] = f.offsets_utf16[i];
    const hit = seq !== null && spans[seq].some(([a, b]) => s < b && e > a);
    if (!hit) keep.push(i);
  }
  const sel = <T>(a: T[]) => keep.map((i) => a[i]);
  // word ids shift when a tainted word splits differently, so they are left out here
  return {
    tokens: sel(f.tokens),
    input_ids: sel(f.input_ids),
    token_type_ids: sel(f.token_type_ids),
    attention_mask: sel(f.attention_mask),
    special_tokens_mask: sel(f.special_tokens_mask),
    offsets_utf16: sel(f.offsets_utf16),
    sequence_ids: sel(f.sequence_ids),
  };
}

function cpOf(s: string): number {
  return parseInt(s.replace(/^U\+/, ''), 16);
}

// ------------------------------------------------------------------ per file

export async function runEncodeGoldens(t: ExecutionContext, cls: TokenizerClass, o: GoldenOptions): Promise<void> {
  const g = golden<EncodeCase>('encode');
  t.true(g.cases.length > 0, 'encode.json has cases');
  let soft = 0;
  for (const c of g.cases) {
    const tok = await tokenizerFor(cls, c.config, g.meta.configs[c.config]);
    const opts = { text_pair: c.text_pair };
    const full = tok.encodeFull(c.text, opts);
    const fullCp = tok.encodeFull(c.text, { ...opts, offset_unit: 'code_point' });
    const got = pick(full, fullCp);
    const exp = want(c, true);
    const sensitive = (c.unicode_sensitive ?? []).filter((u) => o.unicodeTables === 'js' && u.reasons.includes('rust_tables'));
    if (sensitive.length > 0 && JSON.stringify(got) !== JSON.stringify(exp)) {
      // Allowed: differences confined to the words that hold a rust_tables code point.
      soft++;
      const cps = sensitive.map((u) => cpOf(u.cp));
      const spans = [taintedSpans(c.text, cps), taintedSpans(c.text_pair ?? '', cps)];
      t.deepEqual(withoutTainted(got, spans), withoutTainted(exp, spans), `${c.id}: differs outside the unicode_sensitive words`);
      // Where the only reason is HF's old Rust tables, JS tables agree with Python's, so
      // the result must be the slow tokenizer's (the README: "slow-like answer").
      const slow = (c as unknown as { slow: 'same' | { tokens: string[] } }).slow;
      if (c.unicode_sensitive!.every((u) => u.reasons.length === 1 && u.reasons[0] === 'rust_tables') && slow !== 'same') {
        t.deepEqual(got.tokens, slow.tokens, `${c.id}: JS tables give the slow tokenizer's tokens`);
      }
      continue;
    }
    t.deepEqual(got, exp, `${c.id}: encode`);
    t.deepEqual(tok.tokenize(c.text), c.tokenize_text, `${c.id}: tokenize(text)`);
    if (c.text_pair !== null && c.tokenize_text_pair) t.deepEqual(tok.tokenize(c.text_pair), c.tokenize_text_pair, `${c.id}: tokenize(text_pair)`);
    t.deepEqual(tok.getSpecialTokensMask(c.input_ids, null, true), c.special_tokens_mask_from_ids, `${c.id}: getSpecialTokensMask`);
    const dec = {
      keep_special: tok.decode(c.input_ids),
      skip_special: tok.decode(c.input_ids, { skip_special_tokens: true }),
      keep_no_cleanup: tok.decode(c.input_ids, { clean_up_tokenization_spaces: false }),
      skip_no_cleanup: tok.decode(c.input_ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }),
    };
    t.deepEqual(
      dec,
      {
        keep_special: c.decode.keep_special,
        skip_special: c.decode.skip_special,
        keep_no_cleanup: c.decode_no_cleanup.fast.keep_special,
        skip_no_cleanup: c.decode_no_cleanup.fast.skip_special,
      },
      `${c.id}: decode`,
    );
    // the public encode() must carry the same data as encodeFull()
    const row = tok.encode(c.text, { ...opts, return_offsets_mapping: true, return_special_tokens_mask: true, return_word_ids: true });
    t.deepEqual(
      [row.input_ids, row.token_type_ids, row.attention_mask, row.special_tokens_mask, row.offset_mapping, row.word_ids, row.sequence_ids],
      [c.input_ids, c.token_type_ids, c.attention_mask, c.special_tokens_mask, c.offsets_utf16, c.word_ids, c.sequence_ids],
      `${c.id}: encode() row`,
    );
  }
  t.log(`${soft} unicode_sensitive case(s) differed from the fast fields (only inside the flagged words)`);
}

interface TruncCase {
  id: string;
  config: string;
  text: string;
  text_pair: string | null;
  max_length: number;
  strategy: 'longest_first' | 'only_first' | 'only_second';
  stride: number;
  truncation_side: 'left' | 'right';
  fast: (EncodeFields & { overflowing: EncodeFields[] }) | { error: string };
}

export async function runTruncationGoldens(t: ExecutionContext, cls: TokenizerClass): Promise<void> {
  const g = golden<TruncCase>('truncation');
  t.true(g.cases.length > 0, 'truncation.json has cases');
  for (const c of g.cases) {
    const tok = await tokenizerFor(cls, c.config, g.meta.configs[c.config]);
    const opts = {
      text_pair: c.text_pair,
      truncation: c.strategy,
      max_length: c.max_length,
      stride: c.stride,
      truncation_side: c.truncation_side,
      return_overflowing_tokens: true,
    } as const;
    if ('error' in c.fast) {
      const err = t.throws(() => tok.encodeFull(c.text, opts), { instanceOf: ConvBertError }, `${c.id}: must throw`);
      t.is(err?.code, 'ERR_CONVBERT_TOKENIZER', `${c.id}: error code`);
      if (c.fast.error.startsWith('Truncation error')) t.is(err?.message, c.fast.error, `${c.id}: HF's message`);
      else t.regex(err?.message ?? '', /stride/, `${c.id}: names stride`);
      continue;
    }
    const full = tok.encodeFull(c.text, opts);
    const fullCp = tok.encodeFull(c.text, { ...opts, offset_unit: 'code_point' });
    const got = { ...pick(full, fullCp), overflowing: full.overflowing.map((ov, i) => pick(ov, fullCp.overflowing[i])) };
    const exp = { ...want(c.fast, true), overflowing: c.fast.overflowing.map((ov) => want(ov, true)) };
    t.deepEqual(got, exp, `${c.id}: truncation`);
    // encode() returns the same windows
    const row = tok.encode(c.text, { ...opts, return_offsets_mapping: true });
    t.deepEqual(
      [row.input_ids, (row.overflowing ?? []).map((r) => r.input_ids), (row.overflowing ?? []).map((r) => r.offset_mapping)],
      [c.fast.input_ids, c.fast.overflowing.map((r) => r.input_ids), c.fast.overflowing.map((r) => r.offsets_utf16)],
      `${c.id}: encode() overflow`,
    );
  }
}

interface PaddingCase {
  id: string;
  config: string;
  texts: string[];
  text_pairs: (string | null)[];
  padding: 'longest' | 'max_length';
  max_length: number | null;
  truncation: 'longest_first' | null;
  pad_to_multiple_of: number | null;
  padding_side: 'left' | 'right';
  padded_length: number;
  rows: EncodeFields[];
}

export async function runPaddingGoldens(t: ExecutionContext, cls: TokenizerClass): Promise<void> {
  const g = golden<PaddingCase>('padding');
  t.true(g.cases.length > 0, 'padding.json has cases');
  for (const c of g.cases) {
    const tok = await tokenizerFor(cls, c.config, g.meta.configs[c.config]);
    const opts = {
      text_pair: c.text_pairs.some((p) => p !== null) ? c.text_pairs : null,
      padding: c.padding,
      max_length: c.max_length,
      truncation: c.truncation ?? false,
      pad_to_multiple_of: c.pad_to_multiple_of,
      padding_side: c.padding_side,
      return_offsets_mapping: true,
      return_special_tokens_mask: true,
      return_word_ids: true,
    } as const;
    const b = tok.encodeBatch(c.texts, opts);
    const got = b.input_ids.map((ids, i) => ({
      tokens: tok.convertIdsToTokens(ids),
      input_ids: ids,
      token_type_ids: b.token_type_ids![i],
      attention_mask: b.attention_mask![i],
      special_tokens_mask: b.special_tokens_mask![i],
      offsets_utf16: b.offset_mapping![i],
      word_ids: b.word_ids![i],
      sequence_ids: b.sequence_ids![i],
    }));
    t.deepEqual(
      got,
      c.rows.map((r) => want(r, false)),
      `${c.id}: padding`,
    );
    if (c.truncation !== null || c.padding === 'longest') {
      t.true(
        b.input_ids.every((r) => r.length === c.padded_length),
        `${c.id}: padded_length ${c.padded_length}`,
      );
    }
    const a = await tok.encodeBatchAsync(c.texts, opts);
    t.deepEqual(a, b, `${c.id}: encodeBatchAsync equals encodeBatch`);
  }
}

interface DecodeCase {
  id: string;
  config: string;
  ids: number[];
  fast: { keep_special: string; skip_special: string; keep_special_no_cleanup: string; skip_special_no_cleanup: string };
}

export async function runDecodeGoldens(t: ExecutionContext, cls: TokenizerClass): Promise<void> {
  const g = golden<DecodeCase>('decode');
  t.true(g.cases.length > 0, 'decode.json has cases');
  for (const c of g.cases) {
    const tok = await tokenizerFor(cls, c.config, g.meta.configs[c.config]);
    const got = {
      keep_special: tok.decode(c.ids),
      skip_special: tok.decode(c.ids, { skip_special_tokens: true }),
      keep_special_no_cleanup: tok.decode(c.ids, { clean_up_tokenization_spaces: false }),
      skip_special_no_cleanup: tok.decode(c.ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }),
    };
    t.deepEqual(got, c.fast, `${c.id}: decode`);
  }
  const tok = await tokenizerFor(cls, 'uncased', g.meta.configs.uncased);
  const batch = g.cases.filter((c) => c.config === 'uncased');
  t.deepEqual(
    tok.batchDecode(
      batch.map((c) => c.ids),
      { skip_special_tokens: true },
    ),
    batch.map((c) => c.fast.skip_special),
    'batchDecode',
  );
}

interface NeverSplitCase {
  id: string;
  config: string;
  never_split: string[];
  text: string;
  slow: { tokens: string[]; input_ids: number[]; tokenize_text: string[] };
  fast_ignores_never_split: { tokens: string[]; input_ids: number[] };
}

export async function runNeverSplitGoldens(t: ExecutionContext, cls: TokenizerClass, o: GoldenOptions): Promise<void> {
  const g = golden<NeverSplitCase>('never_split');
  t.true(g.cases.length > 0, 'never_split.json has cases');
  for (const c of g.cases) {
    const spec = g.meta.configs[c.config];
    const tok = await cls.fromPretrained(modelDirFor(c.config, spec), { never_split: c.never_split });
    const e = tok.encodeFull(c.text);
    if (o.neverSplit) {
      t.deepEqual(
        { tokens: e.tokens.map((x, i) => (e.special_tokens_mask[i] ? x : tok.convertIdsToTokens(e.input_ids[i]))), input_ids: e.input_ids, tokenize_text: tok.tokenize(c.text) },
        { tokens: c.slow.tokens, input_ids: c.slow.input_ids, tokenize_text: c.slow.tokenize_text },
        `${c.id}: never_split (slow semantics)`,
      );
    } else {
      t.deepEqual({ tokens: e.tokens, input_ids: e.input_ids }, c.fast_ignores_never_split, `${c.id}: never_split ignored`);
    }
  }
}

interface UnicodeClasses {
  class_fast_vs_js: { from: string; to: string; fast: string; js: string }[];
  strip_fast_vs_js: { from: string; to: string; fast: string; js: string }[];
  lower_fast_vs_js: { from: string; to: string; fast: string; js: string }[];
}

type CharClass = 'removed' | 'whitespace' | 'cjk' | 'punct' | 'other';

/** The README's JS definitions, written independently of lib/ (the tokenizer must behave like this). */
function jsClass(cp: number): CharClass {
  const ch = String.fromCodePoint(cp);
  if (cp === 0 || cp === 0xfffd || (cp !== 9 && cp !== 10 && cp !== 13 && /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u.test(ch))) return 'removed';
  if (cp === 9 || cp === 10 || cp === 13 || /\p{White_Space}/u.test(ch)) return 'whitespace';
  const cjk = [
    [0x4e00, 0x9fff],
    [0x3400, 0x4dbf],
    [0x20000, 0x2a6df],
    [0x2a700, 0x2b73f],
    [0x2b740, 0x2b81f],
    [0x2b920, 0x2ceaf],
    [0xf900, 0xfaff],
    [0x2f800, 0x2fa1f],
  ];
  if (cjk.some(([a, b]) => cp >= a && cp <= b)) return 'cjk';
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || /\p{P}/u.test(ch)) return 'punct';
  return 'other';
}

/**
 * The class a tokenizer gives `cp`, observed from outside: encode "x" + ch + "y" with
 * no lowercasing or stripping and read the word structure.
 */
function observedClass(tok: PreTrainedTokenizerBase, cp: number, xy: number[]): CharClass | 'isolated' {
  const ch = String.fromCodePoint(cp);
  const e = tok.encodeFull(`x${ch}y`, { add_special_tokens: false });
  const words = new Set(e.word_ids).size;
  if (words === 3) return 'isolated';
  if (words === 2) return 'whitespace';
  if (JSON.stringify(e.input_ids) === JSON.stringify(xy) && e.offsets.length > 0 && e.offsets[e.offsets.length - 1][1] === ch.length + 2) return 'removed';
  return 'other';
}

export async function runUnicodeClassGoldens(t: ExecutionContext, cls: TokenizerClass, o: GoldenOptions): Promise<void> {
  const u = readJson<UnicodeClasses>(fixturesDir('tokenizer', 'unicode_classes.json'));
  const configs = golden<EncodeCase>('encode').meta.configs;
  // chinese_cased: no lowercase, no strip, CJK isolated; the class is all that shapes the words.
  const tok = await tokenizerFor(cls, 'chinese_cased', configs.chinese_cased);
  const xy = tok.encodeFull('xy', { add_special_tokens: false }).input_ids;
  const listed = new Map<number, { fast: string; js: string }>();
  for (const r of u.class_fast_vs_js) for (let cp = cpOf(r.from); cp <= cpOf(r.to); cp++) listed.set(cp, r);
  t.true(listed.size > 0, 'class_fast_vs_js lists code points');
  const mismatches: string[] = [];
  const check = (cp: number) => {
    if (cp >= 0xd800 && cp <= 0xdfff) return; // lone surrogates: covered by the encode goldens
    const r = listed.get(cp);
    const expected = r ? (o.unicodeTables === 'rust' ? r.fast : r.js) : jsClass(cp);
    const exp = expected === 'cjk' || expected === 'punct' ? 'isolated' : expected;
    const got = observedClass(tok, cp, xy);
    if (got !== exp) mismatches.push(`U+${cp.toString(16).toUpperCase()}: got ${got}, want ${exp}`);
  };
  for (const cp of listed.keys()) check(cp);
  // plus every code point of the BMP's first 0x3000 and a stride through the rest
  for (let cp = 0; cp < 0x3000; cp++) check(cp);
  for (let cp = 0x3000; cp < 0x110000; cp += 61) check(cp);
  t.deepEqual(mismatches.slice(0, 20), [], `character classes (${mismatches.length} mismatches)`);

  // Stripping: what "x" + NFD-stripped(ch) tokenizes to, against the listed expectations.
  const strip = await tokenizerFor(cls, 'uncased', configs.uncased);
  const keep = await tokenizerFor(cls, 'uncased_keep_accents', configs.uncased_keep_accents);
  const stripMismatches: string[] = [];
  for (const r of u.strip_fast_vs_js) {
    for (let cp = cpOf(r.from); cp <= cpOf(r.to); cp++) {
      // The listed `fast`/`js` string is the first code point's; for ranges compute it per code point.
      const ch = String.fromCodePoint(cp);
      const jsNorm = ch
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '')
        .toLowerCase();
      // rust: the listed string is the first code point's; it is either that code point (kept) or '' (dropped)
      const first = String.fromCodePoint(cpOf(r.from));
      const rustNorm = r.fast === first ? ch : r.fast === '' ? '' : cp === cpOf(r.from) ? r.fast : null;
      const expNorm = o.unicodeTables === 'rust' ? rustNorm : jsNorm;
      if (expNorm === null) continue;
      const got = strip.encodeFull(`a ${ch} b`, { add_special_tokens: false }).input_ids;
      const exp = keep.encodeFull(`a ${expNorm} b`, { add_special_tokens: false }).input_ids;
      if (JSON.stringify(got) !== JSON.stringify(exp)) stripMismatches.push(`U+${cp.toString(16).toUpperCase()}`);
    }
  }
  t.deepEqual(stripMismatches.slice(0, 20), [], `accent stripping (${stripMismatches.length} mismatches)`);
  t.deepEqual(u.lower_fast_vs_js, [], 'lowercasing: fast and JS agree everywhere (so no soft cases exist)');
}

/** Every golden file through one tokenizer class, in one test. */
export async function runGoldens(t: ExecutionContext, cls: TokenizerClass, o: GoldenOptions, files: readonly GoldenFile[] = GOLDEN_FILES): Promise<void> {
  for (const f of files) {
    if (f === 'encode') await runEncodeGoldens(t, cls, o);
    else if (f === 'truncation') await runTruncationGoldens(t, cls);
    else if (f === 'padding') await runPaddingGoldens(t, cls);
    else if (f === 'decode') await runDecodeGoldens(t, cls);
    else if (f === 'never_split') await runNeverSplitGoldens(t, cls, o);
    else await runUnicodeClassGoldens(t, cls, o);
  }
}

/** Register one ava test per golden file for a tokenizer class (the same checks as runGoldens). */
export function registerGoldenTests(test: TestFn, label: string, cls: TokenizerClass, o: GoldenOptions): void {
  test(`${label}: encode.json goldens`, (t) => runEncodeGoldens(t, cls, o));
  test(`${label}: truncation.json goldens`, (t) => runTruncationGoldens(t, cls));
  test(`${label}: padding.json goldens`, (t) => runPaddingGoldens(t, cls));
  test(`${label}: decode.json goldens`, (t) => runDecodeGoldens(t, cls));
  test(`${label}: never_split.json goldens`, (t) => runNeverSplitGoldens(t, cls, o));
  test(`${label}: unicode_classes.json`, (t) => runUnicodeClassGoldens(t, cls, o));
}
