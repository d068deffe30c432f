// base.ts: PreTrainedTokenizerBase, everything a BERT-style tokenizer does around
// its core, with HF's (transformers + tokenizers) semantics: options and special
// tokens, fromPretrained/savePretrained (the files: files.ts), added tokens matched
// on the raw text, encode/encodeBatch/the call (truncation, template and padding on
// the encoding record: encoding.ts), decode and the id/token helpers. A subclass
// supplies only createCore() (TypeScript or native WordPiece); the `fast` fields of
// the fixtures' goldens are the reference for every behaviour.
import * as fs from 'fs';

import { ConvBertError } from '../errors';
import { resolveTokenizerPath } from '../hub';
import { checkOptionKeys, normalizeAliases } from '../options';
import { Tensor } from '../tensor';
import { Callable } from './callable';
import { type CoreEncoding, type TokenizerCore, type WordPieceOptions, DEFAULT_WORDPIECE_OPTIONS } from './core';
import { limitError, tokError } from './errors';
import {
  D_ALL,
  MAX_PADDED_LENGTH,
  emptyEnc,
  fill,
  fitsUntruncated,
  needsDetail,
  offsetPairs,
  padAll,
  postProcess,
  templateFromCores,
  toRow,
  type BatchEncodeResult,
  type Enc,
  type EncodeResult,
  type FullEncoding,
  type Plan,
  type TokenizerTensors,
} from './encoding';
import { loadTokenizerOptions, readVocabFile, tokenizerJsonText, writePretrained, writeVocabulary, type AddedTokenEntry } from './files';
import {
  CALL_OPTION_KEYS,
  DECODE_OPTION_KEYS,
  ENCODE_OPTION_KEYS_WITH_PAIR,
  HUB_KEYS,
  TOKENIZER_OPTION_KEYS,
  VERY_LARGE_INTEGER,
  checkModelMaxLength,
  checkNeverSplit,
  type DecodeOptions,
  type EncodeBatchOptions,
  type EncodeOptions,
  type EncodeSingleOptions,
  type PaddingStrategy,
  type Side,
  type TokenizerCallOptions,
  type TokenizerHubOptions,
  type TokenizerOptions,
  type TruncationStrategy,
} from './options';
import { describe } from '../validate';

export { describe };

interface SplitPiece {
  text: string;
  start: number; // UTF-16 start in the whole text
  specialId: number; // -1 for a piece the core tokenizes
}

const ESCAPE_RE = /[.*+?^${}()|[\]\\]/g;

