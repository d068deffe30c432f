// math.ts: the post-processing arithmetic pipelines share: softmax and sigmoid
// in float64 (max-shifted, so large logits do not overflow), top-k with ties
// broken by the lower index (a stable order, as a stable argsort gives) by a
// partial selection, so a vocabulary-wide top-k costs O(n log k), not a sort.
export function softmax(x: ArrayLike<number>): Float64Array {
  return softmaxInto(x, new Float64Array(x.length));
}

/** softmax(x) written into out[0, x.length) and returned as that view, so a caller can reuse one buffer. */
export function softmaxInto(x: ArrayLike<number>, buf: Float64Array): Float64Array {
  if (buf.length < x.length) throw new RangeError(`softmaxInto: buffer of ${buf.length} for ${x.length} values`);
  const out = buf.length === x.length ? buf : buf.subarray(0, x.length);
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.exp(x[i] - m);
    s += out[i];
  }
  for (let i = 0; i < x.length; i++) out[i] /= s;
  return out;
}

export function sigmoid(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
  return out;
}

/**
 * Indices of the k largest values, largest first (k clamped to the length): the first
 * k of a stable descending sort. Equal values (and NaNs, which rank below every
 * number) keep the lower index first. A min-heap holds the k best so far, so most
 * elements cost one comparison with its root: O(n log k) time, O(k) memory.
 */
export function topk(x: ArrayLike<number>, k: number): number[] {
  const n = x.length;
  const want = Math.min(k, n);
  if (!(want > 0)) return [];
  // below(a, b): index a ranks after index b.
  const below = (a: number, b: number): boolean => {
    const va = x[a];
    const vb = x[b];
    if (va !== va) return vb === vb || a > b;
    if (vb !== vb) return false;
    return va < vb || (va === vb && a > b);
  };
  const heap: number[] = [];
  for (let i = 0; i < n; i++) {
    if (heap.length < want) {
      // Sift up: the root stays the lowest-ranked index kept.
      let c = heap.length;
      heap.push(i);
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!below(heap[c], heap[p])) break;
        [heap[c], heap[p]] = [heap[p], heap[c]];
        c = p;
      }
    } else if (below(heap[0], i)) {
      heap[0] = i;
      for (let p = 0; ;) {
        const l = 2 * p + 1;
        if (l >= want) break;
        const r = l + 1;
        const c = r < want && below(heap[r], heap[l]) ? r : l;
        if (!below(heap[c], heap[p])) break;
        [heap[c], heap[p]] = [heap[p], heap[c]];
        p = c;
      }
    }
  }
  return heap.sort((a, b) => (below(a, b) ? 1 : -1));
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
