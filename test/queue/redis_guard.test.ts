// redis_guard.test.ts: the private redis-server of test/helpers/redis.ts dies with the
// process that started it, however that process ends: a test process that crashes
// without running exit handlers (SIGKILL, a failed native load) must not leave a
// redis-server listening behind it; stop() and restart() still reach the server.
import test from 'ava';
import { spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

import { startRedis } from '../helpers/redis';

const ROOT = path.join(__dirname, '..', '..');

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(1000);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d: Buffer) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a redis-server outlives neither a SIGKILLed test process nor stop()', async (t) => {
  const script = [
    "const { startRedis } = require('./test/helpers/redis');",
    'startRedis().then((r) => { process.stdout.write(`${r.port}\\n`); process.kill(process.pid, "SIGKILL"); });',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
  t.is(signal, 'SIGKILL');
  const port = Number(out.trim());
  t.true(Number.isInteger(port) && port > 0, `child printed its port: ${JSON.stringify(out)}`);
  await until(`the orphaned redis-server on port ${port} to go away`, async () => !(await answers(port)));

  const r = await startRedis();
  t.true(await answers(r.port));
  await r.restart();
  t.true(await answers(r.port));
  await r.stop();
  t.false(await answers(r.port));
});
