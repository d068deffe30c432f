// The convbert CLI in child processes: --help and usage errors (exit 2), `run`
// printing JSON equal to the same pipeline run in-process (scores to rtol 1e-6:
// the same model and inputs in another process run the same float32 code), a
// missing model (exit 1, message on stderr), and `serve`: a request, then SIGTERM
// while a request is half-sent: that request still gets its answer, new
// requests get 503, and the process exits 0.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Writable } from 'stream';

import test from 'ava';

import { main } from '../../lib/cli';

import { pipeline } from '../../lib/pipelines';
import { halfPost, post, rawJson, rawStatus } from '../server/client';
import { makeTinyModel } from '../server/tiny_model';
import { repoRoot } from '../helpers/fixtures';

const BIN = path.join(repoRoot, 'bin', 'convbert.js');
const CLI = path.join(repoRoot, 'lib', 'cli.ts');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs node with `argv` in `cwd` and collects its exit and output. */
function runNode(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function runCli(args: string[], useBin = false): Promise<Run> {
  const argv = useBin ? [BIN, ...args] : ['--import', 'tsx', CLI, ...args];
  return runNode(argv, repoRoot, { ...process.env, NODE_NO_WARNINGS: '1' });
}

let mlm = '';
test.before(async () => {
  mlm = await makeTinyModel('masked_lm');
});
test.after.always(() => {
  if (mlm) fs.rmSync(mlm, { recursive: true, force: true });
});

test('--help through the bin launcher prints the usage and exits 0', async (t) => {
  const r = await runCli(['--help'], true);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /convbert run <task> --model <id\|dir>/);
  t.regex(r.stdout, /convbert serve --model <id\|dir> --task <task>/);
  t.regex(r.stdout, /convbert bench/);
});

/** main() in this process, with stdout and stderr captured. */
async function mainHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new Writable({ write: (c, _e, cb) => ((stdout += String(c)), cb()) });
  const err = new Writable({ write: (c, _e, cb) => ((stderr += String(c)), cb()) });
  const code = await main(args, { out, err });
  return { code, stdout, stderr };
}

test('usage errors exit 2 and name the problem', async (t) => {
  const bad = await mainHere(['frobnicate']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /unknown command "frobnicate"/);
  const noModel = await mainHere(['run', 'fill-mask', 'a [MASK]']);
  t.is(noModel.code, 2);
  t.regex(noModel.stderr, /--model <id\|dir> is required/);
  const noInputs = await mainHere(['run', 'fill-mask', '--model', 'x']);
  t.is(noInputs.code, 2);
  t.regex(noInputs.stderr, /no inputs/);
  const badFlag = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--prot', '1']);
  t.is(badFlag.code, 2);
  t.regex(badFlag.stderr, /unknown option --prot/);
  const badPort = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--port', 'http']);
  t.is(badPort.code, 2);
  t.regex(badPort.stderr, /--port: expected an integer >= 0, got "http"/);
  const badJson = await mainHere(['run', 'fill-mask', '--model', 'x', '--params', '{top_k: 1}', 'a [MASK]']);
  t.is(badJson.code, 2);
  t.regex(badJson.stderr, /--params: not valid JSON/);
});

