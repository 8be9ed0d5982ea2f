// libFuzzer target: restoring arbitrary bytes as a snapshot of a small model.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_seeds.hpp"
#include "seqcore/seqcore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static seqc_model* model = [] {
    const std::vector<std::byte> bytes = seqc::fuzz::seed_model();
    seqc_model* m = nullptr;
    seqc_model_load_buffer(nullptr, bytes.data(), bytes.size(), &m);
    return m;
  }();
  seqc_stream* s = nullptr;
  if (seqc_stream_create(model, &s) != SEQC_OK) return 0;
  if (seqc_stream_restore(s, data, size) == SEQC_OK) seqc_stream_step_token(s, 1, nullptr, 0);
  seqc_stream_destroy(s);
  return 0;
}
