// index.ts: the model classes and their input/output types (re-exported by lib/index.ts).
export { ConvBertPreTrainedModel, type ModelOutputBase } from './base';
export { MAX_NUM_HIDDEN_LAYERS } from './limits';
export type { LoadInfo } from './checkpoint_map';
export type { FromPretrainedOptions, FromConfigOptions } from './load_options';
export type { ModelDtype, PretrainedDtype, TransformersJsDtype, ModelDevice } from './placement';
export type { PackedRow, PackedRowOutput } from './packed';
export { ConvBertModel, type BaseModelOutput, type ConvBertModelInputs } from './convbert';
export { ConvBertForMaskedLM, type MaskedLMInputs, type MaskedLMOutput } from './heads/masked_lm';
export { ConvBertForSequenceClassification, type SequenceClassificationInputs, type SequenceClassifierOutput } from './heads/sequence_classification';
export { ConvBertForTokenClassification, type TokenClassificationInputs, type TokenClassifierOutput } from './heads/token_classification';
export { ConvBertForQuestionAnswering, type QuestionAnsweringInputs, type QuestionAnsweringModelOutput } from './heads/question_answering';
export { ConvBertForMultipleChoice, type MultipleChoiceInputs, type MultipleChoiceModelOutput } from './heads/multiple_choice';
export type { ConvBertInputs, ForwardOptions, TensorInput } from './inputs';
