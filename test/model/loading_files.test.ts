// Files that are not regular files: a FIFO (named pipe with no writer), a
// character device, a directory, named like any file the package reads
// (weights, shards, index JSON, config.json, the tokenizer files). Each must be
// a quick ERR_CONVBERT_IO naming the path, never a hang: opening a FIFO blocks
// until a writer comes, and a synchronous open blocks the whole thread, so the
// cases run in a child process with a deadline (a hang fails the test instead
// of stalling the suite). Text files read whole are capped (MAX_TEXT_FILE_BYTES).
import test from 'ava';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ConvBertConfig } from '../../lib/config';
import { ConvBertError } from '../../lib/errors';
import { MAX_TEXT_FILE_BYTES, readTextFileSync } from '../../lib/files';
import { fixturesDir, repoRoot } from '../helpers/fixtures';

const SRC = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');
const VOCAB = fixturesDir('tokenizer', 'vocab.txt');

interface Case {
  label: string;
  /** What the child runs: a model, a config, a tokenizer or a state dict, from `dir`. */
  op: 'model' | 'config' | 'configSync' | 'tokenizer' | 'stateDict' | 'stateDictSync';
  dir: string;
  /** The path that is not a regular file: the message must name it. */
  bad: string;
}

// The child prints one JSON line per case as it finishes, so a hang shows which case it was.
const CHILD = `
const { ConvBertForMaskedLM } = require('./lib/models');
const { ConvBertConfig } = require('./lib/config');
const { ConvBertTokenizer } = require('./lib/tokenizer');
const { loadStateDict, loadStateDictSync } = require('./lib/weights');
const { RefEngine } = require('./test/model/ref_engine');
(async () => {
  for (const c of JSON.parse(process.argv[1])) {
    const t0 = Date.now();
    let r;
    try {
      if (c.op === 'model') await ConvBertForMaskedLM.fromPretrained(c.dir, { engine: RefEngine });
      else if (c.op === 'config') await ConvBertConfig.fromPretrained(c.dir);
      else if (c.op === 'configSync') ConvBertConfig.fromPretrainedSync(c.dir);
      else if (c.op === 'tokenizer') await ConvBertTokenizer.fromPretrained(c.dir);
      else if (c.op === 'stateDict') await loadStateDict(c.dir);
      else loadStateDictSync(c.dir);
      r = { ok: true };
    } catch (e) {
      r = { ok: false, name: e && e.name, code: e && e.code, message: String(e && e.message) };
    }
    console.log(JSON.stringify({ label: c.label, ms: Date.now() - t0, ...r }));
  }
})();
`;

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-files-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A model folder copied from the fixture (config.json, model.safetensors, vocab.txt), minus `omit`. */
function modelDir(t: { teardown(fn: () => void): void }, omit: string[] = []): string {
  const d = tmpDir(t);
  for (const f of ['config.json', 'model.safetensors']) if (!omit.includes(f)) fs.copyFileSync(path.join(SRC, f), path.join(d, f));
  if (!omit.includes('vocab.txt')) fs.copyFileSync(VOCAB, path.join(d, 'vocab.txt'));
  return d;
}

function mkfifo(p: string): string {
  execFileSync('mkfifo', [p]);
  return p;
}

