// hfHubDownload against a fake Hub on 127.0.0.1 (fake_hub.ts): the cache
// layout on disk, byte for byte; redirects and where the token goes; resume
// after a cut connection and from a left-over .incomplete file; integrity
// checks; error codes. Files are compared exactly (no tolerance: bytes).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertError } from '../../lib/errors';
import { hfHubDownload, hubCacheDir, repoFolderName, type HubProgressEvent } from '../../lib/hub';
import { normalizeEtag } from '../../lib/hub/http';
import { formatProgressLine } from '../../lib/hub/progress';
import { envFlag, resolveSettings } from '../../lib/hub/settings';
import { commitId, FakeHub, gitBlobSha1, sha256, type FakeFile } from './fake_hub';
import { closedPort, isolateHubEnv, removeTmpDirs, tmpDir, readFixture, tinyModelFiles, tmpCache } from './setup';

test.before(isolateHubEnv);
test.after.always(removeTmpDirs);

const C1 = commitId('c1');
const C2 = commitId('c2');

async function withHub(files: Record<string, FakeFile> = tinyModelFiles(), token?: string): Promise<FakeHub> {
  const hub = await FakeHub.start();
  hub.addCommit('org/tiny', C1, files, ['main'], token);
  return hub;
}

function codeOf(e: unknown): string | undefined {
  return e instanceof ConvBertError ? e.code : undefined;
}

