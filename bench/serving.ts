// serving.ts: load test of `convbert serve` (npm: node --import tsx bench/serving.ts).
// Builds a seeded random ConvBERT (text-classification head) in a temp folder with
// a synthetic WordPiece vocab ("w0".."wN", one token per word, so a text of n words
// is exactly n + 2 tokens), starts `convbert serve` in a child process on 127.0.0.1,
// and drives it with closed-loop HTTP clients (keep-alive) sending texts of mixed
// lengths. For each mode (batching on / off) it prints requests/s, latency p50/p90/p99,
// errors, mean batch size and the server's event-loop lag p99; then the same load
// in-process (pipeline + batching, no HTTP) as the ceiling. Options:
//   --preset base|small (default base: ConvBERT-base shapes)  --clients 16  --duration 20 (s)
//   --warmup 3 (s)  --min-len 8 --max-len 256 (tokens)  --modes on,off,inproc
//   --max-batch-size 16  --max-wait-ms 5  --max-concurrent-batches 2  --threads N  --json
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';

import { ConvBertForSequenceClassification } from '../lib/models';
import { loadTask } from '../lib/server/tasks';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const PRESETS: Record<string, Record<string, number>> = {
  base: { hidden_size: 768, embedding_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512 },
  small: { hidden_size: 256, embedding_size: 128, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024, max_position_embeddings: 512 },
};

const VOCAB_WORDS = 8000;

export interface ModeResult {
  mode: string;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  meanBatch: number | null;
  lagP99Ms: number | null;
  /** Server resident memory at the end of the warmup and at the end of the run, MB. */
  rssStartMb: number | null;
  rssEndMb: number | null;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Deterministic texts: lengths spread evenly over [minLen, maxLen] tokens (incl. [CLS]/[SEP]). */
function makeTexts(n: number, minLen: number, maxLen: number): string[] {
  const out: string[] = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    const tokens = minLen + Math.floor(((i * 7919) % n) * ((maxLen - minLen + 1) / n));
    const words: string[] = [];
    for (let k = 0; k < tokens - 2; k++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      words.push(`w${x % VOCAB_WORDS}`);
    }
    out.push(words.join(' '));
  }
  return out;
}

async function buildModel(preset: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bench-serving-'));
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: VOCAB_WORDS }, (_, i) => `w${i}`)];
  const m = ConvBertForSequenceClassification.fromConfig({ vocab_size: vocab.length, num_labels: 2, ...PRESETS[preset] }, { seed: 0 });
  await m.savePretrained(dir);
  m.dispose();
  fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 512 }));
  return dir;
}

function startServer(dir: string, batching: boolean, extra: string[]): Promise<{ child: ChildProcess; port: number }> {
  const cli = path.join(__dirname, '..', 'lib', 'cli.ts');
  const args = ['--import', 'tsx', cli, 'serve', '--model', dir, '--task', 'text-classification', '--port', '0', '--max-inputs', '64', ...extra];
  if (!batching) args.push('--no-batching');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
}

function postJson(agent: http.Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/text-classification', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function getText(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => (s += c.toString()));
      res.on('end', () => resolve(s));
    }).on('error', reject);
  });
}

function metric(text: string, re: RegExp): number | null {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

/** Closed loop: `clients` workers each send one request after the other until the time is up. */
async function drive(send: (text: string) => Promise<boolean>, texts: string[], clients: number, warmupS: number, durationS: number): Promise<{ lat: number[]; errors: number; seconds: number }> {
  const lat: number[] = [];
  let errors = 0;
  const tStart = performance.now();
  const tMeasure = tStart + warmupS * 1000;
  const tEnd = tMeasure + durationS * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < tEnd) {
        const text = texts[next++ % texts.length];
        const t0 = performance.now();
        let ok = false;
        try {
          ok = await send(text);
        } catch {
          ok = false;
        }
        const t1 = performance.now();
        if (t0 >= tMeasure && t1 <= tEnd) {
          if (ok) lat.push(t1 - t0);
          else errors++;
        }
      }
    }),
  );
  return { lat: lat.sort((a, b) => a - b), errors, seconds: durationS };
}

function summarize(mode: string, r: { lat: number[]; errors: number; seconds: number }, meanBatch: number | null, lagP99Ms: number | null, rss: [number | null, number | null] = [null, null]): ModeResult {
  return {
    mode,
    requests: r.lat.length,
    errors: r.errors,
    seconds: r.seconds,
    rps: r.lat.length / r.seconds,
    p50: quantile(r.lat, 0.5),
    p90: quantile(r.lat, 0.9),
    p99: quantile(r.lat, 0.99),
    meanBatch,
    lagP99Ms,
    rssStartMb: rss[0] === null ? null : rss[0] / 1e6,
    rssEndMb: rss[1] === null ? null : rss[1] / 1e6,
  };
}

