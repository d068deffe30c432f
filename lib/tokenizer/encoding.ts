// encoding.ts: the encoding record and the pure functions over it, with the
// semantics of HF tokenizers' Encoding: truncation (strategies, sides, stride
// windows, overflow), the [CLS] A [SEP] (B [SEP]) template with token_type_ids and
// special_tokens_mask, padding with attention_mask, offsets (UTF-16 or code points),
// and the rows a call returns. Enc is the internal record (flat arrays); nothing
// here tokenizes text or reads the tokenizer's options (base.ts resolves them into a Plan).
import { type Tensor } from '../tensor';
import { type CoreEncoding } from './core';
import { limitError, tokError } from './errors';
import { type EncodeOptions, type OffsetUnit, type PaddingStrategy, type Side, type TruncationStrategy } from './options';
import { describe } from '../validate';

/**
 * The longest row padding may make: padding to a max_length (or the model_max_length
 * that stands in for it) or a pad_to_multiple_of beyond this is refused with
 * ERR_CONVBERT_LIMIT. transformers only warns; here a max_length of 1e9 would fill
 * arrays of 1e9 entries and kill the process. 2^20 tokens is 2000 times what a
 * ConvBERT checkpoint takes (max_position_embeddings 512).
 */
export const MAX_PADDED_LENGTH = 1 << 20;

/**
 * The most tokens one encode / encodeBatch call may return once padding (rows x padded
 * length) and overflow windows are counted; beyond it the call is refused with
 * ERR_CONVBERT_LIMIT before anything is allocated. Calls without padding or overflow are
 * not counted: their size is the input's. 2^24 tokens with every optional field is about
 * 3 GB of JS arrays, under V8's default heap; split larger batches.
 */
export const MAX_OUTPUT_TOKENS = 1 << 24;

/** One encoded row, HF names. */
export interface EncodedRow {
  input_ids: number[];
  token_type_ids?: number[];
  attention_mask?: number[];
  offset_mapping?: [number, number][];
  special_tokens_mask?: number[];
  word_ids?: (number | null)[];
  sequence_ids?: (number | null)[];
}

/** encode(): one row, plus the overflow windows (each a complete row) when asked for. */
export interface EncodeResult extends EncodedRow {
  overflowing?: EncodedRow[];
}

/** encodeBatch(): the same fields as arrays of rows (overflow windows flattened in, as transformers does). */
export interface BatchEncodeResult {
  input_ids: number[][];
  token_type_ids?: number[][];
  attention_mask?: number[][];
  offset_mapping?: [number, number][][];
  special_tokens_mask?: number[][];
  word_ids?: (number | null)[][];
  sequence_ids?: (number | null)[][];
  /** With return_overflowing_tokens: the input row each output row came from. */
  overflow_to_sample_mapping?: number[];
}

/** Everything tokenizers' Encoding holds (for tests and callers that want tokens/words). */
export interface FullEncoding {
  tokens: string[];
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  special_tokens_mask: number[];
  offsets: [number, number][];
  word_ids: (number | null)[];
  sequence_ids: (number | null)[];
  overflowing: FullEncoding[];
}

/** What `tokenizer(text)` returns with return_tensor (the default): int64 Tensors of dims [batch, L]. */
export interface TokenizerTensors {
  input_ids: Tensor<'int64'>;
  token_type_ids?: Tensor<'int64'>;
  attention_mask?: Tensor<'int64'>;
  /** With return_special_tokens_mask. */
  special_tokens_mask?: Tensor<'int64'>;
  /** With return_offsets_mapping: dims [batch, L, 2]. */
  offset_mapping?: Tensor<'int64'>;
  /** With return_overflowing_tokens: dims [rows], the input each row came from. */
  overflow_to_sample_mapping?: Tensor<'int64'>;
}

/** Internal encoding: flat arrays; -1 stands for null in words/seqs. */
export interface Enc {
  ids: number[];
  types: number[];
  offs: number[]; // 2 per token
  words: number[];
  seqs: number[];
  special: number[];
  attn: number[];
  tokens: (string | null)[] | null; // only when a core returned token strings (never_split)
}

