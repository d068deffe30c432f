// README's quickstart runs as written, from the npm tarball: `npm pack`, then
// `npm install --offline` of the .tgz into an empty project (scripts off, so nothing compiles),
// then the blocks marked <!-- quickstart:pipeline --> and <!-- quickstart:server --> with one
// substitution each: a local model folder (a fixture ConvBertModel checkpoint plus a WordPiece
// vocab, since fixtures carry no tokenizer) for the Hub id, and a free port for 8080. The
// pipeline block runs as an ES module in a child node; the server block's command is started
// as npx would start it and its curl request is sent with fetch. Also checked: what the
// tarball holds (nothing of test/, bench/ or the fixtures; LICENSE, README, docs/ present),
// and that `convbert --help` there offers `bench` only if the benchmark ships.
import test from 'ava';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { fixturesDir, repoRoot } from '../helpers/fixtures';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const HUB_ID = 'YituTech/conv-bert-base';
// A ConvBertModel (encoder-only) checkpoint, like the published ones; grouped FFN and an
// embedding projection like conv-bert-medium-small. Its vocab_size is 257.
const FIXTURE_MODEL = fixturesDir('convbert', 'proj-groups-b', 'ConvBertModel');

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The fenced block that follows `<!-- quickstart:<name> -->` in README.md. */
function quickstartBlock(readme: string, name: string): { lang: string; code: string } {
  const m = new RegExp(`<!-- quickstart:${name} -->\\s*\\n\`\`\`(\\w+)\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(readme);
  if (!m) throw new Error(`README.md: no fenced block after <!-- quickstart:${name} -->`);
  return { lang: m[1], code: m[2] };
}

/** config.json and weights of the fixture, the fixtures' vocab cut to vocab_size, a tokenizer config. */
function makeModelDir(dir: string): { hidden: number } {
  fs.mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(FIXTURE_MODEL, f), path.join(dir, f));
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { vocab_size: number; hidden_size: number };
  // The first vocab_size entries of BERT's uncased vocab keep the ids of [PAD] (0), [UNK] (100),
  // [CLS] (101), [SEP] (102), [MASK] (103) below vocab_size; words outside it become [UNK].
  const vocab = fs.readFileSync(fixturesDir('tokenizer', 'vocab.txt'), 'utf8').split('\n').slice(0, config.vocab_size);
  fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 128, tokenizer_class: 'ConvBertTokenizer' }));
  return { hidden: config.hidden_size };
}

interface Installed {
  tmp: string;
  app: string;
  names: string[];
}

let installed: Installed | undefined;

// One `npm pack` + install for both tests (about 10 s).
test.before(() => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-quickstart-'));
  // --ignore-scripts: `prepare` would rebuild dist/ under the tests running beside this one.
  const packed = JSON.parse(run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], repoRoot))[0] as {
    filename: string;
    files: { path: string }[];
  };
  const names = packed.files.map((f) => f.path);
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  // `npm i convbert`, from the tarball and the local npm cache.
  run(npm, ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(tmp, packed.filename)], app);
  if (!names.some((n) => n.startsWith('prebuilds/') && n.endsWith('.node'))) {
    // No prebuild in this clone yet (the pack test makes one): the local build stands in,
    // where node-gyp-build looks after prebuilds/.
    const release = path.join(app, 'node_modules', 'convbert', 'build', 'Release');
    fs.mkdirSync(release, { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'build', 'Release', 'convbert.node'), path.join(release, 'convbert.node'));
  }
  installed = { tmp, app, names };
});

test.after.always(() => {
  if (installed) fs.rmSync(installed.tmp, { recursive: true, force: true });
});

test('the tarball holds what a consumer needs and no tests, fixtures, benchmarks or build output', (t) => {
  const { names } = installed!;
  for (const want of [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/index.js',
    'dist/index.mjs',
    'dist/index.d.ts',
    'bin/convbert.js',
    'binding.gyp',
    'scripts/list_sources.js',
    'scripts/glibc_compat.js',
    'native/src/glibc_compat.cc',
    'docs/cuda.md',
  ]) {
    t.true(names.includes(want), `the tarball has ${want}`);
  }
  const unwanted = names.filter((n) => /^(test|bench|build[^/]*|node_modules|native\/test|cuda\/emu)\//.test(n) || n.endsWith('.tgz'));
  t.deepEqual(unwanted, [], 'nothing of test/, bench/, native/test/, cuda/emu/ or build output');

  // README's links to docs work from the npm page (absolute) and the installed package has the files.
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  t.deepEqual(readme.match(/\]\((?:\.\/)?docs\/[^)]*\)/g) ?? [], [], 'no relative links to docs/ (they break on the npm page)');
  const linked = [...readme.matchAll(/\]\(https:\/\/github\.com\/convbert\/convbert\/blob\/main\/(docs\/[^)#]+)/g)].map((m) => m[1]);
  t.true(linked.length > 0, 'README links to docs/');
  for (const doc of linked) t.true(names.includes(doc), `${doc} (linked from README) is in the tarball`);
  for (const doc of fs.readdirSync(path.join(repoRoot, 'docs'))) t.true(names.includes(`docs/${doc}`), `docs/${doc} ships`);
});

test('convbert --help of the installed package lists `bench` only if the tarball carries the benchmark', (t) => {
  const { app, names } = installed!;
  const bin = path.join(app, 'node_modules', '.bin', 'convbert');
  const help = spawnSync(process.execPath, [bin, '--help'], { cwd: app, encoding: 'utf8' });
  t.is(help.status, 0, help.stderr);
  t.is(/convbert bench/.test(help.stdout), names.includes('bench/model.ts'), help.stdout);
});

test('README quickstart: npm i, the pipeline and the server run as written from the packed tarball', async (t) => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const quick = readme.slice(readme.indexOf('## Quickstart'));
  t.true(readme.includes('## Quickstart') && /```sh\nnpm i convbert\n```/.test(quick), 'README has a Quickstart with `npm i convbert`');
  const pipelineBlock = quickstartBlock(readme, 'pipeline');
  const serverBlock = quickstartBlock(readme, 'server');
  t.is(pipelineBlock.lang, 'js');
  t.is(serverBlock.lang, 'sh');
  t.true(pipelineBlock.code.includes(`'${HUB_ID}'`) && serverBlock.code.includes(` ${HUB_ID} `), `both blocks use ${HUB_ID}`);

  const { tmp, app } = installed!;
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const modelDir = path.join(tmp, 'my-model');
    const { hidden } = makeModelDir(modelDir);
    const env = { ...process.env, HF_HUB_OFFLINE: '1', HF_HOME: path.join(tmp, 'hf'), NODE_NO_WARNINGS: undefined };

    // The pipeline block, as embed.mjs. Its printed dims are the README's with this model's hidden size.
    fs.writeFileSync(path.join(app, 'embed.mjs'), pipelineBlock.code.replaceAll(`'${HUB_ID}'`, JSON.stringify(modelDir)));
    const p = spawnSync(process.execPath, ['embed.mjs'], { cwd: app, encoding: 'utf8', env });
    t.is(p.status, 0, p.stderr);
    const printed = /console\.log\(vectors\.dims\); \/\/ \[ (\d+), (\d+) \]/.exec(pipelineBlock.code);
    t.truthy(printed, 'the block shows what it prints');
    const published = JSON.parse(fs.readFileSync(fixturesDir('convbert', 'published_configs.json'), 'utf8')) as Record<string, { hidden_size: number }>;
    t.is(Number(printed![2]), published[HUB_ID].hidden_size, `the README's dims use ${HUB_ID}'s hidden_size`);
    t.is(p.stdout.trim(), `[ ${printed![1]}, ${hidden} ]`);
    t.false(p.stderr.includes('initialised randomly'), `an encoder checkpoint has every weight feature-extraction needs: ${p.stderr}`);

    // The server block: line 1 starts the server (npx runs the package's bin), line 2 is the request.
    const lines = serverBlock.code.split('\n').filter((l) => l.trim() !== '');
    t.is(lines.length, 2);
    const argv = lines[0].replace(/\s*&\s*$/, '').split(/\s+/);
    t.deepEqual(argv.slice(0, 3), ['npx', 'convbert', 'serve']);
    const portAt = argv.indexOf('--port');
    t.is(argv[portAt + 1], '8080');
    argv[portAt + 1] = '0'; // any free port; the server prints the one it got
    argv[argv.indexOf(HUB_ID)] = modelDir;
    const bin = path.join(app, 'node_modules', '.bin', 'convbert');
    t.true(fs.existsSync(bin), 'npm linked the convbert bin');
    server = spawn(process.execPath, [bin, ...argv.slice(2)], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => server!.on('close', (code, signal) => r({ code, signal })));
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      server!.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((r) => reject(new Error(`convbert serve exited early (${r.code}): ${stderr}`)));
    });
    const curl = /^curl -s (http:\/\/127\.0\.0\.1:8080(\/\S*)) -H '([^:]+): ([^']+)' -d '(.*)'$/.exec(lines[1]);
    t.truthy(curl, `the request line has the form this test replays: ${lines[1]}`);
    const res = await fetch(`http://127.0.0.1:${port}${curl![2]}`, { method: 'POST', headers: { [curl![3]]: curl![4] }, body: curl![5] });
    const body = (await res.json()) as unknown;
    t.is(res.status, 200, JSON.stringify(body));
    // Nested arrays down to one vector per token, each of the model's hidden size.
    let inner: unknown = body;
    while (Array.isArray(inner) && Array.isArray(inner[0])) inner = inner[0];
    t.true(Array.isArray(inner) && (inner as unknown[]).length === hidden && (inner as unknown[]).every((x) => typeof x === 'number'), JSON.stringify(body).slice(0, 200));
    server.kill('SIGTERM');
    const end = await exited;
    server = undefined;
    t.is(end.code, 0, stderr);
  } finally {
    if (server) server.kill('SIGKILL');
  }
});
