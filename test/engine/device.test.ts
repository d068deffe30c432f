// device.test.ts: placement of the native Engine and of the models (device / dtype / tf32),
// the side that runs without a GPU: the `device` getter, 'auto' resolving to the CPU where
// backendInfo().cuda.available is false, and typed refusals (never a silent CPU run) for
// CUDA devices and fp16 the machine or the CPU engine cannot honour (bf16 runs on the CPU). Where a CUDA
// device is available the same checks assert that the engine really is on it instead.
// The CPU path must be untouched by the options: outputs are compared bit for bit.
import * as path from 'path';

import test from 'ava';

import { backendInfo } from '../../lib/backend';
import { ConvBertError } from '../../lib/errors';
import { ConvBertForMaskedLM, ConvBertModel } from '../../lib/models';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { engineClass, loadFixtureModel } from './fixture_model';

const root = fixturesDir('convbert');
const folder = readJson<{ path: string }[]>(path.join(root, 'index.json'))[0].path;
const dir = path.join(root, folder);
const cuda = backendInfo().cuda;

// A tiny config for fromConfig (weights drawn from the seed).
const tiny = {
  vocab_size: 50,
  hidden_size: 16,
  embedding_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 24,
  max_position_embeddings: 32,
  head_ratio: 2,
  conv_kernel_size: 3,
  num_groups: 1,
};

test('Engine: device defaults to cpu, and explicit cpu float32 options give bit-identical outputs', (t) => {
  const m = loadFixtureModel(dir);
  const Engine = engineClass();
  const a = new Engine(m.spec) as unknown as { device: string; nativeBytes: number; dispose(): void; forwardSync(r: unknown): void };
  const b = new Engine(m.spec, { device: 'cpu', dtype: 'float32', tf32: false } as never) as unknown as typeof a;
  t.teardown(() => {
    a.dispose();
    b.dispose();
  });
  t.is(a.device, 'cpu');
  t.is(b.device, 'cpu');
  t.is(a.nativeBytes, b.nativeBytes);
  t.true(a.nativeBytes > 0);
  const L = 5;
  const mk = () => ({
    B: 1,
    L,
    input_ids: Int32Array.from([1, 2, 3, 4, 0]),
    inputs_embeds: null,
    token_type_ids: null,
    position_ids: null,
    attention_mask: null,
    attention_mask_rank: 0,
    head_mask: null,
    cls_index: null,
    outputs: {
      last_hidden_state: new Float32Array(L * m.spec.hidden_size),
      logits:
        m.spec.head.kind === 'none'
          ? null
          : new Float32Array(L * m.spec.head.num_outputs * (m.spec.head.kind === 'sequence_classification' || m.spec.head.kind === 'multiple_choice' ? 1 / L : 1)),
      hidden_states: null,
      attentions: null,
    },
  });
  const ra = mk(),
    rb = mk();
  a.forwardSync(ra);
  b.forwardSync(rb);
  t.deepEqual(Array.from(ra.outputs.last_hidden_state), Array.from(rb.outputs.last_hidden_state));
  t.true(ra.outputs.last_hidden_state.some((v) => v !== 0));
});

test('Engine: bad device / dtype / tf32 values name the option', (t) => {
  const m = loadFixtureModel(dir);
  const Engine = engineClass();
  for (const [opts, re] of [
    [{ device: 'gpu' }, /options\.device/],
    [{ device: 'cuda:' }, /options\.device/],
    [{ device: 'cuda:-1' }, /options\.device/],
    [{ device: 3 }, /options\.device/],
    [{ dtype: 'int4' }, /options\.dtype/],
    [{ tf32: 'yes' }, /options\.tf32/],
  ] as const) {
    const e = t.throws(() => new Engine(m.spec, opts as never), { instanceOf: ConvBertError, message: re }, JSON.stringify(opts));
    t.is((e as ConvBertError).code, 'ERR_CONVBERT_ARG');
  }
});

