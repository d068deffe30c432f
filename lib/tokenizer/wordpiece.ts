// wordpiece.ts: the TypeScript tokenizer core, the reference for the native one.
// Semantics are HF's fast BERT pipeline, in order: BertNormalizer (clean_text,
// CJK isolation, NFD + drop Mn when stripping accents, per-code-point lowercase),
// BertPreTokenizer (split on whitespace, isolate punctuation), then WordPiece
// (greedy longest match, "##" continuation, words over max_input_chars_per_word
// code points -> unk). One pass over the text; each word is matched with a bounded
// window (the longest vocab entry), so time is linear in the input. Character
// classes are the JS \p{...} tables, corrected by default (unicode_tables 'rust')
// where HF's Unicode-8-era Rust tables differ (unicode_rust.ts).
import { ConvBertError } from '../errors';
import { type CoreEncoding, type TokenizerCore, type WordPieceOptions, DEFAULT_WORDPIECE_OPTIONS, effectiveStripAccents } from './core';
import { NOT_PUNCT, NOT_REMOVED, PUNCT, STRIP_DROP, STRIP_KEEP, inRanges } from './unicode_rust';

// Per-code-point classes after clean_text and CJK isolation.
const K_UNKNOWN = 0;
const K_REMOVED = 1; // dropped by clean_text
const K_SPACE = 2; // word boundary
const K_CJK = 3; // isolated ideograph (normalised form in `mapped` when it changes)
const K_PUNCT = 4; // isolated, normalises to itself
const K_PLAIN = 5; // part of a word, normalises to itself
const K_MAPPED = 6; // normalises to something else: see `mapped`

const RE_REMOVED = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const RE_SPACE = /\p{White_Space}/u;
const RE_PUNCT = /\p{P}/u;
const RE_MN = /\p{Mn}/gu;

/** CJK ideograph ranges exactly as HF's BertNormalizer (Rust: the 0x2B920 start is its, not a typo here). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BERT punctuation: ASCII !-/ :-@ [-` {-~, or Unicode P*. */
export function isBertPunct(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  if (cp < 128) return false;
  return RE_PUNCT.test(String.fromCodePoint(cp));
}

export function isBertWhitespace(cp: number): boolean {
  if (cp === 32 || cp === 9 || cp === 10 || cp === 13) return true;
  if (cp < 128 && cp !== 11 && cp !== 12) return false;
  return RE_SPACE.test(String.fromCodePoint(cp));
}

/** clean_text's removal: NUL, U+FFFD, and Cc/Cf/Co/Cs except \t \n \r (unassigned code points are kept). */
export function isBertRemoved(cp: number): boolean {
  if (cp === 0 || cp === 0xfffd) return true;
  if (cp === 9 || cp === 10 || cp === 13) return false;
  if (cp >= 32 && cp < 127) return false;
  return RE_REMOVED.test(String.fromCodePoint(cp));
}

/** Normalised text of one code point: NFD + drop Mn when stripping, then per-code-point lowercase. */
function normalizeCodePoint(cp: number, lower: boolean, strip: boolean, rust: boolean): string {
  let s = String.fromCodePoint(cp);
  if (strip) {
    if (rust && inRanges(STRIP_KEEP, cp)) {
      // HF's tables neither decompose nor drop it
    } else if (rust && inRanges(STRIP_DROP, cp)) s = '';
    else s = s.normalize('NFD').replace(RE_MN, '');
  }
  if (lower) {
    let out = '';
    for (const ch of s) out += ch.toLowerCase();
    s = out;
  }
  return s;
}

/** A code point whose normalised form differs from itself: its code points and their classes. */
interface Mapped {
  text: string;
  cps: number[];
  kinds: number[]; // K_SPACE, K_PUNCT or K_PLAIN per code point of `text`
}

/** Class tables shared by every core with the same normaliser flags. */
class CharTable {
  readonly kind = new Uint8Array(0x110000);
  readonly mapped = new Map<number, Mapped>();
  constructor(
    readonly lower: boolean,
    readonly strip: boolean,
    readonly cjk: boolean,
    readonly rust: boolean,
  ) {}

  private removed(cp: number): boolean {
    return isBertRemoved(cp) && !(this.rust && inRanges(NOT_REMOVED, cp));
  }

  punct(cp: number): boolean {
    if (this.rust && cp >= 128) {
      if (inRanges(PUNCT, cp)) return true;
      if (inRanges(NOT_PUNCT, cp)) return false;
    }
    return isBertPunct(cp);
  }