test('an unknown task and a missing model folder exit 1 with the reason', async (t) => {
  const task = await mainHere(['run', 'summarization', '--model', mlm, 'a']);
  t.is(task.code, 1);
  t.regex(task.stderr, /unknown task "summarization".*\[ERR_CONVBERT_ARG\]/);
  const missing = path.join(os.tmpdir(), 'convbert-no-such-model-dir', 'x');
  const r = await mainHere(['run', 'fill-mask', '--model', missing, 'a [MASK]']);
  t.is(r.code, 1);
  t.regex(r.stderr, /^convbert: .*\[ERR_CONVBERT_/m);
});

test('run --json prints what the pipeline gives in-process', async (t) => {
  const texts = ['the [MASK] is blue.', 'hello [MASK] world.'];
  const r = await runCli(['run', 'fill-mask', '--model', mlm, '--json', '--params', '{"top_k": 3}', ...texts]);
  t.is(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { score: number; token: number; sequence: string }[][];
  const pipe = await pipeline('fill-mask', mlm);
  t.teardown(() => pipe.dispose());
  const want = (await pipe(texts, { top_k: 3 })) as { score: number; token: number; sequence: string }[][];
  t.is(got.length, 2);
  got.forEach((list, i) => {
    t.deepEqual(
      list.map((x) => x.token),
      want[i].map((x) => x.token),
    );
    t.deepEqual(
      list.map((x) => x.sequence),
      want[i].map((x) => x.sequence),
    );
    list.forEach((x, k) => t.true(Math.abs(x.score - want[i][k].score) <= 1e-6 * want[i][k].score, `score ${i}/${k}`));
  });
  // Without --json: a readable form with the same tokens.
  const plain = await mainHere(['run', 'fill-mask', '--model', mlm, texts[0]]);
  t.is(plain.code, 0, plain.stderr);
  t.regex(plain.stdout, new RegExp(`token: ${want[0][0].token}`));
});

test('run --dtype and --modules-to-not-convert reach fromPretrained; bad values exit 1 naming the option', async (t) => {
  const text = 'the [MASK] is blue.';
  const f32 = await mainHere(['run', 'fill-mask', '--model', mlm, '--json', text]);
  const bf = await mainHere(['run', 'fill-mask', '--model', mlm, '--json', '--dtype', 'bfloat16', '--modules-to-not-convert', 'generator_lm_head, generator_predictions', text]);
  const plain = await mainHere(['run', 'fill-mask', '--model', mlm, '--json', '--dtype', 'bfloat16', text]);
  for (const r of [f32, bf, plain]) t.is(r.code, 0, r.stderr);
  const [a, b, c] = [f32, bf, plain].map((r) => JSON.parse(r.stdout) as { score: number }[]);
  t.is(b.length, a.length);
  const diff = (x: { score: number }[], y: { score: number }[]): number => Math.max(...x.map((v, i) => Math.abs(v.score - y[i].score)));
  // The trunk ran in bf16 (the scores move a little from float32), and the head in float32 (they differ from plain bf16).
  t.true(diff(a, b) > 0 && diff(a, b) < 0.05, `bf16 moved the scores by ${diff(a, b)}`);
  t.true(diff(b, c) > 0, 'the head in float32 gave plain bf16 scores');
  const typo = await mainHere(['run', 'fill-mask', '--model', mlm, '--dtype', 'bfloat16', '--modules-to-not-convert', 'lm_head', text]);
  t.is(typo.code, 1);
  t.regex(typo.stderr, /modulesToNotConvert: 'lm_head' matches no linear module.*\[ERR_CONVBERT_ARG\]/);
  const dtype = await mainHere(['run', 'fill-mask', '--model', mlm, '--dtype', 'float64', text]);
  t.is(dtype.code, 1);
  t.regex(dtype.stderr, /dtype "float64" is not supported.*\[ERR_CONVBERT_UNSUPPORTED\]/);
  const noValue = await mainHere(['run', 'fill-mask', '--model', mlm, text, '--dtype']);
  t.is(noValue.code, 2);
  t.regex(noValue.stderr, /--dtype: expected a value/);
});

function startServe(args: string[]): Promise<{ child: ChildProcess; port: number; stderr: () => string; exited: Promise<Run> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let stderr = '';
    let stdout = '';
    const exited = new Promise<Run>((r) => child.on('close', (code, signal) => r({ code, signal, stdout, stderr })));
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (m) resolve({ child, port: Number(m[1]), stderr: () => stderr, exited });
    });
    void exited.then((r) => reject(new Error(`serve exited early (${r.code}): ${r.stderr}`)));
  });
}