async function main(): Promise<void> {
  const preset = arg('preset', 'base');
  if (!PRESETS[preset]) throw new Error(`--preset: expected ${Object.keys(PRESETS).join(' or ')}, got ${preset}`);
  const clients = Number(arg('clients', '16'));
  const durationS = Number(arg('duration', '20'));
  const warmupS = Number(arg('warmup', '3'));
  const minLen = Number(arg('min-len', '8'));
  const maxLen = Number(arg('max-len', '256'));
  const modes = arg('modes', 'on,off,inproc').split(',');
  const batchArgs = ['--max-batch-size', arg('max-batch-size', '16'), '--max-wait-ms', arg('max-wait-ms', '5'), '--max-concurrent-batches', arg('max-concurrent-batches', '2')];
  const threads = arg('threads', '');
  if (threads) process.env.CONVBERT_NUM_THREADS = threads;
  const texts = makeTexts(256, minLen, maxLen);
  const dir = await buildModel(preset);
  const results: ModeResult[] = [];
  try {
    for (const mode of modes) {
      if (mode === 'inproc') {
        const h = await loadTask('text-classification', dir, { batching: { maxBatchSize: Number(batchArgs[1]), maxWaitMs: Number(batchArgs[3]), maxConcurrentBatches: Number(batchArgs[5]) } });
        const r = await drive(async (text) => (await h.run(text, {}, {}), true), texts, clients, warmupS, durationS);
        const s = h.stats()!;
        const rows = Object.entries(s.batchSizeHistogram).reduce((a, [n, c]) => a + Number(n) * c, 0);
        results.push(summarize('in-process, batching', r, rows / Math.max(1, s.batches), null));
        await h.dispose();
        continue;
      }
      const on = mode === 'on';
      const { child, port } = await startServer(dir, on, on ? batchArgs : []);
      const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
      try {
        let rssStart: number | null = null;
        const rssTimer = setTimeout(() => void getText(port, '/metrics').then((t) => (rssStart = metric(t, /^process_resident_memory_bytes (\S+)$/m))), warmupS * 1000);
        const r = await drive(async (text) => (await postJson(agent, port, JSON.stringify({ inputs: text }))) === 200, texts, clients, warmupS, durationS);
        clearTimeout(rssTimer);
        const m = await getText(port, '/metrics');
        const rssEnd = metric(m, /^process_resident_memory_bytes (\S+)$/m);
        const count = metric(m, /^convbert_batch_size_count (\S+)$/m);
        const sum = metric(m, /^convbert_batch_size_sum (\S+)$/m);
        const lag = metric(m, /^convbert_event_loop_lag_seconds\{quantile="0.99"\} (\S+)$/m);
        results.push(summarize(on ? 'HTTP, batching' : 'HTTP, no batching', r, count && sum !== null ? sum / count : null, lag === null ? null : lag * 1000, [rssStart, rssEnd]));
      } finally {
        agent.destroy();
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const cmd = `node --import tsx bench/serving.ts ${process.argv.slice(2).join(' ')}`.trim();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ preset, clients, durationS, minLen, maxLen, cpus: os.cpus().length, command: cmd, results }, null, 2));
    return;
  }
  console.log(`${cmd}\npreset ${preset}, ${clients} clients, ${durationS} s (+${warmupS} s warmup), lengths ${minLen}-${maxLen} tokens, ${os.cpus().length} CPUs`);
  console.log('mode                    req/s   p50 ms   p90 ms   p99 ms  errors  mean batch  loop lag p99 ms  server RSS MB (start -> end)');
  for (const r of results) {
    console.log(
      `${r.mode.padEnd(22)} ${r.rps.toFixed(1).padStart(6)} ${r.p50.toFixed(1).padStart(8)} ${r.p90.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.errors).padStart(7)} ${(r.meanBatch === null ? '-' : r.meanBatch.toFixed(2)).padStart(11)} ${(r.lagP99Ms === null ? '-' : r.lagP99Ms.toFixed(1)).padStart(16)}  ${r.rssStartMb === null || r.rssEndMb === null ? '-' : `${r.rssStartMb.toFixed(0)} -> ${r.rssEndMb.toFixed(0)}`}`,
    );
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
