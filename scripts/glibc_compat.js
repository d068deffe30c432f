#!/usr/bin/env node
// Prints the extra link flags of the addon (binding.gyp's ldflags), so a binary built on a
// new Linux loads on older ones: -static-libstdc++ where the compiler has libstdc++.a (then no
// GLIBCXX_ / CXXABI_ versions are needed),
// and on glibc x86-64 one --wrap per symbol that native/src/glibc_compat.cc maps to its
// GLIBC_2.2.5 version. libgcc stays shared (libgcc_s.so.1, on every glibc system): the
// static libgcc_eh of GCC 12 would need _dl_find_object (glibc 2.35). --gc-sections drops
// unused code of the static library. On other Linux libcs only those two; on other OSes nothing.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

// Keep in step with the __wrap_ functions of native/src/glibc_compat.cc.
const WRAPPED = [
  '__libc_single_threaded',
  'exp',
  'pthread_create',
  'pthread_join',
  'pthread_detach',
  'pthread_once',
  'pthread_key_create',
  '__pthread_key_create',
  'pthread_key_delete',
  'pthread_getspecific',
  'pthread_setspecific',
  'arc4random',
];

function isGlibc() {
  if (process.platform !== 'linux') return false;
  const header = process.report && process.report.getReport().header;
  return Boolean(header && header.glibcVersionRuntime);
}

/**
 * Whether the C++ compiler the build will link with has a static libstdc++: Fedora/RHEL ship it
 * apart (libstdc++-static), and without it -static-libstdc++ fails the link. Then the addon
 * links libstdc++ dynamically, as before; the wraps below still apply to our own references.
 */
function hasStaticLibstdcxx() {
  const cxx = (process.env.CXX_target || process.env.CXX || 'g++').trim().split(/\s+/);
  const r = spawnSync(cxx[0], [...cxx.slice(1), '-print-file-name=libstdc++.a'], { encoding: 'utf8' });
  // It prints the bare name when it has no such file.
  return r.status === 0 && path.isAbsolute(r.stdout.trim());
}

const flags = [];
if (process.platform === 'linux') {
  // --exclude-libs: the static libstdc++'s symbols stay hidden. Exported, they would bind at run
  // time to the process's own libstdc++.so.6 (Node's, perhaps older) where it has them, mixing
  // two libraries' internals; hidden, the addon's calls stay on its copy.
  if (hasStaticLibstdcxx()) flags.push('-static-libstdc++', '-Wl,--exclude-libs,ALL');
  flags.push('-Wl,--gc-sections');
  if (process.arch === 'x64' && isGlibc()) flags.push(...WRAPPED.map((s) => `-Wl,--wrap=${s}`));
}
process.stdout.write(flags.join(' ') + '\n');