test('a plain file and an LFS file land in blobs/, snapshots/ (relative symlinks) and refs/main exactly', async (t) => {
  const hub = await withHub();
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const cfg = readFixture('convbert', 'tiny-a', 'ConvBertModel', 'config.json');
  const weights = readFixture('convbert', 'tiny-a', 'ConvBertModel', 'model.safetensors');

  const opts = { endpoint: hub.endpoint, cacheDir };
  const p1 = await hfHubDownload('org/tiny', 'config.json', opts);
  const p2 = await hfHubDownload('org/tiny', 'model.safetensors', opts);

  const root = path.join(cacheDir, 'models--org--tiny');
  t.is(repoFolderName('org/tiny'), 'models--org--tiny');
  t.is(p1, path.join(root, 'snapshots', C1, 'config.json'));
  t.is(p2, path.join(root, 'snapshots', C1, 'model.safetensors'));
  t.is(fs.readlinkSync(p1), path.join('..', '..', 'blobs', gitBlobSha1(cfg)));
  t.is(fs.readlinkSync(p2), path.join('..', '..', 'blobs', sha256(weights)), 'LFS blob is named by X-Linked-Etag, not the pointer ETag');
  t.deepEqual(fs.readFileSync(p1), cfg);
  t.deepEqual(fs.readFileSync(p2), weights);
  t.is(fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8'), C1);
  t.deepEqual(fs.readdirSync(path.join(root, 'blobs')).sort(), [gitBlobSha1(cfg), sha256(weights)].sort(), 'no .incomplete or temp files left');
  t.deepEqual(fs.readdirSync(path.join(root, 'snapshots')), [C1]);
  t.deepEqual(fs.readdirSync(path.join(root, 'refs')), ['main']);

  // One HEAD + one GET per file; the LFS GET goes to the CDN host.
  t.is(hub.requests({ method: 'HEAD' }).length, 2);
  t.deepEqual(
    hub.requests({ method: 'GET' }).map((r) => `${r.server} ${r.path}`),
    [`hub /org/tiny/resolve/main/config.json`, `cdn /lfs-blobs/${sha256(weights)}`],
  );
});

test('a cached file is reused: no request for a commit-hash revision, one HEAD for a branch', async (t) => {
  const hub = await withHub();
  t.teardown(() => hub.close());
  const opts = { endpoint: hub.endpoint, cacheDir: tmpCache() };
  const first = await hfHubDownload('org/tiny', 'model.safetensors', opts);
  const n = hub.log.length;

  t.is(await hfHubDownload('org/tiny', 'model.safetensors', { ...opts, revision: C1 }), first);
  t.is(hub.log.length, n, 'commit hash + cached file: no network at all');

  t.is(await hfHubDownload('org/tiny', 'model.safetensors', opts), first);
  t.deepEqual(
    hub.log.slice(n).map((r) => r.method),
    ['HEAD'],
    'branch: one HEAD, no GET',
  );
});

test('a blob already present (another snapshot, or Python) is linked without a GET', async (t) => {
  const hub = await FakeHub.start();
  t.teardown(() => hub.close());
  const files = tinyModelFiles();
  hub.addCommit('org/tiny', C1, files, ['v1']);
  hub.addCommit('org/tiny', C2, { ...files, 'config.json': { data: Buffer.from('{"changed":true}') } }, ['main']);
  const opts = { endpoint: hub.endpoint, cacheDir: tmpCache() };
  const a = await hfHubDownload('org/tiny', 'model.safetensors', { ...opts, revision: 'v1' });
  const gets = hub.requests({ method: 'GET' }).length;
  const b = await hfHubDownload('org/tiny', 'model.safetensors', opts);
  t.not(a, b);
  t.is(path.basename(path.dirname(b)), C2);
  t.is(fs.realpathSync(a), fs.realpathSync(b), 'both snapshots point at the one blob');
  t.is(hub.requests({ method: 'GET' }).length, gets, 'no second GET for the same etag');
});

test('revision pinning: tags, commit hashes and "refs/pr/1" (URL-encoded) resolve to their own files and refs', async (t) => {
  const hub = await FakeHub.start();
  t.teardown(() => hub.close());
  hub.addCommit('org/tiny', C1, { 'config.json': { data: Buffer.from('{"v":1}') } }, ['v1.0', 'refs/pr/1']);
  hub.addCommit('org/tiny', C2, { 'config.json': { data: Buffer.from('{"v":2}') } }, ['main']);
  const cacheDir = tmpCache();
  const opts = { endpoint: hub.endpoint, cacheDir };
  const root = path.join(cacheDir, 'models--org--tiny');

  t.is(fs.readFileSync(await hfHubDownload('org/tiny', 'config.json', opts), 'utf8'), '{"v":2}');
  t.is(fs.readFileSync(await hfHubDownload('org/tiny', 'config.json', { ...opts, revision: 'v1.0' }), 'utf8'), '{"v":1}');
  t.is(fs.readFileSync(await hfHubDownload('org/tiny', 'config.json', { ...opts, revision: C1 }), 'utf8'), '{"v":1}');
  const pr = await hfHubDownload('org/tiny', 'config.json', { ...opts, revision: 'refs/pr/1' });
  t.is(path.basename(path.dirname(pr)), C1);

  t.is(fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8'), C2);
  t.is(fs.readFileSync(path.join(root, 'refs', 'v1.0'), 'utf8'), C1);
  t.is(fs.readFileSync(path.join(root, 'refs', 'refs', 'pr', '1'), 'utf8'), C1);
  t.false(fs.existsSync(path.join(root, 'refs', C1)), 'no ref is written for a commit hash');
  t.true(
    hub.log.some((r) => r.path === '/org/tiny/resolve/refs%2Fpr%2F1/config.json'),
    'the revision is one URL-encoded segment',
  );

  const err = await t.throwsAsync(hfHubDownload('org/tiny', 'config.json', { ...opts, revision: 'nope' }));
  t.is(codeOf(err), 'ERR_CONVBERT_HUB_NOT_FOUND');
  t.regex(err!.message, /revision "nope" not found/);
});

test('private repo: 401 without a token (message says HF_TOKEN); the token goes to the Hub and same-host redirects only', async (t) => {
  const files: Record<string, FakeFile> = {
    ...tinyModelFiles('cdn'),
    'pytorch_model.bin': { data: readFixture('convbert', 'tiny-a', 'ConvBertForMaskedLM', 'pytorch_model.bin'), lfs: 'relative' as const },
  };
  const hub = await withHub(files, 'hf_secret');
  t.teardown(() => hub.close());
  const opts = { endpoint: hub.endpoint, cacheDir: tmpCache() };

  const err = await t.throwsAsync(hfHubDownload('org/tiny', 'config.json', opts));
  t.is(codeOf(err), 'ERR_CONVBERT_HUB_AUTH');
  t.regex(err!.message, /HF_TOKEN/);
  const bad = await t.throwsAsync(hfHubDownload('org/tiny', 'config.json', { ...opts, token: 'wrong' }));
  t.is(codeOf(bad), 'ERR_CONVBERT_HUB_AUTH');
  t.regex(bad!.message, /token sent/);

  hub.log.length = 0;
  const w = await hfHubDownload('org/tiny', 'model.safetensors', { ...opts, token: 'hf_secret' });
  t.deepEqual(fs.readFileSync(w), files['model.safetensors'].data);
  const head = hub.requests({ server: 'hub', method: 'HEAD' });
  t.deepEqual(
    head.map((r) => r.authorization),
    ['Bearer hf_secret'],
  );
  const cdn = hub.requests({ server: 'cdn' });
  t.is(cdn.length, 1);
  t.is(cdn[0].authorization, undefined, 'Authorization dropped on the redirect to another host');

  hub.log.length = 0;
  const bin = await hfHubDownload('org/tiny', 'pytorch_model.bin', { ...opts, token: 'hf_secret' });
  t.deepEqual(fs.readFileSync(bin), files['pytorch_model.bin'].data);
  const blobGet = hub.requests({ method: 'GET' });
  t.is(blobGet.length, 1);
  t.is(blobGet[0].server, 'hub');
  t.is(blobGet[0].authorization, 'Bearer hf_secret', 'kept on a redirect to another path of the same host');
});

test.serial('HF_TOKEN, HF_ENDPOINT and HF_HUB_CACHE are read from the environment at each call', async (t) => {
  const hub = await withHub(tinyModelFiles(), 'hf_env_token');
  t.teardown(() => hub.close());
  const saved = { ...process.env };
  t.teardown(() => {
    for (const k of ['HF_TOKEN', 'HF_ENDPOINT', 'HF_HUB_CACHE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  const cacheDir = tmpCache();
  process.env.HF_TOKEN = 'hf_env_token';
  process.env.HF_ENDPOINT = `${hub.endpoint}/`;
  process.env.HF_HUB_CACHE = cacheDir;
  t.is(hubCacheDir(), cacheDir);
  const p = await hfHubDownload('org/tiny', 'config.json');
  t.is(p, path.join(cacheDir, 'models--org--tiny', 'snapshots', C1, 'config.json'));
  t.is(hub.log[0].authorization, 'Bearer hf_env_token');
  const none = await t.throwsAsync(hfHubDownload('org/tiny', 'model.safetensors', { token: false }));
  t.is(codeOf(none), 'ERR_CONVBERT_HUB_AUTH', 'token: false sends no token even with HF_TOKEN set');
});

test('404s: unknown repo, unknown file; a 404 at a known commit is remembered in .no_exist', async (t) => {
  const hub = await withHub();
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const opts = { endpoint: hub.endpoint, cacheDir };

  const repo = await t.throwsAsync(hfHubDownload('org/missing', 'config.json', opts));
  t.is(codeOf(repo), 'ERR_CONVBERT_HUB_NOT_FOUND');
  t.regex(repo!.message, /repo "org\/missing" not found/);

  const file = await t.throwsAsync(hfHubDownload('org/tiny', 'vocab.txt', opts));
  t.is(codeOf(file), 'ERR_CONVBERT_HUB_NOT_FOUND');
  t.regex(file!.message, /file "vocab.txt" not found/);
  t.true(fs.existsSync(path.join(cacheDir, 'models--org--tiny', '.no_exist', C1, 'vocab.txt')));
  t.is(fs.readFileSync(path.join(cacheDir, 'models--org--tiny', 'refs', 'main'), 'utf8'), C1);

  const n = hub.log.length;
  const again = await t.throwsAsync(hfHubDownload('org/tiny', 'vocab.txt', { ...opts, revision: C1 }));
  t.is(codeOf(again), 'ERR_CONVBERT_HUB_NOT_FOUND');
  t.is(hub.log.length, n, 'the absence at a pinned commit is known without a request');
});

test('a connection cut mid-file is retried with a Range request and the result has the right sha256', async (t) => {
  const files = tinyModelFiles('cdn');
  const hub = await withHub(files);
  t.teardown(() => hub.close());
  const want = files['model.safetensors'].data;
  hub.cutOnce.add(sha256(want));
  const p = await hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir: tmpCache(), retryDelayMs: 1 });
  t.is(sha256(fs.readFileSync(p)), sha256(want));
  const gets = hub.requests({ server: 'cdn', method: 'GET' });
  t.is(gets.length, 2, 'one cut attempt, one resumed attempt');
  t.is(gets[0].range, undefined);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
  t.true(resumedAt > 0 && resumedAt < want.length, `resumed from byte ${resumedAt} of ${want.length}`);
});

test('a transfer that stalls mid-file times out (timeoutMs) and resumes from where it stopped', async (t) => {
  const files = tinyModelFiles('cdn');
  const hub = await withHub(files);
  t.teardown(() => hub.close());
  const want = files['model.safetensors'].data;
  hub.stallOnce.add(sha256(want));
  const t0 = Date.now();
  const p = await hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir: tmpCache(), timeoutMs: 300, retryDelayMs: 1 });
  t.deepEqual(fs.readFileSync(p), want);
  const gets = hub.requests({ server: 'cdn', method: 'GET' });
  // Two GETs normally; a loaded machine may time out once more, and that attempt resumes too.
  t.true(gets.length >= 2, `${gets.length} GETs`);
  t.is(gets[0].range, undefined);
  for (const g of gets.slice(1)) t.regex(g.range ?? '', /^bytes=[1-9]\d*-$/);
  t.true(Date.now() - t0 >= 300, 'the stall was ended by the idle timeout');
});

test('a left-over .incomplete is resumed; a server that ignores Range restarts cleanly', async (t) => {
  const files = tinyModelFiles('relative');
  const hub = await withHub(files);
  t.teardown(() => hub.close());
  const want = files['model.safetensors'].data;
  const sha = sha256(want);
  for (const ignoreRange of [false, true]) {
    hub.ignoreRange = ignoreRange;
    hub.log.length = 0;
    const cacheDir = tmpCache();
    const blobs = path.join(cacheDir, 'models--org--tiny', 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    fs.writeFileSync(path.join(blobs, `${sha}.incomplete`), want.subarray(0, 1000));
    const p = await hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir });
    t.deepEqual(fs.readFileSync(p), want, `ignoreRange=${ignoreRange}`);
    t.deepEqual(
      hub.requests({ method: 'GET' }).map((r) => r.range),
      ['bytes=1000-'],
    );
    t.false(fs.existsSync(path.join(blobs, `${sha}.incomplete`)));
  }
});

test('integrity: a wrong sha256 or a wrong size fails with ERR_CONVBERT_HUB_INTEGRITY and caches nothing', async (t) => {
  const files = tinyModelFiles('cdn');
  const sha = sha256(files['model.safetensors'].data);
  for (const mode of ['corrupt', 'wrongSize'] as const) {
    const hub = await withHub(files);
    t.teardown(() => hub.close());
    hub[mode].add(sha);
    const cacheDir = tmpCache();
    const err = await t.throwsAsync(hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir, retryDelayMs: 1 }));
    t.is(codeOf(err), 'ERR_CONVBERT_HUB_INTEGRITY', mode);
    t.regex(err!.message, mode === 'corrupt' ? /sha256/ : /announced \d+/);
    const root = path.join(cacheDir, 'models--org--tiny');
    t.deepEqual(fs.readdirSync(path.join(root, 'blobs')), [], `${mode}: no blob, no .incomplete`);
    t.false(fs.existsSync(path.join(root, 'snapshots', C1, 'model.safetensors')));
  }
});

