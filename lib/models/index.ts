// index.ts: the model classes and their input/output types (re-exported by lib/index.ts).
export {
  ConvBertPreTrainedModel,
  MAX_NUM_HIDDEN_LAYERS,
  type FromPretrainedOptions,
  type FromConfigOptions,
  type ModelDtype,
  type PretrainedDtype,
  type TransformersJsDtype,
  type ModelDevice,
  type LoadInfo,
  type ModelOutputBase,
  type PackedRow,
  type PackedRowOutput,
} from './base';
export { ConvBertModel, type BaseModelOutput, type ConvBertModelInputs } from './convbert';
export { ConvBertForMaskedLM, type MaskedLMInputs, type MaskedLMOutput } from './heads/masked_lm';
export {
  ConvBertForSequenceClassification,
  type SequenceClassificationInputs,
  type SequenceClassifierOutput,
} from './heads/sequence_classification';
export {
  ConvBertForTokenClassification,
  type TokenClassificationInputs,
  type TokenClassifierOutput,
} from './heads/token_classification';
export {
  ConvBertForQuestionAnswering,
  type QuestionAnsweringInputs,
  type QuestionAnsweringModelOutput,
} from './heads/question_answering';
export {
  ConvBertForMultipleChoice,
  type MultipleChoiceInputs,
  type MultipleChoiceModelOutput,
} from './heads/multiple_choice';
export type { ConvBertInputs, ForwardOptions, TensorInput } from './inputs';
