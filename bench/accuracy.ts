// accuracy.ts: how far each opt-in precision is from float32 (issue 5). Builds a
// seeded random ConvBertForMaskedLM from a published config (fixtures'
// published_configs.json), saves it as safetensors, loads it as float32 and as
// each dtype asked for, runs the same seeded inputs through all of them (a full
// B x L batch with [MASK] at ~15% of positions, and a padded batch of mixed
// lengths) and reports per dtype: max and mean |error| of last_hidden_state,
// min and mean cosine per token, max |error| of the logits, top-1 masked-LM
// agreement with float32 over every attended token and over the [MASK]
// positions, and float32's top-1 margin (why disagreements happen). Then every
// golden fixture folder through fromPretrained at each dtype: max |error| and min
// cosine against the golden outputs. Optionally onnxruntime-node's dynamic int8
// (exportOnnx dtype 'int8') on the same inputs, for comparison. A dtype the
// engine refuses is skipped with one line. --modules-to-not-convert adds rows for the
// random model with those linear modules kept in float32 (fromPretrained's
// modulesToNotConvert): names joined by ',', variants by ';'. Results:
// bench/results/accuracy-<time>.json. Options (bench/args.ts, or --help):
//   node --import tsx bench/accuracy.ts [--config base|medium-small] [--dtypes bfloat16,int8]
//     [--shape 8x128] [--seed 0] [--no-fixtures] [--peer] [--no-save] [--json]
//     [--modules-to-not-convert 'generator_lm_head;intermediate.dense,output.dense']
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';

import { backendInfo } from '../lib/backend';
import { ConvBertConfig } from '../lib/config';
import { ConvBertError } from '../lib/errors';
import * as models from '../lib/models';
import { ConvBertForMaskedLM } from '../lib/models';
import { exportOnnx } from '../lib/onnx/export';
import { Tensor } from '../lib/tensor';
import { readSafetensorsSync } from '../lib/weights/safetensors';
import { ACCURACY, benchArgs, benchFailed } from './args';
import { fixturesDir, publishedConfig } from './configs';

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** [MASK] in the published (bert-base-uncased) vocabulary. */
const MASK_ID = 103;

type Dtype = string;
type LoadedModel = { forward(i: unknown, o?: unknown): Promise<Record<string, unknown>>; dispose(): void };
type ModelClass = { fromPretrained(p: string, o?: { dtype?: never; modulesToNotConvert?: string[] }): Promise<LoadedModel> };

/** fromPretrained at `dtype` (with `keep` left in float32), or the reason the library refused it (ERR_CONVBERT_UNSUPPORTED). */
async function loadAs(cls: ModelClass, dir: string, dtype: Dtype, keep: string[] = []): Promise<LoadedModel | string> {
  try {
    return await cls.fromPretrained(dir, { dtype: dtype as never, ...(keep.length > 0 ? { modulesToNotConvert: keep } : {}) });
  } catch (e) {
    if (e instanceof ConvBertError && e.code === 'ERR_CONVBERT_UNSUPPORTED') return e.message;
    throw e;
  }
}

// ---------------------------------------------------------------- inputs

interface InputSet {
  name: string;
  B: number;
  L: number;
  ids: Int32Array;
  mask: Int32Array;
  /** 1 where the token is attended (not padding). */
  real: Uint8Array;
  /** 1 where the input is [MASK]. */
  masked: Uint8Array;
}

/** Seeded ids in [1000, vocab) with [MASK] at ~15% of the real positions; padding (pad id, mask 0) after each length. */
function makeInputs(name: string, lens: number[], L: number, vocab: number, padId: number, seed: number): InputSet {
  const B = lens.length;
  const ids = new Int32Array(B * L).fill(padId);
  const mask = new Int32Array(B * L);
  const real = new Uint8Array(B * L);
  const masked = new Uint8Array(B * L);
  let s = (seed * 2654435761 + 12345) >>> 0 || 1;
  const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lens[b]; t++) {
      const i = b * L + t;
      mask[i] = 1;
      real[i] = 1;
      if (t > 0 && next() % 100 < 15) {
        ids[i] = MASK_ID;
        masked[i] = 1;
      } else ids[i] = 1000 + (next() % (vocab - 1000));
    }
  }
  return { name, B, L, ids, mask, real, masked };
}

