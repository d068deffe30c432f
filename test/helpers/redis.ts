// redis.ts: a private redis-server for a test file: a free 127.0.0.1 port, persistence
// off (--save "" --appendonly no) in its own temporary directory, stopped and removed by
// stop(). restart() kills it (SIGKILL: its data is gone, as after a crash) and starts a
// fresh one on the same port. Every server started here dies with the test process, even
// when that process is SIGKILLed or dies in the dynamic linker (no exit handler runs
// then): redis-server runs under a small sh guard that reads a pipe only this process
// writes to, passes the signals written there on to redis-server, and SIGKILLs it when
// the pipe closes.
// The tests need the real binary: .ci/run installs Debian's redis-server when it is missing.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

// The guard: redis-server (stdin from /dev/null), and a reader of our pipe on fd 3 that
// sends each signal name written to it, then KILL at end of file (our process is gone).
// The guard exits with redis-server.
const GUARD = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'r=$!',
  '{ while read -r s; do kill -s "$s" "$r"; done; kill -s KILL "$r"; } <&3 >/dev/null 2>&1 &',
  'exec 3<&-',
  'wait "$r"',
].join('\n');

function signal(child: ChildProcess, sig: 'TERM' | 'KILL'): void {
  if (child.stdin && !child.stdin.destroyed) child.stdin.write(`${sig}\n`);
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** SIGKILLs the server (its data is lost) and starts a fresh one on the same port. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (bound to 0 and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function redisBinary(): string {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error('redis-server not found: the queue tests need a real Redis; install it (apt-get install -y redis-server, as .ci/run does)');
  }
  return 'redis-server';
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  const child = spawn('sh', ['-c', GUARD, 'redis-guard', redisBinary(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  // Writing to a guard that has just exited must not crash the test process.
  child.stdin!.on('error', () => {});
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const onExit = (code: number | null): void => reject(new Error(`redis-server on port ${port} exited (${String(code)}) before accepting connections:\n${log}`));
    child.once('exit', onExit);
    const tryConnect = (): void => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
      });
      s.once('data', (d: Buffer) => {
        s.destroy();
        if (d.toString().startsWith('+PONG')) {
          child.off('exit', onExit);
          resolve(child);
        } else retry();
      });
      s.once('error', () => {
        s.destroy();
        retry();
      });
    };
    const retry = (): void => {
      if (Date.now() > deadline) {
        signal(child, 'KILL');
        reject(new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${log}`));
      } else setTimeout(tryConnect, 50);
    };
    tryConnect();
  });
}

function kill(child: ChildProcess, sig: 'TERM' | 'KILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => signal(child, 'KILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      child.stdin!.end();
      resolve();
    });
    signal(child, sig);
  });
}

/** Starts a private redis-server; call stop() in test.after.always. */
export async function startRedis(): Promise<RedisServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-redis-'));
  const port = await freePort();
  let child = await launch(port, dir);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill(child, 'KILL');
      child = await launch(port, dir);
    },
    async stop() {
      await kill(child, 'TERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
