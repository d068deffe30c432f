// core.ts: the contract between PreTrainedTokenizerBase and a tokenizer core.
// A core does only normalisation + pre-tokenisation + WordPiece on ONE piece of
// text that holds no special token (the base splits those off first), and
// returns ids with [start, end) offsets in UTF-16 code units of that piece.
// Two cores exist: WordPieceCore (wordpiece.ts, TypeScript, the reference) and
// the native one behind ConvBertTokenizerFast (fast.ts). Both must agree.

/** What a core returns for one piece of text. */
export interface CoreEncoding {
  /** Token ids, one per token. */
  ids: Int32Array;
  /** Token strings (optional: the base can map ids back through the vocab). */
  tokens?: string[];
  /** 2 per token: [start, end) in UTF-16 code units of the text given to the core. */
  offsets: Uint32Array;
  /** Optional: word index of each token within this piece (0-based), for word_ids. */
  words?: Int32Array;
}

export interface TokenizerCore {
  tokenizeWithOffsets(text: string): CoreEncoding;
}

/**
 * Options of a WordPiece core, named as in HF (BertTokenizer / BertNormalizer / WordPiece).
 * strip_accents follows HF: null means "follow do_lower_case".
 */
export interface WordPieceOptions {
  /** Token of each id, in id order (vocab.txt line order). Duplicates: the last id wins on lookup, like HF. */
  vocab: readonly string[];
  do_lower_case: boolean;
  strip_accents: boolean | null;
  tokenize_chinese_chars: boolean;
  /** Slow-only (Python BertTokenizer): whitespace-delimited words kept whole. The native core ignores it. */
  never_split?: readonly string[];
  unk_token: string;
  /** Words longer than this many code points become one unk_token (HF: 100). */
  max_input_chars_per_word: number;
  /** HF: "##". */
  continuing_subword_prefix: string;
  /**
   * Character classes: 'rust' (default) = HF fast's (JS \p{...} tables corrected where HF's
   * Unicode-8-era Rust tables differ, see unicode_rust.ts); 'js' = plain JS \p{...} tables.
   */
  unicode_tables?: 'rust' | 'js';
}

export const DEFAULT_WORDPIECE_OPTIONS: Omit<WordPieceOptions, 'vocab'> = {
  do_lower_case: true,
  strip_accents: null,
  tokenize_chinese_chars: true,
  unk_token: '[UNK]',
  max_input_chars_per_word: 100,
  continuing_subword_prefix: '##',
};

/** HF's rule: strip accents when strip_accents is true, or when it is null and do_lower_case is true. */
export function effectiveStripAccents(o: Pick<WordPieceOptions, 'do_lower_case' | 'strip_accents'>): boolean {
  return o.strip_accents === null || o.strip_accents === undefined ? o.do_lower_case : o.strip_accents;
}
