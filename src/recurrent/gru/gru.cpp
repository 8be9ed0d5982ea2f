// recurrent/gru: multi-layer GRU with PyTorch's gates, names and equations
// ("linear before reset", as cuDNN and nn.GRU):
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h
//
// Layout: gate columns interleaved per block of 64 hidden units ([r z n] x 64
// = three 64-column panels), one task per block, one barrier per layer per
// position. Input and recurrent pre-activations are kept apart (n needs
// W_hn h alone). Exact GEMM chains make forward(T) == T steps bit for bit.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/packed_weight.hpp"
#include "core/plugin.hpp"
#include "core/status.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/vmath.hpp"

namespace seqc {

namespace {

constexpr int64_t kUnits = 64;  // hidden units per task; 3 gates x 64 = three panels

const ConfigKey kSchema[] = {
    {.name = "input_size", .type = ConfigType::integer, .required = true, .min = 1, .doc = "input width"},
    {.name = "hidden_size", .type = ConfigType::integer, .required = true, .min = 1, .doc = "state width H"},
    {.name = "num_layers", .type = ConfigType::integer, .required = false, .int_default = 1, .min = 1,
     .max = 1024, .doc = "stacked layers"},
    {.name = "bias", .type = ConfigType::boolean, .required = false, .bool_default = true,
     .doc = "b_ih and b_hh present"},
};

const char* const kTestConfigs[] = {
    R"({"input_size": 7, "hidden_size": 20, "num_layers": 2})",
    R"({"input_size": 3, "hidden_size": 70, "num_layers": 1, "bias": false})",
    R"({"input_size": 9, "hidden_size": 64, "num_layers": 3})",
};

BlockInfo info(const Config& c) {
  const int64_t I = c.i("input_size"), H = c.i("hidden_size"), L = c.i("num_layers");
  BlockInfo b;
  b.in_width = I;
  b.out_width = H;
  for (int64_t l = 0; l < L; ++l) {
    const std::string s = std::to_string(l);
    b.weights.push_back({"weight_ih_l" + s, DType::f32, {3 * H, l == 0 ? I : H}});
    b.weights.push_back({"weight_hh_l" + s, DType::f32, {3 * H, H}});
    if (c.b("bias")) {
      b.weights.push_back({"bias_ih_l" + s, DType::f32, {3 * H}});
      b.weights.push_back({"bias_hh_l" + s, DType::f32, {3 * H}});
    }
  }
  b.state = {{"h", DType::f32, {L, H}}};
  return b;
}

struct Layer {
  int64_t in = 0;
  PackedWeight wih, whh;
  AlignedBuffer bih, bhh;  // packed column order, or empty
};

class Gru final : public Block {
 public:
  Gru(const Config& c, const BlockInfo&, const WeightSource& w)
      : I_(c.i("input_size")), H_(c.i("hidden_size")), L_(c.i("num_layers")) {
    // Packed column 3*u0 + g*cnt + j holds gate g of unit u0 + j.
    std::vector<int64_t> perm(size_t(3 * H_));
    for (int64_t u0 = 0; u0 < H_; u0 += kUnits) {
      const int64_t cnt = std::min(kUnits, H_ - u0);
      for (int64_t g = 0; g < 3; ++g)
        for (int64_t j = 0; j < cnt; ++j) perm[size_t(3 * u0 + g * cnt + j)] = g * H_ + u0 + j;
    }
    auto permuted = [&](const float* v) {
      AlignedBuffer b(size_t(3 * H_) * sizeof(float));
      for (int64_t n = 0; n < 3 * H_; ++n) b.as<float>()[n] = v[perm[size_t(n)]];
      return b;
    };
    for (int64_t l = 0; l < L_; ++l) {
      const std::string s = std::to_string(l);
      Layer ly;
      ly.in = l == 0 ? I_ : H_;
      ly.wih = PackedWeight::from_nk(w.get_matrix("weight_ih_l" + s), 3 * H_, ly.in, perm.data());
      ly.whh = PackedWeight::from_nk(w.get_matrix("weight_hh_l" + s), 3 * H_, H_, perm.data());
      if (c.b("bias")) {
        ly.bih = permuted(w.get("bias_ih_l" + s));
        ly.bhh = permuted(w.get("bias_hh_l" + s));
      }
      layers_.push_back(std::move(ly));
    }
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    return align_up(rows * size_t(3 * H_) * 4) + align_up(size_t(B * 3 * H_) * 4) +
           2 * align_up(rows * size_t(H_) * 4) + align_up(size_t(B * H_) * 4) + 4 * kAlign;
  }

