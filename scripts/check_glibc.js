#!/usr/bin/env node
// Which glibc and libstdc++ a built .node needs at run time: reads `objdump -T` (the dynamic
// symbols, each with the version it was bound to at link time) and `objdump -p` (NEEDED
// libraries), prints the highest GLIBC_, GLIBCXX_ and CXXABI_ versions with the symbols that
// need them (and, with --json, the strong symbols it exports), and exits 1 when one is above a bound:
//   node scripts/check_glibc.js build/Release/convbert.node --glibc 2.28 [--glibcxx 3.4.25] [--json]
// --glibcxx none: the binary must not need libstdc++ at all. Exit 2: bad arguments, no objdump.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const { parseArgs } = require('util');

function usage(msg) {
  process.stderr.write(`check_glibc: ${msg}\n` + 'usage: node scripts/check_glibc.js <file.node> [--glibc X.Y] [--glibcxx X.Y.Z|none] [--json]\n');
  process.exit(2);
}

/** [2, 28] from '2.28'; compares element-wise, a missing part counts as 0. */
function parseVersion(s, flag) {
  if (!/^\d+(\.\d+)*$/.test(s)) usage(`${flag}: expected a version like 2.28, got '${s}'`);
  return s.split('.').map(Number);
}
function cmp(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] || 0) - (b[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

function objdump(flag, file) {
  const r = spawnSync('objdump', [flag, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error && r.error.code === 'ENOENT') usage('objdump was not found on PATH (install binutils)');
  if (r.status !== 0) usage(`objdump ${flag} ${file} failed (${r.status}): ${(r.stderr || '').trim()}`);
  return r.stdout;
}

/**
 * Per prefix (GLIBC, GLIBCXX, CXXABI, GCC): the highest version an undefined dynamic symbol is
 * bound to, and those symbols. A line of `objdump -T` looks like
 *   0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.25) getentropy
 * (the version in parentheses when it is not the default one, bare otherwise).
 */
function requirements(dynsyms) {
  const out = {};
  for (const line of dynsyms.split('\n')) {
    if (!line.includes('*UND*')) continue;
    const m = /\s\(?(GLIBC|GLIBCXX|CXXABI|GCC)_([\d.]+)\)?\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const [, prefix, ver, sym] = m;
    const v = ver.split('.').map(Number);
    const cur = out[prefix];
    if (!cur || cmp(v, cur.v) > 0) out[prefix] = { v, version: ver, symbols: [sym] };
    else if (cmp(v, cur.v) === 0 && !cur.symbols.includes(sym)) cur.symbols.push(sym);
  }
  return out;
}

function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { glibc: { type: 'string' }, glibcxx: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (e) {
    usage(e.message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) usage(`expected one .node file, got ${positionals.length} arguments`);
  const file = positionals[0];
  if (!fs.existsSync(file)) usage(`${file}: no such file`);
  const maxGlibc = values.glibc === undefined ? null : parseVersion(values.glibc, '--glibc');
  const noCxx = values.glibcxx === 'none';
  const maxCxx = values.glibcxx === undefined || noCxx ? null : parseVersion(values.glibcxx, '--glibcxx');

  const dynsyms = objdump('-T', file);
  const req = requirements(dynsyms);
  // Strong global symbols the binary defines and exports (flags column: 'g' then not 'w'). An
  // addon needs only Node-API's entry points; anything else (a static libstdc++'s symbols) can
  // be bound at run time to another library's copy of the same name.
  const exports = [];
  for (const line of dynsyms.split('\n')) {
    const m = /^[0-9a-f]+ (.)(.).{5} (\S+)\t.*\s(\S+)$/.exec(line);
    if (m && m[1] === 'g' && m[2] !== 'w' && m[3] !== '*UND*') exports.push(m[4]);
  }
  const headers = objdump('-p', file);
  const needed = [...headers.matchAll(/^\s*NEEDED\s+(\S+)/gm)].map((m) => m[1]);
  // The loader checks the version references (verneed), not the symbols: a glibc version without
  // a number there (GLIBC_ABI_DT_RELR from -z pack-relative-relocs, GLIBC_PRIVATE) ties the binary
  // to the glibc that built it, whatever its symbols need.
  const refs = headers.includes('Version References:') ? headers.slice(headers.indexOf('Version References:')) : '';
  const special = [...refs.matchAll(/^\s+0x[0-9a-f]+ 0x[0-9a-f]+ \d+ (GLIBC_[A-Z][A-Z_]*)\s*$/gm)].map((m) => m[1]);
  const pick = (p) => (req[p] ? { version: req[p].version, symbols: req[p].symbols } : null);
  const report = { file, glibc: pick('GLIBC'), glibcxx: pick('GLIBCXX'), cxxabi: pick('CXXABI'), gcc: pick('GCC'), needed, exports };

  report.glibcSpecial = special;
  const failures = [];
  if (maxGlibc && special.length > 0) {
    failures.push(`needs ${special.join(', ')}, which only the glibc that built it (or a newer one) provides`);
  }
  if (maxGlibc && req.GLIBC && cmp(req.GLIBC.v, maxGlibc) > 0) {
    failures.push(`needs GLIBC_${req.GLIBC.version} (${req.GLIBC.symbols.join(', ')}), above the bound ${values.glibc}`);
  }
  if (noCxx && (req.GLIBCXX || req.CXXABI || needed.includes('libstdc++.so.6'))) {
    const what = [
      pick('GLIBCXX') && `GLIBCXX_${req.GLIBCXX.version}`,
      pick('CXXABI') && `CXXABI_${req.CXXABI.version}`,
      needed.includes('libstdc++.so.6') && 'NEEDED libstdc++.so.6',
    ].filter(Boolean);
    failures.push(`needs libstdc++ (${what.join(', ')}), expected none (link with -static-libstdc++, which needs the compiler's libstdc++.a: libstdc++-static on Fedora/RHEL)`);
  }
  if (maxCxx && req.GLIBCXX && cmp(req.GLIBCXX.v, maxCxx) > 0) {
    failures.push(`needs GLIBCXX_${req.GLIBCXX.version} (${req.GLIBCXX.symbols.join(', ')}), above the bound ${values.glibcxx}`);
  }
  report.ok = failures.length === 0;
  report.failures = failures;

  if (values.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    const show = (p, r) => (r ? `${p}_${r.version} (${r.symbols.join(', ')})` : `${p}: none`);
    process.stdout.write(
      `${file}\n  ${show('GLIBC', report.glibc)}\n  ${show('GLIBCXX', report.glibcxx)}\n` + `  ${show('CXXABI', report.cxxabi)}\n  NEEDED ${needed.join(' ')}\n`,
    );
  }
  for (const f of failures) process.stderr.write(`check_glibc: ${file}: ${f}\n`);
  process.exit(report.ok ? 0 : 1);
}

main();
