#!/usr/bin/env node
// Prints the extra link flags of the addon (binding.gyp's ldflags), so a binary built on a
// new Linux loads on older ones: -static-libstdc++ (no GLIBCXX_ / CXXABI_ versions needed),
// and on glibc x86-64 one --wrap per symbol that native/src/glibc_compat.cc maps to its
// GLIBC_2.2.5 version. libgcc stays shared (libgcc_s.so.1, on every glibc system): the
// static libgcc_eh of GCC 12 would need _dl_find_object (glibc 2.35). --gc-sections drops
// unused code of the static library. Elsewhere (musl, other OSes) it prints nothing.
'use strict';

// Keep in step with the __wrap_ functions of native/src/glibc_compat.cc.
const WRAPPED = [
  '__libc_single_threaded',
  'exp',
  'pthread_create', 'pthread_join', 'pthread_detach', 'pthread_once',
  'pthread_key_create', '__pthread_key_create', 'pthread_key_delete',
  'pthread_getspecific', 'pthread_setspecific',
  'arc4random',
];

function isGlibc() {
  if (process.platform !== 'linux') return false;
  const header = process.report && process.report.getReport().header;
  return Boolean(header && header.glibcVersionRuntime);
}

const flags = [];
if (process.platform === 'linux') {
  flags.push('-static-libstdc++', '-Wl,--gc-sections');
  if (process.arch === 'x64' && isGlibc()) flags.push(...WRAPPED.map((s) => `-Wl,--wrap=${s}`));
}
process.stdout.write(flags.join(' ') + '\n');