  size_t weight_bytes() const override {
    size_t n = 0;
    for (const auto& l : layers_) n += l.wih.bytes() + l.whh.bytes() + l.bih.size() + l.bhh.size();
    return n;
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const int64_t rows = B * T, G3 = 3 * H_;
    float* Gi = ctx.ws.alloc<float>(size_t(rows * G3));  // input pre-activations
    float* Gh = ctx.ws.alloc<float>(size_t(B * G3));     // recurrent pre-activations at one t
    float* seq[2] = {ctx.ws.alloc<float>(size_t(rows * H_)), ctx.ws.alloc<float>(size_t(rows * H_))};
    float* hg = ctx.ws.alloc<float>(size_t(B * H_));
    const int64_t blocks = (H_ + kUnits - 1) / kUnits;

    const float* in = x;
    for (int64_t l = 0; l < L_; ++l) {
      const Layer& ly = layers_[size_t(l)];
      float* out = l == L_ - 1 ? y : seq[l % 2];
      const bool has_bias = ly.bih.size() != 0;
      const cpu::Init init = has_bias ? cpu::Init::bias : cpu::Init::zero;
      const bool fused_input = T == 1;
      if (!fused_input) cpu::gemm(&ctx.pool, ly.wih.args(rows, in, ly.in, Gi, G3, init, ly.bih.as<float>()));

      for (int64_t t = 0; t < T; ++t) {
        const float* hp;
        int64_t ldh;
        if (t > 0) {
          hp = out + (t - 1) * H_;
          ldh = T * H_;
        } else if (B == 1) {
          hp = st.f32(0, 0) + l * H_;
          ldh = H_;
        } else {
          for (int64_t b = 0; b < B; ++b) std::memcpy(hg + b * H_, st.f32(b, 0) + l * H_, size_t(H_) * 4);
          hp = hg;
          ldh = H_;
        }
        float* Git = Gi + t * G3;
        const int64_t ldg = T * G3;
        ctx.pool.parallel_ranges(blocks, [&](int64_t ub, int64_t ue) {
         for (int64_t u = ub; u < ue; ++u) {
          const int64_t u0 = u * kUnits, cnt = std::min(kUnits, H_ - u0);
          const int64_t n0 = 3 * u0, n1 = n0 + 3 * cnt;
          if (fused_input) cpu::gemm_tile(ly.wih.args(B, in, ly.in, Git, ldg, init, ly.bih.as<float>()), 0, B, n0, n1);
          cpu::gemm_tile(ly.whh.args(B, hp, ldh, Gh, G3, init, ly.bhh.as<float>()), 0, B, n0, n1);
          for (int64_t b = 0; b < B; ++b) {
            float* gi = Git + b * ldg + n0;  // [r z n] x cnt
            float* gh = Gh + b * G3 + n0;
            const float* h = hp + b * ldh + u0;
            float* ho = out + (b * T + t) * H_ + u0;
            for (int64_t j = 0; j < 2 * cnt; ++j) gi[j] = gi[j] + gh[j];
            cpu::vsigmoid(gi, gi, 2 * cnt);
            for (int64_t j = 0; j < cnt; ++j) {
              const float rn = gi[j] * gh[2 * cnt + j];
              gi[2 * cnt + j] = gi[2 * cnt + j] + rn;
            }
            cpu::vtanh(gi + 2 * cnt, gi + 2 * cnt, cnt);
            for (int64_t j = 0; j < cnt; ++j) {
              const float z = gi[cnt + j], n = gi[2 * cnt + j];
              const float a = (1.0f - z) * n;
              const float bz = z * h[j];
              ho[j] = a + bz;
            }
          }
         }
        });
      }
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(st.f32(b, 0) + l * H_, out + (b * T + T - 1) * H_, size_t(H_) * 4);
      in = out;
    }
  }

 private:
  int64_t I_, H_, L_;
  std::vector<Layer> layers_;
};

std::unique_ptr<Block> create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<Gru>(c, info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_gru);

extern const PluginDesc plugin_recurrent_gru = {
    .kind = PluginKind::recurrent,
    .name = "recurrent/gru",
    .version = 1,
    .summary = "multi-layer GRU, PyTorch nn.GRU gates and names",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_gru),
    .test_configs = kTestConfigs,
    .forward_exact = true,
};

}  // namespace seqc
