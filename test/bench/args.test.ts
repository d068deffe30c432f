// The benchmarks' command lines (bench/args.ts), checked without running a bench:
// every bench command written in README.md and docs/*.md, and every bench script of
// package.json, parses against its bench's option table; a mistyped flag, a stray
// word, a switch given a value and an option missing its value are errors that name
// the flag; the typed readers reject what Number() would have let through; --help
// lists every option; and each bench reads its options only through its table.
// No tolerances: everything here is exact.
import * as fs from 'fs';
import * as path from 'path';

import test from 'ava';

import { ACCURACY, BENCHES, benchArgs, GEMM, helpText, HARNESS, LOAD, MAX_BENCH_TOKENS, MODEL, parseBenchArgs, SERVING, type BenchSpec } from '../../bench/args';
import { ConvBertError, type ConvBertErrorCode } from '../../lib/errors';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPTS = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Splits a command line like a shell would for our docs: whitespace, '...' and "..." quoting. */
function shellWords(line: string): string[] {
  const out: string[] = [];
  const re = /(?:'[^']*'|"[^"]*"|[^\s'"]+)+/g;
  for (const m of line.matchAll(re)) out.push(m[0].replace(/'([^']*)'|"([^"]*)"/g, (_, a: string | undefined, b: string | undefined) => a ?? b ?? ''));
  return out;
}

/** A bench script of package.json as [bench, flags it passes], e.g. bench:load -> serving + its flags. */
function npmScript(name: string): { bench: string; flags: string[] } {
  const body = SCRIPTS[name];
  if (body === undefined) throw new Error(`package.json has no script ${name}`);
  const m = /^node --import tsx bench\/(\w+)\.ts(.*)$/.exec(body);
  if (!m) throw new Error(`package.json script ${name} is not "node --import tsx bench/<bench>.ts ...": ${body}`);
  return { bench: m[1], flags: shellWords(m[2]) };
}

/** The code in a markdown file: each fenced line (with `\` continuations joined), then each inline code span. */
function codeSegments(md: string): string[] {
  const out: string[] = [];
  const prose: string[] = [];
  let fenced = false;
  let pending = '';
  for (const line of md.split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) {
      prose.push(line);
      continue;
    }
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  // Inline spans may wrap across lines of a paragraph.
  for (const m of prose.join(' ').matchAll(/`([^`]+)`/g)) out.push(m[1]);
  return out;
}

interface DocCommand {
  where: string;
  text: string;
  bench: string;
  args: string[];
}

// A bench invocation: npm run bench[:x], a bench:x shorthand, bench/<x>.ts (after node --import tsx, npx tsx or perf), convbert bench.
const COMMAND = /(npm run (bench(?::[\w-]+)?))(?=\s|$)|(?<![\w:/-])(bench:[\w-]+)(?=\s|$)|bench\/(\w+)\.ts(?=\s|$)|convbert bench(?=\s|$)/g;
const STOP = /^(?:&&|\|\||\||;|>|2>&1|#.*)$/;

function docCommands(file: string): DocCommand[] {
  const out: DocCommand[] = [];
  for (const seg of codeSegments(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
    for (const m of seg.matchAll(COMMAND)) {
      const words: string[] = [];
      for (const w of shellWords(seg.slice(m.index! + m[0].length))) {
        if (STOP.test(w) || w.startsWith('#')) break;
        if (w !== '...') words.push(w); // '...' in prose stands for "the options above"
      }
      const text = `${m[0]} ${words.join(' ')}`.trim();
      if (m[4] !== undefined) {
        out.push({ where: file, text, bench: m[4], args: words });
      } else if (m[0] === 'convbert bench') {
        out.push({ where: file, text, bench: 'model', args: words });
      } else {
        // npm passes a script only what follows `--`; a flag before it would be npm's own.
        const script = npmScript(m[2] ?? m[3]);
        if (m[2] !== undefined && words.length > 0 && words[0] !== '--') throw new Error(`${file}: \`${text}\`: npm keeps flags before \`--\` for itself`);
        out.push({ where: file, text, bench: script.bench, args: [...script.flags, ...(words[0] === '--' ? words.slice(1) : words)] });
      }
    }
  }
  return out;
}

const DOCS = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const COMMANDS = DOCS.flatMap(docCommands);

