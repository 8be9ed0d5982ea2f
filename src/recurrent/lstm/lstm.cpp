// recurrent/lstm: multi-layer LSTM with PyTorch's gates, names and
// equations (optionally with a projection, nn.LSTM's proj_size):
//   [i f g o] = W_ih x + b_ih + W_hh h + b_hh
//   c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = W_hr (sigmoid(o) * tanh(c'))
//
// Layout: the gate columns are interleaved per block of 16 hidden units
// ([i f g o] x 16 = one 64-column GEMM panel), so one task computes its
// panel's pre-activations and immediately updates its 16 units: one barrier
// per layer per position. The input projection of a whole sequence is one
// GEMM; every output element follows the exact-GEMM chain (bias, then the
// input terms, then the recurrent terms), so forward(T) == T steps and
// step_many == each stream alone, bit for bit.
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

constexpr int64_t kUnits = 16;  // hidden units per task; 4 gates x 16 = one panel

const ConfigKey kSchema[] = {
    {.name = "input_size", .type = ConfigType::integer, .required = true, .min = 1, .doc = "input width"},
    {.name = "hidden_size", .type = ConfigType::integer, .required = true, .min = 1, .doc = "cell width H"},
    {.name = "num_layers", .type = ConfigType::integer, .required = false, .int_default = 1, .min = 1,
     .max = 1024, .doc = "stacked layers"},
    {.name = "bias", .type = ConfigType::boolean, .required = false, .bool_default = true,
     .doc = "b_ih and b_hh present"},
    {.name = "proj_size", .type = ConfigType::integer, .required = false, .int_default = 0, .min = 0,
     .doc = "if > 0, h is projected to this width (must be < hidden_size)"},
};

const char* const kTestConfigs[] = {
    R"({"input_size": 7, "hidden_size": 20, "num_layers": 2})",
    R"({"input_size": 5, "hidden_size": 16, "num_layers": 1, "bias": false})",
    R"({"input_size": 6, "hidden_size": 33, "num_layers": 3, "proj_size": 5})",
};

BlockInfo info(const Config& c) {
  const int64_t I = c.i("input_size"), H = c.i("hidden_size"), L = c.i("num_layers"), P0 = c.i("proj_size");
  if (P0 >= H) fail(Code::config, "recurrent/lstm: proj_size (", P0, ") must be smaller than hidden_size (", H, ")");
  const int64_t P = P0 ? P0 : H;
  BlockInfo b;
  b.in_width = I;
  b.out_width = P;
  for (int64_t l = 0; l < L; ++l) {
    const std::string s = std::to_string(l);
    b.weights.push_back({"weight_ih_l" + s, DType::f32, {4 * H, l == 0 ? I : P}});
    b.weights.push_back({"weight_hh_l" + s, DType::f32, {4 * H, P}});
    if (c.b("bias")) {
      b.weights.push_back({"bias_ih_l" + s, DType::f32, {4 * H}});
      b.weights.push_back({"bias_hh_l" + s, DType::f32, {4 * H}});
    }
    if (P0) b.weights.push_back({"weight_hr_l" + s, DType::f32, {P, H}});
  }
  b.state = {{"h", DType::f32, {L, P}}, {"c", DType::f32, {L, H}}};
  return b;
}

struct Layer {
  int64_t in = 0;
  PackedWeight wih, whh, whr;
  AlignedBuffer bias;  // b_ih + b_hh in packed column order, or empty
};

class Lstm final : public Block {
 public:
  Lstm(const Config& c, const BlockInfo& info, const WeightSource& w)
      : I_(c.i("input_size")), H_(c.i("hidden_size")), L_(c.i("num_layers")), P_(info.out_width),
        proj_(c.i("proj_size") > 0) {
    // Packed column 64u + g*cnt + j holds gate g of unit 16u + j.
    std::vector<int64_t> perm(size_t(4 * H_));
    for (int64_t u0 = 0; u0 < H_; u0 += kUnits) {
      const int64_t cnt = std::min(kUnits, H_ - u0);
      for (int64_t g = 0; g < 4; ++g)
        for (int64_t j = 0; j < cnt; ++j) perm[size_t(4 * u0 + g * cnt + j)] = g * H_ + u0 + j;
    }
    for (int64_t l = 0; l < L_; ++l) {
      const std::string s = std::to_string(l);
      Layer ly;
      ly.in = l == 0 ? I_ : P_;
      ly.wih = PackedWeight::from_nk(w.get_matrix("weight_ih_l" + s), 4 * H_, ly.in, perm.data());
      ly.whh = PackedWeight::from_nk(w.get_matrix("weight_hh_l" + s), 4 * H_, P_, perm.data());
      if (c.b("bias")) {
        const float* bi = w.get("bias_ih_l" + s);
        const float* bh = w.get("bias_hh_l" + s);
        ly.bias = AlignedBuffer(size_t(4 * H_) * sizeof(float));
        for (int64_t n = 0; n < 4 * H_; ++n) ly.bias.as<float>()[n] = bi[perm[size_t(n)]] + bh[perm[size_t(n)]];
      }
      if (proj_) ly.whr = PackedWeight::from_nk(w.get_matrix("weight_hr_l" + s), P_, H_);
      layers_.push_back(std::move(ly));
    }
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    return align_up(rows * size_t(4 * H_) * 4) + 2 * align_up(rows * size_t(P_) * 4) +
           align_up(size_t(B * P_) * 4) + align_up(size_t(B * H_) * 4) + 4 * kAlign;
  }