test('serve: answers, then on SIGTERM finishes the in-flight request, refuses new ones with 503 and exits 0', async (t) => {
  const s = await startServe(['--model', mlm, '--task', 'fill-mask', '--port', '0']);
  t.teardown(() => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });
  const ok = await post(s.port, '/v1/fill-mask', { inputs: 'a [MASK] day.', parameters: { top_k: 2 } });
  t.is(ok.status, 200, ok.text);
  t.is((ok.json as unknown[]).length, 2);
  const half = await halfPost(s.port, '/v1/fill-mask', { inputs: 'still [MASK] here.' });
  await new Promise((r) => setTimeout(r, 100));
  s.child.kill('SIGTERM');
  // Draining: the process waits for the half-sent request; a new one is refused.
  let refused = null;
  for (let i = 0; i < 50 && refused === null; i++) {
    const r = await post(s.port, '/v1/fill-mask', { inputs: 'new [MASK]' });
    if (r.status === 503) refused = r;
    else await new Promise((res) => setTimeout(res, 20));
  }
  t.truthy(refused, 'a request after SIGTERM got 503');
  t.like(refused!.json as object, { code: 'ERR_CONVBERT_SHUTTING_DOWN' });
  t.is(s.child.exitCode, null, 'still running while a request is in flight');
  const raw = await half.finish();
  t.is(rawStatus(raw), 200, raw);
  t.true(Array.isArray(rawJson(raw)));
  const exit = await s.exited;
  t.is(exit.code, 0, exit.stderr);
  t.regex(exit.stderr, /SIGTERM/);
  t.regex(exit.stderr, /closed/);
});

test('serve: --max-top-k, --max-masks, --max-candidates and --max-inputs reach the server; bad values exit 2', async (t) => {
  // Checked before the model loads (the model 'x' does not exist).
  const bad = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--max-top-k', '0']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--max-top-k: expected an integer >= 1, got "0"/);
  const badMasks = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--max-masks', 'many']);
  t.is(badMasks.code, 2);
  t.regex(badMasks.stderr, /--max-masks: expected an integer >= 1, got "many"/);
  const badInputs = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--max-inputs', '-3']);
  t.is(badInputs.code, 2);
  t.regex(badInputs.stderr, /--max-inputs: expected an integer >= 1, got "-3"/);
  const s = await startServe(['--model', mlm, '--task', 'fill-mask', '--port', '0', '--max-top-k', '3', '--max-masks', '2', '--max-candidates', '4', '--max-inputs', '2']);
  t.teardown(() => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });
  const send = (inputs: unknown, parameters: unknown) => post(s.port, '/v1/fill-mask', { inputs, parameters });
  t.is((await send(['[MASK] [MASK]', 'a [MASK]'], { top_k: 1 })).status, 200);
  const topK = await send('a [MASK]', { top_k: 4 });
  t.is(topK.status, 400, topK.text);
  t.regex((topK.json as { error: string }).error, /top_k: 4, more than the limit of 3/);
  const masks = await send('[MASK] [MASK] [MASK]', { top_k: 1 });
  t.is(masks.status, 400, masks.text);
  t.regex((masks.json as { error: string }).error, /mask tokens \(\[MASK\]\): 3, more than the limit of 2/);
  const cand = await send(['[MASK] [MASK]', 'a [MASK]'], { top_k: 2 });
  t.is(cand.status, 413, cand.text);
  t.like(cand.json as object, { code: 'ERR_CONVBERT_LIMIT' });
  t.regex((cand.json as { error: string }).error, /6 candidates, more than the limit of 4/);
  const rows = await send(['a [MASK]', 'b [MASK]', 'c [MASK]'], { top_k: 1 });
  t.is(rows.status, 413, rows.text);
  t.like(rows.json as object, { code: 'ERR_CONVBERT_TOO_MANY_INPUTS' });
  s.child.kill('SIGTERM');
  t.is((await s.exited).code, 0);
});