test("every bench command in README.md and docs/*.md parses with its bench's option table", (t) => {
  for (const c of COMMANDS) {
    // bench/configs.ts and bench/args.ts are helpers (flops is lib/flops.ts now) the benches import; docs name them, nobody runs them.
    if (['flops', 'configs', 'args'].includes(c.bench)) {
      t.deepEqual(c.args, [], `${c.where}: \`${c.text}\`: bench/${c.bench}.ts is not a bench`);
      continue;
    }
    const spec = BENCHES[c.bench];
    t.truthy(spec, `${c.where}: \`${c.text}\` runs bench/${c.bench}.ts, which has no option table`);
    if (!spec) continue;
    t.notThrows(() => parseBenchArgs(spec, c.args), `${c.where}: \`${c.text}\``);
  }
  // The scan found the commands the docs are known to hold, so a broken scan cannot pass empty.
  t.true(COMMANDS.length >= 50, `found only ${COMMANDS.length} commands`);
  const texts = COMMANDS.map((c) => c.text);
  for (const want of [
    'npm run bench -- --configs base --cases 1x128,8x128,32x128 --iters 9 --no-save --dtype int8',
    'bench/accuracy.ts --dtypes bfloat16 --no-fixtures --no-save --modules-to-not-convert',
    'bench/serving.ts --driver loop --preset small --clients 16 --duration 15 --warmup 3 --max-concurrent-batches 1',
    'npm run bench:queue -- --queue-only --jobs 3000 --concurrency 64 --in-flight 512 --warmup 200',
    'bench/model.ts --shapes 1x128 --iters 150',
    'bench:gemm --rows 4096 --seconds 0.3',
    'convbert bench --shapes 1x128,8x128 --iters 20',
    'bench/tokenizer.ts --runs 5',
  ]) {
    t.true(
      texts.some((x) => x.startsWith(want)),
      `not found in the docs: ${want}`,
    );
  }
  const seen = new Set(COMMANDS.map((c) => c.bench));
  for (const b of ['accuracy', 'cuda', 'gemm', 'harness', 'load', 'model', 'queue', 'serving', 'tokenizer', 'vs_ort']) t.true(seen.has(b), `no command for bench/${b}.ts found`);
});

test('the scan reads multi-line and quoted commands whole', (t) => {
  const acc = COMMANDS.find((c) => c.text.startsWith('bench/accuracy.ts --dtypes bfloat16 --no-fixtures'));
  t.truthy(acc);
  // The quoted value after the `\` continuation is one argument of --modules-to-not-convert.
  const i = acc!.args.indexOf('--modules-to-not-convert');
  t.true(i >= 0);
  t.regex(acc!.args[i + 1], /^generator_predictions,generator_lm_head;attention\.self;.*encoder,generator_predictions$/);
  const a = parseBenchArgs(ACCURACY, acc!.args);
  t.true(a.flag('no-fixtures'));
  t.is(a.list('dtypes').join(), 'bfloat16');
  // npm run bench:load carries the script's own flags.
  const load = COMMANDS.find((c) => c.text === 'npm run bench:load');
  t.deepEqual(load?.args, ['--preset', 'base', '--connections', '16', '--duration', '60', '--warmup', '10', '--rounds', '3', '--settle', '5']);
});

test("every bench script of package.json parses with its bench's option table", (t) => {
  const names = Object.keys(SCRIPTS).filter((n) => n === 'bench' || n.startsWith('bench:'));
  t.true(names.length >= 10);
  for (const n of names) {
    const { bench, flags } = npmScript(n);
    t.truthy(BENCHES[bench], n);
    t.notThrows(() => parseBenchArgs(BENCHES[bench], flags), n);
    t.true(BENCHES[bench].npm.includes(n), `bench/args.ts: ${BENCHES[bench].script} does not list npm run ${n}`);
  }
  const soak = parseBenchArgs(SERVING, npmScript('bench:soak').flags);
  t.is(soak.num('soak', 0), 600);
  t.is(soak.num('rss-every', 0, { fallback: 0 }), 10);
  t.true(parseBenchArgs(HARNESS, npmScript('bench:quick').flags).flag('quick'));
});

/** The error a parse or a reader throws: a ConvBertError ERR_CONVBERT_ARG (or _LIMIT). */
function argError(t: import('ava').ExecutionContext, fn: () => unknown, code: ConvBertErrorCode = 'ERR_CONVBERT_ARG'): string {
  const e = t.throws(fn, { instanceOf: ConvBertError });
  t.is((e as ConvBertError | undefined)?.code, code);
  return e?.message ?? '';
}

