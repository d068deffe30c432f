// ops.ts: the test-only single-op entry points of the addon, with the list of
// kernel paths this machine can run (every test runs every path).
import { ACTIVATION_CODES } from '../../lib/engine_types';
import { native } from '../../lib/native';
import { testAddon } from './test_addon';

export type OpPath = 'generic' | 'avx2' | 'avx512' | 'cuda';

/** CPU paths this machine supports, lowest first. */
export function cpuPaths(): OpPath[] {
  const best = native().backendInfo().bestIsa;
  const all: OpPath[] = ['generic', 'avx2', 'avx512'];
  return all.slice(0, all.indexOf(best) + 1);
}

/** Every path to test: the CPU paths, plus cuda when a GPU is usable. */
export function paths(): OpPath[] {
  const p = cpuPaths();
  if (native().backendInfo().cuda.available) p.push('cuda');
  return p;
}

/** The activation codes of lib/engine_types.ts, one name per code (HF's alias swish = silu left out). */
export const ACT = Object.fromEntries(Object.entries(ACTIVATION_CODES).filter(([name]) => name !== 'swish')) as Omit<typeof ACTIVATION_CODES, 'swish'>;

/** y = act(x + bias) row-wise; returns the output and the path the addon reports it ran. */
export function activation(x: Float32Array, bias: Float32Array | null, C: number, act: number, path: OpPath): { y: Float32Array; ran: string } {
  const y = new Float32Array(x.length);
  const ran = testAddon().opActivation(x, y, bias, C, act, path);
  return { y, ran };
}