export function emptyEnc(): Enc {
  return { ids: [], types: [], offs: [], words: [], seqs: [], special: [], attn: [], tokens: null };
}

function sliceEnc(e: Enc, a: number, b: number): Enc {
  return {
    ids: e.ids.slice(a, b),
    types: e.types.slice(a, b),
    offs: e.offs.slice(2 * a, 2 * b),
    words: e.words.slice(a, b),
    seqs: e.seqs.slice(a, b),
    special: e.special.slice(a, b),
    attn: e.attn.slice(a, b),
    tokens: e.tokens ? e.tokens.slice(a, b) : null,
  };
}

export function fill<T>(n: number, v: T): T[] {
  return new Array<T>(n).fill(v);
}

/** Resolved truncation/padding settings of one call. */
export interface Plan {
  addSpecial: boolean;
  truncation: TruncationStrategy;
  maxLength: number | null;
  stride: number;
  truncSide: Side;
  padding: PaddingStrategy;
  padMultiple: number | null;
  padSide: Side;
  /** Build the overflow windows (the caller returns them); otherwise truncation only cuts. */
  keepOverflow: boolean;
  /** Tokens of the overflow windows built so far in this call (checked against MAX_OUTPUT_TOKENS). */
  overflowTokens: number;
}

/**
 * The tokenizer as the template and padding see it. Each id is read only where it is
 * used, so a special token missing from the vocab errors where it always did.
 */
export interface TemplateTokens {
  readonly cls_token_id: number;
  readonly sep_token_id: number;
  readonly pad_token_id: number;
  numSpecialTokensToAdd(pair?: boolean): number;
}

// ------------------------------------------------------------------ truncate, template, pad

/** Truncate (tokenizers' truncate_encodings), then apply the template to the main and overflow windows. */
export function postProcess(t: TemplateTokens, a: Enc, b: Enc | null, plan: Plan): { main: Enc; overflowing: Enc[] } {
  let aOv: Enc[] = [];
  let bOv: Enc[] = [];
  if (plan.truncation !== 'do_not_truncate' && plan.maxLength !== null) {
    a = keepWords(a, plan.maxLength, plan.truncSide);
    if (b) b = keepWords(b, plan.maxLength, plan.truncSide);
    const nAdded = plan.addSpecial ? t.numSpecialTokensToAdd(b !== null) : 0;
    if (plan.maxLength < nAdded) {
      throw tokError(`max_length: ${plan.maxLength} is smaller than the ${nAdded} special tokens the template adds`);
    }
    const maxLen = plan.maxLength - nAdded;
    const total = a.ids.length + (b ? b.ids.length : 0);
    if (total > maxLen) {
      const toRemove = total - maxLen;
      if (plan.truncation === 'longest_first') {
        if (b) {
          let n1 = a.ids.length;
          let n2 = b.ids.length;
          let swap = false;
          if (n1 > n2) {
            swap = true;
            [n1, n2] = [n2, n1];
          }
          if (n1 > maxLen) n2 = n1;
          else n2 = Math.max(n1, maxLen - n1);
          if (n1 + n2 > maxLen) {
            n1 = Math.floor(maxLen / 2);
            n2 = n1 + (maxLen % 2);
          }
          if (swap) [n1, n2] = [n2, n1];
          chargeOverflow(plan, a.ids.length, n1, b.ids.length, n2, nAdded);
          [a, aOv] = truncateEnc(a, n1, plan.stride, plan.truncSide, plan.keepOverflow);
          [b, bOv] = truncateEnc(b, n2, plan.stride, plan.truncSide, plan.keepOverflow);
        } else {
          chargeOverflow(plan, a.ids.length, total - toRemove, 0, 0, nAdded);
          [a, aOv] = truncateEnc(a, total - toRemove, plan.stride, plan.truncSide, plan.keepOverflow);
        }
      } else {
        const first = plan.truncation === 'only_first';
        if (!first && !b) throw tokError('Truncation error: Second sequence not provided');
        const target = first ? a : b!;
        const len = target.ids.length;
        if (len <= toRemove) throw tokError('Truncation error: Sequence to truncate too short to respect the provided max_length');
        const other = first ? b : a;
        const otherLen = other ? other.ids.length : 0;
        chargeOverflow(plan, len, len - toRemove, otherLen, otherLen, nAdded);
        const [t, ov] = truncateEnc(target, len - toRemove, plan.stride, plan.truncSide, plan.keepOverflow);
        if (first) [a, aOv] = [t, ov];
        else [b, bOv] = [t, ov];
      }
    }
  }
  const main = applyTemplate(t, a, b, plan.addSpecial);
  // Overflow order of tokenizers' Encoding::merge_with (first level only, as transformers uses):
  // each A window with B then with each B window, then A with each B window.
  const overflowing: Enc[] = [];
  for (const ao of aOv) {
    overflowing.push(applyTemplate(t, ao, b, plan.addSpecial));
    for (const bo of bOv) overflowing.push(applyTemplate(t, ao, bo, plan.addSpecial));
  }
  for (const bo of bOv) overflowing.push(applyTemplate(t, a, bo, plan.addSpecial));
  return { main, overflowing };
}

