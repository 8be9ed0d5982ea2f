// recurrent/mamba: the Mamba-1 mixer (selective SSM, spec K01) with the names,
// layouts and equations of HuggingFace transformers' MambaMixer (and, with
// bcdt_rms, FalconMambaMixer). Per position, for input u [d_model]:
//   x, z   = in_proj(u) split in two                        [d_inner] each
//   x      = silu(causal depthwise conv1d(x))               (conv state: last K-1 x)
//   dt_r, B, C = x_proj(x) split [R, N, N]
//   (bcdt_rms: dt_r, B, C each divided by sqrt(mean(v^2) + rms_eps), no weight)
//   dt     = softplus(dt_proj(dt_r) + dt_proj.bias)         [d_inner]
//   A      = -exp(A_log)                                    [d_inner, N]
//   h      = exp(dt A) * h + (dt x) B                       [d_inner, N]
//   y      = (h C + D x) * silu(z);   out = out_proj(y)
//
// Exactness: every product is the exact, batch-invariant GEMM of cpu/gemm.hpp
// (one GEMM over all rows of a call); the conv is the shared kernel, exact
// across chunkings; the scan keeps one sequential chain per (channel, state)
// element in position order and the same operations in every path, and the
// output contraction over N is one chain in increasing n. So forward over T
// positions, any chunking, step_many and any thread count equal the steps
// bit for bit (forward_exact). The elementwise loops are compiled twice
// (baseline x86-64 and AVX-512) from one source; they contain only IEEE
// multiplies, adds and divides (float, and double inside softplus), integer
// selects, no fma and no reassociation, and exp comes from cpu::vexp, so both
// give the same bits (also with SEQC_ISA=scalar|avx2).
//
// Work split: channels in blocks of 64 (one GEMM panel) over the thread pool.
// One call runs four parallel regions: (1) in_proj for the block's x and z
// columns, the conv and silu(z); (2) x_proj (a GEMM over all channels); (3)
// dt_proj for the block's columns, softplus, the selective scan over the
// call's positions and the gate; (4) out_proj. The scan runs per block of
// channels with the state held transposed ([N][channels], in L1) for the
// whole call, vectorised over channels; the stored layout stays [d_inner, N]
// (16 x 16 in-register transposes on AVX-512, once per call).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "core/packed_weight.hpp"
#include "core/plugin.hpp"
#include "core/status.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/softplus.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/vmath.hpp"
#include "layers/short_conv/causal_conv.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace seqc {

