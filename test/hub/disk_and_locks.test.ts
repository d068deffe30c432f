// The local side of a download: a full disk (writes to /dev/full fail with
// ENOSPC) or an unwritable .incomplete leaves no blob and no snapshot entry;
// the blob lock under .locks/ makes a second downloader wait, and a lock left
// by a dead process is taken over; the stderr bar appears only on a TTY.
import test from 'ava';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertError } from '../../lib/errors';
import { hfHubDownload } from '../../lib/hub';
import { commitId, FakeHub, sha256 } from './fake_hub';
import { isolateHubEnv, removeTmpDirs, tinyModelFiles, tmpCache } from './setup';

test.before(isolateHubEnv);
test.after.always(removeTmpDirs);

const C1 = commitId('disk-c1');

async function tinyHub(): Promise<FakeHub> {
  const hub = await FakeHub.start();
  hub.addCommit('org/tiny', C1, tinyModelFiles());
  return hub;
}

const weightsSha = sha256(tinyModelFiles()['model.safetensors'].data);

function codeOf(e: unknown): string | undefined {
  return e instanceof ConvBertError ? e.code : undefined;
}

// The full-disk case writes through /dev/full (Linux); elsewhere it is reported as skipped, not passed.
const haveDevFull = fs.existsSync('/dev/full');

(haveDevFull ? test : test.skip)('a full disk (ENOSPC) fails with ERR_CONVBERT_IO and leaves no blob or snapshot entry', async (t) => {
  const hub = await tinyHub();
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const blobs = path.join(cacheDir, 'models--org--tiny', 'blobs');
  fs.mkdirSync(blobs, { recursive: true });
  // Every write into the partial file now fails as on a full disk.
  fs.symlinkSync('/dev/full', path.join(blobs, `${weightsSha}.incomplete`));
  const err = await t.throwsAsync(hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir, retryDelayMs: 1 }));
  t.is(codeOf(err), 'ERR_CONVBERT_IO');
  t.regex(err!.message, /ENOSPC/);
  t.false(fs.existsSync(path.join(blobs, weightsSha)));
  t.false(fs.existsSync(path.join(cacheDir, 'models--org--tiny', 'snapshots', C1, 'model.safetensors')));
  t.is(hub.requests({ method: 'GET' }).length, 1, 'a local write error is not retried over the network');
});

test('an .incomplete that cannot be opened fails with ERR_CONVBERT_IO; the cache stays clean', async (t) => {
  const hub = await tinyHub();
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const blobs = path.join(cacheDir, 'models--org--tiny', 'blobs');
  fs.mkdirSync(path.join(blobs, `${weightsSha}.incomplete`), { recursive: true });
  const err = await t.throwsAsync(hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir, retryDelayMs: 1 }));
  t.is(codeOf(err), 'ERR_CONVBERT_IO');
  t.false(fs.existsSync(path.join(blobs, weightsSha)));
  t.false(fs.existsSync(path.join(cacheDir, 'models--org--tiny', 'snapshots', C1, 'model.safetensors')));
});

test('a live lock makes the download wait; it proceeds once the lock is released, and removes its own lock', async (t) => {
  const hub = await tinyHub();
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const lock = path.join(cacheDir, '.locks', 'models--org--tiny', `${weightsSha}.convbert.lock`);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  // Held by this (live) process, as another worker thread would hold it.
  fs.writeFileSync(lock, `${process.pid}\n${os.hostname()}\n`);
  const pending = hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir });
  await new Promise((r) => setTimeout(r, 400));
  t.is(hub.requests({ method: 'GET' }).length, 0, 'no GET while another holder has the lock');
  fs.unlinkSync(lock);
  const p = await pending;
  t.is(sha256(fs.readFileSync(p)), weightsSha);
  t.is(hub.requests({ method: 'GET' }).length, 1);
  t.false(fs.existsSync(lock));
});

test('a lock left by a dead process is taken over at once', async (t) => {
  const hub = await tinyHub();
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const lock = path.join(cacheDir, '.locks', 'models--org--tiny', `${weightsSha}.convbert.lock`);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  fs.writeFileSync(lock, `${dead}\n${os.hostname()}\n`);
  const t0 = Date.now();
  const p = await hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir });
  t.is(sha256(fs.readFileSync(p)), weightsSha);
  t.true(Date.now() - t0 < 15_000, 'did not wait for the 20 s staleness window');
  t.false(fs.existsSync(lock));
});

test('a lock file that is a FIFO is never read (no hang) and, once old, is taken over like any abandoned lock', async (t) => {
  const hub = await tinyHub();
  t.teardown(() => hub.close());
  const cacheDir = tmpCache();
  const lock = path.join(cacheDir, '.locks', 'models--org--tiny', `${weightsSha}.convbert.lock`);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  execFileSync('mkfifo', [lock]);
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(lock, old, old);
  // A deadline turns a wait that never ends into a failure instead of a stalled suite.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('hfHubDownload still waiting on the FIFO lock after 15 s')), 15_000);
  });
  t.teardown(() => clearTimeout(timer));
  const p = await Promise.race([hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir }), deadline]);
  t.is(sha256(fs.readFileSync(p)), weightsSha);
  t.false(fs.existsSync(lock));
});

test.serial('the progress bar is drawn on stderr only when it is a TTY, redrawn in place, ending with a newline', async (t) => {
  const hub = await tinyHub();
  t.teardown(() => hub.close());
  const stderr = process.stderr as NodeJS.WriteStream & { isTTY: boolean };
  const wasTTY = stderr.isTTY;
  const write = stderr.write;
  const seen: string[] = [];
  t.teardown(() => {
    stderr.isTTY = wasTTY;
    stderr.write = write;
  });
  stderr.write = ((chunk: string | Uint8Array) => {
    seen.push(String(chunk));
    return true;
  }) as typeof stderr.write;

  stderr.isTTY = false;
  await hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir: tmpCache() });
  t.deepEqual(seen, [], 'no TTY: silent');

  stderr.isTTY = true;
  await hfHubDownload('org/tiny', 'model.safetensors', { endpoint: hub.endpoint, cacheDir: tmpCache() });
  stderr.write = write;
  t.true(seen.length >= 1);
  t.true(seen.every((s) => s.startsWith('\r') && s.includes('org/tiny model.safetensors')));
  t.regex(seen[seen.length - 1], /100% .*\n$/);
  t.true(
    seen.slice(0, -1).every((s) => !s.endsWith('\n')),
    'redrawn in place until done',
  );
});
