// dispatch.cc: reads CPUID once and fills one OpTable per ISA path.
// The generic table is always complete; the AVX2 and AVX-512 tables start as
// copies of the path below and replace only the kernels that path has.
#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "convbert/cpu.h"
#include "kernels_isa.h"

namespace convbert {
namespace {

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// AVX512_BF16: CPUID leaf 7 subleaf 1 EAX bit 5, on top of the AVX-512 path.
bool probe_bf16() {
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  unsigned a, b, c, d;
  __cpuid_count(7, 0, a, b, c, d);
  if (a < 1) return false;  // max subleaf of leaf 7
  __cpuid_count(7, 1, a, b, c, d);
  return a & (1u << 5);
}

// AVX512_VNNI: CPUID leaf 7 subleaf 0 ECX bit 11, on top of the AVX-512 path.
bool probe_vnni() {
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  unsigned a, b, c, d;
  __cpuid_count(7, 0, a, b, c, d);
  return c & (1u << 11);
}

Isa probe() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::kGeneric;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), avx = c & (1u << 28);
  if (!osxsave || !avx) return Isa::kGeneric;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::kGeneric;  // XMM and YMM state saved by the OS
  if (__get_cpuid_max(0, nullptr) < 7) return Isa::kGeneric;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;  // opmask, ZMM_Hi256, Hi16_ZMM
  if (avx512f && avx512dq && avx512bw && avx512vl && zmm_state && fma) return Isa::kAvx512;
  if (avx2 && fma) return Isa::kAvx2;
  return Isa::kGeneric;
}

struct Tables {
  OpTable generic, avx2, avx512;
  Tables() {
    generic.name = "generic";
    generic.activation_row = activation_row_ref;
    generic.gemm_block = gemm_block_ref;
    generic.layernorm_row = layernorm_row_ref;
    generic.softmax_row = softmax_row_ref;
    generic.dynconv_row = dynconv_row_ref;
    generic.sepconv_row = sepconv_row_ref;
    generic.embedding_row = embedding_row_ref;
    generic.gemm_i8_block = gemm_i8_block_ref;
    generic.i8_minmax_row = i8_minmax_row_ref;
    generic.i8_quantize_row = i8_quantize_row_ref;
    generic.gemm_i8_name = "generic";

    avx2 = generic;
    avx2.name = "avx2";
    avx2.activation_row = activation_row_avx2;
    avx2.gemm_block = gemm_block_avx2;
    avx2.layernorm_row = layernorm_row_avx2;
    avx2.softmax_row = softmax_row_avx2;
    avx2.dynconv_row = dynconv_row_avx2;
    avx2.sepconv_row = sepconv_row_avx2;
    avx2.gemm_i8_block = gemm_i8_block_avx2;
    avx2.i8_minmax_row = i8_minmax_row_avx2;
    avx2.i8_quantize_row = i8_quantize_row_avx2;
    avx2.gemm_i8_name = "avx2";

    avx512 = avx2;
    avx512.name = "avx512";
    avx512.activation_row = activation_row_avx512;
    avx512.gemm_block = gemm_block_avx512;
    avx512.gemm_block_stream = gemm_block_stream_avx512;
    avx512.layernorm_row = layernorm_row_avx512;
    avx512.softmax_row = softmax_row_avx512;
    avx512.dynconv_row = dynconv_row_avx512;
    avx512.sepconv_row = sepconv_row_avx512;
    avx512.embedding_row = embedding_row_avx512;
    if (probe() == Isa::kAvx512 && probe_bf16()) {
      avx512.gemm_bf16_block = gemm_bf16_block_avx512bf16;
      avx512.gemm_bf16_block_stream = gemm_bf16_block_stream_avx512bf16;
      avx512.bf16_convert_row = f32_to_bf16_row_avx512bf16;
    }
    // Without VNNI the avx512 table keeps the AVX2 int8 kernels (same integers).
    if (probe() == Isa::kAvx512 && probe_vnni()) {
      avx512.gemm_i8_block = gemm_i8_block_avx512vnni;
      avx512.i8_minmax_row = i8_minmax_row_avx512vnni;
      avx512.i8_quantize_row = i8_quantize_row_avx512vnni;
      avx512.gemm_i8_name = "avx512_vnni";
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

struct Active {
  Isa best;
  Isa active;
  std::string note;
  Active() {
    best = probe();
    active = best;
    const char* env = std::getenv("CONVBERT_ISA");
    if (env && *env) {
      Isa want;
      if (!std::strcmp(env, "generic")) want = Isa::kGeneric;
      else if (!std::strcmp(env, "avx2")) want = Isa::kAvx2;
      else if (!std::strcmp(env, "avx512")) want = Isa::kAvx512;
      else {
        note = std::string("CONVBERT_ISA=") + env + " is not one of generic|avx2|avx512; using " + isa_name(best);
        return;
      }
      if (want > best) {
        note = std::string("CONVBERT_ISA=") + env + " is not supported by this CPU; using " + isa_name(best);
        return;
      }
      active = want;
    }
  }
};

const Active& active_state() {
  static const Active a;
  return a;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kGeneric: return "generic";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "generic";
}

Isa detect_isa() { return active_state().best; }
Isa active_isa() { return active_state().active; }
const std::string& isa_override_note() { return active_state().note; }

const OpTable& cpu_ops(Isa isa) {
  const Isa best = detect_isa();
  if (isa > best) isa = best;
  switch (isa) {
    case Isa::kAvx512: return tables().avx512;
    case Isa::kAvx2: return tables().avx2;
    case Isa::kGeneric: break;
  }
  return tables().generic;
}

const OpTable& cpu_ops() { return cpu_ops(active_isa()); }

bool cpu_has_avx512bf16() { return tables().avx512.gemm_bf16_block != nullptr; }

bool cpu_has_avx512vnni() { return tables().avx512.gemm_i8_block == gemm_i8_block_avx512vnni; }

}  // namespace convbert