/**
 * Counts the tokens of the overflow windows that truncating sequences of aLen and bLen
 * tokens to aKeep and bKeep will build (A windows, B windows, and every A x B pair, as
 * tokenizers merges them) and refuses the call once they pass MAX_OUTPUT_TOKENS, before
 * any window exists: a stride of max_length - 1 over a long text makes one window per
 * token, each nearly max_length long.
 */
function chargeOverflow(plan: Plan, aLen: number, aKeep: number, bLen: number, bKeep: number, nAdded: number): void {
  if (!plan.keepOverflow) return;
  const wa = extraWindows(aLen, aKeep, plan.stride);
  const wb = extraWindows(bLen, bKeep, plan.stride);
  const rows = wa + wa * wb + wb;
  if (rows === 0) return;
  // a window holds at most its side's kept length (the whole sequence when that is 0)
  const rowLen = (aKeep > 0 ? Math.min(aKeep, aLen) : aLen) + (bKeep > 0 ? Math.min(bKeep, bLen) : bLen) + nAdded;
  plan.overflowTokens += rows * rowLen;
  if (plan.overflowTokens > MAX_OUTPUT_TOKENS) {
    throw limitError(
      `return_overflowing_tokens: ${rows} overflow windows of up to ${rowLen} tokens (max_length ${plan.maxLength}, stride ${plan.stride}) ` +
        `would make this call return more than ${MAX_OUTPUT_TOKENS} tokens (MAX_OUTPUT_TOKENS); use a smaller stride, a larger max_length or fewer texts per call`,
    );
  }
}

/**
 * Whether the template of these core outputs needs no truncation: then postProcess
 * would only apply the template (keepWords and truncateEnc are no-ops, no error).
 */
export function fitsUntruncated(t: TemplateTokens, ca: CoreEncoding | null, cb: CoreEncoding | null, hasB: boolean, plan: Plan): boolean {
  if (plan.truncation === 'do_not_truncate' || plan.maxLength === null) return true;
  const nAdded = plan.addSpecial ? t.numSpecialTokensToAdd(hasB) : 0;
  const n = (ca ? ca.ids.length : 0) + (cb ? cb.ids.length : 0);
  return n + nAdded <= plan.maxLength;
}

/**
 * The common path: [CLS] A [SEP] (B [SEP]) straight from the core outputs of two
 * texts that hold no added token (null: empty text). One pass into packed arrays,
 * no intermediate Enc per sequence; the same result as sequenceFromPieces +
 * applyTemplate (the goldens check both paths).
 */
