#include "cpu/cpu_features.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace seqc::cpu {

namespace {

#if defined(__x86_64__)
// The OS must save the vector registers on context switch, or using them
// corrupts state: XCR0 bits 1-2 (SSE, AVX) and 5-7 (opmask, ZMM halves).
unsigned long long xcr0() {
  unsigned eax, edx;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

Isa probe() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::scalar;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28);
  if (!(fma && osxsave && avx)) return Isa::scalar;
  const unsigned long long xcr = xcr0();
  if ((xcr & 0x6) != 0x6) return Isa::scalar;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::scalar;
  const bool avx2 = b & (1u << 5);
  if (!avx2) return Isa::scalar;
  const bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  if (f && dq && bw && vl && (xcr & 0xe0) == 0xe0) return Isa::avx512;
  return Isa::avx2;
}
#else
Isa probe() { return Isa::scalar; }
#endif

Isa from_env(Isa detected) {
  const char* s = std::getenv("SEQC_ISA");
  if (!s) return detected;
  Isa want;
  if (std::strcmp(s, "scalar") == 0) want = Isa::scalar;
  else if (std::strcmp(s, "avx2") == 0) want = Isa::avx2;
  else if (std::strcmp(s, "avx512") == 0) want = Isa::avx512;
  else return detected;
  return static_cast<int>(want) < static_cast<int>(detected) ? want : detected;
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = probe();
  return isa;
}

Isa active_isa() {
  static const Isa isa = from_env(detected_isa());
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

}  // namespace seqc::cpu
