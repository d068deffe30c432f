// files.ts: a tokenizer's model directory, read and written in the layout transformers
// loads: vocab.txt, tokenizer.json (WordPiece), tokenizer_config.json,
// special_tokens_map.json and the legacy added_tokens.json. Reading checks each file's
// size, encoding and ids before anything is sized by them (an id from a file never
// sizes an array); writing produces the files transformers and transformers.js read.
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError } from '../errors';
import { MAX_TEXT_FILE_BYTES, readRegularFileSync, readTextFile } from '../files';
import { describe } from '../validate';
import { tokError } from './errors';
import { VERY_LARGE_INTEGER, checkModelMaxLength, checkNeverSplit, type Side, type TokenizerOptions } from './options';

// ------------------------------------------------------------------ reading

/** vocab.txt: one token per line, split on "\n" only (tokens may hold U+2028); a trailing "\r" is dropped. */
export function parseVocab(text: string, file = 'vocab.txt'): string[] {
  if (text.length > 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
  if (lines.length === 0) throw tokError(`${file}: the vocabulary is empty`);
  return lines;
}

export function readVocabFile(file: string): string[] {
  let buf: Uint8Array;
  try {
    buf = readRegularFileSync(file, { maxBytes: MAX_TEXT_FILE_BYTES });
  } catch (err) {
    throw new ConvBertError(`vocab_file: cannot read ${file}: ${(err as Error).message}`, 'ERR_CONVBERT_IO', { cause: err });
  }
  return parseVocab(decodeUtf8(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), file), file);
}

function decodeUtf8(buf: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch (err) {
    throw tokError(`${file}: not valid UTF-8 (${(err as Error).message})`);
  }
}