  classify(cp: number): number {
    let k = this.kind[cp];
    if (k !== K_UNKNOWN) return k;
    if (this.removed(cp)) k = K_REMOVED;
    else if (isBertWhitespace(cp)) k = K_SPACE;
    else {
      const norm = normalizeCodePoint(cp, this.lower, this.strip, this.rust);
      const same = norm.length === (cp > 0xffff ? 2 : 1) && norm.codePointAt(0) === cp;
      if (this.cjk && isChineseChar(cp)) {
        k = K_CJK;
        if (!same) this.mapped.set(cp, this.describe(norm));
      } else if (same) {
        k = this.punct(cp) ? K_PUNCT : K_PLAIN;
      } else {
        k = K_MAPPED;
        this.mapped.set(cp, this.describe(norm));
      }
    }
    this.kind[cp] = k;
    return k;
  }

  /** Pre-tokeniser classes of a normalised string (e.g. U+1FEF strips to "`", which is punctuation). */
  private describe(text: string): Mapped {
    const cps: number[] = [];
    const kinds: number[] = [];
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      cps.push(c);
      kinds.push(isBertWhitespace(c) ? K_SPACE : this.punct(c) ? K_PUNCT : K_PLAIN);
    }
    return { text, cps, kinds };
  }
}

const tables = new Map<string, CharTable>();
function charTable(lower: boolean, strip: boolean, cjk: boolean, rust: boolean): CharTable {
  const key = `${+lower}${+strip}${+cjk}${+rust}`;
  let t = tables.get(key);
  if (!t) {
    t = new CharTable(lower, strip, cjk, rust);
    tables.set(key, t);
  }
  return t;
}

/** A growable output buffer of ids, offsets and word indices. */
class OutBuf {
  ids = new Int32Array(64);
  offs = new Uint32Array(128);
  words = new Int32Array(64);
  tokens: string[] | undefined;
  n = 0;
  push(id: number, start: number, end: number, word: number): void {
    if (this.n === this.ids.length) {
      const cap = this.n * 2;
      const ids = new Int32Array(cap);
      ids.set(this.ids);
      this.ids = ids;
      const offs = new Uint32Array(cap * 2);
      offs.set(this.offs);
      this.offs = offs;
      const words = new Int32Array(cap);
      words.set(this.words);
      this.words = words;
    }
    this.ids[this.n] = id;
    this.offs[2 * this.n] = start;
    this.offs[2 * this.n + 1] = end;
    this.words[this.n] = word;
    this.n++;
  }
}

export class WordPieceCore implements TokenizerCore {
  readonly options: WordPieceOptions;
  /** token -> id for word-initial pieces (the whole vocab, as HF looks it up). */
  readonly vocabMap = new Map<string, number>();
  /** piece -> id for continuation pieces, keyed WITHOUT the prefix. */
  private readonly contMap: Map<string, number>;
  private readonly maxInit: number;
  private readonly maxCont: number;
  private readonly unkId: number | undefined;
  private readonly table: CharTable;
  private readonly neverSplit: Set<string> | null;

  // Scratch for the current word: UTF-16 units of the normalised word and the
  // original [start, end) of the character each unit came from.
  private wUnits = new Uint16Array(256);
  private wStart = new Uint32Array(256);
  private wEnd = new Uint32Array(256);

  constructor(options: Partial<WordPieceOptions> & { vocab: readonly string[] }) {
    this.options = { ...DEFAULT_WORDPIECE_OPTIONS, ...options };
    const o = this.options;
    const prefix = o.continuing_subword_prefix;
    // with an empty prefix a continuation piece is looked up in the whole vocab
    this.contMap = prefix.length > 0 ? new Map() : this.vocabMap;
    let maxInit = 1;
    let maxCont = 1;
    for (let id = 0; id < o.vocab.length; id++) {
      const tok = o.vocab[id];
      this.vocabMap.set(tok, id);
      if (tok.length > maxInit) maxInit = tok.length;
      if (prefix.length > 0 && tok.startsWith(prefix)) {
        const piece = tok.slice(prefix.length);
        this.contMap.set(piece, id);
        if (piece.length > maxCont) maxCont = piece.length;
      }
    }
    this.maxInit = maxInit;
    this.maxCont = prefix.length > 0 ? maxCont : maxInit;
    this.unkId = this.vocabMap.get(o.unk_token);
    const tablesMode = o.unicode_tables ?? 'rust';
    if (tablesMode !== 'rust' && tablesMode !== 'js') {
      throw new ConvBertError(`unicode_tables: expected 'rust' or 'js', got ${JSON.stringify(tablesMode)}`, 'ERR_CONVBERT_TOKENIZER');
    }
    this.table = charTable(o.do_lower_case, effectiveStripAccents(o), o.tokenize_chinese_chars, tablesMode === 'rust');
    this.neverSplit = o.never_split && o.never_split.length > 0 ? new Set(o.never_split) : null;
  }

