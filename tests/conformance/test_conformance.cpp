// The conformance suite, driven by the registry: every recurrent and memory
// plugin joins by being registered (with at least one test config). For each
// config, with random weights and inputs, through the public C API:
//   - step by step == one forward == any chunking (bit for bit when the
//     plugin declares forward_exact; otherwise outputs and states within a
//     relative 1e-5, as for recurrent/mamba2's chunked SSD prefill);
//   - snapshot, restore, continue == uninterrupted, bit for bit (from a state
//     a forward made: within the tolerance when forward is not exact);
//   - fork, then both continue identically;
//   - step_many over streams at different positions == each stream alone;
//   - the same bits on runtimes with 1, 2 and 3 threads;
//   - reset returns to the initial behaviour.
#include <doctest/doctest.h>

#include <random>

#include "../test_util.hpp"

using namespace seqc;
using namespace seqc::test;

namespace {

constexpr int64_t kT = 150;  // more than two internal chunks of 64 positions

struct Case {
  const PluginDesc* plugin;
  std::string config;
  int64_t in_width, out_width;
  std::vector<std::byte> bytes;
  std::vector<float> input;  // [kT, in_width]
};

Case make_case(const PluginDesc* d, const std::string& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Config cfg = config_from_json_text(config, d->name);
  cfg.validate(d->schema, d->name);
  const BlockInfo info = d->info(cfg);
  Case c{d, config, info.in_width, info.out_width, {}, {}};
  c.bytes = native_bytes(single_block_graph(d->name, config, info.in_width), random_weights(rng, "b", d->name, config));
  c.input = random_floats(rng, size_t(kT * info.in_width), 2.0f);
  return c;
}

std::vector<float> run_steps(seqc_stream* s, const Case& c, int64_t t0, int64_t t1) {
  std::vector<float> out(size_t((t1 - t0) * c.out_width));
  for (int64_t t = t0; t < t1; ++t)
    REQUIRE(seqc_stream_step(s, c.input.data() + t * c.in_width, size_t(c.in_width),
                             out.data() + (t - t0) * c.out_width, size_t(c.out_width)) == SEQC_OK);
  return out;
}

std::vector<float> run_forward(seqc_stream* s, const Case& c, int64_t t0, int64_t t1) {
  std::vector<float> out(size_t((t1 - t0) * c.out_width));
  REQUIRE(seqc_stream_forward(s, c.input.data() + t0 * c.in_width, size_t((t1 - t0) * c.in_width), SEQC_OUTPUT_ALL,
                              out.data(), out.size()) == SEQC_OK);
  return out;
}

void expect_same(const std::vector<float>& got, const std::vector<float>& want, bool exact, const char* what) {
  INFO(what);
  REQUIRE(got.size() == want.size());
  if (exact) {
    CHECK(bitwise_equal(got, want));
    return;
  }
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / (1.0 + std::fabs(double(want[i]))));
  CHECK(worst <= 1e-5);
}

std::vector<float> read_state(seqc_stream* s, seqc_model* m) {
  std::vector<float> all;
  for (size_t i = 0; i < seqc_model_state_count(m); ++i) {
    std::vector<float> buf(seqc_model_state_nbytes(m, i) / 4);
    REQUIRE(seqc_stream_state_read(s, seqc_model_state_name(m, i), buf.data(), buf.size() * 4) == SEQC_OK);
    all.insert(all.end(), buf.begin(), buf.end());
  }
  return all;
}