async function readOptionalJson(file: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    const cause = err instanceof ConvBertError ? err.cause : err;
    if ((cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
    throw err instanceof ConvBertError ? err : new ConvBertError(`${file}: cannot read: ${(err as Error).message}`, 'ERR_CONVBERT_IO', { cause: err });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw tokError(`${file}: malformed JSON (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw tokError(`${file}: expected a JSON object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/**
 * tokenizer.json's WordPiece vocab {token: id} as tokens in id order. The ids must number
 * the n entries 0..n-1 (HF's Rust WordPiece tolerates holes; our id-ordered vocab cannot
 * hold one). Every id is checked against the entry count before it indexes anything, so
 * the array is sized by the file, never by an id it names: a 150-byte file with an id of
 * 4e8 is an error here, not a 4e8-entry allocation. Duplicate tokens collapse in JSON.parse
 * (the last wins), which leaves a hole that the same check reports.
 */
function vocabFromIds(v: Record<string, unknown>, file: string): string[] {
  const entries = Object.entries(v);
  const n = entries.length;
  if (n === 0) throw tokError(`${file}: model.vocab: expected at least one token, got an empty object`);
  const vocab = new Array<string>(n);
  for (const [tok, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= n) {
      throw tokError(`${file}: model.vocab[${JSON.stringify(tok)}]: expected an integer id in [0, ${n}) (the ids number the ${n} entries from 0), got ${describe(id)}`);
    }
    if (vocab[id] !== undefined) {
      throw tokError(`${file}: model.vocab: id ${id} is given to both ${JSON.stringify(vocab[id])} and ${JSON.stringify(tok)}; expected each id once`);
    }
    vocab[id] = tok;
  }
  return vocab;
}

/** An added token's id from a file: a non-negative safe integer (its upper bound is checked once the vocab is known). */
function addedId(id: unknown, where: string): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw tokError(`${where}: expected a non-negative integer id, got ${describe(id)}`);
  return id;
}

/** A special token value from a config: a string or an AddedToken dict {content, ...}. */
function tokenContent(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  throw tokError(`${where}: expected a token string or {"content": ...}, got ${describe(v)}`);
}

/** Read a model directory into TokenizerOptions (see fromPretrained). */
export async function loadTokenizerOptions(dir: string): Promise<TokenizerOptions> {
  if (typeof dir !== 'string' || dir.length === 0) throw tokError(`dir: expected a directory path, got ${describe(dir)}`);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(dir);
  } catch (err) {
    throw new ConvBertError(`dir: cannot read ${dir}: ${(err as Error).message}`, 'ERR_CONVBERT_IO', { cause: err });
  }
  if (!st.isDirectory()) throw new ConvBertError(`dir: ${dir} is not a directory`, 'ERR_CONVBERT_IO');
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const mapFile = path.join(dir, 'special_tokens_map.json');
  const tokFile = path.join(dir, 'tokenizer.json');
  const addedFile = path.join(dir, 'added_tokens.json');
  const [cfg, map, tj, addedJson] = await Promise.all([readOptionalJson(cfgFile), readOptionalJson(mapFile), readOptionalJson(tokFile), readOptionalJson(addedFile)]);
  const o: TokenizerOptions = {};

  // tokenizer.json: the vocab and, as defaults, its normaliser/model/decoder settings.
  // Added tokens from every source, with where each came from (for errors): ids checked below.
  const added: { id: number; content: string; special: boolean; where: string }[] = [];
  if (tj) {
    const model = tj.model as Record<string, unknown> | undefined;
    if (model && (model.type === 'WordPiece' || (model.type === undefined && model.vocab && typeof model.vocab === 'object'))) {
      const v = model.vocab as Record<string, unknown>;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw tokError(`${tokFile}: model.vocab: expected an object of token -> id`);
      o.vocab = vocabFromIds(v, tokFile);
      if (typeof model.unk_token === 'string') o.unk_token = model.unk_token;
      if (typeof model.continuing_subword_prefix === 'string') o.continuing_subword_prefix = model.continuing_subword_prefix;
      if (typeof model.max_input_chars_per_word === 'number') o.max_input_chars_per_word = model.max_input_chars_per_word;
    } else if (model) {
      throw new ConvBertError(`${tokFile}: model.type ${describe(model.type)} is not WordPiece`, 'ERR_CONVBERT_UNSUPPORTED');
    }
    const norm = tj.normalizer as Record<string, unknown> | null | undefined;
    if (norm && norm.type === 'BertNormalizer') {
      if (typeof norm.lowercase === 'boolean') o.do_lower_case = norm.lowercase;
      if (norm.strip_accents === null || typeof norm.strip_accents === 'boolean') o.strip_accents = norm.strip_accents as boolean | null;
      if (typeof norm.handle_chinese_chars === 'boolean') o.tokenize_chinese_chars = norm.handle_chinese_chars;
    }
    const dec = tj.decoder as Record<string, unknown> | null | undefined;
    if (dec && dec.type === 'WordPiece' && typeof dec.cleanup === 'boolean') o.wordpiece_decoder_cleanup = dec.cleanup;
    if (Array.isArray(tj.added_tokens)) {
      (tj.added_tokens as unknown[]).forEach((t, i) => {
        const where = `${tokFile}: added_tokens[${i}]`;
        if (t === null || typeof t !== 'object' || typeof (t as Record<string, unknown>).content !== 'string') {
          throw tokError(`${where}: expected {"id": ..., "content": "..."}, got ${describe(t)}`);
        }
        const { id, content, special } = t as Record<string, unknown>;
        added.push({ id: addedId(id, where), content: content as string, special: special === true, where });
      });
    }
  }
  if (!o.vocab) {
    const vf = path.join(dir, 'vocab.txt');
    try {
      o.vocab = readVocabFile(vf);
    } catch (err) {
      if (err instanceof ConvBertError && err.code === 'ERR_CONVBERT_IO') {
        throw new ConvBertError(`${dir}: no vocab.txt (nor a WordPiece tokenizer.json) to load: ${err.message}`, 'ERR_CONVBERT_IO', { cause: err });
      }
      throw err;
    }
  }

  // tokenizer_config.json, then special_tokens_map.json for the special tokens.
  // transformers' BertTokenizerFast re-applies do_lower_case/strip_accents/tokenize_chinese_chars
  // from the config (or the class defaults) over tokenizer.json's normaliser.
  const c = cfg ?? {};
  o.do_lower_case = typeof c.do_lower_case === 'boolean' ? c.do_lower_case : true;
  o.strip_accents = c.strip_accents === true || c.strip_accents === false ? c.strip_accents : null;
  o.tokenize_chinese_chars = typeof c.tokenize_chinese_chars === 'boolean' ? c.tokenize_chinese_chars : true;
  const neverSplit = checkNeverSplit(`${cfgFile}: `, c.never_split);
  if (neverSplit !== null) o.never_split = neverSplit;
  if (c.model_max_length !== undefined && c.model_max_length !== null) o.model_max_length = Math.min(checkModelMaxLength(`${cfgFile}: `, c.model_max_length), VERY_LARGE_INTEGER);
  if (c.padding_side === 'left' || c.padding_side === 'right') o.padding_side = c.padding_side;
  if (c.truncation_side === 'left' || c.truncation_side === 'right') o.truncation_side = c.truncation_side;
  if (typeof c.clean_up_tokenization_spaces === 'boolean') o.clean_up_tokenization_spaces = c.clean_up_tokenization_spaces;
  const names = ['unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;
  for (const src of [c, map ?? {}]) {
    for (const n of names) {
      const v = tokenContent(src[n], `${src === c ? cfgFile : mapFile}: ${n}`);
      if (v !== undefined) o[n] = v;
    }
    if (Array.isArray(src.additional_special_tokens)) {
      o.additional_special_tokens = (src.additional_special_tokens as unknown[]).map((v, i) => tokenContent(v, `additional_special_tokens[${i}]`)!);
    }
  }
  // Added tokens beyond the special ones (tokenizer_config's added_tokens_decoder, tokenizer.json's added_tokens).
  if (c.added_tokens_decoder && typeof c.added_tokens_decoder === 'object') {
    for (const [key, t] of Object.entries(c.added_tokens_decoder as Record<string, Record<string, unknown>>)) {
      if (!t || typeof t.content !== 'string') continue;
      const where = `${cfgFile}: added_tokens_decoder[${JSON.stringify(key)}]`;
      // transformers reads the key with int(); only plain non-negative integers name an id
      added.push({ id: addedId(/^\d+$/.test(key) ? Number(key) : key, where), content: t.content, special: t.special === true, where });
    }
  }
  if (addedJson) {
    // the legacy {token: id} file of transformers < 4.34
    for (const [content, id] of Object.entries(addedJson)) {
      const where = `${addedFile}: ${JSON.stringify(content)}`;
      added.push({ id: addedId(id, where), content, special: false, where });
    }
  }
  // An added token's id is a vocab id or one of the ids after the vocab, at most one per
  // added token: checked here against the entry counts, so no id from a file can stand for
  // millions of missing entries in anything indexed by id later.
  const idLimit = o.vocab.length + added.length;
  for (const t of added) {
    if (t.id >= idLimit) {
      throw tokError(`${t.where}: expected an id below ${idLimit} (the ${o.vocab.length} vocabulary ids, then at most one per added token), got ${t.id}`);
    }
  }
  const known = new Set<string>([...names.map((n) => o[n] ?? DEFAULT_SPECIALS[n]), ...(o.additional_special_tokens ?? [])]);
  const extraSpecial: string[] = [];
  const extra: string[] = [];
  for (const t of added.sort((x, y) => x.id - y.id)) {
    if (known.has(t.content)) continue;
    known.add(t.content);
    (t.special ? extraSpecial : extra).push(t.content);
  }
  // no prototype: a token named "__proto__" is a key like any other
  const ids: Record<string, number> = Object.create(null);
  for (const t of added) ids[t.content] = t.id;
  if (added.length > 0) o.added_token_ids = ids;
  if (extraSpecial.length > 0) o.additional_special_tokens = [...(o.additional_special_tokens ?? []), ...extraSpecial];
  if (extra.length > 0) o.added_tokens = extra;
  return o;
}

const DEFAULT_SPECIALS = { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' } as const;

// ------------------------------------------------------------------ writing

/** An added token as the saved files list it (added_tokens_decoder, tokenizer.json's added_tokens). */
export interface AddedTokenEntry {
  content: string;
  id: number;
  special: boolean;
}

/** What savePretrained and tokenizerJson read from a tokenizer (PreTrainedTokenizerBase has all of it). */
export interface SavedTokenizer {
  readonly vocab: readonly string[];
  /** Distinct tokens of the vocab (smaller than vocab.length when a token is listed twice). */
  readonly vocabSize: number;
  readonly do_lower_case: boolean;
  readonly strip_accents: boolean | null;
  readonly tokenize_chinese_chars: boolean;
  readonly never_split: readonly string[] | null;
  readonly unk_token: string;
  readonly sep_token: string;
  readonly pad_token: string;
  readonly cls_token: string;
  readonly mask_token: string;
  readonly additional_special_tokens: readonly string[];
  readonly model_max_length: number;
  readonly padding_side: Side;
  readonly truncation_side: Side;
  readonly clean_up_tokenization_spaces: boolean;
  readonly max_input_chars_per_word: number;
  readonly continuing_subword_prefix: string;
  readonly wordpiece_decoder_cleanup: boolean;
  tokenToId(token: string): number | null;
  saveVocabulary(dir: string): Promise<string[]>;
  tokenizerJson(): string | null;
}

/** Write vocab.txt (one token per line, id order) into dir; returns the paths written. */
export async function writeVocabulary(dir: string, vocab: readonly string[], filenamePrefix?: string): Promise<string[]> {
  await mkdirp(dir);
  const file = path.join(dir, (filenamePrefix ? filenamePrefix + '-' : '') + 'vocab.txt');
  let text = '';
  for (const tok of vocab) text += tok + '\n';
  await writeFile(file, text);
  return [file];
}

/**
 * Write tokenizer_config.json, special_tokens_map.json, vocab.txt (t.saveVocabulary) and
 * tokenizer.json (t.tokenizerJson) into dir; returns the paths written. `added` is in id
 * order; `className` is written as tokenizer_class.
 */
export async function writePretrained(dir: string, t: SavedTokenizer, added: readonly AddedTokenEntry[], className: string): Promise<string[]> {
  await mkdirp(dir);
  const addedDecoder: Record<string, unknown> = {};
  for (const { content, id, special } of added) {
    addedDecoder[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special };
  }
  const config: Record<string, unknown> = {
    added_tokens_decoder: addedDecoder,
    additional_special_tokens: t.additional_special_tokens.length > 0 ? [...t.additional_special_tokens] : undefined,
    clean_up_tokenization_spaces: t.clean_up_tokenization_spaces,
    cls_token: t.cls_token,
    do_basic_tokenize: true,
    do_lower_case: t.do_lower_case,
    mask_token: t.mask_token,
    model_max_length: t.model_max_length,
    never_split: t.never_split ? [...t.never_split] : null,
    pad_token: t.pad_token,
    padding_side: t.padding_side,
    sep_token: t.sep_token,
    strip_accents: t.strip_accents,
    tokenize_chinese_chars: t.tokenize_chinese_chars,
    tokenizer_class: className,
    truncation_side: t.truncation_side,
    unk_token: t.unk_token,
  };
  const specialMap: Record<string, unknown> = {
    cls_token: t.cls_token,
    mask_token: t.mask_token,
    pad_token: t.pad_token,
    sep_token: t.sep_token,
    unk_token: t.unk_token,
  };
  if (t.additional_special_tokens.length > 0) specialMap.additional_special_tokens = [...t.additional_special_tokens];
  const configFile = path.join(dir, 'tokenizer_config.json');
  const mapFile = path.join(dir, 'special_tokens_map.json');
  await writeFile(configFile, jsonWithBigInts(config));
  await writeFile(mapFile, JSON.stringify(specialMap, null, 2) + '\n');
  const vocabFiles = await t.saveVocabulary(dir);
  const written = [configFile, mapFile, ...vocabFiles];
  const tj = t.tokenizerJson();
  const tokFile = path.join(dir, 'tokenizer.json');
  if (tj !== null) {
    await writeFile(tokFile, tj);
    written.push(tokFile);
  } else {
    // A tokenizer.json left from an earlier save would be loaded instead of the vocab.txt just written.
    await fs.promises.rm(tokFile, { force: true });
  }
  return written;
}

/**
 * The tokenizer in HF tokenizers' tokenizer.json format (see tokenizerJson); null when a
 * JSON object cannot hold the vocab (a token listed twice). `added` is in id order.
 */
export function tokenizerJsonText(t: SavedTokenizer, added: readonly AddedTokenEntry[]): string | null {
  if (t.vocabSize !== t.vocab.length) return null;
  const vocab: Record<string, number> = Object.create(null);
  t.vocab.forEach((tok, i) => (vocab[tok] = i));
  // matched on the raw text, before normalisation: normalized false, as the tokenizer does
  const addedTokens = added.map(({ content, id, special }) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special }));
  const cls = t.cls_token;
  const sep = t.sep_token;
  const special = (tok: string, type_id: number) => ({ SpecialToken: { id: tok, type_id } });
  const seq = (id: 'A' | 'B', type_id: number) => ({ Sequence: { id, type_id } });
  // the template's specials are added tokens, so they always have an id
  const tokenEntry = (tok: string) => ({ id: tok, ids: [t.tokenToId(tok)!], tokens: [tok] });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: t.tokenize_chinese_chars,
      strip_accents: t.strip_accents,
      lowercase: t.do_lower_case,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special(cls, 0), seq('A', 0), special(sep, 0)],
      pair: [special(cls, 0), seq('A', 0), special(sep, 0), seq('B', 1), special(sep, 1)],
      special_tokens: cls === sep ? { [cls]: tokenEntry(cls) } : { [cls]: tokenEntry(cls), [sep]: tokenEntry(sep) },
    },
    decoder: { type: 'WordPiece', prefix: t.continuing_subword_prefix, cleanup: t.wordpiece_decoder_cleanup },
    model: {
      type: 'WordPiece',
      unk_token: t.unk_token,
      continuing_subword_prefix: t.continuing_subword_prefix,
      max_input_chars_per_word: t.max_input_chars_per_word,
      vocab,
    },
  };
  return JSON.stringify(json, null, 2) + '\n';
}

async function mkdirp(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    throw new ConvBertError(`dir: cannot create ${dir}: ${(err as Error).message}`, 'ERR_CONVBERT_IO', { cause: err });
  }
}

async function writeFile(file: string, text: string): Promise<void> {
  try {
    await fs.promises.writeFile(file, text, 'utf8');
  } catch (err) {
    throw new ConvBertError(`${file}: cannot write: ${(err as Error).message}`, 'ERR_CONVBERT_IO', { cause: err });
  }
}

/** JSON with model_max_length = 1e30 written as Python's int(1e30), which transformers expects. */
function jsonWithBigInts(obj: Record<string, unknown>): string {
  const big = obj.model_max_length === VERY_LARGE_INTEGER;
  const text = JSON.stringify({ ...obj, model_max_length: big ? '__VERY_LARGE__' : obj.model_max_length }, null, 2) + '\n';
  return big ? text.replace('"__VERY_LARGE__"', '1000000000000000019884624838656') : text;
}
