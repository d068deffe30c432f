// fixture_runner.ts: runs every case of every folder of the ConvBERT golden
// fixtures (index.json) through fromPretrained + forward and compares every
// element of every output at |got - exp| <= 1e-4 + 1e-4|exp| (the fixtures
// README's float32 check; the reference's own fp32-vs-fp64 noise is <= 7.3e-6).
// Run as a script it prints one JSON report, so the ava test can run it in a
// child process per CONVBERT_ISA path (the ISA is chosen once per process).
import * as path from 'path';

import { Tensor } from '../../lib/tensor';
import { readSafetensorsSync } from '../../lib/weights/safetensors';
import * as models from '../../lib/models';
import type { NativeEngineCtor } from '../../lib/engine_types';
import { fixturesDir, readJson } from '../helpers/fixtures';

export const RTOL = 1e-4;
export const ATOL = 1e-4;

export interface IndexEntry {
  config: string;
  architecture: string;
  path: string;
  cases: string[];
  files: string[];
}

export interface FixtureCase {
  name: string;
  tags?: string[];
  inputs: Record<string, string>;
  kwargs: Record<string, boolean>;
  outputs: Record<string, string | string[]>;
  shapes: Record<string, number[]>;
}

export interface Comparison {
  folder: string;
  case: string;
  output: string;
  ok: boolean;
  n: number;
  detail?: string;
}

type AnyModelClass = {
  fromPretrained(
    p: string,
    o?: { engine?: NativeEngineCtor },
  ): Promise<{
    forward(i: unknown, o?: unknown): Promise<Record<string, unknown>>;
    dispose(): void;
  }>;
};

export function modelClass(architecture: string): AnyModelClass {
  const cls = (models as unknown as Record<string, AnyModelClass>)[architecture];
  if (!cls) throw new Error(`no model class ${architecture}`);
  return cls;
}

export function fixtureIndex(): IndexEntry[] {
  return readJson<IndexEntry[]>(fixturesDir('convbert', 'index.json'));
}

/** Compares one output tensor element-wise; the message names the worst element. */
export function compareTensor(got: unknown, want: Tensor, label: string): { ok: boolean; n: number; detail?: string } {
  if (!(got instanceof Tensor)) return { ok: false, n: 0, detail: `${label}: missing (got ${typeof got})` };
  const gd = got.dims.join(',');
  const wd = want.dims.join(',');
  if (gd !== wd) return { ok: false, n: 0, detail: `${label}: dims [${gd}] != expected [${wd}]` };
  const g = got.toFloat32();
  const w = want.toFloat32();
  let worst = -1;
  let excess = 0;
  for (let i = 0; i < w.length; i++) {
    const diff = Math.abs(g[i] - w[i]);
    const lim = ATOL + RTOL * Math.abs(w[i]);
    if (!(diff <= lim)) {
      const e = Number.isNaN(diff) ? Infinity : diff - lim;
      if (worst < 0 || e > excess) {
        worst = i;
        excess = e;
      }
    }
  }
  if (worst >= 0) return { ok: false, n: w.length, detail: `${label}: element ${worst} got ${g[worst]} expected ${w[worst]}` };
  return { ok: true, n: w.length };
}

/** Runs one fixture folder (optionally with another weights file and engine). */
export async function runFolder(
  entry: IndexEntry,
  opts: { weightsFile?: string; engine?: NativeEngineCtor; caseFilter?: (c: FixtureCase) => boolean } = {},
): Promise<Comparison[]> {
  const dir = fixturesDir('convbert', entry.path);
  const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
  const t = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
  const model = await modelClass(entry.architecture).fromPretrained(opts.weightsFile ? path.join(dir, opts.weightsFile) : dir, { engine: opts.engine });
  const out: Comparison[] = [];
  try {
    for (const c of cases) {
      if (opts.caseFilter && !opts.caseFilter(c)) continue;
      const inputs: Record<string, Tensor> = {};
      for (const [arg, name] of Object.entries(c.inputs)) inputs[arg] = t.get(name)!;
      let res: Record<string, unknown>;
      try {
        res = await model.forward(inputs, c.kwargs);
      } catch (e) {
        out.push({ folder: entry.path, case: c.name, output: '(forward)', ok: false, n: 0, detail: String((e as Error).stack ?? e) });
        continue;
      }
      for (const [key, names] of Object.entries(c.outputs)) {
        const list = Array.isArray(names) ? names : [names];
        const got = Array.isArray(names) ? (res[key] as unknown[] | undefined) : [res[key]];
        if (!got || got.length !== list.length) {
          out.push({ folder: entry.path, case: c.name, output: key, ok: false, n: 0, detail: `${key}: expected ${list.length} tensors, got ${got ? got.length : 'none'}` });
          continue;
        }
        list.forEach((name, i) => {
          const label = Array.isArray(names) ? `${key}.${i}` : key;
          const r = compareTensor(got[i], t.get(name)!, `${entry.path} ${c.name} ${label}`);
          out.push({ folder: entry.path, case: c.name, output: label, ...r });
        });
      }
    }
  } finally {
    model.dispose();
  }
  return out;
}

export async function runAll(engine?: NativeEngineCtor, caseFilter?: (c: FixtureCase) => boolean): Promise<Comparison[]> {
  const all: Comparison[] = [];
  for (const e of fixtureIndex()) {
    try {
      all.push(...(await runFolder(e, { engine, caseFilter })));
    } catch (err) {
      all.push({ folder: e.path, case: '(load)', output: '(load)', ok: false, n: 0, detail: String((err as Error).stack ?? err) });
    }
  }
  return all;
}

if (require.main === module) {
  (async () => {
    let engine: NativeEngineCtor | undefined;
    if (process.env.CONVBERT_TEST_ENGINE === 'ref') engine = (await import('./ref_engine')).RefEngine;
    const res = await runAll(engine);
    let isa = 'ref';
    if (!engine) isa = (await import('../../lib/backend')).backendInfo().isa;
    process.stdout.write(JSON.stringify({ isa, results: res }) + '\n');
  })().catch((e) => {
    process.stdout.write(JSON.stringify({ fatal: String((e as Error).stack ?? e) }) + '\n');
    process.exitCode = 1;
  });
}
