// native_test.h: a minimal self-registering test harness for the native tests.
#pragma once
#include <cmath>
#include <cstdio>

namespace convbert_test {

struct Context {
  int checks = 0;
  int failures = 0;
};

struct Case {
  const char* name;
  void (*fn)(Context&);
};

struct Registrar {
  Registrar(const char* name, void (*fn)(Context&));
};

}  // namespace convbert_test

#define CONVBERT_TEST(name)                                       \
  static void name(convbert_test::Context& ctx_);                 \
  static convbert_test::Registrar name##_registrar(#name, &name); \
  static void name(convbert_test::Context& ctx_)

#define EXPECT_TRUE(cond)                                               \
  do {                                                                  \
    ++ctx_.checks;                                                      \
    if (!(cond)) {                                                      \
      ++ctx_.failures;                                                  \
      std::printf("  %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
    }                                                                   \
  } while (0)

// |got - want| <= atol + rtol |want|
#define EXPECT_CLOSE(got, want, atol, rtol)                                                 \
  do {                                                                                      \
    ++ctx_.checks;                                                                          \
    const double g_ = (got), w_ = (want);                                                   \
    if (!(std::fabs(g_ - w_) <= (atol) + (rtol)*std::fabs(w_))) {                           \
      ++ctx_.failures;                                                                      \
      std::printf("  %s:%d: %s = %.9g, expected %.9g\n", __FILE__, __LINE__, #got, g_, w_); \
    }                                                                                       \
  } while (0)
