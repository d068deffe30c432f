// Seeded fuzz of the checkpoint readers: random byte flips and truncations of
// fixture safetensors and pytorch_model.bin files, 3000 runs in all. Each run
// must return (valid tensors) or throw a ConvBertError: never another error
// type, never a crash, never a hang (each run is timed; the bound is generous
// for a loaded 2-core machine, a real hang would take far longer). Flips are
// aimed at the structure (header, data.pkl, zip directory) where the parsers
// branch; half of the .bin runs skip the CRC check so flips reach the unpickler.
import test, { type ExecutionContext } from 'ava';

import { ConvBertError } from '../../lib/errors';
import { Tensor, itemSize } from '../../lib/tensor';
import { parseSafetensors, parseTorchBin } from '../../lib/weights';
import { mutateBytes, type ByteSeed } from '../fuzz/mutate';
import { binSeed, safetensorsSeed } from '../fuzz/seeds';
import { mulberry32 } from '../helpers/rng';

const MAX_RUN_MS = 2000;

function checkTensors(tensors: Map<string, Tensor>): string | undefined {
  for (const [k, x] of tensors) {
    if (!(x instanceof Tensor)) return `${k}: not a Tensor`;
    const n = x.dims.reduce((a, b) => a * b, 1);
    if (n !== x.data.length || x.data.byteLength !== n * itemSize(x.dtype)) return `${k}: data does not match dims`;
  }
  return undefined;
}

function fuzz(t: ExecutionContext, corpora: ByteSeed[], runs: number, seed: number, parse: (bytes: Uint8Array, i: number) => Map<string, Tensor>): void {
  const rand = mulberry32(seed);
  const failures: string[] = [];
  let ok = 0;
  let rejected = 0;
  let slowest = 0;
  for (let i = 0; i < runs; i++) {
    const c = corpora[i % corpora.length];
    const { bytes, what } = mutateBytes(c, rand);
    const t0 = performance.now();
    try {
      const bad = checkTensors(parse(bytes, i));
      if (bad) failures.push(`run ${i} ${c.name} ${what}: returned bad tensors (${bad})`);
      ok++;
    } catch (err) {
      if (err instanceof ConvBertError) rejected++;
      else failures.push(`run ${i} ${c.name} ${what}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > MAX_RUN_MS) failures.push(`run ${i} ${c.name} ${what}: took ${ms.toFixed(0)} ms`);
  }
  t.log(`${runs} runs: ${ok} loaded, ${rejected} rejected with ConvBertError, slowest ${slowest.toFixed(1)} ms`);
  t.deepEqual(failures.slice(0, 10), [], `${failures.length} runs failed (seed ${seed})`);
  t.is(ok + rejected, runs);
  // The mutations must bite: most runs are rejected, so the error paths were exercised.
  t.true(rejected > runs / 2, `${rejected} of ${runs} rejected`);
}

test('fuzz safetensors: flips and truncations give tensors or a ConvBertError', (t) => {
  t.timeout(60_000);
  const corpora = [safetensorsSeed('tiny-a', 'ConvBertModel', 'model.safetensors'), safetensorsSeed('tiny-a', 'ConvBertForMaskedLM', 'expected.safetensors')];
  fuzz(t, corpora, 1500, 0x5afe, (bytes) => parseSafetensors(bytes, 'fuzz.safetensors').tensors);
});

test('fuzz pytorch_model.bin: flips and truncations give tensors or a ConvBertError', (t) => {
  t.timeout(60_000);
  const corpora = [binSeed('tiny-a', 'ConvBertForMaskedLM', 'pytorch_model.bin'), binSeed('proj-groups-b', 'ConvBertModel', 'pytorch_model.bin')];
  fuzz(t, corpora, 1500, 0xb1, (bytes, i) => parseTorchBin(bytes, 'fuzz.bin', { verifyCrc: i % 4 < 2 }).tensors);
});
