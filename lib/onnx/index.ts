// index.ts: the ONNX export's public surface (re-exported by lib/index.ts).
export {
  exportOnnx,
  exportOnnxBytes,
  ONNX_HEADS,
  ONNX_UNSUPPORTED_FEATURES,
  MIN_OPSET,
  MAX_OPSET,
  DEFAULT_OPSET,
  type OnnxHead,
  type OnnxExportOptions,
  type OnnxExportInfo,
  type OnnxExportSource,
  type OnnxExportModelLike,
  type ConvBertConfigLike,
} from './export';