  private unk(): number {
    if (this.unkId === undefined) {
      throw new ConvBertError(`WordPiece error: Missing ${this.options.unk_token} token from the vocabulary`, 'ERR_CONVBERT_TOKENIZER');
    }
    return this.unkId;
  }

  /** Reused between calls (results are copied out), so short texts allocate little. */
  private out = new OutBuf();

  tokenizeWithOffsets(text: string): CoreEncoding {
    const out = this.out;
    out.n = 0;
    out.tokens = undefined;
    if (this.neverSplit) this.runNeverSplit(text, out);
    else this.run(text, 0, text.length, out, 0);
    const n = out.n;
    const res: CoreEncoding = { ids: out.ids.slice(0, n), offsets: out.offs.slice(0, 2 * n), words: out.words.slice(0, n) };
    if (out.tokens) res.tokens = out.tokens;
    if (out.ids.length > 1 << 16) this.out = new OutBuf(); // do not keep a huge input's buffers alive
    return res;
  }

  /**
   * Slow-only never_split: a whitespace-delimited chunk of the cleaned text that
   * (lowercased when do_lower_case, as the Python tokenizer pre-lowercases the
   * whole text) equals an entry is kept whole; its id is vocab[chunk] or unk.
   */
  private runNeverSplit(text: string, out: OutBuf): void {
    const t = this.table;
    const o = this.options;
    out.tokens = [];
    let word = 0;
    let i = 0;
    const len = text.length;
    while (i < len) {
      // Find the next chunk [a, b): runs of non-space, non-CJK characters; a CJK char is its own chunk.
      let a = i;
      let cleaned = '';
      let b = i;
      while (b < len) {
        const { cp, size } = codePointAtSafe(text, b);
        const k = cp < 0 ? K_REMOVED : t.classify(cp);
        if (k === K_SPACE || k === K_CJK) {
          if (b === a && k === K_CJK) {
            cleaned = text.slice(b, b + size);
            b += size;
          } else if (b === a) {
            a += size; // leading space
            b += size;
            continue;
          }
          break;
        }
        if (k !== K_REMOVED) cleaned += text.slice(b, b + size);
        b += size;
      }
      if (a >= len) break;
      const key = o.do_lower_case ? cleaned.toLowerCase() : cleaned;
      if (cleaned.length > 0 && this.neverSplit!.has(key)) {
        const id = this.vocabMap.get(key);
        out.push(id === undefined ? this.unk() : id, a, b, word++);
        out.tokens.push(key);
      } else {
        const before = out.n;
        word = this.run(text, a, b, out, word);
        for (let j = before; j < out.n; j++) out.tokens.push(o.vocab[out.ids[j]]);
      }
      i = b;
    }
  }

