// The public declarations (dist/index.d.ts and what it imports) compile for a consumer
// without @types/node: a small consumer file is type-checked with tsc (--noEmit, types [])
// and skipLibCheck false against a copy of dist/ and package.json in a temporary project
// with no node_modules of its own (inside this repository, bullmq's declarations would
// pull @types/node in and hide the problem; the optional bullmq is absent there too). The consumer also pins the typing of the
// entry points: the task is a string-literal union, dtype is typed, the tokenizer call
// gives Tensors the model takes, AutoModelForMaskedLM gives ConvBertForMaskedLM's output, from
// forward and from calling the model.
// Needs dist/ built (npm run build:ts) like the package tests.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';

import { repoRoot } from '../helpers/fixtures';

const CONSUMER = `
import {
  AutoConfig, AutoModelForMaskedLM, AutoTokenizer, ConvBertTokenizerFast, isMultiMaskOutput, pipeline,
  type FillMaskMultiMaskOutput, type FillMaskSingleMaskOutput, type PipelineTaskName, type TokenizerTensors,
} from 'convbert';

export async function main(): Promise<number> {
  const config = await AutoConfig.from_pretrained('org/model', { local_files_only: true });
  const tok = await AutoTokenizer.from_pretrained('org/model');
  const enc: TokenizerTensors = tok(['a', 'b c'], { padding: true, truncation: true, max_length: 8 });
  const model = await AutoModelForMaskedLM.from_pretrained('org/model', { dtype: 'q8', progress_callback: (e) => void (e.status === 'progress' ? e.loaded : e.status) });
  const out = await model.forward(enc);
  // A model is callable like transformers.js': the call is typed as the class's forward.
  const called = await model(enc);
  const width: number = out.logits.dims[2] + called.logits.dims[2] + config.vocab_size;
  // @ts-expect-error: a masked LM's output has no start_logits
  void called.start_logits;
  const plain: number[][] = tok('a', { return_tensor: false }).input_ids;
  const fast: boolean = tok instanceof ConvBertTokenizerFast;
  const fill = await pipeline('fill-mask', 'org/model', { dtype: 'bf16', device: 'cpu' });
  const answer = await fill('a [MASK] b');
  const n = isMultiMaskOutput(answer) ? (answer satisfies FillMaskMultiMaskOutput).length : (answer satisfies FillMaskSingleMaskOutput).length;
  const qa = await pipeline('question-answering', 'org/model');
  await qa('who?', 'me');
  const task: PipelineTaskName = 'ner';
  // @ts-expect-error: a task that does not exist is a type error (no string fallback)
  await pipeline('summarization', 'org/model');
  // @ts-expect-error: dtype is typed
  await pipeline('fill-mask', 'org/model', { dtype: 'int4' });
  return width + plain.length + n + Number(fast) + task.length;
}
`;

test('dist/index.d.ts compiles without @types/node (skipLibCheck false), and the entry points are typed', (t) => {
  const dist = path.join(repoRoot, 'dist', 'index.d.ts');
  if (!fs.existsSync(dist)) t.fail('dist/index.d.ts is missing: run npm run build:ts first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-types-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pkg = path.join(dir, 'node_modules', 'convbert');
  fs.mkdirSync(pkg, { recursive: true });
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(pkg, 'dist'), { recursive: true, filter: (f) => fs.statSync(f).isDirectory() || f.endsWith('.d.ts') });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
  fs.writeFileSync(path.join(dir, 'main.ts'), CONSUMER);
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  // `--types ''` as a tsconfig (tsc's command line refuses an empty list): no type packages at all.
  const compilerOptions = { noEmit: true, types: [], skipLibCheck: false, strict: true, target: 'es2022', lib: ['es2022'], module: 'commonjs', moduleResolution: 'node10' };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }));
  const args = ['-p', 'tsconfig.json'];
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
  }
  const errors = output.split('\n').filter((l) => /error TS\d+/.test(l));
  t.deepEqual(errors, [], output);
});