namespace {

constexpr int64_t kBlock = cpu::kPanel;  // channels per task unit (one GEMM panel)
constexpr int64_t kScanFloats = 1024;     // scan working set per sub-block: channels x N
constexpr int64_t kMaxState = kScanFloats;

const ConfigKey kSchema[] = {
    {.name = "d_model", .type = ConfigType::integer, .required = true, .min = 1, .doc = "input and output width"},
    {.name = "d_inner", .type = ConfigType::integer, .required = true, .min = 1,
     .doc = "inner width (expand * d_model)"},
    {.name = "d_state", .type = ConfigType::integer, .required = false, .int_default = 16, .min = 1,
     .max = double(kMaxState), .doc = "SSM state size N (at most 1024)"},
    {.name = "d_conv", .type = ConfigType::integer, .required = false, .int_default = 4, .min = 1, .max = 1024,
     .doc = "conv width K"},
    {.name = "dt_rank", .type = ConfigType::integer, .required = false, .int_default = 0, .min = 0,
     .doc = "rank R of the dt projection; 0 = ceil(d_model / 16) (transformers' \"auto\")"},
    {.name = "conv_bias", .type = ConfigType::boolean, .required = false, .bool_default = true,
     .doc = "conv1d.bias present"},
    {.name = "bias", .type = ConfigType::boolean, .required = false, .bool_default = false,
     .doc = "in_proj.bias and out_proj.bias present"},
    {.name = "bcdt_rms", .type = ConfigType::boolean, .required = false, .bool_default = false,
     .doc = "FalconMamba: weight-less RMS norm of B, C and dt_r after x_proj"},
    {.name = "rms_eps", .type = ConfigType::number, .required = false, .num_default = 1e-6, .min = 0, .max = 1,
     .doc = "epsilon of the bcdt_rms norms"},
};

const char* const kTestConfigs[] = {
    R"({"d_model": 12, "d_inner": 24, "d_state": 5, "d_conv": 3, "dt_rank": 2})",
    R"({"d_model": 16, "d_inner": 70, "d_state": 16, "d_conv": 4, "dt_rank": 3, "bias": true, "conv_bias": false})",
    R"({"d_model": 20, "d_inner": 130, "d_state": 7, "d_conv": 1, "dt_rank": 4, "bcdt_rms": true})",
    R"({"d_model": 32, "d_inner": 64, "d_state": 16, "d_conv": 2, "bcdt_rms": true, "rms_eps": 1e-5})",
    R"({"d_model": 8, "d_inner": 40, "d_state": 100, "d_conv": 4, "dt_rank": 2})",
};

int64_t dt_rank(const Config& c) {
  const int64_t r = c.i("dt_rank");
  return r > 0 ? r : (c.i("d_model") + 15) / 16;
}

BlockInfo info(const Config& c) {
  const int64_t Dm = c.i("d_model"), Di = c.i("d_inner"), N = c.i("d_state"), K = c.i("d_conv");
  const int64_t R = dt_rank(c);
  BlockInfo b;
  b.in_width = b.out_width = Dm;
  b.weights.push_back({"in_proj.weight", DType::f32, {2 * Di, Dm}});
  if (c.b("bias")) b.weights.push_back({"in_proj.bias", DType::f32, {2 * Di}});
  b.weights.push_back({"conv1d.weight", DType::f32, {Di, 1, K}});
  if (c.b("conv_bias")) b.weights.push_back({"conv1d.bias", DType::f32, {Di}});
  b.weights.push_back({"x_proj.weight", DType::f32, {R + 2 * N, Di}});
  b.weights.push_back({"dt_proj.weight", DType::f32, {Di, R}});
  b.weights.push_back({"dt_proj.bias", DType::f32, {Di}});
  b.weights.push_back({"A_log", DType::f32, {Di, N}});
  b.weights.push_back({"D", DType::f32, {Di}});
  b.weights.push_back({"out_proj.weight", DType::f32, {Dm, Di}});
  if (c.b("bias")) b.weights.push_back({"out_proj.bias", DType::f32, {Dm}});
  // With d_conv 1 the conv remembers nothing: no conv state tensor.
  if (K > 1) b.state.push_back({"conv", DType::f32, {K - 1, Di}});
  b.state.push_back({"ssm", DType::f32, {Di, N}});
  return b;
}

// ---------------------------------------------------------------- elementwise kernels
//
// Written once, compiled for the baseline and (through the target attribute)
// for AVX-512: the bodies are force-inlined into one wrapper per ISA.

#define SEQC_ALWAYS_INLINE [[gnu::always_inline]] inline

// Block transposes between the state layout [channels][N] and the scan's
// working layout [N][channels] (pure data movement: no effect on results).
// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
SEQC_ALWAYS_INLINE void transpose_loops(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                                        int64_t cols) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
}

struct GenericTranspose {
  SEQC_ALWAYS_INLINE static void run(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                                     int64_t cols) {
    transpose_loops(src, lds, dst, ldd, rows, cols);
  }
};

#if defined(__x86_64__) && defined(__GNUC__)
#define SEQC_MAMBA_AVX512 1
#define SEQC_AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))

// One 16 x 16 tile: 16 loads, 64 in-register shuffles, 16 stores. (GCC 12
// warns about the _mm512_undefined_ps inside the unpack intrinsics.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
SEQC_AVX512_TARGET SEQC_ALWAYS_INLINE void transpose16(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // r[i + c] lane k: column 4k + c of rows i .. i + 3
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int c = 0; c < 4; ++c) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x88), v0 = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x88);
    const __m512 u1 = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xdd), v1 = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xdd);
    t[c] = _mm512_shuffle_f32x4(u0, v0, 0x88);
    t[c + 8] = _mm512_shuffle_f32x4(u0, v0, 0xdd);
    t[c + 4] = _mm512_shuffle_f32x4(u1, v1, 0x88);
    t[c + 12] = _mm512_shuffle_f32x4(u1, v1, 0xdd);
  }
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * ldd, t[i]);
}
#pragma GCC diagnostic pop

