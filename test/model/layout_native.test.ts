// layout_native.test.ts: the parameter table (lib/models/layout.ts) is the one
// list of HF keys and shapes. The native engine reads its weights by the same
// names; this checks, for every head and the geometry variants that change the
// list (embeddings_project, grouped FFN, the multiple-choice summary), that the
// engine reads exactly the layout's keys, each once, each with the
// layout's element count (the binding refuses any other length).
import test from 'ava';

import { ARCHITECTURE_HEADS, ConvBertConfig, type ConvBertArchitecture } from '../../lib/config';
import { layoutConfig } from '../../lib/models/checkpoint_map';
import type { EngineSpec, HeadKind } from '../../lib/engine_types';
import { headLayout, trunkLayout, type ParamSpec } from '../../lib/models/layout';
import { engineClass } from '../engine/fixture_model';

const BASE = {
  vocab_size: 40,
  hidden_size: 32,
  embedding_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 48,
  max_position_embeddings: 24,
  conv_kernel_size: 3,
};

const ARCH_OF = Object.fromEntries(Object.entries(ARCHITECTURE_HEADS).map(([a, k]) => [k, a])) as Record<HeadKind, ConvBertArchitecture>;

const numel = (s: ParamSpec): number => s.shape.reduce((a, b) => a * b, 1);

/** An object of zero weights sized by the layout, recording each key the engine reads. */
function recording(specs: ParamSpec[], reads: string[]): Record<string, Float32Array> {
  const o = Object.fromEntries(specs.map((s) => [s.key, new Float32Array(numel(s))]));
  return new Proxy(o, {
    get(target, key, receiver) {
      if (typeof key === 'string' && Object.prototype.hasOwnProperty.call(target, key)) reads.push(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

const CASES: Array<{ name: string; kind: HeadKind; config: Record<string, unknown> }> = [
  { name: 'trunk', kind: 'none', config: {} },
  { name: 'trunk, embedding_size != hidden_size, grouped FFN', kind: 'none', config: { embedding_size: 16, num_groups: 2 } },
  { name: 'masked LM, embedding_size != hidden_size', kind: 'masked_lm', config: { embedding_size: 16 } },
  { name: 'sequence classification, 3 labels', kind: 'sequence_classification', config: { num_labels: 3 } },
  { name: 'token classification, 5 labels, grouped FFN', kind: 'token_classification', config: { num_labels: 5, num_groups: 4 } },
  { name: 'question answering', kind: 'question_answering', config: {} },
  { name: 'multiple choice, summary projection', kind: 'multiple_choice', config: { summary_use_proj: true, summary_proj_to_labels: false } },
  { name: 'multiple choice, summary projection to hidden_size labels', kind: 'multiple_choice', config: { summary_use_proj: true, summary_proj_to_labels: true, num_labels: 32 } },
  { name: 'multiple choice, no projection', kind: 'multiple_choice', config: { summary_use_proj: false } },
];

for (const { name, kind, config } of CASES) {
  test(`the engine reads exactly the layout's weights: ${name}`, (t) => {
    const c = new ConvBertConfig({ ...BASE, ...config });
    c.validate(ARCH_OF[kind]); // a config transformers can run with this head
    const lc = layoutConfig(c);
    const trunk = trunkLayout(lc);
    const head = headLayout(kind, lc);
    const trunkReads: string[] = [];
    const headReads: string[] = [];
    const spec: EngineSpec = {
      ...c.engineGeometry(),
      weights: recording(trunk, trunkReads),
      head: {
        kind,
        weights: recording(head, headReads),
        num_outputs: c.headOutputs(ARCH_OF[kind]),
        act: c.hiddenActCode,
        summary_type: c.summaryType,
        summary_use_proj: c.summaryUseProj,
        summary_proj_out: c.summaryProjOut,
        summary_act: c.summaryActCode,
      },
    };
    const Engine = engineClass();
    const engine = new Engine(spec);
    // Each key read once; the order is the engine's (it stacks query/key/value/conv_out_layer).
    const sorted = (keys: string[]): string[] => [...keys].sort();
    t.deepEqual(sorted(trunkReads), sorted(trunk.map((s) => s.key)));
    t.deepEqual(sorted(headReads), sorted(head.map((s) => s.key)));
    engine.dispose();
  });
}

test('a weight whose length differs from the layout is refused naming it', (t) => {
  const c = new ConvBertConfig(BASE);
  const lc = layoutConfig(c);
  const weights = Object.fromEntries(trunkLayout(lc).map((s) => [s.key, new Float32Array(numel(s))]));
  weights['encoder.layer.1.intermediate.dense.weight'] = new Float32Array(7);
  const Engine = engineClass();
  const e = t.throws(() => new Engine({ ...c.engineGeometry(), weights, head: { kind: 'none', weights: {}, num_outputs: 0 } }));
  t.regex(e!.message, /encoder\.layer\.1\.intermediate\.dense\.weight/);
});

test('multiple choice: a summary projection narrower than hidden_size is refused (classifier is Linear(hidden_size, 1))', (t) => {
  // HF's ConvBertConfig validation refuses this too; the engine must not build a model transformers has no equal of.
  const c = new ConvBertConfig(BASE);
  const lc = layoutConfig(c);
  const weights = Object.fromEntries(trunkLayout(lc).map((s) => [s.key, new Float32Array(numel(s))]));
  const H = c.hidden_size;
  const head = {
    'sequence_summary.summary.weight': new Float32Array(H),
    'sequence_summary.summary.bias': new Float32Array(1),
    'classifier.weight': new Float32Array(1),
    'classifier.bias': new Float32Array(1),
  };
  const Engine = engineClass();
  const e = t.throws(
    () =>
      new Engine({
        ...c.engineGeometry(),
        weights,
        head: { kind: 'multiple_choice', weights: head, num_outputs: 1, summary_type: 'last', summary_use_proj: true, summary_proj_out: 1, summary_act: -1 },
      }),
  );
  t.regex(e!.message, /summary_proj_out 1 must equal hidden_size 32/);
});
