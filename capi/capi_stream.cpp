#include <cstring>

#include "capi_common.hpp"
#include "io/snapshot.hpp"

using namespace seqc;
using seqc::capi::guarded;
using seqc::capi::require;

namespace {

Stream& stream(seqc_stream* s) { return *require(cpp(s), "stream"); }

void need_frames(const Model& m) {
  if (m.input_kind != InputKind::frames)
    fail(Code::invalid_argument, "the model takes token ids; use the *_token(s) functions");
}

void need_tokens(const Model& m) {
  if (m.input_kind != InputKind::tokens)
    fail(Code::invalid_argument, "the model takes float frames, not token ids");
}

void check_tokens(const Model& m, const int32_t* tokens, size_t n) {
  if (n && !tokens) fail(Code::invalid_argument, "tokens is NULL");
  for (size_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= m.input_width)
      fail(Code::invalid_argument, "token ", tokens[i], " at index ", i, " is outside the vocabulary [0, ",
           m.input_width, ")");
}

// Output buffer rules shared by step and forward: returns the mode to run.
OutputMode check_output(const Model& m, int32_t mode, size_t n_positions, const float* out, size_t out_len) {
  if (mode < SEQC_OUTPUT_ALL || mode > SEQC_OUTPUT_NONE) fail(Code::invalid_argument, "unknown output mode ", mode);
  const auto om = OutputMode(mode);
  if (om == OutputMode::last && n_positions == 0)
    fail(Code::shape, "no positions given: SEQC_OUTPUT_LAST has no last position to write");
  if (om == OutputMode::none || n_positions == 0) return OutputMode::none;
  const size_t need = om == OutputMode::all ? n_positions * size_t(m.output_width) : size_t(m.output_width);
  if (!out) fail(Code::invalid_argument, "out is NULL");
  if (out_len < need) fail(Code::buffer_too_small, "out holds ", out_len, " floats, ", need, " are needed");
  return om;
}

// Holds every stream of a step_many call, or none.
class ManyGuard {
 public:
  ManyGuard(Stream* const* s, size_t n) : s_(s) {
    for (; held_ < n; ++held_) {
      try {
        s_[held_]->acquire();
      } catch (const Error&) {
        for (size_t j = 0; j < held_; ++j)
          if (s_[j] == s_[held_]) {
            unwind();
            fail(Code::invalid_argument, "stream at index ", held_, " is repeated (index ", j, ")");
          }
        unwind();
        throw;
      }
    }
  }
  ~ManyGuard() { unwind(); }

 private:
  void unwind() noexcept {
    while (held_) s_[--held_]->release();
  }
  Stream* const* s_;
  size_t held_ = 0;
};

// The streams of a *_many call: non-NULL, all of one model (returned).
const Model& many_model(seqc_stream* const* streams, size_t n) {
  require(streams, "streams");
  auto* ss = reinterpret_cast<Stream* const*>(streams);
  for (size_t i = 0; i < n; ++i)
    if (!ss[i]) fail(Code::invalid_argument, "stream at index ", i, " is NULL");
  const Model& m = *ss[0]->model();
  for (size_t i = 1; i < n; ++i)
    if (ss[i]->model().get() != &m)
      fail(Code::mismatch, "stream at index ", i, " belongs to another model than stream 0");
  return m;
}

int step_many(seqc_stream* const* streams, size_t n, GraphInput in, size_t in_len, float* out,
              size_t out_len) {
  return guarded([&] {
    if (n == 0) return;
    const Model& m = many_model(streams, n);
    auto* ss = reinterpret_cast<Stream* const*>(streams);
    if (in.tokens) {
      need_tokens(m);
      check_tokens(m, in.tokens, n);
    } else {
      need_frames(m);
      require(in.frames, "in");
      if (in_len != n * size_t(m.input_width))
        fail(Code::shape, "in holds ", in_len, " floats; ", n, " streams x ", m.input_width, " are needed");
    }
    if (out_len == 0) {
      out = nullptr;
    } else {
      require(out, "out");
      if (out_len < n * size_t(m.output_width))
        fail(Code::buffer_too_small, "out holds ", out_len, " floats, ", n * size_t(m.output_width), " are needed");
    }
    ManyGuard g(ss, n);
    Stream::step_many(ss, n, in, out);
  });
}

}  // namespace

