// docker/entrypoint.sh without docker: it starts `convbert serve` from CONVBERT_*
// environment variables (extra arguments pass on as flags), exec's node in its own
// place (so the pid a supervisor signals is the server's, unlike `npx`), and SIGTERM
// to that pid drains and exits 0. Runs the built CLI (dist/, via bin/convbert.js):
// build with `npm run build:ts` first. Embeddings are compared exactly with the
// pipeline in this process (same files, same float32 code; JSON keeps float32 exactly).
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import test from 'ava';

import { pipeline } from '../../lib/pipelines';
import { repoRoot } from '../helpers/fixtures';
import { request } from '../server/client';
import { makeTinyModel } from '../server/tiny_model';

const ENTRY = path.join(repoRoot, 'docker', 'entrypoint.sh');

let base = '';
test.before(async () => {
  base = await makeTinyModel('base');
});
test.after.always(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function start(env: Record<string, string>, args: string[] = []): { child: ChildProcess; exited: Promise<Exit>; port: Promise<number> } {
  // Only what a container would set: no CONVBERT_* from this environment leaks in.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVBERT_')));
  const child = spawn(ENTRY, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...clean, NODE_NO_WARNINGS: '1', ...env } });
  let stderr = '';
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const port = new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((r) => reject(new Error(`exited early (${r.code}): ${r.stderr}`)));
  });
  // Tests that expect an early exit await `exited` only.
  port.catch(() => {});
  return { child, exited, port };
}

test('the entrypoint serves from CONVBERT_* variables, exec-ing node, and SIGTERM to that pid stops it cleanly', async (t) => {
  t.true(fs.existsSync(path.join(repoRoot, 'dist', 'cli.js')), 'build dist/ first (npm run build:ts)');
  const s = start(
    { CONVBERT_MODEL: base, CONVBERT_TASK: 'feature-extraction', CONVBERT_HOST: '127.0.0.1', CONVBERT_PORT: '0', CONVBERT_API_KEY: 'k3y', CONVBERT_MODEL_ID: 'tiny' },
    ['--pooling', 'cls', '--no-normalize'],
  );
  t.teardown(() => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });
  const port = await s.port;
  // exec: the spawned pid now runs node with the CLI, not sh.
  const cmdline = fs.readFileSync(`/proc/${s.child.pid}/cmdline`, 'utf8').split('\0');
  t.regex(path.basename(cmdline[0]), /^node/, cmdline.join(' '));
  t.true(
    cmdline.some((a) => a.endsWith(path.join('bin', 'convbert.js'))),
    cmdline.join(' '),
  );

  t.is((await request(port, 'POST', '/embed', JSON.stringify({ inputs: 'x' }))).status, 401, 'CONVBERT_API_KEY is required');
  const r = await request(port, 'POST', '/embed', JSON.stringify({ inputs: ['hello world', 'a b'] }), { authorization: 'Bearer k3y' });
  t.is(r.status, 200, r.text);
  const pipe = await pipeline('feature-extraction', base);
  t.teardown(() => pipe.dispose());
  t.deepEqual(r.json, (await pipe(['hello world', 'a b'], { pooling: 'cls', normalize: false })).tolist(), '--pooling cls --no-normalize reached serve');
  t.like((await request(port, 'GET', '/info', undefined, { authorization: 'Bearer k3y' })).json as object, { model_id: 'tiny' });

  s.child.kill('SIGTERM');
  const exit = await s.exited;
  t.is(exit.code, 0, exit.stderr);
  t.regex(exit.stderr, /SIGTERM/);
  t.regex(exit.stderr, /convbert serve: closed/);
});

test('the entrypoint without CONVBERT_MODEL exits 2 saying what to set; a bad flag from the environment exits 2 naming it', async (t) => {
  const none = await start({}).exited;
  t.is(none.code, 2);
  t.regex(none.stderr, /set CONVBERT_MODEL to a model directory/);
  const bad = await start({ CONVBERT_MODEL: base, CONVBERT_PORT: 'http' }).exited;
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--port: expected an integer >= 0, got "http"/);
  const level = await start({ CONVBERT_MODEL: base, CONVBERT_LOG_LEVEL: 'chatty' }).exited;
  t.is(level.code, 2);
  t.regex(level.stderr, /--log-level: expected one of error, warn, info, debug, silent, got "chatty"/);
});
