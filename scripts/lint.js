#!/usr/bin/env node
// lint.js: `npm run lint` and `npm run format`. Checks, all three run even when one fails:
//   eslint    lib/, bench/, test/, scripts/, bin/ (eslint.config.mjs)
//   prettier  the JS/TS/JSON sources (.prettierrc.json, .prettierignore)
//   clang-format  native/ and cuda/ C++ and CUDA (.clang-format), with the binary the
//             clang-format npm package ships, so the result does not depend on the system
// `--write` (npm run format) rewrites instead: prettier --write and clang-format -i.
// Files whose first line says "do not edit" (generated, e.g. unicode_tables.cc) are skipped.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const root = path.join(__dirname, '..');
const CPP_DIRS = ['native', 'cuda'];
const CPP_EXT = /\.(cc|cpp|h|hpp|cu|cuh)$/;

function cppSources() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile() && CPP_EXT.test(e.name) && !generated(rel)) out.push(rel);
    }
  };
  for (const d of CPP_DIRS) walk(d);
  return out.sort();
}

function generated(rel) {
  const fd = fs.openSync(path.join(root, rel), 'r');
  try {
    const buf = Buffer.alloc(200);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return /do not edit/i.test(buf.toString('utf8', 0, n).split('\n')[0]);
  } finally {
    fs.closeSync(fd);
  }
}

function bin(name) {
  return path.join(root, 'node_modules', '.bin', name);
}

// Runs a command with its output collected, so concurrent tools print one after another.
function run(label, cmd, args) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ label, ok: false, out: `${out}${label}: could not start ${cmd}: ${e.message}\n`, ms: Date.now() - t0 }));
    child.on('close', (code, signal) => resolve({ label, ok: code === 0, out: signal ? `${out}${label}: killed by ${signal}\n` : out, ms: Date.now() - t0 }));
  });
}

async function main() {
  const write = process.argv.includes('--write');
  const unknown = process.argv.slice(2).filter((a) => a !== '--write');
  if (unknown.length > 0) {
    console.error(`lint.js: unknown argument ${unknown[0]}; expected no arguments (check) or --write (format)`);
    process.exit(2);
  }
  const clangFormat = require('clang-format').getNativeBinary();
  const cpp = cppSources();
  const jobs = write
    ? [run('prettier', bin('prettier'), ['--write', '--log-level', 'warn', '.']), run('clang-format', clangFormat, ['-i', '--style=file', ...cpp])]
    : [
        run('eslint', bin('eslint'), ['--cache', '--cache-location', 'node_modules/.cache/eslint/', '.']),
        run('prettier', bin('prettier'), ['--check', '--cache', '--log-level', 'warn', '.']),
        run('clang-format', clangFormat, ['--dry-run', '--Werror', '--ferror-limit=1', '--style=file', ...cpp]),
      ];
  const results = await Promise.all(jobs);
  let failed = 0;
  for (const r of results) {
    if (r.out.trim()) process.stdout.write(r.out.endsWith('\n') ? r.out : `${r.out}\n`);
    console.log(`${r.label}: ${r.ok ? 'ok' : 'FAILED'} (${(r.ms / 1000).toFixed(1)} s)`);
    if (!r.ok) failed++;
  }
  if (failed > 0 && !write) console.log('Formatting differences are fixed by `npm run format`; ESLint findings by hand.');
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