test('a mistyped flag is an error that names it, for every bench', (t) => {
  for (const [name, spec] of Object.entries(BENCHES)) {
    for (const flag of Object.keys(spec.options)) {
      const typo = `--${flag}x`;
      const msg = argError(t, () => parseBenchArgs(spec, [typo, '1']));
      t.true(msg.includes(`unknown option ${typo}`), `${name}: ${msg}`);
      t.true(msg.includes(`did you mean --${flag}`), `${name}: ${msg}`);
    }
  }
  t.is(
    argError(t, () => parseBenchArgs(MODEL, ['--iter', '5'])),
    'bench/model.ts: unknown option --iter (did you mean --iters?); expected one of --shapes, --iters, --warmup, --threads, --seed, --config, --json',
  );
  // A flag of another bench is unknown here too.
  t.regex(
    argError(t, () => parseBenchArgs(MODEL, ['--rows', '128'])),
    /unknown option --rows;/,
  );
});

test('stray arguments, switches with values, options without values are errors that name them', (t) => {
  t.is(
    argError(t, () => parseBenchArgs(MODEL, ['1x128'])),
    'bench/model.ts: expected only --options, got the argument "1x128" (bench/model.ts --help lists them)',
  );
  t.regex(
    argError(t, () => parseBenchArgs(MODEL, ['--', '--iters', '2'])),
    /got the argument "--iters"/,
  );
  t.is(
    argError(t, () => parseBenchArgs(MODEL, ['--json=yes'])),
    '--json: expected no value (a switch), got "yes"',
  );
  t.is(
    argError(t, () => parseBenchArgs(MODEL, ['--iters'])),
    '--iters: expected a value, got none',
  );
  t.is(
    argError(t, () => parseBenchArgs(MODEL, ['--iters', '--json'])),
    '--iters: expected a value, got "--json", which looks like an option; write --iters=--json if it is the value',
  );
  // Both spellings of a value work.
  t.is(parseBenchArgs(MODEL, ['--iters=7']).int('iters', 1), 7);
  t.is(parseBenchArgs(MODEL, ['--iters', '7']).int('iters', 1), 7);
});

test('defaults come from the table; given() tells them from the command line', (t) => {
  const a = parseBenchArgs(MODEL, []);
  t.deepEqual(a.shapes('shapes'), [
    [1, 128],
    [8, 128],
  ]);
  t.is(a.int('iters', 1), 20);
  t.is(a.int('warmup', 0), 3);
  t.deepEqual(a.json('config'), {});
  t.false(a.given('iters'));
  t.false(a.given('threads'));
  t.is(a.int('threads', 1, { fallback: 4 }), 4);
  t.false(a.flag('json'));
  const b = parseBenchArgs(MODEL, ['--iters', '20', '--threads', '2', '--json']);
  t.true(b.given('iters'));
  t.is(b.int('threads', 1, { fallback: 4 }), 2);
  t.true(b.flag('json'));
  // Dependent defaults stay with the bench: --configs is not given, so the harness picks by --quick.
  t.false(parseBenchArgs(HARNESS, ['--quick']).given('configs'));
  // The load bench's child hand-off: JSON after --child, one table for parent and child.
  const job = JSON.stringify({ dir: '/tmp/x', cls: 'ConvBertModel', dtype: 'int8', warm: false, repeats: 2, shapes: [[8, 128]] });
  const c = parseBenchArgs(LOAD, ['--child', job]);
  t.true(c.given('child'));
  t.deepEqual(JSON.parse(c.str('child')), JSON.parse(job));
  t.false(parseBenchArgs(LOAD, []).given('child'));
  // serving's --clients is an alias the bench reads when given.
  t.true(parseBenchArgs(SERVING, ['--clients', '8']).given('clients'));
});

