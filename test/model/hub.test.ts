// fromPretrained('org/name'): a Hub repo id is downloaded into the HF cache
// (from a fake Hub on 127.0.0.1) and loads to the same outputs as the local
// folder (tokenizers fetch only their own files); dtype/device values this build cannot honour are refused, not ignored.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';

import { backendInfo } from '../../lib/backend';
import { ConvBertError } from '../../lib/errors';
import { ConvBertForMaskedLM } from '../../lib/models';
import { ConvBertTokenizer } from '../../lib/tokenizer';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';
import { FakeHub, commitId } from '../hub/fake_hub';
import { isolateHubEnv, tmpCache } from '../hub/setup';
import { fixturesDir } from '../helpers/fixtures';

test.before(isolateHubEnv);

const dir = fixturesDir('convbert', 'tiny-a', 'ConvBertForMaskedLM');

test('fromPretrained takes a Hub repo id and equals the local folder', async (t) => {
  const hub = await FakeHub.start();
  t.teardown(() => hub.close());
  const file = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
  hub.addCommit('org/tiny', commitId('t1'), {
    'config.json': { data: file('config.json') },
    'model.safetensors': { data: file('model.safetensors'), lfs: 'relative' },
  });
  const cacheDir = tmpCache();
  const fromHub = await ConvBertForMaskedLM.fromPretrained('org/tiny', { cacheDir, endpoint: hub.endpoint, progress: false });
  const local = await ConvBertForMaskedLM.fromPretrained(dir);
  t.teardown(() => {
    fromHub.dispose();
    local.dispose();
  });
  t.true(fs.existsSync(path.join(cacheDir, 'models--org--tiny', 'refs', 'main')));
  const input_ids = [[2, 5, 9, 11, 3]];
  const a = await fromHub.forward({ input_ids });
  const b = await local.forward({ input_ids });
  // Same weights, same kernels: bit-identical.
  t.deepEqual(Array.from(a.logits.data), Array.from(b.logits.data));
  await t.throwsAsync(ConvBertForMaskedLM.fromPretrained('org/missing', { cacheDir, endpoint: hub.endpoint, progress: false }), {
    instanceOf: ConvBertError,
    code: 'ERR_CONVBERT_HUB_NOT_FOUND',
  });
});

test('dtype and device this build or machine cannot honour are refused with ERR_CONVBERT_UNSUPPORTED', async (t) => {
  const cuda = backendInfo().cuda;
  await t.throwsAsync(ConvBertForMaskedLM.fromPretrained(dir, { dtype: 'int4' as never }), { code: 'ERR_CONVBERT_UNSUPPORTED' });
  await t.throwsAsync(ConvBertForMaskedLM.fromPretrained(dir, { device: 'tpu' as never }), { code: 'ERR_CONVBERT_UNSUPPORTED' });
  // The CPU engine runs float32, bfloat16 and int8, whatever the build; float16 needs CUDA.
  await t.throwsAsync(ConvBertForMaskedLM.fromPretrained(dir, { dtype: 'float16', device: 'cpu' }), { code: 'ERR_CONVBERT_UNSUPPORTED', message: /needs a CUDA device/ });
  const bf = await ConvBertForMaskedLM.fromPretrained(dir, { dtype: 'bfloat16', device: 'cpu' });
  t.is(bf.device, 'cpu');
  bf.dispose();
  if (!cuda.available) {
    // No usable CUDA device: refused with the backend's one-line reason.
    const e = await t.throwsAsync(ConvBertForMaskedLM.fromPretrained(dir, { device: 'cuda' }), { code: 'ERR_CONVBERT_UNSUPPORTED' });
    t.true(cuda.reason !== undefined && cuda.reason !== '' && e!.message.includes(cuda.reason), e!.message);
  } else {
    const g = await ConvBertForMaskedLM.fromPretrained(dir, { device: 'cuda' });
    t.is(g.device, 'cuda:0');
    g.dispose();
  }
  const m = await ConvBertForMaskedLM.fromPretrained(dir, { dtype: 'float32', device: 'auto' });
  t.is(m.device, cuda.available ? 'cuda:0' : 'cpu');
  m.dispose();
  t.true(m.disposed);
});

test('both tokenizers take a Hub repo id and equal the local folder', async (t) => {
  const hub = await FakeHub.start();
  t.teardown(() => hub.close());
  const vocab = fs.readFileSync(fixturesDir('tokenizer', 'vocab.txt'));
  hub.addCommit('org/tok', commitId('k1'), {
    'config.json': { data: Buffer.from('{"model_type": "convbert"}') },
    'vocab.txt': { data: vocab },
    'tokenizer_config.json': { data: Buffer.from('{"do_lower_case": true}') },
  });
  const cacheDir = tmpCache();
  const opts = { cacheDir, endpoint: hub.endpoint, progress: false };
  for (const tok of [await ConvBertTokenizer.fromPretrained('org/tok', opts), await ConvBertTokenizerFast.fromPretrained('org/tok', opts)]) {
    t.is(
      tok.vocabSize,
      vocab
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '').length,
    );
    t.deepEqual(tok.encode('Hello, world!').input_ids, [101, 7592, 1010, 2088, 999, 102]);
  }
});
