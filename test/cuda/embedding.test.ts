// CUDA embedding (cuda/embedding.cu) against the CPU embedding (generic): ids or
// inputs_embeds, with and without token types, E in 1, 7, 33, 129, 511; out-of-range ids
// are a typed error naming the input (checked before anything runs).
// Tolerance: exact up to the order of two float additions: rtol 1e-6, atol 1e-6.
import { assertClose } from '../helpers/assert_close';
import { mulberry32, randn } from '../helpers/rng';
import { embedding as cpuEmbedding } from '../ops/kernels';
import { cudaOps, gpuTest, SIZES } from './helpers';

const probe = () =>
  cudaOps().cudaEmbedding({
    ids: new Int32Array(1),
    positions: new Int32Array(1),
    word: new Float32Array(1),
    pos: new Float32Array(1),
    type: new Float32Array(1),
    vocab: 1,
    max_pos: 1,
    type_vocab: 1,
    T: 1,
    E: 1,
  });

gpuTest('embedding: matches the CPU op; bad ids are typed errors', probe, (t) => {
  const rand = mulberry32(51);
  const V = 50,
    P = 40,
    TV = 2,
    T = 33;
  for (const E of SIZES) {
    const word = randn(rand, V * E),
      pos = randn(rand, P * E),
      type = randn(rand, TV * E);
    const ids = Int32Array.from({ length: T }, () => Math.floor(rand() * V));
    const positions = Int32Array.from({ length: T }, (_, i) => i % P);
    const types = Int32Array.from({ length: T }, () => Math.floor(rand() * TV));
    const embeds = randn(rand, T * E);
    for (const useEmbeds of [false, true])
      for (const useTypes of [false, true]) {
        const e = { ids: useEmbeds ? null : ids, embeds: useEmbeds ? embeds : null, positions, types: useTypes ? types : null, word, pos, type, T, E, V, P, TV };
        const want = cpuEmbedding(e, 'generic').y;
        const got = cudaOps().cudaEmbedding({ ...e, vocab: V, max_pos: P, type_vocab: TV });
        assertClose(t, got, want, { rtol: 1e-6, atol: 1e-6, label: `E=${E} embeds=${useEmbeds} types=${useTypes}` });
      }
  }
  const E = 4;
  const bad = Int32Array.from({ length: 3 }, (_, i) => (i === 2 ? V : 0));
  const err = t.throws(() =>
    cudaOps().cudaEmbedding({
      ids: bad,
      positions: new Int32Array(3),
      word: new Float32Array(V * E),
      pos: new Float32Array(P * E),
      type: new Float32Array(TV * E),
      vocab: V,
      max_pos: P,
      type_vocab: TV,
      T: 3,
      E,
    }),
  ) as Error & { code?: string };
  t.is(err.code, 'ERR_CONVBERT_ARG');
  t.regex(err.message, /input_ids: id 50 at token 2/);
});
