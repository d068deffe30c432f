// token_classification.ts: the token-classification (NER) pipeline, with HF's
// TokenClassificationPipeline semantics: softmax per token, special tokens
// dropped, aggregation_strategy none | simple | first | average | max (the last
// three first merge sub-word tokens into words, then all but none group
// consecutive B-/I- tags into entities), ignore_labels (default ['O']).
// start/end are UTF-16 offsets into the original text (text.slice(start, end)).
import { argError } from '../errors';
import { type ConvBertForTokenClassification } from '../models/heads/token_classification';
import { type PreTrainedTokenizerBase } from '../tokenizer/base';
import { asBatch, checkKeys, checkText, encodeRows, type PipelineCore } from './base';
import { describe, enumOption } from '../validate';
import { argmax, softmax } from './math';
import { labelName } from './text_classification';

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

export interface TokenClassificationOptions {
  /** Default 'none'. */
  aggregation_strategy?: AggregationStrategy;
  /** Labels (or entity groups) left out of the output; default ['O']. */
  ignore_labels?: string[];
}

/** aggregation_strategy 'none': one entry per token. */
export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

/** Any other strategy: one entry per entity (grouped words). */
export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

/** One non-special token before aggregation (HF's pre_entity). */
export interface PreEntity {
  word: string;
  scores: Float64Array;
  start: number;
  end: number;
  index: number;
  isSubword: boolean;
}

interface Entity {
  entity: string;
  score: number;
  word: string;
  start: number;
  end: number;
  index?: number;
}

/** BERT's convert_tokens_to_string: join with spaces, glue "##" pieces. */
function tokensToString(tok: PreTrainedTokenizerBase, tokens: string[]): string {
  const p = tok.continuing_subword_prefix;
  return tokens.join(' ').split(` ${p}`).join('').trim();
}

/** HF's tag split: "B-PER" -> [B, PER], "I-PER" -> [I, PER], anything else is an inside tag of itself. */
function getTag(name: string): [string, string] {
  if (name.startsWith('B-')) return ['B', name.slice(2)];
  if (name.startsWith('I-')) return ['I', name.slice(2)];
  return ['I', name];
}

function groupSubEntities(tok: PreTrainedTokenizerBase, es: Entity[]): EntityGroup {
  const entity = es[0].entity.includes('-') ? es[0].entity.slice(es[0].entity.indexOf('-') + 1) : es[0].entity;
  let s = 0;
  for (const e of es) s += e.score;
  return {
    entity_group: entity,
    score: s / es.length,
    word: tokensToString(
      tok,
      es.map((e) => e.word),
    ),
    start: es[0].start,
    end: es[es.length - 1].end,
  };
}

/** Consecutive entities with the same tag merge unless the next one begins (B-) a new entity. */
function groupEntities(tok: PreTrainedTokenizerBase, entities: Entity[]): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let cur: Entity[] = [];
  for (const e of entities) {
    if (cur.length === 0) {
      cur.push(e);
      continue;
    }
    const [bi, tag] = getTag(e.entity);
    const [, lastTag] = getTag(cur[cur.length - 1].entity);
    if (tag === lastTag && bi !== 'B') cur.push(e);
    else {
      groups.push(groupSubEntities(tok, cur));
      cur = [e];
    }
  }
  if (cur.length > 0) groups.push(groupSubEntities(tok, cur));
  return groups;
}

function aggregateWord(tok: PreTrainedTokenizerBase, labels: (i: number) => string, es: PreEntity[], strategy: 'first' | 'average' | 'max'): Entity {
  const word = tokensToString(
    tok,
    es.map((e) => e.word),
  );
  let scores: Float64Array;
  if (strategy === 'first') scores = es[0].scores;
  else if (strategy === 'max') {
    let best = es[0];
    let bestMax = -Infinity;
    for (const e of es) {
      const m = e.scores[argmax(e.scores)];
      if (m > bestMax) {
        bestMax = m;
        best = e;
      }
    }
    scores = best.scores;
  } else {
    scores = new Float64Array(es[0].scores.length);
    for (const e of es) for (let k = 0; k < scores.length; k++) scores[k] += e.scores[k];
    for (let k = 0; k < scores.length; k++) scores[k] /= es.length;
  }
  const idx = argmax(scores);
  return { entity: labels(idx), score: scores[idx], word, start: es[0].start, end: es[es.length - 1].end };
}

