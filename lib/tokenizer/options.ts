// options.ts: what configures a tokenizer and each of its calls, in HF's names:
// TokenizerOptions (tokenizer_config.json), the encode/call/decode options with
// their truncation, padding and offset settings, the Hub options of fromPretrained,
// and the key list of each (an unknown key is refused, naming the closest known one).
// Types and constants only; PreTrainedTokenizerBase (base.ts) checks the values.
import { type HubOptions } from '../hub';
import { HUB_OPTION_ALIASES, type TransformersJsHubOptions } from '../options';
import { describe } from '../validate';
import { tokError } from './errors';

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second' | 'do_not_truncate';
export type PaddingStrategy = 'longest' | 'max_length' | 'do_not_pad';
export type Side = 'right' | 'left';
export type OffsetUnit = 'utf16' | 'code_point';

/** transformers' VERY_LARGE_INTEGER: "no limit" for model_max_length. */
export const VERY_LARGE_INTEGER = 1e30;

/**
 * model_max_length as a length in tokens (Python int): 8.5 used to pad rows to 9 tokens and
 * truncate them to 8. VERY_LARGE_INTEGER and above (Infinity too) mean no limit. `where`
 * prefixes the message (a file name, or '' for the constructor).
 */
export function checkModelMaxLength(where: string, v: unknown): number {
  if (typeof v !== 'number' || !(v > 0) || (v < VERY_LARGE_INTEGER && !Number.isInteger(v))) {
    throw tokError(`${where}model_max_length: expected a positive integer, got ${describe(v)}`);
  }
  return v;
}

/** never_split: null/undefined, or an array of strings. */
export function checkNeverSplit(where: string, v: unknown): string[] | null {
  if (v == null) return null;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw tokError(`${where}never_split: expected an array of strings or null, got ${describe(v)}`);
  return v as string[];
}

export interface EncodeOptions {
  add_special_tokens?: boolean;
  /** true = 'longest_first'; false = 'do_not_truncate'. Unset with max_length set (and no padding) = 'longest_first', as HF. */
  truncation?: boolean | TruncationStrategy;
  /** Counts the special tokens. Unset: model_max_length when truncating or padding to max_length. */
  max_length?: number | null;
  stride?: number;
  truncation_side?: Side;
  /** true = 'longest'. */
  padding?: boolean | PaddingStrategy;
  pad_to_multiple_of?: number | null;
  padding_side?: Side;
  return_token_type_ids?: boolean;
  return_attention_mask?: boolean;
  return_offsets_mapping?: boolean;
  return_special_tokens_mask?: boolean;
  return_overflowing_tokens?: boolean;
  /** Also return word_ids and sequence_ids (tokenizers' Encoding fields; null for special/pad tokens). */
  return_word_ids?: boolean;
  /** Units of offset_mapping: UTF-16 code units (JS String indices, default) or code points (Python str indices). */
  offset_unit?: OffsetUnit;
}

export interface EncodeSingleOptions extends EncodeOptions {
  text_pair?: string | null;
}

export interface EncodeBatchOptions extends EncodeOptions {
  text_pair?: readonly (string | null | undefined)[] | null;
}

export interface DecodeOptions {
  skip_special_tokens?: boolean;
  /** Default: the tokenizer's clean_up_tokenization_spaces (true unless the config says otherwise). */
  clean_up_tokenization_spaces?: boolean;
}

/** Every key of EncodeOptions (encode and the call reject others, naming the closest of these). */
export const ENCODE_OPTION_KEYS: readonly string[] = Object.freeze([
  'add_special_tokens',
  'truncation',
  'max_length',
  'stride',
  'truncation_side',
  'padding',
  'pad_to_multiple_of',
  'padding_side',
  'return_token_type_ids',
  'return_attention_mask',
  'return_offsets_mapping',
  'return_special_tokens_mask',
  'return_overflowing_tokens',
  'return_word_ids',
  'offset_unit',
]);

