// test_main.cc: the native test runner (no Node, no third-party framework).
// Built by CMake as convbert_native_tests; CI runs it once under AddressSanitizer
// and UndefinedBehaviorSanitizer (`npm run test:sanitize`). Each test registers
// itself with CONVBERT_TEST and checks with EXPECT_*; the run prints
// "N passed, M failed" and exits non-zero on any failure.
#include "native_test.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace convbert_test {

std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}

Registrar::Registrar(const char* name, void (*fn)(Context&)) { registry().push_back({name, fn}); }

}  // namespace convbert_test

int main(int argc, char** argv) {
  using namespace convbert_test;
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0;
  for (const Case& c : registry()) {
    if (filter && !std::strstr(c.name, filter)) continue;
    Context ctx;
    c.fn(ctx);
    if (ctx.failures == 0) {
      ++passed;
      std::printf("ok   %s (%d checks)\n", c.name, ctx.checks);
    } else {
      ++failed;
      std::printf("FAIL %s (%d of %d checks failed)\n", c.name, ctx.failures, ctx.checks);
    }
  }
  std::printf("native: %d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