void conform(const Case& c) {
  const bool exact = c.plugin->forward_exact;
  ModelHandle model(c.bytes);
  seqc_model* m = model.m;
  CHECK(seqc_model_state_count(m) >= 1);

  // Reference: step by step.
  StreamHandle ref(m);
  const std::vector<float> steps = run_steps(ref.s, c, 0, kT);

  {
    const char* part = "one forward equals the steps";
    CAPTURE(part);
    StreamHandle s(m);
    expect_same(run_forward(s.s, c, 0, kT), steps, exact, "forward(T) vs T steps");
    CHECK(seqc_stream_position(s.s) == kT);
    expect_same(read_state(s.s, m), read_state(ref.s, m), exact, "state after forward(T) vs after T steps");
  }

  {
    const char* part = "any chunking equals the steps";
    CAPTURE(part);
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 6; ++trial) {
      StreamHandle s(m);
      std::vector<float> got;
      int64_t t = 0;
      while (t < kT) {
        const int64_t sizes[] = {1, 2, 3, 5, 8, 13, 63, 64, 65, 100};
        const int64_t n = std::min<int64_t>(sizes[rng() % 10], kT - t);
        auto chunk = (rng() % 3 == 0) ? run_steps(s.s, c, t, t + n) : run_forward(s.s, c, t, t + n);
        got.insert(got.end(), chunk.begin(), chunk.end());
        t += n;
      }
      expect_same(got, steps, exact, "random chunking vs steps");
    }
  }

  {
    const char* part = "output modes agree";
    CAPTURE(part);
    StreamHandle s(m);
    std::vector<float> last(size_t(c.out_width));
    REQUIRE(seqc_stream_forward(s.s, c.input.data(), size_t(100 * c.in_width), SEQC_OUTPUT_NONE, nullptr, 0) == SEQC_OK);
    REQUIRE(seqc_stream_forward(s.s, c.input.data() + 100 * c.in_width, size_t(50 * c.in_width), SEQC_OUTPUT_LAST,
                                last.data(), last.size()) == SEQC_OK);
    expect_same(last, std::vector<float>(steps.end() - c.out_width, steps.end()), exact, "LAST after NONE");
  }

  {
    const char* part = "snapshot, restore, continue is bit for bit";
    CAPTURE(part);
    for (int64_t cut : {int64_t(0), int64_t(1), int64_t(37), int64_t(64), kT - 1}) {
      StreamHandle a(m);
      run_forward(a.s, c, 0, cut);
      size_t n = 0;
      REQUIRE(seqc_stream_snapshot_size(a.s, &n) == SEQC_OK);
      std::vector<unsigned char> blob(n);
      REQUIRE(seqc_stream_snapshot(a.s, blob.data(), n, &n) == SEQC_OK);
      // Into a fresh stream, and into one that has wandered elsewhere.
      StreamHandle b(m), w(m);
      run_steps(w.s, c, 3, 20);
      REQUIRE(seqc_stream_restore(b.s, blob.data(), n) == SEQC_OK);
      REQUIRE(seqc_stream_restore(w.s, blob.data(), n) == SEQC_OK);
      CHECK(seqc_stream_position(b.s) == cut);
      const auto rest_b = run_steps(b.s, c, cut, kT);
      const auto rest_w = run_forward(w.s, c, cut, kT);
      const std::vector<float> want(steps.begin() + cut * c.out_width, steps.end());
      // The snapshot was taken after a forward (cut > 1 runs the forward path).
      expect_same(rest_b, want, exact || cut <= 1, "restored then steps");
      expect_same(rest_w, want, exact, "restored then forward");
      // A second snapshot of the restored stream is byte-identical.
      StreamHandle again(m);
      REQUIRE(seqc_stream_restore(again.s, blob.data(), n) == SEQC_OK);
      std::vector<unsigned char> blob2(n);
      REQUIRE(seqc_stream_snapshot(again.s, blob2.data(), n, &n) == SEQC_OK);
      CHECK(blob == blob2);
    }
  }

  {
    const char* part = "fork, then both continue identically";
    CAPTURE(part);
    StreamHandle a(m);
    run_steps(a.s, c, 0, 70);
    seqc_stream* fs = nullptr;
    REQUIRE(seqc_stream_fork(a.s, &fs) == SEQC_OK);
    StreamHandle f(fs);
    const auto ra = run_steps(a.s, c, 70, kT);
    const auto rf = run_forward(f.s, c, 70, kT);
    CHECK(bitwise_equal(ra, std::vector<float>(steps.begin() + 70 * c.out_width, steps.end())));
    expect_same(rf, ra, exact, "fork continued with forward");
    // Independence: stepping one does not move the other.
    CHECK(seqc_stream_position(f.s) == kT);
    run_steps(a.s, c, 0, 5);
    CHECK(seqc_stream_position(f.s) == kT);
  }

  {
    const char* part = "step_many over streams at different positions equals each alone";
    CAPTURE(part);
    constexpr int kStreams = 70;  // more than one internal group of 64
    std::vector<StreamHandle> many, alone;
    std::vector<seqc_stream*> ptrs;
    for (int i = 0; i < kStreams; ++i) {
      many.emplace_back(m);
      alone.emplace_back(m);
      const int64_t pre = (i * 7) % 23;
      run_forward(many.back().s, c, 0, pre);
      // Brought to the same state (bit for bit) as its twin in `many`.
      if (exact) run_steps(alone.back().s, c, 0, pre);
      else run_forward(alone.back().s, c, 0, pre);
      ptrs.push_back(many.back().s);
    }
    std::vector<float> in(size_t(kStreams * c.in_width)), out(size_t(kStreams * c.out_width)), one(size_t(c.out_width));
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < kStreams; ++i) {
        const int64_t t = (seqc_stream_position(ptrs[size_t(i)]) + 11 * i) % kT;
        std::memcpy(in.data() + i * c.in_width, c.input.data() + t * c.in_width, size_t(c.in_width) * 4);
      }
      REQUIRE(seqc_stream_step_many(ptrs.data(), ptrs.size(), in.data(), in.size(), out.data(), out.size()) == SEQC_OK);
      for (int i = 0; i < kStreams; ++i) {
        REQUIRE(seqc_stream_step(alone[size_t(i)].s, in.data() + i * c.in_width, size_t(c.in_width), one.data(),
                                 one.size()) == SEQC_OK);
        CHECK(std::memcmp(one.data(), out.data() + i * c.out_width, one.size() * 4) == 0);
      }
    }
  }

  {
    const char* part = "thread count does not change a bit";
    CAPTURE(part);
    for (int threads : {1, 3}) {
      seqc_runtime* rt = nullptr;
      REQUIRE(seqc_runtime_create_cpu(threads, &rt) == SEQC_OK);
      ModelHandle other(c.bytes, rt);
      seqc_runtime_unref(rt);
      StreamHandle s(other.m);
      CHECK(bitwise_equal(run_forward(s.s, c, 0, kT), exact ? steps : run_forward(StreamHandle(m).s, c, 0, kT)));
    }
  }

  {
    const char* part = "reset returns to the initial behaviour";
    CAPTURE(part);
    StreamHandle s(m);
    run_steps(s.s, c, 0, 40);
    REQUIRE(seqc_stream_reset(s.s) == SEQC_OK);
    CHECK(seqc_stream_position(s.s) == 0);
    CHECK(bitwise_equal(run_steps(s.s, c, 0, 20), std::vector<float>(steps.begin(), steps.begin() + 20 * c.out_width)));
  }
}

}  // namespace

