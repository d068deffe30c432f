// Bad checkpoints: each malformed input gets its own test, a ConvBertError
// with the expected code, and a message that names the file and, where there
// is one, the tensor. Malicious pickles are assembled here opcode by opcode;
// their payloads would create a marker file, which must never appear.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test, { type ExecutionContext } from 'ava';

import { ConvBertError, type ConvBertErrorCode } from '../../lib/errors';
import { ALLOWED_GLOBALS, loadStateDictSync, parseSafetensors, parseTorchBin, readSafetensorsSync, unpickle } from '../../lib/weights';
import { fixturesDir } from '../helpers/fixtures';
import { PickleWriter, makeZip, stateDictPickle, torchZip, zeroBomb, type ZipInput } from './builders';

function expectError(t: ExecutionContext, fn: () => unknown, code: ConvBertErrorCode, ...mentions: Array<string | RegExp>): ConvBertError {
  const err = t.throws(fn) as unknown;
  t.true(err instanceof ConvBertError, `a ConvBertError, got ${String(err)}`);
  const e = err as ConvBertError;
  t.is(e.code, code, e.message);
  for (const m of mentions) {
    if (typeof m === 'string') t.true(e.message.includes(m), `message ${JSON.stringify(e.message)} mentions ${m}`);
    else t.regex(e.message, m);
  }
  return e;
}

/** A safetensors file from a header object (any JSON) and a data area. */
function st(header: unknown, data: Uint8Array | number = 0): Uint8Array {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = Buffer.concat([Buffer.alloc(8), h, d]);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  return new Uint8Array(out);
}

const F = 'bad.safetensors';
const FIXTURE = fixturesDir('convbert', 'tiny-a', 'ConvBertModel', 'model.safetensors');

// ---------------------------------------------------------------- safetensors

test('truncated file (cut inside the data area) names the tensor that runs past the end', (t) => {
  const bytes = new Uint8Array(fs.readFileSync(FIXTURE));
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString()) as Record<string, { data_offsets: number[] }>;
  const last = Object.keys(header)
    .filter((k) => k !== '__metadata__')
    .sort((a, b) => header[b].data_offsets[1] - header[a].data_offsets[1])[0];
  expectError(t, () => parseSafetensors(bytes.slice(0, bytes.length - 10), FIXTURE), 'ERR_CONVBERT_WEIGHTS', FIXTURE, `"${last}"`, 'truncated');
});

test('truncated file (shorter than the length prefix)', (t) => {
  expectError(t, () => parseSafetensors(new Uint8Array(5), F), 'ERR_CONVBERT_WEIGHTS', F, 'truncated');
});

test('truncated file on disk fails through readSafetensorsSync', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bad-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'model.safetensors');
  fs.writeFileSync(file, fs.readFileSync(FIXTURE).subarray(0, 1000));
  expectError(t, () => readSafetensorsSync(file), 'ERR_CONVBERT_WEIGHTS', file);
});

test('header length past the end of the file', (t) => {
  const bytes = st({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4);
  Buffer.from(bytes.buffer).writeBigUInt64LE(BigInt(bytes.length), 0);
  expectError(t, () => parseSafetensors(bytes, F), 'ERR_CONVBERT_WEIGHTS', F, 'header length', 'past the end');
  Buffer.from(bytes.buffer).writeBigUInt64LE(2n ** 63n, 0);
  expectError(t, () => parseSafetensors(bytes, F), 'ERR_CONVBERT_WEIGHTS', F, 'past the end');
});

test('header that is not JSON', (t) => {
  expectError(t, () => parseSafetensors(st('{"a": {"dtype": "F32",', 0), F), 'ERR_CONVBERT_WEIGHTS', F, 'not valid JSON');
  expectError(t, () => parseSafetensors(st(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'), 0), F), 'ERR_CONVBERT_WEIGHTS', F);
});

test('header that is JSON but not an object', (t) => {
  expectError(t, () => parseSafetensors(st([1, 2], 0), F), 'ERR_CONVBERT_WEIGHTS', F, 'JSON object');
  expectError(t, () => parseSafetensors(st({ a: 5 }, 0), F), 'ERR_CONVBERT_WEIGHTS', F, '"a"');
  expectError(t, () => parseSafetensors(st({ __metadata__: { format: 5 } }, 0), F), 'ERR_CONVBERT_WEIGHTS', '__metadata__');
});

test('unknown dtype', (t) => {
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), F), 'ERR_CONVBERT_WEIGHTS', F, '"w"', 'unknown dtype');
  // A real safetensors dtype we have no Tensor type for is a dtype error, not a broken file.
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'U16', shape: [2], data_offsets: [0, 4] } }, 4), F), 'ERR_CONVBERT_DTYPE', F, '"w"', 'U16');
});