extern "C" {

int seqc_stream_create(seqc_model* m, seqc_stream** out) {
  return guarded([&] {
    require(m, "model");
    require(out, "out");
    *out = c_handle(new Stream(Ref<Model>::share(cpp(m))));
  });
}

void seqc_stream_destroy(seqc_stream* s) { delete cpp(s); }

seqc_model* seqc_stream_model(const seqc_stream* s) {
  return s ? c_handle(cpp(s)->model().get()) : nullptr;
}

int64_t seqc_stream_position(const seqc_stream* s) { return s ? cpp(s)->position() : -1; }

int seqc_stream_reset(seqc_stream* s) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    st.reset();
  });
}

int seqc_stream_step(seqc_stream* s, const float* in, size_t in_len, float* out, size_t out_len) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    const Model& m = *st.model();
    need_frames(m);
    require(in, "in");
    if (in_len != size_t(m.input_width))
      fail(Code::shape, "in holds ", in_len, " floats, the model takes ", m.input_width);
    const OutputMode mode = check_output(m, out_len ? SEQC_OUTPUT_ALL : SEQC_OUTPUT_NONE, 1, out, out_len);
    st.forward({in, nullptr}, 1, mode, out);
  });
}

int seqc_stream_step_token(seqc_stream* s, int32_t token, float* out, size_t out_len) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    const Model& m = *st.model();
    need_tokens(m);
    check_tokens(m, &token, 1);
    const OutputMode mode = check_output(m, out_len ? SEQC_OUTPUT_ALL : SEQC_OUTPUT_NONE, 1, out, out_len);
    st.forward({nullptr, &token}, 1, mode, out);
  });
}

int seqc_stream_forward(seqc_stream* s, const float* in, size_t in_len, int32_t output_mode, float* out,
                        size_t out_len) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    const Model& m = *st.model();
    need_frames(m);
    if (in_len && !in) fail(Code::invalid_argument, "in is NULL");
    if (in_len % size_t(m.input_width))
      fail(Code::shape, "in holds ", in_len, " floats, not a multiple of the input width ", m.input_width);
    const size_t n = in_len / size_t(m.input_width);
    const OutputMode mode = check_output(m, output_mode, n, out, out_len);
    if (n) st.forward({in, nullptr}, int64_t(n), mode, out);
  });
}

int seqc_stream_forward_tokens(seqc_stream* s, const int32_t* tokens, size_t n_tokens, int32_t output_mode,
                               float* out, size_t out_len) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    const Model& m = *st.model();
    need_tokens(m);
    check_tokens(m, tokens, n_tokens);
    const OutputMode mode = check_output(m, output_mode, n_tokens, out, out_len);
    if (n_tokens) st.forward({nullptr, tokens}, int64_t(n_tokens), mode, out);
  });
}

int seqc_stream_step_many(seqc_stream* const* streams, size_t n_streams, const float* in, size_t in_len,
                          float* out, size_t out_len) {
  return step_many(streams, n_streams, {in, nullptr}, in_len, out, out_len);
}

int seqc_stream_step_many_tokens(seqc_stream* const* streams, size_t n_streams, const int32_t* tokens,
                                 float* out, size_t out_len) {
  if (n_streams && !tokens)
    return guarded([] { fail(Code::invalid_argument, "tokens is NULL"); });
  return step_many(streams, n_streams, {nullptr, tokens}, n_streams, out, out_len);
}

int seqc_stream_set_sampling(seqc_stream* s, float temperature, int32_t top_k, float top_p) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    const SamplingParams p{temperature, top_k, top_p};
    check_sampling(p);
    st.sampling = p;
  });
}

int seqc_stream_set_seed(seqc_stream* s, uint64_t seed) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    st.seed = seed;
    st.rng.seed(seed);
  });
}