function trunkInputs(x: InputSet): Record<string, Tensor> {
  return { input_ids: new Tensor('int32', x.ids, [x.B, x.L]), attention_mask: new Tensor('int32', x.mask, [x.B, x.L]) };
}

// ---------------------------------------------------------------- metrics

interface RowStats {
  max_abs: number;
  mean_abs: number;
  min_cos: number;
  mean_cos: number;
  rows: number;
}

/** |a - b| and cosine per row of width C, over the rows where `keep` is 1 (all when null). */
function rowStats(a: Float32Array, b: Float32Array, C: number, keep: Uint8Array | null): RowStats {
  let maxAbs = 0;
  let sumAbs = 0;
  let n = 0;
  let minCos = Infinity;
  let sumCos = 0;
  let rows = 0;
  for (let r = 0; r * C < a.length; r++) {
    if (keep && !keep[r]) continue;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = r * C; i < (r + 1) * C; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
      sumAbs += d;
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    n += C;
    const cos = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
    minCos = Math.min(minCos, Number.isNaN(cos) ? -Infinity : cos);
    sumCos += cos;
    rows++;
  }
  return { max_abs: maxAbs, mean_abs: n ? sumAbs / n : 0, min_cos: rows ? minCos : 1, mean_cos: rows ? sumCos / rows : 1, rows };
}

/** Index of the largest value and the gap to the second largest, per row of width V. */
function top1(logits: Float32Array, V: number): { arg: Int32Array; margin: Float32Array } {
  const rows = logits.length / V;
  const arg = new Int32Array(rows);
  const margin = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = -Infinity;
    let second = -Infinity;
    let bi = -1;
    for (let v = 0, o = r * V; v < V; v++) {
      const x = logits[o + v];
      if (x > best) {
        second = best;
        best = x;
        bi = v;
      } else if (x > second) second = x;
    }
    arg[r] = bi;
    margin[r] = best - second;
  }
  return { arg, margin };
}

interface Agreement {
  agree: number;
  total: number;
  pct: number;
}

function agreement(a: Int32Array, b: Int32Array, keep: Uint8Array): Agreement {
  let agree = 0;
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    if (!keep[i]) continue;
    total++;
    if (a[i] === b[i]) agree++;
  }
  return { agree, total, pct: total ? +((100 * agree) / total).toFixed(2) : 100 };
}

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}

const sig = (x: number, d = 3): string => (Number.isFinite(x) ? (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(d) : x.toExponential(d - 1)) : String(x));

// ---------------------------------------------------------------- random model

interface SetResult {
  input: string;
  tokens: number;
  masked_tokens: number;
  hidden: RowStats;
  hidden_ref_max_abs: number;
  logits_max_abs: number;
  logits_ref_max_abs: number;
  top1_all: Agreement;
  top1_masked: Agreement;
  /** float32's top-1 margin (logit gap to the runner-up) over attended tokens, and at the disagreements. */
  margin: { p10: number; p50: number; p90: number; disagree_max: number | null; disagree_median: number | null };
  /** Tokens whose float32 margin exceeds twice this dtype's max |logit error| (a flip there is impossible), and their agreement. */
  safe_margin: Agreement & { threshold: number };
}

interface RefOut {
  hidden: Float32Array;
  logits: Float32Array;
  top: { arg: Int32Array; margin: Float32Array };
}