test('typed readers reject what Number() let through, and name the flag', (t) => {
  const m = (argv: string[]) => parseBenchArgs(MODEL, argv);
  t.is(
    argError(t, () => m(['--iters', 'x']).int('iters', 1)),
    '--iters: expected an integer >= 1, got "x"',
  );
  for (const bad of ['', '1e3', '0x10', '2.5', '0', '-3', '9007199254740993']) {
    t.regex(
      argError(t, () => m([`--iters=${bad}`]).int('iters', 1)),
      /^--iters: expected an integer >= 1, got /,
      bad,
    );
  }
  t.is(
    argError(t, () => m(['--warmup=99']).int('warmup', 0, { max: 10 })),
    '--warmup: expected an integer in [0, 10], got "99"',
  );
  t.is(
    argError(t, () => m(['--shapes', '1x128,8x']).shapes('shapes')),
    '--shapes: expected a comma-separated list of BxL like 1x128,8x128, got "1x128,8x"',
  );
  t.is(
    argError(t, () => m(['--shapes', '0x128']).shapes('shapes')),
    '--shapes: expected a comma-separated list of BxL like 1x128,8x128, got "0x128"',
  );
  t.is(
    argError(t, () => m(['--shapes', '100000x1000']).shapes('shapes'), 'ERR_CONVBERT_LIMIT'),
    `--shapes: expected at most ${MAX_BENCH_TOKENS} tokens a shape, got 100000x1000 (100000000)`,
  );
  t.regex(
    argError(t, () => m(['--config', '{not json']).json('config')),
    /^--config: expected a JSON object like '\{"num_hidden_layers": 2\}' \(.+\), got "\{not json"$/,
  );
  t.is(
    argError(t, () => m(['--config', '[1]']).json('config')),
    '--config: expected a JSON object like \'{"num_hidden_layers": 2}\', got "[1]"',
  );
  const s = (argv: string[]) => parseBenchArgs(SERVING, argv);
  t.is(
    argError(t, () => s(['--driver', 'wrk']).choice('driver', ['autocannon', 'loop'])),
    '--driver: expected one of autocannon, loop, got "wrk"',
  );
  t.is(
    argError(t, () => s(['--modes', 'on,of']).choices('modes', ['on', 'off', 'inproc'])),
    '--modes: expected a comma-separated list of on, off, inproc, got "on,of"',
  );
  t.is(
    argError(t, () => s(['--duration', '0']).num('duration', 0, { above: true })),
    '--duration: expected a number > 0, got "0"',
  );
  t.is(
    argError(t, () => s(['--warmup', 'ten']).num('warmup', 0)),
    '--warmup: expected a number >= 0, got "ten"',
  );
  t.is(s(['--max-wait-ms', '2.5']).num('max-wait-ms', 0), 2.5);
  const g = parseBenchArgs(GEMM, ['--rows', '128,x']);
  t.is(
    argError(t, () => g.ints('rows', 1)),
    '--rows: expected a comma-separated list of integers >= 1, got "128,x"',
  );
});

test('--help lists every option of a bench with its help and default', (t) => {
  for (const spec of Object.values(BENCHES) as BenchSpec[]) {
    const text = helpText(spec);
    t.true(text.startsWith(`${spec.script}: ${spec.summary}\n`));
    for (const [k, o] of Object.entries(spec.options)) {
      const line = text.split('\n').find((l) => l.startsWith(`  --${k} `) || l === `  --${k}`);
      t.truthy(line, `${spec.script}: --${k} missing from --help`);
      t.true(line!.includes(o.help), `${spec.script} --${k}`);
      if (o.type === 'string' && o.default) t.true(line!.includes(`(default ${o.default})`), `${spec.script} --${k}: ${line}`);
      if (o.defaultText) t.true(line!.includes(`(default ${o.defaultText})`), `${spec.script} --${k}: ${line}`);
    }
    t.regex(text, /--help, -h +print these options and exit/);
    t.true(parseBenchArgs(spec, ['--help']).help);
    t.true(parseBenchArgs(spec, ['-h']).help);
  }
  t.regex(helpText(MODEL), /\n {2}--iters N +timed runs per shape \(default 20\)\n/);
});

test('benchArgs prints --help and exits 0; a bad command line exits 2 naming the flag', (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const exits: number[] = [];
  const write = process.stdout.write;
  const ewrite = process.stderr.write;
  const exit = process.exit;
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
  process.exit = ((code: number) => {
    exits.push(code);
    throw new Error('exit');
  }) as typeof process.exit;
  try {
    t.throws(() => benchArgs(MODEL, ['--help']), { message: 'exit' });
    t.throws(() => benchArgs(MODEL, ['--iter', '2']), { message: 'exit' });
    t.is(benchArgs(MODEL, ['--iters', '2']).int('iters', 1), 2);
  } finally {
    process.stdout.write = write;
    process.stderr.write = ewrite;
    process.exit = exit;
  }
  t.deepEqual(exits, [0, 2]);
  t.is(out.join(''), helpText(MODEL));
  t.regex(err.join(''), /^bench\/model\.ts: unknown option --iter \(did you mean --iters\?\)/);
});

test('each bench reads its options only through its table, and reads every option in it', (t) => {
  for (const [name, spec] of Object.entries(BENCHES)) {
    const src = fs.readFileSync(path.join(ROOT, spec.script), 'utf8');
    t.is(spec.script, `bench/${name}.ts`);
    // No hand-written argv scanning left (echoing the command line back is fine).
    t.notRegex(src, /process\.argv\.(indexOf|includes)|process\.argv\[/, spec.script);
    t.regex(src, /benchArgs\(/, spec.script);
    for (const k of Object.keys(spec.options)) t.true(src.includes(`'${k}'`), `${spec.script} never reads --${k}`);
  }
});
