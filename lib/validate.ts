// validate.ts: the shared vocabulary of argument errors: how a received value is
// described in "argument X: expected ..., got <value>" messages, and the checks of
// plain option values (integers in a range, booleans, one of a list) that throw
// ERR_CONVBERT_ARG in those words. Every layer imports it from here, so one value
// reads the same in every message and no layer reaches up to another for it.
import { argError } from './errors';

/** How many characters of a received string (or of a short JSON preview) a message shows. */
export const DESCRIBE_MAX_LENGTH = 40;

/**
 * A short description of a received value for an error message: `null`, `undefined`,
 * `number 1.5`, `boolean true`, a string quoted (a long one as its length and its first
 * `maxLength` characters), `an array [1,2]` / `an object {"a":1}` when the value is
 * JSON that short (else its length or key count), `a Float32Array of length 4`,
 * `an instance of Foo`. The work is bounded by maxLength, not by the value's size.
 */
export function describe(v: unknown, maxLength = DESCRIBE_MAX_LENGTH): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return v.length > maxLength ? `a string of length ${v.length}, ${JSON.stringify(`${v.slice(0, maxLength)}...`)}` : JSON.stringify(v);
  if (typeof v === 'function') return v.name ? `a function (${v.name})` : 'a function';
  if (typeof v !== 'object') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) {
    const p = preview(v, maxLength);
    return p !== undefined ? `an array ${p}` : `an array of length ${v.length}`;
  }
  if (ArrayBuffer.isView(v)) {
    const n = 'length' in v && typeof v.length === 'number' ? v.length : v.byteLength;
    return `a ${v.constructor?.name ?? 'typed array'} of length ${n}`;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Object.prototype || proto === null) {
    const p = preview(v, maxLength);
    if (p !== undefined) return `an object ${p}`;
    const n = Object.keys(v).length;
    return `an object with ${n} key${n === 1 ? '' : 's'}`;
  }
  const tag = Object.prototype.toString.call(v);
  const ctor = (v as { constructor?: { name?: unknown } }).constructor?.name;
  if (tag === '[object Object]' && typeof ctor === 'string' && ctor !== '') return `an instance of ${ctor}`;
  return `an object (${tag})`;
}

/**
 * `v` as compact JSON when that takes at most `budget` characters, else undefined. Plain
 * objects, arrays and primitives only; it stops as soon as the budget is spent, so a huge
 * (or cyclic) value costs no more than a small one.
 */
function preview(v: unknown, budget: number): string | undefined {
  let left = budget;
  const parts: string[] = [];
  const put = (s: string): boolean => {
    left -= s.length;
    if (left < 0) return false;
    parts.push(s);
    return true;
  };
  const walk = (x: unknown): boolean => {
    if (x === null || x === undefined || typeof x === 'number' || typeof x === 'boolean') return put(String(x));
    if (typeof x === 'string') return x.length <= left && put(JSON.stringify(x));
    if (Array.isArray(x)) {
      if (!put('[')) return false;
      for (let i = 0; i < x.length; i++) if ((i > 0 && !put(',')) || !walk(x[i])) return false;
      return put(']');
    }
    if (typeof x !== 'object' || ArrayBuffer.isView(x)) return false;
    const proto = Object.getPrototypeOf(x) as object | null;
    if (proto !== Object.prototype && proto !== null) return false;
    if (!put('{')) return false;
    let first = true;
    for (const k in x) {
      if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
      if ((!first && !put(',')) || k.length > left || !put(`${JSON.stringify(k)}:`) || !walk((x as Record<string, unknown>)[k])) return false;
      first = false;
    }
    return put('}');
  };
  return walk(v) ? parts.join('') : undefined;
}

/** An object that is neither null, an array nor a typed array: what an options object or a JSON object must be. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);
}

/** An integer option in [lo, hi]; undefined gives the default. Otherwise ERR_CONVBERT_ARG naming `name`. */
export function intOption(name: string, v: unknown, dflt: number, lo = 1, hi = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) {
    throw argError(`${name}: expected an integer in [${lo}, ${hi === Number.MAX_SAFE_INTEGER ? 'inf' : hi}], got ${describe(v)}`);
  }
  return v;
}

/** A boolean option; undefined gives the default. */
export function boolOption(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw argError(`${name}: expected a boolean, got ${describe(v)}`);
  return v;
}

/** One of `allowed`; undefined gives the default. */
export function enumOption<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw argError(`${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}
