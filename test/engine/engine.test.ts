// The native Engine against the golden fixtures (every folder, every case,
// every output but the loss, padding positions included) on every CPU path.
// Tolerance: |got - exp| <= 1e-4 + 1e-4 |exp| element-wise, the fixture
// README's recommended float32 check (the reference's own fp32-vs-fp64 noise
// is <= 7.3e-6; our kernels reorder sums, so allow an order of magnitude more).
import * as fs from 'fs';
import * as path from 'path';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import type { ForwardRequest } from '../../lib/engine_types';
import { assertClose } from '../helpers/assert_close';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { cpuPaths } from '../helpers/ops';
import { buildRequest, engineClass, type FixtureCase, loadFixtureModel, producedOutputs, readSafetensors } from './fixture_model';

const TOL = { rtol: 1e-4, atol: 1e-4 };
const root = fixturesDir('convbert');
const folders = readJson<{ path: string }[]>(path.join(root, 'index.json')).map((e) => e.path);

for (const folder of folders) {
  for (const isa of cpuPaths()) {
    test(`${folder} on ${isa}: every case matches transformers`, async (t) => {
      const dir = path.join(root, folder);
      const m = loadFixtureModel(dir);
      const Engine = engineClass();
      const engine = new Engine(m.spec, { isa });
      t.is(engine.isa, isa);
      const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
      const tensors = readSafetensors(path.join(dir, 'expected.safetensors'));
      let compared = 0;
      for (const c of cases) {
        const { req, L } = buildRequest(m, c, tensors);
        // Alternate the async and the sync entry points: both must agree with the goldens.
        if (compared % 2 === 0) await engine.forward(req);
        else engine.forwardSync(req);
        const got = producedOutputs(req, m.spec.head.kind, L);
        for (const [name, ref] of Object.entries(c.outputs)) {
          if (name === 'loss') continue;
          const list = Array.isArray(ref) ? ref.map((r, i) => [`${name}.${i}`, r] as const) : [[name, ref] as const];
          for (const [flat, tensorName] of list) {
            const want = tensors.get(tensorName)!.data as Float32Array;
            const g = got.get(flat);
            if (!g) {
              t.fail(`${c.name}: output ${flat} was not produced`);
              continue;
            }
            assertClose(t, g, want, { ...TOL, label: `${folder} ${c.name} ${flat} (${isa})` });
            compared++;
          }
        }
      }
      t.true(compared > 0);
      engine.dispose();
    });
  }
}

