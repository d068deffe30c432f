// pytorch_model.bin reader: the two fixture .bin files give the same tensors,
// bit for bit, as their model.safetensors; tied keys share one storage; the
// legacy position_ids buffer survives as int64; synthetic archives cover
// strided views, storage offsets, deflate, zip64 and sharded .bin indexes.
// Exact comparisons throughout (no tolerance): bytes are copied, not computed.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';

import { ConvBertError } from '../../lib/errors';
import { loadStateDict, loadStateDictSync, parseTorchBin, readSafetensorsSync, readTorchBin, readTorchBinSync } from '../../lib/weights';
import { fixturesDir } from '../helpers/fixtures';
import { makeZip, sameBytes, stateDictPickle, torchZip, type TorchTensorSpec } from './builders';

const BINS = [
  { dir: ['tiny-a', 'ConvBertForMaskedLM'], onlyInBin: ['generator_lm_head.weight'] },
  { dir: ['proj-groups-b', 'ConvBertModel'], onlyInBin: ['embeddings.position_ids'] },
];

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bin-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const { dir, onlyInBin } of BINS) {
  test(`${dir.join('/')}: pytorch_model.bin equals model.safetensors bit for bit`, async (t) => {
    const bin = await readTorchBin(fixturesDir('convbert', ...dir, 'pytorch_model.bin'));
    const st = readSafetensorsSync(fixturesDir('convbert', ...dir, 'model.safetensors')).tensors;
    t.is(bin.archive, 'pytorch_model');
    t.deepEqual(
      [...bin.tensors.keys()].filter((k) => !st.has(k)),
      onlyInBin,
      'keys only in the .bin',
    );
    t.deepEqual(
      [...st.keys()].filter((k) => !bin.tensors.has(k)),
      [],
      'every safetensors key is in the .bin',
    );
    for (const [k, want] of st) {
      const got = bin.tensors.get(k)!;
      t.is(got.dtype, want.dtype, k);
      t.deepEqual(got.dims, want.dims, k);
      t.true(sameBytes(got.data, want.data), `${k}: bytes`);
    }
    // Stored entries are 64-byte aligned by torch: every tensor views the one file buffer (no copies).
    t.is(new Set([...bin.tensors.values()].map((x) => x.data.buffer)).size, 1, 'zero-copy');
    // torch.save(state_dict()) pickles an OrderedDict whose _metadata BUILD restores.
    t.truthy(bin.metadata, '_metadata present');
    t.deepEqual(bin.metadata!.get(''), { version: 1 });
  });
}

test('tied LM head: present in the .bin, one shared storage, equal to the word embeddings', (t) => {
  const bin = readTorchBinSync(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'pytorch_model.bin'));
  const head = bin.tensors.get('generator_lm_head.weight')!;
  const emb = bin.tensors.get('convbert.embeddings.word_embeddings.weight')!;
  t.deepEqual(head.dims, emb.dims);
  t.true(sameBytes(head.data, emb.data));
  t.is(head.data.buffer, emb.data.buffer, 'same storage -> same bytes');
  t.is(head.data.byteOffset, emb.data.byteOffset);
  t.deepEqual([...bin.sharedStorages.values()], [['convbert.embeddings.word_embeddings.weight', 'generator_lm_head.weight']]);
  // The safetensors file leaves the tied key out (HF save_pretrained).
  const st = readSafetensorsSync(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'model.safetensors')).tensors;
  t.false(st.has('generator_lm_head.weight'));
  t.true(sameBytes(head.data, st.get('convbert.embeddings.word_embeddings.weight')!.data));
});

test('legacy position_ids buffer is kept as an int64 arange', (t) => {
  const bin = readTorchBinSync(fixturesDir('convbert', 'proj-groups-b', 'ConvBertModel', 'pytorch_model.bin'));
  const pos = bin.tensors.get('embeddings.position_ids')!;
  t.is(pos.dtype, 'int64');
  t.deepEqual(pos.dims, [1, 128]);
  t.deepEqual(
    [...(pos.data as BigInt64Array)],
    Array.from({ length: 128 }, (_, i) => BigInt(i)),
  );
});

test('loadStateDict: directories follow HF order, files go by name or content', async (t) => {
  const fx = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
  // model.safetensors wins over pytorch_model.bin.
  const fromDir = await loadStateDict(fx);
  t.false(fromDir.has('generator_lm_head.weight'));
  const dir = tmpDir(t);
  fs.copyFileSync(path.join(fx, 'pytorch_model.bin'), path.join(dir, 'pytorch_model.bin'));
  const binOnly = loadStateDictSync(dir);
  t.true(binOnly.has('generator_lm_head.weight'), 'a directory with only pytorch_model.bin loads it');
  // A file with an unhelpful name is recognised by its content.
  fs.copyFileSync(path.join(fx, 'pytorch_model.bin'), path.join(dir, 'weights.data'));
  t.is((await loadStateDict(path.join(dir, 'weights.data'))).size, binOnly.size);
  fs.copyFileSync(path.join(fx, 'model.safetensors'), path.join(dir, 'weights2.data'));
  t.is(loadStateDictSync(path.join(dir, 'weights2.data')).size, fromDir.size);
});

