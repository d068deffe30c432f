// setup.ts: tiny random ConvBERT models for the pipeline tests, written into a
// fresh folder under os.tmpdir() (never into the repository): config.json +
// model.safetensors from fromConfig + savePretrained, the fixtures' vocab.txt,
// and a tokenizer_config.json. Weights are random, so tests check structure,
// consistency and batching invariants, never "right answers".
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
  ConvBertForMaskedLM,
  ConvBertForMultipleChoice,
  ConvBertForQuestionAnswering,
  ConvBertForSequenceClassification,
  ConvBertForTokenClassification,
  ConvBertModel,
  type ConvBertPreTrainedModel,
} from '../../lib/models';
import { fixturesDir } from '../helpers/fixtures';

export const VOCAB_FILE = fixturesDir('tokenizer', 'vocab.txt');

export function vocabSize(): number {
  return fs
    .readFileSync(VOCAB_FILE, 'utf8')
    .split('\n')
    .filter((l, i, a) => !(i === a.length - 1 && l === '')).length;
}

export const HEADS = {
  model: ConvBertModel,
  masked_lm: ConvBertForMaskedLM,
  sequence_classification: ConvBertForSequenceClassification,
  token_classification: ConvBertForTokenClassification,
  question_answering: ConvBertForQuestionAnswering,
  multiple_choice: ConvBertForMultipleChoice,
} as const;

/** Small enough that a forward of 64 tokens takes well under a millisecond of compute. */
export function tinyConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    vocab_size: vocabSize(),
    hidden_size: 32,
    embedding_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 128,
    ...extra,
  };
}

const made: string[] = [];

/** Writes a model folder for `head` and returns its path (removed by cleanup()). */
export async function makeModelDir(head: keyof typeof HEADS, seed: number, extra: Record<string, unknown> = {}, modelMaxLength = 128): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-pipe-'));
  made.push(dir);
  const cls = HEADS[head] as unknown as { fromConfig(c: Record<string, unknown>, o: { seed: number }): ConvBertPreTrainedModel };
  const m = cls.fromConfig(tinyConfig(extra), { seed });
  await m.savePretrained(dir);
  m.dispose();
  fs.copyFileSync(VOCAB_FILE, path.join(dir, 'vocab.txt'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: modelMaxLength, tokenizer_class: 'ConvBertTokenizer' }));
  return dir;
}

export function cleanup(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