export function templateFromCores(t: TemplateTokens, ca: CoreEncoding | null, cb: CoreEncoding | null, hasB: boolean, addSpecial: boolean, detail: number): Enc {
  // Arrays of their final size, filled by index and Array.fill: no growth garbage.
  const na = ca ? ca.ids.length : 0;
  const nb = cb ? cb.ids.length : 0;
  const sp = addSpecial ? 1 : 0;
  const n = na + nb + (addSpecial ? (hasB ? 3 : 2) : 0);
  const ids = new Array<number>(n);
  const types = new Array<number>(n).fill(0);
  const attn = new Array<number>(n).fill(1);
  const bStart = na + 2 * sp; // first index of B (or its [SEP])
  if (hasB) types.fill(1, bStart);
  if (addSpecial) {
    ids[0] = t.cls_token_id;
    ids[na + 1] = t.sep_token_id;
    if (hasB) ids[n - 1] = t.sep_token_id;
  }
  if (ca) for (let i = 0, a = ca.ids; i < na; i++) ids[sp + i] = a[i];
  if (cb) for (let i = 0, b = cb.ids; i < nb; i++) ids[bStart + i] = b[i];
  // Fields the caller does not get stay empty (padding may append to them; nothing reads them).
  let offs: number[] = [];
  let words: number[] = [];
  let seqs: number[] = [];
  let special: number[] = [];
  if (detail & (D_OFFSETS | D_WORDS)) {
    seqs = new Array<number>(n).fill(-1);
    if (ca) seqs.fill(0, sp, sp + na);
    if (cb) seqs.fill(1, bStart, bStart + nb);
  }
  if (detail & D_SPECIAL) {
    special = new Array<number>(n).fill(0);
    if (addSpecial) {
      special[0] = 1;
      special[na + 1] = 1;
      if (hasB) special[n - 1] = 1;
    }
  }
  if (detail & D_OFFSETS) {
    offs = new Array<number>(2 * n).fill(0);
    if (ca) for (let i = 0, co = ca.offsets, m = 2 * na, o = 2 * sp; i < m; i++) offs[o + i] = co[i];
    if (cb) for (let i = 0, co = cb.offsets, m = 2 * nb, o = 2 * bStart; i < m; i++) offs[o + i] = co[i];
  }
  if (detail & D_WORDS) {
    words = new Array<number>(n).fill(-1);
    for (let s = 0; s < (hasB ? 2 : 1); s++) {
      const c = s === 0 ? ca : cb;
      if (!c) continue;
      const base = s === 0 ? sp : bStart;
      const cw = c.words;
      for (let i = 0, m = c.ids.length; i < m; i++) words[base + i] = cw ? cw[i] : i;
    }
  }
  return { ids, types, offs, words, seqs, special, attn, tokens: null };
}

/** [CLS] A [SEP] (B [SEP]) with type ids 0 for A and 1 for B. */
function applyTemplate(t: TemplateTokens, a: Enc, b: Enc | null, addSpecial: boolean): Enc {
  const na = a.ids.length;
  const nb = b ? b.ids.length : 0;
  const n = na + nb + (addSpecial ? (b ? 3 : 2) : 0);
  const ids = new Array<number>(n);
  const types = new Array<number>(n);
  const offs = new Array<number>(2 * n);
  const words = new Array<number>(n);
  const seqs = new Array<number>(n);
  const special = new Array<number>(n);
  const attn = new Array<number>(n);
  const tokens = a.tokens || (b && b.tokens) ? new Array<string | null>(n).fill(null) : null;
  // layout: [CLS] A [SEP] (B [SEP]); specials get offsets (0,0), no word/sequence, mask 1
  let k = 0;
  const putSpecial = (id: number, type: number) => {
    ids[k] = id;
    types[k] = type;
    offs[2 * k] = 0;
    offs[2 * k + 1] = 0;
    words[k] = -1;
    seqs[k] = -1;
    special[k] = 1;
    attn[k] = 1;
    k++;
  };
  if (addSpecial) putSpecial(t.cls_token_id, 0);
  for (let s = 0; s < 2; s++) {
    const e = s === 0 ? a : b;
    if (!e) break;
    for (let i = 0, m = e.ids.length; i < m; i++, k++) {
      ids[k] = e.ids[i];
      types[k] = s;
      offs[2 * k] = e.offs[2 * i];
      offs[2 * k + 1] = e.offs[2 * i + 1];
      words[k] = e.words[i];
      seqs[k] = s;
      special[k] = e.special[i];
      attn[k] = e.attn[i];
      if (tokens && e.tokens) tokens[k] = e.tokens[i];
    }
    if (addSpecial) putSpecial(t.sep_token_id, s);
  }
  return { ids, types, offs, words, seqs, special, attn, tokens };
}

