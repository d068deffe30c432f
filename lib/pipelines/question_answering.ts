// question_answering.ts: the question-answering pipeline (extractive), with HF's
// QuestionAnsweringPipeline semantics. The question and the context are encoded
// as a pair; a long context is cut into windows of max_seq_len tokens overlapping
// by doc_stride tokens ([CLS] question [SEP] context window [SEP]). Per window, start/end logits
// outside the context are masked, softmaxed, and spans (end >= start, at most
// max_answer_len tokens) scored start_p * end_p; the best spans over all windows
// win. Character offsets come from the tokenizer's offset mapping (aligned to
// whole words by default), so context.slice(start, end) === answer.
// Every window is a model row: the windows of a call are counted (from the token
// counts, before any is built) against limits.maxRows.
import { argError } from '../errors';
import { type ConvBertForQuestionAnswering } from '../models/heads/question_answering';
import { asBatch, checkAtMost, checkKeys, type PipelineCore, type Row } from './base';
import { boolOption, describe, intOption, isPlainObject } from '../validate';
import { softmax, topk } from './math';

export interface QuestionAnsweringOptions {
  /** Answers to return (default 1: one object; more: a list). */
  top_k?: number;
  /** Overlap of consecutive windows in tokens (default 128, capped at max_seq_len / 2 like HF). */
  doc_stride?: number;
  /** Tokens per window, question and specials included (default 384, capped by the model). */
  max_seq_len?: number;
  /** Longest answer in tokens (default 15). */
  max_answer_len?: number;
  /** Also consider "no answer" ({answer: '', start: 0, end: 0}) scored by the [CLS] position (default false). */
  handle_impossible_answer?: boolean;
  /** Widen answers to whole words (default true, HF's align_to_words). */
  align_to_words?: boolean;
}

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringResult {
  answer: string;
  score: number;
  start: number;
  end: number;
}

interface Window extends Row {
  example: number;
  offsets: [number, number][];
  seqIds: (number | null)[];
  wordIds: (number | null)[];
}

