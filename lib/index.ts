// index.ts: the package's public surface.
export { ConvBertError, type ConvBertErrorCode } from './errors';
export { Tensor, type DataType, type DataTypeMap, type TypedArray, type NestedArray } from './tensor';
export { backendInfo, setNumThreads, type BackendInfo } from './backend';
export type { CudaStatus } from './native';
export {
  ConvBertConfig,
  ARCHITECTURE_HEADS,
  isConvBertArchitecture,
  PROBLEM_TYPES,
  SUMMARY_TYPES,
  type ConvBertArchitecture,
  type ProblemType,
  type SummaryType,
  type ActivationName,
  type FromPretrainedOptions as ConfigFromPretrainedOptions,
} from './config';
export {
  loadStateDict,
  loadStateDictSync,
  saveStateDict,
  saveStateDictSync,
  readSafetensors,
  readSafetensorsSync,
  writeSafetensors,
  writeSafetensorsSync,
  readTorchBin,
  readTorchBinSync,
  type StateDict,
  type SafetensorsFile,
  type TorchBinFile,
  type SaveStateDictOptions,
} from './weights';
export { resolveModelPath, hfHubDownload, hubCacheDir, type HubOptions, type HubProgressEvent } from './hub';
export {
  ConvBertTokenizerFast,
  NativeWordPieceCore,
  defaultTokenizerThreads,
  type ConvBertTokenizerFastOptions,
  type NativeCoreBatchOptions,
} from './tokenizer/fast';
