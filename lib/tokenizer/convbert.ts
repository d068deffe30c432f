// convbert.ts: ConvBertTokenizer, the pure-TypeScript tokenizer (HF's
// ConvBertTokenizer = BertTokenizer vocabulary and options, with the fast
// tokenizer's outputs as the reference). All behaviour lives in
// PreTrainedTokenizerBase; this class only picks the TypeScript WordPiece core,
// which also supports the slow-only never_split option.
import { PreTrainedTokenizerBase, type TokenizerOptions } from './base';
import { type TokenizerCore, type WordPieceOptions } from './core';
import { WordPieceCore } from './wordpiece';

export class ConvBertTokenizer extends PreTrainedTokenizerBase {
  constructor(options: TokenizerOptions) {
    super(options);
  }

  protected override createCore(options: WordPieceOptions): TokenizerCore {
    return new WordPieceCore(options);
  }
}
