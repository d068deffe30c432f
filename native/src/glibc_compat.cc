// glibc_compat.cc: lets the addon built on a new glibc load on an old one (it then needs glibc
// 2.25, for getentropy; Node 20's own binaries need 2.28). The link (scripts/glibc_compat.js, binding.gyp) passes
// -static-libstdc++ and --wrap=<sym> for each symbol below: a wrapped reference, ours or one
// inside the static libstdc++, lands on the __wrap_ function here, which calls the oldest
// x86-64 version of the same glibc entry point. Since glibc 2.34 merged libpthread into libc,
// pthread_*@GLIBC_2.2.5 and pthread_*@GLIBC_2.34 are one function under two names; exp@2.2.5
// differs from exp@2.29 only in setting errno, which we compile without (-fno-math-errno).
// Without those link flags (the cmake builds, other libcs) these functions are never called.
#include <features.h>

#if defined(__linux__) && defined(__x86_64__) && defined(__GLIBC__)
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

// name_glibc225 is a reference to name@GLIBC_2.2.5 (the x86-64 base version).
#define CONVBERT_GLIBC_225(ret, name, args) \
  extern "C" ret name##_glibc225 args;      \
  __asm__(".symver " #name "_glibc225, " #name "@GLIBC_2.2.5");

CONVBERT_GLIBC_225(double, exp, (double))
CONVBERT_GLIBC_225(int, pthread_create, (pthread_t*, const pthread_attr_t*, void* (*)(void*), void*))
CONVBERT_GLIBC_225(int, pthread_join, (pthread_t, void**))
CONVBERT_GLIBC_225(int, pthread_detach, (pthread_t))
CONVBERT_GLIBC_225(int, pthread_once, (pthread_once_t*, void (*)(void)))
CONVBERT_GLIBC_225(int, pthread_key_create, (pthread_key_t*, void (*)(void*)))
CONVBERT_GLIBC_225(int, __pthread_key_create, (pthread_key_t*, void (*)(void*)))
CONVBERT_GLIBC_225(int, pthread_key_delete, (pthread_key_t))
CONVBERT_GLIBC_225(void*, pthread_getspecific, (pthread_key_t))
CONVBERT_GLIBC_225(int, pthread_setspecific, (pthread_key_t, const void*))

#define CONVBERT_HIDDEN __attribute__((visibility("hidden")))

extern "C" {

// libstdc++'s headers read glibc's __libc_single_threaded (2.32+) to skip atomics while a
// process has one thread. 0 means "may have threads": always atomic, correct everywhere.
CONVBERT_HIDDEN char __wrap___libc_single_threaded = 0;

CONVBERT_HIDDEN double __wrap_exp(double x) { return exp_glibc225(x); }
CONVBERT_HIDDEN int __wrap_pthread_create(pthread_t* t, const pthread_attr_t* a, void* (*f)(void*), void* arg) {
  return pthread_create_glibc225(t, a, f, arg);
}
CONVBERT_HIDDEN int __wrap_pthread_join(pthread_t t, void** r) { return pthread_join_glibc225(t, r); }
CONVBERT_HIDDEN int __wrap_pthread_detach(pthread_t t) { return pthread_detach_glibc225(t); }
CONVBERT_HIDDEN int __wrap_pthread_once(pthread_once_t* o, void (*f)(void)) { return pthread_once_glibc225(o, f); }
CONVBERT_HIDDEN int __wrap_pthread_key_create(pthread_key_t* k, void (*d)(void*)) {
  return pthread_key_create_glibc225(k, d);
}
CONVBERT_HIDDEN int __wrap___pthread_key_create(pthread_key_t* k, void (*d)(void*)) {
  return __pthread_key_create_glibc225(k, d);
}
CONVBERT_HIDDEN int __wrap_pthread_key_delete(pthread_key_t k) { return pthread_key_delete_glibc225(k); }
CONVBERT_HIDDEN void* __wrap_pthread_getspecific(pthread_key_t k) { return pthread_getspecific_glibc225(k); }
CONVBERT_HIDDEN int __wrap_pthread_setspecific(pthread_key_t k, const void* v) {
  return pthread_setspecific_glibc225(k, v);
}

// arc4random (2.36) is referenced only by std::random_device, which shares an object file of
// the static libstdc++ with string code we do use; the library never constructs one. If it is
// ever called: the kernel's entropy (getentropy, 2.25), then /dev/urandom, then the clock.
CONVBERT_HIDDEN uint32_t __wrap_arc4random(void) {
  uint32_t v = 0;
  if (getentropy(&v, sizeof v) == 0) return v;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, &v, sizeof v);
    close(fd);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
  }
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint32_t>(ts.tv_nsec) ^ static_cast<uint32_t>(ts.tv_sec * 2654435761u);
}

}  // extern "C"
#endif
