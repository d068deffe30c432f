// Models are callable like transformers.js': `await model(inputs)` is `await model.forward(inputs)`
// for ConvBertModel and every head, for what fromPretrained / fromConfig / the Auto classes
// return, and through withBatching / attachBatching. Each call is checked bit for bit against
// forward on the same model (same weights, same kernels: tolerance 0) and against the golden
// fixture (|got - exp| <= 1e-4 + 1e-4|exp|, the fixtures README's float32 check). The typed
// lines at the end are checked by `tsc -p tsconfig.test.json`: the call has each head's own
// input and output types.
import * as path from 'path';
import { inspect } from 'util';

import test, { type ExecutionContext } from 'ava';

import { AutoModel, AutoModelForMaskedLM, AutoModelForQuestionAnswering } from '../../lib/auto';
import { attachBatching, withBatching } from '../../lib/batching';
import * as models from '../../lib/models';
import {
  ConvBertForMaskedLM,
  ConvBertForQuestionAnswering,
  ConvBertModel,
  ConvBertPreTrainedModel,
  type MaskedLMOutput,
  type QuestionAnsweringModelOutput,
} from '../../lib/models';
import { Tensor } from '../../lib/tensor';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';
import { readSafetensorsSync } from '../../lib/weights/safetensors';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { compareTensor, type FixtureCase } from './fixture_runner';

const ARCHS = [
  'ConvBertModel',
  'ConvBertForMaskedLM',
  'ConvBertForSequenceClassification',
  'ConvBertForTokenClassification',
  'ConvBertForQuestionAnswering',
  'ConvBertForMultipleChoice',
] as const;

type AnyModel = ConvBertPreTrainedModel;
type AnyClass = { fromPretrained(dir: string): Promise<AnyModel>; new (...a: never[]): AnyModel; name: string };

function expected(dir: string): Map<string, Tensor> {
  const f = readSafetensorsSync(path.join(dir, 'expected.safetensors')) as unknown as { tensors?: Map<string, Tensor> } & Map<string, Tensor>;
  return (f.tensors ?? f) as Map<string, Tensor>;
}

/** case1 of a fixture folder (padding, token types, labels, hidden states and attentions) as inputs, kwargs and expected outputs. */
function case1(dir: string): { inputs: Record<string, Tensor>; kwargs: Record<string, boolean>; outputs: Map<string, Tensor | Tensor[]> } {
  const c = readJson<FixtureCase[]>(path.join(dir, 'cases.json')).find((x) => x.name === 'case1')!;
  const exp = expected(dir);
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) inputs[k] = exp.get(v)!;
  const outputs = new Map<string, Tensor | Tensor[]>();
  for (const [k, v] of Object.entries(c.outputs)) outputs.set(k, Array.isArray(v) ? v.map((key) => exp.get(key)!) : exp.get(v)!);
  return { inputs, kwargs: (c.kwargs ?? {}) as Record<string, boolean>, outputs };
}

/** Every output of `a` equals `b`'s exactly (same model, same kernels) and matches the fixture. */
function sameOutputs(t: ExecutionContext, a: unknown, b: unknown, want: Map<string, Tensor | Tensor[]>, label: string): void {
  const ga = a as Record<string, Tensor | Tensor[]>;
  const gb = b as Record<string, Tensor | Tensor[]>;
  t.deepEqual(Object.keys(ga).sort(), Object.keys(gb).sort(), `${label}: output names`);
  for (const [name, w] of want) {
    const xs = Array.isArray(w) ? w : [w];
    const ys = (Array.isArray(ga[name]) ? ga[name] : [ga[name]]) as Tensor[];
    const zs = (Array.isArray(gb[name]) ? gb[name] : [gb[name]]) as Tensor[];
    t.is(ys.length, xs.length, `${label} ${name}: count`);
    xs.forEach((x, i) => {
      const cmp = compareTensor(ys[i], x, `${label} ${name}[${i}]`);
      t.true(cmp.ok, cmp.detail);
      t.deepEqual(ys[i].dims, zs[i].dims);
      t.deepEqual(Array.from(ys[i].data as Float32Array), Array.from(zs[i].data as Float32Array), `${label} ${name}[${i}]: call == forward`);
    });
  }
}

