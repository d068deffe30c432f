// validate.ts: the shared vocabulary of argument errors: how a received value is
// described in "argument X: expected ..., got <value>" messages. Modules below the
// tokenizer, models and pipelines import it from here, so no layer reaches up to
// another for it.

/** A short description of a received value for an error message. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `a string of length ${v.length}` : JSON.stringify(v);
  if (typeof v === 'object') return `an object (${Object.prototype.toString.call(v)})`;
  return `${typeof v} ${String(v)}`;
}
