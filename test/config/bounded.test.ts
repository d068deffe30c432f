// bounded.test.ts: num_labels expands into id2label and label2id before anything else
// reads it, so it is bounded (MAX_NUM_LABELS) with a typed error; a 20-byte
// "num_labels": 1e7 used to build two 10^7-entry maps for minutes and then run out of
// heap. An explicit id2label is held to the same bound. Label maps at the limit still
// build quickly (they are written by plain assignment: defineProperty on integer keys
// had made each write slow).
import test from 'ava';

import { ConvBertConfig, MAX_NUM_LABELS } from '../../lib/config';
import { ConvBertError } from '../../lib/errors';

test('num_labels past MAX_NUM_LABELS is ERR_CONVBERT_UNSUPPORTED, from config.json values and from the setter', (t) => {
  t.is(MAX_NUM_LABELS, 65536);
  for (const n of [1e7, 1e12, MAX_NUM_LABELS + 1]) {
    const err = t.throws(() => ConvBertConfig.fromDict({ num_labels: n }), { instanceOf: ConvBertError });
    t.is(err?.code, 'ERR_CONVBERT_UNSUPPORTED');
    t.is(err?.message, `config: num_labels: expected at most 65536 labels (MAX_NUM_LABELS; each gets an id2label and a label2id entry), got ${n}`);
  }
  const c = new ConvBertConfig();
  const err = t.throws(() => (c.num_labels = 1e7), { instanceOf: ConvBertError });
  t.is(err?.code, 'ERR_CONVBERT_UNSUPPORTED');
  t.is(c.num_labels, 2, 'a refused value leaves the labels as they were');
  // wrong types stay config errors
  t.is(t.throws(() => ConvBertConfig.fromDict({ num_labels: -1 }))?.message, 'config: num_labels: expected a non-negative integer, got number -1');
});

test('num_labels at the limit builds its label maps (LABEL_i, both directions)', (t) => {
  const c = ConvBertConfig.fromDict({ num_labels: MAX_NUM_LABELS });
  t.is(c.num_labels, MAX_NUM_LABELS);
  t.is(c.id2label[MAX_NUM_LABELS - 1], `LABEL_${MAX_NUM_LABELS - 1}`);
  t.is(c.label2id[`LABEL_${MAX_NUM_LABELS - 1}`], MAX_NUM_LABELS - 1);
  // a label named like Object.prototype's members is data, not a prototype change
  const odd = ConvBertConfig.fromDict({ id2label: { 0: '__proto__', 1: 'constructor' } });
  t.deepEqual(Object.keys(odd.label2id), ['__proto__', 'constructor']);
  t.is(odd.label2id['__proto__'], 0);
  t.is(Object.getPrototypeOf(odd.label2id), Object.prototype);
});

test('an explicit id2label is held to the same MAX_NUM_LABELS', (t) => {
  const id2label: Record<string, string> = {};
  for (let i = 0; i <= MAX_NUM_LABELS; i++) id2label[i] = `L${i}`;
  const err = t.throws(() => ConvBertConfig.fromDict({ id2label }), { instanceOf: ConvBertError });
  t.is(err?.code, 'ERR_CONVBERT_UNSUPPORTED');
  t.is(err?.message, 'config: id2label: expected at most 65536 labels (MAX_NUM_LABELS), got 65537');
  delete id2label[MAX_NUM_LABELS];
  t.is(ConvBertConfig.fromDict({ id2label }).num_labels, MAX_NUM_LABELS);
});