/** tokenizers' pad_encodings: one target length for the batch; overflow windows are padded to it too. */
export function padAll(t: TemplateTokens, rows: { main: Enc; overflowing: Enc[] }[], plan: Plan): void {
  let target: number;
  if (plan.padding === 'max_length') target = plan.maxLength!;
  else target = rows.reduce((m, r) => Math.max(m, r.main.ids.length), 0);
  if (plan.padMultiple && target % plan.padMultiple !== 0) target += plan.padMultiple - (target % plan.padMultiple);
  // Refuse before padding anything: every shorter row (overflow windows too) becomes
  // target long. A call that padding does not grow is the input's size, and passes.
  let n = 0;
  let grows = false;
  for (const r of rows) {
    n += 1 + r.overflowing.length;
    if (r.main.ids.length < target || r.overflowing.some((o) => o.ids.length < target)) grows = true;
  }
  if (grows && n * target > MAX_OUTPUT_TOKENS) {
    throw limitError(
      `padding: ${n} rows padded to ${target} tokens would make this call return ${n * target} tokens, more than ${MAX_OUTPUT_TOKENS} (MAX_OUTPUT_TOKENS); split the batch or pad less`,
    );
  }
  const padId = t.pad_token_id;
  for (const r of rows) {
    for (const e of [r.main, ...r.overflowing]) padEnc(e, target, padId, plan.padSide);
  }
}

export function offsetPairs(e: Enc, texts: [string, string | null], unit: OffsetUnit): [number, number][] {
  const out: [number, number][] = new Array(e.ids.length);
  let conv: ((seq: number, x: number) => number) | null = null;
  if (unit === 'code_point') {
    const maps = texts.map((t) => (t === null ? null : utf16ToCodePointMap(t)));
    conv = (seq, x) => {
      const m = seq >= 0 ? maps[seq] : null;
      return m ? m[x] : x;
    };
  } else if (unit !== 'utf16') {
    throw tokError(`offset_unit: expected 'utf16' or 'code_point', got ${describe(unit)}`);
  }
  const offs = e.offs;
  if (!conv) {
    for (let i = 0, n = e.ids.length; i < n; i++) out[i] = [offs[2 * i], offs[2 * i + 1]];
    return out;
  }
  for (let i = 0; i < e.ids.length; i++) out[i] = [conv(e.seqs[i], offs[2 * i]), conv(e.seqs[i], offs[2 * i + 1])];
  return out;
}

export function toRow(e: Enc, texts: [string, string | null], o: EncodeOptions): EncodedRow {
  const row: EncodedRow = { input_ids: e.ids };
  if (o.return_token_type_ids ?? true) row.token_type_ids = e.types;
  if (o.return_attention_mask ?? true) row.attention_mask = e.attn;
  if (o.return_offsets_mapping) row.offset_mapping = offsetPairs(e, texts, o.offset_unit ?? 'utf16');
  if (o.return_special_tokens_mask) row.special_tokens_mask = e.special;
  if (o.return_word_ids) {
    row.word_ids = e.words.map((w) => (w < 0 ? null : w));
    row.sequence_ids = e.seqs.map((s) => (s < 0 ? null : s));
  }
  return row;
}

/**
 * tokenizers (0.2x) stops tokenizing once a sequence has max_length tokens, at the end
 * of the word that reached it (counted from the truncation side; from the left, word
 * ids then count from the first word kept). Found from the truncation goldens: it
 * bounds the overflow windows and, for longest_first pairs, the lengths compared.
 */
