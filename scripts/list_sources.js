#!/usr/bin/env node
// Lists the C++ sources of one build group, so binding.gyp and CMakeLists.txt
// pick up new op files without edits. Groups:
//   core     native/src/**/*.cc except ISA-specific files and the CUDA stub
//   stub     the CPU-only stand-in for the CUDA backend
//   avx2     native/src/**/*_avx2.cc      (compiled with -mavx2 -mfma)
//   avx512   native/src/**/*_avx512.cc    (compiled with -mavx512f/bw/vl/dq -mfma)
//   avx512bf16 native/src/**/*_avx512bf16.cc (as avx512, plus -mavx512bf16)
//   avx512vnni native/src/**/*_avx512vnni.cc (as avx512, plus -mavx512vnni)
//   binding  native/binding/*.cc: the shipped addon convbert.node
//   binding_test  the test addon convbert_test.node (tests and benches only): the
//            single-op entry points in native/binding/testing/*.cc, plus the
//            module entry and argument readers both addons share
// Paths are relative to the package root, one per line, sorted.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...walk(rel));
    else if (e.name.endsWith('.cc')) out.push(rel);
  }
  return out;
}

// Binding files the test addon needs too: its module entry (error class,
// backendInfo, setNumThreads) and the argument readers.
const BINDING_SHARED = ['native/binding/addon.cc', 'native/binding/args.cc'];

function list(group) {
  const src = walk('native/src');
  const isIsa = (f) => /_(avx2|avx512|avx512bf16|avx512vnni)\.cc$/.test(f);
  switch (group) {
    case 'core':
      return src.filter((f) => !isIsa(f) && !f.endsWith('/cuda_stub.cc'));
    case 'stub':
      return src.filter((f) => f.endsWith('/cuda_stub.cc'));
    case 'avx2':
      return src.filter((f) => f.endsWith('_avx2.cc'));
    case 'avx512':
      return src.filter((f) => f.endsWith('_avx512.cc'));
    case 'avx512bf16':
      return src.filter((f) => f.endsWith('_avx512bf16.cc'));
    case 'avx512vnni':
      return src.filter((f) => f.endsWith('_avx512vnni.cc'));
    case 'binding':
      return walk('native/binding').filter((f) => !f.startsWith('native/binding/testing/'));
    case 'binding_test':
      return [...BINDING_SHARED, ...walk('native/binding/testing')];
    default:
      throw new Error(`list_sources: unknown group ${group}`);
  }
}

const files = list(process.argv[2]).sort();
process.stdout.write(files.join(process.argv[3] === '--cmake' ? ';' : '\n') + '\n');
