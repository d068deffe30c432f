// One safetensors validator for every reader: each crafted file below breaks
// one rule of the format and must be the same typed error through
// loadStateDict (the whole-file reader) and through fromPretrained (the lazy,
// header-first reader), never a model built from misread or random weights.
// Valid but unusual files (entries out of offset order in the JSON, null
// __metadata__) must load identically on both paths. Comparisons are exact:
// the same bytes decoded the same way.
import test, { type ExecutionContext } from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertError, type ConvBertErrorCode } from '../../lib/errors';
import { ConvBertModel } from '../../lib/models';
import { openCheckpoint } from '../../lib/models/checkpoint';
import { Tensor } from '../../lib/tensor';
import { encodeSafetensors, loadStateDict, loadStateDictSync, saveStateDict } from '../../lib/weights';
import { fixturesDir } from '../helpers/fixtures';
import { RefEngine } from './ref_engine';

const engine = RefEngine;
const SRC = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');

function tmpDir(t: ExecutionContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-st-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A safetensors file: the 8-byte length (`n`, default the JSON's length), the JSON text, the data. */
function stFile(json: string, data: Uint8Array, n?: number): Buffer {
  const h = Buffer.from(json, 'utf8');
  const out = Buffer.concat([Buffer.alloc(8), h, data]);
  out.writeBigUInt64LE(BigInt(n ?? h.length), 0);
  return out;
}

const FIXTURE = fs.readFileSync(path.join(SRC, 'model.safetensors'));
const FIXTURE_N = Number(FIXTURE.readBigUInt64LE(0));
const FIXTURE_DATA = FIXTURE.subarray(8 + FIXTURE_N);
/** The fixture's header entries as JSON members (no braces, no __metadata__), offsets unchanged. */
const FIXTURE_MEMBERS = (() => {
  const h = JSON.parse(FIXTURE.subarray(8, 8 + FIXTURE_N).toString('utf8')) as Record<string, unknown>;
  delete h.__metadata__;
  return JSON.stringify(h).slice(1, -1);
})();

/**
 * The real fixture plus crafted members whose data follows the fixture's: `members(base)` writes
 * them with offsets from `base`, the end of the fixture's data. Every ConvBERT weight is there, so
 * a reader that accepts the crafted part builds a model (with unexpected keys) instead of failing.
 */
function withFixture(members: (base: number) => string, extra: Uint8Array, head = ''): Buffer {
  return stFile(`{${head}${FIXTURE_MEMBERS},${members(FIXTURE_DATA.length)}}`, Buffer.concat([FIXTURE_DATA, extra]));
}

/** A model folder (the tiny fixture's config.json) holding `weights` as model.safetensors. */
function modelDir(t: ExecutionContext, weights: Uint8Array): string {
  const d = tmpDir(t);
  fs.copyFileSync(path.join(SRC, 'config.json'), path.join(d, 'config.json'));
  fs.writeFileSync(path.join(d, 'model.safetensors'), weights);
  return d;
}

/** The same file must fail with `code` and `mention` through every reader. */
async function rejectedEverywhere(t: ExecutionContext, weights: Uint8Array, mention: RegExp, code: ConvBertErrorCode = 'ERR_CONVBERT_WEIGHTS'): Promise<void> {
  const d = modelDir(t, weights);
  const file = path.join(d, 'model.safetensors');
  for (const [via, run] of [
    ['loadStateDict', () => loadStateDict(d)],
    ['loadStateDictSync', async () => loadStateDictSync(d)],
    ['fromPretrained', () => ConvBertModel.fromPretrained(d, { engine })],
  ] as Array<[string, () => Promise<unknown>]>) {
    const err = await t.throwsAsync(run(), undefined, via);
    t.true(err instanceof ConvBertError, `${via}: a ConvBertError, got ${String(err)}`);
    t.is((err as ConvBertError).code, code, `${via}: ${err?.message}`);
    t.true(err!.message.includes(file), `${via}: the message names the file: ${err?.message}`);
    t.regex(err!.message, mention, via);
  }
}

const F32x2 = new Uint8Array(new Float32Array([1.5, -2.25]).buffer);
const F32x4 = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);

test('a header length 8 bytes short (padding read as data, every tensor shifted by 2 floats) is refused on both paths', async (t) => {
  const bytes = fs.readFileSync(path.join(SRC, 'model.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const json = bytes
    .subarray(8, 8 + n)
    .toString('utf8')
    .trimEnd();
  // The JSON, 8 spaces that N leaves out, then the real data: the spaces become the data's first 8 bytes.
  const shifted = Buffer.concat([stFile(json, new Uint8Array(0)), Buffer.from('        '), bytes.subarray(8 + n)]);
  await rejectedEverywhere(t, shifted, /data area has \d+ bytes but the tensors cover \d+/);
});

test('a header length one byte short (the last padding byte read as data) is refused', async (t) => {
  const json = `{${FIXTURE_MEMBERS}}`;
  await rejectedEverywhere(t, stFile(`${json} `, FIXTURE_DATA, Buffer.byteLength(json)), /data area has \d+ bytes but the tensors cover \d+/);
});

test('overlapping offsets are refused', async (t) => {
  const f = withFixture(
    (b) =>
      `"a":{"dtype":"F32","shape":[3],"data_offsets":[${b},${b + 12}]},` +
      `"b":{"dtype":"F32","shape":[1],"data_offsets":[${b + 8},${b + 12}]},` +
      `"c":{"dtype":"F32","shape":[1],"data_offsets":[${b + 12},${b + 16}]}`,
    F32x4,
  );
  await rejectedEverywhere(t, f, /tensor "b".*overlap tensor "a"/);
});

test('a duplicate JSON key (JSON.parse would keep the last silently) is refused, at any depth', async (t) => {
  const entry = (b: number) => `{"dtype":"F32","shape":[2],"data_offsets":[${b},${b + 8}]}`;
  await rejectedEverywhere(
    t,
    withFixture((b) => `"w":${entry(b)},"w":${entry(b)}`, F32x2),
    /key "w" twice/,
  );
  // The same key spelled with an escape is the same key.
  await rejectedEverywhere(
    t,
    withFixture((b) => `"w":${entry(b)},"\\u0077":${entry(b)}`, F32x2),
    /key "w" twice/,
  );
  await rejectedEverywhere(
    t,
    withFixture((b) => `"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[${b},${b + 8}]}`, F32x2),
    /key "dtype" twice/,
  );
  await rejectedEverywhere(
    t,
    withFixture((b) => `"w":${entry(b)}`, F32x2, '"__metadata__":{"format":"pt","format":"np"},'),
    /key "format" twice/,
  );
});

test('__metadata__ must be a string -> string map', async (t) => {
  const w = (b: number) => `"w":{"dtype":"F32","shape":[2],"data_offsets":[${b},${b + 8}]}`;
  await rejectedEverywhere(t, withFixture(w, F32x2, '"__metadata__":{"format":1},'), /__metadata__\["format"\] must be a string, got number 1/);
  await rejectedEverywhere(t, withFixture(w, F32x2, '"__metadata__":["pt"],'), /__metadata__ must be an object of strings, got an array/);
  await rejectedEverywhere(t, withFixture(w, F32x2, '"__metadata__":"pt",'), /__metadata__ must be an object of strings/);
});

test('gaps, trailing bytes, bounds, sizes, shapes and dtypes: each rule refused on both paths', async (t) => {
  const one = (e: (b: number) => object, data: Uint8Array) => withFixture((b) => `"w":${JSON.stringify(e(b))}`, data);
  await rejectedEverywhere(
    t,
    withFixture((b) => `"a":{"dtype":"F32","shape":[1],"data_offsets":[${b},${b + 4}]},"b":{"dtype":"F32","shape":[2],"data_offsets":[${b + 8},${b + 16}]}`, F32x4),
    /tensor "b".*leave bytes \[\d+, \d+\)/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F32', shape: [1], data_offsets: [b, b + 4] }), F32x2),
    /data area has \d+ bytes but the tensors cover \d+/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F32', shape: [4], data_offsets: [b, b + 16] }), F32x2),
    /run past the data area/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F32', shape: [3], data_offsets: [b, b + 8] }), F32x2),
    /needs 12 bytes but data_offsets \[\d+, \d+\] hold 8/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F32', shape: [2], data_offsets: [b + 8, b] }), F32x2),
    /begin is after end/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F32', shape: [-2], data_offsets: [b, b + 8] }), F32x2),
    /shape must hold non-negative integers/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F32', shape: [2.5], data_offsets: [b, b + 8] }), F32x2),
    /shape must hold non-negative integers/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F32', shape: [2], data_offsets: [b, b + 8.5] }), F32x2),
    /data_offsets must be \[begin, end\]/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'F31', shape: [2], data_offsets: [b, b + 8] }), F32x2),
    /unknown dtype "F31"/,
  );
  await rejectedEverywhere(
    t,
    one((b) => ({ dtype: 'U32', shape: [2], data_offsets: [b, b + 8] }), F32x2),
    /dtype U32 is not supported/,
    'ERR_CONVBERT_DTYPE',
  );
  // Files that are not safetensors at all.
  await rejectedEverywhere(t, stFile('[1, 2]', F32x2), /header must be a JSON object, got an array/);
  await rejectedEverywhere(t, stFile('{}', F32x2, 1), /too small for a JSON object/);
  await rejectedEverywhere(t, stFile('{}', F32x2, 1000), /header length 1000 runs past the end of the file/);
  await rejectedEverywhere(t, stFile('{}', Buffer.from('x'), 3), /not valid JSON/);
  await rejectedEverywhere(t, new Uint8Array(5), /truncated: 5 bytes/);
});

