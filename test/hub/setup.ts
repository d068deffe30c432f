// setup.ts: shared pieces of the hub tests. isolateHubEnv() runs first in each
// test file: it removes the HF_* variables a developer may have set (a real
// token, offline mode, another endpoint) and points HF_HOME at an empty temp
// folder and HF_ENDPOINT at a closed local port, so that nothing can reach
// the network beyond 127.0.0.1 or read this user's cache.
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

import { fixturesDir } from '../helpers/fixtures';
import type { FakeFile } from './fake_hub';

/** A port that was just free: listen on port 0, note it, close. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const tmpDirs: string[] = [];

export function tmpDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

/** Removes every folder tmpDir() made in this test file (register with test.after.always). */
export function removeTmpDirs(): void {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export async function isolateHubEnv(): Promise<void> {
  for (const k of Object.keys(process.env)) {
    if (/^(HF_|HUGGINGFACE_|HUGGING_FACE_)/.test(k)) delete process.env[k];
  }
  delete process.env.XDG_CACHE_HOME;
  process.env.HF_HOME = tmpDir('convbert-hf-home-');
  process.env.HF_ENDPOINT = `http://127.0.0.1:${await closedPort()}`;
}

export function tmpCache(): string {
  return tmpDir('convbert-hub-cache-');
}

/** The tiny ConvBertModel fixture as Hub files: config.json plain, model.safetensors LFS. */
export function tinyModelFiles(lfs: 'relative' | 'cdn' = 'cdn'): Record<string, FakeFile> {
  const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertModel');
  return {
    'config.json': { data: fs.readFileSync(path.join(dir, 'config.json')) },
    'model.safetensors': { data: fs.readFileSync(path.join(dir, 'model.safetensors')), lfs },
  };
}

/** Tokenizer files: the shared WordPiece vocab and a small tokenizer_config.json written here. */
export function tokenizerFiles(): Record<string, FakeFile> {
  return {
    'vocab.txt': { data: fs.readFileSync(fixturesDir('tokenizer', 'vocab.txt')) },
    'tokenizer_config.json': { data: Buffer.from(JSON.stringify({ do_lower_case: true, model_max_length: 512 })) },
  };
}

export function readFixture(...parts: string[]): Buffer {
  return fs.readFileSync(fixturesDir(...parts));
}
