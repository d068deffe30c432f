// helpers.ts: shared by test/cuda/*.test.ts. The CUDA tests run for real only
// where a GPU is usable (`npm run test:cuda` exits 77, "no GPU: skipped", before
// ava when there is none). In the ordinary `ava` run on a machine without a GPU each
// file instead checks the CPU fallback: its CUDA entry point throws
// ERR_CONVBERT_UNSUPPORTED with the backend's one-line reason. CONVBERT_REQUIRE_GPU=1
// (set by scripts/test_cuda.js) turns a missing GPU into a failure, never a pass.
import test, { type ExecutionContext } from 'ava';

import { native } from '../../lib/native';
import { testAddon } from '../helpers/test_addon';

export const SIZES = [1, 7, 33, 129, 511] as const;

export interface CudaOps {
  cudaGemm(o: Record<string, unknown>): Float32Array;
  cudaAttention(o: Record<string, unknown>): { out: Float32Array; probs: Float32Array | null; path: string };
  cudaDynconv(o: Record<string, unknown>): Float32Array;
  cudaSepconv(o: Record<string, unknown>): Float32Array;
  cudaLayernorm(o: Record<string, unknown>): Float32Array;
  cudaSoftmax(o: Record<string, unknown>): Float32Array;
  cudaEmbedding(o: Record<string, unknown>): Float32Array;
  opLightconv(o: Record<string, unknown>, path: string): Float32Array;
}

export function cudaOps(): CudaOps {
  return testAddon() as unknown as CudaOps;
}

export function gpuAvailable(): boolean {
  return native().backendInfo().cuda.available === true;
}

/**
 * Registers `fn` as a real test when a GPU is usable. Without one: fails when
 * CONVBERT_REQUIRE_GPU is set, else registers (once per file) a test that the CUDA
 * entry point `probe` throws ERR_CONVBERT_UNSUPPORTED with the reason.
 */
let fallbackRegistered = false;
export function gpuTest(title: string, probe: () => unknown, fn: (t: ExecutionContext) => void | Promise<void>): void {
  if (gpuAvailable()) {
    test(title, fn);
    return;
  }
  if (process.env.CONVBERT_REQUIRE_GPU) {
    test(title, (t) => {
      t.fail(`no usable GPU: ${native().backendInfo().cuda.reason ?? 'unknown reason'}`);
    });
    return;
  }
  if (fallbackRegistered) return;
  fallbackRegistered = true;
  test(`without a GPU: ${title.split(':')[0]} throws ERR_CONVBERT_UNSUPPORTED with the reason`, (t) => {
    const reason = native().backendInfo().cuda.reason;
    t.truthy(reason, 'backendInfo().cuda.reason must say why CUDA is not usable');
    const err = t.throws(probe) as (Error & { code?: string }) | undefined;
    t.is(err?.code, 'ERR_CONVBERT_UNSUPPORTED');
    t.is(err?.message, reason);
  });
}
