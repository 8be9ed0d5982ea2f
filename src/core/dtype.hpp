// Element types. The numeric values of the public ones equal seqc_dtype.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace seqc {

enum class DType : int {
  f32 = 0,
  f16 = 1,
  bf16 = 2,
  i8 = 3,
  i32 = 4,
  u8 = 5,
  i64 = 6,
  f64 = 7,
  boolean = 100,  // only seen in files; never a state or compute type
};

size_t dtype_size(DType t) noexcept;
const char* dtype_name(DType t) noexcept;  // "f32"
// safetensors spelling ("F32", "BF16", ...); nullopt for names we do not read.
std::optional<DType> dtype_from_safetensors(std::string_view name) noexcept;
const char* dtype_safetensors_name(DType t) noexcept;
bool dtype_is_float(DType t) noexcept;

float f16_to_f32(uint16_t h) noexcept;
uint16_t f32_to_f16(float f) noexcept;    // round to nearest even
float bf16_to_f32(uint16_t h) noexcept;
uint16_t f32_to_bf16(float f) noexcept;   // round to nearest even, NaN kept

// Convert n little-endian elements of a float dtype (f32, f16, bf16, f64) to
// f32. src needs no alignment.
void convert_to_f32(DType src_type, const void* src, float* dst, size_t n);

}  // namespace seqc
