// convbert.ts: ConvBertTokenizer, the pure-TypeScript tokenizer (HF's
// ConvBertTokenizer = BertTokenizer vocabulary and options, with the fast
// tokenizer's outputs as the reference). All behaviour lives in
// PreTrainedTokenizerBase; this class picks the TypeScript WordPiece core (which
// also supports the slow-only never_split option) and, for encodeBatchAsync on
// large batches, a worker_threads pool running the same core.
import * as path from 'path';

import { ConvBertError } from '../errors';
import { PreTrainedTokenizerBase } from './base';
import { type CoreEncoding, type TokenizerCore, type WordPieceOptions } from './core';
import { type TokenizerOptions } from './options';
import { CorePool, MIN_POOL_CHARS } from './pool';
import { WordPieceCore } from './wordpiece';

export class ConvBertTokenizer extends PreTrainedTokenizerBase {
  private pool: CorePool | null = null;
  private poolBroken = false;

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
    if (chars < MIN_POOL_CHARS || this.poolBroken) return this.tokenizePieces(pieces); // not worth a thread hop
    try {
      return await this.workerPool.run(pieces);
    } catch (err) {
      if (!(err instanceof ConvBertError) || err.code !== 'ERR_CONVBERT_INTERNAL') throw err;
      // Workers cannot start here (e.g. a TypeScript runner other than tsx): say so once, run inline.
      this.poolBroken = true;
      process.emitWarning(`encodeBatchAsync: worker threads unavailable (${err.message}); tokenizing on the main thread`, {
        code: 'CONVBERT_TOKENIZER_NO_WORKERS',
      });
      return this.tokenizePieces(pieces);
    }
  }

  /** Stop the encodeBatchAsync workers (optional: idle workers never keep the process alive). */
  async dispose(): Promise<void> {
    if (this.pool) await this.pool.close();
    this.pool = null;
  }
}
