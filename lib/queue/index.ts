// index.ts: the queue side of the package (BullMQ on Redis). Importing it does not
// load bullmq; the worker and the client require it when constructed.
export {
  InferenceQueue,
  InferenceJobError,
  DEFAULT_JOB_OPTIONS,
  inferenceQueue,
  type InferenceQueueOptions,
  type JobOutcome,
  type RunManyOptions,
  type RunOptions,
} from './client';
export { InferenceWorker, runWorker, type InferenceWorkerOptions, type RunWorkerOptions, type RunningWorker } from './worker';
export { DEFAULT_JOB_LIMITS, type JobLimits } from './job';
export { DEFAULT_REDIS_URL, type RedisConnection, type RedisConnectionOptions } from './connection';
