// convbert.ts: ConvBertTokenizer, the pure-TypeScript tokenizer (HF's
// ConvBertTokenizer = BertTokenizer vocabulary and options, with the fast
// tokenizer's outputs as the reference). All behaviour lives in
// PreTrainedTokenizerBase; this class picks the TypeScript WordPiece core (which
// also supports the slow-only never_split option) and, for encodeBatchAsync on
// large batches, a worker_threads pool running the same core.
import * as path from 'path';

import { PreTrainedTokenizerBase, type TokenizerOptions } from './base';
import { type CoreEncoding, type TokenizerCore, type WordPieceOptions } from './core';
import { CorePool, MIN_POOL_CHARS } from './pool';
import { WordPieceCore } from './wordpiece';

export class ConvBertTokenizer extends PreTrainedTokenizerBase {
  private pool: CorePool | null = null;

  constructor(options: TokenizerOptions) {
    super(options);
  }

  protected override createCore(options: WordPieceOptions): TokenizerCore {
    return new WordPieceCore(options);
  }

  /** The worker pool behind encodeBatchAsync (created on first use; workers idle unref'd). */
  get workerPool(): CorePool {
    if (!this.pool) {
      // the worker is this file's sibling: .ts under tsx (workers inherit --import), .js in dist
      const script = path.join(__dirname, 'wordpiece_worker' + path.extname(__filename));
      this.pool = new CorePool(script, { options: this.wordPieceOptions() });
    }
    return this.pool;
  }

  protected override async tokenizePiecesAsync(pieces: readonly string[]): Promise<CoreEncoding[]> {
    let chars = 0;
    for (const p of pieces) chars += p.length;
    if (chars < MIN_POOL_CHARS) return this.tokenizePieces(pieces); // not worth a thread hop
    return this.workerPool.run(pieces);
  }

  /** Stop the encodeBatchAsync workers (optional: idle workers never keep the process alive). */
  async dispose(): Promise<void> {
    if (this.pool) await this.pool.close();
    this.pool = null;
  }
}
