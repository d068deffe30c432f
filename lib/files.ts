// files.ts: how the package reads the files it is pointed at (checkpoints,
// configs, tokenizer files, index JSON). Each is opened with O_NONBLOCK, so a
// FIFO with no writer cannot block the open, and fstat'ed on that same fd: only
// a regular file is read, anything else (FIFO, socket, device, directory) is
// ERR_CONVBERT_IO. Text files read whole are capped at MAX_TEXT_FILE_BYTES.
import * as fs from 'fs';

import { ConvBertError } from './errors';

/**
 * The largest JSON or text file read whole (config.json, tokenizer.json, vocab.txt, the
 * *.index.json of a sharded checkpoint): 256 MiB, about ten times the largest published
 * tokenizer.json, and half of V8's longest string, so the cap is met before V8 gives out.
 */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

// O_NONBLOCK does not exist on Windows, where a FIFO cannot sit at a path anyway.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

const CHUNK = 1 << 30;

function ioError(file: string, what: string, err: unknown): ConvBertError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ConvBertError(`${file}: cannot ${what}: ${reason}`, 'ERR_CONVBERT_IO', { cause: err });
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The error for a path that is not a regular file (exported for callers that stat on their own). */
export function notRegularError(file: string, st: fs.Stats): ConvBertError {
  return new ConvBertError(`${file}: expected a regular file, got ${kindOf(st)}`, 'ERR_CONVBERT_IO');
}

function tooLargeError(file: string, size: number, max: number): ConvBertError {
  return new ConvBertError(`${file}: expected at most ${max} bytes (a file this package reads whole), got ${size}`, 'ERR_CONVBERT_IO');
}

/** An open regular file: its fd and the size fstat gave for it. Close with fs.closeSync(fd). */
export interface RegularFile {
  fd: number;
  size: number;
}

/** Opens `file` for reading, refusing anything but a regular file (never blocks on a FIFO). */
export function openRegularSync(file: string): RegularFile {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw ioError(file, 'open', err);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegularError(file, st);
    return { fd, size: st.size };
  } catch (err) {
    fs.closeSync(fd);
    if (err instanceof ConvBertError) throw err;
    throw ioError(file, 'stat', err);
  }
}

export async function openRegular(file: string): Promise<{ fh: fs.promises.FileHandle; size: number }> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, OPEN_FLAGS);
  } catch (err) {
    throw ioError(file, 'open', err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegularError(file, st);
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    if (err instanceof ConvBertError) throw err;
    throw ioError(file, 'stat', err);
  }
}

/** Reads `length` bytes at `position` of an open fd into `into` (all of them, or an ERR_CONVBERT_IO error). */
export function readExactlySync(fd: number, file: string, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      n = fs.readSync(fd, into, done, Math.min(into.length - done, CHUNK), position + done);
    } catch (err) {
      throw ioError(file, 'read', err);
    }
    if (n === 0) throw new ConvBertError(`${file}: file shrank while reading (${position + done} bytes read, expected ${position + into.length})`, 'ERR_CONVBERT_IO');
    done += n;
  }
}

export interface ReadFileOptions {
  /** Refuse files larger than this (ERR_CONVBERT_IO); default: no cap beyond what memory allows. */
  maxBytes?: number;
}

/** A fresh buffer for the whole file, after the size cap; out-of-memory as a typed error. */
function allocFor(file: string, size: number, options: ReadFileOptions): Uint8Array {
  if (options.maxBytes !== undefined && size > options.maxBytes) throw tooLargeError(file, size, options.maxBytes);
  try {
    return new Uint8Array(new ArrayBuffer(size));
  } catch (err) {
    throw new ConvBertError(`${file}: cannot allocate ${size} bytes to read it: ${(err as Error).message}`, 'ERR_CONVBERT_OOM', { cause: err });
  }
}

/**
 * The whole regular file in a fresh ArrayBuffer starting at offset 0 (never Node's shared pool), so
 * typed views over it are aligned exactly as the file is. The size is fstat's, read on the same fd.
 */
export function readRegularFileSync(file: string, options: ReadFileOptions = {}): Uint8Array {
  const { fd, size } = openRegularSync(file);
  try {
    const out = allocFor(file, size, options);
    readExactlySync(fd, file, out, 0);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

export async function readRegularFile(file: string, options: ReadFileOptions = {}): Promise<Uint8Array> {
  const { fh, size } = await openRegular(file);
  try {
    const out = allocFor(file, size, options);
    let pos = 0;
    while (pos < size) {
      let n: number;
      try {
        n = (await fh.read(out, pos, Math.min(size - pos, CHUNK), pos)).bytesRead;
      } catch (err) {
        throw ioError(file, 'read', err);
      }
      if (n === 0) throw new ConvBertError(`${file}: file shrank while reading (${pos} of ${size} bytes)`, 'ERR_CONVBERT_IO');
      pos += n;
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** A JSON or text file read whole as UTF-8 (invalid sequences become U+FFFD, like fs.readFileSync(f, 'utf8')), capped. */
export function readTextFileSync(file: string, maxBytes = MAX_TEXT_FILE_BYTES): string {
  return Buffer.from(readRegularFileSync(file, { maxBytes }).buffer).toString('utf8');
}

export async function readTextFile(file: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<string> {
  return Buffer.from((await readRegularFile(file, { maxBytes })).buffer).toString('utf8');
}
