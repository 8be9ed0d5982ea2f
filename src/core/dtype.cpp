#include "core/dtype.hpp"

#include <bit>
#include <cstring>

#include "core/status.hpp"

namespace seqc {

static_assert(std::endian::native == std::endian::little,
              "libseqcore reads little-endian files in place; big-endian hosts need byte swapping here");

size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::f32: case DType::i32: return 4;
    case DType::f16: case DType::bf16: return 2;
    case DType::i8: case DType::u8: case DType::boolean: return 1;
    case DType::i64: case DType::f64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) noexcept {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i8: return "i8";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
    case DType::i64: return "i64";
    case DType::f64: return "f64";
    case DType::boolean: return "bool";
  }
  return "?";
}

std::optional<DType> dtype_from_safetensors(std::string_view n) noexcept {
  if (n == "F32") return DType::f32;
  if (n == "F16") return DType::f16;
  if (n == "BF16") return DType::bf16;
  if (n == "F64") return DType::f64;
  if (n == "I8") return DType::i8;
  if (n == "U8") return DType::u8;
  if (n == "I32") return DType::i32;
  if (n == "I64") return DType::i64;
  if (n == "BOOL") return DType::boolean;
  return std::nullopt;
}

const char* dtype_safetensors_name(DType t) noexcept {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i8: return "I8";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
    case DType::i64: return "I64";
    case DType::f64: return "F64";
    case DType::boolean: return "BOOL";
  }
  return "?";
}

bool dtype_is_float(DType t) noexcept {
  return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64;
}

float f16_to_f32(uint16_t h) noexcept {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);  // inf or NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      man <<= 1;
      ++e;
    } while ((man & 0x400u) == 0);
    bits = sign | uint32_t(112 - e) << 23 | ((man & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t f32_to_f16(float f) noexcept {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u)  // inf or NaN
    return uint16_t(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (ax < 0x33000000u) return uint16_t(sign);  // < 2^-25: rounds to zero
    const uint32_t e = ax >> 23;
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return uint16_t(sign | r);
  }
  uint32_t r = ((ax - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  const uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return uint16_t(sign | r);
}

float bf16_to_f32(uint16_t h) noexcept { return std::bit_cast<float>(uint32_t(h) << 16); }

uint16_t f32_to_bf16(float f) noexcept {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}

void convert_to_f32(DType t, const void* src, float* dst, size_t n) {
  const auto* p = static_cast<const unsigned char*>(src);
  switch (t) {
    case DType::f32:
      std::memcpy(dst, p, n * 4);
      return;
    case DType::f16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      return;
    case DType::bf16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case DType::f64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        dst[i] = float(d);
      }
      return;
    default:
      fail(Code::dtype, "cannot convert ", dtype_name(t), " to f32");
  }
}

}  // namespace seqc