TEST_CASE("conformance/every_stateful_plugin") {
  size_t checked = 0;
  for (size_t i = 0; i < Registry::instance().size(); ++i) {
    const PluginDesc* d = Registry::instance().at(i);
    const bool stateful = d->kind == PluginKind::recurrent || d->kind == PluginKind::memory;
    if (stateful) {
      INFO("plugin ", d->name, " must list test configs to join the conformance suite");
      CHECK(!d->test_configs.empty());
    }
    uint64_t seed = 1000 * i;
    for (const char* config : d->test_configs) {
      CAPTURE(d->name);
      CAPTURE(config);
      const Case c = make_case(d, config, ++seed);
      conform(c);
      ++checked;
    }
  }
  CHECK(checked >= 6);
}

// A zero-size state tensor (Mamba-2 with d_conv 1 keeps an empty conv state)
// reads and writes with no buffer, and snapshots carry it.
TEST_CASE("conformance/zero_size_state_tensor") {
  std::mt19937_64 rng(5);
  const char* cfg = R"({"d_model":8,"d_inner":16,"n_heads":2,"head_dim":8,"d_state":4,"d_conv":1})";
  ModelHandle model(native_bytes(single_block_graph("recurrent/mamba2", cfg, 8),
                                 random_weights(rng, "b", "recurrent/mamba2", cfg)));
  seqc_model* m = model.m;
  size_t empty = SIZE_MAX;
  for (size_t i = 0; i < seqc_model_state_count(m); ++i)
    if (seqc_model_state_nbytes(m, i) == 0) empty = i;
  REQUIRE(empty != SIZE_MAX);
  StreamHandle s(m);
  const char* name = seqc_model_state_name(m, empty);
  CHECK(seqc_stream_state_read(s.s, name, nullptr, 0) == SEQC_OK);
  CHECK(seqc_stream_state_write(s.s, name, nullptr, 0) == SEQC_OK);
  float one = 0;
  CHECK(seqc_stream_state_read(s.s, name, &one, 4) == SEQC_ERR_SHAPE);
  std::vector<float> x(8, 0.5f), y(8);
  REQUIRE(seqc_stream_step(s.s, x.data(), 8, y.data(), 8) == SEQC_OK);
  size_t n = 0;
  REQUIRE(seqc_stream_snapshot_size(s.s, &n) == SEQC_OK);
  std::vector<std::byte> snap(n);
  REQUIRE(seqc_stream_snapshot(s.s, snap.data(), n, &n) == SEQC_OK);
  StreamHandle t(m);
  CHECK(seqc_stream_restore(t.s, snap.data(), n) == SEQC_OK);
  CHECK(seqc_stream_position(t.s) == 1);
}

