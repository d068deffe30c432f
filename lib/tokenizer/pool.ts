// pool.ts: a small worker_threads pool for tokenizer cores written in JS, so a
// large encodeBatchAsync runs off the event loop on every core. The batch is cut
// into one contiguous chunk per worker (balanced by characters); results come
// back packed in four typed arrays whose buffers are transferred, not copied.
// Workers are unref'd while idle, so an unused pool never keeps a process alive.
import * as os from 'os';
import { Worker } from 'worker_threads';

import { ConvBertError, type ConvBertErrorCode } from '../errors';
import { type CoreEncoding } from './core';

/** Many CoreEncodings in four flat arrays (lens[i] tokens for piece i). */
export interface PackedEncodings {
  lens: Int32Array;
  ids: Int32Array;
  offsets: Uint32Array;
  words: Int32Array;
  tokens?: (string[] | null)[];
}

export function packEncodings(list: CoreEncoding[]): PackedEncodings {
  let total = 0;
  for (const e of list) total += e.ids.length;
  const lens = new Int32Array(list.length);
  const ids = new Int32Array(total);
  const offsets = new Uint32Array(2 * total);
  const words = new Int32Array(total);
  let k = 0;
  let anyTokens = false;
  list.forEach((e, i) => {
    const n = e.ids.length;
    lens[i] = n;
    ids.set(e.ids, k);
    offsets.set(e.offsets, 2 * k);
    if (e.words) words.set(e.words, k);
    else for (let j = 0; j < n; j++) words[k + j] = j;
    if (e.tokens) anyTokens = true;
    k += n;
  });
  const out: PackedEncodings = { lens, ids, offsets, words };
  if (anyTokens) out.tokens = list.map((e) => e.tokens ?? null);
  return out;
}

export function unpackEncodings(p: PackedEncodings): CoreEncoding[] {
  const out: CoreEncoding[] = new Array(p.lens.length);
  let k = 0;
  for (let i = 0; i < p.lens.length; i++) {
    const n = p.lens[i];
    const e: CoreEncoding = { ids: p.ids.subarray(k, k + n), offsets: p.offsets.subarray(2 * k, 2 * (k + n)), words: p.words.subarray(k, k + n) };
    const toks = p.tokens?.[i];
    if (toks) e.tokens = toks;
    out[i] = e;
    k += n;
  }
  return out;
}

interface Pending {
  resolve: (p: PackedEncodings) => void;
  reject: (e: Error) => void;
}

/** Below this many characters a batch is not worth a round trip to the workers. */
export const MIN_POOL_CHARS = 32 * 1024;

export class CorePool {
  private workers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private inFlight = 0;
  /** Batches that ran on workers (for tests and diagnostics). */
  workerBatches = 0;

  constructor(
    private readonly script: string,
    private readonly data: unknown,
    readonly size = Math.max(1, Math.min(8, (os.availableParallelism?.() ?? os.cpus().length) || 1)),
  ) {}

  private start(): void {
    if (this.workers.length > 0) return;
    for (let i = 0; i < this.size; i++) {
      // A .ts entry only exists when running from source (tests under tsx): the worker
      // then registers tsx's require hook itself, since loader flags do not reach workers.
      const w = this.script.endsWith('.ts')
        ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(this.script)});`, { eval: true, workerData: this.data })
        : new Worker(this.script, { workerData: this.data });
      w.on('message', (msg: { id: number; packed?: PackedEncodings; error?: { message: string; code?: string } }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.done();
        if (msg.error) p.reject(new ConvBertError(msg.error.message, (msg.error.code as ConvBertErrorCode) ?? 'ERR_CONVBERT_TOKENIZER'));
        else p.resolve(msg.packed!);
      });
      w.on('error', (err) => this.failAll(err));
      w.on('exit', () => {
        this.workers = this.workers.filter((x) => x !== w);
        if (this.pending.size > 0) this.failAll(new ConvBertError('tokenizer worker exited', 'ERR_CONVBERT_INTERNAL'));
      });
      w.unref();
      this.workers.push(w);
    }
  }

  private done(): void {
    if (--this.inFlight === 0) for (const w of this.workers) w.unref();
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.inFlight = 0;
    for (const w of this.workers) w.unref();
    for (const p of all) p.reject(err instanceof ConvBertError ? err : new ConvBertError(`tokenizer worker failed: ${err.message}`, 'ERR_CONVBERT_INTERNAL', { cause: err }));
  }

  /** Tokenise pieces on the workers; results in input order. */
  async run(pieces: readonly string[]): Promise<CoreEncoding[]> {
    this.start();
    this.workerBatches++;
    // contiguous chunks of about equal character count, one per worker
    let total = 0;
    for (const p of pieces) total += p.length;
    const per = Math.ceil(total / this.workers.length);
    const chunks: string[][] = [];
    let cur: string[] = [];
    let acc = 0;
    for (const p of pieces) {
      cur.push(p);
      acc += p.length;
      if (acc >= per && chunks.length < this.workers.length - 1) {
        chunks.push(cur);
        cur = [];
        acc = 0;
      }
    }
    chunks.push(cur);
    const results = await Promise.all(
      chunks.map(
        (chunk, i) =>
          new Promise<PackedEncodings>((resolve, reject) => {
            const id = this.nextId++;
            this.pending.set(id, { resolve, reject });
            if (this.inFlight++ === 0) for (const w of this.workers) w.ref();
            this.workers[i % this.workers.length].postMessage({ id, pieces: chunk });
          }),
      ),
    );
    const out: CoreEncoding[] = [];
    for (const r of results) for (const e of unpackEncodings(r)) out.push(e);
    return out;
  }

  /** Stop the workers (a later run starts new ones). */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
