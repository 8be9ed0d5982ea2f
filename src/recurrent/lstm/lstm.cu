// recurrent/lstm on CUDA: PyTorch nn.LSTM (gates i f g o, optional bias,
// optional projection proj_size), weights kept in PyTorch's layout:
//   [i f g o] = W_ih x + W_hh h + (b_ih + b_hh)
//   c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = W_hr (sigmoid(o) * tanh(c'))
//
// Per call: one gather of every stream's h state (all layers) into scratch.
// Per layer: one GEMM of all B*T input rows against W_ih; then per position
// t a GEMM (GEMV for B = 1) of the B previous h rows against W_hh that
// accumulates into the same pre-activation rows, and one fused cell kernel
// (bias, gates, c update in the state, h into the layer output row, and into
// the h state at the last position), plus with a projection one GEMM against
// W_hr and, after the last position, a copy of the projected h into the state.
// State layout is the CPU block's: "h" [L, P] then "c" [L, H] (P = H without
// projection).
#include <algorithm>
#include <string>
#include <vector>

#include "cuda/cuda_common.cuh"

namespace seqc {

namespace {

constexpr int kThreads = 256;

// One (stream b, unit j) per thread at position t of layer l. G rows are
// b * T + t with 4H columns (gate g of unit j at g * H + j) holding
// W_ih x + W_hh h; bias (b_ih + b_hh, 4H) may be null. h' goes to hout
// (row b, leading dimension ldo) and, if write_h_state, to the h state.
__global__ void lstm_cell(const float* __restrict__ G, const float* __restrict__ bias, int64_t B, int64_t T,
                          int64_t t, int64_t H, std::byte* const* streams, size_t off_c, size_t off_h, int64_t l,
                          int64_t P, float* __restrict__ hout, int64_t ldo, bool write_h_state) {
  const int64_t n = B * H;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < n;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = idx / H, j = idx % H;
    const float* g = G + (b * T + t) * 4 * H;
    float pi = g[j], pf = g[H + j], pg = g[2 * H + j], po = g[3 * H + j];
    if (bias) {
      pi = __fadd_rn(pi, bias[j]);
      pf = __fadd_rn(pf, bias[H + j]);
      pg = __fadd_rn(pg, bias[2 * H + j]);
      po = __fadd_rn(po, bias[3 * H + j]);
    }
    const float ig = cuda::sigmoidf_(pi), fg = cuda::sigmoidf_(pf), gg = tanhf(pg), og = cuda::sigmoidf_(po);
    float* c = cuda::state_f32(streams, b, off_c) + l * H;
    // The CPU's rounding sequence: f * c and i * g rounded, then added.
    const float cn = __fadd_rn(__fmul_rn(fg, c[j]), __fmul_rn(ig, gg));
    c[j] = cn;
    const float h = __fmul_rn(og, tanhf(cn));
    hout[b * ldo + j] = h;
    if (write_h_state) cuda::state_f32(streams, b, off_h)[l * P + j] = h;
  }
}

// h state of stream b, layer l = out row b * T + T - 1 (the projected h).
__global__ void lstm_store_h(const float* __restrict__ out, int64_t B, int64_t T, int64_t P,
                             std::byte* const* streams, size_t off_h, int64_t l) {
  const int64_t n = B * P;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = i / P, j = i % P;
    cuda::state_f32(streams, b, off_h)[l * P + j] = out[(b * T + T - 1) * P + j];
  }
}

unsigned grid_capped(const cuda::Ctx& c, int64_t n) {
  const unsigned g = cuda::grid_for(n, kThreads), cap = unsigned(c.sm_count > 0 ? c.sm_count * 16 : 2048);
  return g < cap ? g : cap;
}

struct Layer {
  int64_t in = 0;
  // [W_ih | W_hh] side by side: [4H, in + P]. W_ih is its first `in` columns
  // and W_hh the rest (leading dimension in + P), and a step multiplies
  // [x | h] by all of it in one GEMM.
  cuda::Matrix wcat, whr;  // whr only with a projection
  cuda::DeviceArray bias;  // only with biases
};

// xh[b, :] = [x row b | h row b] for a step (T = 1).
__global__ void lstm_concat(const float* __restrict__ x, int64_t in, const float* __restrict__ h, int64_t ldh,
                            int64_t P, int64_t B, float* __restrict__ xh) {
  const int64_t K = in + P, n = B * K;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = i / K, k = i % K;
    xh[i] = k < in ? x[b * in + k] : h[b * ldh + (k - in)];
  }
}