// A whole pre-norm stack exercises residual groups, the token input and the
// stateless tail that runs only on requested rows.
TEST_CASE("conformance/stack_with_residuals") {
  std::mt19937_64 rng(99);
  const std::string graph = R"({"input":{"kind":"tokens","vocab":50},"output":{"kind":"logits"},"blocks":[
    {"name":"embed","plugin":"layer/embedding","config":{"num_embeddings":50,"embedding_dim":24}},
    {"residual":[{"name":"n1","plugin":"layer/rmsnorm","config":{"dim":24}},
                 {"name":"lstm","plugin":"recurrent/lstm","config":{"input_size":24,"hidden_size":24,"num_layers":2}}]},
    {"residual":[{"name":"n2","plugin":"layer/layernorm","config":{"dim":24}},
                 {"name":"gru","plugin":"recurrent/gru","config":{"input_size":24,"hidden_size":24}}]},
    {"residual":[{"name":"n3","plugin":"layer/rmsnorm","config":{"dim":24,"weight_offset":1.0}},
                 {"name":"up","plugin":"layer/linear","config":{"in_features":24,"out_features":48}},
                 {"name":"act","plugin":"layer/activation","config":{"function":"gelu_tanh","dim":48}},
                 {"name":"down","plugin":"layer/linear","config":{"in_features":48,"out_features":24,"bias":false}}]},
    {"name":"norm","plugin":"layer/layernorm","config":{"dim":24,"bias":false}},
    {"name":"head","plugin":"layer/linear","config":{"in_features":24,"out_features":50}}]})";
  std::vector<NamedTensor> w;
  auto add = [&](const char* name, const char* plugin, const char* cfg) {
    auto t = random_weights(rng, name, plugin, cfg);
    w.insert(w.end(), t.begin(), t.end());
  };
  add("embed", "layer/embedding", R"({"num_embeddings":50,"embedding_dim":24})");
  add("n1", "layer/rmsnorm", R"({"dim":24})");
  add("lstm", "recurrent/lstm", R"({"input_size":24,"hidden_size":24,"num_layers":2})");
  add("n2", "layer/layernorm", R"({"dim":24})");
  add("gru", "recurrent/gru", R"({"input_size":24,"hidden_size":24})");
  add("n3", "layer/rmsnorm", R"({"dim":24})");
  add("up", "layer/linear", R"({"in_features":24,"out_features":48})");
  add("down", "layer/linear", R"({"in_features":48,"out_features":24,"bias":false})");
  add("norm", "layer/layernorm", R"({"dim":24,"bias":false})");
  add("head", "layer/linear", R"({"in_features":24,"out_features":50})");
  ModelHandle model(native_bytes(graph, w));
  seqc_model* m = model.m;
  CHECK(seqc_model_block_count(m) == 11);
  CHECK(seqc_model_state_count(m) == 3);

  std::vector<int32_t> toks(200);
  for (auto& t : toks) t = int32_t(rng() % 50);
  StreamHandle a(m), b(m);
  std::vector<float> steps(toks.size() * 50), all(toks.size() * 50), last(50);
  for (size_t t = 0; t < toks.size(); ++t)
    REQUIRE(seqc_stream_step_token(a.s, toks[t], steps.data() + t * 50, 50) == SEQC_OK);
  REQUIRE(seqc_stream_forward_tokens(b.s, toks.data(), toks.size(), SEQC_OUTPUT_ALL, all.data(), all.size()) == SEQC_OK);
  CHECK(bitwise_equal(steps, all));
  REQUIRE(seqc_stream_reset(b.s) == SEQC_OK);
  REQUIRE(seqc_stream_forward_tokens(b.s, toks.data(), toks.size(), SEQC_OUTPUT_LAST, last.data(), 50) == SEQC_OK);
  CHECK(std::memcmp(last.data(), steps.data() + (toks.size() - 1) * 50, 200) == 0);
  for (float v : steps) REQUIRE(std::isfinite(v));
}
