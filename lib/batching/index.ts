// index.ts: dynamic batching (re-exported by lib/index.ts): the generic batcher
// and withBatching(model), which batches a model's rows across concurrent callers.
export { DynamicBatcher, timeoutError, type BatcherOptions, type BatcherStats, type LatencyPercentiles, type SubmitOptions } from './batcher';
export {
  withBatching,
  attachBatching,
  runWithSubmitOptions,
  runRowsByLength,
  type BatchedModel,
  type BatchingExtras,
  type BatchingOptions,
  type ForwardPackedFn,
  type BatchRow,
  type BatchRowOutput,
} from './model';
