// Which SIMD instruction set the CPU kernels run with. Every kernel gives the
// same bits on every ISA (see gemm.hpp, vmath.hpp), so the choice only changes
// speed; SEQC_ISA lets a user or a test pin a lower one.
#pragma once

namespace seqc::cpu {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };

// The best ISA this CPU and OS support: avx2 needs AVX2 + FMA, avx512 needs
// AVX-512 F, BW, VL and DQ with the ZMM state enabled by the OS (XCR0).
// Always Isa::scalar on non-x86 builds.
Isa detected_isa();

// detected_isa() lowered by the environment variable SEQC_ISA
// (scalar|avx2|avx512), read once on first call. A request above the detected
// ISA, or an unknown value, is ignored.
Isa active_isa();

// "scalar", "avx2" or "avx512".
const char* isa_name(Isa isa);

}  // namespace seqc::cpu