class CudaLstm final : public Block {
 public:
  CudaLstm(const Config& c, const BlockInfo& info, const WeightSource& w)
      : I_(c.i("input_size")), H_(c.i("hidden_size")), L_(c.i("num_layers")), P_(info.out_width),
        proj_(c.i("proj_size") > 0) {
    for (int64_t l = 0; l < L_; ++l) {
      const std::string s = std::to_string(l);
      Layer ly;
      ly.in = l == 0 ? I_ : P_;
      {
        const float* wi = w.get_matrix("weight_ih_l" + s);
        const float* wh = w.get_matrix("weight_hh_l" + s);
        const int64_t K = ly.in + P_;
        std::vector<float> cat(size_t(4 * H_ * K));
        for (int64_t r = 0; r < 4 * H_; ++r) {
          std::copy_n(wi + r * ly.in, ly.in, cat.data() + r * K);
          std::copy_n(wh + r * P_, P_, cat.data() + r * K + ly.in);
        }
        ly.wcat = cuda::Matrix::upload(cat.data(), 4 * H_, K, w.matrix_dtype());
      }
      if (c.b("bias")) {
        // b_ih + b_hh, summed in float as the CPU block does.
        const float* bi = w.get("bias_ih_l" + s);
        const float* bh = w.get("bias_hh_l" + s);
        std::vector<float> b(size_t(4 * H_));
        for (int64_t n = 0; n < 4 * H_; ++n) b[size_t(n)] = bi[n] + bh[n];
        ly.bias = cuda::DeviceArray::upload(b.data(), b.size());
      }
      if (proj_) ly.whr = cuda::Matrix::upload(w.get_matrix("weight_hr_l" + s), P_, H_, w.matrix_dtype());
      layers_.push_back(std::move(ly));
    }
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const Sizes z = sizes(B, T);
    size_t mat = 0;
    for (const auto& l : layers_) mat = std::max({mat, l.wcat.scratch_bytes(B * T), l.whr.scratch_bytes(B)});
    return align_up(z.G * 4) + align_up(z.seq0 * 4) + align_up(z.seq1 * 4) + align_up(z.hg * 4) +
           align_up(z.hfull * 4) + align_up(z.xh * 4) + mat;
  }

  size_t weight_bytes() const override {
    size_t n = 0;
    for (const auto& l : layers_) n += l.wcat.bytes() + l.whr.bytes() + l.bias.bytes();
    return n;
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    if (B <= 0 || T <= 0) return;
    const cuda::Ctx& c = cuda::ctx_of(ctx);
    const int64_t rows = B * T, G4 = 4 * H_;
    const Sizes z = sizes(B, T);
    float* G = ctx.ws.alloc<float>(z.G);
    float* seq[2] = {ctx.ws.alloc<float>(z.seq0), ctx.ws.alloc<float>(z.seq1)};
    float* hg = ctx.ws.alloc<float>(z.hg);
    float* hfull = ctx.ws.alloc<float>(z.hfull);
    float* xh = ctx.ws.alloc<float>(z.xh);
    const size_t off_h = st.offsets[0], off_c = st.offsets[1];

    // Every layer's h before this call (the cell kernels write the state).
    cuda::gather_state_rows(c, st.streams, off_h, hg, L_, B, P_);

    const float* in = x;
    for (int64_t l = 0; l < L_; ++l) {
      const Layer& ly = layers_[size_t(l)];
      float* out = l == L_ - 1 ? y : seq[l % 2];
      const int64_t K = ly.in + P_;
      if (T == 1) {
        // A step: G[B, 4H] = [x | h] [W_ih | W_hh]^T in one GEMM (GEMV at B = 1).
        lstm_concat<<<grid_capped(c, B * K), kThreads, 0, c.stream>>>(in, ly.in, hg + l * B * P_, P_, P_, B, xh);
        cuda::check_launch("recurrent/lstm concat");
        ly.wcat.apply(ctx, B, xh, K, G, G4);
      } else {
        // G[rows, 4H] = in W_ih^T (the bias is added by the cell kernel).
        ly.wcat.apply(ctx, rows, in, ly.in, G, G4, {false, nullptr, 0, ly.in});
      }
      for (int64_t t = 0; t < T; ++t) {
        if (T > 1) {
          // Previous h of the B streams: gathered state at t = 0, else out rows b * T + t - 1.
          const float* hp = t == 0 ? hg + l * B * P_ : out + (t - 1) * P_;
          const int64_t ldh = t == 0 ? P_ : T * P_;
          // G rows b * T + t += h_prev W_hh^T.
          ly.wcat.apply(ctx, B, hp, ldh, G + t * G4, T * G4, {true, nullptr, ly.in, P_});
        }
        float* hout = proj_ ? hfull : out + t * P_;
        const int64_t ldo = proj_ ? H_ : T * P_;
        const bool last = t == T - 1;
        lstm_cell<<<grid_capped(c, B * H_), kThreads, 0, c.stream>>>(
            G, ly.bias.empty() ? nullptr : ly.bias.data(), B, T, t, H_, st.streams, off_c, off_h, l, P_, hout, ldo,
            last && !proj_);
        cuda::check_launch("recurrent/lstm cell");
        // out rows b * T + t = (o * tanh(c')) W_hr^T.
        if (proj_) ly.whr.apply(ctx, B, hfull, H_, out + t * P_, T * P_);
      }
      if (proj_) {
        lstm_store_h<<<grid_capped(c, B * P_), kThreads, 0, c.stream>>>(out, B, T, P_, st.streams, off_h, l);
        cuda::check_launch("recurrent/lstm store h");
      }
      in = out;
    }
  }

 private:
  struct Sizes {
    size_t G, seq0, seq1, hg, hfull, xh;  // floats
  };
  Sizes sizes(int64_t B, int64_t T) const {
    const size_t rows = size_t(B * T);
    return Sizes{rows * size_t(4 * H_), L_ > 1 ? rows * size_t(P_) : 0, L_ > 2 ? rows * size_t(P_) : 0,
                 size_t(L_ * B * P_), proj_ ? size_t(B * H_) : 0,
                 T == 1 ? size_t(B * (std::max(I_, P_) + P_)) : 0};
  }

  int64_t I_, H_, L_, P_;
  bool proj_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_lstm(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaLstm>(c, info, w);
}

}  // namespace seqc
