// Where the token goes when a Hub redirects: a hostile "hub" on one port of
// 127.0.0.1 answers with Location values that look relative but resolve to
// another origin (`/\host:port`, `/<TAB>/host:port`, `\\host:port`, ...), and
// a second server on another port records every request. Authorization (and
// user:password in the endpoint) must reach the original origin only, on the
// metadata HEAD, on the content GET, and on every hop after a hop away.
import test from 'ava';
import * as http from 'http';
import type { AddressInfo } from 'net';

import { ConvBertError } from '../../lib/errors';
import { hfHubDownload } from '../../lib/hub';
import { commitId, sha256 } from './fake_hub';
import { isolateHubEnv, removeTmpDirs, tmpCache } from './setup';

test.before(isolateHubEnv);
test.after.always(removeTmpDirs);

const COMMIT = commitId('redirects');
const DATA = Buffer.from('the file body, served by whichever server is asked');
const TOKEN = 'hf_redirect_secret';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

interface Servers {
  hubOrigin: string;
  otherHost: string;
  hub: Seen[];
  other: Seen[];
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

/**
 * `locationFor(otherHost)` gives the Location the hub answers with. 'head': the resolve URL itself
 * redirects there (no metadata headers, so only a same-origin target may be followed). 'get': the
 * resolve URL is an LFS redirect to /blob on the hub, and /blob redirects there.
 */
async function start(mode: 'head' | 'get', locationFor: (otherHost: string, hubHost: string) => string): Promise<Servers> {
  const seenHub: Seen[] = [];
  const seenOther: Seen[] = [];
  let otherHost = '';
  let hubHost = '';
  const record = (log: Seen[], req: http.IncomingMessage) => log.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
  const metadata = { 'X-Repo-Commit': COMMIT, 'X-Linked-Etag': `"${sha256(DATA)}"`, 'X-Linked-Size': String(DATA.length) };
  const body = (req: http.IncomingMessage, res: http.ServerResponse, extra: Record<string, string> = {}) => {
    res.writeHead(200, { ETag: `"${sha256(DATA)}"`, 'X-Repo-Commit': COMMIT, 'Content-Length': String(DATA.length), ...extra });
    res.end(req.method === 'HEAD' ? undefined : DATA);
  };
  const hub = http.createServer((req, res) => {
    record(seenHub, req);
    const p = req.url ?? '';
    if (p.startsWith('/org/r/resolve/')) {
      if (mode === 'head') res.writeHead(307, { Location: locationFor(otherHost, hubHost), 'Content-Length': '0' }).end();
      else res.writeHead(302, { Location: '/blob', 'Content-Length': '0', ...metadata }).end();
    } else if (p === '/blob') {
      res.writeHead(302, { Location: locationFor(otherHost, hubHost), 'Content-Length': '0' }).end();
    } else body(req, res);
  });
  // The other origin serves metadata and the body too, so that a client which follows it there
  // completes (and its leak is seen) instead of failing before it sends anything.
  const other = http.createServer((req, res) => {
    record(seenOther, req);
    if (req.url === '/bounce') res.writeHead(302, { Location: `http://${hubHost}/final`, 'Content-Length': '0' }).end();
    else body(req, res);
  });
  const [hp, op] = await Promise.all([listen(hub), listen(other)]);
  hubHost = `127.0.0.1:${hp}`;
  otherHost = `127.0.0.1:${op}`;
  const stop = (s: http.Server) =>
    new Promise<void>((r) => {
      s.closeAllConnections();
      s.close(() => r());
    });
  return {
    hubOrigin: `http://${hubHost}`,
    otherHost,
    hub: seenHub,
    other: seenOther,
    close: () => Promise.all([stop(hub), stop(other)]).then(() => undefined),
  };
}

// Each resolves (WHATWG URL) to http://<other>/x from a base on the hub; the regex that used to
// decide "relative" took the first five for relative paths.
const TO_OTHER: Array<[string, (o: string) => string]> = [
  ['backslash after slash', (o) => `/\\${o}/x`],
  ['tab between slashes', (o) => `/\t/${o}/x`],
  ['two backslashes', (o) => `\\\\${o}/x`],
  ['slash backslash slash', (o) => `/\\/${o}/x`],
  ['backslash slash', (o) => `\\/${o}/x`],
  ['scheme-relative', (o) => `//${o}/x`],
  ['absolute', (o) => `http://${o}/x`],
  ['absolute, upper-case scheme', (o) => `HTTP://${o}/x`],
  ['scheme then slash backslash', (o) => `http:/\\${o}/x`],
];

async function settle(p: Promise<string>): Promise<string | ConvBertError> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ConvBertError) return e;
    throw e;
  }
}

