// libFuzzer target: model loading from arbitrary bytes, then one step.
#include <cstddef>
#include <cstdint>

#include "seqcore/seqcore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seqc_model* m = nullptr;
  if (seqc_model_load_buffer(nullptr, data, size, &m) != SEQC_OK) return 0;
  seqc_stream* s = nullptr;
  if (seqc_stream_create(m, &s) == SEQC_OK) {
    float out[4096];
    const size_t w = size_t(seqc_model_output_width(m));
    if (seqc_model_input_kind(m) == SEQC_INPUT_TOKENS) {
      seqc_stream_step_token(s, 0, w <= 4096 ? out : nullptr, w <= 4096 ? w : 0);
    } else if (seqc_model_input_width(m) <= 4096) {
      float in[4096] = {};
      seqc_stream_step(s, in, size_t(seqc_model_input_width(m)), w <= 4096 ? out : nullptr, w <= 4096 ? w : 0);
    }
    seqc_stream_destroy(s);
  }
  seqc_model_unref(m);
  return 0;
}
