// errors.ts: the one error class of the library. Every failure a user can
// cause (bad arguments, bad files, unsupported configs, native failures)
// arrives as a ConvBertError with a Node-style `code`, and the message names
// the argument or file, what was expected, and what was found.

export type ConvBertErrorCode =
  | 'ERR_CONVBERT_ARG' // an argument has the wrong type or value
  | 'ERR_CONVBERT_SHAPE' // tensor dims disagree with each other or with the data
  | 'ERR_CONVBERT_DTYPE' // wrong or unknown element type
  | 'ERR_CONVBERT_CONFIG' // a config.json that transformers could not run either
  | 'ERR_CONVBERT_WEIGHTS' // a checkpoint file that is malformed or inconsistent
  | 'ERR_CONVBERT_UNSAFE_PICKLE' // a pytorch_model.bin asking for a forbidden global or opcode
  | 'ERR_CONVBERT_IO' // a file that cannot be read or written
  | 'ERR_CONVBERT_UNSUPPORTED' // valid input this build cannot run
  | 'ERR_CONVBERT_NATIVE_LOAD' // the addon could not be loaded
  | 'ERR_CONVBERT_CUDA' // a CUDA error, with the runtime's message
  | 'ERR_CONVBERT_OOM' // an allocation failed
  | 'ERR_CONVBERT_TOKENIZER' // tokenizer input HF would also reject
  | 'ERR_CONVBERT_DISPOSED' // a model used after dispose()
  | 'ERR_CONVBERT_HUB_NOT_FOUND' // a Hub repo, revision or file that does not exist (HTTP 404)
  | 'ERR_CONVBERT_HUB_AUTH' // the Hub refused access (HTTP 401/403): private or gated repo, or a bad HF_TOKEN
  | 'ERR_CONVBERT_HUB_OFFLINE' // offline mode (HF_HUB_OFFLINE=1 / localFilesOnly) and the file is not in the cache
  | 'ERR_CONVBERT_HUB_INTEGRITY' // a downloaded file whose size or sha256 disagrees with what the Hub announced
  | 'ERR_CONVBERT_HUB_NETWORK' // the Hub could not be reached or kept failing (connection errors, 5xx) after retries
  | 'ERR_CONVBERT_OVERLOADED' // a batcher's queue is full (the server answers 429): retry later
  | 'ERR_CONVBERT_TIMEOUT' // a request passed its deadline (timeoutMs) before its result came
  | 'ERR_CONVBERT_LIMIT' // a call asks for more work than its limits allow (model rows, fill-mask candidates; the server answers 413)
  | 'ERR_CONVBERT_QUEUE' // the job queue: bullmq not installed, Redis unreachable, a job lost or failed without a library code
  | 'ERR_CONVBERT_INTERNAL'; // a bug: please report it

export class ConvBertError extends Error {
  readonly code: ConvBertErrorCode;

  constructor(message: string, code: ConvBertErrorCode = 'ERR_CONVBERT_INTERNAL', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConvBertError';
    this.code = code;
  }
}

/** Shorthand used by validation code: `throw argError('x: expected ...')`. */
export function argError(message: string): ConvBertError {
  return new ConvBertError(message, 'ERR_CONVBERT_ARG');
}

export function shapeError(message: string): ConvBertError {
  return new ConvBertError(message, 'ERR_CONVBERT_SHAPE');
}

export function dtypeError(message: string): ConvBertError {
  return new ConvBertError(message, 'ERR_CONVBERT_DTYPE');
}