struct Avx512Transpose {
  // Not inlined: scan_body is compiled for the baseline before it is inlined
  // into the AVX-512 wrapper, and may not inline AVX-512 code itself.
  SEQC_AVX512_TARGET static void run(const float* src, int64_t lds, float* dst, int64_t ldd,
                                    int64_t rows, int64_t cols) {
    const int64_t r16 = rows / 16 * 16, c16 = cols / 16 * 16;
    for (int64_t r = 0; r < r16; r += 16)
      for (int64_t c = 0; c < c16; c += 16) transpose16(src + r * lds + c, lds, dst + c * ldd + r, ldd);
    if (c16 < cols) transpose_loops(src + c16, lds, dst + c16 * ldd, ldd, rows, cols - c16);
    if (r16 < rows) transpose_loops(src + r16 * lds, lds, dst + r16, ldd, rows - r16, c16);
  }
};
#endif

// The selective scan of one stream over T positions for channels [d0, d1)
// (d1 - d0 <= kBlock, (d1 - d0) * N <= kScanFloats).
struct ScanArgs {
  int64_t T, Di, N, R, ldp;  // ldp: row stride of p (R + 2N)
  const float* dt;  // [T, Di] softplus(dt)
  const float* x;   // [T, Di] conv output (after silu)
  const float* g;   // [T, Di] silu(z)
  const float* p;   // [T, ldp] x_proj output: dt_r, B, C
  const float* AT;  // [N, Di] A transposed
  const float* D;   // [Di]
  float* h;         // [Di, N] ssm state, updated
  float* y;         // [T, Di] gated output
};

template <class Tr>
SEQC_ALWAYS_INLINE void scan_body(const ScanArgs& a, int64_t d0, int64_t d1) {
  const int64_t nd = d1 - d0, N = a.N, Di = a.Di;
  alignas(64) float hT[kScanFloats];
  alignas(64) float e[kScanFloats];
  alignas(64) float u[kBlock];
  alignas(64) float acc[kBlock];
  Tr::run(a.h + d0 * N, N, hT, nd, nd, N);
  for (int64_t t = 0; t < a.T; ++t) {
    const float* dt = a.dt + t * Di + d0;
    const float* x = a.x + t * Di + d0;
    const float* g = a.g + t * Di + d0;
    const float* Bv = a.p + t * a.ldp + a.R;
    const float* Cv = Bv + N;
    float* y = a.y + t * Di + d0;
    for (int64_t j = 0; j < nd; ++j) u[j] = dt[j] * x[j];
    for (int64_t n = 0; n < N; ++n) {
      const float* An = a.AT + n * Di + d0;
      float* en = e + n * nd;
      for (int64_t j = 0; j < nd; ++j) en[j] = dt[j] * An[j];
    }
    cpu::vexp(e, e, N * nd);
    for (int64_t j = 0; j < nd; ++j) acc[j] = 0.0f;
    for (int64_t n = 0; n < N; ++n) {
      const float bn = Bv[n], cn = Cv[n];
      float* hn = hT + n * nd;
      const float* en = e + n * nd;
      for (int64_t j = 0; j < nd; ++j) {
        const float decay = en[j] * hn[j];
        const float inp = u[j] * bn;
        hn[j] = decay + inp;
        const float hc = hn[j] * cn;
        acc[j] = acc[j] + hc;
      }
    }
    const float* Dd = a.D + d0;
    for (int64_t j = 0; j < nd; ++j) {
      const float skip = Dd[j] * x[j];
      const float s = acc[j] + skip;
      y[j] = s * g[j];
    }
  }
  Tr::run(hT, nd, a.h + d0 * N, N, N, nd);
}

// Channels [c0, c1) of one stream, in sub-blocks that fit the working set.
template <class Tr>
SEQC_ALWAYS_INLINE void scan_range_body(const ScanArgs& a, int64_t c0, int64_t c1) {
  const int64_t sub = std::max<int64_t>(1, std::min(kBlock, kScanFloats / a.N));
  for (int64_t d0 = c0; d0 < c1; d0 += sub) scan_body<Tr>(a, d0, std::min(c1, d0 + sub));
}

void scan_range_generic(const ScanArgs& a, int64_t c0, int64_t c1) { scan_range_body<GenericTranspose>(a, c0, c1); }

