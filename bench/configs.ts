// configs.ts: the published ConvBERT configs the benchmarks build models from
// (the fixtures' convbert/published_configs.json). Imports nothing from lib/ but
// the error class, so bench/load.ts can import it before it times anything.
import * as fs from 'fs';

import { ConvBertError } from '../lib/errors';

import { fixturesDir } from '../test/helpers/fixtures';

/** The fixtures folder: one definition, shared with the tests (CONVBERT_FIXTURES, else test/fixtures). */
export { fixturesDir };

/** Short names of the published configs. */
const CONFIG_IDS: Record<string, string> = {
  base: 'YituTech/conv-bert-base',
  'medium-small': 'YituTech/conv-bert-medium-small',
  small: 'YituTech/conv-bert-small',
};

/** The published config (and its model id) for a short name or a model id; `option` names the command-line option in the error. */
export function publishedConfig(key: string, option: string): { id: string; config: Record<string, unknown> } {
  const all = JSON.parse(fs.readFileSync(fixturesDir('convbert', 'published_configs.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  const id = CONFIG_IDS[key] ?? key;
  if (!all[id]) throw new ConvBertError(`${option}: unknown config '${key}' (known: ${Object.keys(CONFIG_IDS).join(', ')})`, 'ERR_CONVBERT_ARG');
  return { id, config: all[id] };
}