test('network failures: 500s and refused connections end in ERR_CONVBERT_HUB_NETWORK after the retries', async (t) => {
  const hub = await withHub();
  t.teardown(() => hub.close());
  hub.fail500.add('config.json');
  const err = await t.throwsAsync(hfHubDownload('org/tiny', 'config.json', { endpoint: hub.endpoint, cacheDir: tmpCache(), retries: 2, retryDelayMs: 1 }));
  t.is(codeOf(err), 'ERR_CONVBERT_HUB_NETWORK');
  t.regex(err!.message, /500/);
  t.is(hub.log.length, 3, 'first try + 2 retries');

  const port = await closedPort();
  // An unreachable host (refused, no DNS) is usually a machine offline: one retry, not five.
  const refused = await t.throwsAsync(hfHubDownload('org/tiny', 'config.json', { endpoint: `http://127.0.0.1:${port}`, cacheDir: tmpCache(), retryDelayMs: 1 }));
  t.is(codeOf(refused), 'ERR_CONVBERT_HUB_NETWORK');
  t.regex(refused!.message, /ECONNREFUSED.*gave up after 1 retry/);
});

test('with the Hub unreachable, a file cached for that revision is still returned (as huggingface_hub does)', async (t) => {
  const hub = await withHub();
  const cacheDir = tmpCache();
  const p = await hfHubDownload('org/tiny', 'config.json', { endpoint: hub.endpoint, cacheDir });
  await hub.close();
  t.is(await hfHubDownload('org/tiny', 'config.json', { endpoint: hub.endpoint, cacheDir, retryDelayMs: 1 }), p);
  const err = await t.throwsAsync(hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir, retryDelayMs: 1 }));
  t.is(codeOf(err), 'ERR_CONVBERT_HUB_NETWORK');
});