/** Options of `tokenizer(text, options)`: encode's, plus the pair and the output form. */
export interface TokenizerCallOptions extends EncodeOptions {
  /** The second sequence: a string for one text, an array (one per text, null for none) for a list. */
  text_pair?: string | readonly (string | null | undefined)[] | null;
  /**
   * true (default, as transformers.js): every field is a Tensor of dims [batch, L] (int64),
   * which model.forward takes as it is; rows must then have one length (pass `padding: true`).
   * false: the plain arrays of encodeBatch (one row per text).
   */
  return_tensor?: boolean;
}

/** Every key of TokenizerCallOptions. */
export const CALL_OPTION_KEYS: readonly string[] = Object.freeze([...ENCODE_OPTION_KEYS, 'text_pair', 'return_tensor']);

/** Everything that configures a tokenizer (tokenizer_config.json names). */
export interface TokenizerOptions {
  /** The vocab in id order, or a vocab.txt path (read synchronously). One of the two is required. */
  vocab?: readonly string[];
  vocab_file?: string;
  do_lower_case?: boolean;
  strip_accents?: boolean | null;
  tokenize_chinese_chars?: boolean;
  /** Slow-only (Python BertTokenizer): whitespace-delimited words kept whole. The fast tokenizer ignores it, as HF. */
  never_split?: readonly string[] | null;
  unk_token?: string;
  sep_token?: string;
  pad_token?: string;
  cls_token?: string;
  mask_token?: string;
  additional_special_tokens?: readonly string[];
  /** Non-special added tokens (matched on the raw text like special ones). */
  added_tokens?: readonly string[];
  /** Ids of added tokens that are not in the vocab (from added_tokens.json / added_tokens_decoder); others get the next free id. */
  added_token_ids?: Readonly<Record<string, number>>;
  model_max_length?: number;
  padding_side?: Side;
  truncation_side?: Side;
  clean_up_tokenization_spaces?: boolean;
  max_input_chars_per_word?: number;
  continuing_subword_prefix?: string;
  /** Decoder cleanup of the WordPiece decoder (tokenizer.json decoder.cleanup; HF default true). */
  wordpiece_decoder_cleanup?: boolean;
  /** Character tables of the TypeScript core: 'rust' (default, HF fast's classes) or 'js' (plain \p{...}). */
  unicode_tables?: 'rust' | 'js';
}

/** Where fromPretrained finds a Hub repo id (see lib/hub); transformers.js' spellings too. */
export type TokenizerHubOptions = Partial<Pick<HubOptions, 'revision' | 'cacheDir' | 'token' | 'localFilesOnly' | 'endpoint' | 'progress'>> & TransformersJsHubOptions;

export const HUB_KEYS: readonly string[] = ['revision', 'cacheDir', 'token', 'localFilesOnly', 'endpoint', 'progress', ...Object.keys(HUB_OPTION_ALIASES)];

/** Every key of TokenizerOptions (what fromPretrained's overrides and the constructors take). */
export const TOKENIZER_OPTION_KEYS: readonly string[] = Object.freeze([
  'vocab',
  'vocab_file',
  'do_lower_case',
  'strip_accents',
  'tokenize_chinese_chars',
  'never_split',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
  'additional_special_tokens',
  'added_tokens',
  'added_token_ids',
  'model_max_length',
  'padding_side',
  'truncation_side',
  'clean_up_tokenization_spaces',
  'max_input_chars_per_word',
  'continuing_subword_prefix',
  'wordpiece_decoder_cleanup',
  'unicode_tables',
]);

/** encode()'s keys: EncodeOptions and the pair. */
export const ENCODE_OPTION_KEYS_WITH_PAIR: readonly string[] = [...ENCODE_OPTION_KEYS, 'text_pair'];

/** decode()'s keys. */
export const DECODE_OPTION_KEYS: readonly string[] = ['skip_special_tokens', 'clean_up_tokenization_spaces'];
