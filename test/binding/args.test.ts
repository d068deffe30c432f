// The binding's argument readers (native/binding/args.h), through the test addon's
// entry points: sizes whose product wraps int64 and codes past int32 were read
// unchecked and could pass every length check; now each is a ConvBertError naming
// the argument. The shipped addon carries none of the test-only entry points.
import test from 'ava';
import { spawnSync } from 'child_process';

import { ConvBertError } from '../../lib/errors';
import { loadAddon, loadTestAddon } from '../../lib/native';
import { repoRoot } from '../helpers/fixtures';
import { testAddon } from '../helpers/test_addon';

type Fn = (...a: unknown[]) => unknown;
const op = (name: string): Fn => testAddon()[name] as Fn;

test('sizes whose element count wraps int64 are refused before any length check (ERR_CONVBERT_LIMIT)', (t) => {
  // M = N = K = 2^32: M*K, N*K and M*N are 2^64, which wrapped to 0 and matched three empty
  // arrays; the op then sized its packing buffer from N and K. Run in a child process so a
  // regression shows as a failed assertion, not a dead test worker.
  const script = `
    const a = require('./dist/native').loadTestAddon().addon;
    const e = new Float32Array(0);
    try { a.opGemm(e, e, null, e, 2 ** 32, 2 ** 32, 2 ** 32, 'generic'); console.log('no error'); }
    catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message, name: err.name })); }`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot, encoding: 'utf8' });
  t.is(r.status, 0, `the child died: signal ${r.signal}, ${r.stderr}`);
  t.deepEqual(JSON.parse(r.stdout), {
    code: 'ERR_CONVBERT_LIMIT',
    name: 'ConvBertError',
    message: 'opGemm: M * K: expected at most 2^53 - 1 elements, got 4294967296 * 4294967296',
  });
});

test('an integer past its range is refused, not truncated to a valid one', (t) => {
  const x = new Float32Array(4);
  // act 2^32 + 1 was read with Int32Value (1, gelu) and ran silently.
  t.throws(() => op('opGemm')(x, x, null, x, 2, 2, 2, 'generic', 2 ** 32 + 1), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: /^opGemm: act: expected an integer in \[0, \d+\], got 4294967297$/,
  });
  // mask_rank 2^32 + 2 was cast to int32 (2) and passed the rank check.
  const q = new Float32Array(8);
  t.throws(() => op('cudaAttention')({ q, k: q, v: q, B: 1, L: 2, H: 2, D: 2, mask_rank: 2 ** 32 + 2, mask_bias: new Float32Array(2) }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: 'cudaAttention: mask_rank: expected an integer in [0, 3], got 4294967298',
  });
  // device 2^32 was cast to int (0).
  t.throws(() => op('cudaSoftmax')({ x: new Float32Array(4), n: 4, device: 2 ** 32 }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: 'cudaSoftmax: device: expected an integer in [0, 1048576], got 4294967296',
  });
});

test('wrong element types, lengths and values name the argument with the code that fits', (t) => {
  const e = (name: string, args: unknown[], code: string, message: string) => t.throws(() => op(name)(...args), { instanceOf: ConvBertError, code, message }, `${name} ${message}`);
  e('opSoftmax', [new Int32Array(4), 1, 4, 'generic'], 'ERR_CONVBERT_DTYPE', 'opSoftmax: x: expected a Float32Array, got an Int32Array');
  e('opSoftmax', [new Float32Array(3), 1, 4, 'generic'], 'ERR_CONVBERT_SHAPE', 'opSoftmax: x: expected 4 elements, got 3');
  e('opSoftmax', [new Float32Array(4), 1.5, 4, 'generic'], 'ERR_CONVBERT_ARG', 'opSoftmax: rows: expected an integer >= 0, got 1.5');
  e('opSoftmax', [new Float32Array(4), 1, 4], 'ERR_CONVBERT_ARG', 'opSoftmax: path: expected generic|avx2|avx512, got undefined');
  e('cudaGemm', [42], 'ERR_CONVBERT_ARG', 'cudaGemm(opts): opts: expected an object, got 42');
  e(
    'cudaLayernorm',
    [{ x: new Float32Array(4), gamma: new Float32Array(2), beta: new Float32Array(2), C: 2, eps: -1 }],
    'ERR_CONVBERT_ARG',
    'cudaLayernorm: eps: expected a finite number >= 0, got -1',
  );
});

test('the shipped addon carries no test-only entry point; the test addon carries them all', (t) => {
  const shipped = loadAddon().addon as Record<string, unknown>;
  const testOnly = [
    'opActivation',
    'opGemm',
    'opGemmBf16',
    'opGemmInt8',
    'opLayerNorm',
    'opSoftmax',
    'opAttention',
    'opDynConv',
    'opSepConv',
    'opEmbedding',
    'opFmaPeak',
    'opGemmTime',
    'opLightconv',
    'cudaGemm',
    'cudaAttention',
    'cudaDynconv',
    'cudaSepconv',
    'cudaLayernorm',
    'cudaSoftmax',
    'cudaEmbedding',
    'cudaBench',
    'cudaBenchLastMs',
  ];
  for (const name of testOnly) {
    t.is(shipped[name], undefined, `convbert.node exports ${name}`);
    t.is(typeof (loadTestAddon().addon as Record<string, unknown>)[name], 'function', `convbert_test.node lacks ${name}`);
  }
  for (const name of ['Engine', 'WordPieceCore', 'lightconvRun', 'lightconvRunSync', 'allocLargeBuffer', 'backendInfo', 'setNumThreads']) {
    t.is(typeof shipped[name], 'function', `convbert.node lacks ${name}`);
  }
});

test('the tokenizer binding refuses a thread count or word limit that is not an integer instead of running with 1 thread', (t) => {
  const Core = loadAddon().addon.WordPieceCore as unknown as new (vocab: string[], o?: object) => { encodeBatch(texts: string[], threads: unknown): unknown };
  const core = new Core(['[PAD]', '[UNK]', 'a', 'b']);
  t.notThrows(() => core.encodeBatch(['a b'], 1000)); // more than 256 runs as 256
  t.throws(() => core.encodeBatch(['a b'], 1.5), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: 'encodeBatch: threads: expected an integer >= 1, got 1.5' });
  t.throws(() => core.encodeBatch(['a b'], 0), { instanceOf: ConvBertError, code: 'ERR_CONVBERT_ARG', message: 'encodeBatch: threads: expected an integer >= 1, got 0' });
  t.throws(() => new Core(['a'], { maxInputCharsPerWord: '100' }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_ARG',
    message: "maxInputCharsPerWord: expected an integer in [0, 1000000000], got '100'",
  });
});
