// index.ts: the TypeScript tokenizer's public surface (ConvBertTokenizerFast is
// exported from fast.ts). PreTrainedTokenizerBase holds the shared pipeline;
// WordPieceCore is the TypeScript core, usable on its own.
export { PreTrainedTokenizerBase, cleanUpTokenization } from './base';
export { MAX_PADDED_LENGTH, MAX_OUTPUT_TOKENS, type BatchEncodeResult, type EncodeResult, type TokenizerTensors, type EncodedRow, type FullEncoding } from './encoding';
export { loadTokenizerOptions, parseVocab, readVocabFile } from './files';
export {
  VERY_LARGE_INTEGER,
  type DecodeOptions,
  type EncodeBatchOptions,
  type EncodeOptions,
  type EncodeSingleOptions,
  type OffsetUnit,
  type PaddingStrategy,
  type Side,
  type TokenizerCallOptions,
  type TokenizerOptions,
  type TruncationStrategy,
} from './options';
export { ConvBertTokenizer } from './convbert';
export { type CoreEncoding, type TokenizerCore, type WordPieceOptions } from './core';
export { WordPieceCore } from './wordpiece';
