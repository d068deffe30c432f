#!/usr/bin/env node
// gen_tokenizer_tables.js: writes native/src/tokenizer/unicode_tables.cc, the
// per-code-point data the native BERT normalizer and pre-tokenizer read.
// Everything comes from the running Node's own Unicode data (JS \p{...} regex
// classes, String.prototype.normalize('NFD'), toLowerCase()); nothing is
// downloaded. Usage:
//   node scripts/gen_tokenizer_tables.js [--rust-compat <unicode_classes.json>]
// --rust-compat applies the listed differences between these JS definitions and
// Hugging Face's Rust tokenizer (whose category tables are older) so the native
// tokenizer classifies those code points as the Rust one does. The file is the
// comparison that ships with the tokenizer goldens (classes and strip results).
'use strict';
const fs = require('fs');
const path = require('path');

const OUT = path.join(__dirname, '..', 'native', 'src', 'tokenizer', 'unicode_tables.cc');

// Flag bits; keep in sync with native/src/tokenizer/unicode_tables.h.
const F_REMOVE = 1; // dropped by clean_text: NUL, U+FFFD, Cc/Cf/Co/Cs except \t\n\r
const F_SPACE = 2; // White_Space or \t\n\r: a word boundary
const F_PUNCT = 4; // ASCII punctuation or P*: isolated by the pre-tokenizer
const F_STRIP = 8; // NFD-then-drop-Mn changes the code point (see strip map)
const F_LOWER = 16; // per-code-point lowercase changes it (see lower map)

const reRemove = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const reSpace = /\p{White_Space}/u;
const rePunct = /\p{P}/u;
const reMn = /\p{Mn}/u;

function isAsciiPunct(cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}
const isHangulSyllable = (cp) => cp >= 0xac00 && cp <= 0xd7a3;

function stripOf(s) {
  let out = '';
  for (const c of s.normalize('NFD')) if (!reMn.test(c)) out += c;
  return out;
}

const N = 0x110000;
const flags = new Uint8Array(N);
const strip = new Map(); // cp -> array of code points (may be empty)
const lower = new Map();

for (let cp = 0; cp < N; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) {
    // Lone surrogates reach the Rust tokenizer as U+FFFD, which clean_text drops.
    flags[cp] = F_REMOVE;
    continue;
  }
  const s = String.fromCodePoint(cp);
  let f = 0;
  const ctl = cp === 9 || cp === 10 || cp === 13;
  if (cp === 0 || cp === 0xfffd || (reRemove.test(s) && !ctl)) f |= F_REMOVE;
  if (ctl || reSpace.test(s)) f |= F_SPACE;
  if (isAsciiPunct(cp) || rePunct.test(s)) f |= F_PUNCT;
  const st = stripOf(s);
  if (st !== s) {
    f |= F_STRIP;
    // Hangul syllables decompose algorithmically in the C++ (saves ~30k entries).
    if (!isHangulSyllable(cp))
      strip.set(
        cp,
        [...st].map((c) => c.codePointAt(0)),
      );
  }
  const lo = s.toLowerCase();
  if (lo !== s) {
    f |= F_LOWER;
    lower.set(
      cp,
      [...lo].map((c) => c.codePointAt(0)),
    );
  }
  flags[cp] = f;
}

// Check the algorithmic Hangul decomposition the C++ uses against this Node.
for (let cp = 0xac00; cp <= 0xd7a3; cp++) {
  const s = cp - 0xac00;
  const want = [0x1100 + Math.floor(s / 588), 0x1161 + Math.floor((s % 588) / 28)];
  if (s % 28) want.push(0x11a7 + (s % 28));
  const got = [...stripOf(String.fromCodePoint(cp))].map((c) => c.codePointAt(0));
  if (got.join() !== want.join()) throw new Error(`Hangul U+${cp.toString(16)} decomposes unexpectedly`);
}

