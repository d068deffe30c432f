// A forward owns its inputs from the moment forward() returns its promise: the
// binding copies every input array when it reads the request, so a caller that
// changes or transfers (detaches and frees) an input while the job waits in the
// libuv pool changes nothing and crashes nothing. Those two run in a child
// process (input_ownership_child.ts) because reading freed memory kills the
// process. Inputs the engine cannot own safely (over a SharedArrayBuffer, or
// already detached) are typed errors naming the argument, in TS and in the binding
// (the test-only op entry points refuse them too).
// Exact equality: the same engine runs the same values on the same path.
import { spawnSync } from 'child_process';
import * as path from 'path';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { ConvBertModel } from '../../lib/models';
import type { ForwardRequest } from '../../lib/engine_types';
import { testAddon } from '../helpers/test_addon';
import { Tensor } from '../../lib/tensor';
import { fixturesDir, repoRoot } from '../helpers/fixtures';
import { engineClass, loadFixtureModel } from '../engine/fixture_model';

const tinyDir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');

for (const scenario of ['mutate', 'transfer'] as const) {
  test(`inputs ${scenario === 'mutate' ? 'changed' : 'transferred and freed'} after forward() do not change the answer (child process)`, (t) => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', path.join(__dirname, 'input_ownership_child.ts'), scenario], {
      cwd: repoRoot,
      env: { ...process.env, UV_THREADPOOL_SIZE: '1', NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    t.is(child.signal, null, `the child died of ${child.signal}: ${child.stdout}${child.stderr}`);
    t.is(child.status, 0, `${child.stdout}${child.stderr}`);
    t.is(child.stdout.trim(), 'ok');
  });
}

function shared<T extends Float32Array | Int32Array>(a: T): T {
  const sab = new SharedArrayBuffer(a.byteLength);
  const view = (a instanceof Float32Array ? new Float32Array(sab) : new Int32Array(sab)) as T;
  view.set(a as never);
  return view;
}

function detached<T extends Float32Array | Int32Array>(a: T): T {
  structuredClone(a, { transfer: [a.buffer as ArrayBuffer] });
  return a;
}

function request(m: ReturnType<typeof loadFixtureModel>): ForwardRequest {
  const B = 2;
  const L = 4;
  return {
    B,
    L,
    input_ids: Int32Array.from([5, 6, 7, 8, 9, 10, 11, 12]),
    inputs_embeds: null,
    token_type_ids: null,
    position_ids: null,
    attention_mask: Float32Array.from([1, 1, 1, 0, 1, 1, 0, 0]),
    attention_mask_rank: 2,
    head_mask: null,
    cls_index: null,
    outputs: { last_hidden_state: new Float32Array(B * L * m.spec.hidden_size), logits: null, hidden_states: null, attentions: null },
  };
}

test('Engine: an input or output over a SharedArrayBuffer, or detached, is a typed error naming it (async and sync)', async (t) => {
  const m = loadFixtureModel(tinyDir);
  const Engine = engineClass();
  const engine = new Engine(m.spec);
  t.teardown(() => engine.dispose());
  const cases: Array<[string, (r: ForwardRequest) => void, RegExp]> = [
    ['shared mask', (r) => (r.attention_mask = shared(r.attention_mask!)), /^attention_mask: expected a Float32Array over an ArrayBuffer, got one over a SharedArrayBuffer/],
    ['shared ids', (r) => (r.input_ids = shared(r.input_ids!)), /^input_ids: expected an Int32Array over an ArrayBuffer, got one over a SharedArrayBuffer/],
    [
      'shared embeds',
      (r) => {
        r.input_ids = null;
        r.inputs_embeds = shared(new Float32Array(r.B * r.L * m.spec.embedding_size));
      },
      /^inputs_embeds: .*SharedArrayBuffer/,
    ],
    ['shared head_mask', (r) => (r.head_mask = shared(new Float32Array(m.layers * m.saHeads).fill(1))), /^head_mask: .*SharedArrayBuffer/],
    ['shared output', (r) => (r.outputs.last_hidden_state = shared(r.outputs.last_hidden_state)), /^outputs\.last_hidden_state: .*SharedArrayBuffer/],
    ['detached mask', (r) => (r.attention_mask = detached(r.attention_mask!)), /^attention_mask: expected a Float32Array of 8 elements, got one whose ArrayBuffer is detached/],
    ['detached ids', (r) => (r.input_ids = detached(r.input_ids!)), /^input_ids: .*detached/],
    ['detached output', (r) => (r.outputs.last_hidden_state = detached(r.outputs.last_hidden_state)), /^outputs\.last_hidden_state: .*detached/],
  ];
  for (const [label, edit, message] of cases) {
    const a = request(m);
    edit(a);
    const err = await t.throwsAsync(engine.forward(a), { instanceOf: ConvBertError, message }, label);
    t.is((err as ConvBertError).code, 'ERR_CONVBERT_ARG', label);
    const b = request(m);
    edit(b);
    t.throws(() => engine.forwardSync(b), { instanceOf: ConvBertError, message }, `${label} (sync)`);
  }
  // The same request over plain ArrayBuffers runs.
  await t.notThrowsAsync(engine.forward(request(m)));
  // Weights are copied at construction; a view the binding cannot read is named there too.
  const key = 'encoder.layer.0.output.dense.bias';
  const weights = { ...m.spec.weights, [key]: shared(m.spec.weights[key]) };
  t.throws(() => new Engine({ ...m.spec, weights }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_WEIGHTS',
    message: /^spec\.weights\['encoder\.layer\.0\.output\.dense\.bias'\]: .*SharedArrayBuffer/,
  });
});

