// Threads and allocation: a model shared by many threads gives each stream
// the same bits as when run alone; a stream used by two calls at once is
// refused with SEQC_ERR_BUSY; and the step path allocates nothing once warm.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <thread>

#include "../test_util.hpp"
#include "capi_common.hpp"

using namespace seqc;
using namespace seqc::test;

// ------------------------------------------------ counting global allocator
// The replacements pair malloc/aligned_alloc with free; GCC cannot see that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<long> g_allocs{0};
}
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  const size_t al = size_t(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

const std::string kGraphTemplate = R"({"input":{"kind":"tokens","vocab":64},"output":{"kind":"logits"},"blocks":[
  {"name":"embed","plugin":"layer/embedding","config":{"num_embeddings":64,"embedding_dim":32}},
  {"name":"rnn","plugin":"recurrent/lstm","config":{"input_size":32,"hidden_size":48,"num_layers":2}},
  {"name":"gru","plugin":"recurrent/gru","config":{"input_size":48,"hidden_size":40}},
  {"name":"sc","plugin":"layer/short_conv","config":{"channels":40,"kernel_size":4,"activation":"silu"}},
  {"name":"mb","plugin":"recurrent/mamba","config":{"d_model":40,"d_inner":80,"d_state":8,"d_conv":4,"dt_rank":3}},
  {"name":"mb2","plugin":"recurrent/mamba2","config":{"d_model":40,"d_inner":32,"n_heads":4,"head_dim":8,"d_state":16,"n_groups":2,"chunk_size":16,"prefill":"PREFILL"}},
  {"name":"head","plugin":"layer/linear","config":{"in_features":40,"out_features":64}}]})";

// prefill: "scan" (exact: any chunking gives the same bits) or "ssd" (the
// chunked Mamba-2 prefill, whose bits depend on how positions are cut into calls).
std::vector<std::byte> model_bytes(const std::string& prefill = "scan") {
  std::string graph = kGraphTemplate;
  graph.replace(graph.find("PREFILL"), 7, prefill);
  std::mt19937_64 rng(17);
  std::vector<NamedTensor> w;
  for (auto [b, p, c] : {std::tuple{"embed", "layer/embedding", R"({"num_embeddings":64,"embedding_dim":32})"},
                         std::tuple{"rnn", "recurrent/lstm", R"({"input_size":32,"hidden_size":48,"num_layers":2})"},
                         std::tuple{"gru", "recurrent/gru", R"({"input_size":48,"hidden_size":40})"},
                         std::tuple{"sc", "layer/short_conv", R"({"channels":40,"kernel_size":4,"activation":"silu"})"},
                         std::tuple{"mb", "recurrent/mamba", R"({"d_model":40,"d_inner":80,"d_state":8,"d_conv":4,"dt_rank":3})"},
                         std::tuple{"mb2", "recurrent/mamba2",
                                    R"({"d_model":40,"d_inner":32,"n_heads":4,"head_dim":8,"d_state":16,"n_groups":2,"chunk_size":16})"},
                         std::tuple{"head", "layer/linear", R"({"in_features":40,"out_features":64})"}}) {
    auto t = random_weights(rng, b, p, c);
    w.insert(w.end(), t.begin(), t.end());
  }
  return native_bytes(graph, w);
}

std::vector<int32_t> tokens_for(int stream, int n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[size_t(i)] = (stream * 31 + i * 7) % 64;
  return t;
}

}  // namespace

