// mutate.ts: the fuzzers' mutations, seeded so every finding replays. Bytes:
// flips, overwrites, truncation and splices aimed at the "hot" ranges where a
// parser branches (a safetensors header, a zip's directory). JSON: parse the
// seed, replace, delete or duplicate one value somewhere in it with a hostile
// one (huge, negative, fractional, wrong type, deep nesting), and sometimes
// break the text afterwards, so both the value checks and the parser are hit.

/** A seed input: its bytes and the [begin, end) ranges where the parser branches. */
export interface ByteSeed {
  name: string;
  bytes: Uint8Array;
  hot: Array<[number, number]>;
}

export type Rand = () => number;

const pick = (rand: Rand, n: number): number => Math.floor(rand() * n);

/** Byte-level mutation of a seed: 1-6 flips (mostly in hot ranges), and/or a truncation, an insertion or a deletion. */
export function mutateBytes(seed: ByteSeed, rand: Rand): { bytes: Uint8Array; what: string } {
  const inHot = (): number => {
    if (seed.hot.length === 0 || rand() >= 0.85) return pick(rand, Math.max(1, seed.bytes.length));
    const [b, e] = seed.hot[pick(rand, seed.hot.length)];
    return b + pick(rand, Math.max(1, e - b));
  };
  let bytes = seed.bytes.slice();
  const what: string[] = [];
  const mode = rand();
  if (mode < 0.7) {
    const flips = 1 + pick(rand, 6);
    for (let i = 0; i < flips && bytes.length > 0; i++) {
      const at = Math.min(inHot(), bytes.length - 1);
      const kind = pick(rand, 4);
      if (kind === 0) bytes[at] ^= 1 << pick(rand, 8);
      else if (kind === 1) bytes[at] = pick(rand, 256);
      else if (kind === 2) bytes[at] = rand() < 0.5 ? 0 : 0xff;
      else bytes[at] = (bytes[at] + (rand() < 0.5 ? 1 : 255)) & 0xff;
      what.push(`flip@${at}`);
    }
  }
  if (mode >= 0.55 && mode < 0.85) {
    const cut = rand() < 0.5 ? pick(rand, bytes.length + 1) : Math.min(inHot(), bytes.length);
    bytes = bytes.slice(0, cut);
    what.push(`cut@${cut}`);
  } else if (mode >= 0.85) {
    const at = Math.min(inHot(), bytes.length);
    const n = 1 + pick(rand, 16);
    if (rand() < 0.5) {
      const ins = new Uint8Array(n).map(() => pick(rand, 256));
      const out = new Uint8Array(bytes.length + n);
      out.set(bytes.subarray(0, at));
      out.set(ins, at);
      out.set(bytes.subarray(at), at + n);
      bytes = out;
      what.push(`insert${n}@${at}`);
    } else {
      const k = Math.min(n, bytes.length - at);
      const out = new Uint8Array(bytes.length - k);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + k), at);
      bytes = out;
      what.push(`delete${k}@${at}`);
    }
  }
  return { bytes, what: what.join(',') };
}

/** Values that break size, index and type assumptions. */
const HOSTILE: readonly unknown[] = [
  0,
  -1,
  1,
  2,
  7,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  1e9,
  4e8,
  1e30,
  1e308,
  -1e308,
  0.5,
  -0.0,
  1.5,
  '',
  'x',
  '\u0000',
  '[MASK]',
  '[UNK]',
  'a'.repeat(10_000),
  '-1',
  '1e9',
  'NaN',
  'Infinity',
  'F32',
  'F16',
  'BF16',
  'I64',
  'U8',
  'BOOL',
  'F64',
  'gelu',
  'relu',
  'WordPiece',
  'BPE',
  null,
  true,
  false,
  [],
  {},
  [0],
  [1, 2],
  [-1],
  [2 ** 31, 2 ** 31],
  [0, 2 ** 53],
  { content: '[MASK]', id: 4e8 },
  { id: -1 },
  [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]],
];

