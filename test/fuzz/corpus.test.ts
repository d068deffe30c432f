// The fuzzers' regression corpus: every input under test/fuzz/corpus/<target>/
// once crashed, hung, blew up memory or threw an untyped error (see the .txt
// beside it); replayed in-process through its target (targets.ts), each must now
// return or throw a typed ConvBertError. A fix that regresses fails here.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';

import { TARGETS } from './targets';

const corpus = path.join(__dirname, 'corpus');

for (const name of fs.readdirSync(corpus).sort()) {
  const files = fs
    .readdirSync(path.join(corpus, name))
    .filter((f) => f.endsWith('.input'))
    .sort();
  test.serial(`fuzz corpus ${name}: ${files.length} saved findings replay to a typed outcome`, async (t) => {
    t.true(name in TARGETS, `test/fuzz/corpus/${name}: no such target`);
    t.true(files.length > 0);
    const target = TARGETS[name]();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `convbert-corpus-${name}-`));
    try {
      await target.setup(work);
      for (const f of files) {
        const why = fs.readFileSync(path.join(corpus, name, f.replace(/\.input$/, '.txt')), 'utf8').split('\n')[0];
        await t.notThrowsAsync(target.run(new Uint8Array(fs.readFileSync(path.join(corpus, name, f)))), `${f} (once: ${why})`);
      }
    } finally {
      await target.teardown();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}
