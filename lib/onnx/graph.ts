// graph.ts: a small builder for ONNX graphs: nodes with unique value names,
// float32/int64 initializers, and cached constants (shape vectors, scalars).
// It knows nothing about ConvBERT; export.ts describes the model with it.
import { rawBytes, type AttrValue, type NodeSpec, type TensorSpec } from './onnx_proto';

export const attr = {
  i: (v: number): AttrValue => ({ kind: 'int', v }),
  f: (v: number): AttrValue => ({ kind: 'float', v }),
  s: (v: string): AttrValue => ({ kind: 'string', v }),
  ints: (v: readonly number[]): AttrValue => ({ kind: 'ints', v }),
  floats: (v: readonly number[]): AttrValue => ({ kind: 'floats', v }),
};

export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();

  /** A value name not used yet, derived from `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserve a name exactly (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new RangeError(`onnx graph: name ${name} is already used`);
    this.used.add(name);
    return name;
  }

  /** One node with one output; returns the output's name. `name` is the node (and output) stem. */
  op(op: string, inputs: readonly string[], name: string, attrs?: Record<string, AttrValue>, output?: string): string {
    const out = output ?? this.unique(`${name}/${op}`);
    this.nodes.push({ op, name: this.unique(`${name}/${op}:node`), inputs, outputs: [out], attrs });
    return out;
  }

  /** A float32 initializer holding `data` (by reference). */
  float(name: string, data: Float32Array, dims: readonly number[]): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dtype: 'float32', dims, raw: rawBytes(data) });
    return n;
  }

  /** An int8 initializer holding `data` (by reference). */
  int8(name: string, data: Int8Array, dims: readonly number[]): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dtype: 'int8', dims, raw: rawBytes(data) });
    return n;
  }

  /** One node with several outputs; returns their names. */
  opN(op: string, inputs: readonly string[], name: string, outputs: number, attrs?: Record<string, AttrValue>): string[] {
    const outs = Array.from({ length: outputs }, (_, i) => this.unique(`${name}/${op}:${i}`));
    this.nodes.push({ op, name: this.unique(`${name}/${op}:node`), inputs, outputs: outs, attrs });
    return outs;
  }

  /** A cached int64 constant (1-D unless dims says otherwise, e.g. [] for a scalar). */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const n = this.unique(`const_i64_${values.length <= 4 ? values.join('_').replace(/-/g, 'm') : values.length}`);
    this.initializers.push({ name: n, dtype: 'int64', dims, raw: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))) });
    this.constCache.set(key, n);
    return n;
  }

  /** A cached float32 scalar constant (dims []). */
  f32(value: number): string {
    const bits = new Float32Array([value]);
    const key = `f32:${new Uint32Array(bits.buffer)[0]}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const n = this.unique(`const_f32_${this.constCache.size}`);
    this.initializers.push({ name: n, dtype: 'float32', dims: [], raw: rawBytes(bits) });
    this.constCache.set(key, n);
    return n;
  }
}
