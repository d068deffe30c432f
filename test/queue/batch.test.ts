// `convbert batch` with an in-process worker on a private redis-server: .txt lines are
// texts and .jsonl lines bodies or inputs (--params fills in parameters), bad JSON is
// an error line, not a dropped one; a re-run resumes after the complete lines already
// written (a partial last line is cut) and refuses an output from another input; the
// progress is a redrawn bar on a TTY and plain lines otherwise; usage errors exit 2.
// Results are compared with the handler called in-process (deepEqual: same process,
// same float32 code, and a row's result does not depend on its batch partners).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';

import test from 'ava';

import { main } from '../../lib/cli';
import { progressLine, runBatch } from '../../lib/queue/batch';
import { InferenceWorker } from '../../lib/queue/worker';
import { loadTask, type TaskHandler } from '../../lib/server/tasks';
import { startRedis, type RedisServer } from '../helpers/redis';
import { makeTinyModel } from '../server/tiny_model';

let redis: RedisServer;
let dir = '';
let tmp = '';
let handler: TaskHandler;
let worker: InferenceWorker;

test.before(async () => {
  redis = await startRedis();
  dir = await makeTinyModel('masked_lm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-batch-'));
  handler = await loadTask('fill-mask', dir);
  worker = new InferenceWorker(handler, 'batch', { connection: redis.url, concurrency: 8 });
  await worker.start();
});

test.after.always(async () => {
  if (worker) await worker.close();
  if (redis) await redis.stop();
  for (const d of [dir, tmp]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

function sink(isTTY = false): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      text += c.toString();
      cb();
    },
  });
  (stream as unknown as { isTTY: boolean }).isTTY = isTTY;
  return { stream, text: () => text };
}

function readOut(file: string): { line: number; result?: unknown; error?: { code: string; message: string } }[] {
  return fs
    .readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; result?: unknown; error?: { code: string; message: string } });
}

const texts = Array.from({ length: 30 }, (_, i) => `the [MASK] number ${i} sat on the mat`);

async function want(inputs: string[], parameters: Record<string, unknown> = {}): Promise<unknown[]> {
  return Promise.all(inputs.map((s) => handler.run(s, parameters, {})));
}

test.serial('.txt: one job per non-empty line, results in input order with their line numbers', async (t) => {
  const input = path.join(tmp, 'a.txt');
  const output = path.join(tmp, 'a.jsonl');
  // A blank line and CRLF endings: blank lines are not records, line numbers still count them.
  fs.writeFileSync(input, texts.slice(0, 3).join('\r\n') + '\r\n\r\n' + texts.slice(3, 10).join('\n') + '\n');
  const err = sink();
  const code = await main(['batch', '--queue', 'batch', '--task', 'fill-mask', '--input', input, '--output', output, '--redis', redis.url, '--params', '{"top_k": 2}'], {
    err: err.stream,
  });
  t.is(code, 0, err.text());
  const out = readOut(output);
  t.deepEqual(
    out.map((l) => l.line),
    [1, 2, 3, 5, 6, 7, 8, 9, 10, 11],
  );
  t.deepEqual(
    out.map((l) => l.result),
    await want(texts.slice(0, 10), { top_k: 2 }),
  );
  t.regex(err.text(), /convbert batch: 10 records, 0 already in .*, 10 run now \(10 ok, 0 failed\)/);
});

test.serial('.jsonl: bodies, bare inputs and bad lines; failures are output lines with their code, and the exit status is 1', async (t) => {
  const input = path.join(tmp, 'b.jsonl');
  const output = path.join(tmp, 'b.out.jsonl');
  fs.writeFileSync(
    input,
    [
      JSON.stringify({ inputs: texts[0], parameters: { top_k: 1 } }),
      JSON.stringify(texts[1]),
      '{"inputs": "unterminated',
      JSON.stringify({ inputs: 'no mask token here' }),
      JSON.stringify({ inputs: [texts[2], texts[3]] }),
    ].join('\n'),
  );
  const err = sink();
  const code = await main(['batch', '--queue', 'batch', '--task', 'fill-mask', '--input', input, '--output', output, '--redis', redis.url], { err: err.stream });
  t.is(code, 1, err.text());
  const out = readOut(output);
  t.deepEqual(
    out.map((l) => l.line),
    [1, 2, 3, 4, 5],
  );
  t.deepEqual(out[0].result, await handler.run(texts[0], { top_k: 1 }, {}));
  t.deepEqual(out[1].result, await handler.run(texts[1], {}, {}));
  t.is(out[2].error?.code, 'ERR_CONVBERT_BAD_JSON');
  t.regex(out[2].error!.message, /not valid JSON/);
  t.is(out[3].error?.code, 'ERR_CONVBERT_ARG');
  t.regex(out[3].error!.message, /mask/);
  t.deepEqual(out[4].result, await handler.run([texts[2], texts[3]], {}, {}));
  t.regex(err.text(), /\(3 ok, 2 failed\) .*; the failures are in the output with their error/);
});

