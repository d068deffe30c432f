// native.ts: finds and loads the addon, once, on first use.
// Order: the CUDA build when present and usable (unless CONVBERT_BACKEND=cpu),
// then a prebuilt binary from prebuilds/, then a local node-gyp build. A CUDA
// build on a machine without a GPU or driver is not used: one line says why and
// the CPU build runs. When nothing loads, one error lists every attempt.
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError } from './errors';

/** One CUDA device as backendInfo().cuda.devices lists it. */
export interface CudaDeviceStatus {
  ordinal: number;
  name: string;
  /** e.g. '9.0' */
  computeCapability: string;
  totalMemory: number;
  usable: boolean;
  /** Why this device is not usable (absent when it is). */
  reason?: string;
}

/** What backendInfo() reports about CUDA. */
export interface CudaStatus {
  compiled: boolean;
  available: boolean;
  /**
   * True for the emulated CUDA build (`npm run build:cuda:emulated`, loaded only through
   * CONVBERT_CUDA_BINARY): the kernels run on the host CPU for CI. Device 'auto' never picks it.
   */
  emulated?: boolean;
  deviceCount: number;
  runtimeVersion: number;
  driverVersion: number;
  /** Every device the runtime lists, usable (sm_80 or newer) or not. */
  devices?: CudaDeviceStatus[];
  /** The first usable device: what device 'auto' picks (absent when none is usable). */
  defaultDevice?: number;
  /** Name, compute capability and memory of defaultDevice. */
  deviceName?: string;
  computeCapability?: string;
  totalMemory?: number;
  /** One line: why CUDA is not in use (absent when it is). */
  reason?: string;
}

export interface NativeBackendInfo {
  isa: 'generic' | 'avx2' | 'avx512';
  bestIsa: 'generic' | 'avx2' | 'avx512';
  isaNote?: string;
  threads: number;
  cuda: CudaStatus;
}

/** The raw addon surface. Internal: the public API wraps it. */
export interface NativeAddon {
  setErrorClass(cls: typeof ConvBertError): void;
  backendInfo(): NativeBackendInfo;
  setNumThreads(n: number): void;
  [name: string]: unknown;
}

/**
 * The test addon convbert_test.node (tests and benches only, never shipped): single ops on
 * an explicit kernel path and the CUDA op entry points. Its own backendInfo and
 * setNumThreads describe and size its own copy of the kernel library.
 */
export interface NativeTestAddon extends NativeAddon {
  opActivation(x: Float32Array, y: Float32Array, bias: Float32Array | null, C: number, act: number, path: string): string;
}

export interface LoadedAddon {
  addon: NativeAddon;
  /** Path of the .node file in use. */
  file: string;
  /** 'cpu' or 'cuda': which build was loaded. */
  build: 'cpu' | 'cuda';
  /** Set when a CUDA build existed but was not used. */
  cudaFallbackReason?: string;
}

let loaded: LoadedAddon | undefined;

/** The package root: the nearest folder upward holding convbert's package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'convbert') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new ConvBertError(`cannot find convbert's package.json above ${__dirname}`, 'ERR_CONVBERT_NATIVE_LOAD');
    dir = up;
  }
}

function requireNode(file: string): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(file) as NativeAddon;
  addon.setErrorClass(ConvBertError);
  return addon;
}

/** Candidate CUDA builds: CONVBERT_CUDA_BINARY, the cmake-js output, then a CUDA build placed in prebuilds/ (the package ships none: docs/cuda.md). */
function cudaCandidates(root: string): string[] {
  const out: string[] = [];
  if (process.env.CONVBERT_CUDA_BINARY) out.push(path.resolve(process.env.CONVBERT_CUDA_BINARY));
  out.push(path.join(root, 'build-cuda', 'Release', 'convbert.node'));
  out.push(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'convbert.cuda.node'));
  return out.filter((f) => fs.existsSync(f));
}

export function loadAddon(): LoadedAddon {
  if (loaded) return loaded;
  const root = packageRoot();
  const attempts: string[] = [];
  let cudaFallbackReason: string | undefined;
  const want = (process.env.CONVBERT_BACKEND ?? 'auto').toLowerCase();
  if (want !== 'cpu') {
    for (const file of cudaCandidates(root)) {
      try {
        const addon = requireNode(file);
        const info = addon.backendInfo().cuda;
        if (info.available) {
          loaded = { addon, file, build: 'cuda' };
          return loaded;
        }
        cudaFallbackReason = `CUDA build ${path.relative(root, file)} not used: ${info.reason ?? 'no usable GPU'}; using the CPU build`;
      } catch (e) {
        cudaFallbackReason = `CUDA build at ${file} failed to load (${(e as Error).message.split('\n')[0]}); using the CPU build`;
      }
      attempts.push(`${file}: ${cudaFallbackReason}`);
      break;
    }
    if (cudaFallbackReason && !process.env.CONVBERT_QUIET) {
      process.emitWarning(cudaFallbackReason, { code: 'CONVBERT_CUDA_FALLBACK' });
    }
  }
  try {
    // node-gyp-build looks in prebuilds/<platform>-<arch>/ first, then build/Release.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    const file = nodeGypBuild.resolve(root);
    loaded = { addon: requireNode(file), file, build: 'cpu', cudaFallbackReason };
    return loaded;
  } catch (e) {
    attempts.push(`node-gyp-build(${root}): ${(e as Error).message.split('\n')[0]}`);
  }
  throw new ConvBertError(
    `cannot load the convbert native addon. Tried:\n  ${attempts.join('\n  ')}\n` +
      'Fix: run `npm rebuild convbert` (needs g++, make and python3), or install on linux-x64 where a prebuilt binary ships.',
    'ERR_CONVBERT_NATIVE_LOAD',
  );
}

let loadedTest: { addon: NativeTestAddon; file: string } | undefined;

/**
 * Loads the test addon that belongs to the addon in use: beside a CUDA build, CONVBERT_CUDA_TEST_BINARY
 * or convbert_test.node in the same folder; beside a CPU build (a local build or a prebuild, which
 * ships without it), build/Release/convbert_test.node. Not part of the public API (lib/index.ts
 * does not export it): tests and benches only.
 */
export function loadTestAddon(): { addon: NativeTestAddon; file: string } {
  if (loadedTest) return loadedTest;
  const main = loadAddon();
  const root = packageRoot();
  let file: string;
  if (main.build === 'cuda') {
    file = process.env.CONVBERT_CUDA_TEST_BINARY ? path.resolve(process.env.CONVBERT_CUDA_TEST_BINARY) : path.join(path.dirname(main.file), 'convbert_test.node');
  } else {
    file = path.join(root, 'build', 'Release', 'convbert_test.node');
  }
  if (!fs.existsSync(file)) {
    throw new ConvBertError(
      `cannot load the test addon: expected it at ${file} beside ${main.file}, found nothing. ` +
        'Fix: `npx node-gyp build` (builds both addons), or for a CUDA build `cmake --build <build dir> --target convbert_test`',
      'ERR_CONVBERT_NATIVE_LOAD',
    );
  }
  loadedTest = { addon: requireNode(file) as NativeTestAddon, file };
  return loadedTest;
}

/** The addon, loaded on first use. */
export function native(): NativeAddon {
  return loadAddon().addon;
}