test('offsets out of range', (t) => {
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), F), 'ERR_CONVBERT_WEIGHTS', F, '"w"', 'past the data area');
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, 8), F), 'ERR_CONVBERT_WEIGHTS', '"w"', 'begin is after end');
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4), F), 'ERR_CONVBERT_WEIGHTS', '"w"', 'data_offsets');
});

test('overlapping offsets', (t) => {
  const h = {
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  };
  expectError(t, () => parseSafetensors(st(h, 12), F), 'ERR_CONVBERT_WEIGHTS', F, '"b"', '"a"', 'overlap');
});

test('holes and trailing bytes in the data area (the reference reader refuses them too)', (t) => {
  expectError(t, () => parseSafetensors(st({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), F), 'ERR_CONVBERT_WEIGHTS', '"a"', 'unused');
  expectError(t, () => parseSafetensors(st({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), F), 'ERR_CONVBERT_WEIGHTS', F, 'trailing');
});

test('shape that does not match the bytes', (t) => {
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 20] } }, 20), F), 'ERR_CONVBERT_WEIGHTS', F, '"w"', 'needs 24 bytes', 'hold 20');
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'F32', shape: [2.5], data_offsets: [0, 10] } }, 10), F), 'ERR_CONVBERT_WEIGHTS', '"w"', 'shape');
  expectError(t, () => parseSafetensors(st({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, 4), F), 'ERR_CONVBERT_WEIGHTS', '"w"', 'shape');
});

// ---------------------------------------------------------------- torch zip

test('a zip that is not a torch archive', (t) => {
  const zip = makeZip([{ name: 'model/weights.npy', data: new Uint8Array(16) }]);
  expectError(t, () => parseTorchBin(zip, 'x.bin'), 'ERR_CONVBERT_WEIGHTS', 'x.bin', 'not a PyTorch zip archive');
  expectError(t, () => parseTorchBin(new Uint8Array(Buffer.from('just some text, not a zip')), 'y.bin'), 'ERR_CONVBERT_WEIGHTS', 'y.bin', 'not a PyTorch zip archive');
  // A safetensors file named .bin is not a torch archive either.
  expectError(t, () => parseTorchBin(new Uint8Array(fs.readFileSync(FIXTURE)), 'z.bin'), 'ERR_CONVBERT_WEIGHTS', 'not a PyTorch zip archive');
});

test('legacy (pre-zip) torch.save files are refused with a way out', (t) => {
  const legacy = new PickleWriter().proto(2).raw(0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).stop().bytes();
  expectError(t, () => parseTorchBin(legacy, 'old.bin'), 'ERR_CONVBERT_WEIGHTS', 'old.bin', 'legacy', 'safetensors');
});

test('a torch archive whose storage entry is missing or the wrong size', (t) => {
  const pkl = stateDictPickle([{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 0, size: [4], stride: [1] }], { '0': 4 });
  expectError(t, () => parseTorchBin(torchZip(pkl, {}), 'm.bin'), 'ERR_CONVBERT_WEIGHTS', 'm.bin', 'archive/data/0');
  expectError(t, () => parseTorchBin(torchZip(pkl, { '0': new Uint8Array(12) }), 'm.bin'), 'ERR_CONVBERT_WEIGHTS', 'needs 16 bytes', 'has 12');
});

test('a tensor view that reads past its storage', (t) => {
  const pkl = stateDictPickle([{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 2, size: [2, 2], stride: [2, 1] }], { '0': 4 });
  expectError(t, () => parseTorchBin(torchZip(pkl, { '0': new Uint8Array(16) }), 'm.bin'), 'ERR_CONVBERT_WEIGHTS', 'storage "0"', 'reads element 5');
});

test('a corrupted entry fails its CRC check', (t) => {
  const pkl = stateDictPickle([{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 0, size: [4], stride: [1] }], { '0': 4 });
  const zip = torchZip(pkl, { '0': new Uint8Array(16) });
  const at = Buffer.from(zip).indexOf('archive/data/0') + 'archive/data/0'.length;
  // The storage's data starts at the next 64-byte boundary after its local header.
  const dataStart = Math.ceil((at + 4) / 64) * 64;
  zip[dataStart + 3] ^= 0x40;
  expectError(t, () => parseTorchBin(zip, 'm.bin'), 'ERR_CONVBERT_WEIGHTS', 'CRC');
});