function tinyEngine() {
  const m = loadFixtureModel(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'));
  const Engine = engineClass();
  return { m, engine: new Engine(m.spec) };
}

function request(m: ReturnType<typeof loadFixtureModel>, ids: number[], L: number): ForwardRequest & { input_ids: Int32Array; outputs: { last_hidden_state: Float32Array } } {
  const B = ids.length / L;
  return {
    B,
    L,
    input_ids: Int32Array.from(ids),
    inputs_embeds: null,
    token_type_ids: null,
    position_ids: null,
    attention_mask: null,
    attention_mask_rank: 0,
    head_mask: null,
    cls_index: null,
    outputs: { last_hidden_state: new Float32Array(B * L * m.spec.hidden_size), logits: null, hidden_states: null, attentions: null },
  };
}

test('ids out of range are a typed error naming the argument and position, never a read out of bounds', async (t) => {
  const { m, engine } = tinyEngine();
  const V = m.spec.vocab_size;
  const err = await t.throwsAsync(engine.forward(request(m, [1, 2, V, 3], 2)));
  t.true(err instanceof ConvBertError);
  t.is((err as ConvBertError).code, 'ERR_CONVBERT_ARG');
  t.regex(err!.message, /input_ids.*\[1, 0\]/);
  const neg = t.throws(() => engine.forwardSync(request(m, [1, -1], 2)));
  t.is((neg as ConvBertError).code, 'ERR_CONVBERT_ARG');
  const tt = request(m, [1, 2], 2);
  tt.token_type_ids = Int32Array.from([0, m.spec.type_vocab_size]);
  t.regex((await t.throwsAsync(engine.forward(tt)))!.message, /token_type_ids/);
  const short = request(m, [1, 2, 3, 4], 2);
  short.outputs.last_hidden_state = new Float32Array(3);
  t.is(((await t.throwsAsync(engine.forward(short))) as ConvBertError).code, 'ERR_CONVBERT_SHAPE');
  const long = request(m, new Array(m.spec.max_position_embeddings + 1).fill(1), m.spec.max_position_embeddings + 1);
  t.is(((await t.throwsAsync(engine.forward(long))) as ConvBertError).code, 'ERR_CONVBERT_SHAPE');
  engine.dispose();
});

test('dispose frees the engine: later calls fail with ERR_CONVBERT_DISPOSED; a forward in flight still completes', async (t) => {
  const { m, engine } = tinyEngine();
  t.true(engine.nativeBytes > 0);
  const inflight = request(m, [5, 6, 7, 8], 4);
  const p = engine.forward(inflight);
  engine.dispose();
  await p;
  t.true(inflight.outputs.last_hidden_state.some((v) => v !== 0));
  t.is(engine.nativeBytes, 0);
  const err = await t.throwsAsync(engine.forward(request(m, [1, 2], 2)));
  t.true(err instanceof ConvBertError);
  t.is((err as ConvBertError).code, 'ERR_CONVBERT_DISPOSED');
  t.is((t.throws(() => engine.forwardSync(request(m, [1, 2], 2))) as ConvBertError).code, 'ERR_CONVBERT_DISPOSED');
  engine.dispose(); // twice is harmless
});

test('concurrent forwards on one engine equal sequential ones', async (t) => {
  const { m, engine } = tinyEngine();
  const reqs = [0, 1, 2, 3, 4, 5].map((s) =>
    request(
      m,
      Array.from({ length: 2 * 9 }, (_, i) => (i * 7 + s * 13) % m.spec.vocab_size),
      9,
    ),
  );
  await Promise.all(reqs.map((r) => engine.forward(r)));
  for (const r of reqs) {
    const again = request(m, Array.from(r.input_ids), 9);
    engine.forwardSync(again);
    t.deepEqual(Array.from(again.outputs.last_hidden_state), Array.from(r.outputs.last_hidden_state));
  }
  engine.dispose();
});

test('a weight of the wrong length is rejected at construction and named', (t) => {
  const m = loadFixtureModel(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'));
  const Engine = engineClass();
  const bad = { ...m.spec, weights: { ...m.spec.weights, 'encoder.layer.1.output.dense.bias': new Float32Array(3) } };
  const err = t.throws(() => new Engine(bad));
  t.is((err as ConvBertError).code, 'ERR_CONVBERT_WEIGHTS');
  t.regex(err!.message, /encoder\.layer\.1\.output\.dense\.bias/);
  t.true(fs.existsSync(m.dir));
});

test('each weight is read exactly once, so spec.weights may be lazy getters that stream tensors', (t) => {
  const m = loadFixtureModel(fixturesDir('convbert', 'proj-groups-b', 'ConvBertModel'));
  const reads = new Map<string, number>();
  const lazy = new Proxy(m.spec.weights, {
    get(target, key) {
      if (typeof key === 'string') reads.set(key, (reads.get(key) ?? 0) + 1);
      const v = Reflect.get(target, key) as Float32Array | undefined;
      return v ? Float32Array.from(v) : v; // a fresh array per read, as a streaming loader would give
    },
  });
  const Engine = engineClass();
  const eager = new Engine(m.spec);
  const streamed = new Engine({ ...m.spec, weights: lazy });
  t.true(reads.size > 0);
  t.deepEqual(
    [...reads.values()].filter((n) => n !== 1),
    [],
  );
  const a = request(m, [3, 1, 4, 1, 5, 9, 2, 6], 4);
  const b = request(m, [3, 1, 4, 1, 5, 9, 2, 6], 4);
  eager.forwardSync(a);
  streamed.forwardSync(b);
  t.deepEqual(Array.from(b.outputs.last_hidden_state), Array.from(a.outputs.last_hidden_state));
  const missing: Record<string, Float32Array> = { ...m.spec.weights };
  delete missing['encoder.layer.2.attention.self.conv_kernel_layer.bias'];
  const err = t.throws(() => new Engine({ ...m.spec, weights: missing }));
  t.is((err as ConvBertError).code, 'ERR_CONVBERT_WEIGHTS');
  t.regex(err!.message, /encoder\.layer\.2\.attention\.self\.conv_kernel_layer\.bias/);
  eager.dispose();
  streamed.dispose();
});

test.serial('an Engine that is never disposed is freed by its finalizer (native memory stays bounded)', async (t) => {
  // 40 engines of about 6 MB each: a leak would add about 240 MB of RSS; the bound is 120 MB.
  const v8 = await import('v8');
  const vm = await import('vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const m = loadFixtureModel(fixturesDir('convbert', 'tiny-a', 'ConvBertModel'));
  const V = 40000;
  const E = m.spec.embedding_size;
  const spec = {
    ...m.spec,
    vocab_size: V,
    weights: { ...m.spec.weights, 'embeddings.word_embeddings.weight': new Float32Array(V * E).fill(0.01) },
  };
  const Engine = engineClass();
  const tick = () => new Promise((r) => setImmediate(r));
  let first = 0;
  for (let i = 0; i < 40; i++) {
    let e: InstanceType<typeof Engine> | null = new Engine(spec);
    t.true(e.nativeBytes >= V * E * 4);
    e = null;
    gc();
    await tick();
    if (i === 4) first = process.memoryUsage().rss;
  }
  gc();
  await tick();
  const growth = process.memoryUsage().rss - first;
  t.true(growth < 120e6, `RSS grew by ${(growth / 1e6).toFixed(0)} MB over 35 undisposed engines`);
});
