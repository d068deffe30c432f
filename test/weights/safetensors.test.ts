// safetensors reader/writer: every fixture checkpoint loads; what we write is
// byte-identical to what transformers wrote (HF layout) and reads back
// bit-identical, single and sharded. Exact comparisons (no tolerance): weights
// are copied, never computed, so any difference is a bug.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';

import { Tensor } from '../../lib/tensor';
import {
  encodeSafetensors,
  loadStateDict,
  loadStateDictSync,
  parseSafetensors,
  parseSize,
  planShards,
  readSafetensors,
  readSafetensorsSync,
  saveStateDict,
  saveStateDictSync,
  writeSafetensors,
  writeSafetensorsSync,
  type StateDict,
} from '../../lib/weights';
import { fixturesDir, readJson } from '../helpers/fixtures';
import { mulberry32, randn } from '../helpers/rng';
import { sameBytes } from './builders';

function fixtureCheckpoints(): string[] {
  const root = fixturesDir('convbert');
  const out: string[] = [];
  for (const cfg of fs.readdirSync(root).sort()) {
    const d = path.join(root, cfg);
    if (!fs.statSync(d).isDirectory()) continue;
    for (const head of fs.readdirSync(d).sort()) {
      for (const f of ['model.safetensors', 'expected.safetensors']) out.push(path.join(d, head, f));
    }
  }
  return out;
}

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-weights-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The header as the file states it, decoded independently of the reader. */
function rawHeader(bytes: Uint8Array): { n: number; json: string; obj: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const json = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  return { n, json, obj: JSON.parse(json) };
}