function compareSet(x: InputSet, ref: RefOut, hidden: Float32Array, logits: Float32Array | null, C: number, V: number): SetResult {
  const h = rowStats(hidden, ref.hidden, C, x.real);
  let refMax = 0;
  for (let i = 0; i < ref.hidden.length; i++) if (x.real[Math.floor(i / C)]) refMax = Math.max(refMax, Math.abs(ref.hidden[i]));
  const res: SetResult = {
    input: x.name,
    tokens: h.rows,
    masked_tokens: x.masked.reduce((a, b) => a + b, 0),
    hidden: h,
    hidden_ref_max_abs: refMax,
    logits_max_abs: NaN,
    logits_ref_max_abs: NaN,
    top1_all: { agree: 0, total: 0, pct: NaN },
    top1_masked: { agree: 0, total: 0, pct: NaN },
    margin: { p10: NaN, p50: NaN, p90: NaN, disagree_max: null, disagree_median: null },
    safe_margin: { agree: 0, total: 0, pct: NaN, threshold: NaN },
  };
  if (!logits) return res;
  const l = rowStats(logits, ref.logits, V, x.real);
  let lref = 0;
  for (let i = 0; i < ref.logits.length; i++) if (x.real[Math.floor(i / V)]) lref = Math.max(lref, Math.abs(ref.logits[i]));
  const top = top1(logits, V);
  const margins: number[] = [];
  const dis: number[] = [];
  const safe = new Uint8Array(x.real.length);
  const thr = 2 * l.max_abs;
  for (let i = 0; i < x.real.length; i++) {
    if (!x.real[i]) continue;
    margins.push(ref.top.margin[i]);
    if (top.arg[i] !== ref.top.arg[i]) dis.push(ref.top.margin[i]);
    if (ref.top.margin[i] > thr) safe[i] = 1;
  }
  res.logits_max_abs = l.max_abs;
  res.logits_ref_max_abs = lref;
  res.top1_all = agreement(top.arg, ref.top.arg, x.real);
  res.top1_masked = agreement(top.arg, ref.top.arg, x.masked);
  res.margin = {
    p10: percentile(margins, 0.1),
    p50: percentile(margins, 0.5),
    p90: percentile(margins, 0.9),
    disagree_max: dis.length ? Math.max(...dis) : null,
    disagree_median: dis.length ? percentile(dis, 0.5) : null,
  };
  res.safe_margin = { ...agreement(top.arg, ref.top.arg, safe), threshold: thr };
  return res;
}

async function runMlm(m: LoadedModel, x: InputSet, nl: number): Promise<{ hidden: Float32Array; logits: Float32Array }> {
  const out = await m.forward(trunkInputs(x), { output_hidden_states: true });
  const hs = out.hidden_states as Tensor[];
  return { hidden: hs[nl].toFloat32(), logits: (out.logits as Tensor).toFloat32() };
}

type Ort = typeof import('onnxruntime-node');

