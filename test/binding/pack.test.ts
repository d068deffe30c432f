// The npm tarball: `npm pack`, installed into a fresh project with install
// scripts disabled (so nothing can compile), must load the addon from its
// prebuilt binary in prebuilds/linux-x64 and work from require and import.
// When no prebuild exists yet, prebuildify runs in a scratch copy of the native
// sources: running it here would rebuild build/ under the feet of the tests
// running beside this one.
import test from 'ava';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { repoRoot } from '../helpers/fixtures';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const prebuilt = path.join(repoRoot, 'prebuilds', `${process.platform}-${process.arch}`);

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `npm run prebuild` (prebuildify --napi --strip) in a scratch copy; its prebuilds/ is copied back. */
function prebuildAside(): void {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-prebuild-'));
  try {
    for (const f of ['package.json', 'binding.gyp', 'native', 'scripts']) {
      fs.cpSync(path.join(repoRoot, f), path.join(scratch, f), { recursive: true });
    }
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
    run(npm, ['run', 'prebuild'], scratch);
    fs.cpSync(path.join(scratch, 'prebuilds'), path.join(repoRoot, 'prebuilds'), { recursive: true });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

test('the packed tarball installs with scripts off and loads the prebuilt binary', (t) => {
  const hasPrebuild = fs.existsSync(prebuilt) && fs.readdirSync(prebuilt).some((f) => f.endsWith('.node'));
  if (!hasPrebuild) prebuildAside();
  t.true(
    fs.readdirSync(prebuilt).some((f) => f.endsWith('.node')),
    'npm run prebuild wrote prebuilds/<platform>-<arch>/*.node',
  );

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-pack-'));
  try {
    // --ignore-scripts: dist/ is already built by `npm test`, and rebuilding it here would race the other tests.
    const packOut = run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], repoRoot);
    const packed = JSON.parse(packOut)[0] as { filename: string; files: { path: string }[] };
    const names = packed.files.map((f) => f.path);
    t.true(
      names.some((n) => n.startsWith('prebuilds/') && n.endsWith('.node')),
      'the tarball carries the prebuild',
    );
    t.true(names.includes('dist/index.js') && names.includes('dist/index.mjs') && names.includes('dist/index.d.ts'));
    t.false(names.some((n) => n.startsWith('build/') || n.startsWith('node_modules/') || n.startsWith('test/')));

    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    run(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, packed.filename)], app);
    t.false(fs.existsSync(path.join(app, 'node_modules', 'convbert', 'build')), 'nothing was compiled');

    const cjs = execFileSync(process.execPath, ['-e', "const c = require('convbert'); console.log(JSON.stringify(c.backendInfo()))"], {
      cwd: app,
      encoding: 'utf8',
    });
    const info = JSON.parse(cjs);
    t.true(info.binary.includes(`${path.sep}prebuilds${path.sep}`), `loaded ${info.binary}`);
    t.regex(info.isa, /^(generic|avx2|avx512)$/);

    const esm = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import { Tensor, backendInfo } from 'convbert'; console.log(new Tensor('float32', [1, 2], [2]).size, backendInfo().version)"],
      { cwd: app, encoding: 'utf8' },
    );
    t.is(esm.trim(), `2 ${info.version}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
