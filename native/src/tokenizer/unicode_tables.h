// unicode_tables.h: per-code-point Unicode data for the BERT normalizer and
// pre-tokenizer. The data (unicode_tables.cc) is generated from Node's own
// Unicode tables by scripts/gen_tokenizer_tables.js. Lookups are O(1) for the
// flags and a binary search in the (rare) strip/lowercase maps.
#pragma once
#include <cstdint>

namespace convbert {
namespace tokenizer {

enum : uint8_t {
  kFlagRemove = 1,  // clean_text drops it: NUL, U+FFFD, Cc/Cf/Co/Cs except \t\n\r, lone surrogates
  kFlagSpace = 2,   // White_Space or \t\n\r: a word boundary
  kFlagPunct = 4,   // ASCII punctuation or P*: a word of its own
  kFlagStrip = 8,   // NFD then dropping Mn changes it
  kFlagLower = 16,  // per-code-point lowercase changes it
};

namespace tables {
extern const uint16_t kStage1[0x1100];
extern const uint8_t kStage2[];
extern const uint32_t kStripKeys[], kStripOffsets[], kStripPool[];
extern const uint32_t kLowerKeys[], kLowerOffsets[], kLowerPool[];
extern const uint32_t kStripCount, kLowerCount;
}  // namespace tables

inline uint8_t unicode_flags(uint32_t cp) {
  if (cp >= 0x110000) return 0;
  return tables::kStage2[(uint32_t(tables::kStage1[cp >> 8]) << 8) | (cp & 255)];
}

// The CJK ideograph ranges of the Rust BertNormalizer (its 0x2B920 start included).
inline bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// The code points `cp` becomes; writes at most 4 (enough for every mapping in
// the tables, checked by the generator's output size) and returns the count.
// Only call when the matching flag is set.
int strip_map(uint32_t cp, uint32_t out[4]);
int lower_map(uint32_t cp, uint32_t out[4]);

}  // namespace tokenizer
}  // namespace convbert