#ifdef SEQC_MAMBA_AVX512
SEQC_AVX512_TARGET void scan_range_avx512(const ScanArgs& a, int64_t c0, int64_t c1) {
  scan_range_body<Avx512Transpose>(a, c0, c1);
}
#endif

struct Kernels {
  void (*scan_range)(const ScanArgs&, int64_t, int64_t);
};

const Kernels& kernels() {
  static const Kernels k = [] {
#ifdef SEQC_MAMBA_AVX512
    if (cpu::active_isa() == cpu::Isa::avx512) return Kernels{scan_range_avx512};
#endif
    return Kernels{scan_range_generic};
  }();
  return k;
}

// ---------------------------------------------------------------- the block

class Mamba final : public Block {
 public:
  Mamba(const Config& c, const BlockInfo&, const WeightSource& w)
      : Dm_(c.i("d_model")), Di_(c.i("d_inner")), N_(c.i("d_state")), K_(c.i("d_conv")), R_(dt_rank(c)),
        P_(R_ + 2 * N_), bcdt_(c.b("bcdt_rms")), eps_(float(c.f("rms_eps"))) {
    const float* win = w.get_matrix("in_proj.weight");
    wx_ = PackedWeight::from_nk(win, Di_, Dm_);
    wz_ = PackedWeight::from_nk(win + Di_ * Dm_, Di_, Dm_);
    if (c.b("bias")) {
      const float* bin = w.get("in_proj.bias");
      bx_ = copy_floats(bin, Di_);
      bz_ = copy_floats(bin + Di_, Di_);
      bo_ = copy_floats(w.get("out_proj.bias"), Dm_);
    }
    conv_w_ = AlignedBuffer(size_t(K_ * Di_) * sizeof(float));
    conv::pack_conv_weight(w.get("conv1d.weight"), Di_, K_, conv_w_.as<float>());
    if (c.b("conv_bias")) conv_b_ = copy_floats(w.get("conv1d.bias"), Di_);
    wxp_ = PackedWeight::from_nk(w.get_matrix("x_proj.weight"), P_, Di_);
    wdt_ = PackedWeight::from_nk(w.get_matrix("dt_proj.weight"), Di_, R_);
    dt_b_ = copy_floats(w.get("dt_proj.bias"), Di_);
    // A = -exp(A_log), stored transposed [N, Di].
    const float* alog = w.get("A_log");
    AlignedBuffer ea(size_t(Di_ * N_) * sizeof(float));
    cpu::vexp(alog, ea.as<float>(), Di_ * N_);
    AT_ = AlignedBuffer(size_t(Di_ * N_) * sizeof(float));
    for (int64_t d = 0; d < Di_; ++d)
      for (int64_t n = 0; n < N_; ++n) AT_.as<float>()[n * Di_ + d] = -ea.as<float>()[d * N_ + n];
    D_ = copy_floats(w.get("D"), Di_);
    wo_ = PackedWeight::from_nk(w.get_matrix("out_proj.weight"), Dm_, Di_);
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    return 4 * align_up(rows * size_t(Di_) * 4) + align_up(rows * size_t(P_) * 4) + 2 * kAlign;
  }

