// A stream: one sequence's state, position, sampler settings and generator.
// Used by one thread at a time (enforced by a busy flag).
#pragma once

#include <atomic>
#include <cstdint>

#include "core/graph.hpp"
#include "core/model.hpp"
#include "core/sampler.hpp"
#include "core/workspace.hpp"

namespace seqc {

class Stream {
 public:
  explicit Stream(Ref<Model> model);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  const Ref<Model>& model() const { return model_; }
  int64_t position() const { return position_; }
  // The state buffer, in the model's device memory (a device pointer on
  // CUDA: use read_state/write_state from the host).
  std::byte* state() const { return state_.data(); }
  // Host copies of state bytes [offset, offset + n).
  void read_state(size_t offset, void* dst, size_t n) const;
  void write_state(size_t offset, const void* src, size_t n);

  // Copies state, position, sampler settings and generator into this stream
  // (same model).
  void copy_from(const Stream& other);
  void reset();

  // Arguments are validated by the caller (capi); token ids are in range.
  // Advances by n positions; out per mode.
  void forward(GraphInput in, int64_t n, OutputMode mode, float* out);
  // Steps each stream by one position in one batched pass (distinct streams
  // of one model).
  static void step_many(Stream* const* streams, size_t n, GraphInput in, float* out);
  // forward(tokens) then sample from the last output.
  int32_t generate(const int32_t* tokens, int64_t n);
  // Feeds tokens[i] to streams[i] and samples each stream's next token into
  // out[i], in batched passes (distinct streams of one token-to-logits model).
  static void generate_many(Stream* const* streams, size_t n, const int32_t* tokens, int32_t* out);
  int32_t sample(const float* logits);

  SamplingParams sampling;
  uint64_t seed = 0;
  Rng rng;
  int64_t position_ = 0;

  // The one-thread-at-a-time rule, checked: acquire() throws Code::busy when
  // another call holds the stream.
  void acquire();
  void release() noexcept { busy_.store(false, std::memory_order_release); }

 private:
  // Samples from a row's device-selected candidates (Graph TopK).
  int32_t sample_candidates(const float* vals, const int32_t* ids, int k, Workspace& hws);

  Ref<Model> model_;
  DeviceBuffer state_;
  std::atomic<bool> busy_{false};
};

// Holds a stream for the duration of one call.
class StreamGuard {
 public:
  explicit StreamGuard(Stream& s) : s_(s) { s_.acquire(); }
  ~StreamGuard() { s_.release(); }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream& s_;
};

}  // namespace seqc
