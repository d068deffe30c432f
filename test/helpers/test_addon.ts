// test_addon.ts: the test addon convbert_test.node (lib/native.ts loadTestAddon), which holds
// the single-op entry points (opGemm, opSoftmax, cudaGemm, ...) that the shipped
// convbert.node no longer carries. Tests reach every such op through testAddon().
import { loadTestAddon, type NativeTestAddon } from '../../lib/native';

export function testAddon(): NativeTestAddon {
  return loadTestAddon().addon;
}