type Json = unknown;

/** Every path to a value inside a JSON document (arrays sampled: at most 8 indices each, so huge vocabularies stay cheap). */
function paths(x: Json, rand: Rand, prefix: Array<string | number> = [], out: Array<Array<string | number>> = [], depth = 0): Array<Array<string | number>> {
  out.push(prefix);
  if (depth > 12 || x === null || typeof x !== 'object') return out;
  if (Array.isArray(x)) {
    const n = x.length;
    const idx = n <= 8 ? [...Array(n).keys()] : [0, 1, n - 1, ...Array.from({ length: 5 }, () => pick(rand, n))];
    for (const i of idx) paths(x[i], rand, [...prefix, i], out, depth + 1);
  } else {
    const keys = Object.keys(x as object);
    const sample = keys.length <= 64 ? keys : [keys[0], keys[keys.length - 1], ...Array.from({ length: 30 }, () => keys[pick(rand, keys.length)])];
    for (const k of sample) paths((x as Record<string, Json>)[k], rand, [...prefix, k], out, depth + 1);
  }
  return out;
}

function getAt(doc: Json, p: Array<string | number>): Json {
  let x = doc;
  for (const k of p) x = (x as Record<string | number, Json>)[k];
  return x;
}

function setAt(doc: Json, p: Array<string | number>, v: Json | undefined): Json {
  if (p.length === 0) return v;
  const parent = getAt(doc, p.slice(0, -1)) as Record<string | number, Json>;
  const k = p[p.length - 1];
  if (v === undefined) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete parent[k];
  } else {
    parent[k] = v;
  }
  return doc;
}

/** One to three value-level mutations of a JSON text; then, rarely, a byte-level one of the result. */
export function mutateJson(text: string, rand: Rand): { text: string; what: string } {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch {
    return { text, what: 'unparsable seed' };
  }
  const what: string[] = [];
  const n = 1 + pick(rand, 3);
  for (let i = 0; i < n; i++) {
    const all = paths(doc, rand);
    const p = all[pick(rand, all.length)];
    const r = rand();
    const label = p.join('.') || '<root>';
    if (r < 0.6) {
      const v = HOSTILE[pick(rand, HOSTILE.length)];
      doc = setAt(doc, p, structuredClone(v));
      what.push(`${label}=${JSON.stringify(v)?.slice(0, 24)}`);
    } else if (r < 0.75 && p.length > 0) {
      doc = setAt(doc, p, undefined);
      what.push(`del ${label}`);
    } else if (r < 0.9) {
      // Grow: numbers scale up, strings and arrays repeat, so sizes derived from them are tested.
      const v = getAt(doc, p);
      const grown = typeof v === 'number' ? v * (1 + pick(rand, 100_000)) : typeof v === 'string' ? v.repeat(1 + pick(rand, 50)) : Array.isArray(v) ? [...v, ...v, ...v] : v;
      doc = setAt(doc, p, grown);
      what.push(`grow ${label}`);
    } else {
      const v = getAt(doc, p);
      doc = setAt(doc, p, typeof v === 'number' ? String(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : [v]);
      what.push(`retype ${label}`);
    }
  }
  let out = JSON.stringify(doc) ?? 'null';
  if (rand() < 0.1) {
    // A duplicate key, which JSON.parse silently resolves to the last one.
    const m = /"([^"\\]{1,40})":/.exec(out);
    if (m) {
      out = out.replace(m[0], `${m[0]}0,${m[0]}`);
      what.push(`dup key ${m[1]}`);
    }
  }
  if (rand() < 0.08) {
    const b = mutateBytes({ name: '', bytes: new TextEncoder().encode(out), hot: [] }, rand);
    out = new TextDecoder().decode(b.bytes);
    what.push(`bytes ${b.what}`);
  }
  return { text: out, what: what.join('; ') };
}
