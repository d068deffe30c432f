// savePretrained writes tokenizer.json (HF tokenizers' format). With vocab.txt removed
// from the saved folder, so that the vocabulary can only come from tokenizer.json, our
// fast tokenizer loads it back and encodes every encode.json case exactly like the
// tokenizer that saved it and like the golden; HF's own Rust tokenizer (the
// `tokenizers` npm package) loads the same file and gives the golden ids, types and
// masks. Tolerance zero: tokenization is discrete.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import test from 'ava';

import { ConvBertTokenizer } from '../../lib/tokenizer';
import { ConvBertTokenizerFast } from '../../lib/tokenizer/fast';
import { fixturesDir } from '../helpers/fixtures';
import { golden, modelDirFor } from './goldens';

interface Case {
  id: string;
  config: string;
  text: string;
  text_pair: string | null;
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
}

interface HfEncoding {
  getIds(): number[];
  getTypeIds(): number[];
  getAttentionMask(): number[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('tokenizers') as { Tokenizer: { fromFile(f: string): { encode(a: string, b?: string | null): Promise<HfEncoding> } } };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convbert-tokjson-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('tokenizer.json round trip: our fast tokenizer and HF tokenizers encode every encode.json case as the saved one', async (t) => {
  const g = golden<Case>('encode');
  const configs = (g as unknown as { meta: { configs: Record<string, Parameters<typeof modelDirFor>[1]> } }).meta.configs;
  for (const [name, spec] of Object.entries(configs)) {
    const orig = await ConvBertTokenizerFast.fromPretrained(modelDirFor(name, spec));
    const out = path.join(tmp, name);
    const files = await orig.savePretrained(out);
    t.true(files.includes(path.join(out, 'tokenizer.json')), `${name}: tokenizer.json written`);
    fs.rmSync(path.join(out, 'vocab.txt'));
    const back = await ConvBertTokenizerFast.fromPretrained(out);
    const hf = Tokenizer.fromFile(path.join(out, 'tokenizer.json'));
    t.is(back.vocabSize, orig.vocabSize);
    for (const c of g.cases.filter((x) => x.config === name)) {
      const o = { text_pair: c.text_pair };
      t.deepEqual(back.encodeFull(c.text, o), orig.encodeFull(c.text, o), `${c.id}: loaded back`);
      t.deepEqual(back.encode(c.text, o).input_ids, c.input_ids, `${c.id}: golden ids`);
      const e = await hf.encode(c.text, c.text_pair);
      t.deepEqual([e.getIds(), e.getTypeIds(), e.getAttentionMask()], [c.input_ids, c.token_type_ids, c.attention_mask], `${c.id}: HF tokenizers`);
    }
  }
});

test('tokenizer.json keeps added tokens, their ids and the decoder; a vocab with a token twice writes none (and removes a stale one)', async (t) => {
  const vocab = fs.readFileSync(fixturesDir('tokenizer', 'vocab.txt'), 'utf8').split('\n').slice(0, 2000);
  const tok = new ConvBertTokenizerFast({ vocab, added_tokens: ['<extra>'], additional_special_tokens: ['<ent>'], do_lower_case: false, strip_accents: true });
  const dir = path.join(tmp, 'added');
  await tok.savePretrained(dir);
  fs.rmSync(path.join(dir, 'vocab.txt'));
  const back = await ConvBertTokenizerFast.fromPretrained(dir);
  const text = 'Héllo <ent> x<extra>y';
  t.deepEqual(back.encodeFull(text), tok.encodeFull(text));
  t.is(back.tokenToId('<extra>'), tok.tokenToId('<extra>'));
  const j = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  t.like(j.normalizer, { type: 'BertNormalizer', lowercase: false, strip_accents: true });
  t.deepEqual(
    j.added_tokens.filter((a: { special: boolean }) => !a.special).map((a: { content: string }) => a.content),
    ['<extra>'],
  );
  const hf = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  t.deepEqual((await hf.encode(text)).getIds(), tok.encode(text).input_ids);

  const dup = new ConvBertTokenizer({ vocab: [...vocab.slice(0, 200), vocab[150]] });
  t.is(dup.tokenizerJson(), null);
  const files = await dup.savePretrained(dir);
  t.false(files.some((f) => f.endsWith('tokenizer.json')));
  t.false(fs.existsSync(path.join(dir, 'tokenizer.json')));
});