// ---------------------------------------------------------------- malicious pickles

function marker(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-pwn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'executed');
}

/** `module.name(arg)` as GLOBAL + REDUCE, the classic pickle exploit. */
function callPickle(module: string, name: string, arg: string): Uint8Array {
  return new PickleWriter().proto(2).global(module, name).str(arg).raw(0x85).reduce().stop().bytes();
}

const hooks = {
  allowedGlobals: ALLOWED_GLOBALS,
  reduce: (): never => {
    throw new Error('reduce must not be reached');
  },
};

test('a pickle with a forbidden global: os.system via GLOBAL + REDUCE', (t) => {
  const m = marker(t);
  const pkl = callPickle('os', 'system', `touch ${m}`);
  expectError(t, () => unpickle(pkl, 'evil.pkl', hooks), 'ERR_CONVBERT_UNSAFE_PICKLE', 'evil.pkl', '"os.system"');
  // The same pickle as data.pkl of an otherwise valid torch archive.
  expectError(t, () => parseTorchBin(torchZip(pkl, {}), 'evil.bin'), 'ERR_CONVBERT_UNSAFE_PICKLE', 'evil.bin', '"os.system"');
  t.false(fs.existsSync(m), 'the payload never ran');
});

test('a pickle with a forbidden global: builtins.eval', (t) => {
  const m = marker(t);
  const pkl = callPickle('builtins', 'eval', `__import__('os').system('touch ${m}')`);
  expectError(t, () => parseTorchBin(torchZip(pkl, {}), 'evil.bin'), 'ERR_CONVBERT_UNSAFE_PICKLE', '"builtins.eval"');
  t.false(fs.existsSync(m));
});

test('other forbidden globals, including through STACK_GLOBAL and inside a real state dict', (t) => {
  for (const [mod, name] of [
    ['posix', 'system'],
    ['subprocess', 'Popen'],
    ['__builtin__', 'exec'],
    ['torch', 'load'],
    ['torch.storage', '_load_from_bytes'],
    ['collections', 'defaultdict'],
  ]) {
    expectError(t, () => unpickle(callPickle(mod, name, 'x'), 'evil.pkl', hooks), 'ERR_CONVBERT_UNSAFE_PICKLE', `"${mod}.${name}"`);
  }
  // Protocol 4 names globals with STACK_GLOBAL (0x93) from two strings on the stack.
  const sg = new PickleWriter()
    .proto(4)
    .raw(0x8c, 2, ...Buffer.from('os'), 0x8c, 6, ...Buffer.from('system'))
    .raw(0x93)
    .str('id')
    .raw(0x85)
    .reduce()
    .stop()
    .bytes();
  expectError(t, () => unpickle(sg, 'evil.pkl', hooks), 'ERR_CONVBERT_UNSAFE_PICKLE', '"os.system"');
  // A genuine state dict with one poisoned value: refused, not partially loaded.
  const good = stateDictPickle([{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 0, size: [1], stride: [1] }], { '0': 1 }, false);
  const poisoned = Uint8Array.from([...good.subarray(0, good.length - 2), ...callPickle('os', 'system', 'id').subarray(2, -1), 0x2e]);
  expectError(t, () => parseTorchBin(torchZip(poisoned, { '0': new Uint8Array(4) }), 'p.bin'), 'ERR_CONVBERT_UNSAFE_PICKLE', '"os.system"');
});

test('an unknown opcode, and opcodes that build arbitrary objects', (t) => {
  expectError(t, () => unpickle(Uint8Array.from([0x80, 0x02, 0xff, 0x2e]), 'op.pkl', hooks), 'ERR_CONVBERT_UNSAFE_PICKLE', 'op.pkl', 'opcode 0xff');
  // INST ('i'), OBJ ('o'), NEWOBJ (0x81) and EXT1 (0x82) create objects without naming an allowed global.
  for (const [op, name] of [
    [0x69, 'INST'],
    [0x6f, 'OBJ'],
    [0x81, 'NEWOBJ'],
    [0x82, 'EXT1'],
  ] as const) {
    expectError(t, () => unpickle(Uint8Array.from([0x80, 0x02, 0x28, op, 0x2e]), 'op.pkl', hooks), 'ERR_CONVBERT_UNSAFE_PICKLE', name);
  }
  // Inside a torch archive too.
  expectError(t, () => parseTorchBin(torchZip(Uint8Array.from([0x80, 0x02, 0xfe, 0x2e]), {}), 'op.bin'), 'ERR_CONVBERT_UNSAFE_PICKLE', 'op.bin', 'opcode 0xfe');
});

