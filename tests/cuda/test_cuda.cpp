// The CUDA backend against the CPU reference, through the public C API. Every
// test case returns at once (and passes) when no CUDA device is usable, so
// the suite runs everywhere and checks something only on a GPU machine.
//
// For every plugin config (the registry's test configs plus single-layer
// models for the stateless layers) with random weights and inputs:
//   - T steps on the GPU == T steps on the CPU, outputs and state, within
//     kTol (relative: |a - b| / (1 + |b|));
//   - one forward, and random chunkings of steps and forwards == the CPU
//     steps within kTol;
//   - a snapshot taken on the GPU restores on the CPU and one taken on the
//     CPU restores on the GPU, and both continue like the other backend;
//   - fork on the GPU: both continue identically (bit for bit);
//   - step_many over 3, 5 and 12 streams at different positions == each stream alone
//     (within kTol: a batched GEMM may sum in another order than a GEMV);
//   - reset returns to the initial behaviour (bit for bit).
// Then a whole pre-norm LM stack and the HF Mamba goldens (tests/oracle/hf)
// on the GPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../test_util.hpp"

using namespace seqc;
using namespace seqc::test;

namespace {

// Positions per case: 150, or SEQC_CUDA_TEST_T (the compute-sanitizer runs
// use a short one: every launch is checked there, and slow).
const int64_t kT = [] {
  const char* e = std::getenv("SEQC_CUDA_TEST_T");
  const long v = e ? std::strtol(e, nullptr, 10) : 0;
  return v >= 8 ? int64_t(v) : int64_t(150);
}();
constexpr double kTol = 2e-5;

bool have_gpu() {
  static const bool yes = [] {
    const bool g = seqc_has_cuda() && seqc_cuda_device_count() > 0;
    if (!g) MESSAGE("no usable CUDA device: the CUDA suite checks nothing here");
    return g;
  }();
  return yes;
}

struct RuntimeHandle {
  seqc_runtime* rt = nullptr;
  explicit RuntimeHandle(int32_t device) { REQUIRE(seqc_runtime_create(device, 0, 1, &rt) == SEQC_OK); }
  ~RuntimeHandle() { seqc_runtime_unref(rt); }
};

double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / (1.0 + std::fabs(double(want[i]))));
  }
  return worst;
}

#define CHECK_CLOSE(got, want, what)           \
  do {                                         \
    const double e_ = rel_err(got, want);      \
    INFO(what, ": worst relative error ", e_); \
    CHECK(e_ <= kTol);                         \
  } while (0)

struct Case {
  std::string name;
  int64_t in_width = 0, out_width = 0;
  std::vector<std::byte> bytes;
  std::vector<float> input;  // [kT, in_width]
};

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

std::vector<float> read_state(seqc_stream* s, seqc_model* m) {
  std::vector<float> all;
  for (size_t i = 0; i < seqc_model_state_count(m); ++i) {
    std::vector<float> buf(seqc_model_state_nbytes(m, i) / 4);
    REQUIRE(seqc_stream_state_read(s, seqc_model_state_name(m, i), buf.data(), buf.size() * 4) == SEQC_OK);
    all.insert(all.end(), buf.begin(), buf.end());
  }
  return all;
}

std::vector<std::byte> snapshot(seqc_stream* s) {
  size_t n = 0;
  REQUIRE(seqc_stream_snapshot_size(s, &n) == SEQC_OK);
  std::vector<std::byte> buf(n);
  size_t written = 0;
  REQUIRE(seqc_stream_snapshot(s, buf.data(), buf.size(), &written) == SEQC_OK);
  buf.resize(written);
  return buf;
}