  size_t weight_bytes() const override {
    size_t n = 0;
    for (const auto& l : layers_) n += l.wih.bytes() + l.whh.bytes() + l.whr.bytes() + l.bias.size();
    return n;
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const int64_t rows = B * T, G4 = 4 * H_;
    float* G = ctx.ws.alloc<float>(size_t(rows * G4));
    float* seq[2] = {ctx.ws.alloc<float>(size_t(rows * P_)), ctx.ws.alloc<float>(size_t(rows * P_))};
    float* hg = ctx.ws.alloc<float>(size_t(B * P_));   // h of B streams gathered at t = 0
    float* hfull = ctx.ws.alloc<float>(size_t(B * H_)); // o * tanh(c) before the projection
    const int64_t blocks = (H_ + kUnits - 1) / kUnits;

    const float* in = x;
    for (int64_t l = 0; l < L_; ++l) {
      const Layer& ly = layers_[size_t(l)];
      float* out = l == L_ - 1 ? y : seq[l % 2];
      const cpu::Init init = ly.bias.size() ? cpu::Init::bias : cpu::Init::zero;
      // With one position per stream the input terms are computed inside the
      // per-unit tasks below; for longer runs they are one big GEMM first.
      const bool fused_input = T == 1;
      if (!fused_input) cpu::gemm(&ctx.pool, ly.wih.args(rows, in, ly.in, G, G4, init, ly.bias.as<float>()));

      for (int64_t t = 0; t < T; ++t) {
        // A (h_prev) rows for the B streams at position t, and their stride.
        const float* hp;
        int64_t ldh;
        if (t > 0) {
          hp = out + (t - 1) * P_;
          ldh = T * P_;
        } else if (B == 1) {
          hp = st.f32(0, 0) + l * P_;
          ldh = P_;
        } else {
          for (int64_t b = 0; b < B; ++b) std::memcpy(hg + b * P_, st.f32(b, 0) + l * P_, size_t(P_) * 4);
          hp = hg;
          ldh = P_;
        }
        float* Gt = G + t * G4;  // row of stream b: Gt + b * T * G4
        const int64_t ldg = T * G4;
        ctx.pool.parallel_ranges(blocks, [&](int64_t ub, int64_t ue) {
         for (int64_t u = ub; u < ue; ++u) {
          const int64_t u0 = u * kUnits, cnt = std::min(kUnits, H_ - u0);
          const int64_t n0 = 4 * u0, n1 = n0 + 4 * cnt;
          if (fused_input) {
            const cpu::GemmArgs gi = ly.wih.args(B, in, ly.in, Gt, ldg, init, ly.bias.as<float>());
            cpu::gemm_tile(gi, 0, B, n0, n1);
          }
          const cpu::GemmArgs gh = ly.whh.args(B, hp, ldh, Gt, ldg, cpu::Init::accumulate);
          cpu::gemm_tile(gh, 0, B, n0, n1);
          for (int64_t b = 0; b < B; ++b) {
            float* g = Gt + b * ldg + n0;  // [i f g o] x cnt
            float* c = st.f32(b, 1) + l * H_ + u0;
            cpu::vsigmoid(g, g, 2 * cnt);
            cpu::vtanh(g + 2 * cnt, g + 2 * cnt, cnt);
            cpu::vsigmoid(g + 3 * cnt, g + 3 * cnt, cnt);
            float tc[kUnits];
            for (int64_t j = 0; j < cnt; ++j) {
              const float fc = g[cnt + j] * c[j];
              const float ig = g[j] * g[2 * cnt + j];
              c[j] = fc + ig;
            }
            cpu::vtanh(c, tc, cnt);
            float* h = proj_ ? hfull + b * H_ + u0 : out + (b * T + t) * P_ + u0;
            for (int64_t j = 0; j < cnt; ++j) h[j] = g[3 * cnt + j] * tc[j];
          }
         }
        });
        if (proj_) cpu::gemm(&ctx.pool, ly.whr.args(B, hfull, H_, out + t * P_, T * P_, cpu::Init::zero));
      }
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(st.f32(b, 0) + l * P_, out + (b * T + T - 1) * P_, size_t(P_) * 4);
      in = out;
    }
  }

 private:
  int64_t I_, H_, L_, P_;
  bool proj_;
  std::vector<Layer> layers_;
};

std::unique_ptr<Block> create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<Lstm>(c, info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_lstm);

extern const PluginDesc plugin_recurrent_lstm = {
    .kind = PluginKind::recurrent,
    .name = "recurrent/lstm",
    .version = 1,
    .summary = "multi-layer LSTM, PyTorch nn.LSTM gates, names and projection (proj_size)",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_lstm),
    .test_configs = kTestConfigs,
    .forward_exact = true,
};

}  // namespace seqc