test('a truncated or unbalanced pickle is a malformed file, not a crash', (t) => {
  const good = stateDictPickle([{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 0, size: [1], stride: [1] }], { '0': 1 });
  for (const cut of [1, 5, 40, good.length - 1]) {
    expectError(t, () => parseTorchBin(torchZip(good.subarray(0, cut), { '0': new Uint8Array(4) }), 't.bin'), 'ERR_CONVBERT_WEIGHTS', 't.bin');
  }
  expectError(t, () => unpickle(Uint8Array.from([0x80, 0x02, 0x73, 0x2e]), 'u.pkl', hooks), 'ERR_CONVBERT_WEIGHTS', 'stack underflow');
  expectError(t, () => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 0x07, 0x2e]), 'u.pkl', hooks), 'ERR_CONVBERT_WEIGHTS', 'memo');
});

test('hostile sizes are refused before they cost time or memory', (t) => {
  // LONG4 with a 100 KB integer: decoding it would be quadratic.
  const long4 = Uint8Array.from([0x80, 0x02, 0x8b, 0xa0, 0x86, 0x01, 0x00, ...new Uint8Array(100_000), 0x2e]);
  expectError(t, () => unpickle(long4, 'l.pkl', hooks), 'ERR_CONVBERT_WEIGHTS', 'LONG of 100000 bytes');
  // Many transposed (copied) views of one storage would allocate far more than the file holds.
  const n = 256;
  const specs = Array.from({ length: 20 }, (_, i) => ({ name: `v${i}`, storage: '0', storageType: 'FloatStorage', offset: 0, size: [n, n], stride: [1, n] }));
  const zip = torchZip(stateDictPickle(specs, { '0': n * n }), { '0': new Uint8Array(4 * n * n) });
  expectError(t, () => parseTorchBin(zip, 'v.bin'), 'ERR_CONVBERT_WEIGHTS', 'v.bin', 'more than 4x the file size');
  // A view that reads elements twice (expand, stride 0) is refused rather than materialised.
  const expand = stateDictPickle([{ name: 'e', storage: '0', storageType: 'FloatStorage', offset: 0, size: [1000000], stride: [0] }], { '0': 1 });
  expectError(t, () => parseTorchBin(torchZip(expand, { '0': new Uint8Array(4) }), 'e.bin'), 'ERR_CONVBERT_WEIGHTS', 'more than once');
});

/** Peak RSS growth (getrusage's max RSS, bytes) while `fn` runs. */
function peakGrowth(fn: () => void): number {
  const before = process.resourceUsage().maxRSS * 1024;
  fn();
  return process.resourceUsage().maxRSS * 1024 - before;
}

test('a deflated storage that inflates to 1 GiB from a 1 MB file is refused before inflating', (t) => {
  // 2^28 floats = 1 GiB: the pickle, the directory and the stream all agree, and the CRC is right,
  // so only the memory bound (4x the file + 1 MiB, shared with strided copies) stops it.
  const bomb = zeroBomb(1024);
  const pkl = stateDictPickle([{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 0, size: [1 << 28], stride: [1] }], { '0': 1 << 28 });
  const zip = makeZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/data/0', data: new Uint8Array(0), deflated: bomb },
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
  t.true(zip.length < 2_000_000, `the archive is ${zip.length} bytes`);
  // Tolerance: 256 MiB of RSS, a quarter of what inflating would take, for the test's own buffers.
  const grew = peakGrowth(() => {
    expectError(t, () => parseTorchBin(zip, 'bomb.bin'), 'ERR_CONVBERT_WEIGHTS', 'bomb.bin', '"archive/data/0"', `inflating it to ${1 << 30} bytes would pass the memory bound`);
  });
  t.true(grew < 256 * 2 ** 20, `peak RSS grew ${(grew / 2 ** 20).toFixed(0)} MiB`);
});

