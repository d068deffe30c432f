// resolveModelPath against a fake Hub on 127.0.0.1: which files a ConvBERT
// snapshot gets (weights in transformers' order of preference, optional
// tokenizer files), reuse of the cache with counted requests, offline mode,
// a cache laid out by hand the way Python's huggingface_hub writes it, and
// the errors for paths and ids that are neither. Files compare byte-exact.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';

import { ConvBertError } from '../../lib/errors';
import { resolveModelPath } from '../../lib/hub';
import { fixturesDir } from '../helpers/fixtures';
import { commitId, FakeHub, gitBlobSha1, sha256, type FakeFile } from './fake_hub';
import { isolateHubEnv, removeTmpDirs, readFixture, tinyModelFiles, tmpCache, tokenizerFiles } from './setup';

test.before(isolateHubEnv);
test.after.always(removeTmpDirs);

const C1 = commitId('resolve-c1');

function codeOf(e: unknown): string | undefined {
  return e instanceof ConvBertError ? e.code : undefined;
}

async function hubWith(files: Record<string, FakeFile>, repoId = 'org/tiny'): Promise<FakeHub> {
  const hub = await FakeHub.start();
  hub.addCommit(repoId, C1, files);
  return hub;
}

function listSnapshot(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

test('a repo id becomes a snapshot folder with config, weights and the tokenizer files the repo has', async (t) => {
  const files = { ...tinyModelFiles(), ...tokenizerFiles() };
  const hub = await hubWith(files);
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const opts = { endpoint: hub.endpoint, cacheDir };

  const dir = await resolveModelPath('org/tiny', opts);
  t.is(dir, path.join(cacheDir, 'models--org--tiny', 'snapshots', C1));
  t.deepEqual(listSnapshot(dir), ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
  for (const f of listSnapshot(dir)) t.deepEqual(fs.readFileSync(path.join(dir, f)), files[f].data, f);
  t.deepEqual(fs.readdirSync(path.join(cacheDir, 'models--org--tiny', '.no_exist', C1)).sort(), ['added_tokens.json', 'special_tokens_map.json', 'tokenizer.json']);
  t.false(
    hub.log.some((r) => r.path.endsWith('pytorch_model.bin')),
    'no fallback asked for once safetensors exists',
  );
  const others = hub.log.filter((r) => r.path.includes('/resolve/') && !r.path.endsWith('/config.json'));
  t.true(others.length > 0 && others.every((r) => r.path.includes(`/resolve/${C1}/`)), 'every file after config.json is fetched at its commit');

  // Again on "main": one HEAD (config.json) to learn the commit, then everything comes from the cache.
  let n = hub.log.length;
  t.is(await resolveModelPath('org/tiny', opts), dir);
  t.deepEqual(
    hub.log.slice(n).map((r) => `${r.method} ${r.path}`),
    ['HEAD /org/tiny/resolve/main/config.json'],
  );

  n = hub.log.length;
  t.is(await resolveModelPath('org/tiny', { ...opts, revision: C1 }), dir);
  t.is(await resolveModelPath('org/tiny', { ...opts, localFilesOnly: true }), dir);
  t.is(hub.log.length, n, 'pinned commit or offline: no request at all');
});

test('an existing directory or file is returned as is, with no request', async (t) => {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
  t.is(await resolveModelPath(dir), dir);
  const file = path.join(dir, 'config.json');
  t.is(await resolveModelPath(file), file);
});

test('ids that are neither a path nor a repo, and repos that do not exist', async (t) => {
  const hub = await hubWith(tinyModelFiles());
  t.teardown(() => hub.close());
  const opts = { endpoint: hub.endpoint, cacheDir: tmpCache() };
  const missingDir = await t.throwsAsync(resolveModelPath('./no/such/dir', opts));
  t.is(codeOf(missingDir), 'ERR_CONVBERT_IO');
  t.regex(missingDir!.message, /neither an existing file or directory nor a Hub repo id/);
  t.is(codeOf(await t.throwsAsync(resolveModelPath('has space/x', opts))), 'ERR_CONVBERT_ARG');
  t.is(codeOf(await t.throwsAsync(resolveModelPath('', opts))), 'ERR_CONVBERT_ARG');
  t.is(codeOf(await t.throwsAsync(resolveModelPath('org/absent', opts))), 'ERR_CONVBERT_HUB_NOT_FOUND');
  t.is(hub.log.length, 1, 'only the real repo id reached the server');
});

test('weights: sharded safetensors (index + every shard), else pytorch_model.bin, else a clear error', async (t) => {
  const cfg = { data: readFixture('convbert', 'tiny-a', 'ConvBertModel', 'config.json') };
  const shard1 = { data: readFixture('convbert', 'tiny-a', 'ConvBertModel', 'model.safetensors'), lfs: 'cdn' as const };
  const shard2 = { data: readFixture('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'model.safetensors'), lfs: 'relative' as const };
  const index = {
    data: Buffer.from(
      JSON.stringify({
        metadata: { total_size: shard1.data.length + shard2.data.length },
        weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors', 'c.weight': 'model-00001-of-00002.safetensors' },
      }),
    ),
  };
  const sharded = await hubWith({
    'config.json': cfg,
    'model.safetensors.index.json': index,
    'model-00001-of-00002.safetensors': shard1,
    'model-00002-of-00002.safetensors': shard2,
  });
  t.teardown(() => sharded.close());
  const cacheDir = tmpCache();
  const dir = await resolveModelPath('org/tiny', { endpoint: sharded.endpoint, cacheDir });
  t.deepEqual(listSnapshot(dir), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
  t.deepEqual(fs.readFileSync(path.join(dir, 'model-00002-of-00002.safetensors')), shard2.data);
  t.is(sharded.requests({ method: 'GET' }).filter((r) => r.path.startsWith('/lfs-blobs/')).length, 2, 'each shard once');
  t.is(await resolveModelPath('org/tiny', { endpoint: sharded.endpoint, cacheDir, localFilesOnly: true }), dir, 'sharded snapshot reusable offline');

  const bin = { data: readFixture('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'pytorch_model.bin'), lfs: 'cdn' as const };
  const torch = await hubWith({ 'config.json': cfg, 'pytorch_model.bin': bin });
  t.teardown(() => torch.close());
  const tdir = await resolveModelPath('org/tiny', { endpoint: torch.endpoint, cacheDir: tmpCache() });
  t.deepEqual(listSnapshot(tdir), ['config.json', 'pytorch_model.bin']);
  t.deepEqual(fs.readFileSync(path.join(tdir, 'pytorch_model.bin')), bin.data);

  const none = await hubWith({ 'config.json': cfg });
  t.teardown(() => none.close());
  const err = await t.throwsAsync(resolveModelPath('org/tiny', { endpoint: none.endpoint, cacheDir: tmpCache() }));
  t.is(codeOf(err), 'ERR_CONVBERT_HUB_NOT_FOUND');
  t.regex(err!.message, /no weights found on the Hub; looked for model\.safetensors, model\.safetensors\.index\.json, pytorch_model\.bin, pytorch_model\.bin\.index\.json/);
});

test('a shard index naming a file outside the snapshot is refused before any write', async (t) => {
  const hub = await hubWith({
    'config.json': { data: Buffer.from('{}') },
    'model.safetensors.index.json': { data: Buffer.from(JSON.stringify({ weight_map: { w: '../../../../evil.bin' } })) },
  });
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const err = await t.throwsAsync(resolveModelPath('org/tiny', { endpoint: hub.endpoint, cacheDir }));
  t.is(codeOf(err), 'ERR_CONVBERT_ARG');
  t.regex(err!.message, /weight_map shard/);
  t.false(hub.log.some((r) => r.path.includes('evil')));
  t.false(fs.existsSync(path.join(cacheDir, 'evil.bin')));
});

test('allowPatterns limits the optional files (config.json is always fetched)', async (t) => {
  const hub = await hubWith({ ...tinyModelFiles(), ...tokenizerFiles() });
  t.teardown(() => hub.close());
  const dir = await resolveModelPath('org/tiny', { endpoint: hub.endpoint, cacheDir: tmpCache(), allowPatterns: ['*.safetensors', 'vocab.*'] });
  t.deepEqual(listSnapshot(dir), ['config.json', 'model.safetensors', 'vocab.txt']);
  t.false(hub.log.some((r) => r.path.endsWith('.json') && !r.path.endsWith('config.json')));
});

test('offline with nothing cached fails with ERR_CONVBERT_HUB_OFFLINE and no request', async (t) => {
  const hub = await hubWith(tinyModelFiles());
  t.teardown(() => hub.close());
  const err = await t.throwsAsync(resolveModelPath('org/tiny', { endpoint: hub.endpoint, cacheDir: tmpCache(), localFilesOnly: true }));
  t.is(codeOf(err), 'ERR_CONVBERT_HUB_OFFLINE');
  t.regex(err!.message, /org\/tiny\/config\.json at revision "main" is not in the cache/);
  t.is(hub.log.length, 0);
});

/** A cache as Python's huggingface_hub leaves it: blobs by etag, relative links, refs/main, no .no_exist. */
function writePythonStyleCache(cacheDir: string, files: Record<string, FakeFile>): string {
  const root = path.join(cacheDir, 'models--org--tiny');
  const snap = path.join(root, 'snapshots', C1);
  fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
  fs.mkdirSync(snap, { recursive: true });
  fs.mkdirSync(path.join(root, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'refs', 'main'), C1);
  for (const [name, f] of Object.entries(files)) {
    const etag = f.lfs ? sha256(f.data) : gitBlobSha1(f.data);
    fs.writeFileSync(path.join(root, 'blobs', etag), f.data);
    fs.symlinkSync(`../../blobs/${etag}`, path.join(snap, name));
  }
  return snap;
}

test("a cache written by Python's huggingface_hub is reused: offline with no request, online with HEADs only", async (t) => {
  const files = { ...tinyModelFiles(), ...tokenizerFiles() };
  const hub = await hubWith(files);
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const snap = writePythonStyleCache(cacheDir, files);
  const blobs = path.join(cacheDir, 'models--org--tiny', 'blobs');
  const before = fs.readdirSync(blobs).map((b) => `${b}:${fs.statSync(path.join(blobs, b)).mtimeMs}`);

  t.is(await resolveModelPath('org/tiny', { endpoint: hub.endpoint, cacheDir, localFilesOnly: true }), snap);
  t.is(hub.log.length, 0);

  t.is(await resolveModelPath('org/tiny', { endpoint: hub.endpoint, cacheDir }), snap);
  t.is(hub.requests({ method: 'GET' }).length, 0, 'nothing downloaded again');
  // config.json on main, then the two tokenizer files the Python cache has no record of (404s).
  t.deepEqual(
    hub.log.map((r) => r.path).sort(),
    [
      '/org/tiny/resolve/main/config.json',
      `/org/tiny/resolve/${C1}/added_tokens.json`,
      `/org/tiny/resolve/${C1}/special_tokens_map.json`,
      `/org/tiny/resolve/${C1}/tokenizer.json`,
    ].sort(),
  );
  t.deepEqual(
    fs.readdirSync(blobs).map((b) => `${b}:${fs.statSync(path.join(blobs, b)).mtimeMs}`),
    before,
    'blobs untouched',
  );
});