test('bench runs bench/model.ts with its options and passes its exit code through', async (t) => {
  const cfg = JSON.stringify({ hidden_size: 32, embedding_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64 });
  const r = await runCli(['bench', '--shapes', '2x8', '--iters', '2', '--warmup', '0', '--config', cfg, '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { rows: { shape: string; median_ms: number }[] };
  t.deepEqual(
    out.rows.map((x) => x.shape),
    ['2x8'],
  );
  t.true(out.rows[0].median_ms > 0);
  const bad = await runCli(['bench', '--config', '{not json']);
  t.not(bad.code, 0);
});

test('serve with a Hub id that is not cached, offline, exits 1 naming the Hub error', async (t) => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-cli-cache-'));
  const before = process.env.HF_HUB_OFFLINE;
  process.env.HF_HUB_OFFLINE = '1';
  t.teardown(() => {
    if (before === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = before;
    fs.rmSync(cache, { recursive: true, force: true });
  });
  const r = await mainHere(['serve', '--model', 'nobody/no-such-model', '--task', 'fill-mask', '--port', '0', '--cache-dir', cache]);
  t.is(r.code, 1);
  t.regex(r.stderr, /\[ERR_CONVBERT_HUB_OFFLINE\]/);
});

test('options parse strictly, one table per subcommand: a mistyped flag is named with the closest one, switches take no value, counts are plain digits (exit 2)', async (t) => {
  const typo = await mainHere(['run', 'fill-mask', '--model', 'x', '--jsn', 'a [MASK]']);
  t.is(typo.code, 2);
  t.regex(typo.stderr, /convbert run: unknown option --jsn \(did you mean --json\?\)/);
  // worker's flags are not serve's.
  const other = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--queue', 'q']);
  t.is(other.code, 2);
  t.regex(other.stderr, /convbert serve: unknown option --queue/);
  const sw = await mainHere(['run', 'fill-mask', '--model', 'x', '--json=yes', 'a [MASK]']);
  t.is(sw.code, 2);
  t.regex(sw.stderr, /--json: a switch, expected no value/);
  const noValue = await mainHere(['serve', '--task', 'fill-mask', '--model']);
  t.is(noValue.code, 2);
  t.regex(noValue.stderr, /--model: expected a value/);
  // Number() took '1e3' and '' (as 0): a count on a command line is digits.
  const sci = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--port', '1e3']);
  t.is(sci.code, 2);
  t.regex(sci.stderr, /--port: expected an integer >= 0, got "1e3"/);
  const empty = await mainHere(['serve', '--model', 'x', '--task', 'fill-mask', '--timeout-ms', '']);
  t.is(empty.code, 2);
  t.regex(empty.stderr, /--timeout-ms: expected an integer >= 0, got ""/);
  // serve's new flags are checked before the model loads.
  for (const [args, msg] of [
    [['--pooling', 'max'], /--pooling: expected mean or cls, got "max"/],
    [['--log-level', 'loud'], /--log-level: expected one of error, warn, info, debug, silent, got "loud"/],
    [['--cors-origin', 'example.com'], /--cors-origin: expected an origin like https:\/\/app.example.com or '\*', got "example.com"/],
    [['--api-key', ' '], /--api-key: expected a non-empty key/],
    [['--no-normalize=1'], /--no-normalize: a switch, expected no value/],
  ] as const) {
    const r = await mainHere(['serve', '--model', 'x', '--task', 'feature-extraction', ...args]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, msg);
  }
});

test('--help lists bench only where it can run (a source checkout); an installed package has no bench/', async (t) => {
  t.true(fs.existsSync(path.join(repoRoot, 'dist', 'cli.js')), 'build dist/ first (npm run build:ts)');
  // The package's layout: bin/ and dist/ without bench/.
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-pkg-'));
  t.teardown(() => fs.rmSync(pkg, { recursive: true, force: true }));
  fs.cpSync(path.join(repoRoot, 'bin'), path.join(pkg, 'bin'), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  const run = (args: string[]) => runNode([path.join(pkg, 'bin', 'convbert.js'), ...args], pkg, process.env);
  const help = await run(['--help']);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /convbert serve --model/);
  t.regex(help.stdout, /convbert batch --queue/);
  t.notRegex(help.stdout, /convbert bench/);
  const unknown = await run(['nope']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /expected run, serve, worker, batch \(see/);
});
