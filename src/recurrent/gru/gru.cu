// recurrent/gru on CUDA: PyTorch nn.GRU (gates r z n, "linear before
// reset", optional bias), weights kept in PyTorch's layout:
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h
//
// Per call: one gather of every stream's h state (all layers) into scratch.
// Per layer: one GEMM of all B*T input rows against W_ih; then per position t
// a GEMM (GEMV for B = 1) of the B previous h rows against W_hh into a
// separate buffer (n needs W_hn h alone) and one fused cell kernel (biases,
// gates, h into the layer output row, and into the h state at the last
// position). State layout is the CPU block's: "h" [L, H].
#include <string>
#include <vector>

#include <algorithm>

#include "cuda/cuda_common.cuh"

namespace seqc {

namespace {

constexpr int kThreads = 256;

// One (stream b, unit j) per thread at position t of layer l. Gi rows
// b * T + t and Gh rows b hold W_ih x and W_hh h_prev (3H columns, gate g of
// unit j at g * H + j); bih / bhh may be null (no bias). hp: h_prev of stream
// b at hp + b * ldh. h' goes to out row b * T + t (width H) and, if
// write_state, to the h state.
__global__ void gru_cell(const float* __restrict__ Gi, const float* __restrict__ Gh,
                         const float* __restrict__ bih, const float* __restrict__ bhh, const float* hp, int64_t ldh,
                         int64_t B, int64_t T, int64_t t, int64_t H, float* out, std::byte* const* streams,
                         size_t off_h, int64_t l, bool write_state) {
  const int64_t n = B * H;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < n;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = idx / H, j = idx % H;
    const float* gi = Gi + (b * T + t) * 3 * H;
    const float* gh = Gh + b * 3 * H;
    float ir = gi[j], iz = gi[H + j], in = gi[2 * H + j];
    float hr = gh[j], hz = gh[H + j], hn = gh[2 * H + j];
    if (bih) {
      ir = __fadd_rn(ir, bih[j]);
      iz = __fadd_rn(iz, bih[H + j]);
      in = __fadd_rn(in, bih[2 * H + j]);
    }
    if (bhh) {
      hr = __fadd_rn(hr, bhh[j]);
      hz = __fadd_rn(hz, bhh[H + j]);
      hn = __fadd_rn(hn, bhh[2 * H + j]);
    }
    const float r = cuda::sigmoidf_(__fadd_rn(ir, hr));
    const float z = cuda::sigmoidf_(__fadd_rn(iz, hz));
    const float nn = tanhf(__fadd_rn(in, __fmul_rn(r, hn)));
    const float h = hp[b * ldh + j];
    // The CPU's rounding sequence: (1 - z) * n and z * h rounded, then added.
    const float hnew = __fadd_rn(__fmul_rn(__fsub_rn(1.0f, z), nn), __fmul_rn(z, h));
    out[(b * T + t) * H + j] = hnew;
    if (write_state) cuda::state_f32(streams, b, off_h)[l * H + j] = hnew;
  }
}

unsigned grid_capped(const cuda::Ctx& c, int64_t n) {
  const unsigned g = cuda::grid_for(n, kThreads), cap = unsigned(c.sm_count > 0 ? c.sm_count * 16 : 2048);
  return g < cap ? g : cap;
}

struct Layer {
  int64_t in = 0;
  cuda::Matrix wih, whh;
  cuda::DeviceArray bih, bhh;  // only with bias = true
};

class CudaGru final : public Block {
 public:
  CudaGru(const Config& c, const BlockInfo&, const WeightSource& w)
      : I_(c.i("input_size")), H_(c.i("hidden_size")), L_(c.i("num_layers")) {
    for (int64_t l = 0; l < L_; ++l) {
      const std::string s = std::to_string(l);
      Layer ly;
      ly.in = l == 0 ? I_ : H_;
      ly.wih = cuda::Matrix::upload(w.get_matrix("weight_ih_l" + s), 3 * H_, ly.in, w.matrix_dtype());
      ly.whh = cuda::Matrix::upload(w.get_matrix("weight_hh_l" + s), 3 * H_, H_, w.matrix_dtype());
      if (c.b("bias")) {
        ly.bih = cuda::DeviceArray::upload(w.get("bias_ih_l" + s), size_t(3 * H_));
        ly.bhh = cuda::DeviceArray::upload(w.get("bias_hh_l" + s), size_t(3 * H_));
      }
      layers_.push_back(std::move(ly));
    }
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const Sizes z = sizes(B, T);
    size_t mat = 0;
    for (const auto& l : layers_) mat = std::max({mat, l.wih.scratch_bytes(B * T), l.whh.scratch_bytes(B)});
    return align_up(z.Gi * 4) + align_up(z.Gh * 4) + align_up(z.seq0 * 4) + align_up(z.seq1 * 4) +
           align_up(z.hg * 4) + mat;
  }

  size_t weight_bytes() const override {
    size_t n = 0;
    for (const auto& l : layers_) n += l.wih.bytes() + l.whh.bytes() + l.bih.bytes() + l.bhh.bytes();
    return n;
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    if (B <= 0 || T <= 0) return;
    const cuda::Ctx& c = cuda::ctx_of(ctx);
    const int64_t rows = B * T, G3 = 3 * H_;
    const Sizes z = sizes(B, T);
    float* Gi = ctx.ws.alloc<float>(z.Gi);
    float* Gh = ctx.ws.alloc<float>(z.Gh);
    float* seq[2] = {ctx.ws.alloc<float>(z.seq0), ctx.ws.alloc<float>(z.seq1)};
    float* hg = ctx.ws.alloc<float>(z.hg);
    const size_t off_h = st.offsets[0];

    // Every layer's h before this call (the cell kernels write the state).
    cuda::gather_state_rows(c, st.streams, off_h, hg, L_, B, H_);

    const float* in = x;
    for (int64_t l = 0; l < L_; ++l) {
      const Layer& ly = layers_[size_t(l)];
      float* out = l == L_ - 1 ? y : seq[l % 2];
      // Gi[rows, 3H] = in W_ih^T (b_ih is added by the cell kernel).
      ly.wih.apply(ctx, rows, in, ly.in, Gi, G3);
      for (int64_t t = 0; t < T; ++t) {
        // Previous h of the B streams: gathered state at t = 0, else out rows b * T + t - 1.
        const float* hp = t == 0 ? hg + l * B * H_ : out + (t - 1) * H_;
        const int64_t ldh = t == 0 ? H_ : T * H_;
        // Gh[B, 3H] = h_prev W_hh^T.
        ly.whh.apply(ctx, B, hp, ldh, Gh, G3);
        gru_cell<<<grid_capped(c, B * H_), kThreads, 0, c.stream>>>(
            Gi, Gh, ly.bih.empty() ? nullptr : ly.bih.data(), ly.bhh.empty() ? nullptr : ly.bhh.data(), hp, ldh, B,
            T, t, H_, out, st.streams, off_h, l, t == T - 1);
        cuda::check_launch("recurrent/gru cell");
      }
      in = out;
    }
  }

 private:
  struct Sizes {
    size_t Gi, Gh, seq0, seq1, hg;  // floats
  };
  Sizes sizes(int64_t B, int64_t T) const {
    const size_t rows = size_t(B * T);
    return Sizes{rows * size_t(3 * H_), size_t(B * 3 * H_), L_ > 1 ? rows * size_t(H_) : 0,
                 L_ > 2 ? rows * size_t(H_) : 0, size_t(L_ * B * H_)};
  }

  int64_t I_, H_, L_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Block> create_cuda_gru(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<CudaGru>(c, info, w);
}

}  // namespace seqc