/** Runs the cases in one child with a deadline; returns each case's result (missing: it hung). */
function runCases(cases: Case[]): Map<string, { ok: boolean; code?: string; message?: string; ms: number }> {
  let out: string;
  try {
    out = execFileSync(process.execPath, ['--import', 'tsx', '-e', CHILD, JSON.stringify(cases)], { cwd: repoRoot, encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL' });
  } catch (e) {
    // Timed out (a hang) or crashed: keep what finished, the missing cases fail below.
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  const results = new Map();
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { label: string; ok: boolean; code?: string; message?: string; ms: number };
    results.set(r.label, r);
  }
  return results;
}

test('a FIFO, a device or a directory at any path the loaders read is ERR_CONVBERT_IO, not a hang', async (t) => {
  const cases: Case[] = [];
  const add = (label: string, op: Case['op'], dir: string, bad: string) => cases.push({ label, op, dir, bad });

  let d = modelDir(t, ['model.safetensors']);
  add('model.safetensors FIFO (fromPretrained)', 'model', d, mkfifo(path.join(d, 'model.safetensors')));
  add('model.safetensors FIFO (loadStateDict)', 'stateDict', d, path.join(d, 'model.safetensors'));
  add('model.safetensors FIFO (loadStateDictSync)', 'stateDictSync', d, path.join(d, 'model.safetensors'));

  d = modelDir(t, ['config.json']);
  add('config.json FIFO (fromPretrained)', 'model', d, mkfifo(path.join(d, 'config.json')));
  add('config.json FIFO (ConvBertConfig.fromPretrained)', 'config', d, path.join(d, 'config.json'));
  add('config.json FIFO (ConvBertConfig.fromPretrainedSync)', 'configSync', d, path.join(d, 'config.json'));

  d = modelDir(t, ['model.safetensors']);
  add('model.safetensors.index.json FIFO', 'model', d, mkfifo(path.join(d, 'model.safetensors.index.json')));

  d = modelDir(t, ['model.safetensors']);
  fs.writeFileSync(
    path.join(d, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: { 'convbert.embeddings.word_embeddings.weight': 'model-00001-of-00001.safetensors' } }),
  );
  add('a shard FIFO (fromPretrained)', 'model', d, mkfifo(path.join(d, 'model-00001-of-00001.safetensors')));
  add('a shard FIFO (loadStateDictSync)', 'stateDictSync', d, path.join(d, 'model-00001-of-00001.safetensors'));

  d = modelDir(t, ['model.safetensors']);
  add('pytorch_model.bin FIFO', 'model', d, mkfifo(path.join(d, 'pytorch_model.bin')));

  d = modelDir(t, ['model.safetensors']);
  fs.mkdirSync(path.join(d, 'model.safetensors'));
  add('model.safetensors a directory', 'model', d, path.join(d, 'model.safetensors'));

  if (fs.existsSync('/dev/zero')) {
    // Read whole, /dev/zero never ends: fs.readFile would fill memory.
    d = modelDir(t, ['config.json']);
    fs.symlinkSync('/dev/zero', path.join(d, 'config.json'));
    add('config.json a character device', 'config', d, path.join(d, 'config.json'));
  }

  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'vocab.txt']) {
    d = modelDir(t, [f]);
    add(`${f} FIFO (tokenizer)`, 'tokenizer', d, mkfifo(path.join(d, f)));
  }

  const results = runCases(cases);
  for (const c of cases) {
    const r = results.get(c.label);
    if (!r) {
      t.fail(`${c.label}: no answer within the deadline (hung)`);
      continue;
    }
    t.false(r.ok, `${c.label}: expected an error`);
    t.is(r.code, 'ERR_CONVBERT_IO', `${c.label}: ${r.message}`);
    t.true(r.message!.includes(c.bad), `${c.label}: names the path: ${r.message}`);
    t.regex(r.message!, /expected a regular file, got (a FIFO|a character device|a directory)/, c.label);
  }
});

test('a text file over MAX_TEXT_FILE_BYTES is refused before it is read', async (t) => {
  const d = tmpDir(t);
  const cfg = path.join(d, 'config.json');
  // Sparse: the size is there without the disk space or the read.
  fs.writeFileSync(cfg, '{}');
  fs.truncateSync(cfg, MAX_TEXT_FILE_BYTES + 1);
  const err = await t.throwsAsync(ConvBertConfig.fromPretrained(d));
  t.true(err instanceof ConvBertError);
  t.is((err as ConvBertError).code, 'ERR_CONVBERT_IO');
  t.true(err!.message.includes(`expected at most ${MAX_TEXT_FILE_BYTES} bytes`), err!.message);
  t.throws(() => ConvBertConfig.fromPretrainedSync(d), { message: new RegExp(`got ${MAX_TEXT_FILE_BYTES + 1}`) });
  // The cap is a parameter of the reader: a small one is met exactly.
  fs.writeFileSync(cfg, '{"a": 1}');
  t.is(readTextFileSync(cfg, 8), '{"a": 1}');
  t.throws(() => readTextFileSync(cfg, 7), { message: /expected at most 7 bytes .*got 8/ });
});
