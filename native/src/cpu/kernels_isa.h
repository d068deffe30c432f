// kernels_isa.h: entry points of the ISA-specific translation units.
// Plain declarations only (no STL, no inline helpers): the _avx2/_avx512 files
// are compiled with their own -m flags, and a shared inline function could be
// kept in its AVX-512 form and then run on a CPU without AVX-512.
#pragma once
#include <stdint.h>

namespace convbert {

// activation row kernels; act is a convbert::Activation value.
void activation_row_ref(const float* x, float* y, const float* bias, int64_t C, int32_t act);
void activation_row_avx2(const float* x, float* y, const float* bias, int64_t C, int32_t act);
void activation_row_avx512(const float* x, float* y, const float* bias, int64_t C, int32_t act);

}  // namespace convbert