  size_t weight_bytes() const override {
    return wx_.bytes() + wz_.bytes() + wxp_.bytes() + wdt_.bytes() + wo_.bytes() + bx_.size() + bz_.size() +
           bo_.size() + conv_w_.size() + conv_b_.size() + dt_b_.size() + AT_.size() + D_.size();
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const int64_t rows = B * T, Di = Di_;
    float* xs = ctx.ws.alloc<float>(size_t(rows * Di));  // in_proj x; later the gated scan output
    float* zs = ctx.ws.alloc<float>(size_t(rows * Di));  // in_proj z, then silu(z)
    float* xc = ctx.ws.alloc<float>(size_t(rows * Di));  // silu(conv(x))
    float* dt = ctx.ws.alloc<float>(size_t(rows * Di));  // softplus(dt_proj(dt_r))
    float* p = ctx.ws.alloc<float>(size_t(rows * P_));   // x_proj: dt_r, B, C
    const int conv_slot = K_ > 1 ? 0 : -1, ssm_slot = K_ > 1 ? 1 : 0;
    const int64_t blocks = (Di + kBlock - 1) / kBlock;
    const Kernels& kern = kernels();
    // Few positions x channels: the calling thread alone (waking the
    // workers would cost more than the work).
    const bool threaded = rows * Di * (Dm_ + N_) >= (int64_t(1) << 16);
    auto over_blocks = [&](auto&& fn) {
      if (threaded) {
        ctx.pool.parallel_ranges(blocks, [&](int64_t b0, int64_t b1) { fn(b0 * kBlock, std::min(Di, b1 * kBlock)); });
      } else {
        fn(int64_t(0), Di);
      }
    };
    ThreadPool* pool = threaded ? &ctx.pool : nullptr;

    // (1) in_proj (x and z columns of the range), conv + silu, silu(z).
    over_blocks([&](int64_t c0, int64_t c1) {
      cpu::gemm_tile(wx_.args(rows, x, Dm_, xs, Di, bx_.size() ? cpu::Init::bias : cpu::Init::zero, bx_.as<float>()),
                     0, rows, c0, c1);
      cpu::gemm_tile(wz_.args(rows, x, Dm_, zs, Di, bz_.size() ? cpu::Init::bias : cpu::Init::zero, bz_.as<float>()),
                     0, rows, c0, c1);
      for (int64_t b = 0; b < B; ++b)
        conv::causal_conv(xs + b * T * Di, Di, xc + b * T * Di, Di, T, Di, K_, conv_w_.as<float>(),
                          conv_b_.size() ? conv_b_.as<float>() : nullptr,
                          conv_slot >= 0 ? st.f32(b, conv_slot) : nullptr, conv::Act::silu, c0, c1);
      for (int64_t r = 0; r < rows; ++r) cpu::vsilu(zs + r * Di + c0, zs + r * Di + c0, c1 - c0);
    });

    // (2) x_proj over all channels; bcdt_rms on each part.
    cpu::gemm(pool, wxp_.args(rows, xc, Di, p, P_, cpu::Init::zero));
    if (bcdt_) {
      for (int64_t r = 0; r < rows; ++r) {
        float* pr = p + r * P_;
        rms_inplace(pr, R_);
        rms_inplace(pr + R_, N_);
        rms_inplace(pr + R_ + N_, N_);
      }
    }

    // (3) dt_proj for the range, softplus, selective scan, D skip, gate.
    over_blocks([&](int64_t c0, int64_t c1) {
      cpu::gemm_tile(wdt_.args(rows, p, P_, dt, Di, cpu::Init::bias, dt_b_.as<float>()), 0, rows, c0, c1);
      for (int64_t r = 0; r < rows; ++r) cpu::vsoftplus(dt + r * Di + c0, c1 - c0);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t o = b * T;
        const ScanArgs a{T, Di, N_, R_, P_, dt + o * Di, xc + o * Di, zs + o * Di, p + o * P_,
                         AT_.as<float>(), D_.as<float>(), st.f32(b, ssm_slot), xs + o * Di};
        kern.scan_range(a, c0, c1);
      }
    });

    // (4) out_proj.
    cpu::gemm(pool, wo_.args(rows, xs, Di, y, Dm_, bo_.size() ? cpu::Init::bias : cpu::Init::zero, bo_.as<float>()));
  }

 private:
  // v *= 1 / sqrt(mean(v^2) + eps), FalconMamba's weight-less RMS norm.
  void rms_inplace(float* v, int64_t n) const {
    const float inv = 1.0f / std::sqrt(cpu::vsumsq(v, n) / float(n) + eps_);
    cpu::vscale(v, inv, v, n);
  }

  int64_t Dm_, Di_, N_, K_, R_, P_;
  bool bcdt_;
  float eps_;
  PackedWeight wx_, wz_, wxp_, wdt_, wo_;
  AlignedBuffer bx_, bz_, bo_, conv_w_, conv_b_, dt_b_, AT_, D_;
};

std::unique_ptr<Block> create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<Mamba>(c, info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_mamba);

extern const PluginDesc plugin_recurrent_mamba = {
    .kind = PluginKind::recurrent,
    .name = "recurrent/mamba",
    .version = 1,
    .summary = "Mamba-1 selective SSM mixer (transformers MambaMixer names; FalconMamba B/C/dt RMS norms)",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_mamba),
    .test_configs = kTestConfigs,
    .forward_exact = true,
};

}  // namespace seqc
