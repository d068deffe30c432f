// fast.ts: ConvBertTokenizerFast, the tokenizer whose core is native C++
// (native/src/tokenizer, exposed by native/binding/tokenizer_wrap.cc). The
// core has the semantics of HF's Rust BERT pipeline, with character tables
// generated to match the Rust ones (scripts/gen_tokenizer_tables.js); the
// TypeScript WordPieceCore (wordpiece.ts) is its reference. Batches run on
// native threads; encodeBatchAsync does so off the event loop (AsyncWorker).
import * as os from 'os';

import { ConvBertError } from '../errors';
import { native } from '../native';
import { PreTrainedTokenizerBase } from './base';
import { type CoreEncoding, type TokenizerCore, type WordPieceOptions, DEFAULT_WORDPIECE_OPTIONS, effectiveStripAccents } from './core';
import { TOKENIZER_OPTION_KEYS, type TokenizerOptions } from './options';

/** What the addon's WordPieceCore returns: tokens laid end to end, rowSplits for a batch. */
interface NativePacked {
  ids: Int32Array;
  offsets: Uint32Array;
  words: Int32Array;
  rowSplits?: Uint32Array;
}

interface NativeCoreOptions {
  lowercase: boolean;
  stripAccents: boolean;
  handleChineseChars: boolean;
  cleanText: boolean;
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  addedTokens?: string[];
  addedIds?: number[];
}

interface NativeCoreHandle {
  encode(text: string): NativePacked;
  encodeBatch(texts: string[], threads: number): NativePacked;
  encodeBatchAsync(texts: string[], threads: number): Promise<NativePacked>;
  readonly vocabSize: number;
  readonly unkId: number;
}

type NativeCoreCtor = new (vocab: readonly string[], options: NativeCoreOptions) => NativeCoreHandle;

function nativeCtor(): NativeCoreCtor {
  const ctor = native().WordPieceCore as NativeCoreCtor | undefined;
  if (typeof ctor !== 'function') {
    throw new ConvBertError('the loaded convbert addon has no WordPieceCore: rebuild it (npm rebuild convbert)', 'ERR_CONVBERT_NATIVE_LOAD');
  }
  return ctor;
}

/** Threads a batch uses by default: every core this process may use. */
export function defaultTokenizerThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function checkThreads(threads: number | undefined): number {
  if (threads === undefined) return defaultTokenizerThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new ConvBertError(`threads: expected an integer in [1, 256], got ${String(threads)}`, 'ERR_CONVBERT_ARG');
  }
  return threads;
}

function checkTexts(texts: unknown, name = 'texts'): string[] {
  if (!Array.isArray(texts)) throw new ConvBertError(`${name}: expected an array of strings, got ${typeof texts}`, 'ERR_CONVBERT_ARG');
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') {
      throw new ConvBertError(`${name}[${i}]: expected a string, got ${texts[i] === null ? 'null' : typeof texts[i]}`, 'ERR_CONVBERT_ARG');
    }
  }
  return texts as string[];
}

function unpackRows(p: NativePacked, n: number): CoreEncoding[] {
  const splits = p.rowSplits as Uint32Array;
  const rows: CoreEncoding[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const b = splits[i];
    const e = splits[i + 1];
    rows[i] = { ids: p.ids.subarray(b, e), offsets: p.offsets.subarray(2 * b, 2 * e), words: p.words.subarray(b, e) };
  }
  return rows;
}

export interface NativeCoreBatchOptions {
  /** Native threads for this batch (default: os.availableParallelism()). */
  threads?: number;
}

/**
 * The native WordPiece core. Same contract as WordPieceCore (core.ts): one piece
 * of text without special tokens in, ids + UTF-16 offsets + word indices out.
 * `never_split` is slow-only and ignored here, as HF's fast tokenizer ignores it.
 */
export class NativeWordPieceCore implements TokenizerCore {
  readonly options: WordPieceOptions;
  private readonly handle: NativeCoreHandle;

