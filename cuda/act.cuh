// act.cuh: HF's ACT2FN activations on the device, by convbert::Activation code.
// Shared by activation.cu and the fused gemm epilogue (gemm.cu). Reference:
// activation_row_ref (native/src/cpu/activation.cc); float math with the CUDA
// library's erff/tanhf/expf, a few ulp from the CPU.
#pragma once
#include <cuda_runtime.h>

namespace convbert {

__device__ __forceinline__ float act_device(float v, int act) {
  switch (act) {
    case 0: return v;
    case 1: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case 2: return 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case 3: return v / (1.0f + expf(-1.702f * v));
    case 4: return v > 0.0f ? v : 0.0f;
    case 5: return fminf(fmaxf(v, 0.0f), 6.0f);
    case 6: return v > 0.0f ? v * v : 0.0f;
    case 7: return v / (1.0f + expf(-v));
    case 8: return 1.0f / (1.0f + expf(-v));
    case 9: return tanhf(v);
    case 10: return v > 30.0f ? v * tanhf(v) : v * tanhf(log1pf(expf(v)));
    case 11: return fminf(fmaxf(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)), -10.0f), 10.0f);
    case 12: return 0.5f * (1.0f + erff((v - 0.707107f) / (0.282095f * 1.41421356237309505f)));
    case 13: return v >= 0.0f ? v : 0.01f * v;
    default: return v;
  }
}

}  // namespace convbert
