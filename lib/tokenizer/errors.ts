// errors.ts: the tokenizer's two error kinds. ERR_CONVBERT_TOKENIZER is a bad
// argument, option or file; ERR_CONVBERT_LIMIT is a call whose output would pass
// MAX_PADDED_LENGTH or MAX_OUTPUT_TOKENS (encoding.ts), refused before allocating.
import { ConvBertError } from '../errors';

export function tokError(message: string): ConvBertError {
  return new ConvBertError(message, 'ERR_CONVBERT_TOKENIZER');
}

export function limitError(message: string): ConvBertError {
  return new ConvBertError(message, 'ERR_CONVBERT_LIMIT');
}