test('valid but unusual: JSON entries out of offset order and a null __metadata__ read the same on both paths', async (t) => {
  // "b" before "a" in the JSON, "a" first in the data: the format sorts by offset, names keep their bytes.
  const members = (o: number) => `"b":{"dtype":"F32","shape":[2],"data_offsets":[${o + 8},${o + 16}]},"a":{"dtype":"F32","shape":[2],"data_offsets":[${o},${o + 8}]}`;
  const d = modelDir(t, withFixture(members, F32x4, '"__metadata__":null,'));
  const sd = await loadStateDict(d);
  t.deepEqual(Array.from(sd.get('a')!.data as Float32Array), [1, 2]);
  t.deepEqual(Array.from(sd.get('b')!.data as Float32Array), [3, 4]);
  const { checkpoint, lazy } = await openCheckpoint(d);
  t.true(lazy, 'the lazy reader took it');
  t.deepEqual(Array.from(checkpoint.get('a')!.read()), [1, 2]);
  t.deepEqual(Array.from(checkpoint.get('b')!.read()), [3, 4]);
  // Through fromPretrained the tensors are unexpected keys (not ConvBERT's): the load succeeds with a warning.
  const m = await ConvBertModel.fromPretrained(d, { engine });
  t.deepEqual([...m.loadInfo.unexpected_keys].sort(), ['a', 'b']);
  m.dispose();
});

