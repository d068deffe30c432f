// seeds.ts: fixture checkpoints as fuzz seeds, with the byte ranges where the
// parsers branch (a safetensors header; a zip's data.pkl and central directory).
import * as fs from 'fs';

import { fixturesDir } from '../helpers/fixtures';
import type { ByteSeed } from './mutate';

export function safetensorsSeed(...p: string[]): ByteSeed {
  const bytes = new Uint8Array(fs.readFileSync(fixturesDir('convbert', ...p)));
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return { name: p.join('/'), bytes, hot: [[0, 8 + n]] };
}

export function binSeed(...p: string[]): ByteSeed {
  const bytes = new Uint8Array(fs.readFileSync(fixturesDir('convbert', ...p)));
  const buf = Buffer.from(bytes);
  // data.pkl is the first entry (the next local header ends it); the central directory runs to the end.
  const pklEnd = buf.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4);
  const cd = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  return {
    name: p.join('/'),
    bytes,
    hot: [
      [0, pklEnd],
      [cd, bytes.length],
    ],
  };
}
