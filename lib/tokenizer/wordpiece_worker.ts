// wordpiece_worker.ts: a worker_threads entry that runs WordPieceCore for
// ConvBertTokenizer.encodeBatchAsync (see pool.ts). It builds the core once
// from workerData, then answers each {id, pieces} message with one packed
// result (lengths + concatenated ids/offsets/words, buffers transferred).
import { parentPort, workerData } from 'worker_threads';

import { type WordPieceOptions } from './core';
import { WordPieceCore } from './wordpiece';
import { packEncodings } from './pool';

const core = new WordPieceCore(workerData.options as WordPieceOptions);

parentPort!.on('message', (msg: { id: number; pieces: string[] }) => {
  try {
    const packed = packEncodings(msg.pieces.map((p) => core.tokenizeWithOffsets(p)));
    parentPort!.postMessage({ id: msg.id, packed }, [packed.lens.buffer, packed.ids.buffer, packed.offsets.buffer, packed.words.buffer] as ArrayBuffer[]);
  } catch (err) {
    const e = err as Error & { code?: string };
    parentPort!.postMessage({ id: msg.id, error: { message: e.message, code: e.code } });
  }
});