/**
 * A tokenizer is callable, as in transformers.js: `tokenizer(text | texts, options)` encodes
 * a batch and returns int64 Tensors of dims [batch, L] that model.forward takes as they are
 * (`return_tensor: false` gives encodeBatch's arrays). The class's methods stay as they are.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the call signatures (see the class below)
export interface PreTrainedTokenizerBase {
  (text: string | readonly string[], options?: TokenizerCallOptions & { return_tensor?: true }): TokenizerTensors;
  (text: string | readonly string[], options: TokenizerCallOptions & { return_tensor: false }): BatchEncodeResult;
  (text: string | readonly string[], options?: TokenizerCallOptions): TokenizerTensors | BatchEncodeResult;
}

// The interface above adds the call signatures to the class's instances (declaration merging).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class PreTrainedTokenizerBase extends Callable {
  readonly vocab: readonly string[];
  readonly do_lower_case: boolean;
  readonly strip_accents: boolean | null;
  readonly tokenize_chinese_chars: boolean;
  readonly never_split: readonly string[] | null;
  readonly unk_token: string;
  readonly sep_token: string;
  readonly pad_token: string;
  readonly cls_token: string;
  readonly mask_token: string;
  readonly additional_special_tokens: readonly string[];
  readonly model_max_length: number;
  padding_side: Side;
  truncation_side: Side;
  clean_up_tokenization_spaces: boolean;
  readonly max_input_chars_per_word: number;
  readonly continuing_subword_prefix: string;
  readonly wordpiece_decoder_cleanup: boolean;
  readonly unicode_tables: 'rust' | 'js';

  /** token -> id over the vocab (the last id wins for duplicates, as HF). */
  protected readonly vocabMap: Map<string, number>;
  /** Added tokens (special first) -> id; ids beyond the vocab are appended in order. */
  protected readonly addedMap = new Map<string, number>();
  protected readonly addedById = new Map<number, string>();
  protected readonly specialSet = new Set<string>();
  private readonly splitRe: RegExp | null;
  private _core: TokenizerCore | null = null;

  /** Option keys the constructor takes (a subclass with more adds its own). */
  static readonly optionKeys: readonly string[] = TOKENIZER_OPTION_KEYS;

  constructor(options: TokenizerOptions) {
    super();
    const o = options ?? {};
    if (typeof o !== 'object' || Array.isArray(o)) throw tokError(`options: expected an object, got ${describe(o)}`);
    checkOptionKeys(`${new.target.name} options`, o, (new.target as unknown as { optionKeys: readonly string[] }).optionKeys);
    let vocab = o.vocab;
    if (!vocab) {
      if (typeof o.vocab_file !== 'string') throw tokError('options: expected `vocab` (tokens in id order) or `vocab_file` (a vocab.txt path)');
      vocab = readVocabFile(o.vocab_file);
    }
    if (!Array.isArray(vocab) || vocab.length === 0) throw tokError(`vocab: expected a non-empty array of tokens, got ${describe(vocab)}`);
    for (let i = 0; i < vocab.length; i++) {
      if (typeof vocab[i] !== 'string') throw tokError(`vocab[${i}]: expected a string, got ${describe(vocab[i])}`);
    }
    this.vocab = vocab;
    this.vocabMap = new Map();
    for (let i = 0; i < vocab.length; i++) this.vocabMap.set(vocab[i], i);

    this.do_lower_case = checkBool('do_lower_case', o.do_lower_case, DEFAULT_WORDPIECE_OPTIONS.do_lower_case);
    if (o.strip_accents !== undefined && o.strip_accents !== null && typeof o.strip_accents !== 'boolean') {
      throw tokError(`strip_accents: expected null, true or false, got ${describe(o.strip_accents)}`);
    }
    this.strip_accents = o.strip_accents ?? null;
    this.tokenize_chinese_chars = checkBool('tokenize_chinese_chars', o.tokenize_chinese_chars, true);
    const neverSplit = checkNeverSplit('', o.never_split);
    this.never_split = neverSplit && neverSplit.length > 0 ? neverSplit : null;
    this.unk_token = checkStr('unk_token', o.unk_token, '[UNK]');
    this.sep_token = checkStr('sep_token', o.sep_token, '[SEP]');
    this.pad_token = checkStr('pad_token', o.pad_token, '[PAD]');
    this.cls_token = checkStr('cls_token', o.cls_token, '[CLS]');
    this.mask_token = checkStr('mask_token', o.mask_token, '[MASK]');
    this.additional_special_tokens = o.additional_special_tokens ?? [];
    this.model_max_length = o.model_max_length == null ? VERY_LARGE_INTEGER : checkModelMaxLength('', o.model_max_length);
    this.padding_side = checkSide('padding_side', o.padding_side);
    this.truncation_side = checkSide('truncation_side', o.truncation_side);
    this.clean_up_tokenization_spaces = checkBool('clean_up_tokenization_spaces', o.clean_up_tokenization_spaces, true);
    // a word-length threshold (usize in HF); NaN used to drop every word, -1 to make each one [UNK]
    this.max_input_chars_per_word = o.max_input_chars_per_word ?? 100;
    if (!Number.isSafeInteger(this.max_input_chars_per_word) || this.max_input_chars_per_word < 0) {
      throw tokError(`max_input_chars_per_word: expected a non-negative integer, got ${describe(o.max_input_chars_per_word)}`);
    }
    this.continuing_subword_prefix = o.continuing_subword_prefix ?? '##';
    this.wordpiece_decoder_cleanup = o.wordpiece_decoder_cleanup ?? true;
    if (o.unicode_tables !== undefined && o.unicode_tables !== 'rust' && o.unicode_tables !== 'js') {
      throw tokError(`unicode_tables: expected 'rust' or 'js', got ${describe(o.unicode_tables)}`);
    }
    this.unicode_tables = o.unicode_tables ?? 'rust';

    // Added vocabulary: the special tokens, then any other added tokens. A token
    // already in the vocab keeps its id; others get ids after the vocab, in order.
    const specials = [this.pad_token, this.unk_token, this.cls_token, this.sep_token, this.mask_token, ...this.additional_special_tokens];
    const fixed = o.added_token_ids ?? {};
    if (fixed === null || typeof fixed !== 'object' || Array.isArray(fixed)) throw tokError(`added_token_ids: expected an object of {token: id}, got ${describe(fixed)}`);
    if (o.added_tokens != null && !Array.isArray(o.added_tokens)) throw tokError(`added_tokens: expected an array of strings, got ${describe(o.added_tokens)}`);
    // Ids beyond the vocab: at most one per added token, so none can stand for a gap of millions.
    const idLimit = vocab.length + specials.length + (o.added_tokens?.length ?? 0);
    const fixedId = (s: string): number | undefined => {
      if (!Object.prototype.hasOwnProperty.call(fixed, s)) return undefined;
      const id: unknown = fixed[s];
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= idLimit) {
        throw tokError(
          `added_token_ids[${JSON.stringify(s)}]: expected an integer id in [0, ${idLimit}) (the ${vocab.length} vocabulary ids, then at most one per added token), got ${describe(id)}`,
        );
      }
      return id;
    };
    for (const s of specials) this.addToken(s, true, fixedId(s));
    for (const s of o.added_tokens ?? []) this.addToken(s, false, fixedId(s));
    const contents = [...this.addedMap.keys()].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
    this.splitRe = contents.length > 0 ? new RegExp(contents.map((s) => s.replace(ESCAPE_RE, '\\$&')).join('|'), 'g') : null;
  }

  private addToken(content: string, special: boolean, fixedId: number | undefined): void {
    if (typeof content !== 'string') throw tokError(`special tokens: expected strings, got ${describe(content)}`);
    if (special) this.specialSet.add(content);
    if (this.addedMap.has(content)) return;
    let id = this.vocabMap.get(content);
    if (id === undefined && fixedId !== undefined && Number.isInteger(fixedId) && fixedId >= this.vocab.length && !this.addedById.has(fixedId)) {
      id = fixedId;
    }
    if (id === undefined) {
      id = this.vocab.length;
      while (this.addedById.has(id)) id++;
    }
    this.addedMap.set(content, id);
    if (!this.addedById.has(id)) this.addedById.set(id, content);
  }

  /** The core: normalisation + pre-tokenisation + WordPiece on text without special tokens. */
  protected abstract createCore(options: WordPieceOptions): TokenizerCore;

  get core(): TokenizerCore {
    if (!this._core) this._core = this.createCore(this.wordPieceOptions());
    return this._core;
  }

  /** The options handed to the core. */
  wordPieceOptions(): WordPieceOptions {
    const o: WordPieceOptions = {
      vocab: this.vocab,
      do_lower_case: this.do_lower_case,
      strip_accents: this.strip_accents,
      tokenize_chinese_chars: this.tokenize_chinese_chars,
      unk_token: this.unk_token,
      max_input_chars_per_word: this.max_input_chars_per_word,
      continuing_subword_prefix: this.continuing_subword_prefix,
      unicode_tables: this.unicode_tables,
    };
    if (this.never_split) o.never_split = this.never_split;
    return o;
  }

  // ---------------------------------------------------------------- loading

  /**
   * Load from a model directory: vocab.txt, tokenizer_config.json, special_tokens_map.json
   * and tokenizer.json (WordPiece form) when present. As in transformers' BertTokenizerFast,
   * tokenizer_config.json (or its defaults) wins over tokenizer.json's normalizer flags.
   */
  static async fromPretrained<T extends PreTrainedTokenizerBase, O extends TokenizerOptions = TokenizerOptions>(
    this: new (options: O) => T,
    dir: string,
    overrides: Partial<O> & TokenizerHubOptions = {},
  ): Promise<T> {
    if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) throw tokError(`fromPretrained: options: expected an object, got ${describe(overrides)}`);
    // An unknown key (`do_lowercase`) used to be dropped silently; name it and the closest known one.
    checkOptionKeys('fromPretrained', overrides, [...(this as unknown as { optionKeys: readonly string[] }).optionKeys, ...HUB_KEYS]);
    const { revision, cacheDir, token, localFilesOnly, endpoint, progress, ...rest } = normalizeAliases('fromPretrained', overrides);
    // A Hub repo id ("org/name") is downloaded into huggingface_hub's cache first; local paths are used as they are.
    if (typeof dir === 'string' && dir !== '' && !fs.existsSync(dir)) {
      dir = await resolveTokenizerPath(dir, { revision, cacheDir, token, localFilesOnly, endpoint, progress });
    }
    const options = await loadTokenizerOptions(dir);
    return new this({ ...options, ...rest } as O);
  }

  // ---------------------------------------------------------------- saving

  /** Write vocab.txt (one token per line, id order) into dir; returns the paths written. */
  async saveVocabulary(dir: string, filenamePrefix?: string): Promise<string[]> {
    return writeVocabulary(dir, this.vocab, filenamePrefix);
  }

  /**
   * Write tokenizer_config.json, special_tokens_map.json, vocab.txt and tokenizer.json in the layout
   * transformers loads (tokenizer.json is what transformers.js and HF's fast tokenizers read).
   */
  async savePretrained(dir: string): Promise<string[]> {
    return writePretrained(dir, this, this.addedTokenEntries(), this.tokenizerClassName());
  }

  /**
   * This tokenizer in HF tokenizers' tokenizer.json format (what transformers' fast
   * tokenizers and transformers.js load): BertNormalizer, BertPreTokenizer, the
   * [CLS] A [SEP] (B [SEP]) template, WordPiece model and decoder, the added tokens.
   * null when a JSON object cannot hold the vocab (a token listed twice: the
   * format maps each token to one id), in which case vocab.txt alone is written.
   */
  tokenizerJson(): string | null {
    return tokenizerJsonText(this, this.addedTokenEntries());
  }

  /** The added tokens in id order, as both saved files list them. */
  private addedTokenEntries(): AddedTokenEntry[] {
    return [...this.addedMap.entries()].sort((a, b) => a[1] - b[1]).map(([content, id]) => ({ content, id, special: this.specialSet.has(content) }));
  }

  /** The class name written as tokenizer_class (transformers picks the Python class from it). */
  protected tokenizerClassName(): string {
    return 'ConvBertTokenizer';
  }

  // ---------------------------------------------------------------- vocab helpers

  /** Size of the base vocabulary (without added tokens), as HF's vocab_size. */
  get vocabSize(): number {
    return this.vocabMap.size;
  }

  /** Vocabulary plus added tokens, as HF's len(tokenizer). */
  get length(): number {
    let n = this.vocabMap.size;
    for (const [content, id] of this.addedMap) if (this.vocabMap.get(content) !== id) n++;
    return n;
  }

  getVocab(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [t, id] of this.vocabMap) out[t] = id;
    for (const [t, id] of this.addedMap) out[t] = id;
    return out;
  }

  /** id -> token, or null for an id that is neither in the vocab nor added (HF: None). */
  idToToken(id: number): string | null {
    const added = this.addedById.get(id);
    if (added !== undefined) return added;
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.length) return null;
    const tok = this.vocab[id];
    return this.vocabMap.get(tok) === id ? tok : null;
  }

  /** token -> id, or null when unknown. */
  tokenToId(token: string): number | null {
    const a = this.addedMap.get(token);
    if (a !== undefined) return a;
    const v = this.vocabMap.get(token);
    return v === undefined ? null : v;
  }

  convertTokensToIds(tokens: string): number;
  convertTokensToIds(tokens: readonly string[]): number[];
  convertTokensToIds(tokens: string | readonly string[]): number | number[] {
    const one = (t: unknown): number => {
      if (typeof t !== 'string') throw tokError(`tokens: expected strings, got ${describe(t)}`);
      return this.tokenToId(t) ?? this.unk_token_id;
    };
    if (typeof tokens === 'string') return one(tokens);
    if (!Array.isArray(tokens)) throw tokError(`tokens: expected a string or an array of strings, got ${describe(tokens)}`);
    return tokens.map(one);
  }

  convertIdsToTokens(ids: number, skipSpecialTokens?: boolean): string | null;
  convertIdsToTokens(ids: readonly number[], skipSpecialTokens?: boolean): (string | null)[];
  convertIdsToTokens(ids: number | readonly number[], skipSpecialTokens = false): string | null | (string | null)[] {
    if (typeof ids === 'number') return this.idToToken(ids);
    const arr = toIdArray('ids', ids);
    const out: (string | null)[] = [];
    for (const id of arr) {
      if (skipSpecialTokens && this.allSpecialIdSet().has(id)) continue;
      out.push(this.idToToken(id));
    }
    return out;
  }

  get unk_token_id(): number {
    return this.requireId(this.unk_token, 'unk_token');
  }
  get sep_token_id(): number {
    return this.requireId(this.sep_token, 'sep_token');
  }
  get pad_token_id(): number {
    return this.requireId(this.pad_token, 'pad_token');
  }
  get cls_token_id(): number {
    return this.requireId(this.cls_token, 'cls_token');
  }
  get mask_token_id(): number {
    return this.requireId(this.mask_token, 'mask_token');
  }

  private requireId(token: string, name: string): number {
    const id = this.tokenToId(token);
    if (id === null) throw tokError(`${name}: ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  /** All special tokens (HF all_special_tokens order: bos/eos absent, then unk sep pad cls mask, then additional). */
  get all_special_tokens(): string[] {
    const out: string[] = [];
    for (const t of [this.unk_token, this.sep_token, this.pad_token, this.cls_token, this.mask_token, ...this.additional_special_tokens]) {
      if (!out.includes(t)) out.push(t);
    }
    return out;
  }

  get all_special_ids(): number[] {
    return this.all_special_tokens.map((t) => this.tokenToId(t) ?? this.unk_token_id);
  }

  get special_tokens_map(): Record<string, string | string[]> {
    const m: Record<string, string | string[]> = {
      unk_token: this.unk_token,
      sep_token: this.sep_token,
      pad_token: this.pad_token,
      cls_token: this.cls_token,
      mask_token: this.mask_token,
    };
    if (this.additional_special_tokens.length > 0) m.additional_special_tokens = [...this.additional_special_tokens];
    return m;
  }

  private _specialIds: Set<number> | null = null;
  private allSpecialIdSet(): Set<number> {
    if (!this._specialIds) this._specialIds = new Set(this.all_special_ids);
    return this._specialIds;
  }

  /** [CLS] ids0 [SEP] (ids1 [SEP]). */
  buildInputsWithSpecialTokens(ids0: readonly number[], ids1?: readonly number[] | null): number[] {
    const a = toIdArray('ids0', ids0);
    const out = [this.cls_token_id, ...a, this.sep_token_id];
    if (ids1 != null) {
      for (const id of toIdArray('ids1', ids1)) out.push(id);
      out.push(this.sep_token_id);
    }
    return out;
  }

  /** 0 for [CLS] ids0 [SEP], 1 for ids1 [SEP]. */
  createTokenTypeIdsFromSequences(ids0: readonly number[], ids1?: readonly number[] | null): number[] {
    const a = toIdArray('ids0', ids0);
    const out = fill(a.length + 2, 0);
    if (ids1 != null) for (let i = 0, n = toIdArray('ids1', ids1).length + 1; i < n; i++) out.push(1);
    return out;
  }

  /**
   * With alreadyHasSpecialTokens: 1 for every id in all_special_ids (HF; ids1 must be absent).
   * Without: the structural mask [1] + 0s + [1] (+ 0s + [1]) of BertTokenizer.
   */
  getSpecialTokensMask(ids0: readonly number[], ids1?: readonly number[] | null, alreadyHasSpecialTokens = false): number[] {
    const a = toIdArray('ids0', ids0);
    if (alreadyHasSpecialTokens) {
      if (ids1 != null) {
        throw tokError('ids1: You should not supply a second sequence if the provided sequence of ids is already formatted with special tokens for the model.');
      }
      const set = this.allSpecialIdSet();
      return a.map((id) => (set.has(id) ? 1 : 0));
    }
    const out = [1, ...fill(a.length, 0), 1];
    if (ids1 != null) {
      for (let i = 0, n = toIdArray('ids1', ids1).length; i < n; i++) out.push(0);
      out.push(1);
    }
    return out;
  }

  /** Number of special tokens the template adds (2 single, 3 pair). */
  numSpecialTokensToAdd(pair = false): number {
    return pair ? 3 : 2;
  }

  // ---------------------------------------------------------------- tokenize

  /** Split on added tokens (exact, case-sensitive, leftmost-longest, on the raw text). */
  protected splitOnAddedTokens(text: string): SplitPiece[] {
    const re = this.splitRe;
    if (!re) return [{ text, start: 0, specialId: -1 }];
    const out: SplitPiece[] = [];
    re.lastIndex = 0;
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.push({ text: text.slice(last, m.index), start: last, specialId: -1 });
      out.push({ text: m[0], start: m.index, specialId: this.addedMap.get(m[0])! });
      last = m.index + m[0].length;
    }
    if (last < text.length || out.length === 0) out.push({ text: text.slice(last), start: last, specialId: -1 });
    return out;
  }

  /** Run the core over many pieces. Subclasses may batch this (the native core does). */
  protected tokenizePieces(pieces: readonly string[]): CoreEncoding[] {
    const core = this.core;
    return pieces.map((p) => core.tokenizeWithOffsets(p));
  }

  /** Async form of tokenizePieces; the default runs it on this thread. Subclasses override with a pool. */
  protected async tokenizePiecesAsync(pieces: readonly string[]): Promise<CoreEncoding[]> {
    return this.tokenizePieces(pieces);
  }

  /** Tokens of one text without special tokens (in-text special tokens stay), as HF tokenize(). */
  tokenize(text: string, options: { text_pair?: string | null } = {}): string[] {
    checkText('text', text);
    checkOptionsObject('tokenize', options, ['text_pair']);
    const seqs: string[] = [text];
    if (options.text_pair != null) seqs.push(checkText('text_pair', options.text_pair));
    const out: string[] = [];
    for (const s of seqs) {
      const enc = this.sequenceFromPieces(0, this.splitOnAddedTokens(s), null);
      for (let i = 0; i < enc.ids.length; i++) out.push((enc.tokens && enc.tokens[i]) ?? this.idToToken(enc.ids[i]) ?? this.unk_token);
    }
    return out;
  }

  /** Build one sequence's Enc from its split pieces and their core outputs (null: run the core now). */
  private sequenceFromPieces(seqId: number, pieces: SplitPiece[], cores: CoreEncoding[] | null): Enc {
    if (pieces.length === 1 && pieces[0].specialId < 0) {
      // the common case: no special token in the text, one core call
      const c = pieces[0].text.length === 0 ? null : cores ? cores[0] : this.core.tokenizeWithOffsets(pieces[0].text);
      const n = c ? c.ids.length : 0;
      const e: Enc = {
        ids: new Array<number>(n),
        types: fill(n, 0),
        offs: new Array<number>(2 * n),
        words: new Array<number>(n),
        seqs: fill(n, seqId),
        special: fill(n, 0),
        attn: fill(n, 1),
        tokens: c && c.tokens ? c.tokens.slice() : null,
      };
      for (let i = 0; i < n; i++) {
        e.ids[i] = c!.ids[i];
        e.offs[2 * i] = c!.offsets[2 * i];
        e.offs[2 * i + 1] = c!.offsets[2 * i + 1];
        e.words[i] = c!.words ? c!.words[i] : i;
      }
      return e;
    }
    const e = emptyEnc();
    let word = 0;
    let ci = 0;
    for (const p of pieces) {
      if (p.specialId >= 0) {
        e.ids.push(p.specialId);
        e.offs.push(p.start, p.start + p.text.length);
        e.words.push(word++);
        if (e.tokens) e.tokens.push(p.text);
        continue;
      }
      if (p.text.length === 0) continue;
      const c = cores ? cores[ci++] : this.core.tokenizeWithOffsets(p.text);
      const n = c.ids.length;
      if (c.tokens && !e.tokens) e.tokens = fill<string | null>(e.ids.length, null);
      let maxWord = -1;
      for (let i = 0; i < n; i++) {
        e.ids.push(c.ids[i]);
        e.offs.push(c.offsets[2 * i] + p.start, c.offsets[2 * i + 1] + p.start);
        const w = c.words ? c.words[i] : i;
        e.words.push(w + word);
        if (w > maxWord) maxWord = w;
        if (e.tokens) e.tokens.push(c.tokens ? c.tokens[i] : null);
      }
      word += maxWord + 1;
    }
    const n = e.ids.length;
    e.types = fill(n, 0);
    e.seqs = fill(n, seqId);
    e.special = fill(n, 0);
    e.attn = fill(n, 1);
    return e;
  }

  // ---------------------------------------------------------------- call

  /**
   * `tokenizer(text | texts, options)`: one text is a batch of one. The rows are
   * encodeBatch's; with return_tensor (the default) each numeric field becomes an int64
   * Tensor [batch, L] (offsets [batch, L, 2]), which needs rows of one length: padding.
   */
  protected _call(text: unknown, options?: unknown): TokenizerTensors | BatchEncodeResult {
    const o = options ?? {};
    if (typeof o !== 'object' || Array.isArray(o)) throw tokError(`tokenizer(): options: expected an object, got ${describe(o)}`);
    checkOptionKeys('tokenizer()', o, CALL_OPTION_KEYS);
    const { text_pair, return_tensor, ...rest } = o as TokenizerCallOptions;
    if (return_tensor !== undefined && typeof return_tensor !== 'boolean') throw tokError(`return_tensor: expected a boolean, got ${describe(return_tensor)}`);
    let texts: readonly string[];
    let pairs: readonly (string | null | undefined)[] | null = null;
    if (typeof text === 'string') {
      texts = [text];
      if (text_pair !== undefined && text_pair !== null) {
        if (typeof text_pair !== 'string') throw tokError(`text_pair: expected a string like text, got ${describe(text_pair)}`);
        pairs = [text_pair];
      }
    } else if (Array.isArray(text)) {
      if (text.length === 0) throw tokError('text: expected a string or a non-empty array of strings, got an empty array');
      texts = text as string[];
      if (text_pair !== undefined && text_pair !== null) {
        if (!Array.isArray(text_pair)) throw tokError(`text_pair: expected an array of ${texts.length} strings like text, got ${describe(text_pair)}`);
        pairs = text_pair;
      }
    } else {
      throw tokError(`text: expected a string or an array of strings, got ${describe(text)}`);
    }
    if (return_tensor !== false && rest.return_word_ids) {
      throw tokError('return_word_ids: word_ids and sequence_ids hold nulls and cannot be Tensors; pass return_tensor: false');
    }
    const batch = this.encodeBatch(texts, { ...rest, text_pair: pairs });
    if (return_tensor === false) return batch;
    const rows = batch.input_ids.length;
    const L = rows > 0 ? batch.input_ids[0].length : 0;
    for (let i = 1; i < rows; i++) {
      const n = batch.input_ids[i].length;
      if (n !== L) {
        throw new ConvBertError(
          `tokenizer(): rows 0 and ${i} have ${L} and ${n} tokens; Tensors need one length: pass padding: true (or 'max_length'), or return_tensor: false for plain arrays`,
          'ERR_CONVBERT_SHAPE',
        );
      }
    }
    const out: TokenizerTensors = { input_ids: intTensor(batch.input_ids, [rows, L]) };
    if (batch.token_type_ids) out.token_type_ids = intTensor(batch.token_type_ids, [rows, L]);
    if (batch.attention_mask) out.attention_mask = intTensor(batch.attention_mask, [rows, L]);
    if (batch.special_tokens_mask) out.special_tokens_mask = intTensor(batch.special_tokens_mask, [rows, L]);
    if (batch.offset_mapping)
      out.offset_mapping = intTensor(
        batch.offset_mapping.map((r) => r.flat()),
        [rows, L, 2],
      );
    if (batch.overflow_to_sample_mapping) out.overflow_to_sample_mapping = intTensor([batch.overflow_to_sample_mapping], [rows]);
    return out;
  }

  // ---------------------------------------------------------------- encode

  /** Encode one text (and optional pair). */
  encode(text: string, options: EncodeSingleOptions = {}): EncodeResult {
    const full = this.encodeToFull(text, options, needsDetail(options), options.return_overflowing_tokens === true);
    const row = toRow(full.main, full.texts, options) as EncodeResult;
    if (options.return_overflowing_tokens) row.overflowing = full.overflowing.map((o) => toRow(o, full.texts, options));
    return row;
  }

  /** Encode with every field tokenizers' Encoding has (tokens, word/sequence ids, overflow). */
  encodeFull(text: string, options: EncodeSingleOptions = {}): FullEncoding {
    const full = this.encodeToFull(text, options, D_ALL, true);
    const conv = (e: Enc, ov: Enc[]): FullEncoding => ({
      tokens: e.ids.map((id, i) => (e.tokens && e.tokens[i]) ?? this.idToToken(id) ?? this.unk_token),
      input_ids: e.ids,
      token_type_ids: e.types,
      attention_mask: e.attn,
      special_tokens_mask: e.special,
      offsets: offsetPairs(e, full.texts, options.offset_unit ?? 'utf16'),
      word_ids: e.words.map((w) => (w < 0 ? null : w)),
      sequence_ids: e.seqs.map((s) => (s < 0 ? null : s)),
      overflowing: ov.map((o) => conv(o, [])),
    });
    return conv(full.main, full.overflowing);
  }

  /**
   * detail: which of offsets, words/sequence ids and the special mask to fill on the common path (D_* bits).
   * keepOverflow: build the overflow windows (encodeFull, or return_overflowing_tokens).
   */
  private encodeToFull(text: string, options: EncodeSingleOptions, detail: number, keepOverflow: boolean): { main: Enc; overflowing: Enc[]; texts: [string, string | null] } {
    checkOptions(options);
    checkText('text', text);
    const pair = options.text_pair;
    if (pair !== undefined && pair !== null) checkText('text_pair', pair);
    const plan = this.plan(options, keepOverflow);
    const pa = this.splitOnAddedTokens(text);
    const pb = pair != null ? this.splitOnAddedTokens(pair) : null;
    const ca = plainCore(pa, null, 0, this.core);
    const cb = pb ? plainCore(pb, null, 0, this.core) : null;
    if (ca !== undefined && cb !== undefined && fitsUntruncated(this, ca, cb, pb !== null, plan)) {
      const main = templateFromCores(this, ca, cb, pb !== null, plan.addSpecial, detail);
      if (plan.padding !== 'do_not_pad') padAll(this, [{ main, overflowing: [] }], plan);
      return { main, overflowing: [], texts: [text, pair ?? null] };
    }
    const a = this.sequenceFromPieces(0, pa, ca === undefined ? null : ca ? [ca] : []);
    const b = pb ? this.sequenceFromPieces(1, pb, cb === undefined ? null : cb ? [cb] : []) : null;
    const { main, overflowing } = postProcess(this, a, b, plan);
    if (plan.padding !== 'do_not_pad') padAll(this, [{ main, overflowing }], plan);
    return { main, overflowing, texts: [text, pair ?? null] };
  }

  /** Encode a batch of texts (and pairs). Rows are padded together. */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): BatchEncodeResult {
    const prep = this.prepareBatch(texts, options);
    const cores = this.tokenizePieces(prep.pieceTexts);
    return this.finishBatch(prep, cores, options);
  }

  /** encodeBatch whose core work runs off the event loop when the subclass provides a pool. */
  async encodeBatchAsync(texts: readonly string[], options: EncodeBatchOptions = {}): Promise<BatchEncodeResult> {
    const prep = this.prepareBatch(texts, options);
    const cores = await this.tokenizePiecesAsync(prep.pieceTexts);
    return this.finishBatch(prep, cores, options);
  }

  private prepareBatch(texts: readonly string[], options: EncodeBatchOptions) {
    checkOptions(options);
    if (!Array.isArray(texts)) throw tokError(`texts: expected an array of strings, got ${describe(texts)}`);
    const pairs = options.text_pair ?? null;
    if (pairs !== null && (!Array.isArray(pairs) || pairs.length !== texts.length)) {
      throw tokError(`text_pair: expected an array of ${texts.length} strings (one per text) or null, got ${describe(pairs)}`);
    }
    const seqs: { text: string; pieces: SplitPiece[]; first: number }[][] = [];
    const pieceTexts: string[] = [];
    const add = (t: string) => {
      const pieces = this.splitOnAddedTokens(t);
      const first = pieceTexts.length;
      for (const p of pieces) if (p.specialId < 0 && p.text.length > 0) pieceTexts.push(p.text);
      return { text: t, pieces, first };
    };
    for (let i = 0; i < texts.length; i++) {
      checkText(`texts[${i}]`, texts[i]);
      const row = [add(texts[i])];
      const p = pairs ? pairs[i] : null;
      if (p !== null && p !== undefined) row.push(add(checkText(`text_pair[${i}]`, p)));
      seqs.push(row);
    }
    const plan = this.plan(options, options.return_overflowing_tokens === true);
    return { seqs, pieceTexts, plan };
  }

  private finishBatch(prep: ReturnType<PreTrainedTokenizerBase['prepareBatch']>, cores: CoreEncoding[], options: EncodeBatchOptions): BatchEncodeResult {
    const rows: { main: Enc; overflowing: Enc[]; texts: [string, string | null] }[] = [];
    const plan = prep.plan;
    const none: Enc[] = [];
    const detail = needsDetail(options);
    for (const row of prep.seqs) {
      const sa = row[0];
      const sb = row.length > 1 ? row[1] : null;
      const texts: [string, string | null] = [sa.text, sb ? sb.text : null];
      const ca = plainCore(sa.pieces, cores, sa.first, null);
      const cb = sb ? plainCore(sb.pieces, cores, sb.first, null) : null;
      if (ca !== undefined && cb !== undefined && fitsUntruncated(this, ca, cb, sb !== null, plan)) {
        rows.push({ main: templateFromCores(this, ca, cb, sb !== null, plan.addSpecial, detail), overflowing: none, texts });
        continue;
      }
      const encs = row.map((s, k) => {
        let n = 0;
        for (const p of s.pieces) if (p.specialId < 0 && p.text.length > 0) n++;
        return this.sequenceFromPieces(k, s.pieces, cores.slice(s.first, s.first + n));
      });
      const { main, overflowing } = postProcess(this, encs[0], encs[1] ?? null, plan);
      rows.push({ main, overflowing, texts });
    }
    if (prep.plan.padding !== 'do_not_pad') padAll(this, rows, prep.plan);
    // every requested column exists, even for an empty batch
    const out: BatchEncodeResult = { input_ids: [] };
    if (options.return_token_type_ids ?? true) out.token_type_ids = [];
    if (options.return_attention_mask ?? true) out.attention_mask = [];
    if (options.return_offsets_mapping) out.offset_mapping = [];
    if (options.return_special_tokens_mask) out.special_tokens_mask = [];
    if (options.return_word_ids) {
      out.word_ids = [];
      out.sequence_ids = [];
    }
    const push = (e: Enc, texts: [string, string | null]) => {
      const r = toRow(e, texts, options);
      out.input_ids.push(r.input_ids);
      if (r.token_type_ids) out.token_type_ids!.push(r.token_type_ids);
      if (r.attention_mask) out.attention_mask!.push(r.attention_mask);
      if (r.offset_mapping) out.offset_mapping!.push(r.offset_mapping);
      if (r.special_tokens_mask) out.special_tokens_mask!.push(r.special_tokens_mask);
      if (r.word_ids) out.word_ids!.push(r.word_ids);
      if (r.sequence_ids) out.sequence_ids!.push(r.sequence_ids);
    };
    if (options.return_overflowing_tokens) out.overflow_to_sample_mapping = [];
    rows.forEach((r, i) => {
      push(r.main, r.texts);
      out.overflow_to_sample_mapping?.push(i);
      if (options.return_overflowing_tokens) {
        for (const o of r.overflowing) {
          push(o, r.texts);
          out.overflow_to_sample_mapping!.push(i);
        }
      }
    });
    return out;
  }

  /** Resolve truncation/padding options the way transformers does. */
  private plan(o: EncodeOptions, keepOverflow: boolean): Plan {
    const addSpecial = o.add_special_tokens ?? true;
    let padding: PaddingStrategy;
    if (o.padding === undefined || o.padding === false) padding = 'do_not_pad';
    else if (o.padding === true) padding = 'longest';
    else if (o.padding === 'longest' || o.padding === 'max_length' || o.padding === 'do_not_pad') padding = o.padding;
    else throw tokError(`padding: expected true, false, 'longest', 'max_length' or 'do_not_pad', got ${describe(o.padding)}`);
    let truncation: TruncationStrategy;
    if (o.truncation === undefined) {
      truncation = o.max_length != null && padding === 'do_not_pad' ? 'longest_first' : 'do_not_truncate';
    } else if (o.truncation === true) truncation = 'longest_first';
    else if (o.truncation === false) truncation = 'do_not_truncate';
    else if (['longest_first', 'only_first', 'only_second', 'do_not_truncate'].includes(o.truncation)) truncation = o.truncation;
    else throw tokError(`truncation: expected true, false, 'longest_first', 'only_first', 'only_second' or 'do_not_truncate', got ${describe(o.truncation)}`);
    let maxLength: number | null = o.max_length ?? null;
    if (maxLength !== null && (!Number.isInteger(maxLength) || maxLength < 0)) {
      throw tokError(`max_length: expected a non-negative integer or null, got ${describe(maxLength)}`);
    }
    if (maxLength === null && (truncation !== 'do_not_truncate' || padding === 'max_length')) {
      if (this.model_max_length < VERY_LARGE_INTEGER) maxLength = this.model_max_length;
      else {
        if (padding === 'max_length') padding = 'do_not_pad'; // HF warns and does not pad
        truncation = 'do_not_truncate'; // HF warns and does not truncate
      }
    }
    const stride = o.stride ?? 0;
    if (!Number.isInteger(stride) || stride < 0) throw tokError(`stride: expected a non-negative integer, got ${describe(o.stride)}`);
    const padMultiple = o.pad_to_multiple_of ?? null;
    if (padMultiple !== null && (!Number.isInteger(padMultiple) || padMultiple <= 0)) {
      throw tokError(`pad_to_multiple_of: expected a positive integer or null, got ${describe(padMultiple)}`);
    }
    if (truncation !== 'do_not_truncate' && padding !== 'do_not_pad' && padMultiple !== null && maxLength !== null && maxLength % padMultiple !== 0) {
      throw tokError(
        `pad_to_multiple_of: Truncation and padding are both activated but truncation length (${maxLength}) is not a multiple of pad_to_multiple_of (${padMultiple}).`,
      );
    }
    if (padding !== 'do_not_pad' && this.tokenToId(this.pad_token) === null) {
      throw tokError('padding: Asking to pad but the tokenizer does not have a padding token in its vocabulary.');
    }
    // Lengths that size the padded rows, refused before any text is tokenized.
    if (padding === 'max_length' && maxLength !== null && maxLength > MAX_PADDED_LENGTH) {
      const from =
        o.max_length == null
          ? `model_max_length: padding='max_length' without max_length pads every row to the tokenizer's model_max_length`
          : `max_length: padding='max_length' pads every row to max_length`;
      throw limitError(`${from}, expected at most ${MAX_PADDED_LENGTH} tokens (MAX_PADDED_LENGTH), got ${maxLength}`);
    }
    if (padding !== 'do_not_pad' && padMultiple !== null && padMultiple > MAX_PADDED_LENGTH) {
      throw limitError(`pad_to_multiple_of: rows are padded to a multiple of it, expected at most ${MAX_PADDED_LENGTH} tokens (MAX_PADDED_LENGTH), got ${padMultiple}`);
    }
    if (truncation !== 'do_not_truncate' && maxLength !== null && addSpecial) {
      // tokenizers checks at configuration time against the single-sequence template
      const effective = maxLength - this.numSpecialTokensToAdd(false);
      if (effective < 0) {
        throw tokError(`max_length: ${maxLength} is smaller than the ${this.numSpecialTokensToAdd(false)} special tokens the template adds`);
      }
      if (effective < stride) {
        throw tokError(
          `stride: tokenizer stride set to ${stride}, which is greater than or equal to its effective max length of ${effective} (= ${maxLength} original max length - ${this.numSpecialTokensToAdd(false)} added special tokens)`,
        );
      }
    }
    return {
      addSpecial,
      truncation,
      maxLength,
      stride,
      truncSide: checkSide('truncation_side', o.truncation_side ?? this.truncation_side),
      padding,
      padMultiple,
      padSide: checkSide('padding_side', o.padding_side ?? this.padding_side),
      keepOverflow,
      overflowTokens: 0,
    };
  }

  // ---------------------------------------------------------------- decode

  /**
   * HF fast decode: ids outside the vocab are dropped, specials skipped on request, the
   * WordPiece decoder joins "##" pieces (cleaning each token), then transformers'
   * clean_up_tokenization when clean_up_tokenization_spaces.
   */
  decode(ids: readonly number[] | Int32Array | number, options: DecodeOptions = {}): string {
    // `{ skip_special: true }` used to be ignored and the special tokens came back.
    checkOptionsObject('decode', options, DECODE_OPTION_KEYS);
    const arr = typeof ids === 'number' ? [ids] : toIdArray('ids', ids);
    const skip = options.skip_special_tokens ?? false;
    const cleanUp = options.clean_up_tokenization_spaces ?? this.clean_up_tokenization_spaces;
    const prefix = this.continuing_subword_prefix;
    let out = '';
    let i = 0;
    for (const id of arr) {
      const tok = this.idToToken(id);
      if (tok === null) continue;
      if (skip && this.specialSet.has(tok)) continue;
      let t = tok;
      if (i !== 0) t = prefix.length > 0 && t.startsWith(prefix) ? t.slice(prefix.length) : ' ' + t;
      if (this.wordpiece_decoder_cleanup) t = wordPieceCleanup(t);
      out += t;
      i++;
    }
    return cleanUp ? cleanUpTokenization(out) : out;
  }

  batchDecode(batch: readonly (readonly number[] | Int32Array)[], options: DecodeOptions = {}): string[] {
    if (!Array.isArray(batch)) throw tokError(`sequences: expected an array of id arrays, got ${describe(batch)}`);
    return batch.map((ids) => this.decode(ids, options));
  }
}

