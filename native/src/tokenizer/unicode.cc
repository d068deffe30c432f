// unicode.cc: lookups into the generated strip/lowercase maps (unicode_tables.cc).
// Hangul syllables are decomposed algorithmically (UAX #15) instead of stored;
// the generator checks that this matches Node's NFD.
#include <algorithm>

#include "unicode_tables.h"

namespace convbert {
namespace tokenizer {
namespace {

int lookup(const uint32_t* keys, uint32_t count, const uint32_t* offs, const uint32_t* pool, uint32_t cp,
           uint32_t out[4]) {
  const uint32_t* it = std::lower_bound(keys, keys + count, cp);
  if (it == keys + count || *it != cp) {
    out[0] = cp;
    return 1;
  }
  const size_t i = static_cast<size_t>(it - keys);
  const uint32_t b = offs[i], e = offs[i + 1];
  int n = 0;
  for (uint32_t k = b; k < e && n < 4; ++k) out[n++] = pool[k];
  return n;
}

}  // namespace

int strip_map(uint32_t cp, uint32_t out[4]) {
  if (cp >= 0xAC00 && cp <= 0xD7A3) {
    const uint32_t s = cp - 0xAC00;
    out[0] = 0x1100 + s / 588;
    out[1] = 0x1161 + (s % 588) / 28;
    if (s % 28 == 0) return 2;
    out[2] = 0x11A7 + s % 28;
    return 3;
  }
  return lookup(tables::kStripKeys, tables::kStripCount, tables::kStripOffsets, tables::kStripPool, cp, out);
}

int lower_map(uint32_t cp, uint32_t out[4]) {
  return lookup(tables::kLowerKeys, tables::kLowerCount, tables::kLowerOffsets, tables::kLowerPool, cp, out);
}

}  // namespace tokenizer
}  // namespace convbert