for (const [label, loc] of TO_OTHER) {
  test(`HEAD redirect "${label}": the token stays on the original origin`, async (t) => {
    const s = await start('head', (o) => loc(o));
    t.teardown(() => s.close());
    const got = await settle(hfHubDownload('org/r', 'f.bin', { endpoint: s.hubOrigin, cacheDir: tmpCache(), token: TOKEN, retries: 0 }));
    // huggingface_hub follows only relative redirects on HEAD; an answer without the Hub's headers is an error.
    t.is(got instanceof ConvBertError ? got.code : got, 'ERR_CONVBERT_HUB_NETWORK');
    t.true(s.hub.length > 0 && s.hub.every((r) => r.authorization === `Bearer ${TOKEN}`), 'the hub itself gets the token');
    t.deepEqual(
      s.other.filter((r) => r.authorization !== undefined),
      [],
      `no request to ${s.otherHost} carries Authorization`,
    );
  });

  test(`GET redirect "${label}": the token stays on the original origin`, async (t) => {
    const s = await start('get', (o) => loc(o));
    t.teardown(() => s.close());
    const got = await settle(hfHubDownload('org/r', 'f.bin', { endpoint: s.hubOrigin, cacheDir: tmpCache(), token: TOKEN, retries: 0 }));
    t.is(typeof got, 'string', 'a redirect to another host is a normal download (the LFS CDN)');
    t.true(
      s.other.some((r) => r.method === 'GET'),
      'the content came from the other origin',
    );
    t.deepEqual(
      s.hub.map((r) => r.authorization),
      s.hub.map(() => `Bearer ${TOKEN}`),
      'every request to the hub carries the token',
    );
    t.deepEqual(
      s.other.filter((r) => r.authorization !== undefined),
      [],
      `no request to ${s.otherHost} carries Authorization`,
    );
  });
}

test('a HEAD redirect that resolves to the same origin is followed with the token (a renamed repo)', async (t) => {
  // A tab inside a path is dropped by the URL parser: `/fin<TAB>al` is /final on the hub.
  const s = await start('head', () => '/fin\tal');
  t.teardown(() => s.close());
  const got = await settle(hfHubDownload('org/r', 'f.bin', { endpoint: s.hubOrigin, cacheDir: tmpCache(), token: TOKEN, retries: 0 }));
  t.is(typeof got, 'string');
  t.true(s.hub.some((r) => r.method === 'HEAD' && r.path === '/final' && r.authorization === `Bearer ${TOKEN}`));
});

test('a hop back to the hub after another origin does not carry the token (dropped once, dropped for good)', async (t) => {
  const s = await start('get', (o) => `http://${o}/bounce`);
  t.teardown(() => s.close());
  const got = await settle(hfHubDownload('org/r', 'f.bin', { endpoint: s.hubOrigin, cacheDir: tmpCache(), token: TOKEN, retries: 0 }));
  t.is(typeof got, 'string');
  const final = s.hub.filter((r) => r.path === '/final');
  t.is(final.length, 1);
  t.is(final[0].authorization, undefined);
  t.deepEqual(
    s.other.filter((r) => r.authorization !== undefined),
    [],
  );
});

test('user:password in the endpoint is sent to the endpoint only, never after a redirect to another origin', async (t) => {
  const s = await start('get', (o) => `/\\${o}/x`);
  t.teardown(() => s.close());
  const endpoint = s.hubOrigin.replace('http://', 'http://mirror-user:mirror-pw@');
  const got = await settle(hfHubDownload('org/r', 'f.bin', { endpoint, cacheDir: tmpCache(), token: false, retries: 0 }));
  t.is(typeof got, 'string');
  const basic = `Basic ${Buffer.from('mirror-user:mirror-pw').toString('base64')}`;
  t.true(
    s.hub.every((r) => r.authorization === basic),
    'the endpoint gets its credentials',
  );
  t.deepEqual(
    s.other.filter((r) => r.authorization !== undefined),
    [],
  );
});
