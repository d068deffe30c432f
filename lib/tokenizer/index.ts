// index.ts: the TypeScript tokenizer's public surface (ConvBertTokenizerFast is
// exported from fast.ts). PreTrainedTokenizerBase holds the shared pipeline;
// WordPieceCore is the TypeScript core, usable on its own.
export {
  PreTrainedTokenizerBase,
  VERY_LARGE_INTEGER,
  MAX_PADDED_LENGTH,
  MAX_OUTPUT_TOKENS,
  cleanUpTokenization,
  loadTokenizerOptions,
  parseVocab,
  readVocabFile,
  type BatchEncodeResult,
  type DecodeOptions,
  type EncodeBatchOptions,
  type EncodeOptions,
  type EncodeResult,
  type EncodeSingleOptions,
  type TokenizerCallOptions,
  type TokenizerTensors,
  type EncodedRow,
  type FullEncoding,
  type OffsetUnit,
  type PaddingStrategy,
  type Side,
  type TokenizerOptions,
  type TruncationStrategy,
} from './base';
export { ConvBertTokenizer } from './convbert';
export { type CoreEncoding, type TokenizerCore, type WordPieceOptions } from './core';
export { WordPieceCore } from './wordpiece';