function keepWords(e: Enc, maxTokens: number, side: Side): Enc {
  const n = e.ids.length;
  if (n <= maxTokens) return e;
  if (side === 'right') {
    let i = maxTokens;
    while (i < n && e.words[i] === e.words[i - 1]) i++;
    return i < n ? sliceEnc(e, 0, i) : e;
  }
  let i = n - maxTokens; // first kept index
  while (i > 0 && e.words[i - 1] === e.words[i]) i--;
  if (i === 0) return e;
  // word ids count from the first word tokenized, as in tokenizers
  const kept = sliceEnc(e, i, n);
  const first = kept.words[0];
  for (let k = 0; k < kept.words.length; k++) if (kept.words[k] >= 0) kept.words[k] -= first;
  return kept;
}

/** Fields beyond ids, type ids and attention mask that a call returns (bits of templateFromCores). */
const D_OFFSETS = 1; // offs + seqs
const D_SPECIAL = 2; // special
const D_WORDS = 4; // words + seqs
export const D_ALL = D_OFFSETS | D_SPECIAL | D_WORDS;

export function needsDetail(o: EncodeOptions): number {
  return (o.return_offsets_mapping ? D_OFFSETS : 0) | (o.return_special_tokens_mask ? D_SPECIAL : 0) | (o.return_word_ids ? D_WORDS : 0);
}

/** How many overflow windows truncateEnc makes past the first (0 when it throws or keeps everything). */
function extraWindows(len: number, maxLen: number, stride: number): number {
  if (maxLen >= len) return 0;
  if (maxLen === 0) return 1;
  if (stride >= maxLen) return 0;
  return Math.ceil((len - maxLen) / (maxLen - stride));
}

/**
 * tokenizers' Encoding::truncate: keep max_len, the rest become stride-overlapping windows.
 * windows false: only the kept part (the caller does not return the overflow).
 */
function truncateEnc(e: Enc, maxLen: number, stride: number, side: Side, windows: boolean): [Enc, Enc[]] {
  const len = e.ids.length;
  if (maxLen >= len) return [e, []];
  if (maxLen === 0) return [sliceEnc(e, 0, 0), windows ? [e] : []];
  if (stride >= maxLen) {
    throw tokError(`stride: ${stride} must be strictly less than the truncated length (${maxLen}); tokenizers asserts here (transformers raises)`);
  }
  if (!windows) return [side === 'right' ? sliceEnc(e, 0, maxLen) : sliceEnc(e, len - maxLen, len), []];
  const step = maxLen - stride;
  const ranges: [number, number][] = [];
  if (side === 'right') {
    for (let start = 0; start < len; start += step) {
      const stop = Math.min(start + maxLen, len);
      ranges.push([start, stop]);
      if (stop === len) break;
    }
  } else {
    for (let stop = len; stop > 0; stop -= step) {
      const start = Math.max(stop - maxLen, 0);
      ranges.push([start, stop]);
      if (start === 0) break;
    }
  }
  return [sliceEnc(e, ranges[0][0], ranges[0][1]), ranges.slice(1).map(([a, b]) => sliceEnc(e, a, b))];
}

function padEnc(e: Enc, target: number, padId: number, side: Side): void {
  const n = target - e.ids.length;
  if (n <= 0) return;
  // loops, not push(...spread): a long pad must not hit the argument-count limit
  const pad = (arr: number[], v: number, k: number): number[] => {
    if (side === 'right') {
      for (let i = 0; i < k; i++) arr.push(v);
      return arr;
    }
    return fill(k, v).concat(arr);
  };
  e.ids = pad(e.ids, padId, n);
  e.types = pad(e.types, 0, n);
  e.attn = pad(e.attn, 0, n);
  e.special = pad(e.special, 1, n);
  e.words = pad(e.words, -1, n);
  e.seqs = pad(e.seqs, -1, n);
  e.offs = pad(e.offs, 0, 2 * n);
  if (e.tokens) e.tokens = side === 'right' ? e.tokens.concat(fill<string | null>(n, null)) : fill<string | null>(n, null).concat(e.tokens);
}

/** For each UTF-16 index 0..len, the code point index (a lone surrogate counts as one). */
export function utf16ToCodePointMap(text: string): Uint32Array {
  const m = new Uint32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    m[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        m[i + 1] = cp; // inside a pair: same code point
        i++;
      }
    }
    cp++;
  }
  m[text.length] = cp;
  return m;
}
