#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "core/dtype.hpp"

using namespace seqc;

TEST_CASE("core/dtype/f16_round_trip_is_exact_for_every_half") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      CHECK((h & 0x7c00) == 0x7c00);
      CHECK(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    REQUIRE(f32_to_f16(f) == h);
  }
}

TEST_CASE("core/dtype/f16_known_values_and_rounding") {
  CHECK(f16_to_f32(0x3c00) == 1.0f);
  CHECK(f16_to_f32(0xc000) == -2.0f);
  CHECK(f16_to_f32(0x7bff) == 65504.0f);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f32_to_f16(65520.0f) == 0x7c00);           // rounds to inf
  CHECK(f32_to_f16(65519.0f) == 0x7bff);
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0);    // ties to even (zero)
  CHECK(f32_to_f16(std::ldexp(1.5f, -25)) == 1);
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie -> even
  CHECK(f32_to_f16(1.0f + std::ldexp(3.0f, -11)) == 0x3c02);
  CHECK(f32_to_f16(-0.0f) == 0x8000);
  CHECK(f32_to_f16(INFINITY) == 0x7c00);
}

TEST_CASE("core/dtype/bf16") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(uint16_t(h));
    if (!std::isnan(f)) REQUIRE(f32_to_bf16(f) == h);
  }
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // tie -> even
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST_CASE("core/dtype/convert_to_f32") {
  const uint16_t halves[3] = {0x3c00, 0xc000, 0x0000};
  float out[3];
  convert_to_f32(DType::f16, halves, out, 3);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == -2.0f);
  const double d[2] = {0.5, -3.25};
  convert_to_f32(DType::f64, d, out, 2);
  CHECK(out[1] == -3.25f);
  CHECK_THROWS(convert_to_f32(DType::i32, d, out, 1));
  CHECK(dtype_from_safetensors("BF16") == DType::bf16);
  CHECK(!dtype_from_safetensors("F8_E4M3").has_value());
  CHECK(dtype_size(DType::i64) == 8);
}