for (const arch of ARCHS) {
  test(`${arch}: model(inputs, options) equals model.forward(inputs, options) and the fixture; the instance keeps its class`, async (t) => {
    const dir = fixturesDir('convbert', 'tiny-a', arch);
    const cls = (models as unknown as Record<string, AnyClass>)[arch];
    const m = await cls.fromPretrained(dir);
    t.teardown(() => m.dispose());
    t.is(typeof m, 'function');
    t.true(m instanceof cls);
    t.true(m instanceof ConvBertPreTrainedModel);
    t.is(m.constructor as unknown, cls as unknown);
    t.is(m.config.hidden_size, readJson<{ hidden_size: number }>(path.join(dir, 'config.json')).hidden_size);
    t.is(m.device, 'cpu');
    t.is(m.dtype, 'float32');
    t.false(m.disposed);
    t.true(m.nativeBytes > 0);
    // The function's own name and length are gone: nothing shadows the prototype chain.
    t.false(Object.prototype.hasOwnProperty.call(m, 'name'));
    t.false(Object.prototype.hasOwnProperty.call(m, 'length'));
    const { inputs, kwargs, outputs } = case1(dir);
    const called = await m(inputs, kwargs);
    const forwarded = await m.forward(inputs, kwargs);
    sameOutputs(t, called, forwarded, outputs, arch);
    // Errors are the forward's own, typed and naming the argument.
    await t.throwsAsync(m({ input_ids: new Tensor('int32', new Int32Array([1, 2]), [2]) }), { code: 'ERR_CONVBERT_SHAPE' });
    await t.throwsAsync(m(inputs, { output_attention: true } as never), { code: 'ERR_CONVBERT_ARG', message: /unknown option 'output_attention'/ });
    m.dispose();
    await t.throwsAsync(m(inputs), { code: 'ERR_CONVBERT_DISPOSED' });
  });
}

test('fromConfig results and the Auto classes are callable with the class statics intact', async (t) => {
  const cfg = { vocab_size: 50, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, embedding_size: 8, max_position_embeddings: 32 };
  t.is(typeof ConvBertForMaskedLM.fromPretrained, 'function');
  t.is(typeof ConvBertForMaskedLM.fromConfig, 'function');
  const fresh = ConvBertForMaskedLM.fromConfig(cfg, { seed: 1 });
  t.teardown(() => fresh.dispose());
  t.true(fresh instanceof ConvBertForMaskedLM);
  const ids = { input_ids: new Tensor('int32', Int32Array.from([3, 7, 11, 2]), [1, 4]) };
  t.deepEqual(Array.from((await fresh(ids)).logits.data as Float32Array), Array.from((await fresh.forward(ids)).logits.data as Float32Array));

  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForQuestionAnswering');
  const qa = await AutoModelForQuestionAnswering.from_pretrained(dir);
  t.teardown(() => qa.dispose());
  const direct = await ConvBertForQuestionAnswering.from_pretrained(dir); // the class's own alias
  t.teardown(() => direct.dispose());
  t.true(direct instanceof ConvBertForQuestionAnswering);
  t.true(qa instanceof ConvBertForQuestionAnswering);
  const { inputs, kwargs, outputs } = case1(dir);
  sameOutputs(t, await qa(inputs, kwargs), await qa.forward(inputs, kwargs), outputs, 'AutoModelForQuestionAnswering');
  const trunk = AutoModel.fromConfig(cfg, { seed: 2 });
  t.teardown(() => trunk.dispose());
  t.true(trunk instanceof ConvBertModel);
  t.deepEqual((await trunk(ids)).last_hidden_state.dims, [1, 4, 16]);
  // console.log / util.inspect show the model, not `[Function: undefined]`.
  const shown = inspect(trunk, { depth: 0 });
  t.regex(shown, /^ConvBertModel \{/);
  t.notRegex(shown, /Function/);
});

test('withBatching and attachBatching accept a callable model; the batched proxy is callable too', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  const m = await ConvBertForMaskedLM.fromPretrained(dir);
  t.teardown(() => m.dispose());
  const { inputs, outputs } = case1(dir);
  const bm = withBatching(m, { maxBatchSize: 4, maxWaitMs: 10 });
  t.is(typeof bm, 'function');
  t.true(bm instanceof ConvBertForMaskedLM);
  sameOutputs(t, await bm(inputs), await m.forward(inputs), new Map([['logits', outputs.get('logits')!]]), 'withBatching');
  const row = { input_ids: Int32Array.from([5, 6, 7]) };
  const [viaBatcher] = await bm.forwardPacked([row]);
  const alone = await m.forward({ input_ids: new Tensor('int32', row.input_ids, [1, 3]) });
  // Varlen and plain forwards of one row may order their sums differently: compareTensor's 1e-4 + 1e-4|exp|.
  const packed = compareTensor(viaBatcher.logits, alone.logits, 'forwardPacked');
  t.true(packed.ok, packed.detail);
  t.is(bm.batcher.stats().batches, 1);
  await bm.batcher.close();

  const m2 = await ConvBertForMaskedLM.fromPretrained(dir);
  t.teardown(() => m2.dispose());
  const batcher = attachBatching(m2, { maxBatchSize: 4, maxWaitMs: 10 });
  t.true(Object.prototype.hasOwnProperty.call(m2, 'forwardPacked'));
  const [attached] = await (m2 as unknown as { forwardPacked: typeof bm.forwardPacked }).forwardPacked([row]);
  t.deepEqual(Array.from(attached.logits.data as Float32Array), Array.from(viaBatcher.logits.data as Float32Array));
  t.throws(() => attachBatching(m2), { code: 'ERR_CONVBERT_ARG', message: /already has batching attached/ });
  sameOutputs(t, await m2(inputs), await m.forward(inputs), new Map([['logits', outputs.get('logits')!]]), 'attachBatching');
  await batcher.close();
  t.throws(() => withBatching(null as never), { code: 'ERR_CONVBERT_ARG', message: /got null/ });
  t.throws(() => withBatching((() => 0) as never), { code: 'ERR_CONVBERT_ARG', message: /must be a ConvBERT model, got function/ });
});

