// forward() runs off the JS thread: a 1 ms timer keeps firing during a forward
// that takes over 200 ms, and many concurrent forwards on one model equal the
// sequential ones exactly (same engine, same inputs: the result is deterministic).
import test from 'ava';

import { Tensor } from '../../lib/tensor';
import { ConvBertForSequenceClassification, ConvBertModel, type SequenceClassifierOutput } from '../../lib/models';
import { mulberry32 } from '../helpers/rng';

function randomIds(seed: number, B: number, L: number, V: number): Tensor<'int64'> {
  const r = mulberry32(seed);
  const a = new BigInt64Array(B * L);
  for (let i = 0; i < a.length; i++) a[i] = BigInt(Math.floor(r() * V));
  return new Tensor('int64', a, [B, L]);
}

test('a 1 ms timer keeps firing while a long forward runs', async (t) => {
  const m = ConvBertModel.fromConfig(
    { vocab_size: 1000, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024, embedding_size: 256, max_position_embeddings: 512 },
    { seed: 1 },
  );
  t.teardown(() => m.dispose());
  // Double the batch until one forward (timed with the timer running) takes over 200 ms here.
  let elapsed = 0;
  let ticks = 0;
  for (let B = 4; B <= 512 && elapsed <= 200; B *= 2) {
    const ids = randomIds(B, B, 256, 1000);
    ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await m.forward({ input_ids: ids });
    elapsed = performance.now() - t0;
    clearInterval(timer);
  }
  t.true(elapsed > 200, `the longest forward took ${elapsed.toFixed(0)} ms`);
  // A blocked loop gives 0 or 1 ticks; a free one about one per ms. Timers are coarse when the
  // engine's threads hold every core, so ask for one per 40 ms, and at least 5.
  t.true(ticks >= Math.max(5, elapsed / 40), `${ticks} ticks in ${elapsed.toFixed(0)} ms`);
});

test('concurrent forwards on one model equal sequential ones, outputs and losses', async (t) => {
  const m = ConvBertForSequenceClassification.fromConfig(
    { vocab_size: 200, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, embedding_size: 48, num_labels: 3 },
    { seed: 2 },
  );
  t.teardown(() => m.dispose());
  const inputs = Array.from({ length: 12 }, (_, i) => ({
    input_ids: randomIds(100 + i, 1 + (i % 3), 8 + 5 * (i % 4), 200),
    labels: new Tensor(
      'int64',
      Array.from({ length: 1 + (i % 3) }, (_, j) => (i + j) % 3),
    ),
  }));
  const seq: SequenceClassifierOutput[] = [];
  for (const x of inputs) seq.push(await m.forward(x, { output_hidden_states: true }));
  const par = await Promise.all(inputs.map((x) => m.forward(x, { output_hidden_states: true })));
  par.forEach((o, i) => {
    t.deepEqual(Array.from(o.logits.data), Array.from(seq[i].logits.data), `logits ${i}`);
    t.is(o.loss!.item(), seq[i].loss!.item(), `loss ${i}`);
    t.deepEqual(Array.from(o.hidden_states![2].data), Array.from(seq[i].hidden_states![2].data), `hidden ${i}`);
  });
});