test('offline (localFilesOnly): cached files only, no request; a clear error otherwise', async (t) => {
  const hub = await withHub();
  t.teardown(() => hub.close());
  const opts = { endpoint: hub.endpoint, cacheDir: tmpCache() };
  const p = await hfHubDownload('org/tiny', 'config.json', opts);
  const n = hub.log.length;
  t.is(await hfHubDownload('org/tiny', 'config.json', { ...opts, localFilesOnly: true }), p);
  const err = await t.throwsAsync(hfHubDownload('org/tiny', 'model.safetensors', { ...opts, localFilesOnly: true }));
  t.is(codeOf(err), 'ERR_CONVBERT_HUB_OFFLINE');
  t.regex(err!.message, /not in the cache .*offline mode/);
  t.is(hub.log.length, n);
});

test.serial('HF_HUB_OFFLINE=1 behaves like localFilesOnly', async (t) => {
  const hub = await withHub();
  t.teardown(() => hub.close());
  t.teardown(() => delete process.env.HF_HUB_OFFLINE);
  const opts = { endpoint: hub.endpoint, cacheDir: tmpCache() };
  const p = await hfHubDownload('org/tiny', 'config.json', opts);
  const n = hub.log.length;
  process.env.HF_HUB_OFFLINE = '1';
  t.is(await hfHubDownload('org/tiny', 'config.json', opts), p);
  t.is(codeOf(await t.throwsAsync(hfHubDownload('org/tiny', 'model.safetensors', opts))), 'ERR_CONVBERT_HUB_OFFLINE');
  t.is(hub.log.length, n);
});

