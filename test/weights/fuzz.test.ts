// Seeded fuzz of the checkpoint readers: random byte flips and truncations of
// fixture safetensors and pytorch_model.bin files, 3000 runs in all. Each run
// must return (valid tensors) or throw a ConvBertError: never another error
// type, never a crash, never a hang (each run is timed; the bound is generous
// for a loaded 2-core machine, a real hang would take far longer). Flips are
// aimed at the structure (header, data.pkl, zip directory) where the parsers
// branch; half of the .bin runs skip the CRC check so flips reach the unpickler.
import * as fs from 'fs';

import test, { type ExecutionContext } from 'ava';

import { ConvBertError } from '../../lib/errors';
import { Tensor, itemSize } from '../../lib/tensor';
import { parseSafetensors, parseTorchBin } from '../../lib/weights';
import { fixturesDir } from '../helpers/fixtures';
import { mulberry32 } from '../helpers/rng';

const MAX_RUN_MS = 2000;

interface Corpus {
  name: string;
  bytes: Uint8Array;
  /** [begin, end) byte ranges holding the structure the parser interprets. */
  hot: Array<[number, number]>;
}

function safetensorsCorpus(...p: string[]): Corpus {
  const bytes = new Uint8Array(fs.readFileSync(fixturesDir('convbert', ...p)));
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return { name: p.join('/'), bytes, hot: [[0, 8 + n]] };
}

function binCorpus(...p: string[]): Corpus {
  const bytes = new Uint8Array(fs.readFileSync(fixturesDir('convbert', ...p)));
  const buf = Buffer.from(bytes);
  // data.pkl is the first entry; the next local header ends its region. The central directory runs to the end.
  const pklEnd = buf.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4);
  const cd = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  return { name: p.join('/'), bytes, hot: [[0, pklEnd], [cd, bytes.length]] };
}

function mutate(c: Corpus, rand: () => number): { bytes: Uint8Array; what: string } {
  const pick = (n: number): number => Math.floor(rand() * n);
  let bytes = c.bytes.slice();
  const what: string[] = [];
  const mode = rand();
  if (mode < 0.7) {
    const flips = 1 + pick(6);
    for (let i = 0; i < flips; i++) {
      let at: number;
      if (rand() < 0.85) {
        const [b, e] = c.hot[pick(c.hot.length)];
        at = b + pick(e - b);
      } else {
        at = pick(bytes.length);
      }
      const kind = pick(4);
      if (kind === 0) bytes[at] ^= 1 << pick(8);
      else if (kind === 1) bytes[at] = pick(256);
      else if (kind === 2) bytes[at] = rand() < 0.5 ? 0 : 0xff;
      else bytes[at] = (bytes[at] + (rand() < 0.5 ? 1 : 255)) & 0xff;
      what.push(`flip@${at}`);
    }
  }
  if (mode >= 0.55) {
    // Truncate: anywhere, or inside the structure.
    const cut = rand() < 0.5 ? pick(bytes.length) : (() => { const [b, e] = c.hot[pick(c.hot.length)]; return b + pick(e - b); })();
    bytes = bytes.slice(0, cut);
    what.push(`cut@${cut}`);
  }
  return { bytes, what: what.join(',') };
}

function checkTensors(tensors: Map<string, Tensor>): string | undefined {
  for (const [k, x] of tensors) {
    if (!(x instanceof Tensor)) return `${k}: not a Tensor`;
    const n = x.dims.reduce((a, b) => a * b, 1);
    if (n !== x.data.length || x.data.byteLength !== n * itemSize(x.dtype)) return `${k}: data does not match dims`;
  }
  return undefined;
}

function fuzz(t: ExecutionContext, corpora: Corpus[], runs: number, seed: number, parse: (bytes: Uint8Array, i: number) => Map<string, Tensor>): void {
  const rand = mulberry32(seed);
  const failures: string[] = [];
  let ok = 0;
  let rejected = 0;
  let slowest = 0;
  for (let i = 0; i < runs; i++) {
    const c = corpora[i % corpora.length];
    const { bytes, what } = mutate(c, rand);
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
  const corpora = [safetensorsCorpus('tiny-a', 'ConvBertModel', 'model.safetensors'), safetensorsCorpus('tiny-a', 'ConvBertForMaskedLM', 'expected.safetensors')];
  fuzz(t, corpora, 1500, 0x5afe, (bytes) => parseSafetensors(bytes, 'fuzz.safetensors').tensors);
});

test('fuzz pytorch_model.bin: flips and truncations give tensors or a ConvBertError', (t) => {
  t.timeout(60_000);
  const corpora = [binCorpus('tiny-a', 'ConvBertForMaskedLM', 'pytorch_model.bin'), binCorpus('proj-groups-b', 'ConvBertModel', 'pytorch_model.bin')];
  fuzz(t, corpora, 1500, 0xb1, (bytes, i) => parseTorchBin(bytes, 'fuzz.bin', { verifyCrc: i % 4 < 2 }).tensors);
});