  /** Tokenise text[from, to) into `out`; returns the next word index. */
  private run(text: string, from: number, to: number, out: OutBuf, word: number): number {
    const t = this.table;
    const kind = t.kind;
    const maxChars = this.options.max_input_chars_per_word;
    let n = 0; // units in the current word
    let nChars = 0; // code points in the current word
    let wordFirst = 0; // original start of the word's first character
    let wordLast = 0; // original end of its last character
    let i = from;
    while (i < to) {
      let cp = text.charCodeAt(i);
      let size = 1;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const next = i + 1 < to ? text.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
          size = 2;
        } else {
          i += 1; // a lone surrogate: Node hands it to Rust as U+FFFD, which clean_text drops
          continue;
        }
      }
      let k = kind[cp];
      if (k === K_UNKNOWN) k = t.classify(cp);
      const start = i;
      const end = i + size;
      i = end;
      if (k === K_PLAIN) {
        if (nChars === 0) wordFirst = start;
        wordLast = end;
        nChars++;
        if (nChars <= maxChars) {
          this.ensure(n + 2);
          this.wUnits[n] = text.charCodeAt(start);
          this.wStart[n] = start;
          this.wEnd[n] = end;
          n++;
          if (size === 2) {
            this.wUnits[n] = text.charCodeAt(start + 1);
            this.wStart[n] = start;
            this.wEnd[n] = end;
            n++;
          }
        }
        continue;
      }
      if (k === K_REMOVED) continue;
      if (k === K_SPACE) {
        if (nChars > 0) word = this.flush(n, nChars, wordFirst, wordLast, out, word);
        n = 0;
        nChars = 0;
        continue;
      }
      if (k === K_PUNCT) {
        if (nChars > 0) word = this.flush(n, nChars, wordFirst, wordLast, out, word);
        n = 0;
        nChars = 0;
        this.wUnits[0] = text.charCodeAt(start);
        this.wStart[0] = start;
        this.wEnd[0] = end;
        if (size === 2) {
          this.wUnits[1] = text.charCodeAt(start + 1);
          this.wStart[1] = start;
          this.wEnd[1] = end;
        }
        word = this.flush(size, 1, start, end, out, word);
        continue;
      }
      // CJK or mapped: walk the normalised code points with their own classes
      // (e.g. U+1FEF strips to "`", which is punctuation).
      if (k === K_CJK) {
        if (nChars > 0) word = this.flush(n, nChars, wordFirst, wordLast, out, word);
        n = 0;
        nChars = 0;
      }
      const m = t.mapped.get(cp) ?? cjkSelf(cp);
      const norm = m.text;
      for (let j = 0, q = 0; j < norm.length; q++) {
        const c = m.cps[q];
        const cs = c > 0xffff ? 2 : 1;
        j += cs;
        const isSpace = m.kinds[q] === K_SPACE;
        const isPunct = m.kinds[q] === K_PUNCT;
        if (isSpace || isPunct) {
          if (nChars > 0) word = this.flush(n, nChars, wordFirst, wordLast, out, word);
          n = 0;
          nChars = 0;
          if (isPunct) {
            this.wUnits[0] = norm.charCodeAt(j - cs);
            this.wStart[0] = start;
            this.wEnd[0] = end;
            if (cs === 2) {
              this.wUnits[1] = norm.charCodeAt(j - 1);
              this.wStart[1] = start;
              this.wEnd[1] = end;
            }
            word = this.flush(cs, 1, start, end, out, word);
          }
          continue;
        }
        if (nChars === 0) wordFirst = start;
        wordLast = end;
        nChars++;
        if (nChars <= maxChars) {
          this.ensure(n + 2);
          this.wUnits[n] = norm.charCodeAt(j - cs);
          this.wStart[n] = start;
          this.wEnd[n] = end;
          n++;
          if (cs === 2) {
            this.wUnits[n] = norm.charCodeAt(j - 1);
            this.wStart[n] = start;
            this.wEnd[n] = end;
            n++;
          }
        }
      }
      if (k === K_CJK && nChars > 0) {
        word = this.flush(n, nChars, wordFirst, wordLast, out, word);
        n = 0;
        nChars = 0;
      }
    }
    if (nChars > 0) word = this.flush(n, nChars, wordFirst, wordLast, out, word);
    return word;
  }

  private ensure(cap: number): void {
    if (cap <= this.wUnits.length) return;
    const c = Math.max(cap, this.wUnits.length * 2);
    const u = new Uint16Array(c);
    u.set(this.wUnits);
    this.wUnits = u;
    const s = new Uint32Array(c);
    s.set(this.wStart);
    this.wStart = s;
    const e = new Uint32Array(c);
    e.set(this.wEnd);
    this.wEnd = e;
  }

  /** WordPiece on the buffered word (n units, nChars code points); returns the next word index. */
  private flush(n: number, nChars: number, first: number, last: number, out: OutBuf, word: number): number {
    if (nChars > this.options.max_input_chars_per_word) {
      out.push(this.unk(), first, last, word);
      return word + 1;
    }
    const units = this.wUnits;
    const w = n === 1 ? String.fromCharCode(units[0]) : String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]);
    const before = out.n;
    let s = 0;
    while (s < n) {
      const map = s === 0 ? this.vocabMap : this.contMap;
      let e = Math.min(n, s + (s === 0 ? this.maxInit : this.maxCont));
      // never end inside a surrogate pair
      if (e < n && isLow(units[e]) && isHigh(units[e - 1])) e--;
      let id: number | undefined;
      while (e > s) {
        id = map.get(w.slice(s, e));
        if (id !== undefined) break;
        e -= e - 2 >= s && isLow(units[e - 1]) && isHigh(units[e - 2]) ? 2 : 1;
      }
      if (id === undefined) {
        out.n = before; // HF: any unmatched remainder makes the whole word unk
        out.push(this.unk(), first, last, word);
        return word + 1;
      }
      out.push(id, this.wStart[s], this.wEnd[e - 1], word);
      s = e;
    }
    return word + 1;
  }
}

/** A CJK ideograph that normalises to itself, described like a mapped one. */
function cjkSelf(cp: number): Mapped {
  return { text: String.fromCodePoint(cp), cps: [cp], kinds: [K_PLAIN] };
}

function isHigh(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}
function isLow(u: number): boolean {
  return u >= 0xdc00 && u <= 0xdfff;
}

/** Code point at i, or cp = -1 for a lone surrogate (size 1). */
function codePointAtSafe(text: string, i: number): { cp: number; size: number } {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return { cp: ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000, size: 2 };
  }
  if (c >= 0xd800 && c <= 0xdfff) return { cp: -1, size: 1 };
  return { cp: c, size: 1 };
}
