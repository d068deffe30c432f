#!/usr/bin/env bash
# fresh_clone_test.sh: proves the repository carries every file its tests read.
# Clones the committed tree into an empty temporary folder (nothing beside it,
# CONVBERT_FIXTURES unset), reuses this checkout's installed packages and
# compiled addon (the dependencies are not what is being proved), and runs the
# tests that read the golden data. Run from the repository root after a build.
set -euo pipefail
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$root" "$tmp/clone"
cd "$tmp/clone"
ln -s "$root/node_modules" node_modules
mkdir -p build/Release
cp "$root/build/Release/convbert.node" build/Release/
unset CONVBERT_FIXTURES
npm run -s build:ts
npx ava test/config/config.test.ts test/model/fixtures.test.ts test/tokenizer/goldens.test.ts