test.serial('a re-run resumes after the lines already written, cutting a partial last line', async (t) => {
  const input = path.join(tmp, 'c.txt');
  const output = path.join(tmp, 'c.jsonl');
  fs.writeFileSync(input, texts.join('\n') + '\n');
  const first = await runBatch({ queue: 'batch', task: 'fill-mask', input, output, connection: redis.url, progress: sink().stream });
  t.like(first, { total: 30, skipped: 0, completed: 30, failed: 0 });
  const full = fs.readFileSync(output, 'utf8');
  // As if killed while writing line 11: ten complete lines and part of the next.
  const kept = full.split('\n').slice(0, 10).join('\n') + '\n';
  fs.writeFileSync(output, kept + full.split('\n')[10].slice(0, 17));
  const jobsBefore = worker.metrics.completed;
  const second = await runBatch({ queue: 'batch', task: 'fill-mask', input, output, connection: redis.url, progress: sink().stream });
  t.like(second, { total: 30, skipped: 10, completed: 20, failed: 0 });
  t.is(worker.metrics.completed - jobsBefore, 20, 'only the missing lines ran');
  t.deepEqual(readOut(output), JSON.parse(`[${full.trimEnd().split('\n').join(',')}]`));
  // Complete already: nothing runs.
  const third = await runBatch({ queue: 'batch', task: 'fill-mask', input, output, connection: redis.url, progress: sink().stream });
  t.like(third, { skipped: 30, completed: 0 });
  // An output that belongs to another input is refused, not appended to.
  const other = path.join(tmp, 'other.txt');
  fs.writeFileSync(other, '\n' + texts.slice(0, 5).join('\n') + '\n');
  const mixed = path.join(tmp, 'mixed.jsonl');
  fs.writeFileSync(mixed, kept.split('\n').slice(0, 3).join('\n') + '\n');
  await t.throwsAsync(runBatch({ queue: 'batch', task: 'fill-mask', input: other, output: mixed, connection: redis.url, progress: sink().stream }), {
    code: 'ERR_CONVBERT_ARG',
    message: /--output: its last result is for input line 3, but record 3 of .* is on line 4/,
  });
  await t.throwsAsync(runBatch({ queue: 'batch', task: 'fill-mask', input: other, output, connection: redis.url, progress: sink().stream }), {
    code: 'ERR_CONVBERT_ARG',
    message: /already has 30 result lines but .* has only 5 records/,
  });
});

