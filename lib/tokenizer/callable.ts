// callable.ts: a base class whose instances are functions, so that
// `tokenizer(texts, options)` works like transformers.js' tokenizers while the
// object keeps its class: the constructor returns a closure that forwards to
// `_call`, with the class's prototype, so `instanceof`, methods, getters and
// fields (private ones included, installed by the subclass constructors) work.
export abstract class Callable {
  constructor() {
    const fn = (...args: unknown[]): unknown => (fn as unknown as { _call(...a: unknown[]): unknown })._call(...args);
    // A function's own `length` and `name` would hide getters of the same name (the tokenizer's `length`).
    delete (fn as { length?: number }).length;
    delete (fn as { name?: string }).name;
    return Object.setPrototypeOf(fn, new.target.prototype) as Callable;
  }

  /** What calling the instance does. */
  protected abstract _call(...args: unknown[]): unknown;
}
