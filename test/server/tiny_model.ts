// tiny_model.ts: a tiny random ConvBERT saved in HF layout under os.tmpdir()
// (fromConfig + savePretrained) with the fixtures' WordPiece vocab and a
// tokenizer_config.json, for the server and CLI tests. Weights are random, so
// tests check shapes, statuses and batched == alone, never label values.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertForMaskedLM, ConvBertForQuestionAnswering, ConvBertForSequenceClassification, ConvBertForTokenClassification, ConvBertModel } from '../../lib/models';
import { fixturesDir } from '../helpers/fixtures';

export const TINY_CONFIG = {
  vocab_size: 30522,
  hidden_size: 32,
  embedding_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  max_position_embeddings: 128,
};

export type TinyHead = 'masked_lm' | 'sequence_classification' | 'question_answering' | 'token_classification' | 'base';

/** The token-classification head's BIO tags. */
export const TINY_NER_LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

/** Writes the model folder and returns its path; remove it with fs.rmSync(dir, {recursive: true}). */
export async function makeTinyModel(head: TinyHead, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `convbert-serve-${head}-`));
  const cfg = { ...TINY_CONFIG, ...extra };
  const m =
    head === 'masked_lm'
      ? ConvBertForMaskedLM.fromConfig(cfg, { seed: 11 })
      : head === 'sequence_classification'
        ? ConvBertForSequenceClassification.fromConfig(
            { num_labels: 3, id2label: { 0: 'contradiction', 1: 'neutral', 2: 'entailment' }, label2id: { contradiction: 0, neutral: 1, entailment: 2 }, ...cfg },
            { seed: 12 },
          )
        : head === 'question_answering'
          ? ConvBertForQuestionAnswering.fromConfig(cfg, { seed: 14 })
          : head === 'token_classification'
            ? ConvBertForTokenClassification.fromConfig(
                { num_labels: TINY_NER_LABELS.length, id2label: { ...TINY_NER_LABELS }, label2id: Object.fromEntries(TINY_NER_LABELS.map((l, i) => [l, i])), ...cfg },
                { seed: 15 },
              )
            : ConvBertModel.fromConfig(cfg, { seed: 13 });
  try {
    await m.savePretrained(dir);
  } finally {
    m.dispose();
  }
  fs.copyFileSync(fixturesDir('tokenizer', 'vocab.txt'), path.join(dir, 'vocab.txt'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 128, tokenizer_class: 'ConvBertTokenizer' }));
  return dir;
}