async function loadOrt(): Promise<Ort | string> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('onnxruntime-node') as Ort;
  } catch (e) {
    return `onnxruntime-node not loadable: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** onnxruntime-node on an exported graph: its single output for each input set. */
async function runOrt(ort: Ort, file: string, sets: InputSet[]): Promise<Float32Array[]> {
  const threads = os.availableParallelism?.() ?? os.cpus().length;
  const sess = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  try {
    const outs: Float32Array[] = [];
    for (const x of sets) {
      const i64 = (a: Int32Array): InstanceType<Ort['Tensor']> =>
        new ort.Tensor(
          'int64',
          BigInt64Array.from(a, (v) => BigInt(v)),
          [x.B, x.L],
        );
      const r = await sess.run({ input_ids: i64(x.ids), attention_mask: i64(x.mask), token_type_ids: i64(new Int32Array(x.B * x.L)) });
      outs.push(r[sess.outputNames[0]].data as Float32Array);
    }
    return outs;
  } finally {
    await sess.release();
  }
}

async function randomModel(
  key: string,
  dtypes: Dtype[],
  keeps: string[][],
  seed: number,
  shape: [number, number],
  peer: boolean,
  log: (s: string) => void,
): Promise<Record<string, unknown>> {
  const { id, config: dict } = publishedConfig(key, '--config');
  const config = ConvBertConfig.fromDict(dict);
  const C = config.hidden_size;
  const V = config.vocab_size;
  const nl = config.num_hidden_layers;
  const [B, L] = shape;
  // Mixed lengths: from L down to a few tokens, padded to L (the padding is excluded from every metric).
  const mixedLens = Array.from({ length: B }, (_, i) => Math.max(3, Math.round(L * (1 - i / B) ** 1.5)));
  const sets = [
    makeInputs(`${B}x${L}`, new Array<number>(B).fill(L), L, V, config.pad_token_id ?? 0, seed + 1),
    makeInputs(`${B}x${L}pad`, mixedLens, L, V, config.pad_token_id ?? 0, seed + 2),
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-accuracy-'));
  try {
    let t0 = performance.now();
    const seeded = ConvBertForMaskedLM.fromConfig(config, { seed });
    await seeded.savePretrained(dir);
    const onnx: Record<string, string> = {};
    const ort = peer ? await loadOrt() : 'not asked (--peer)';
    if (typeof ort !== 'string') {
      onnx.logits = path.join(dir, 'mlm_int8.onnx');
      onnx.hidden = path.join(dir, 'trunk_int8.onnx');
      await exportOnnx(seeded, onnx.logits, { dtype: 'int8', head: 'masked_lm' });
      await exportOnnx(seeded, onnx.hidden, { dtype: 'int8', head: 'none' });
    }
    seeded.dispose();
    log(`${id} (seeded random, seed ${seed}): hidden ${C}, layers ${nl}, vocab ${V}; built and saved in ${(performance.now() - t0).toFixed(0)} ms`);
    log(`inputs: ${sets[0].name} (no padding) and ${sets[1].name} (lengths ${mixedLens.join(',')}, padded to ${L}); [MASK] at ~15% of real positions`);

    t0 = performance.now();
    const ref32 = (await loadAs(ConvBertForMaskedLM as unknown as ModelClass, dir, 'float32')) as LoadedModel;
    const refs: RefOut[] = [];
    for (const x of sets) {
      const r = await runMlm(ref32, x, nl);
      refs.push({ ...r, top: top1(r.logits, V) });
    }
    ref32.dispose();
    log(`float32 reference: ${(performance.now() - t0).toFixed(0)} ms (load + ${sets.length} forwards)`);

    const rows: Array<{ dtype: string; label: string; modules_to_not_convert?: string[]; results?: SetResult[]; skipped?: string }> = [];
    for (const [dtype, keep] of [[], ...keeps].flatMap((k) => dtypes.map((d): [Dtype, string[]] => [d, k]))) {
      const m = await loadAs(ConvBertForMaskedLM as unknown as ModelClass, dir, dtype, keep);
      // Variant v of --modules-to-not-convert is labelled "<dtype> [v]"; the legend is printed with the table.
      const label = keep.length > 0 ? `${dtype} [${keeps.indexOf(keep) + 1}]` : dtype;
      if (typeof m === 'string') {
        log(`${label}: skipped, the engine refuses it: ${m}`);
        rows.push({ dtype, label, ...(keep.length > 0 ? { modules_to_not_convert: keep } : {}), skipped: m });
        continue;
      }
      const results: SetResult[] = [];
      try {
        for (let i = 0; i < sets.length; i++) {
          const r = await runMlm(m, sets[i], nl);
          results.push(compareSet(sets[i], refs[i], r.hidden, r.logits, C, V));
        }
      } finally {
        m.dispose();
      }
      rows.push({ dtype, label, ...(keep.length > 0 ? { modules_to_not_convert: keep } : {}), results });
    }
    if (typeof ort === 'string') {
      if (peer) log(`onnxruntime int8: skipped: ${ort}`);
    } else {
      const hidden = await runOrt(ort, onnx.hidden, sets);
      const logits = await runOrt(ort, onnx.logits, sets);
      rows.push({ dtype: 'onnxruntime int8', label: 'onnxruntime int8', results: sets.map((x, i) => compareSet(x, refs[i], hidden[i], logits[i], C, V)) });
    }

    log('\nvs our float32 on the same inputs (attended tokens only; cos: cosine per token of last_hidden_state;');
    log('margin: float32 top-1 logit minus runner-up; "safe": tokens with margin > 2x this dtype\'s max |logit err|)');
    keeps.forEach((k, i) => log(`[${i + 1}]: ${k.join(', ')} in float32`));
    log(
      'dtype                 input     hid max|err|  mean|err|  min cos    mean cos    logit max|err|  top-1 all          top-1 [MASK]     top-1 safe         margin p10/p50    flip max margin',
    );
    for (const r of rows) {
      if (!r.results) continue;
      for (const s of r.results) {
        const pct = (a: Agreement): string => `${a.pct}% (${a.agree}/${a.total})`;
        log(
          `${r.label.padEnd(21)} ${s.input.padEnd(9)} ${sig(s.hidden.max_abs).padStart(12)} ${sig(s.hidden.mean_abs).padStart(10)}  ` +
            `${s.hidden.min_cos.toFixed(6)}  ${s.hidden.mean_cos.toFixed(7)}  ${sig(s.logits_max_abs).padStart(14)}  ` +
            `${pct(s.top1_all).padEnd(18)} ${pct(s.top1_masked).padEnd(16)} ${pct(s.safe_margin).padEnd(18)} ` +
            `${`${sig(s.margin.p10)}/${sig(s.margin.p50)}`.padEnd(17)} ${s.margin.disagree_max === null ? '-' : sig(s.margin.disagree_max)}`,
        );
      }
    }
    log(
      `(scale: float32 max |last_hidden_state| ${sig(refs[0].hidden.reduce((a, v) => Math.max(a, Math.abs(v)), 0))}, max |logit| ${sig(refs[0].logits.reduce((a, v) => Math.max(a, Math.abs(v)), 0))})`,
    );
    return { config: id, seed, hidden_size: C, layers: nl, vocab: V, inputs: sets.map((x) => x.name), rows };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- fixtures

interface IndexEntry {
  architecture: string;
  path: string;
}
interface FixtureCase {
  name: string;
  inputs: Record<string, string>;
  kwargs: Record<string, boolean>;
  outputs: Record<string, string | string[]>;
}

interface FixtureRow {
  folder: string;
  dtype: string;
  skipped?: string;
  comparisons?: number;
  max_abs?: number;
  worst?: string;
  golden_max_abs?: number;
  min_cos?: number;
  top1?: Agreement;
}

/** Every fixture folder at every dtype: max |error| and min cosine (per last-dim row) against the golden outputs. */
async function fixtures(dtypes: Dtype[], log: (s: string) => void): Promise<FixtureRow[]> {
  const out: FixtureRow[] = [];
  const index = readJson<IndexEntry[]>(fixturesDir('convbert', 'index.json'));
  const refused = new Set<string>();
  log('\nGolden fixtures (every case, every output; cosine per row of the last dim, rows of width 1 left out)');
  log('folder                                          dtype       outputs  max|err|    (where)                 max|golden|  min cos      MLM top-1 vs golden');
  for (const e of index) {
    const dir = fixturesDir('convbert', e.path);
    const cases = readJson<FixtureCase[]>(path.join(dir, 'cases.json'));
    const golden = readSafetensorsSync(path.join(dir, 'expected.safetensors')).tensors;
    const cls = (models as unknown as Record<string, ModelClass>)[e.architecture];
    for (const dtype of ['float32', ...dtypes]) {
      if (refused.has(dtype)) continue;
      const m = await loadAs(cls, dir, dtype);
      if (typeof m === 'string') {
        // The engine refuses a dtype as a whole (not per folder): one row, then the dtype is left out.
        refused.add(dtype);
        out.push({ folder: '(all)', dtype, skipped: m });
        continue;
      }
      const row: FixtureRow = { folder: e.path, dtype, comparisons: 0, max_abs: 0, golden_max_abs: 0, min_cos: 1 };
      const agree = { agree: 0, total: 0, pct: NaN };
      try {
        for (const c of cases) {
          const inputs: Record<string, Tensor> = {};
          for (const [k, name] of Object.entries(c.inputs)) inputs[k] = golden.get(name)!;
          const res = await m.forward(inputs, c.kwargs);
          for (const [key, names] of Object.entries(c.outputs)) {
            const list = Array.isArray(names) ? names : [names];
            const got = Array.isArray(names) ? (res[key] as Tensor[]) : [res[key] as Tensor];
            list.forEach((name, i) => {
              const want = golden.get(name)!;
              const g = got[i].toFloat32();
              const w = want.toFloat32();
              const width = want.dims.length ? want.dims[want.dims.length - 1] : 1;
              const s = rowStats(g, w, width, null);
              row.comparisons!++;
              if (s.max_abs > row.max_abs!) {
                row.max_abs = s.max_abs;
                row.worst = `${c.name} ${key}${Array.isArray(names) ? `.${i}` : ''}`;
              }
              for (const v of w) row.golden_max_abs = Math.max(row.golden_max_abs!, Math.abs(v));
              if (width > 1) row.min_cos = Math.min(row.min_cos!, s.min_cos);
              if (key === 'logits' && e.architecture === 'ConvBertForMaskedLM') {
                const mask = inputs.attention_mask ? inputs.attention_mask.toFloat32() : null;
                const keep = new Uint8Array(g.length / width).map((_, r) => (mask ? (mask[r] !== 0 ? 1 : 0) : 1));
                const a = agreement(top1(g, width).arg, top1(w, width).arg, keep);
                agree.agree += a.agree;
                agree.total += a.total;
              }
            });
          }
        }
      } finally {
        m.dispose();
      }
      if (agree.total) row.top1 = { ...agree, pct: +((100 * agree.agree) / agree.total).toFixed(2) };
      out.push(row);
    }
  }
  for (const r of out) {
    if (r.skipped) {
      log(`${r.folder.padEnd(47)} ${r.dtype.padEnd(11)} skipped: ${r.skipped.split('\n')[0].slice(0, 90)}`);
      continue;
    }
    log(
      `${r.folder.padEnd(47)} ${r.dtype.padEnd(11)} ${String(r.comparisons).padStart(7)}  ${sig(r.max_abs!).padEnd(10)}  ${(r.worst ?? '').slice(0, 22).padEnd(22)}  ` +
        `${sig(r.golden_max_abs!).padEnd(11)}  ${r.min_cos!.toFixed(7)}  ${r.top1 ? `${r.top1.pct}% (${r.top1.agree}/${r.top1.total})` : ''}`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const a = benchArgs(ACCURACY);
  const key = a.str('config');
  const dtypes = a.list('dtypes');
  const keeps = a
    .str('modules-to-not-convert')
    .split(';')
    .map((v) => v.split(',').filter(Boolean))
    .filter((v) => v.length > 0);
  const seed = a.int('seed', 0);
  const shape = a.shape('shape');
  const json = a.flag('json');
  const lines: string[] = [];
  const log = (s: string): void => {
    lines.push(s);
    if (!json) console.log(s);
  };
  const info = backendInfo();
  const command = `node --import tsx bench/accuracy.ts ${process.argv.slice(2).join(' ')}`.trim();
  log(`${command}\nconvbert ${info.version} | isa ${info.isa} | threads ${info.threads} | ${new Date().toISOString()}`);
  const t0 = performance.now();
  const random = await randomModel(key, dtypes, keeps, seed, shape, a.flag('peer'), log);
  const fx = a.flag('no-fixtures') ? [] : await fixtures(dtypes, log);
  log(`\ntotal ${(performance.now() - t0).toFixed(0)} ms`);
  const result = { date: new Date().toISOString(), command, isa: info.isa, threads: info.threads, random_model: random, fixtures: fx };
  if (!a.flag('no-save')) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `accuracy-${result.date.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 1));
    if (!json) console.log(`results: ${path.relative(process.cwd(), file)}`);
  }
  if (json) console.log(JSON.stringify(result));
}

if (require.main === module) {
  main().catch(benchFailed);
}