const compatIdx = process.argv.indexOf('--rust-compat');
let compatNote = 'none (plain JS definitions)';
if (compatIdx > 0) {
  const file = process.argv[compatIdx + 1];
  const d = JSON.parse(fs.readFileSync(file, 'utf8'));
  const cpOf = (u) => parseInt(u.slice(2), 16);
  const bits = { removed: F_REMOVE, whitespace: F_SPACE, punct: F_PUNCT, other: 0 };
  let nClass = 0;
  for (const e of d.class_fast_vs_js) {
    if (!(e.fast in bits) || !(e.js in bits)) throw new Error(`rust-compat: unknown class ${e.fast}/${e.js}`);
    for (let cp = cpOf(e.from); cp <= cpOf(e.to); cp++) {
      flags[cp] = (flags[cp] & ~(F_REMOVE | F_SPACE | F_PUNCT)) | bits[e.fast];
      nClass++;
    }
  }
  let nStrip = 0;
  for (const e of d.strip_fast_vs_js) {
    const from = cpOf(e.from);
    const to = cpOf(e.to);
    const fast = [...e.fast].map((c) => c.codePointAt(0));
    for (let cp = from; cp <= to; cp++) {
      // Ranges list the first code point's result; it is either '' or the code point itself.
      let res;
      if (fast.length === 0) res = [];
      else if (from === to) res = fast;
      else if (fast.length === 1 && fast[0] === from) res = [cp];
      else throw new Error(`rust-compat: cannot expand range ${e.from}..${e.to}`);
      if (res.length === 1 && res[0] === cp) {
        flags[cp] &= ~F_STRIP;
        strip.delete(cp);
      } else {
        flags[cp] |= F_STRIP;
        strip.set(cp, res);
      }
      nStrip++;
    }
  }
  if (d.lower_fast_vs_js.length) throw new Error('rust-compat: lowercase differences are not supported');
  compatNote = `Rust-tokenizer differences applied: ${nClass} class and ${nStrip} strip code points`;
}

// Two-stage table: stage1[cp >> 8] -> block, stage2[block * 256 + (cp & 255)] -> flags.
const blocks = new Map();
const stage1 = [];
const stage2 = [];
for (let hi = 0; hi < N >> 8; hi++) {
  const blk = flags.subarray(hi << 8, (hi + 1) << 8);
  const key = Buffer.from(blk).toString('latin1');
  let id = blocks.get(key);
  if (id === undefined) {
    id = blocks.size;
    blocks.set(key, id);
    stage2.push(...blk);
  }
  stage1.push(id);
}

function mapArrays(m) {
  const keys = [...m.keys()].sort((a, b) => a - b);
  const offs = [0];
  const pool = [];
  for (const k of keys) {
    pool.push(...m.get(k));
    offs.push(pool.length);
  }
  return { keys, offs, pool };
}

function arr(type, name, values, perLine) {
  const lines = [];
  for (let i = 0; i < values.length; i += perLine) lines.push('  ' + values.slice(i, i + perLine).join(',') + ',');
  return `const ${type} ${name}[${values.length}] = {\n${lines.join('\n')}\n};\n`;
}

for (const [name, m] of [
  ['strip', strip],
  ['lower', lower],
]) {
  for (const [cp, v] of m) if (v.length > 4) throw new Error(`${name} of U+${cp.toString(16)} has ${v.length} > 4 code points`);
}
const sm = mapArrays(strip);
const lm = mapArrays(lower);
const hex = (v) => '0x' + v.toString(16);
let src = '';
src += '// unicode_tables.cc: GENERATED by scripts/gen_tokenizer_tables.js; do not edit.\n';
src += `// Source: Node ${process.version}, Unicode ${process.versions.unicode}; ${compatNote}.\n`;
src += '// Flags per code point (two-stage table) plus the strip (NFD, drop Mn) and\n';
src += '// per-code-point lowercase maps, as sorted keys with offsets into a pool.\n';
src += '#include "unicode_tables.h"\n\nnamespace convbert {\nnamespace tokenizer {\nnamespace tables {\n\n';
src += arr('uint16_t', 'kStage1', stage1, 32);
src += arr('uint8_t', 'kStage2', stage2, 32);
src += arr('uint32_t', 'kStripKeys', sm.keys.map(hex), 16);
src += arr('uint32_t', 'kStripOffsets', sm.offs, 24);
src += arr('uint32_t', 'kStripPool', sm.pool.map(hex), 16);
src += arr('uint32_t', 'kLowerKeys', lm.keys.map(hex), 16);
src += arr('uint32_t', 'kLowerOffsets', lm.offs, 24);
src += arr('uint32_t', 'kLowerPool', lm.pool.map(hex), 16);
src += `const uint32_t kStripCount = ${sm.keys.length};\nconst uint32_t kLowerCount = ${lm.keys.length};\n`;
src += '\n}  // namespace tables\n}  // namespace tokenizer\n}  // namespace convbert\n';
fs.writeFileSync(OUT, src);
process.stdout.write(`wrote ${path.relative(process.cwd(), OUT)}: ${blocks.size} blocks, ${sm.keys.length} strip, ${lm.keys.length} lower entries; ${compatNote}\n`);
