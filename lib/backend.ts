// backend.ts: what the native side is and how it runs: version, ISA path,
// thread count, CUDA status; setNumThreads for the engine's intra-op pool.
import * as fs from 'fs';
import * as path from 'path';

import { argError } from './errors';
import { loadAddon, packageRoot, type CudaStatus } from './native';

export interface BackendInfo {
  /** convbert's package version. */
  version: string;
  /** Which build was loaded: 'cpu' (node-gyp/prebuild) or 'cuda' (cmake-js). */
  build: 'cpu' | 'cuda';
  /** The .node file in use. */
  binary: string;
  /** CPU kernel path in use (CONVBERT_ISA can lower it). */
  isa: 'generic' | 'avx2' | 'avx512';
  /** Best CPU path this machine supports. */
  bestIsa: 'generic' | 'avx2' | 'avx512';
  /** Why CONVBERT_ISA was ignored, when it was. */
  isaNote?: string;
  /** Threads of the engine's intra-op pool. */
  threads: number;
  cuda: CudaStatus;
}

let version: string | undefined;

export function packageVersion(): string {
  if (!version) version = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version as string;
  return version;
}

export function backendInfo(): BackendInfo {
  const l = loadAddon();
  const n = l.addon.backendInfo();
  const cuda = { ...n.cuda };
  if (l.cudaFallbackReason) cuda.reason = l.cudaFallbackReason;
  return { version: packageVersion(), build: l.build, binary: l.file, ...n, cuda };
}

/** Threads the engine's intra-op pool uses (default: the number of cores, or CONVBERT_NUM_THREADS). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw argError(`setNumThreads: n must be an integer in [1, 1024], got ${String(n)}`);
  loadAddon().addon.setNumThreads(n);
}