test('ConvBertModel.forward: a Tensor over a SharedArrayBuffer or a detached buffer is ERR_CONVBERT_ARG naming the input', async (t) => {
  const model = await ConvBertModel.fromPretrained(tinyDir);
  t.teardown(() => model.dispose());
  const ids = new Tensor('int64', [
    [5, 6, 7, 8],
    [9, 10, 11, 12],
  ]);
  const mask = () => Float32Array.from([1, 1, 1, 0, 1, 1, 0, 0]);
  await t.throwsAsync(model.forward({ input_ids: ids, attention_mask: new Tensor('float32', shared(mask()), [2, 4]) }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: /^attention_mask: expected data over an ArrayBuffer, got a Float32Array over a SharedArrayBuffer/,
  });
  const emb = new Tensor('float32', shared(new Float32Array(2 * 4 * 32)), [2, 4, 32]);
  t.throws(() => model.forwardSync({ inputs_embeds: emb }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: /^inputs_embeds: .*SharedArrayBuffer/ });
  // Detached after the Tensor was made: the Tensor still claims dims [2, 4] but has no data.
  const gone = new Tensor('float32', mask(), [2, 4]);
  detached(gone.data);
  await t.throwsAsync(model.forward({ input_ids: ids, attention_mask: gone }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: /^attention_mask: expected data over an ArrayBuffer, got a Float32Array whose ArrayBuffer is detached/,
  });
  // And a Tensor cannot be made over a detached buffer at all.
  t.throws(() => new Tensor('float32', detached(mask()), [2, 4]), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: /^Tensor: data .*detached/ });
  // Int tensors over a SharedArrayBuffer are refused the same way, though TS copies ids.
  const sharedIds = new Tensor('int32', shared(Int32Array.from([5, 6, 7, 8])), [1, 4]);
  t.throws(() => model.forwardSync({ input_ids: sharedIds }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: /^input_ids: .*SharedArrayBuffer/ });
});

test('the test-only op entry points refuse a SharedArrayBuffer or detached view with a ConvBertError naming it', (t) => {
  // They run synchronously, but the plain Node-API read of such a view used to throw a bare "Invalid argument".
  const opSoftmax = testAddon().opSoftmax as (x: Float32Array, rows: number, n: number, path: string) => string;
  t.throws(() => opSoftmax(shared(new Float32Array(4)), 1, 4, 'generic'), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: /^opSoftmax: x: expected a Float32Array over an ArrayBuffer, got one over a SharedArrayBuffer/,
  });
  t.throws(() => opSoftmax(detached(new Float32Array(4)), 1, 4, 'generic'), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: 'opSoftmax: x: expected a Float32Array of 4 elements, got one whose ArrayBuffer is detached',
  });
  t.is(opSoftmax(new Float32Array(4), 1, 4, 'generic'), 'generic');
});
