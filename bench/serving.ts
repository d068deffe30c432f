// serving.ts: load test of `convbert serve` (npm run bench:load / bench:soak / bench:serving).
// Builds a seeded random ConvBERT (text-classification head) in a temp folder with a
// synthetic WordPiece vocab ("w0".."wN", one token per word, so a text of n words is
// exactly n + 2 tokens), starts `convbert serve` in a child process on 127.0.0.1 and
// drives it closed-loop (keep-alive) with texts whose lengths are spread over
// --min-len..--max-len tokens (seeded). Driver autocannon (default): every connection
// cycles the same request set from its own offset; a warm-up run, then the measured
// run. The server's event-loop delay and RSS for the measured window come from two
// /metrics scrapes (the delay histogram's difference). Mode inproc runs the same texts
// and concurrency through loadTask (pipeline + batching, no HTTP) in this process: the
// ceiling that HTTP is compared with. --soak S: one HTTP run of S seconds sampling the
// server's RSS every --rss-every s, pass/fail on the growth of the RSS floor (first vs
// last minute). Before its warm-up an HTTP run sends the longest text in full batches
// (max batch size x concurrent batches at once, twice), so the engine's reused
// workspaces reach their largest size first: their growth is bounded, not a leak.
// Options (bench/args.ts, or --help):
//   --preset base|small|tiny (default base: ConvBERT-base shapes)  --driver autocannon|loop
//   --connections 16 (alias --clients)  --duration 60 (s)  --warmup 10 (s)  --min-len 8 --max-len 256
//   --modes on,inproc (loop default: on,off,inproc)  --max-batch-size 16  --max-wait-ms 5
//   --max-concurrent-batches 2  --threads N  --soak S  --rss-every 10  --rss-bound-mb 50  --json
//   --rounds R (alternate HTTP and in-process R times, --duration s per mode in all)  --settle 5 (s)
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';

import autocannon from 'autocannon';

import { ConvBertError } from '../lib/errors';
import { ConvBertForSequenceClassification } from '../lib/models';
import { LAG_BUCKETS } from '../lib/server/metrics';
import { loadTask } from '../lib/server/tasks';
import { benchArgs, benchFailed, SERVING } from './args';

export const PRESETS: Record<string, Record<string, number>> = {
  base: { hidden_size: 768, embedding_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512 },
  small: { hidden_size: 256, embedding_size: 128, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024, max_position_embeddings: 512 },
  tiny: { hidden_size: 32, embedding_size: 16, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 512 },
};

const VOCAB_WORDS = 8000;
/** The longest text, in tokens: every preset's max_position_embeddings. */
const MAX_TEXT_TOKENS = 512;
const TASK = 'text-classification';

/** A text and its exact token count ([CLS] and [SEP] included). */
export interface Text {
  text: string;
  tokens: number;
}

/** Deterministic texts: lengths spread evenly over [minLen, maxLen] tokens (incl. [CLS]/[SEP]), in a seeded order. */
export function makeTexts(n: number, minLen: number, maxLen: number): Text[] {
  const out: Text[] = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    const tokens = minLen + Math.floor(((i * 7919) % n) * ((maxLen - minLen + 1) / n));
    const words: string[] = [];
    for (let k = 0; k < tokens - 2; k++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      words.push(`w${x % VOCAB_WORDS}`);
    }
    out.push({ text: words.join(' '), tokens });
  }
  return out;
}

/** Saves the seeded model, vocab and tokenizer config in a new temp folder; remove it when done. */
export async function buildModel(preset: string): Promise<string> {
  if (!PRESETS[preset]) throw new ConvBertError(`--preset: expected one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(preset)}`, 'ERR_CONVBERT_ARG');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-bench-serving-'));
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: VOCAB_WORDS }, (_, i) => `w${i}`)];
  const m = ConvBertForSequenceClassification.fromConfig({ vocab_size: vocab.length, num_labels: 2, ...PRESETS[preset] }, { seed: 0 });
  await m.savePretrained(dir);
  m.dispose();
  fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 512 }));
  return dir;
}

/** `convbert serve` in a child process on a free port; resolves once it listens. */
function startServer(dir: string, batching: boolean, extra: string[]): Promise<{ child: ChildProcess; port: number }> {
  const cli = path.join(__dirname, '..', 'lib', 'cli.ts');
  const args = ['--import', 'tsx', cli, 'serve', '--model', dir, '--task', TASK, '--port', '0', '--max-inputs', '64', ...extra];
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
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: `/v1/${TASK}`, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function getText(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s));
      })
      .on('error', reject);
  });
}