// ------------------------------------------------------------------ helpers

/**
 * The core output of a sequence that is one piece without added tokens: the
 * CoreEncoding (run now on `core` when `cores` is null, else cores[first]), null for
 * an empty text; undefined when the sequence has added tokens or the core returned
 * token strings (never_split), which take the general path.
 */
function plainCore(pieces: SplitPiece[], cores: CoreEncoding[] | null, first: number, core: TokenizerCore | null): CoreEncoding | null | undefined {
  if (pieces.length !== 1 || pieces[0].specialId >= 0) return undefined;
  if (pieces[0].text.length === 0) return null;
  const c = cores ? cores[first] : core!.tokenizeWithOffsets(pieces[0].text);
  return c.tokens ? undefined : c;
}

/**
 * tokenizers' WordPiece decoder cleanup, applied to each token: transformers'
 * clean_up_tokenization plus " do not" -> " don't". tokenizers applies that rule before
 * " 's", " 've" and " 're"; applying it last gives the same text: " do not" shares no
 * character with a match of those three, and neither side's replacement creates the other's.
 */
function wordPieceCleanup(s: string): string {
  if (s.indexOf(' ') < 0) return s;
  return cleanUpTokenization(s).replaceAll(' do not', " don't");
}

/** transformers' clean_up_tokenization. */
export function cleanUpTokenization(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

function checkText(name: string, v: unknown): string {
  if (typeof v !== 'string') {
    throw tokError(`${name}: text input must be of type \`str\` (single example) or an array of strings (batch), got ${describe(v)}`);
  }
  return v;
}

function checkBool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw tokError(`${name}: expected a boolean, got ${describe(v)}`);
  return v;
}