test('a deflated entry whose directory size disagrees with the tensor, or with its stream, is refused before it costs memory', (t) => {
  const bomb = zeroBomb(1024);
  const pkl = stateDictPickle([{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 0, size: [4], stride: [1] }], { '0': 4 });
  const archive = (storage: ZipInput) => makeZip([{ name: 'archive/data.pkl', data: pkl }, storage, { name: 'archive/version', data: Buffer.from('3\n') }]);
  // The directory says 1 GiB; the pickle's 4 floats need 16 bytes: refused on the sizes alone.
  const big = archive({ name: 'archive/data/0', data: new Uint8Array(0), deflated: bomb });
  let grew = peakGrowth(() => {
    expectError(t, () => parseTorchBin(big, 'b.bin'), 'ERR_CONVBERT_WEIGHTS', 'storage "0"', 'needs 16 bytes', `the archive entry has ${1 << 30}`);
  });
  t.true(grew < 256 * 2 ** 20, `peak RSS grew ${(grew / 2 ** 20).toFixed(0)} MiB`);
  // The directory says 16 bytes, the stream holds 1 GiB: zlib stops at 16.
  const lying = archive({ name: 'archive/data/0', data: new Uint8Array(0), deflated: { ...bomb, size: 16 } });
  grew = peakGrowth(() => {
    expectError(t, () => parseTorchBin(lying, 'l.bin'), 'ERR_CONVBERT_WEIGHTS', '"archive/data/0"', 'cannot inflate to the 16 bytes');
  });
  t.true(grew < 256 * 2 ** 20, `peak RSS grew ${(grew / 2 ** 20).toFixed(0)} MiB`);
  // data.pkl itself deflated to 1 GiB (its size comes from the directory only): the same bound.
  const pklBomb = makeZip([
    { name: 'archive/data.pkl', data: new Uint8Array(0), deflated: bomb },
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
  grew = peakGrowth(() => {
    expectError(t, () => parseTorchBin(pklBomb, 'p.bin'), 'ERR_CONVBERT_WEIGHTS', '"archive/data.pkl"', 'would pass the memory bound');
  });
  t.true(grew < 256 * 2 ** 20, `peak RSS grew ${(grew / 2 ** 20).toFixed(0)} MiB`);
});

test('a deflated storage within the bound still loads, and counts against the same bound as strided copies', (t) => {
  const n = 256;
  const data = new Float32Array(n * n).map((_, i) => i);
  const one = [{ name: 'w', storage: '0', storageType: 'FloatStorage', offset: 0, size: [n, n], stride: [n, 1] }];
  const ok = parseTorchBin(torchZip(stateDictPickle(one, { '0': n * n }), { '0': new Uint8Array(data.buffer) }, { deflate: true }), 'ok.bin');
  t.deepEqual(Array.from(ok.tensors.get('w')!.data as Float32Array).slice(0, 5), [0, 1, 2, 3, 4]);
  // Four transposed copies (1 MiB) of a 256 KiB storage of zeros fit the bound of the stored file
  // (4 x 258 KB + 1 MiB). Deflated, the file is ~2 KB: the copies alone would still fit 4 x 2 KB +
  // 1 MiB, but the 256 KiB inflated first are charged to the same bound, and then they do not.
  const four = Array.from({ length: 4 }, (_, i) => ({ name: `t${i}`, storage: '0', storageType: 'FloatStorage', offset: 0, size: [n, n], stride: [1, n] }));
  const zeros = new Uint8Array(4 * n * n);
  t.is(parseTorchBin(torchZip(stateDictPickle(four, { '0': n * n }), { '0': zeros }), 's.bin').tensors.size, 4);
  const deflated = torchZip(stateDictPickle(four, { '0': n * n }), { '0': zeros }, { deflate: true });
  t.true(4 * deflated.length + (1 << 20) >= 4 * zeros.length, "the copies alone fit the deflated file's bound");
  expectError(t, () => parseTorchBin(deflated, 'd.bin'), 'ERR_CONVBERT_WEIGHTS', 'd.bin', 'more than 4x the file size');
});

test('a state dict holding something other than tensors', (t) => {
  const pkl = new PickleWriter().proto(2).emptyDict().str('step').int(7).setitem().stop().bytes();
  expectError(t, () => parseTorchBin(torchZip(pkl, {}), 's.bin'), 'ERR_CONVBERT_WEIGHTS', 's.bin', '"step"', 'not a tensor');
  const list = new PickleWriter().proto(2).raw(0x5d).stop().bytes();
  expectError(t, () => parseTorchBin(torchZip(list, {}), 's.bin'), 'ERR_CONVBERT_WEIGHTS', 'state dict');
});

test('loadStateDictSync reports a corrupted .bin by path', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bad-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pytorch_model.bin');
  fs.writeFileSync(file, fs.readFileSync(fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'pytorch_model.bin')).subarray(0, 5000));
  expectError(t, () => loadStateDictSync(dir), 'ERR_CONVBERT_WEIGHTS', file);
});