function checkInput(v: unknown, name: string): QuestionAnsweringInput {
  if (!isPlainObject(v)) throw argError(`${name}: expected {question, context}, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'question' && k !== 'context') throw argError(`${name}: unknown key '${k}'; expected question, context`);
  if (typeof o.question !== 'string') throw argError(`${name}.question: expected a string, got ${describe(o.question)}`);
  if (typeof o.context !== 'string') throw argError(`${name}.context: expected a string, got ${describe(o.context)}`);
  if (o.context.trim() === '') throw argError(`${name}.context: expected a non-empty string`);
  if (o.question.trim() === '') throw argError(`${name}.question: expected a non-empty string`);
  return { question: o.question, context: o.context };
}

/** How many windows of `room` context tokens, each starting `room - stride` after the last, cover n tokens (at least one). */
export function windowCount(n: number, room: number, stride: number): number {
  return n <= room ? 1 : 1 + Math.ceil((n - room) / (room - stride));
}

export async function runQuestionAnswering(
  core: PipelineCore<ConvBertForQuestionAnswering>,
  input: QuestionAnsweringInput | QuestionAnsweringInput[],
  options?: QuestionAnsweringOptions,
): Promise<QuestionAnsweringResult | QuestionAnsweringResult[] | (QuestionAnsweringResult | QuestionAnsweringResult[])[]> {
  core.checkAlive('question-answering');
  const o = checkKeys('question-answering options', options, ['top_k', 'doc_stride', 'max_seq_len', 'max_answer_len', 'handle_impossible_answer', 'align_to_words']);
  const limits = core.limits;
  const topK = intOption('top_k', o.top_k, 1, 1);
  checkAtMost('top_k', topK, 'maxTopK', limits.maxTopK);
  const maxSeqLen = Math.min(intOption('max_seq_len', o.max_seq_len, 384, 4), core.maxLength);
  const docStride = Math.min(intOption('doc_stride', o.doc_stride, 128, 0), Math.floor(maxSeqLen / 2));
  const maxAnswerLen = intOption('max_answer_len', o.max_answer_len, 15, 1);
  const impossible = boolOption('handle_impossible_answer', o.handle_impossible_answer, false);
  const align = boolOption('align_to_words', o.align_to_words, true);
  const { items, batched } = asBatch('inputs', input, checkInput);
  core.checkRows('inputs', items.length);
  const tok = core.tokenizer;

  // The windows are built from the question's and the context's own encodings
  // (WordPiece tokenizes each text alone, so this equals encoding the pair): every
  // context token lands in some window whatever the tokenizer's overflow rules.
  const encoded = items.map((x, ex) => {
    const q = tok.encode(x.question, { add_special_tokens: false }).input_ids;
    const c = tok.encode(x.context, { add_special_tokens: false, return_offsets_mapping: true, return_word_ids: true });
    const room = maxSeqLen - q.length - 3;
    if (room < 1) {
      throw argError(`inputs${batched ? `[${ex}]` : ''}.question: ${q.length} tokens leave no room for the context in max_seq_len ${maxSeqLen}`);
    }
    const stride = Math.min(docStride, room - 1);
    return { q, c, room, stride };
  });
  const nWindows = encoded.reduce((sum, e) => sum + windowCount(e.c.input_ids.length, e.room, e.stride), 0);
  core.checkRows(`question-answering windows (max_seq_len ${maxSeqLen}, doc_stride ${docStride}, over ${items.length} input(s))`, nWindows);

  const windows: Window[] = [];
  const cls = tok.cls_token_id;
  const sep = tok.sep_token_id;
  encoded.forEach(({ q, c, room, stride }, ex) => {
    const n = c.input_ids.length;
    for (let s0 = 0; ; s0 += room - stride) {
      const s1 = Math.min(s0 + room, n);
      const ctxIds = c.input_ids.slice(s0, s1);
      const L = q.length + ctxIds.length + 3;
      const offsets: [number, number][] = new Array(L).fill([0, 0]);
      const seqIds: (number | null)[] = new Array(L).fill(null);
      const wordIds: (number | null)[] = new Array(L).fill(null);
      for (let j = 0; j < q.length; j++) seqIds[1 + j] = 0;
      const base = q.length + 2;
      for (let j = 0; j < ctxIds.length; j++) {
        offsets[base + j] = c.offset_mapping![s0 + j];
        seqIds[base + j] = 1;
        wordIds[base + j] = c.word_ids![s0 + j];
      }
      windows.push({
        example: ex,
        input_ids: [cls, ...q, sep, ...ctxIds, sep],
        token_type_ids: [...new Array<number>(q.length + 2).fill(0), ...new Array<number>(ctxIds.length + 1).fill(1)],
        offsets,
        seqIds,
        wordIds,
      });
      if (s1 >= n) break;
    }
  });
  const outs = await core.run(windows, ['start_logits', 'end_logits']);

  const answers: QuestionAnsweringResult[][] = items.map(() => []);
  const nullScore = items.map(() => Infinity);
  windows.forEach((w, wi) => {
    const L = w.input_ids.length;
    const ctx = items[w.example].context;
    const inCtx = w.seqIds.map((s) => s === 1);
    // Like HF: every non-context token is masked except [CLS], whose probability is the "no answer" score.
    const masked = (a: Float32Array): Float64Array => {
      const m = new Float64Array(L);
      for (let j = 0; j < L; j++) m[j] = inCtx[j] || j === 0 ? a[j] : -10000;
      return m;
    };
    const ps = softmax(masked(outs[wi].start_logits.data as Float32Array));
    const pe = softmax(masked(outs[wi].end_logits.data as Float32Array));
    nullScore[w.example] = Math.min(nullScore[w.example], ps[0] * pe[0]);
    // Spans (end >= start, at most max_answer_len tokens) in (start, end) order, so
    // equal scores keep that order, as a stable sort of the list would.
    const spanS: number[] = [];
    const spanE: number[] = [];
    const spanScore: number[] = [];
    for (let s = 0; s < L; s++) {
      if (!inCtx[s]) continue;
      for (let e = s; e < Math.min(L, s + maxAnswerLen); e++) {
        if (!inCtx[e]) continue;
        spanS.push(s);
        spanE.push(e);
        spanScore.push(ps[s] * pe[e]);
      }
    }
    // Each word's character span over this window's context tokens (for align_to_words).
    const wordSpan = new Map<number | null, [number, number]>();
    for (let j = 0; j < L; j++) {
      if (!inCtx[j]) continue;
      const ws = wordSpan.get(w.wordIds[j]);
      if (ws) {
        ws[0] = Math.min(ws[0], w.offsets[j][0]);
        ws[1] = Math.max(ws[1], w.offsets[j][1]);
      } else wordSpan.set(w.wordIds[j], [w.offsets[j][0], w.offsets[j][1]]);
    }
    // Word alignment can map two token spans to one character span: keep the first (best) of
    // each. The best `want` spans come from a partial selection; only when duplicates leave
    // fewer than top_k answers among them is the selection widened (doubled), up to all spans.
    for (let want = topK; ; want *= 2) {
      const order = topk(spanScore, want);
      const seen = new Set<string>();
      const found: QuestionAnsweringResult[] = [];
      for (const k of order) {
        if (seen.size >= topK) break;
        let start = w.offsets[spanS[k]][0];
        let end = w.offsets[spanE[k]][1];
        if (align) {
          start = Math.min(start, wordSpan.get(w.wordIds[spanS[k]])![0]);
          end = Math.max(end, wordSpan.get(w.wordIds[spanE[k]])![1]);
        }
        const key = `${start}:${end}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push({ answer: ctx.slice(start, end), score: spanScore[k], start, end });
      }
      if (seen.size >= topK || order.length >= spanScore.length) {
        answers[w.example].push(...found);
        break;
      }
    }
  });

  const results = answers.map((list, ex) => {
    if (impossible) list.push({ answer: '', score: nullScore[ex], start: 0, end: 0 });
    // The same span can win in two overlapping windows: keep its best score once.
    const seen = new Set<string>();
    const uniq = list
      .sort((a, b) => b.score - a.score || a.start - b.start || a.end - b.end)
      .filter((a) => {
        const k = `${a.start}:${a.end}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .slice(0, topK);
    // A context that tokenizes to nothing has no span: the only answer is "no answer".
    if (uniq.length === 0) uniq.push({ answer: '', score: nullScore[ex] === Infinity ? 0 : nullScore[ex], start: 0, end: 0 });
    return topK === 1 ? uniq[0] : uniq;
  });
  return batched ? results : results[0];
}
