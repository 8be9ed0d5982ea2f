#include <doctest/doctest.h>

#include <cstring>

#include "core/status.hpp"
#include "io/safetensors.hpp"

using namespace seqc;

TEST_CASE("io/safetensors/write_then_parse") {
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const uint16_t h[2] = {0x3c00, 0x4000};
  const std::vector<StWriteTensor> in = {
      {"b", DType::f16, {2}, h, 4}, {"a", DType::f32, {2, 3}, a, 24}, {"empty", DType::f32, {0, 5}, nullptr, 0}};
  const auto bytes = write_safetensors(in, {{"k", "v"}});
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  const Safetensors st = Safetensors::parse(bytes.data(), bytes.size());
  REQUIRE(st.tensors().size() == 3);
  CHECK(st.tensors()[0].name == "a");  // sorted
  CHECK(st.metadata().at("k") == "v");
  const StTensor* t = st.find("a");
  REQUIRE(t);
  CHECK(t->shape == std::vector<int64_t>{2, 3});
  CHECK(std::memcmp(t->data, a, 24) == 0);
  CHECK(st.find("b")->dtype == DType::f16);
  CHECK(st.find("empty")->nbytes == 0);
  CHECK(st.find("zzz") == nullptr);
}

TEST_CASE("io/safetensors/mapped_file_errors") {
  CHECK_THROWS_AS(MappedFile("/nonexistent/x"), Error);
  try {
    MappedFile f("/");
    FAIL("a directory was mapped");
  } catch (const Error& e) {
    CHECK(e.code() == Code::io);
  }
}
