// cpu.h: CPU feature detection and the op table chosen from it (MLAS style:
// CPUID is read once, then every op goes through a table of function pointers).
// CONVBERT_ISA=generic|avx2|avx512 forces a lower path; it never raises one.
#pragma once
#include <cstdint>
#include <string>

#include "convbert/ops.h"

namespace convbert {

enum class Isa : int32_t { kGeneric = 0, kAvx2 = 1, kAvx512 = 2 };

const char* isa_name(Isa isa);
// Best path this CPU and OS support (AVX-512 needs F+BW+VL+DQ and ZMM state enabled).
Isa detect_isa();
// detect_isa(), lowered by CONVBERT_ISA if set. Read once at first use.
Isa active_isa();
// The op table for one path; a path the CPU lacks falls back to the best it has.
const OpTable& cpu_ops(Isa isa);
// The table for active_isa().
const OpTable& cpu_ops();
// Whether this CPU has AVX512_BF16 (and the AVX-512 path): the avx512 table then
// carries gemm_bf16_block; lower paths run bf16 gemms on the fp32 kernels.
bool cpu_has_avx512bf16();
// Whether this CPU has AVX512_VNNI (and the AVX-512 path): the avx512 table then
// runs int8 gemms with vpdpbusd; otherwise with the AVX2 int16 kernels.
bool cpu_has_avx512vnni();
// Why CONVBERT_ISA was not honoured, if it was set to something unusable ("" otherwise).
const std::string& isa_override_note();

}  // namespace convbert