function metric(text: string, re: RegExp): number | null {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

/** What one /metrics scrape says about the server's process and event loop. */
export interface Scrape {
  /** Seconds since the bench started (performance.now). */
  t: number;
  rssBytes: number;
  /** Cumulative event-loop delay bucket counts (LAG_BUCKETS, then +Inf). */
  lagBuckets: number[];
  /** Answered /v1 requests with a status other than 200, so far. */
  serverNon200: number;
}

export async function scrape(port: number): Promise<Scrape> {
  const text = await getText(port, '/metrics');
  const rss = metric(text, /^process_resident_memory_bytes (\S+)$/m);
  const lagBuckets = [...LAG_BUCKETS.map(String), '+Inf'].map((le) =>
    metric(text, new RegExp(`^convbert_event_loop_delay_seconds_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\S+)$`, 'm')),
  );
  if (rss === null || lagBuckets.some((v) => v === null)) throw new Error(`/metrics lacks the RSS or the event-loop delay histogram:\n${text}`);
  let non200 = 0;
  for (const m of text.matchAll(/^convbert_http_requests_total\{route="\/v1\/[^"]*",status="(\d+)"\} (\d+)$/gm)) if (m[1] !== '200') non200 += Number(m[2]);
  return { t: performance.now() / 1000, rssBytes: rss, lagBuckets: lagBuckets as number[], serverNon200: non200 };
}

/** Event-loop delay between two scrapes: p99 interpolated inside its bucket (as Prometheus' histogram_quantile), and the share of samples <= 20 ms. */
export function lagWindow(a: Scrape, b: Scrape): { samples: number; p99Ms: number; shareUnder20ms: number; maxBucketMs: number } {
  const d = b.lagBuckets.map((v, i) => v - a.lagBuckets[i]);
  const total = d[d.length - 1];
  if (total <= 0) return { samples: 0, p99Ms: NaN, shareUnder20ms: NaN, maxBucketMs: NaN };
  const rank = 0.99 * total;
  let p99Ms = Infinity;
  for (let i = 0; i < LAG_BUCKETS.length; i++) {
    if (d[i] >= rank) {
      const lo = i === 0 ? 0 : LAG_BUCKETS[i - 1];
      const below = i === 0 ? 0 : d[i - 1];
      p99Ms = 1000 * (lo + ((LAG_BUCKETS[i] - lo) * (rank - below)) / Math.max(1, d[i] - below));
      break;
    }
  }
  const i20 = LAG_BUCKETS.indexOf(0.02);
  // The smallest bucket bound that holds every sample of the window.
  const iMax = d.findIndex((v) => v === total);
  return { samples: total, p99Ms, shareUnder20ms: d[i20] / total, maxBucketMs: iMax < 0 || iMax >= LAG_BUCKETS.length ? Infinity : LAG_BUCKETS[iMax] * 1000 };
}

export interface LoadResult {
  mode: string;
  driver: string;
  connections: number;
  seconds: number;
  /** 2xx answers in the window. */
  requests: number;
  rps: number;
  tokensPerS: number;
  p50: number;
  p90: number;
  p99: number;
  /** Non-2xx answers, connection errors (timeouts included) and timeouts, as the driver counts them. */
  non2xx: number;
  errors: number;
  timeouts: number;
  meanBatch: number | null;
  /** Server event-loop delay over the measured window. */
  lagP99Ms: number | null;
  lagShareUnder20ms: number | null;
  lagSamples: number | null;
  /** Server RSS at the window's start and end, MB, and every --rss-every seconds in between. */
  rssStartMb: number | null;
  rssEndMb: number | null;
  rssSamples: { t: number; mb: number }[];
}

/** Counts of one driver run over the measured window. */
interface WindowCounts {
  lat: number[];
  tokens: number;
  seconds: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One autocannon run that keeps the load on through warm-up, window and the scrapes
 * around it: each connection cycles `texts` from its own offset. Requests answered
 * inside the window give throughput, tokens (200s only) and latency; `whole` is
 * autocannon's own count of non-2xx, errors and timeouts over the entire run.
 */
export async function runAutocannon(
  port: number,
  texts: Text[],
  o: { connections: number; warmupS: number; durationS: number; onOpen?: () => Promise<void>; onClose?: () => Promise<void> },
): Promise<{ window: WindowCounts; whole: { non2xx: number; errors: number; timeouts: number; requests: number } }> {
  let open = false;
  const w: WindowCounts = { lat: [], tokens: 0, seconds: 0, non2xx: 0, errors: 0, timeouts: 0 };
  const requestsFor = (offset: number): autocannon.Request[] =>
    texts.map((_, k) => {
      const t = texts[(offset + k) % texts.length];
      return {
        method: 'POST',
        path: `/v1/${TASK}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: t.text }),
        onResponse: (status: number) => void (open && status === 200 && (w.tokens += t.tokens)),
      };
    });
  let client = 0;
  let finished: (e: Error | null, r: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => (finished = (e, r) => (e ? reject(e) : resolve(r))));
  const inst = autocannon(
    {
      url: `http://127.0.0.1:${port}`,
      connections: o.connections,
      // Stopped below once the window closes; this only bounds a run whose caller failed.
      duration: o.warmupS + o.durationS + 60,
      // The server's own deadline is 30 s (503 past it); wait a little longer so that answer is seen.
      timeout: 40,
      requests: requestsFor(0),
      setupClient: (c) => c.setRequests(requestsFor(Math.floor((client++ * texts.length) / o.connections))),
    },
    (e, r) => finished(e, r),
  );
  inst.on('response', (_c, status, _bytes, ms) => {
    if (!open) return;
    if (status >= 200 && status < 300) w.lat.push(ms);
    else w.non2xx++;
  });
  inst.on('reqError', (e: Error) => {
    if (!open) return;
    w.errors++;
    if (/timed out/.test(e.message)) w.timeouts++;
  });
  let result: autocannon.Result;
  try {
    await sleep(o.warmupS * 1000);
    await o.onOpen?.();
    open = true;
    const t0 = performance.now();
    await sleep(o.durationS * 1000);
    open = false;
    w.seconds = (performance.now() - t0) / 1000;
    await o.onClose?.();
  } finally {
    inst.stop();
    result = await done;
  }
  w.lat.sort((a, b) => a - b);
  return { window: w, whole: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, requests: result.requests.total } };
}

/** Closed loop without autocannon: `clients` workers each send one request after the other until the time is up. */
async function drive(
  send: (text: string) => Promise<boolean>,
  texts: Text[],
  clients: number,
  warmupS: number,
  durationS: number,
): Promise<{ lat: number[]; errors: number; tokens: number; seconds: number }> {
  const lat: number[] = [];
  let errors = 0;
  let tokens = 0;
  const tStart = performance.now();
  const tMeasure = tStart + warmupS * 1000;
  const tEnd = tMeasure + durationS * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < tEnd) {
        const t = texts[next++ % texts.length];
        const t0 = performance.now();
        let ok = false;
        try {
          ok = await send(t.text);
        } catch {
          ok = false;
        }
        const t1 = performance.now();
        // Counted when answered inside the window, as the autocannon driver does.
        if (t1 >= tMeasure && t1 <= tEnd) {
          if (ok) {
            lat.push(t1 - t0);
            tokens += t.tokens;
          } else errors++;
        }
      }
    }),
  );
  return { lat: lat.sort((a, b) => a - b), errors, tokens, seconds: durationS };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Throughput and latency quantiles of one measured window (lat sorted, in ms). */
function windowStats(w: { lat: number[]; tokens: number; seconds: number }): Pick<LoadResult, 'seconds' | 'requests' | 'rps' | 'tokensPerS' | 'p50' | 'p90' | 'p99'> {
  return {
    seconds: w.seconds,
    requests: w.lat.length,
    rps: w.lat.length / w.seconds,
    tokensPerS: w.tokens / w.seconds,
    p50: quantile(w.lat, 0.5),
    p90: quantile(w.lat, 0.9),
    p99: quantile(w.lat, 0.99),
  };
}

function loopResult(mode: string, connections: number, r: { lat: number[]; errors: number; tokens: number; seconds: number }, meanBatch: number | null): LoadResult {
  return {
    mode,
    driver: 'loop',
    connections,
    ...windowStats(r),
    non2xx: 0,
    errors: r.errors,
    timeouts: 0,
    meanBatch,
    lagP99Ms: null,
    lagShareUnder20ms: null,
    lagSamples: null,
    rssStartMb: null,
    rssEndMb: null,
    rssSamples: [],
  };
}

export interface HttpLoadOptions {
  connections: number;
  warmupS: number;
  durationS: number;
  /** RSS sampling period during the measured run, seconds (0: start and end only). */
  rssEveryS: number;
  driver: 'autocannon' | 'loop';
  /**
   * Before the warm-up, send this many copies of the longest text at once, twice (0: none):
   * max batch size x concurrent batches fills every concurrent batch with the longest rows,
   * so the engine's reused workspaces reach their largest size before any window opens and
   * their growth is not read as a leak.
   */
  primeRows?: number;
}

async function primeLargestBatches(port: number, texts: Text[], n: number): Promise<void> {
  const longest = texts.reduce((a, b) => (b.tokens > a.tokens ? b : a));
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  try {
    for (let k = 0; k < 2; k++) {
      const codes = await Promise.all(Array.from({ length: n }, () => postJson(agent, port, JSON.stringify({ inputs: longest.text }))));
      const bad = codes.filter((c) => c !== 200);
      if (bad.length > 0) throw new Error(`priming: ${bad.length} of ${n} requests got ${bad.join(', ')}`);
    }
  } finally {
    agent.destroy();
  }
}

/** Warm-up, then the measured run against a listening server, with /metrics scraped around (and during) the window. */
export async function measureHttp(port: number, texts: Text[], o: HttpLoadOptions, mode = 'HTTP, batching'): Promise<LoadResult> {
  const samples: Scrape[] = [];
  let sampler: NodeJS.Timeout | null = null;
  const startSampling = (): void => {
    if (o.rssEveryS > 0)
      sampler = setInterval(
        () =>
          void scrape(port).then(
            (s) => samples.push(s),
            () => {},
          ),
        o.rssEveryS * 1000,
      );
  };
  if (o.primeRows) await primeLargestBatches(port, texts, o.primeRows);
  let r: LoadResult;
  let before: Scrape | undefined;
  const finish = async (res: LoadResult, a: Scrape, b: Scrape): Promise<LoadResult> => {
    const m = await getText(port, '/metrics');
    const count = metric(m, /^convbert_batch_size_count (\S+)$/m);
    const sum = metric(m, /^convbert_batch_size_sum (\S+)$/m);
    const lag = lagWindow(a, b);
    res.meanBatch = count && sum !== null ? sum / count : null;
    res.lagP99Ms = lag.p99Ms;
    res.lagShareUnder20ms = lag.shareUnder20ms;
    res.lagSamples = lag.samples;
    res.rssStartMb = a.rssBytes / 1e6;
    res.rssEndMb = b.rssBytes / 1e6;
    res.rssSamples = [a, ...samples, b].map((s) => ({ t: s.t - a.t, mb: s.rssBytes / 1e6 }));
    // A non-200 the driver did not see still shows in the server's counters.
    res.non2xx = Math.max(res.non2xx, b.serverNon200 - a.serverNon200);
    return res;
  };
  if (o.driver === 'autocannon') {
    let after: Scrape | null = null;
    const { window: w, whole } = await runAutocannon(port, texts, {
      ...o,
      onOpen: async () => {
        before = await scrape(port);
        startSampling();
      },
      onClose: async () => {
        if (sampler) clearInterval(sampler);
        after = await scrape(port);
      },
    });
    r = {
      mode,
      driver: 'autocannon',
      connections: o.connections,
      ...windowStats(w),
      // Over the whole run, warm-up included: the stricter count.
      non2xx: whole.non2xx,
      errors: whole.errors,
      timeouts: whole.timeouts,
      meanBatch: null,
      lagP99Ms: null,
      lagShareUnder20ms: null,
      lagSamples: null,
      rssStartMb: null,
      rssEndMb: null,
      rssSamples: [],
    };
    return finish(r, before!, after!);
  } else {
    // The loop driver measures after its own warm-up inside one run: scrape when the window opens.
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
    const opened = new Promise<Scrape>((resolve, reject) => setTimeout(() => scrape(port).then(resolve, reject), o.warmupS * 1000));
    const run = drive(async (text) => (await postJson(agent, port, JSON.stringify({ inputs: text }))) === 200, texts, o.connections, o.warmupS, o.durationS);
    before = await opened;
    startSampling();
    r = loopResult(mode, o.connections, await run, null);
    agent.destroy();
  }
  if (sampler) clearInterval(sampler);
  return finish(r, before!, await scrape(port));
}

/**
 * HTTP and in-process alternated: `rounds` times an HTTP segment then an in-process
 * segment of durationS / rounds each, against one server and one in-process handler
 * loaded side by side, each segment after `settleS` s of load that is not counted (a
 * closed loop starts with an empty pipeline). On a shared machine whose other load
 * comes and goes, both modes then see the same machine; their sums are the results.
 */
async function runInterleaved(
  dir: string,
  texts: Text[],
  batch: { maxBatchSize: number; maxWaitMs: number; maxConcurrentBatches: number },
  batchArgs: string[],
  o: { connections: number; warmupS: number; durationS: number; rounds: number; settleS: number },
): Promise<LoadResult[]> {
  const { child, port } = await startServer(dir, true, batchArgs);
  const h = await loadTask(TASK, dir, { batching: batch });
  try {
    await primeLargestBatches(port, texts, batch.maxBatchSize * batch.maxConcurrentBatches);
    const seg = o.durationS / o.rounds;
    const hw: WindowCounts = { lat: [], tokens: 0, seconds: 0, non2xx: 0, errors: 0, timeouts: 0 };
    const iw = { lat: [] as number[], errors: 0, tokens: 0, seconds: 0 };
    const lag = new Array<number>(LAG_BUCKETS.length + 1).fill(0);
    const scrapes: Scrape[] = [];
    let non200 = 0;
    for (let k = 0; k < o.rounds; k++) {
      const settle = k === 0 ? o.warmupS : o.settleS;
      let a: Scrape | null = null;
      const { window: w, whole } = await runAutocannon(port, texts, {
        connections: o.connections,
        warmupS: settle,
        durationS: seg,
        onOpen: async () => void (a = await scrape(port)),
        onClose: async () => {
          const b = await scrape(port);
          b.lagBuckets.forEach((v, i) => (lag[i] += v - a!.lagBuckets[i]));
          non200 += b.serverNon200 - a!.serverNon200;
          scrapes.push(a!, b);
        },
      });
      hw.lat.push(...w.lat);
      hw.tokens += w.tokens;
      hw.seconds += w.seconds;
      hw.non2xx += whole.non2xx;
      hw.errors += whole.errors;
      hw.timeouts += whole.timeouts;
      const r = await drive(async (text) => (await h.run(text, {}, {}), true), texts, o.connections, settle, seg);
      iw.lat.push(...r.lat);
      iw.errors += r.errors;
      iw.tokens += r.tokens;
      iw.seconds += r.seconds;
    }
    hw.lat.sort((x, y) => x - y);
    iw.lat.sort((x, y) => x - y);
    const m = await getText(port, '/metrics');
    const count = metric(m, /^convbert_batch_size_count (\S+)$/m);
    const sum = metric(m, /^convbert_batch_size_sum (\S+)$/m);
    const zero: Scrape = { t: 0, rssBytes: 0, lagBuckets: lag.map(() => 0), serverNon200: 0 };
    const lw = lagWindow(zero, { ...zero, lagBuckets: lag });
    const httpRes: LoadResult = {
      mode: 'HTTP, batching',
      driver: 'autocannon',
      connections: o.connections,
      ...windowStats(hw),
      non2xx: Math.max(hw.non2xx, non200),
      errors: hw.errors,
      timeouts: hw.timeouts,
      meanBatch: count && sum !== null ? sum / count : null,
      lagP99Ms: lw.p99Ms,
      lagShareUnder20ms: lw.shareUnder20ms,
      lagSamples: lw.samples,
      rssStartMb: scrapes[0].rssBytes / 1e6,
      rssEndMb: scrapes[scrapes.length - 1].rssBytes / 1e6,
      rssSamples: scrapes.map((x) => ({ t: x.t - scrapes[0].t, mb: x.rssBytes / 1e6 })),
    };
    const s = h.stats()!;
    const rows = Object.entries(s.batchSizeHistogram).reduce((acc, [n, c]) => acc + Number(n) * c, 0);
    return [httpRes, loopResult('in-process, batching', o.connections, iw, rows / Math.max(1, s.batches))];
  } finally {
    await h.dispose();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

/** Floors (minimum RSS) of the first and last `spanS` seconds of a soak; a leak raises every sample, a spike does not move a floor. */
export function rssFloors(samples: { t: number; mb: number }[], spanS: number): { first: number; last: number; growth: number } {
  const end = samples[samples.length - 1].t;
  const first = Math.min(...samples.filter((s) => s.t <= spanS).map((s) => s.mb));
  const last = Math.min(...samples.filter((s) => s.t >= end - spanS).map((s) => s.mb));
  return { first, last, growth: last - first };
}

async function main(): Promise<void> {
  const a = benchArgs(SERVING);
  const preset = a.choice('preset', Object.keys(PRESETS));
  const driver = a.choice('driver', ['autocannon', 'loop'] as const);
  const connections = a.int(a.given('clients') ? 'clients' : 'connections', 1);
  const soakS = a.num('soak', 0);
  const durationS = soakS > 0 ? soakS : a.num('duration', 0, { above: true });
  const warmupS = a.num('warmup', 0);
  // A text of n tokens is [CLS], n - 2 words and [SEP]; every preset has 512 positions.
  const maxLen = a.int('max-len', 2, { max: MAX_TEXT_TOKENS });
  const minLen = a.int('min-len', 2, { max: maxLen });
  const rssEveryS = a.num('rss-every', 0, { fallback: soakS > 0 ? 10 : 0 });
  const rssBoundMb = a.num('rss-bound-mb', 0);
  const rounds = a.int('rounds', 0);
  if (rounds > 0 && (soakS > 0 || driver !== 'autocannon')) {
    throw new ConvBertError(
      `--rounds: expected 0 with --driver ${driver}${soakS > 0 ? ' and --soak' : ''} (rounds alternate autocannon runs without --soak), got ${rounds}`,
      'ERR_CONVBERT_ARG',
    );
  }
  const settleS = a.num('settle', 0);
  const modes = a.given('modes') ? a.choices('modes', ['on', 'off', 'inproc'] as const) : soakS > 0 ? ['on'] : driver === 'loop' ? ['on', 'off', 'inproc'] : ['on', 'inproc'];
  const batch = { maxBatchSize: a.int('max-batch-size', 1), maxWaitMs: a.num('max-wait-ms', 0), maxConcurrentBatches: a.int('max-concurrent-batches', 1) };
  const batchArgs = ['--max-batch-size', String(batch.maxBatchSize), '--max-wait-ms', String(batch.maxWaitMs), '--max-concurrent-batches', String(batch.maxConcurrentBatches)];
  if (a.given('threads')) process.env.CONVBERT_NUM_THREADS = String(a.int('threads', 1));
  const texts = makeTexts(256, minLen, maxLen);
  const meanTokens = texts.reduce((a, t) => a + t.tokens, 0) / texts.length;
  const dir = await buildModel(preset);
  const results: LoadResult[] = [];
  const started = new Date();
  const load0 = os.loadavg()[0];
  try {
    if (rounds > 0) {
      results.push(...(await runInterleaved(dir, texts, batch, batchArgs, { connections, warmupS, durationS, rounds, settleS })));
    }
    for (const mode of rounds > 0 ? [] : modes) {
      if (mode === 'inproc') {
        const h = await loadTask(TASK, dir, { batching: batch });
        const r = await drive(async (text) => (await h.run(text, {}, {}), true), texts, connections, warmupS, durationS);
        const s = h.stats()!;
        const rows = Object.entries(s.batchSizeHistogram).reduce((a, [n, c]) => a + Number(n) * c, 0);
        results.push(loopResult('in-process, batching', connections, r, rows / Math.max(1, s.batches)));
        await h.dispose();
        continue;
      }
      const on = mode === 'on';
      const { child, port } = await startServer(dir, on, on ? batchArgs : []);
      try {
        const primeRows = on ? batch.maxBatchSize * batch.maxConcurrentBatches : connections;
        results.push(await measureHttp(port, texts, { connections, warmupS, durationS, rssEveryS, driver, primeRows }, on ? 'HTTP, batching' : 'HTTP, no batching'));
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const load1 = os.loadavg()[0];
  const cmd = `node --import tsx bench/serving.ts ${process.argv.slice(2).join(' ')}`.trim();
  const httpOn = results.find((r) => r.mode === 'HTTP, batching');
  const inproc = results.find((r) => r.mode === 'in-process, batching');
  const ratio = httpOn && inproc ? httpOn.rps / inproc.rps : null;
  const soak = soakS > 0 && httpOn && httpOn.rssSamples.length > 2 ? rssFloors(httpOn.rssSamples, 60) : null;
  if (a.flag('json')) {
    console.log(
      JSON.stringify(
        {
          preset,
          driver,
          connections,
          durationS,
          warmupS,
          rounds,
          settleS,
          minLen,
          maxLen,
          meanTokens,
          cpus: os.cpus().length,
          loadavg: [load0, load1],
          started,
          command: cmd,
          results,
          ratio,
          soak,
          rssBoundMb,
        },
        null,
        2,
      ),
    );
    return;
  }
  const f = (v: number | null, d = 1): string => (v === null || Number.isNaN(v) ? '-' : Number.isFinite(v) ? v.toFixed(d) : '>1000');
  console.log(`${cmd}`);
  const how =
    rounds > 0
      ? `HTTP and in-process alternated, ${rounds} rounds of ${(durationS / rounds).toFixed(0)} s each after ${settleS} s settling (${durationS} s per mode, +${warmupS} s warm-up)`
      : `${durationS} s (+${warmupS} s warm-up)`;
  console.log(
    `${started.toISOString()}: preset ${preset}, driver ${driver}, ${connections} connections, ${how}, lengths ${minLen}-${maxLen} tokens (mean ${meanTokens.toFixed(1)}), ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end, Node ${process.version}`,
  );
  console.log('');
  console.log(
    '| mode | req/s | tokens/s | p50 ms | p90 ms | p99 ms | non-2xx | errors | timeouts | mean batch | server loop lag p99 ms (window) | share <= 20 ms | server RSS MB (start -> end) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${f(r.rps)} | ${f(r.tokensPerS, 0)} | ${f(r.p50)} | ${f(r.p90)} | ${f(r.p99)} | ${r.non2xx} | ${r.errors} | ${r.timeouts} | ${f(r.meanBatch, 2)} | ${f(r.lagP99Ms)} | ${r.lagShareUnder20ms === null ? '-' : `${(100 * r.lagShareUnder20ms).toFixed(2)}%`} | ${r.rssStartMb === null ? '-' : `${f(r.rssStartMb, 0)} -> ${f(r.rssEndMb, 0)}`} |`,
    );
  }
  console.log('');
  if (httpOn) {
    const bad = httpOn.non2xx + httpOn.errors + httpOn.timeouts;
    console.log(`errors: ${bad === 0 ? 'PASS' : 'FAIL'} (${httpOn.non2xx} non-2xx, ${httpOn.errors} errors, ${httpOn.timeouts} timeouts over ${f(httpOn.seconds, 0)} s; target 0)`);
    if (httpOn.lagP99Ms !== null)
      console.log(
        `event-loop lag p99: ${httpOn.lagP99Ms < 20 ? 'PASS' : 'FAIL'} (${f(httpOn.lagP99Ms)} ms over the window, ${(100 * (httpOn.lagShareUnder20ms ?? NaN)).toFixed(2)}% of ${httpOn.lagSamples} samples <= 20 ms; target p99 < 20 ms)`,
      );
  }
  if (ratio !== null)
    console.log(`throughput HTTP / in-process: ${ratio >= 0.85 ? 'PASS' : 'FAIL'} (${f(httpOn!.rps, 2)} / ${f(inproc!.rps, 2)} req/s = ${f(100 * ratio)}%; target >= 85%)`);
  if (soak && httpOn) {
    console.log('');
    console.log(`server RSS every ${rssEveryS} s (s: MB): ${httpOn.rssSamples.map((s) => `${s.t.toFixed(0)}: ${s.mb.toFixed(0)}`).join(', ')}`);
    console.log(
      `RSS floor: first 60 s ${f(soak.first, 0)} MB, last 60 s ${f(soak.last, 0)} MB, growth ${f(soak.growth, 1)} MB: ${soak.growth <= rssBoundMb ? 'PASS' : 'FAIL'} (bound ${rssBoundMb} MB)`,
    );
  }
}

if (require.main === module) {
  main().catch(benchFailed);
}
