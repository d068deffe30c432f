#!/usr/bin/env node
// convbert.js: the `convbert` command's launcher. It runs the built CLI
// (dist/cli.js); in a source checkout without a build it runs lib/cli.ts
// through tsx (a devDependency).
'use strict';
const fs = require('fs');
const path = require('path');

const built = path.join(__dirname, '..', 'dist', 'cli.js');
let cli;
if (fs.existsSync(built)) cli = require(built);
else {
  require('tsx/cjs');
  cli = require(path.join(__dirname, '..', 'lib', 'cli.ts'));
}
cli.main(process.argv.slice(2)).then((code) => {
  if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
});