void conform_gpu(const Case& c) {
  CAPTURE(c.name);
  RuntimeHandle cpu(SEQC_DEVICE_CPU), gpu(SEQC_DEVICE_CUDA);
  ModelHandle mc(c.bytes, cpu.rt), mg(c.bytes, gpu.rt);
  REQUIRE(seqc_runtime_device(gpu.rt) == SEQC_DEVICE_CUDA);

  StreamHandle ref(mc.m);
  const std::vector<float> steps = run_steps(ref.s, c, 0, kT);
  const std::vector<float> ref_state = read_state(ref.s, mc.m);

  StreamHandle g(mg.m);
  const std::vector<float> gsteps = run_steps(g.s, c, 0, kT);
  CHECK_CLOSE(gsteps, steps, "GPU steps vs CPU steps");
  CHECK_CLOSE(read_state(g.s, mg.m), ref_state, "GPU state after T steps vs CPU");

  {
    StreamHandle s(mg.m);
    CHECK_CLOSE(run_forward(s.s, c, 0, kT), steps, "GPU forward(T) vs CPU steps");
    CHECK(seqc_stream_position(s.s) == kT);
    CHECK_CLOSE(read_state(s.s, mg.m), ref_state, "GPU state after forward(T) vs CPU");
  }
  {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 3; ++trial) {
      StreamHandle s(mg.m);
      std::vector<float> got;
      int64_t t = 0;
      while (t < kT) {
        const int64_t sizes[] = {1, 2, 3, 5, 8, 13, 63, 64, 65, 100};
        const int64_t n = std::min<int64_t>(sizes[rng() % 10], kT - t);
        auto chunk = (rng() % 3 == 0) ? run_steps(s.s, c, t, t + n) : run_forward(s.s, c, t, t + n);
        got.insert(got.end(), chunk.begin(), chunk.end());
        t += n;
      }
      CHECK_CLOSE(got, steps, "GPU random chunking vs CPU steps");
    }
  }
  const int64_t half = kT / 2;
  const std::vector<float> tail(steps.begin() + half * c.out_width, steps.end());
  {
    // GPU -> CPU and CPU -> GPU snapshots.
    StreamHandle a(mg.m);
    run_steps(a.s, c, 0, half);
    const auto snap = snapshot(a.s);
    StreamHandle onto_cpu(mc.m);
    REQUIRE(seqc_stream_restore(onto_cpu.s, snap.data(), snap.size()) == SEQC_OK);
    CHECK(seqc_stream_position(onto_cpu.s) == half);
    CHECK_CLOSE(run_steps(onto_cpu.s, c, half, kT), tail, "GPU snapshot restored on the CPU, continued");

    StreamHandle b(mc.m);
    run_steps(b.s, c, 0, half);
    const auto csnap = snapshot(b.s);
    StreamHandle onto_gpu(mg.m);
    REQUIRE(seqc_stream_restore(onto_gpu.s, csnap.data(), csnap.size()) == SEQC_OK);
    const auto cont = run_steps(onto_gpu.s, c, half, kT);
    CHECK_CLOSE(cont, tail, "CPU snapshot restored on the GPU, continued");
    // Restoring the CPU's bytes on the GPU and reading them back is exact.
    StreamHandle again(mg.m);
    REQUIRE(seqc_stream_restore(again.s, csnap.data(), csnap.size()) == SEQC_OK);
    CHECK(bitwise_equal(read_state(again.s, mg.m), read_state(b.s, mc.m)));
  }
  {
    // Fork on the GPU.
    StreamHandle a(mg.m);
    run_steps(a.s, c, 0, half);
    seqc_stream* f = nullptr;
    REQUIRE(seqc_stream_fork(a.s, &f) == SEQC_OK);
    StreamHandle fork(f);
    const auto x = run_steps(a.s, c, half, kT), y = run_steps(fork.s, c, half, kT);
    CHECK(bitwise_equal(x, y));
    CHECK_CLOSE(x, tail, "GPU fork continued vs CPU");
  }
  // step_many: 3, 5 and 12 streams at different positions, one batched call
  // per step (Mamba's fused step takes up to 4 rows; the products switch
  // from GEMV to GEMM above 8 rows).
  for (const int kN : {3, 5, 12}) {
    CAPTURE(kN);
    std::vector<StreamHandle> ss;
    for (int i = 0; i < kN; ++i) {
      ss.emplace_back(mg.m);
      run_steps(ss.back().s, c, 0, 3 * i);
    }
    std::vector<seqc_stream*> ptrs;
    for (auto& s : ss) ptrs.push_back(s.s);
    std::vector<float> in(size_t(kN * c.in_width)), out(size_t(kN * c.out_width));
    double worst = 0;
    for (int k = 0; k < std::min<int>(20, int(kT) - 3 * (kN - 1)); ++k) {
      for (int i = 0; i < kN; ++i)
        std::copy_n(c.input.data() + (3 * i + k) * c.in_width, c.in_width, in.data() + i * c.in_width);
      REQUIRE(seqc_stream_step_many(ptrs.data(), size_t(kN), in.data(), in.size(), out.data(), out.size()) ==
              SEQC_OK);
      for (int i = 0; i < kN; ++i) {
        const std::vector<float> got(out.begin() + i * c.out_width, out.begin() + (i + 1) * c.out_width);
        const std::vector<float> want(steps.begin() + (3 * i + k) * c.out_width,
                                      steps.begin() + (3 * i + k + 1) * c.out_width);
        worst = std::max(worst, rel_err(got, want));
      }
    }
    INFO("GPU step_many vs CPU steps: worst relative error ", worst);
    CHECK(worst <= kTol);
  }
  {
    REQUIRE(seqc_stream_reset(g.s) == SEQC_OK);
    CHECK(seqc_stream_position(g.s) == 0);
    const auto again = run_steps(g.s, c, 0, 20);
    CHECK(bitwise_equal(again, std::vector<float>(gsteps.begin(), gsteps.begin() + 20 * c.out_width)));
  }
}