test.serial('progress: a redrawn bar with rate and ETA on a TTY, plain lines otherwise', async (t) => {
  t.is(progressLine(50, 200, 25, false), '50/200 25.0% 25.0 jobs/s ETA 0:06');
  t.is(progressLine(200, 200, 25, true), `[${'#'.repeat(30)}] 200/200 100.0% 25.0 jobs/s ETA 0:00`);
  t.is(progressLine(0, 10, 0, false), '0/10 0.0% 0.0 jobs/s ETA ?');
  const input = path.join(tmp, 'd.txt');
  fs.writeFileSync(input, texts.slice(0, 5).join('\n'));
  const tty = sink(true);
  await runBatch({ queue: 'batch', task: 'fill-mask', input, output: path.join(tmp, 'd1.jsonl'), connection: redis.url, progress: tty.stream });
  t.regex(tty.text(), /\r\[#{30}\] 5\/5 100\.0% \d+\.\d jobs\/s ETA 0:00\n$/);
  const plain = sink(false);
  await runBatch({ queue: 'batch', task: 'fill-mask', input, output: path.join(tmp, 'd2.jsonl'), connection: redis.url, progress: plain.stream });
  t.regex(plain.text(), /^convbert batch: 5\/5 100\.0% \d+\.\d jobs\/s ETA 0:00\n$/m);
  t.false(plain.text().includes('\r'));
});

test.serial('a line over --max-line-bytes is an error line (not read into memory); FIFOs are refused, not waited on', async (t) => {
  const input = path.join(tmp, 'long.txt');
  const output = path.join(tmp, 'long.jsonl');
  fs.writeFileSync(input, `${texts[0]}\n${'x'.repeat(5000)}\n${texts[1]}`);
  const err = sink();
  const code = await main(['batch', '--queue', 'batch', '--task', 'fill-mask', '--input', input, '--output', output, '--redis', redis.url, '--max-line-bytes', '1000'], {
    err: err.stream,
  });
  t.is(code, 1, err.text());
  const out = readOut(output);
  t.deepEqual(
    out.map((l) => l.line),
    [1, 2, 3],
  );
  t.deepEqual(out[0].result, await handler.run(texts[0], {}, {}));
  t.deepEqual(out[1].error, { code: 'ERR_CONVBERT_TOO_LARGE', message: 'the line has 5000 bytes, more than the limit of 1000 (--max-line-bytes)' });
  t.deepEqual(out[2].result, await handler.run(texts[1], {}, {}));
  const fifo = path.join(tmp, 'fifo.txt');
  const mk = spawnSync('mkfifo', [fifo]);
  t.is(mk.status, 0, String(mk.stderr));
  await t.throwsAsync(runBatch({ queue: 'batch', task: 'fill-mask', input: fifo, output: path.join(tmp, 'f.jsonl'), connection: redis.url, progress: sink().stream }), {
    code: 'ERR_CONVBERT_IO',
    message: /--input: .*expected a regular file, got a FIFO/,
  });
  await t.throwsAsync(runBatch({ queue: 'batch', task: 'fill-mask', input, output: path.join(tmp, 'fifo.txt'), connection: redis.url, progress: sink().stream }), {
    code: 'ERR_CONVBERT_IO',
    message: /--output: .*expected a regular file, got a FIFO/,
  });
  await t.throwsAsync(runBatch({ queue: 'batch', task: 'fill-mask', input, output: tmp, connection: redis.url, progress: sink().stream }), {
    code: 'ERR_CONVBERT_IO',
    message: /--output: .*got a directory/,
  });
});

test('usage and argument errors', async (t) => {
  const run = async (args: string[]): Promise<{ code: number; err: string }> => {
    const err = sink();
    const code = await main(['batch', ...args], { err: err.stream });
    return { code, err: err.text() };
  };
  const base = ['--queue', 'batch', '--task', 'fill-mask', '--redis', redis.url];
  t.like(await run(['--task', 'fill-mask', '--input', 'x.txt', '--output', 'y.jsonl']), { code: 2 });
  t.regex((await run(['--task', 'fill-mask', '--input', 'x.txt', '--output', 'y.jsonl'])).err, /--queue NAME is required/);
  t.regex((await run([...base, '--input', 'x.txt', '--output', 'y.jsonl', '--bogus', '1'])).err, /unknown option --bogus/);
  const csv = path.join(tmp, 'x.csv');
  fs.writeFileSync(csv, 'a\n');
  const r = await run([...base, '--input', csv, '--output', path.join(tmp, 'x.jsonl')]);
  t.is(r.code, 1);
  t.regex(r.err, /--input: expected a \.txt .* or \.jsonl file .*got "x\.csv" \[ERR_CONVBERT_ARG\]/);
  const missing = await run([...base, '--input', path.join(tmp, 'nope.txt'), '--output', path.join(tmp, 'x.jsonl')]);
  t.regex(missing.err, /--input: no such file .* \[ERR_CONVBERT_IO\]/);
  const same = path.join(tmp, 's.jsonl');
  fs.writeFileSync(same, '"x"\n');
  t.regex((await run([...base, '--input', same, '--output', same])).err, /--output: must differ from --input/);
  t.regex((await run([...base, '--input', same, '--output', path.join(tmp, 's2.jsonl'), '--params', '[1]'])).err, /--params: expected a JSON object/);
  t.regex((await run([...base, '--input', same, '--output', path.join(tmp, 's2.jsonl'), '--max-in-flight', '0'])).err, /--max-in-flight: expected an integer >= 1/);
  t.regex(
    (await run(['--queue', 'batch', '--task', 'fill-mask', '--redis', 'http://x', '--input', same, '--output', path.join(tmp, 's3.jsonl')])).err,
    /--redis: expected a redis:\/\/ or rediss:\/\/ URL/,
  );
  // convbert worker: the same checks before any model loads.
  const w = async (args: string[]): Promise<{ code: number; err: string }> => {
    const err = sink();
    const code = await main(['worker', ...args], { err: err.stream });
    return { code, err: err.text() };
  };
  t.like(await w(['--model', dir, '--task', 'fill-mask']), { code: 2, err: 'convbert worker: --queue NAME is required\n' });
  // A model path that does not exist: these fail on the flag, before any model loads.
  const none = path.join(tmp, 'no-model');
  t.like(await w(['--model', none, '--task', 'fill-mask', '--queue', 'q', '--concurrency', '0']), { code: 2 });
  t.regex((await w(['--model', none, '--task', 'fill-mask', '--queue', 'a:b'])).err, /--queue: a queue name cannot contain ':', got "a:b" \[ERR_CONVBERT_ARG\]/);
  t.regex((await w(['--model', none, '--task', 'fill-mask', '--queue', 'q', '--lock-duration-ms', 'x'])).err, /--lock-duration-ms: expected an integer >= 1, got "x"/);
  const bad = await w(['--model', none, '--task', 'fill-mask', '--queue', 'q', '--redis', 'redis://h:99999']);
  t.is(bad.code, 1);
  t.regex(bad.err, /--redis: expected a Redis URL .* \[ERR_CONVBERT_ARG\]/, 'the URL is checked before the model loads');
});
