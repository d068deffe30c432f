// assert_close.ts: element-wise |got - want| <= atol + rtol * |want|, with the
// worst element named in the failure message.
import type { ExecutionContext } from 'ava';

export interface CloseOptions {
  rtol: number;
  atol: number;
  label?: string;
}

export function maxViolation(got: ArrayLike<number>, want: ArrayLike<number>, o: CloseOptions): { index: number; excess: number } {
  let index = -1;
  let excess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    const diff = Math.abs(g - w);
    const lim = o.atol + o.rtol * Math.abs(w);
    if (!(diff <= lim)) {
      const e = Number.isNaN(diff) ? Infinity : diff - lim;
      if (index < 0 || e > excess) {
        index = i;
        excess = e;
      }
    }
  }
  return { index, excess };
}

export function assertClose(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, o: CloseOptions): void {
  const label = o.label ?? 'values';
  if (got.length !== want.length) {
    t.fail(`${label}: length ${got.length} != expected ${want.length}`);
    return;
  }
  const v = maxViolation(got, want, o);
  if (v.index >= 0) {
    t.fail(`${label}: element ${v.index} got ${got[v.index]} expected ${want[v.index]} (atol ${o.atol}, rtol ${o.rtol})`);
  } else {
    t.pass();
  }
}