test('a renamed repo (relative 307) is followed; concurrent calls for one file share one GET', async (t) => {
  const hub = await withHub();
  t.teardown(() => hub.close());
  hub.renamed.set('old/tiny', 'org/tiny');
  const cacheDir = tmpCache();
  const p = await hfHubDownload('old/tiny', 'config.json', { endpoint: hub.endpoint, cacheDir });
  t.true(p.startsWith(path.join(cacheDir, 'models--old--tiny')), 'cached under the name asked for, as huggingface_hub does');
  t.true(hub.log.some((r) => r.path === '/org/tiny/resolve/main/config.json'));

  hub.log.length = 0;
  const opts = { endpoint: hub.endpoint, cacheDir };
  const [a, b] = await Promise.all([hfHubDownload('org/tiny', 'model.safetensors', opts), hfHubDownload('org/tiny', 'model.safetensors', opts)]);
  t.is(a, b);
  t.is(hub.requests({ method: 'GET' }).length, 1);
});

test('progress callback: bytes grow to the file size and the last report is done; the bar line format', async (t) => {
  const files = tinyModelFiles();
  const hub = await withHub(files);
  t.teardown(() => hub.close());
  const seen: HubProgressEvent[] = [];
  await hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir: tmpCache(), progress: (e) => seen.push(e) });
  const size = files['model.safetensors'].data.length;
  t.true(seen.length >= 2);
  t.true(
    seen.every((e, i) => i === 0 || e.loaded >= seen[i - 1].loaded),
    'monotone',
  );
  t.deepEqual(seen[seen.length - 1], { repoId: 'org/tiny', file: 'model.safetensors', loaded: size, total: size, done: true });
  t.true(seen.slice(0, -1).every((e) => !e.done && e.total === size));
  t.is(formatProgressLine('org/x f', 500_000, 1_000_000, 1000), 'org/x f [##########..........] 50% 500.0 kB/1.0 MB 500.0 kB/s');
});

