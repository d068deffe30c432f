// input_ownership_child.ts: the child process of input_ownership.test.ts (run with
// UV_THREADPOOL_SIZE=1 and --expose-gc). It fills the libuv pool's only thread
// with a pbkdf2 job first, so every forward it queues next waits in the pool
// while this script mutates, or transfers and frees, the request's input arrays.
// Each answer must equal the one computed beforehand on untouched copies. A
// forward that reads the arrays in place crashes this process or prints a
// mismatch; the parent only sees the exit status and the output.
import * as crypto from 'crypto';

import { ConvBertModel } from '../../lib/models';
import type { ForwardRequest } from '../../lib/engine_types';
import { Tensor } from '../../lib/tensor';
import { fixturesDir } from '../helpers/fixtures';
import { engineClass, loadFixtureModel } from '../engine/fixture_model';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

/** Occupies the pool's single thread long enough for the script to act before the forward starts. */
function blockPool(): Promise<void> {
  return new Promise((resolve, reject) => crypto.pbkdf2('x', 'y', 300000, 32, 'sha512', (e) => (e ? reject(e) : resolve())));
}

/** Detaches x's buffer (its memory now belongs to the clone) and lets the collector free it. */
function transferAway(x: ArrayBufferView): void {
  let clone: unknown = structuredClone(x, { transfer: [x.buffer as ArrayBuffer] });
  if (x.buffer.byteLength !== 0) throw new Error('the transfer did not detach the buffer');
  clone = null;
  void clone;
  gc!();
}

const failures: string[] = [];
function same(label: string, got: Float32Array, want: Float32Array): void {
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      failures.push(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (the forward read the changed input)`);
      return;
    }
  }
}

const m = loadFixtureModel(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'));
const { vocab_size: V, embedding_size: E, hidden_size: H, max_position_embeddings: P, num_hidden_layers: NL, sa_heads: S } = m.spec;
const Engine = engineClass();
const engine = new Engine(m.spec);

// Big enough (>= 256 KiB each) that the allocator maps them on their own, so a
// read after the free faults instead of finding stale values.
const B = 16;
const L = P;
function idsRequest(): ForwardRequest {
  const mask = new Float32Array(B * L).fill(1);
  for (let b = 0; b < B; b++) for (let j = L - 1 - b; j < L; j++) mask[b * L + j] = 0;
  return {
    B,
    L,
    input_ids: Int32Array.from({ length: B * L }, (_, i) => (i * 31 + 7) % V),
    inputs_embeds: null,
    token_type_ids: Int32Array.from({ length: B * L }, (_, i) => i % 2),
    position_ids: Int32Array.from({ length: B * L }, (_, i) => i % L),
    attention_mask: mask,
    attention_mask_rank: 2,
    head_mask: Float32Array.from({ length: NL * S }, (_, i) => 0.5 + i / 8),
    cls_index: null,
    outputs: { last_hidden_state: new Float32Array(B * L * H), logits: null, hidden_states: null, attentions: null },
  };
}
function embedsRequest(): ForwardRequest {
  const mask = new Float32Array(B * L * L);
  for (let i = 0; i < mask.length; i++) mask[i] = (i * 7) % 5 === 0 ? 0 : 1;
  return {
    B,
    L,
    input_ids: null,
    inputs_embeds: Float32Array.from({ length: B * L * E }, (_, i) => Math.sin(i) * 0.5),
    token_type_ids: null,
    position_ids: null,
    attention_mask: mask,
    attention_mask_rank: 3,
    head_mask: null,
    cls_index: null,
    outputs: { last_hidden_state: new Float32Array(B * L * H), logits: null, hidden_states: null, attentions: null },
  };
}
const inputArrays = (r: ForwardRequest): Array<Int32Array | Float32Array> =>
  [r.input_ids, r.inputs_embeds, r.token_type_ids, r.position_ids, r.attention_mask, r.head_mask].filter((a): a is Int32Array | Float32Array => a !== null);

/** What a changed input holds: ids far outside the vocabulary, masks that hide everything, huge embeddings. */
function scribble(a: Int32Array | Float32Array): void {
  if (a instanceof Int32Array) a.fill(0x3fffffff);
  else a.fill(a.length === B * L * E ? 1e6 : 0);
}

async function engineCase(label: string, make: () => ForwardRequest, act: (a: Int32Array | Float32Array) => void): Promise<void> {
  const want = make();
  engine.forwardSync(want);
  const req = make();
  const blocked = blockPool();
  const p = engine.forward(req);
  for (const a of inputArrays(req)) act(a);
  await p;
  await blocked;
  same(label, req.outputs.last_hidden_state, want.outputs.last_hidden_state);
}

async function modelCase(label: string, act: (a: Float32Array) => void): Promise<void> {
  const model = await ConvBertModel.fromPretrained(m.dir);
  const inputs = () => {
    const r = embedsRequest();
    return {
      inputs_embeds: new Tensor('float32', r.inputs_embeds!, [B, L, E]),
      attention_mask: new Tensor('float32', r.attention_mask!, [B, L, L]),
    };
  };
  const want = model.forwardSync(inputs());
  const x = inputs();
  const blocked = blockPool();
  const p = model.forward(x);
  act(x.inputs_embeds.data);
  act(x.attention_mask.data);
  const got = await p;
  await blocked;
  same(label, got.last_hidden_state.data as Float32Array, want.last_hidden_state.data as Float32Array);
  model.dispose();
}

(async () => {
  const which = process.argv[2];
  if (which === 'mutate') {
    await engineCase('Engine.forward, ids and masks changed after the call', idsRequest, scribble);
    await engineCase('Engine.forward, embeds and 3-D mask changed after the call', embedsRequest, scribble);
    await modelCase('ConvBertModel.forward, Tensor inputs changed after the call', scribble);
  } else if (which === 'transfer') {
    await engineCase('Engine.forward, ids and masks transferred after the call', idsRequest, transferAway);
    await engineCase('Engine.forward, embeds and 3-D mask transferred after the call', embedsRequest, transferAway);
    await modelCase('ConvBertModel.forward, Tensor inputs transferred after the call', transferAway);
  } else {
    throw new Error(`unknown scenario ${which}`);
  }
  engine.dispose();
  if (failures.length) {
    console.log(failures.join('\n'));
    process.exit(1);
  }
  console.log('ok');
})().catch((e) => {
  console.log(String((e as Error).stack ?? e));
  process.exit(1);
});