test('Engine: int8 runs on the CPU (test/engine/int8.test.ts checks its values) and is refused on CUDA', (t) => {
  const m = loadFixtureModel(dir);
  const Engine = engineClass();
  for (const opts of [{ dtype: 'int8' }, { dtype: 'int8', device: 'cpu' }]) {
    const e = new Engine(m.spec, opts as never) as unknown as { device: string; dtype: string; dispose(): void };
    t.is(e.device, 'cpu');
    t.is(e.dtype, 'int8');
    e.dispose();
  }
  // The CPU-only refusal comes before any CUDA probing, so it is the same with or without a GPU.
  t.throws(() => new Engine(m.spec, { dtype: 'int8', device: 'cuda' } as never), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_UNSUPPORTED', message: /CPU engine only/ });
});

test('Engine: float16 on the CPU is ERR_CONVBERT_UNSUPPORTED; bfloat16 runs there (test/engine/bf16.test.ts checks its values)', (t) => {
  const m = loadFixtureModel(dir);
  const Engine = engineClass();
  for (const opts of [{ dtype: 'float16' }, { dtype: 'float16', device: 'cpu' }]) {
    t.throws(() => new Engine(m.spec, opts as never), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_UNSUPPORTED', message: /needs device 'cuda'/ });
  }
  for (const opts of [{ dtype: 'bfloat16' }, { dtype: 'bfloat16', device: 'cpu' }]) {
    const e = new Engine(m.spec, opts as never) as unknown as { device: string; dtype: string; dispose(): void };
    t.is(e.device, 'cpu');
    t.is(e.dtype, 'bfloat16');
    e.dispose();
  }
});

test('Engine: device cuda without a usable CUDA device is refused with the reason; with one it is on the device', (t) => {
  const m = loadFixtureModel(dir);
  const Engine = engineClass();
  if (!cuda.available) {
    for (const device of ['cuda', 'cuda:0', 'cuda:1']) {
      const e = t.throws(() => new Engine(m.spec, { device } as never), { instanceOf: ConvBertError }, device) as ConvBertError;
      t.true(e.code === 'ERR_CONVBERT_UNSUPPORTED' || e.code === 'ERR_CONVBERT_CUDA', `${device}: ${e.code}`);
      // The loaded binary's own reason (the stub's in a CPU-only build, the runtime's otherwise).
      t.true(e.message.length > 0 && /cuda|driver|device|gpu/i.test(e.message), e.message);
    }
  } else {
    const e = new Engine(m.spec, { device: 'cuda' } as never) as unknown as { device: string; nativeBytes: number; dispose(): void };
    t.is(e.device, 'cuda:0');
    t.true(e.nativeBytes > 0);
    e.dispose();
  }
});

test('models: device auto follows backendInfo().cuda.available; model.device says where it runs', async (t) => {
  const expected = cuda.available ? 'cuda:0' : 'cpu';
  const a = await ConvBertForMaskedLM.fromPretrained(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM'), { device: 'auto' });
  const c = ConvBertModel.fromConfig(tiny, { device: 'auto' });
  const d = ConvBertModel.fromConfig(tiny);
  t.teardown(() => {
    a.dispose();
    c.dispose();
    d.dispose();
  });
  t.is(a.device, expected);
  t.is(c.device, expected);
  t.is(d.device, 'cpu');
  d.dispose();
  t.is(d.device, 'cpu'); // still readable after dispose()
});

test('models: unusable placements are typed errors that say why', async (t) => {
  t.throws(() => ConvBertModel.fromConfig(tiny, { dtype: 'float16' }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_UNSUPPORTED', message: /needs a CUDA device/ });
  t.throws(() => ConvBertModel.fromConfig(tiny, { dtype: 'float16', device: 'cpu' }), { code: 'ERR_CONVBERT_UNSUPPORTED' });
  // bfloat16 is an accepted CPU dtype.
  const bf = ConvBertModel.fromConfig(tiny, { dtype: 'bfloat16', device: 'cpu' });
  t.is(bf.device, 'cpu');
  t.is(bf.dtype, 'bfloat16');
  bf.dispose();
  // int8 is CPU only: 'auto' picks the CPU for it, an explicit CUDA device is refused.
  for (const device of ['cpu', 'auto'] as const) {
    const q = ConvBertModel.fromConfig(tiny, { dtype: 'int8', device });
    t.is(q.device, 'cpu');
    t.is(q.dtype, 'int8');
    q.dispose();
    t.is(q.dtype, 'int8'); // still readable after dispose()
  }
  t.throws(() => ConvBertModel.fromConfig(tiny, { dtype: 'int8', device: 'cuda' }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_UNSUPPORTED', message: /CPU engine only/ });
  t.is(ConvBertModel.fromConfig(tiny).dtype, 'float32');
  t.throws(() => ConvBertModel.fromConfig(tiny, { device: 'cuda:x' as never }), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /device "cuda:x"/ });
  t.throws(() => ConvBertModel.fromConfig(tiny, { dtype: 'float64' as never }), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /dtype "float64"/ });
  if (!cuda.available) {
    for (const device of ['cuda', 'cuda:1'] as const) {
      const e = t.throws(() => ConvBertModel.fromConfig(tiny, { device }), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_UNSUPPORTED' }) as ConvBertError;
      t.true(cuda.reason !== undefined && e.message.includes(cuda.reason), e.message);
    }
    // auto with fp16 chose the CPU, which cannot run it: the refusal says so.
    t.throws(() => ConvBertModel.fromConfig(tiny, { device: 'auto', dtype: 'float16' }), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /device 'auto' chose the CPU/ });
  }
});