test('missing paths fail with ERR_CONVBERT_IO naming the path and what was looked for', async (t) => {
  const dir = tmpDir(t);
  const missing = path.join(dir, 'nope');
  const e1 = await t.throwsAsync(loadStateDict(missing));
  t.true(e1 instanceof ConvBertError);
  t.is((e1 as ConvBertError).code, 'ERR_CONVBERT_IO');
  t.true(e1!.message.includes(missing));
  const e2 = t.throws(() => loadStateDictSync(dir)) as ConvBertError;
  t.is(e2.code, 'ERR_CONVBERT_IO');
  t.true(e2.message.includes(dir) && e2.message.includes('model.safetensors') && e2.message.includes('pytorch_model.bin'));
});

// ---- synthetic archives: expected values are computed here from the spec of each view.

function f32bytes(xs: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}

test('strided views, storage offsets and shared storages become contiguous tensors', (t) => {
  const base = Array.from({ length: 12 }, (_, i) => i * 1.5 - 3); // storage "0": 12 floats
  const specs: TorchTensorSpec[] = [
    { name: 'full', storage: '0', storageType: 'FloatStorage', offset: 0, size: [3, 4], stride: [4, 1] },
    { name: 'transposed', storage: '0', storageType: 'FloatStorage', offset: 0, size: [4, 3], stride: [1, 4] },
    { name: 'row2', storage: '0', storageType: 'FloatStorage', offset: 8, size: [4], stride: [1] },
    { name: 'cols', storage: '0', storageType: 'FloatStorage', offset: 1, size: [3, 2], stride: [4, 2] },
    { name: 'empty', storage: '0', storageType: 'FloatStorage', offset: 0, size: [0, 5], stride: [5, 1] },
    { name: 'ids', storage: '1', storageType: 'LongStorage', offset: 1, size: [1, 2], stride: [2, 1] },
    { name: 'dbl', storage: '2', storageType: 'DoubleStorage', offset: 0, size: [2], stride: [1] },
  ];
  const storages = {
    '0': f32bytes(base),
    '1': new Uint8Array(BigInt64Array.from([10n, -20n, 30n]).buffer),
    '2': new Uint8Array(Float64Array.from([0.1, -7]).buffer),
  };
  const pkl = stateDictPickle(specs, { '0': 12, '1': 3, '2': 2 });
  for (const variant of [{}, { deflate: true }, { zip64: true }] as const) {
    const r = parseTorchBin(torchZip(pkl, storages, variant), `synthetic ${JSON.stringify(variant)}`);
    const get = (k: string): number[] => [...(r.tensors.get(k)!.data as Float32Array)];
    const at = (off: number, size: number[], stride: number[]): number[] => {
      const out: number[] = [];
      const rec = (d: number, p: number): void => {
        if (d === size.length) return void out.push(Math.fround(base[p]));
        for (let i = 0; i < size[d]; i++) rec(d + 1, p + i * stride[d]);
      };
      rec(0, off);
      return out;
    };
    for (const s of specs.filter((x) => x.storage === '0')) {
      t.deepEqual(get(s.name), at(s.offset, s.size, s.stride), `${s.name} ${JSON.stringify(variant)}`);
      t.deepEqual(r.tensors.get(s.name)!.dims, s.size);
    }
    t.deepEqual([...(r.tensors.get('ids')!.data as BigInt64Array)], [-20n, 30n]);
    t.is(r.tensors.get('dbl')!.dtype, 'float32');
    t.deepEqual(get('dbl'), [Math.fround(0.1), -7]);
    t.is(r.converted.get('dbl'), 'DoubleStorage');
    t.deepEqual(r.sharedStorages.get('0'), ['full', 'transposed', 'row2', 'cols', 'empty']);
    t.deepEqual(r.metadata?.get(''), { version: 1 });
  }
});

test('sharded pytorch_model.bin.index.json loads every shard', (t) => {
  const dir = tmpDir(t);
  const a = stateDictPickle([{ name: 'a', storage: '0', storageType: 'FloatStorage', offset: 0, size: [2], stride: [1] }], { '0': 2 }, false);
  const b = stateDictPickle([{ name: 'b', storage: '0', storageType: 'FloatStorage', offset: 0, size: [1], stride: [1] }], { '0': 1 }, false);
  fs.writeFileSync(path.join(dir, 'pytorch_model-00001-of-00002.bin'), torchZip(a, { '0': f32bytes([1, 2]) }));
  fs.writeFileSync(path.join(dir, 'pytorch_model-00002-of-00002.bin'), torchZip(b, { '0': f32bytes([3]) }));
  fs.writeFileSync(
    path.join(dir, 'pytorch_model.bin.index.json'),
    JSON.stringify({ metadata: { total_size: 12 }, weight_map: { a: 'pytorch_model-00001-of-00002.bin', b: 'pytorch_model-00002-of-00002.bin' } }),
  );
  const sd = loadStateDictSync(dir);
  t.deepEqual([...(sd.get('a')!.data as Float32Array)], [1, 2]);
  t.deepEqual([...(sd.get('b')!.data as Float32Array)], [3]);
  // An index may not point outside its directory.
  fs.writeFileSync(path.join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { a: '../../etc/passwd' } }));
  const err = t.throws(() => loadStateDictSync(dir)) as ConvBertError;
  t.is(err.code, 'ERR_CONVBERT_WEIGHTS');
  t.regex(err.message, /same directory/);
});

test('a zip without <archive>/data.pkl is not a torch archive', (t) => {
  const zip = makeZip([{ name: 'readme.txt', data: Buffer.from('hello') }]);
  const err = t.throws(() => parseTorchBin(zip, 'other.zip')) as ConvBertError;
  t.is(err.code, 'ERR_CONVBERT_WEIGHTS');
  t.regex(err.message, /^other\.zip: not a PyTorch zip archive/);
});
