// The import rules the layers keep (docs/architecture.md), read from the sources: the
// config does not import the models, the models do not import the tokenizers, and only
// test/bench/ (the benchmarks' own tests) imports bench/. A helper both need lives in
// lib/ or test/helpers/.
import * as fs from 'fs';
import * as path from 'path';

import test from 'ava';

const root = path.join(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'fixtures' && e.name !== 'node_modules') out.push(...tsFiles(rel));
    } else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** Every module specifier a file imports or requires, resolved to a path from the repository root. */
function importsOf(file: string): string[] {
  const src = fs.readFileSync(path.join(root, file), 'utf8');
  const specs = [...src.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  return specs.filter((s) => s.startsWith('.')).map((s) => path.relative(root, path.resolve(path.dirname(path.join(root, file)), s)));
}

function offenders(files: string[], forbidden: (target: string) => boolean): string[] {
  return files.flatMap((f) =>
    importsOf(f)
      .filter(forbidden)
      .map((t) => `${f} -> ${t}`),
  );
}

test('lib/config.ts imports nothing from lib/models/', (t) => {
  t.deepEqual(
    offenders(['lib/config.ts'], (x) => x.startsWith(path.join('lib', 'models'))),
    [],
  );
});

test('lib/models/ imports nothing from lib/tokenizer/', (t) => {
  t.deepEqual(
    offenders(tsFiles(path.join('lib', 'models')), (x) => x.startsWith(path.join('lib', 'tokenizer'))),
    [],
  );
});

test('lib/ imports nothing from bench/ or test/; tests outside test/bench/ import nothing from bench/', (t) => {
  t.deepEqual(
    offenders(tsFiles('lib'), (x) => x.startsWith('bench') || x.startsWith('test')),
    [],
  );
  const tests = tsFiles('test').filter((f) => !f.startsWith(path.join('test', 'bench') + path.sep));
  t.deepEqual(
    offenders(tests, (x) => x.startsWith('bench' + path.sep) || x === 'bench'),
    [],
  );
});

test('the reader finds imports (the check itself can fail)', (t) => {
  t.true(importsOf('test/bench/serving_driver.test.ts').includes(path.join('bench', 'serving')));
  t.true(importsOf('lib/models/base.ts').includes(path.join('lib', 'config')));
});