function aggregateWords(tok: PreTrainedTokenizerBase, labels: (i: number) => string, pre: PreEntity[], strategy: 'first' | 'average' | 'max'): Entity[] {
  const out: Entity[] = [];
  let group: PreEntity[] = [];
  for (const e of pre) {
    if (group.length === 0) group.push(e);
    else if (e.isSubword) group.push(e);
    else {
      out.push(aggregateWord(tok, labels, group, strategy));
      group = [e];
    }
  }
  if (group.length > 0) out.push(aggregateWord(tok, labels, group, strategy));
  return out;
}

/** HF's aggregate(): per-token entities ('none'), or grouped entities for the other strategies. */
export function aggregateEntities(tok: PreTrainedTokenizerBase, pre: PreEntity[], strategy: AggregationStrategy, labels: (i: number) => string): (TokenEntity | EntityGroup)[] {
  if (strategy === 'none' || strategy === 'simple') {
    const es: Entity[] = pre.map((p) => {
      const k = argmax(p.scores);
      return { entity: labels(k), score: p.scores[k], index: p.index, word: p.word, start: p.start, end: p.end };
    });
    return strategy === 'none' ? (es as TokenEntity[]) : groupEntities(tok, es);
  }
  return groupEntities(tok, aggregateWords(tok, labels, pre, strategy));
}

function checkIgnore(v: unknown): string[] {
  if (v === undefined) return ['O'];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw argError(`ignore_labels: expected an array of strings, got ${describe(v)}`);
  return v as string[];
}

export async function runTokenClassification(
  core: PipelineCore<ConvBertForTokenClassification>,
  input: string | string[],
  options?: TokenClassificationOptions,
): Promise<(TokenEntity | EntityGroup)[] | (TokenEntity | EntityGroup)[][]> {
  core.checkAlive('token-classification');
  const o = checkKeys('token-classification options', options, ['aggregation_strategy', 'ignore_labels']);
  const strategy = enumOption<AggregationStrategy>('aggregation_strategy', o.aggregation_strategy, ['none', 'simple', 'first', 'average', 'max'], 'none');
  // A Set: the list comes from the caller and is checked once per entity.
  const ignore = new Set(checkIgnore(o.ignore_labels));
  const { items, batched } = asBatch('texts', input, checkText);
  core.checkRows('texts', items.length);
  const tok = core.tokenizer;
  const c = core.model.config;
  const N = c.num_labels;
  const labels = (i: number): string => labelName(c, i);
  const rows = await encodeRows(tok, items, null, core.maxLength, { offsets: true, special: true });
  const outs = await core.run(rows, ['logits']);
  const unk = tok.unk_token_id;
  const results = rows.map((r, i) => {
    const text = items[i];
    const logits = outs[i].logits.data as Float32Array;
    const pre: PreEntity[] = [];
    for (let j = 0; j < r.input_ids.length; j++) {
      if (r.special![j] === 1) continue;
      const id = r.input_ids[j];
      const [start, end] = r.offsets![j];
      const wordRef = text.slice(start, end);
      let word = tok.idToToken(id) ?? tok.unk_token;
      // Fast-tokenizer rule of HF: a token is a sub-word when its vocab form is longer than
      // the text it covers (the "##" prefix); an unknown token counts as a whole word.
      let isSubword = word.length !== wordRef.length;
      if (id === unk) {
        word = wordRef;
        isSubword = false;
      }
      pre.push({ word, scores: softmax(logits.subarray(j * N, (j + 1) * N)), start, end, index: j, isSubword });
    }
    const ents = aggregateEntities(tok, pre, strategy, labels);
    return ents.filter((e) => !ignore.has('entity' in e ? e.entity : e.entity_group));
  });
  return batched ? results : results[0];
}