Case make_case(const std::string& plugin, const std::string& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const PluginDesc* d = Registry::instance().find(plugin);
  REQUIRE(d != nullptr);
  Config cfg = config_from_json_text(config, plugin);
  cfg.validate(d->schema, plugin);
  const BlockInfo info = d->info(cfg);
  Case c;
  c.name = plugin + " " + config;
  c.in_width = info.in_width;
  c.out_width = info.out_width;
  c.bytes = native_bytes(single_block_graph(plugin, config, info.in_width), random_weights(rng, "b", plugin, config));
  c.input = random_floats(rng, size_t(kT * info.in_width), 2.0f);
  return c;
}

// A pre-norm LM over a 50-token vocabulary: embedding, LSTM, GRU, Mamba,
// Mamba-2 and an MLP in residual groups (the Mamba, Mamba-2 and MLP groups'
// adds are fused into their last block on the GPU, and the Mamba group's
// RMS norm absorbed by the mixer), a final norm and an LM head.
std::vector<std::byte> lm_stack_bytes(std::mt19937_64& rng) {
  const std::string graph = R"({"input":{"kind":"tokens","vocab":50},"output":{"kind":"logits"},"blocks":[
    {"name":"embed","plugin":"layer/embedding","config":{"num_embeddings":50,"embedding_dim":24}},
    {"residual":[{"name":"n1","plugin":"layer/rmsnorm","config":{"dim":24}},
                 {"name":"lstm","plugin":"recurrent/lstm","config":{"input_size":24,"hidden_size":24,"num_layers":2}}]},
    {"residual":[{"name":"n2","plugin":"layer/layernorm","config":{"dim":24}},
                 {"name":"gru","plugin":"recurrent/gru","config":{"input_size":24,"hidden_size":24}}]},
    {"residual":[{"name":"n3","plugin":"layer/rmsnorm","config":{"dim":24}},
                 {"name":"mamba","plugin":"recurrent/mamba","config":{"d_model":24,"d_inner":48,"d_state":8}}]},
    {"residual":[{"name":"n5","plugin":"layer/rmsnorm","config":{"dim":24}},
                 {"name":"mamba2","plugin":"recurrent/mamba2","config":{"d_model":24,"d_inner":48,"n_heads":4,"head_dim":12,"d_state":8}}]},
    {"residual":[{"name":"n4","plugin":"layer/rmsnorm","config":{"dim":24,"weight_offset":1.0}},
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
  add("mamba", "recurrent/mamba", R"({"d_model":24,"d_inner":48,"d_state":8})");
  add("n5", "layer/rmsnorm", R"({"dim":24})");
  add("mamba2", "recurrent/mamba2", R"({"d_model":24,"d_inner":48,"n_heads":4,"head_dim":12,"d_state":8})");
  add("n4", "layer/rmsnorm", R"({"dim":24})");
  add("up", "layer/linear", R"({"in_features":24,"out_features":48})");
  add("down", "layer/linear", R"({"in_features":48,"out_features":24,"bias":false})");
  add("norm", "layer/layernorm", R"({"dim":24,"bias":false})");
  add("head", "layer/linear", R"({"in_features":24,"out_features":50})");
  return native_bytes(graph, w);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("cuda/runtime") {
  if (!seqc_has_cuda() || seqc_cuda_device_count() == 0) {
    // Without a device, creating a CUDA runtime fails cleanly.
    seqc_runtime* rt = nullptr;
    const int rc = seqc_runtime_create(SEQC_DEVICE_CUDA, 0, 1, &rt);
    CHECK((rc == SEQC_ERR_NO_DEVICE || rc == SEQC_ERR_UNSUPPORTED));
    CHECK(rt == nullptr);
    return;
  }
  seqc_runtime* rt = nullptr;
  CHECK(seqc_runtime_create(SEQC_DEVICE_CUDA, seqc_cuda_device_count(), 1, &rt) == SEQC_ERR_NO_DEVICE);
  CHECK(seqc_runtime_create(SEQC_DEVICE_CUDA, -1, 1, &rt) == SEQC_ERR_NO_DEVICE);
  REQUIRE(seqc_runtime_create(SEQC_DEVICE_CUDA, 0, 0, &rt) == SEQC_OK);
  CHECK(seqc_runtime_device(rt) == SEQC_DEVICE_CUDA);
  seqc_runtime_unref(rt);
}

TEST_CASE("cuda/every_plugin_against_the_cpu") {
  // The cases are built (configs validated, weights made) on every machine;
  // they run only where a GPU is.
  std::vector<Case> cases;
  uint64_t seed = 5000;
  for (size_t i = 0; i < Registry::instance().size(); ++i) {
    const PluginDesc* d = Registry::instance().at(i);
    if (!d->create_cuda) {
      INFO(d->name, " has no CUDA implementation");
      CHECK(d->kind != PluginKind::recurrent);
      continue;
    }
    for (const char* config : d->test_configs) cases.push_back(make_case(d->name, config, ++seed));
  }
  // The stateless layers, through the same checks (their state is empty).
  const std::pair<const char*, const char*> layers[] = {
      {"layer/linear", R"({"in_features":37,"out_features":70})"},
      {"layer/linear", R"({"in_features":64,"out_features":33,"bias":false})"},
      {"layer/rmsnorm", R"({"dim":45})"},
      {"layer/rmsnorm", R"({"dim":256,"eps":1e-5,"weight_offset":1.0})"},
      {"layer/layernorm", R"({"dim":45})"},
      {"layer/layernorm", R"({"dim":33,"bias":false})"},
      {"layer/layernorm", R"({"dim":70,"elementwise_affine":false})"},
      {"layer/activation", R"({"function":"relu","dim":19})"},
      {"layer/activation", R"({"function":"silu","dim":19})"},
      {"layer/activation", R"({"function":"gelu_tanh","dim":19})"},
      {"layer/activation", R"({"function":"tanh","dim":19})"},
      {"layer/activation", R"({"function":"sigmoid","dim":19})"},
      // Wider shapes than the registry's test configs: the CUDA scans switch
      // lane splits and staging paths with N and the width.
      {"recurrent/mamba", R"({"d_model":64,"d_inner":256,"d_state":16,"d_conv":4})"},
      {"recurrent/mamba", R"({"d_model":48,"d_inner":96,"d_state":200,"d_conv":4,"bcdt_rms":true})"},
      {"recurrent/mamba2", R"({"d_model":64,"d_inner":128,"n_heads":2,"head_dim":64,"d_state":128,"d_conv":4})"},
      {"recurrent/mamba2",
       R"({"d_model":32,"d_inner":96,"n_heads":4,"head_dim":24,"d_state":300,"n_groups":2,"d_conv":1})"},
  };
  for (const auto& [plugin, config] : layers) cases.push_back(make_case(plugin, config, ++seed));
  CHECK(cases.size() >= 24);
  if (!have_gpu()) return;
  for (const Case& c : cases) conform_gpu(c);
}

TEST_CASE("cuda/stack_with_residuals_and_tokens") {
  if (!have_gpu()) return;
  std::mt19937_64 rng(99);
  const auto bytes = lm_stack_bytes(rng);
  RuntimeHandle cpu(SEQC_DEVICE_CPU), gpu(SEQC_DEVICE_CUDA);
  ModelHandle mc(bytes, cpu.rt), mg(bytes, gpu.rt);
  // The Mamba, Mamba-2 and MLP groups end in blocks that accumulate on the
  // GPU: their residual adds are fused there; the CPU graph keeps its add ops.
  // The RMS norm before the Mamba mixer is absorbed by it on the GPU (the
  // fused step normalises its input itself).
  const auto described = [](seqc_model* m, const char* key) {
    size_t n = 0;
    seqc_model_describe(m, nullptr, 0, &n);
    std::string d(n, '\0');
    REQUIRE(seqc_model_describe(m, d.data(), d.size(), &n) == SEQC_OK);
    d.resize(n - 1);
    return nlohmann::json::parse(d).at(key).get<int>();
  };
  CHECK(described(mg.m, "fused_residual_adds") == 3);
  CHECK(described(mc.m, "fused_residual_adds") == 0);
  CHECK(described(mg.m, "fused_input_norms") == 1);
  CHECK(described(mc.m, "fused_input_norms") == 0);

  std::vector<int32_t> toks(size_t(std::max<int64_t>(40, kT * 14 / 3)));  // 700: more than one CUDA chunk
  for (auto& t : toks) t = int32_t(rng() % 50);
  StreamHandle a(mc.m), b(mg.m), c(mg.m);
  std::vector<float> steps(toks.size() * 50), gsteps(toks.size() * 50), all(toks.size() * 50), last(50);
  for (size_t t = 0; t < toks.size(); ++t) {
    REQUIRE(seqc_stream_step_token(a.s, toks[t], steps.data() + t * 50, 50) == SEQC_OK);
    REQUIRE(seqc_stream_step_token(b.s, toks[t], gsteps.data() + t * 50, 50) == SEQC_OK);
  }
  CHECK_CLOSE(gsteps, steps, "GPU token steps vs CPU");
  REQUIRE(seqc_stream_forward_tokens(c.s, toks.data(), toks.size(), SEQC_OUTPUT_ALL, all.data(), all.size()) ==
          SEQC_OK);
  CHECK_CLOSE(all, steps, "GPU forward_tokens vs CPU steps");
  REQUIRE(seqc_stream_reset(c.s) == SEQC_OK);
  REQUIRE(seqc_stream_forward_tokens(c.s, toks.data(), toks.size(), SEQC_OUTPUT_LAST, last.data(), 50) == SEQC_OK);
  CHECK_CLOSE(last, std::vector<float>(steps.end() - 50, steps.end()), "GPU last logits");

  // Generation: greedy on both backends picks the same tokens.
  StreamHandle gc(mc.m), gg(mg.m);
  int32_t tc = 0, tg = 0;
  REQUIRE(seqc_stream_generate(gc.s, toks.data(), 30, &tc) == SEQC_OK);
  REQUIRE(seqc_stream_generate(gg.s, toks.data(), 30, &tg) == SEQC_OK);
  for (int i = 0; i < 40; ++i) {
    CHECK(tc == tg);
    REQUIRE(seqc_stream_generate(gc.s, &tc, 1, &tc) == SEQC_OK);
    REQUIRE(seqc_stream_generate(gg.s, &tg, 1, &tg) == SEQC_OK);
  }
}

// The transformers goldens (tests/oracle/hf, made by make_hf_goldens.py) on
// the GPU: the same bound as the CPU oracle test.
TEST_CASE("cuda/hf_mamba_goldens") {
  if (!have_gpu()) return;
  const char* root = std::getenv("SEQC_HF_GOLDENS");
  REQUIRE_MESSAGE(root != nullptr, "SEQC_HF_GOLDENS must name tests/oracle/hf");
  const char* variants[] = {"mamba_tied", "mamba_odd_untied_bias", "falcon_mamba", "mamba2_g1", "mamba2_g2_odd_sharded",
                            "mamba2_g3_heads3"};
  RuntimeHandle gpu(SEQC_DEVICE_CUDA);
  for (const char* v : variants) {
    CAPTURE(v);
    const std::string dir = std::string(root) + "/" + v;
    const auto golden = nlohmann::json::parse(read_text(dir + "/golden.json"));
    seqc_model* m = nullptr;
    REQUIRE(seqc_model_load_file(gpu.rt, dir.c_str(), &m) == SEQC_OK);
    StreamHandle s(m);
    const auto prompt = golden.at("prompt").get<std::vector<int32_t>>();
    const auto want = golden.at("logits").get<std::vector<std::vector<double>>>();
    const int64_t V = seqc_model_output_width(m);
    std::vector<float> got(prompt.size() * size_t(V));
    REQUIRE(seqc_stream_forward_tokens(s.s, prompt.data(), prompt.size(), SEQC_OUTPUT_ALL, got.data(), got.size()) ==
            SEQC_OK);
    double worst = 0, scale = 0;
    for (size_t t = 0; t < want.size(); ++t)
      for (int64_t k = 0; k < V; ++k) {
        worst = std::max(worst, std::fabs(got[t * size_t(V) + size_t(k)] - want[t][size_t(k)]));
        scale = std::max(scale, std::fabs(want[t][size_t(k)]));
      }
    INFO("max abs error ", worst, " (logit scale ", scale, ")");
    CHECK(worst <= 2e-5 * std::max(1.0, scale));
    seqc_model_unref(m);
  }
}

namespace {

// Loads into h with the given weight dtype.
void load_with_dtype(ModelHandle& h, const std::vector<std::byte>& bytes, seqc_runtime* rt, int32_t dtype) {
  seqc_load_options* o = nullptr;
  REQUIRE(seqc_load_options_create(&o) == SEQC_OK);
  REQUIRE(seqc_load_options_set_weight_dtype(o, dtype) == SEQC_OK);
  const int rc = seqc_model_load_buffer_with(rt, bytes.data(), bytes.size(), o, &h.m);
  seqc_load_options_destroy(o);
  REQUIRE_MESSAGE(rc == SEQC_OK, seqc_last_error());
}

}  // namespace

// bf16 and f16 weight matrices: the GPU (matrices stored in the dtype) against
// the CPU loaded with the same option (matrices rounded to the dtype,
// computed in f32). Up to kGemvRows rows (steps, small step_many) the GPU
// multiplies in f32 too: the CPU tolerance. Longer calls round the GEMM
// inputs to the dtype for the tensor cores: a bound of 3e-2.
TEST_CASE("cuda/weight_dtypes") {
  if (!have_gpu()) return;
  std::mt19937_64 rng(7);
  const auto bytes = lm_stack_bytes(rng);
  RuntimeHandle cpu(SEQC_DEVICE_CPU), gpu(SEQC_DEVICE_CUDA);
  ModelHandle f32(bytes, gpu.rt);
  std::vector<int32_t> toks(size_t(std::max<int64_t>(40, kT)));
  for (auto& t : toks) t = int32_t(rng() % 50);
  const size_t V = 50;
  for (const int32_t dt : {SEQC_DTYPE_BF16, SEQC_DTYPE_F16}) {
    CAPTURE(dt);
    ModelHandle mc, mg;
    load_with_dtype(mc, bytes, cpu.rt, dt);
    load_with_dtype(mg, bytes, gpu.rt, dt);
    CHECK(seqc_model_weight_dtype(mg.m) == dt);
    // Matrices take half the bytes on the GPU (norms and biases stay f32).
    CHECK(double(seqc_model_weight_bytes(mg.m)) < 0.6 * double(seqc_model_weight_bytes(f32.m)));
    StreamHandle a(mc.m), b(mg.m), c(mg.m);
    std::vector<float> steps(toks.size() * V), gsteps(toks.size() * V), all(toks.size() * V);
    for (size_t t = 0; t < toks.size(); ++t) {
      REQUIRE(seqc_stream_step_token(a.s, toks[t], steps.data() + t * V, V) == SEQC_OK);
      REQUIRE(seqc_stream_step_token(b.s, toks[t], gsteps.data() + t * V, V) == SEQC_OK);
    }
    CHECK_CLOSE(gsteps, steps, "GPU steps vs CPU steps, same weight dtype");
    REQUIRE(seqc_stream_forward_tokens(c.s, toks.data(), toks.size(), SEQC_OUTPUT_ALL, all.data(), all.size()) ==
            SEQC_OK);
    const double e = rel_err(all, steps);
    INFO("forward with half GEMM inputs: worst relative error ", e);
    CHECK(e <= 3e-2);
    // The state after the forward is that of the steps, to the same bound;
    // and a snapshot of the half-weight GPU stream restores on the CPU.
    const auto snap = snapshot(c.s);
    StreamHandle r(mc.m);
    REQUIRE(seqc_stream_restore(r.s, snap.data(), snap.size()) == SEQC_OK);
    CHECK(rel_err(read_state(r.s, mc.m), read_state(a.s, mc.m)) <= 3e-2);
  }
}

// Batched generation on the GPU: the logits stay on the device and only the
// sampler's candidates come back (one for greedy, top_k with top_k <= 64);
// a stream that needs its whole row (top_k 0 with temperature) brings the
// logits back. Every stream's tokens equal those of the same stream
// generating alone, and the device candidates equal sampling from the
// downloaded logits.
TEST_CASE("cuda/generate_many_samples_on_the_device") {
  if (!have_gpu()) return;
  std::mt19937_64 rng(11);
  const auto bytes = lm_stack_bytes(rng);
  RuntimeHandle gpu(SEQC_DEVICE_CUDA);
  ModelHandle mg(bytes, gpu.rt);
  struct S {
    float temp;
    int32_t top_k;
    float top_p;
  };
  const S settings[] = {{0.0f, 0, 1.0f}, {1.0f, 5, 1.0f}, {0.7f, 64, 0.9f}, {2.0f, 1, 1.0f}, {1.0f, 0, 1.0f},
                        {1.5f, 40, 0.5f}};
  for (const bool with_full_row : {false, true}) {
    CAPTURE(with_full_row);
    const size_t n = with_full_row ? 6 : 5;  // setting 4 needs the whole row
    std::vector<seqc_stream*> many(n), solo(n);
    std::vector<int32_t> feed(n), got(n);
    for (size_t i = 0; i < n; ++i) {
      const S& st = settings[i < 4 ? i : (with_full_row ? i : i + 1)];
      REQUIRE(seqc_stream_create(mg.m, &many[i]) == SEQC_OK);
      REQUIRE(seqc_stream_set_sampling(many[i], st.temp, st.top_k, st.top_p) == SEQC_OK);
      REQUIRE(seqc_stream_set_seed(many[i], 1000 + i) == SEQC_OK);
      REQUIRE(seqc_stream_reset(many[i]) == SEQC_OK);
      const int32_t prompt[4] = {int32_t(i), 7, 3, 21};
      REQUIRE(seqc_stream_generate(many[i], prompt, 1 + i % 4, &feed[i]) == SEQC_OK);
      REQUIRE(seqc_stream_fork(many[i], &solo[i]) == SEQC_OK);
    }
    bool same = true;
    // 30 steps (fewer under the sanitizers, which shorten kT).
    for (int64_t t = 0; t < std::min<int64_t>(30, kT / 4); ++t) {
      REQUIRE(seqc_stream_generate_many(many.data(), n, feed.data(), got.data()) == SEQC_OK);
      for (size_t i = 0; i < n; ++i) {
        int32_t one = -1;
        REQUIRE(seqc_stream_generate(solo[i], &feed[i], 1, &one) == SEQC_OK);
        same = same && one == got[i] && got[i] >= 0 && got[i] < 50;
        feed[i] = got[i];
      }
    }
    CHECK(same);
    for (size_t i = 0; i < n; ++i) {
      seqc_stream_destroy(many[i]);
      seqc_stream_destroy(solo[i]);
    }
  }
  // Device candidates vs the host sampler on the downloaded logits.
  for (const S& st : settings) {
    StreamHandle a(mg.m);
    REQUIRE(seqc_stream_set_sampling(a.s, st.temp, st.top_k, st.top_p) == SEQC_OK);
    REQUIRE(seqc_stream_set_seed(a.s, 5) == SEQC_OK);
    REQUIRE(seqc_stream_reset(a.s) == SEQC_OK);
    seqc_stream* b = nullptr;
    REQUIRE(seqc_stream_fork(a.s, &b) == SEQC_OK);
    int32_t ta = 3, tb = 3;
    bool same = true;
    std::vector<float> logits(50);
    for (int64_t t = 0; t < std::min<int64_t>(40, kT / 3); ++t) {
      REQUIRE(seqc_stream_generate(a.s, &ta, 1, &ta) == SEQC_OK);
      REQUIRE(seqc_stream_step_token(b, tb, logits.data(), 50) == SEQC_OK);
      REQUIRE(seqc_stream_sample(b, logits.data(), 50, &tb) == SEQC_OK);
      same = same && ta == tb;
    }
    CHECK(same);
    seqc_stream_destroy(b);
  }
}

// Long calls (64 positions or more) of recurrent/mamba take the tiled scan
// (d_state <= 64: 16, 22, 40 here); single-stream ones with a larger
// d_state the segmented scan (64 positions a segment, at least 4: d_state
// 72). recurrent/mamba2 runs calls of 32 positions or more through the
// chunked SSD kernels (prefill "auto": chunks of 64 positions, the last one
// short; head_dim 32, 6 and 12, groups 1, 5 and 2), and with prefill "scan"
// through its exact scan (B and C staged 16 bytes at a time for d_state
// 128, one float at a time for 18).
// Each runs forward over 320 (two tiles: 256 + 64, or 5 segments), 256 then
// 64, and 100 + 157 + 63 (tiles ending inside a lane's positions; 63 takes
// the staged scan), against the CPU's steps, outputs and state, within kTol.
TEST_CASE("cuda/mamba_long_prefill") {
  if (!have_gpu()) return;
  const std::pair<const char*, const char*> cases[] = {
      {"recurrent/mamba", R"({"d_model":32,"d_inner":64,"d_state":16,"d_conv":4})"},
      {"recurrent/mamba", R"({"d_model":24,"d_inner":44,"d_state":22,"d_conv":3,"bcdt_rms":true})"},
      {"recurrent/mamba", R"({"d_model":24,"d_inner":40,"d_state":40,"d_conv":3})"},
      {"recurrent/mamba", R"({"d_model":16,"d_inner":24,"d_state":72,"d_conv":2})"},
      {"recurrent/mamba2", R"({"d_model":32,"d_inner":64,"n_heads":2,"head_dim":32,"d_state":128,"d_conv":4})"},
      {"recurrent/mamba2",
       R"({"d_model":16,"d_inner":30,"n_heads":5,"head_dim":6,"d_state":18,"n_groups":5,"d_conv":3})"},
      {"recurrent/mamba2",
       R"({"d_model":32,"d_inner":64,"n_heads":2,"head_dim":32,"d_state":128,"d_conv":4,"prefill":"scan"})"},
      {"recurrent/mamba2",
       R"({"d_model":16,"d_inner":30,"n_heads":5,"head_dim":6,"d_state":18,"n_groups":5,"d_conv":3,)"
       R"("prefill":"scan"})"},
      {"recurrent/mamba2",
       R"({"d_model":16,"d_inner":48,"n_heads":4,"head_dim":12,"d_state":64,"n_groups":2,"d_conv":4,"dt_max":0.3})"},
      // A norm group of 8320 > 1024 threads x 8: the gated norm's two-pass path.
      {"recurrent/mamba2", R"({"d_model":8,"d_inner":8320,"n_heads":130,"head_dim":64,"d_state":8,"d_conv":4})"},
  };
  for (const auto& [plugin, config] : cases) {
    CAPTURE(plugin);
    CAPTURE(config);
    std::mt19937_64 rng(31);
    Case c = make_case(plugin, config, 31);
    const int64_t T = 320;
    c.input = random_floats(rng, size_t(T * c.in_width), 2.0f);
    RuntimeHandle cpu(SEQC_DEVICE_CPU), gpu(SEQC_DEVICE_CUDA);
    ModelHandle mc(c.bytes, cpu.rt), mg(c.bytes, gpu.rt);
    StreamHandle ref(mc.m), one(mg.m), two(mg.m), three(mg.m);
    const auto want = run_steps(ref.s, c, 0, T);
    CHECK_CLOSE(run_forward(one.s, c, 0, T), want, "one forward of 320");
    CHECK_CLOSE(read_state(one.s, mg.m), read_state(ref.s, mc.m), "state after it");
    auto a = run_forward(two.s, c, 0, 256);
    const auto b = run_forward(two.s, c, 256, T);
    a.insert(a.end(), b.begin(), b.end());
    CHECK_CLOSE(a, want, "forward 256 then 64");
    CHECK_CLOSE(read_state(two.s, mg.m), read_state(ref.s, mc.m), "state after them");
    std::vector<float> c3;
    for (const auto& [t0, t1] : {std::pair<int64_t, int64_t>{0, 100}, {100, 257}, {257, T}}) {
      const auto part = run_forward(three.s, c, t0, t1);
      c3.insert(c3.end(), part.begin(), part.end());
    }
    CHECK_CLOSE(c3, want, "forward 100, 157, 63");
    CHECK_CLOSE(read_state(three.s, mg.m), read_state(ref.s, mc.m), "state after them");
  }
}

// recurrent/mamba2 with 2-byte weight matrices runs the chunked SSD's
// products on the tensor cores, in TF32. Against the exact scan (prefill
// "scan") over the same weights and dtype on the GPU, whose projections
// round their inputs the same way, only the SSD's own error remains: within
// kTcTol (measured on an H100: up to 1.0e-3). Against the CPU's steps in
// the same dtype, weight_dtypes' bound of 3e-2. Chunk tails, one chunk
// shorter than 64, head_dim 6 and 12, d_state 18, 64 and 128, groups 1, 2
// and 5.
TEST_CASE("cuda/mamba2_ssd_tensor_cores") {
  if (!have_gpu()) return;
  constexpr double kTcTol = 2e-3;
  const char* configs[] = {
      R"("d_model":64,"d_inner":128,"n_heads":2,"head_dim":64,"d_state":128,"d_conv":4)",
      R"("d_model":16,"d_inner":30,"n_heads":5,"head_dim":6,"d_state":18,"n_groups":5,"d_conv":3)",
      R"("d_model":16,"d_inner":48,"n_heads":4,"head_dim":12,"d_state":64,"n_groups":2,"d_conv":4,"dt_max":0.3)",
  };
  for (const char* body : configs) {
    for (const int32_t dt : {SEQC_DTYPE_BF16, SEQC_DTYPE_F16}) {
      CAPTURE(body);
      CAPTURE(dt);
      const std::string cfg = std::string("{") + body + "}", scan_cfg = std::string("{") + body + R"(,"prefill":"scan"})";
      Case c = make_case("recurrent/mamba2", cfg, 37), cs = make_case("recurrent/mamba2", scan_cfg, 37);
      std::mt19937_64 rng(37);
      const int64_t T = 320;
      c.input = random_floats(rng, size_t(T * c.in_width), 2.0f);
      cs.input = c.input;
      RuntimeHandle cpu(SEQC_DEVICE_CPU), gpu(SEQC_DEVICE_CUDA);
      ModelHandle mc, mg, ms;
      load_with_dtype(mc, c.bytes, cpu.rt, dt);
      load_with_dtype(mg, c.bytes, gpu.rt, dt);
      load_with_dtype(ms, cs.bytes, gpu.rt, dt);
      StreamHandle ref(mc.m), scan(ms.m), one(mg.m), three(mg.m), short_one(mg.m), short_scan(ms.m);
      const auto want = run_steps(ref.s, c, 0, T);
      const auto exact = run_forward(scan.s, cs, 0, T);
      const auto got = run_forward(one.s, c, 0, T);
      const double e_cpu = rel_err(got, want), e_scan = rel_err(got, exact);
      INFO("TF32 SSD against the CPU's steps: worst relative error ", e_cpu);
      INFO("TF32 SSD against the GPU's exact scan: worst relative error ", e_scan);
      CHECK(e_cpu <= 3e-2);
      CHECK(e_scan <= kTcTol);
      CHECK(rel_err(read_state(one.s, mg.m), read_state(scan.s, ms.m)) <= kTcTol);
      std::vector<float> c3;
      for (const auto& [t0, t1] : {std::pair<int64_t, int64_t>{0, 100}, {100, 257}, {257, T}}) {
        const auto part = run_forward(three.s, c, t0, t1);
        c3.insert(c3.end(), part.begin(), part.end());
      }
      CHECK(rel_err(c3, exact) <= kTcTol);
      CHECK(rel_err(read_state(three.s, mg.m), read_state(scan.s, ms.m)) <= kTcTol);
      // One chunk of 40 positions (the SSD from 32 on).
      CHECK(rel_err(run_forward(short_one.s, c, 0, 40), run_forward(short_scan.s, cs, 0, 40)) <= kTcTol);
    }
  }
}

// Stream states come from the runtime's memory pool, in stream order: a
// stream made after another was destroyed may get its memory back, and must
// still start from a zero state, while the streams around it carry on.
TEST_CASE("cuda/stream_churn") {
  if (!have_gpu()) return;
  Case c = make_case("recurrent/mamba", R"({"d_model":32,"d_inner":64,"d_state":16,"d_conv":4})", 41);
  std::mt19937_64 rng(41);
  const int64_t T = 24;
  c.input = random_floats(rng, size_t(T * c.in_width), 2.0f);
  RuntimeHandle cpu(SEQC_DEVICE_CPU), gpu(SEQC_DEVICE_CUDA);
  ModelHandle mc(c.bytes, cpu.rt), mg(c.bytes, gpu.rt);
  StreamHandle ref(mc.m), keep(mg.m);
  const auto want = run_steps(ref.s, c, 0, T);
  const std::vector<float> first3(want.begin(), want.begin() + 3 * c.out_width);
  std::vector<float> got;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<StreamHandle> tmp;
    for (int k = 0; k < 1 + int(t % 3); ++k) tmp.emplace_back(mg.m);
    for (auto& s : tmp) CHECK_CLOSE(run_steps(s.s, c, 0, 3), first3, "a new stream starts from a zero state");
    const auto out = run_steps(keep.s, c, t, t + 1);
    got.insert(got.end(), out.begin(), out.end());
  }
  CHECK_CLOSE(got, want, "the stream that lived through them");
}