int seqc_stream_sample(seqc_stream* s, const float* logits, size_t n, int32_t* out_token) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    require(logits, "logits");
    require(out_token, "out_token");
    if (n != size_t(st.model()->output_width))
      fail(Code::shape, "logits holds ", n, " values, the model outputs ", st.model()->output_width);
    *out_token = st.sample(logits);
  });
}

int seqc_stream_generate(seqc_stream* s, const int32_t* tokens, size_t n_tokens, int32_t* out_token) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    const Model& m = *st.model();
    if (m.input_kind != InputKind::tokens || !m.output_logits)
      fail(Code::invalid_argument, "generation needs a model from tokens to logits");
    require(out_token, "out_token");
    if (n_tokens == 0) fail(Code::invalid_argument, "generate needs at least one token");
    check_tokens(m, tokens, n_tokens);
    *out_token = st.generate(tokens, int64_t(n_tokens));
  });
}

int seqc_stream_generate_many(seqc_stream* const* streams, size_t n_streams, const int32_t* tokens,
                              int32_t* out_tokens) {
  return guarded([&] {
    if (n_streams == 0) return;
    const Model& m = many_model(streams, n_streams);
    if (m.input_kind != InputKind::tokens || !m.output_logits)
      fail(Code::invalid_argument, "generation needs a model from tokens to logits");
    require(out_tokens, "out_tokens");
    check_tokens(m, require(tokens, "tokens"), n_streams);
    auto* ss = reinterpret_cast<Stream* const*>(streams);
    ManyGuard g(ss, n_streams);
    Stream::generate_many(ss, n_streams, tokens, out_tokens);
  });
}

int seqc_stream_snapshot_size(const seqc_stream* s, size_t* out) {
  return guarded([&] {
    require(s, "stream");
    require(out, "out");
    *out = snapshot_size(*cpp(s)->model());
  });
}

int seqc_stream_snapshot(seqc_stream* s, void* buf, size_t cap, size_t* out_len) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    const size_t need = snapshot_size(*st.model());
    if (cap < need) {
      if (out_len) *out_len = need;
      fail(Code::buffer_too_small, "a snapshot of this stream takes ", need, " bytes, the buffer has ", cap);
    }
    require(buf, "buf");
    snapshot_write(st, static_cast<std::byte*>(buf));
    if (out_len) *out_len = need;
  });
}

int seqc_stream_restore(seqc_stream* s, const void* data, size_t size) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    if (!data) fail(Code::invalid_argument, "data is NULL");
    snapshot_restore(st, static_cast<const std::byte*>(data), size);
  });
}

int seqc_stream_fork(seqc_stream* s, seqc_stream** out) {
  return guarded([&] {
    Stream& st = stream(s);
    require(out, "out");
    StreamGuard g(st);
    auto copy = std::make_unique<Stream>(st.model());
    copy->copy_from(st);
    *out = c_handle(copy.release());
  });
}

int seqc_stream_state_read(seqc_stream* s, const char* name, void* buf, size_t nbytes) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    require(name, "name");
    const StateEntry* e = st.model()->find_state(name);
    if (!e) fail(Code::not_found, "the model has no state tensor '", name, "'");
    if (nbytes != e->nbytes) fail(Code::shape, "state '", name, "' has ", e->nbytes, " bytes, not ", nbytes);
    if (nbytes) require(buf, "buf");  // a zero-size tensor needs no buffer
    st.read_state(e->offset, buf, nbytes);
  });
}

int seqc_stream_state_write(seqc_stream* s, const char* name, const void* buf, size_t nbytes) {
  return guarded([&] {
    Stream& st = stream(s);
    StreamGuard g(st);
    require(name, "name");
    const StateEntry* e = st.model()->find_state(name);
    if (!e) fail(Code::not_found, "the model has no state tensor '", name, "'");
    if (nbytes != e->nbytes) fail(Code::shape, "state '", name, "' has ", e->nbytes, " bytes, not ", nbytes);
    if (nbytes) require(buf, "buf");
    st.write_state(e->offset, buf, nbytes);
  });
}

}  // extern "C"