TEST_CASE("threads/shared_model_many_threads") {
  const auto bytes = model_bytes();
  seqc_runtime* rt = nullptr;
  REQUIRE(seqc_runtime_create_cpu(2, &rt) == SEQC_OK);
  ModelHandle model(bytes, rt);
  seqc_runtime_unref(rt);
  constexpr int kThreads = 8, kStreamsPerThread = 3, kT = 90;

  // Reference outputs, one stream at a time.
  std::vector<std::vector<float>> want(kThreads * kStreamsPerThread);
  for (int i = 0; i < kThreads * kStreamsPerThread; ++i) {
    StreamHandle s(model.m);
    const auto toks = tokens_for(i, kT);
    want[size_t(i)].resize(kT * 64);
    REQUIRE(seqc_stream_forward_tokens(s.s, toks.data(), toks.size(), SEQC_OUTPUT_ALL, want[size_t(i)].data(),
                                       want[size_t(i)].size()) == SEQC_OK);
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int k = 0; k < kStreamsPerThread; ++k) {
        const int i = th * kStreamsPerThread + k;
        seqc_stream* s = nullptr;
        if (seqc_stream_create(model.m, &s) != SEQC_OK) {
          ++failures;
          continue;
        }
        const auto toks = tokens_for(i, kT);
        std::vector<float> got(kT * 64);
        // Mix steps and chunks so threads interleave differently.
        for (int t = 0; t < kT; t += 10)
          if (seqc_stream_forward_tokens(s, toks.data() + t, 10, SEQC_OUTPUT_ALL, got.data() + t * 64, 640) != SEQC_OK)
            ++failures;
        if (std::memcmp(got.data(), want[size_t(i)].data(), got.size() * 4) != 0) ++mismatches;
        seqc_stream_destroy(s);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(mismatches == 0);
}

TEST_CASE("threads/concurrent_loads_and_unrefs") {
  const auto bytes = model_bytes();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 6; ++th)
    threads.emplace_back([&] {
      for (int k = 0; k < 5; ++k) {
        seqc_model* m = nullptr;
        if (seqc_model_load_buffer(nullptr, bytes.data(), bytes.size(), &m) != SEQC_OK) {
          ++failures;
          continue;
        }
        seqc_stream* s = nullptr;
        if (seqc_stream_create(m, &s) != SEQC_OK) ++failures;
        seqc_model_unref(m);  // the stream keeps it alive
        if (seqc_stream_step_token(s, 3, nullptr, 0) != SEQC_OK) ++failures;
        seqc_stream_destroy(s);
      }
    });
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
}

TEST_CASE("threads/a_stream_in_use_is_busy") {
  ModelHandle model(model_bytes());
  StreamHandle s(model.m), other(model.m);
  cpp(s.s)->acquire();  // as if another thread were inside a call on it
  float out[64];
  size_t n = 0;
  CHECK(seqc_stream_step_token(s.s, 1, out, 64) == SEQC_ERR_BUSY);
  CHECK(std::string(seqc_last_error()).find("one thread at a time") != std::string::npos);
  CHECK(seqc_stream_reset(s.s) == SEQC_ERR_BUSY);
  CHECK(seqc_stream_snapshot(s.s, nullptr, 0, &n) == SEQC_ERR_BUSY);
  seqc_stream* pair[2] = {other.s, s.s};
  int32_t toks[2] = {1, 2};
  CHECK(seqc_stream_step_many_tokens(pair, 2, toks, nullptr, 0) == SEQC_ERR_BUSY);
  CHECK(seqc_stream_position(other.s) == 0);  // released again, unchanged
  CHECK(seqc_stream_step_token(other.s, 1, out, 64) == SEQC_OK);
  cpp(s.s)->release();
  CHECK(seqc_stream_step_token(s.s, 1, out, 64) == SEQC_OK);
}

TEST_CASE("threads/step_path_allocates_nothing_once_warm") {
  for (const char* prefill : {"scan", "ssd"}) {
    INFO("mamba2 prefill " << prefill);
    ModelHandle model(model_bytes(prefill));
    StreamHandle s(model.m);
    std::vector<StreamHandle> many;
    std::vector<seqc_stream*> ptrs;
    for (int i = 0; i < 5; ++i) {
      many.emplace_back(model.m);
      ptrs.push_back(many.back().s);
    }
    std::vector<float> out(64 * 64);
    const auto toks = tokens_for(1, 64);
    int32_t next = 0;
    REQUIRE(seqc_stream_set_sampling(s.s, 0.9f, 20, 0.95f) == SEQC_OK);
    auto work = [&] {
      for (int t = 0; t < 50; ++t) REQUIRE(seqc_stream_step_token(s.s, toks[size_t(t)], out.data(), 64) == SEQC_OK);
      REQUIRE(seqc_stream_forward_tokens(s.s, toks.data(), 64, SEQC_OUTPUT_ALL, out.data(), out.size()) == SEQC_OK);
      REQUIRE(seqc_stream_step_many_tokens(ptrs.data(), ptrs.size(), toks.data(), out.data(), out.size()) == SEQC_OK);
      for (int t = 0; t < 20; ++t) REQUIRE(seqc_stream_generate(s.s, &next, 1, &next) == SEQC_OK);
    };
    work();  // warm: creates the workspace
    const long before = g_allocs.load();
    work();
    CHECK(g_allocs.load() - before == 0);
  }
}