test('argument and header validation: bad repo ids, file names escaping the snapshot, odd etags', async (t) => {
  for (const id of ['', 'a/b/c', '../x', 'org/na--me', 'org/', '/abs']) {
    t.is(codeOf(await t.throwsAsync(hfHubDownload(id, 'config.json'))), 'ERR_CONVBERT_ARG', JSON.stringify(id));
  }
  for (const f of ['../config.json', '/etc/passwd', 'a//b', 'a\\b', '']) {
    t.is(codeOf(await t.throwsAsync(hfHubDownload('org/tiny', f))), 'ERR_CONVBERT_ARG', JSON.stringify(f));
  }
  t.is(normalizeEtag('W/"abc"'), 'abc');
  t.is(normalizeEtag('"abc"'), 'abc');
  t.is(normalizeEtag(undefined), undefined);
});

test('settings follow huggingface_hub: cache dir, token sources, offline spellings, endpoint', (t) => {
  t.is(hubCacheDir({ HF_HUB_CACHE: '/c/hub' }), '/c/hub');
  t.is(hubCacheDir({ HUGGINGFACE_HUB_CACHE: '/legacy' }), '/legacy');
  t.is(hubCacheDir({ HF_HOME: '/h', HF_HUB_CACHE: '' }), path.join('/h', 'hub'));
  t.is(hubCacheDir({ XDG_CACHE_HOME: '/x' }), path.join('/x', 'huggingface', 'hub'));
  t.is(hubCacheDir({}), path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
  t.is(hubCacheDir({ HF_HOME: '~/hf' }), path.join(os.homedir(), 'hf', 'hub'));

  const home = tmpDir('convbert-hf-token-');
  fs.writeFileSync(path.join(home, 'token'), 'hf_from_file\n');
  t.is(resolveSettings({}, { HF_HOME: home }).token, 'hf_from_file', 'the file huggingface-cli login writes');
  t.is(resolveSettings({}, { HF_HOME: home, HUGGING_FACE_HUB_TOKEN: 'legacy' }).token, 'legacy');
  t.is(resolveSettings({}, { HF_HOME: home, HF_TOKEN: 'env', HUGGING_FACE_HUB_TOKEN: 'legacy' }).token, 'env');
  t.is(resolveSettings({ token: 'opt' }, { HF_TOKEN: 'env' }).token, 'opt');
  t.is(resolveSettings({ token: false }, { HF_HOME: home, HF_TOKEN: 'env' }).token, undefined);

  for (const v of ['1', 'true', 'ON', 'yes']) t.true(envFlag(v), v);
  for (const v of [undefined, '', '0', 'false', 'off']) t.false(envFlag(v), String(v));
  t.is(resolveSettings({}, {}).endpoint, 'https://huggingface.co');
  const timeouts = resolveSettings({}, { HF_HUB_ETAG_TIMEOUT: '3', HF_HUB_DOWNLOAD_TIMEOUT: '60' });
  t.deepEqual([timeouts.headTimeoutMs, timeouts.getTimeoutMs], [3000, 60_000]);
  const given = resolveSettings({ timeoutMs: 50 }, { HF_HUB_ETAG_TIMEOUT: '3' });
  t.deepEqual([given.headTimeoutMs, given.getTimeoutMs], [50, 50]);
  t.is(resolveSettings({}, { HF_HUB_DISABLE_PROGRESS_BARS: '1' }).progress, false);
  t.is(resolveSettings({ progress: true }, { HF_HUB_DISABLE_PROGRESS_BARS: '1' }).progress, true, 'an explicit option wins');
  t.is(resolveSettings({}, { HF_ENDPOINT: 'http://mirror.local/' }).endpoint, 'http://mirror.local');
  t.is(codeOf(t.throws(() => resolveSettings({}, { HF_ENDPOINT: 'ftp://x' }))), 'ERR_CONVBERT_ARG');
  t.is(codeOf(t.throws(() => resolveSettings({ revision: '' }, {}))), 'ERR_CONVBERT_ARG');
  t.is(codeOf(t.throws(() => resolveSettings({ retries: -1 }, {}))), 'ERR_CONVBERT_ARG');
});