function checkStr(name: string, v: unknown, dflt: string): string {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || v.length === 0) throw tokError(`${name}: expected a non-empty string, got ${describe(v)}`);
  return v;
}

function checkSide(name: string, v: unknown): Side {
  if (v === undefined || v === null) return 'right';
  if (v !== 'right' && v !== 'left') throw tokError(`${name}: expected 'right' or 'left', got ${describe(v)}`);
  return v;
}

function checkOptions(o: unknown): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw tokError(`options: expected an object, got ${describe(o)}`);
  // A misspelt option (`paddding: true`) used to be ignored and the rows came back unpadded.
  checkOptionKeys('options', o, ENCODE_OPTION_KEYS_WITH_PAIR);
}

/** An options object of known keys (ERR_CONVBERT_ARG naming an unknown one and the closest known one). */
function checkOptionsObject(where: string, o: unknown, known: readonly string[]): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw tokError(`${where}: options: expected an object, got ${describe(o)}`);
  checkOptionKeys(`${where}: options`, o, known);
}

/** Rows of equal length as one int64 Tensor of `dims` (row-major). */
function intTensor(rows: readonly (readonly number[])[], dims: number[]): Tensor<'int64'> {
  let n = 0;
  for (const r of rows) n += r.length;
  const data = new BigInt64Array(n);
  let k = 0;
  for (const r of rows) for (const v of r) data[k++] = BigInt(v);
  return new Tensor('int64', data, dims);
}

function toIdArray(name: string, ids: unknown): number[] {
  if (ids instanceof Int32Array || ids instanceof Uint32Array) return Array.from(ids);
  if (ids instanceof BigInt64Array) return Array.from(ids, (x) => Number(x));
  if (!Array.isArray(ids)) throw tokError(`${name}: expected an array of integer ids, got ${describe(ids)}`);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (typeof v === 'bigint') continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw tokError(`${name}[${i}]: expected an integer id, got ${describe(v)}`);
  }
  return ids.map((x) => Number(x));
}
