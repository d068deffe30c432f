// fixtures.ts: where the golden data lives. CONVBERT_FIXTURES overrides the
// default, test/fixtures in this repository (see its README for where it came from).
import * as fs from 'fs';
import * as path from 'path';

export const repoRoot = path.resolve(__dirname, '..', '..');

export function fixturesDir(...parts: string[]): string {
  const base = process.env.CONVBERT_FIXTURES ?? path.join(repoRoot, 'test', 'fixtures');
  return path.join(base, ...parts);
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}
