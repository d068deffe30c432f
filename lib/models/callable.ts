// callable.ts: CallableModel, the root of the model classes, whose instances are
// functions as in transformers.js: `await model(inputs)` runs `model.forward(inputs)`.
// Its constructor returns a closure whose prototype is the constructed class's, so the
// subclasses' fields (private ones included) are installed on the closure, and
// `instanceof`, methods, getters and statics work as on a plain object.
export abstract class CallableModel {
  constructor() {
    const fn = (...args: unknown[]): unknown => (fn as unknown as CallableModel)._call(...args);
    // A function's own `length` and `name` would hide members of that name on the prototype chain.
    delete (fn as { length?: number }).length;
    delete (fn as { name?: string }).name;
    return Object.setPrototypeOf(fn, new.target.prototype) as CallableModel;
  }

  /**
   * util.inspect / console.log: the model as the object it is (its class and own fields),
   * not `[Function: undefined]`. Keyed by the registered symbol so no Node types are needed.
   */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect: (v: unknown, o: object) => string): string {
    const own: Record<string, unknown> = {};
    for (const k of Object.keys(this)) own[k] = (this as unknown as Record<string, unknown>)[k];
    return `${this.constructor.name} ${inspect(own, options)}`;
  }

  /** What calling the instance does. */
  protected abstract _call(...args: unknown[]): unknown;
}
