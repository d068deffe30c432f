// ops.ts: the test-only single-op entry points of the addon, with the list of
// kernel paths this machine can run (every test runs every path).
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

export const ACT = {
  linear: 0,
  gelu: 1,
  gelu_new: 2,
  quick_gelu: 3,
  relu: 4,
  relu6: 5,
  relu2: 6,
  silu: 7,
  sigmoid: 8,
  tanh: 9,
  mish: 10,
  gelu_10: 11,
  laplace: 12,
  leaky_relu: 13,
} as const;

/** y = act(x + bias) row-wise; returns the output and the path the addon reports it ran. */
export function activation(x: Float32Array, bias: Float32Array | null, C: number, act: number, path: OpPath): { y: Float32Array; ran: string } {
  const y = new Float32Array(x.length);
  const ran = testAddon().opActivation(x, y, bias, C, act, path);
  return { y, ran };
}
