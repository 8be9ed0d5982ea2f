#include "core/stream.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/status.hpp"
#include "cpu/thread_pool.hpp"
#include "cuda/cuda_api.hpp"

namespace seqc {

namespace {

GraphInput offset_input(GraphInput in, int64_t rows, int64_t width) {
  if (in.tokens) return {nullptr, in.tokens + rows};
  return {in.frames + rows * width, nullptr};
}

// Runs n positions of one stream in chunks of at most max_rows. On the CPU the
// graph is exact, so the chunking never changes a bit of the result.
void run_positions(const Model& m, Workspace& ws, std::byte* state, GraphInput in, int64_t n,
                   OutputMode mode, float* out, const TopK* topk = nullptr) {
  RunCtx ctx{m.runtime->pool(), ws, m.runtime->device_impl().cuda_ctx()};
  std::byte* bases[1] = {state};
  const int64_t width = m.input_kind == InputKind::frames ? m.input_width : 1;
  for (int64_t done = 0; done < n;) {
    const int64_t c = std::min<int64_t>(m.max_rows, n - done);
    const bool last_chunk = done + c == n;
    OutputMode cm = OutputMode::none;
    float* o = nullptr;
    if (mode == OutputMode::all) {
      cm = OutputMode::all;
      o = out + done * m.output_width;
    } else if (mode == OutputMode::last && last_chunk) {
      cm = OutputMode::last;
      o = out;
    }
    m.graph.run_chunk(ctx, offset_input(in, done, width), 1, c, bases, cm, o,
                      cm == OutputMode::last ? topk : nullptr);
    done += c;
  }
}

// Candidates to select on the device for sampling with p, or 0 when the
// sampler needs the whole row (temperature > 0 with no or a large top_k).
int device_candidates(const SamplingParams& p) {
  if (p.temperature == 0.0f) return 1;
  return p.top_k >= 1 && p.top_k <= cuda::kSelectMax ? p.top_k : 0;
}

}  // namespace

Stream::Stream(Ref<Model> model)
    : model_(std::move(model)), state_(model_->runtime->device_mut(), model_->state_bytes) {
  rng.seed(seed);
}

void Stream::acquire() {
  if (busy_.exchange(true, std::memory_order_acquire))
    fail(Code::busy, "the stream is in use by another call (streams are used by one thread at a time)");
}

void Stream::copy_from(const Stream& o) {
  SEQC_CHECK(o.model_.get() == model_.get());
  if (model_->state_bytes) model_->runtime->device_mut().copy_within(state_.data(), o.state_.data(), model_->state_bytes);
  position_ = o.position_;
  sampling = o.sampling;
  seed = o.seed;
  rng = o.rng;
}

void Stream::reset() {
  if (model_->state_bytes) model_->runtime->device_mut().fill_zero(state_.data(), model_->state_bytes);
  position_ = 0;
  rng.seed(seed);
}

void Stream::forward(GraphInput in, int64_t n, OutputMode mode, float* out) {
  auto ws = model_->workspaces.take();
  run_positions(*model_, *ws, state_.data(), in, n, mode, out);
  position_ += n;
}

void Stream::read_state(size_t offset, void* dst, size_t n) const {
  SEQC_CHECK(offset + n <= model_->state_bytes);
  if (n) model_->runtime->device_mut().copy_to_host(dst, state_.data() + offset, n);
}

void Stream::write_state(size_t offset, const void* src, size_t n) {
  SEQC_CHECK(offset + n <= model_->state_bytes);
  if (n) model_->runtime->device_mut().copy_from_host(state_.data() + offset, src, n);
}

void Stream::step_many(Stream* const* streams, size_t n, GraphInput in, float* out) {
  const Model& m = *streams[0]->model_;
  auto ws = m.workspaces.take();
  auto hws = m.host_workspaces.take();
  RunCtx ctx{m.runtime->pool(), *ws, m.runtime->device_impl().cuda_ctx()};
  std::byte** bases = hws->alloc<std::byte*>(size_t(m.max_rows));
  const int64_t width = m.input_kind == InputKind::frames ? m.input_width : 1;
  for (size_t done = 0; done < n;) {
    const size_t g = std::min<size_t>(size_t(m.max_rows), n - done);
    for (size_t b = 0; b < g; ++b) bases[b] = streams[done + b]->state_.data();
    m.graph.run_chunk(ctx, offset_input(in, int64_t(done), width), int64_t(g), 1, bases,
                      out ? OutputMode::all : OutputMode::none,
                      out ? out + done * size_t(m.output_width) : nullptr);
    done += g;
  }
  for (size_t i = 0; i < n; ++i) ++streams[i]->position_;
}

int32_t Stream::generate(const int32_t* tokens, int64_t n) {
  auto ws = model_->workspaces.take();
  auto hws = model_->host_workspaces.take();
  const int k = model_->runtime->device_impl().cuda_ctx() ? device_candidates(sampling) : 0;
  if (k > 0) {
    TopK tk{k, hws->alloc<float>(size_t(k)), hws->alloc<int32_t>(size_t(k))};
    run_positions(*model_, *ws, state_.data(), {nullptr, tokens}, n, OutputMode::last, nullptr, &tk);
    position_ += n;
    return sample_candidates(tk.vals, tk.ids, k, *hws);
  }
  float* logits = hws->alloc<float>(size_t(model_->output_width));
  run_positions(*model_, *ws, state_.data(), {nullptr, tokens}, n, OutputMode::last, logits);
  position_ += n;
  return sample_token(logits, model_->output_width, sampling, rng, *hws);
}

int32_t Stream::sample_candidates(const float* vals, const int32_t* ids, int k, Workspace& hws) {
  // vals/ids are the row's k best entries in the sampler's own order (value
  // descending, then id), NaN left out: sampling among them with top_k <= k
  // picks what sampling the whole row would, drawing the same rng values.
  int m = 0;
  while (m < k && ids[m] >= 0) ++m;
  if (m == 0) {  // every logit NaN: the sampler's answer for an all-NaN row
    if (sampling.temperature != 0.0f) (void)rng.next();
    return 0;
  }
  return ids[sample_token(vals, m, sampling, rng, hws)];
}

void Stream::generate_many(Stream* const* streams, size_t n, const int32_t* tokens, int32_t* out) {
  const Model& m = *streams[0]->model_;
  auto ws = m.workspaces.take();
  auto hws = m.host_workspaces.take();
  RunCtx ctx{m.runtime->pool(), *ws, m.runtime->device_impl().cuda_ctx()};
  std::byte** bases = hws->alloc<std::byte*>(size_t(m.max_rows));
  // On CUDA: the most candidates any stream needs, or 0 if one needs its row.
  int k = ctx.cu ? 1 : 0;
  for (size_t i = 0; i < n && k > 0; ++i) {
    const int ki = device_candidates(streams[i]->sampling);
    k = ki == 0 ? 0 : std::max(k, ki);
  }
  std::vector<int32_t> picked(n);
  std::vector<float> logits;  // rows of one chunk, when sampled on the host
  if (k == 0) logits.resize(size_t(std::min<int64_t>(m.max_rows, int64_t(n))) * size_t(m.output_width));
  TopK tk{k};
  if (k > 0) {
    tk.vals = hws->alloc<float>(size_t(m.max_rows * k));
    tk.ids = hws->alloc<int32_t>(size_t(m.max_rows * k));
  }
  for (size_t done = 0; done < n;) {
    const size_t g = std::min<size_t>(size_t(m.max_rows), n - done);
    for (size_t b = 0; b < g; ++b) bases[b] = streams[done + b]->state_.data();
    m.graph.run_chunk(ctx, {nullptr, tokens + done}, int64_t(g), 1, bases, OutputMode::all,
                      k > 0 ? nullptr : logits.data(), k > 0 ? &tk : nullptr);
    for (size_t b = 0; b < g; ++b) {
      Stream& s = *streams[done + b];
      picked[done + b] = k > 0 ? s.sample_candidates(tk.vals + b * size_t(k), tk.ids + b * size_t(k), k, *hws)
                               : sample_token(logits.data() + b * size_t(m.output_width), m.output_width,
                                              s.sampling, s.rng, *hws);
    }
    done += g;
  }
  for (size_t i = 0; i < n; ++i) {
    ++streams[i]->position_;
    out[i] = picked[i];
  }
}

int32_t Stream::sample(const float* logits) {
  auto hws = model_->host_workspaces.take();
  return sample_token(logits, model_->output_width, sampling, rng, *hws);
}

}  // namespace seqc