function assertSameStateDict(t: import('ava').ExecutionContext, got: Map<string, Tensor>, want: Map<string, Tensor>, label: string): void {
  t.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${label}: keys`);
  for (const [k, w] of want) {
    const g = got.get(k)!;
    t.is(g.dtype, w.dtype, `${label}: ${k} dtype`);
    t.deepEqual(g.dims, w.dims, `${label}: ${k} dims`);
    t.true(sameBytes(g.data, w.data), `${label}: ${k} bytes`);
  }
}

test('every fixture checkpoint loads, matches its header, and is zero-copy', (t) => {
  const files = fixtureCheckpoints();
  t.true(files.length >= 40, `found ${files.length} fixture files`);
  for (const file of files) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const { n, obj } = rawHeader(bytes);
    const r = readSafetensorsSync(file);
    const names = Object.keys(obj).filter((k) => k !== '__metadata__');
    t.deepEqual([...r.tensors.keys()].sort(), names.sort(), file);
    t.deepEqual(r.metadata, { format: 'pt' }, file);
    t.is(r.headerLength, n);
    const buffers = new Set<ArrayBufferLike>();
    for (const name of names) {
      const e = obj[name];
      const got = r.tensors.get(name)!;
      t.is(got.dtype as string, e.dtype === 'F32' ? 'float32' : e.dtype === 'I64' ? 'int64' : 'unexpected', `${file} ${name}`);
      t.deepEqual([...got.dims], e.shape);
      const [b0, b1] = e.data_offsets;
      t.true(sameBytes(got.data, bytes.subarray(8 + n + b0, 8 + n + b1)), `${file} ${name} bytes`);
      buffers.add(got.data.buffer);
    }
    // One ArrayBuffer behind every tensor: the file is held once, no per-tensor copies.
    t.is(buffers.size, names.length > 0 ? 1 : 0, `${file}: tensors share one buffer`);
    if (file.endsWith('model.safetensors'))
      t.true(
        [...r.tensors.values()].every((x) => x.dtype === 'float32'),
        'model weights are F32',
      );
  }
});

test('a large file is held once: memory grows by its size, not twice', (t) => {
  // Synchronous on purpose: no other test of this file runs between the two measurements.
  const dir = tmpDir(t);
  const n = 8 * 1024 * 1024; // 32 MiB of float32 in two tensors
  const big = new Float32Array(n);
  big[0] = 1;
  big[n - 1] = 2;
  const file = path.join(dir, 'big.safetensors');
  writeSafetensorsSync(
    file,
    new Map([
      ['a', new Tensor('float32', big.subarray(0, n / 2), [n / 2])],
      ['b', new Tensor('float32', big.subarray(n / 2), [2, n / 4])],
    ]),
  );
  const size = fs.statSync(file).size;
  const before = process.memoryUsage().arrayBuffers;
  const r = readSafetensorsSync(file);
  const grew = process.memoryUsage().arrayBuffers - before;
  t.true(grew < size * 1.25, `array buffers grew by ${grew} bytes for a ${size}-byte file`);
  const a = r.tensors.get('a')!.data as Float32Array;
  const b = r.tensors.get('b')!.data as Float32Array;
  t.is(a.buffer, b.buffer, 'both tensors view the one file buffer');
  t.is(a[0], 1);
  t.is(b[b.length - 1], 2);
});

test('async read equals sync read', async (t) => {
  const file = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'expected.safetensors');
  const a = await readSafetensors(file);
  const b = readSafetensorsSync(file);
  assertSameStateDict(t, a.tensors, b.tensors, 'async vs sync');
  t.deepEqual(a.metadata, b.metadata);
});

test('writing any fixture reproduces the file transformers wrote, byte for byte', (t) => {
  for (const file of fixtureCheckpoints()) {
    const r = readSafetensorsSync(file);
    const ours = encodeSafetensors(r.tensors, r.metadata);
    t.true(Buffer.from(ours).equals(fs.readFileSync(file)), file);
  }
});

test('written header follows the HF layout: metadata first, padded to 8, dtype-then-name order, contiguous', async (t) => {
  const rand = mulberry32(7);
  const sd: StateDict = new Map();
  sd.set('z.f32', new Tensor('float32', randn(rand, 6), [2, 3]));
  sd.set('a.f32', new Tensor('float32', randn(rand, 5), [5]));
  sd.set('b.i64', new Tensor('int64', BigInt64Array.from([1n, -2n, 3n]), [3]));
  sd.set('c.u8', new Tensor('uint8', Uint8Array.from([1, 2, 255]), [3]));
  sd.set('d.f16', new Tensor('float16', Uint16Array.from([0x3c00, 0xc000]), [2]));
  sd.set('e.bf16', new Tensor('bfloat16', Uint16Array.from([0x3f80]), [1, 1]));
  sd.set('f.bool', new Tensor('bool', Uint8Array.from([1, 0, 1, 1]), [2, 2]));
  sd.set('g.i8', new Tensor('int8', Int8Array.from([-128, 127]), [2]));
  sd.set('h.i32', new Tensor('int32', Int32Array.from([7, -7]), [2]));
  sd.set('scalar', new Tensor('float32', Float32Array.from([4.5]), []));
  sd.set('empty', new Tensor('float32', new Float32Array(0), [0, 3]));
  const file = path.join(tmpDir(t), 'x.safetensors');
  await writeSafetensors(file, sd);
  const bytes = new Uint8Array(fs.readFileSync(file));
  const { n, json, obj } = rawHeader(bytes);
  t.is(n % 8, 0, 'header padded to a multiple of 8');
  t.true(json.startsWith('{"__metadata__":{"format":"pt"},'), 'metadata first');
  t.regex(json, /^[^\n]*\} *$/, 'compact JSON, padded with spaces only');
  // Order: larger dtypes first (I64, F32, I32, BF16, F16, I8, U8, BOOL), then by name; offsets contiguous.
  const order = Object.keys(obj).filter((k) => k !== '__metadata__');
  t.deepEqual(order, ['b.i64', 'a.f32', 'empty', 'scalar', 'z.f32', 'h.i32', 'e.bf16', 'd.f16', 'g.i8', 'c.u8', 'f.bool']);
  let cursor = 0;
  for (const k of order) {
    t.is(obj[k].data_offsets[0], cursor, `${k} starts where the previous ended`);
    cursor = obj[k].data_offsets[1];
  }
  t.is(8 + n + cursor, bytes.length, 'no trailing bytes');
  t.deepEqual(obj['scalar'].shape, []);
  assertSameStateDict(t, readSafetensorsSync(file).tensors, sd, 'round trip');
});

test('F64 and I16 convert to float32 and int32; a misaligned tensor is copied correctly', (t) => {
  // Layout: a 1-byte U8 first puts the F32 tensor at an odd offset.
  const f64 = Float64Array.from([1.5, -2.25, 1e-30]);
  const i16 = Int16Array.from([-32768, 5, 32767]);
  const f32 = Float32Array.from([3.25, -1]);
  const header = JSON.stringify({
    u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
    f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] },
    d: { dtype: 'F64', shape: [3], data_offsets: [9, 33] },
    s: { dtype: 'I16', shape: [3], data_offsets: [33, 39] },
  });
  const h = Buffer.from(header);
  const buf = Buffer.concat([Buffer.alloc(8), h, Buffer.from([9]), Buffer.from(f32.buffer), Buffer.from(f64.buffer), Buffer.from(i16.buffer)]);
  buf.writeBigUInt64LE(BigInt(h.length), 0);
  const r = parseSafetensors(new Uint8Array(buf), 'mixed.safetensors');
  t.deepEqual([...(r.tensors.get('f')!.data as Float32Array)], [3.25, -1]);
  t.is(r.tensors.get('d')!.dtype, 'float32');
  t.deepEqual([...(r.tensors.get('d')!.data as Float32Array)], [...Float32Array.from(f64)]);
  t.is(r.tensors.get('s')!.dtype, 'int32');
  t.deepEqual([...(r.tensors.get('s')!.data as Int32Array)], [-32768, 5, 32767]);
  t.is(r.entries.get('d')!.dtype, 'F64', 'the stored dtype is reported');
  t.is(r.metadata, undefined);
});

test('saveStateDict: one model.safetensors below the shard size, no index', async (t) => {
  const dir = tmpDir(t);
  const sd = loadStateDictSync(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM'));
  await saveStateDict(dir, sd);
  t.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  t.true(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(fs.readFileSync(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'model.safetensors'))));
  assertSameStateDict(t, await loadStateDict(dir), sd, 'single');
});

test('sharded save and load: HF names and index, bit-identical round trip, stale files removed', async (t) => {
  const dir = tmpDir(t);
  const src = fixturesDir('convbert', 'proj-groups-b', 'ConvBertModel', 'model.safetensors');
  const sd = loadStateDictSync(src);
  const max = 40_000; // bytes: several shards from a 370 KB checkpoint, and one tensor (49 KB) over the limit
  const sizes = [...sd.values()].map((x) => x.data.byteLength);
  t.true(Math.max(...sizes) > max, 'one tensor exceeds the shard size');
  fs.writeFileSync(path.join(dir, 'model.safetensors'), 'stale');
  fs.writeFileSync(path.join(dir, 'model-00009-of-00009.safetensors'), 'stale');
  await saveStateDict(dir, sd, { maxShardSize: max });
  const shards = planShards(sd, max);
  const count = shards.length;
  t.true(count > 3, `${count} shards`);
  const expectNames = shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`);
  t.deepEqual(fs.readdirSync(dir).sort(), [...expectNames, 'model.safetensors.index.json'].sort(), 'stale model.safetensors and old shards removed');

  // The plan is HF's: in order, a shard closes before it would pass max; an oversized tensor sits alone.
  let cur: number[] = [];
  const want: number[][] = [];
  let curSize = 0;
  [...sd.values()].forEach((x, i) => {
    const s = x.data.byteLength;
    if (s > max) return void want.push([i]);
    if (curSize + s > max) {
      want.push(cur);
      cur = [];
      curSize = 0;
    }
    cur.push(i);
    curSize += s;
  });
  if (cur.length) want.push(cur);
  const keys = [...sd.keys()];
  t.deepEqual(
    shards.map((s) => s.map(([k]) => keys.indexOf(k))),
    want,
  );

  const indexText = fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8');
  const index = readJson<{ metadata: { total_size: number }; weight_map: Record<string, string> }>(path.join(dir, 'model.safetensors.index.json'));
  t.is(
    index.metadata.total_size,
    sizes.reduce((a, b) => a + b, 0),
  );
  t.deepEqual(Object.keys(index.weight_map), [...keys].sort(), 'weight_map keys sorted');
  t.true(indexText.startsWith('{\n  "metadata": {\n    "total_size": ') && indexText.endsWith('}\n'), 'json.dumps(indent=2, sort_keys=True) layout');
  shards.forEach((s, i) => s.forEach(([k]) => t.is(index.weight_map[k], expectNames[i])));
  for (const f of expectNames) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, f)));
    t.true(rawHeader(bytes).json.startsWith('{"__metadata__":{"format":"pt"}'), `${f} has HF metadata`);
  }
  assertSameStateDict(t, await loadStateDict(dir), sd, 'sharded async');
  assertSameStateDict(t, loadStateDictSync(path.join(dir, 'model.safetensors.index.json')), sd, 'sharded sync via index path');

  // Saving again unsharded removes the index, so the directory is not ambiguous.
  saveStateDictSync(dir, sd);
  t.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  assertSameStateDict(t, loadStateDictSync(dir), sd, 'resaved single');
});

test('parseSize reads bytes and HF size strings', (t) => {
  t.is(parseSize(123), 123);
  t.is(parseSize('5GB'), 5e9);
  t.is(parseSize('500MiB'), 500 * 2 ** 20);
  t.is(parseSize('10kb'), 10_000);
  for (const bad of [0, -1, 1.5, 'lots', '']) {
    t.is((t.throws(() => parseSize(bad as number | string)) as { code?: string } | undefined)?.code, 'ERR_CONVBERT_ARG', String(bad));
  }
});

test('writer rejects bad tensors with errors naming them', (t) => {
  const sd = new Map([['__metadata__', new Tensor('float32', new Float32Array(1), [1])]]);
  t.is((t.throws(() => encodeSafetensors(sd)) as { code?: string }).code, 'ERR_CONVBERT_ARG');
  const bad = new Map([['w', {} as Tensor]]);
  const err = t.throws(() => encodeSafetensors(bad)) as Error & { code?: string };
  t.is(err.code, 'ERR_CONVBERT_ARG');
  t.regex(err.message, /"w"/);
});