test('the lazy path on a valid file: the fixture written back loads to the same outputs as the original', async (t) => {
  // The header validator and the data-order entries feed the same bytes to the model: exact equality.
  const ids = new Tensor('int64', [[5, 7, 9, 11, 3]]);
  const ref = await ConvBertModel.fromPretrained(SRC, { engine });
  const want = (await ref.forward({ input_ids: ids })).last_hidden_state;
  ref.dispose();
  const d = tmpDir(t);
  await saveStateDict(d, await loadStateDict(SRC));
  fs.copyFileSync(path.join(SRC, 'config.json'), path.join(d, 'config.json'));
  const again = await ConvBertModel.fromPretrained(d, { engine });
  t.deepEqual(Array.from((await again.forward({ input_ids: ids })).last_hidden_state.data), Array.from(want.data));
  again.dispose();
});

test('sharded: a shard breaking a rule is refused through fromPretrained, and an index naming a tensor its shard lacks too', async (t) => {
  const good = encodeSafetensors(new Map([['a', new Tensor('float32', new Float32Array([1, 2]), [2])]]));
  const d = tmpDir(t);
  fs.copyFileSync(path.join(SRC, 'config.json'), path.join(d, 'config.json'));
  const entry = '{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
  fs.writeFileSync(path.join(d, 'model-00001-of-00002.safetensors'), good);
  fs.writeFileSync(path.join(d, 'model-00002-of-00002.safetensors'), stFile(`{"b":${entry},"b":${entry}}`, F32x2));
  const index = { metadata: { total_size: 16 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
  fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify(index));
  for (const run of [() => loadStateDict(d), () => ConvBertModel.fromPretrained(d, { engine })]) {
    const err = await t.throwsAsync(run());
    t.is((err as ConvBertError).code, 'ERR_CONVBERT_WEIGHTS', err?.message);
    t.regex(err!.message, /model-00002-of-00002\.safetensors: header has the key "b" twice/);
  }
  fs.writeFileSync(path.join(d, 'model-00002-of-00002.safetensors'), stFile(`{"c":${entry}}`, F32x2));
  for (const run of [() => loadStateDict(d), () => ConvBertModel.fromPretrained(d, { engine })]) {
    const err = await t.throwsAsync(run());
    t.is((err as ConvBertError).code, 'ERR_CONVBERT_WEIGHTS', err?.message);
    t.regex(err!.message, /tensor "b": weight_map says it is in model-00002-of-00002\.safetensors, but that shard does not hold it/);
  }
});