  constructor(options: Partial<WordPieceOptions> & { vocab: readonly string[] }) {
    this.options = { ...DEFAULT_WORDPIECE_OPTIONS, ...options };
    const o = this.options;
    if (!Array.isArray(o.vocab)) throw new ConvBertError('vocab: expected an array of token strings', 'ERR_CONVBERT_TOKENIZER');
    if (!Number.isInteger(o.max_input_chars_per_word) || o.max_input_chars_per_word < 0) {
      throw new ConvBertError(`max_input_chars_per_word: expected an integer >= 0, got ${String(o.max_input_chars_per_word)}`, 'ERR_CONVBERT_ARG');
    }
    this.handle = new (nativeCtor())(o.vocab, {
      lowercase: !!o.do_lower_case,
      stripAccents: effectiveStripAccents(o),
      handleChineseChars: !!o.tokenize_chinese_chars,
      cleanText: true,
      unkToken: String(o.unk_token),
      continuingSubwordPrefix: String(o.continuing_subword_prefix),
      maxInputCharsPerWord: o.max_input_chars_per_word,
    });
  }

  get vocabSize(): number {
    return this.handle.vocabSize;
  }

  tokenizeWithOffsets(text: string): CoreEncoding {
    if (typeof text !== 'string') {
      throw new ConvBertError(`text: expected a string, got ${text === null ? 'null' : typeof text}`, 'ERR_CONVBERT_ARG');
    }
    return this.handle.encode(text);
  }

  /** Many pieces at once on native threads (blocks the caller until done). */
  tokenizeBatchWithOffsets(texts: readonly string[], opts: NativeCoreBatchOptions = {}): CoreEncoding[] {
    const t = checkTexts(texts);
    return unpackRows(this.handle.encodeBatch(t, checkThreads(opts.threads)), t.length);
  }

  /** The same off the event loop: the work runs in an AsyncWorker that fans out to native threads. */
  async tokenizeBatchWithOffsetsAsync(texts: readonly string[], opts: NativeCoreBatchOptions = {}): Promise<CoreEncoding[]> {
    const t = checkTexts(texts);
    const packed = await this.handle.encodeBatchAsync(t, checkThreads(opts.threads));
    return unpackRows(packed, t.length);
  }
}

/** ConvBertTokenizerFast options: the tokenizer_config.json ones plus the native thread count. */
export interface ConvBertTokenizerFastOptions extends TokenizerOptions {
  /** Native threads for encodeBatch / encodeBatchAsync (default: os.availableParallelism()). */
  num_threads?: number;
}

/**
 * ConvBertTokenizerFast: HF's ConvBertTokenizerFast (BERT WordPiece) with a native core.
 * Loading, special tokens, templates, truncation, padding and decode are the shared
 * PreTrainedTokenizerBase; this class supplies the native core and runs batches on
 * native threads. `never_split` is accepted and ignored, as in HF's fast tokenizer.
 */
export class ConvBertTokenizerFast extends PreTrainedTokenizerBase {
  static override readonly optionKeys: readonly string[] = Object.freeze([...TOKENIZER_OPTION_KEYS, 'num_threads']);
  private threads: number;

  constructor(options: ConvBertTokenizerFastOptions) {
    super(options);
    this.threads = checkThreads(options?.num_threads);
    // Build the native core now, so a bad vocab fails at construction, not at first use.
    void this.core;
  }

  /** Native threads used by encodeBatch / encodeBatchAsync. */
  get numThreads(): number {
    return this.threads;
  }

  set numThreads(n: number) {
    this.threads = checkThreads(n);
  }

  protected override createCore(options: WordPieceOptions): TokenizerCore {
    return new NativeWordPieceCore(options);
  }

  protected override tokenizePieces(pieces: readonly string[]): CoreEncoding[] {
    return (this.core as NativeWordPieceCore).tokenizeBatchWithOffsets(pieces, { threads: this.threads });
  }

  protected override tokenizePiecesAsync(pieces: readonly string[]): Promise<CoreEncoding[]> {
    return (this.core as NativeWordPieceCore).tokenizeBatchWithOffsetsAsync(pieces, { threads: this.threads });
  }
}