test("a tokenizer's callable output goes straight into model(...)", async (t) => {
  // The fixtures' ids as words of a 99-word vocabulary "t<i>x" (as test/tokenizer/callable.test.ts).
  const vocab = Array.from({ length: 99 }, (_, i) => `t${i}x`);
  const tok = new ConvBertTokenizerFast({ vocab, do_lower_case: false, pad_token: vocab[0], unk_token: vocab[1], cls_token: vocab[2], sep_token: vocab[3], mask_token: vocab[4] });
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  const model = await AutoModelForMaskedLM.from_pretrained(dir);
  t.teardown(() => model.dispose());
  const exp = expected(dir);
  const idsT = exp.get('case0.input_ids')!;
  const [B, L] = idsT.dims;
  const flat = Array.from(idsT.data as ArrayLike<number | bigint>, Number);
  const texts = Array.from({ length: B }, (_, b) =>
    flat
      .slice(b * L, (b + 1) * L)
      .map((i) => vocab[i])
      .join(' '),
  );
  const enc = tok(texts, { add_special_tokens: false, padding: true });
  const out: MaskedLMOutput = await model(enc);
  const cmp = compareTensor(out.logits, exp.get('case0.logits')!, 'case0.logits');
  t.true(cmp.ok, cmp.detail);
  t.deepEqual(Array.from(out.logits.data as Float32Array), Array.from((await model.forward(enc)).logits.data as Float32Array));
});

// Type-level checks (tsc -p tsconfig.test.json); never run.
export async function typedCalls(mlm: ConvBertForMaskedLM, qa: ConvBertForQuestionAnswering, trunk: ConvBertModel, enc: { input_ids: Tensor }): Promise<number> {
  const a: MaskedLMOutput = await mlm(enc);
  const b: QuestionAnsweringModelOutput = await qa(enc, { output_hidden_states: true });
  const c = await trunk(enc);
  const batched = withBatching(mlm);
  const d: MaskedLMOutput = await batched(enc);
  // @ts-expect-error: a masked LM has no start_logits
  void (await mlm(enc)).start_logits;
  // @ts-expect-error: ConvBertModel takes no labels
  await trunk({ ...enc, labels: enc.input_ids });
  // @ts-expect-error: forward's options are typed
  await mlm(enc, { output_attention: true });
  return a.logits.dims[2] + b.start_logits.dims[1] + c.last_hidden_state.dims[2] + d.logits.dims[0];
}
