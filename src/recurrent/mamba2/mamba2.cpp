// recurrent/mamba2: the Mamba-2 mixer (SSD), with transformers' names and
// numerics (Mamba2Mixer.torch_forward, MambaRMSNormGated).
//
// Per position, for input u [d_model]:
//   [z | xBC | dt] = in_proj(u)                    z [Di], xBC [Di + 2GN], dt [H]
//   xBC = silu(causal_conv(xBC))                   depthwise, width K, state [K-1, Di+2GN]
//   x, B, C = split(xBC, [Di, GN, GN])             x as [H, P], B and C as [G, N]
//   dt[h] = clamp(softplus(dt[h] + dt_bias[h]), dt_min, dt_max)
//   dA[h] = exp(dt[h] * A[h]),  A = -exp(A_log)    one decay per head
//   S[h] = dA[h] S[h] + dt[h] x[h] (x) B[g(h)]      S [H, P, N], g(h) = h / (H / G)
//   y[h] = S[h] C[g(h)] + D[h] x[h]
//   y = rmsnorm_groups(y * silu(z)) * norm.weight   groups of norm_group_size
//   out = out_proj(y)
//
// A step (T = 1, any number of streams) runs that recurrence exactly
// (ssm_step_head), so step_many equals each stream alone, bit for bit. A
// forward over T > 1 positions computes the projections as GEMMs over all
// rows, and the recurrence either position by position with the step kernel
// (prefill "scan", and "auto", the default, on the CPU: bit for bit the steps, and faster there)
// or (prefill "ssd") with the chunked SSD algorithm (chunk_size positions per chunk, at most the
// positions of one call):
//   within a chunk, per head: a = A dt, cum = cumsum(a), L[t, s] = exp(a[s+1] + ... + a[t]) (s <= t)
//     Y_diag = ((C B^T) o L) (dt x)                 quadratic, on the exact GEMM
//     Y_off  = exp(cum[t]) * C[t] S_prev^T          contribution of the state before the chunk
//     S_new  = exp(cum[last]) S_prev + sum_s L[last, s] dt[s] x[s] (x) B[s]
// which equals the recurrence mathematically but rounds differently, so an
// SSD forward agrees with the steps to a tolerance (docs/numerics.md), not bit
// for bit. It is deterministic: the same bits on any thread count and ISA.
//
// Threads: the projections split as GEMMs; the conv by channel ranges; the
// recurrence by (stream, head) for steps and scans, and for SSD first by
// (stream, group, chunk) for C B^T, then by head, each head carrying its state
// through the chunks in order.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>

#include "core/packed_weight.hpp"
#include "core/plugin.hpp"
#include "core/status.hpp"
#include "cpu/softplus.hpp"
#include "cpu/thread_pool.hpp"
#include "cpu/vmath.hpp"
#include "layers/short_conv/causal_conv.hpp"
#include "recurrent/mamba2/mamba2_dims.hpp"
#include "recurrent/mamba2/ssm_kernels.hpp"

namespace seqc {

namespace {

constexpr double kNoUpperLimit = double(FLT_MAX);  // dt_max at or above this: no upper clamp

const ConfigKey kSchema[] = {
    {.name = "d_model", .type = ConfigType::integer, .required = true, .min = 1, .doc = "input and output width"},
    {.name = "d_inner", .type = ConfigType::integer, .required = true, .min = 1,
     .doc = "inner width Di = n_heads * head_dim (transformers: expand * hidden_size)"},
    {.name = "d_state", .type = ConfigType::integer, .required = false, .int_default = 128, .min = 1,
     .max = 65536, .doc = "SSM state size N per head and group (transformers: state_size)"},
    {.name = "d_conv", .type = ConfigType::integer, .required = false, .int_default = 4, .min = 1, .max = 1024,
     .doc = "causal convolution width K (transformers: conv_kernel)"},
    {.name = "n_heads", .type = ConfigType::integer, .required = true, .min = 1, .doc = "heads H (num_heads)"},
    {.name = "head_dim", .type = ConfigType::integer, .required = false, .int_default = 64, .min = 1,
     .doc = "head width P"},
    {.name = "n_groups", .type = ConfigType::integer, .required = false, .int_default = 1, .min = 1,
     .doc = "groups G sharing B and C (H % G == 0)"},
    {.name = "conv_bias", .type = ConfigType::boolean, .required = false, .bool_default = true,
     .doc = "conv1d.bias present (use_conv_bias)"},
    {.name = "bias", .type = ConfigType::boolean, .required = false, .bool_default = false,
     .doc = "in_proj.bias and out_proj.bias present (use_bias)"},
    {.name = "dt_min", .type = ConfigType::number, .required = false, .num_default = 0.0, .min = 0.0,
     .max = kNoUpperLimit, .doc = "lower clamp of dt after softplus (time_step_limit[0])"},
    {.name = "dt_max", .type = ConfigType::number, .required = false, .num_default = kNoUpperLimit, .min = 0.0,
     .max = kNoUpperLimit,
     .doc = "upper clamp of dt after softplus (time_step_limit[1]); the default (FLT_MAX) means none, like +inf"},
    {.name = "norm_eps", .type = ConfigType::number, .required = false, .num_default = 1e-5, .min = 0.0, .max = 1.0,
     .doc = "epsilon of the gated RMSNorm (layer_norm_epsilon)"},
    {.name = "norm_group_size", .type = ConfigType::integer, .required = false, .int_default = 0, .min = 0,
     .doc = "elements per RMS group of the gated norm: 0 = all of d_inner (transformers), d_inner / n_groups = "
            "mamba_ssm's RMSNormGated"},
    {.name = "chunk_size", .type = ConfigType::integer, .required = false, .int_default = 256, .min = 1,
     .max = 4096, .doc = "positions per SSD chunk in a forward (prefill only; steps are exact)"},
    {.name = "prefill", .type = ConfigType::string, .required = false, .str_default = "auto",
     .choices = "auto|ssd|scan",
     .doc = "forward over T > 1 positions: 'ssd' = the chunked SSD algorithm (within a tolerance of the steps), "
            "'scan' = the step recurrence position by position (bit for bit the steps), 'auto' = each device's "
            "faster one: 'scan' on the CPU, 'ssd' on CUDA (forwards of 32 positions or more)"},
};

// Small configs for the conformance suite (T = 150 there): chunks shorter
// than a call, odd head counts, H = G, grouped norm, dt limits, no biases.
const char* const kTestConfigs[] = {
    R"({"d_model": 12, "d_inner": 24, "n_heads": 3, "head_dim": 8, "d_state": 16, "d_conv": 4, "chunk_size": 16,
        "prefill": "ssd"})",
    R"({"d_model": 10, "d_inner": 32, "n_heads": 2, "head_dim": 16, "d_state": 24, "n_groups": 2, "d_conv": 3,
        "conv_bias": false, "bias": true, "norm_group_size": 16, "dt_min": 0.05, "dt_max": 0.9, "chunk_size": 64,
        "prefill": "ssd"})",
    R"({"d_model": 8, "d_inner": 40, "n_heads": 5, "head_dim": 8, "d_state": 16, "n_groups": 5, "d_conv": 2,
        "chunk_size": 7, "prefill": "ssd"})",
    R"({"d_model": 12, "d_inner": 48, "n_heads": 3, "head_dim": 16, "d_state": 24, "n_groups": 3, "d_conv": 4,
        "bias": true})",
};

using mamba2::Dims;  // mamba2_dims.hpp
using mamba2::dims;

BlockInfo info(const Config& c) {
  const Dims d = dims(c);
  const char* me = "recurrent/mamba2";
  if (d.H * d.P != d.Di)
    fail(Code::config, me, ": d_inner (", d.Di, ") must equal n_heads * head_dim (", d.H, " * ", d.P, ")");
  if (d.H % d.G != 0)
    fail(Code::config, me, ": n_heads (", d.H, ") must be a multiple of n_groups (", d.G, ")");
  if (d.Di % d.gs != 0)
    fail(Code::config, me, ": norm_group_size (", d.gs, ") must divide d_inner (", d.Di, ")");
  if (c.f("dt_min") > c.f("dt_max"))
    fail(Code::config, me, ": dt_min (", c.f("dt_min"), ") exceeds dt_max (", c.f("dt_max"), ")");
  BlockInfo b;
  b.in_width = b.out_width = d.D;
  b.weights.push_back({"in_proj.weight", DType::f32, {d.NP, d.D}});
  if (c.b("bias")) b.weights.push_back({"in_proj.bias", DType::f32, {d.NP}});
  b.weights.push_back({"conv1d.weight", DType::f32, {d.Cd, 1, d.K}});
  if (c.b("conv_bias")) b.weights.push_back({"conv1d.bias", DType::f32, {d.Cd}});
  b.weights.push_back({"dt_bias", DType::f32, {d.H}});
  b.weights.push_back({"A_log", DType::f32, {d.H}});
  b.weights.push_back({"D", DType::f32, {d.H}});
  b.weights.push_back({"norm.weight", DType::f32, {d.Di}});
  b.weights.push_back({"out_proj.weight", DType::f32, {d.D, d.Di}});
  if (c.b("bias")) b.weights.push_back({"out_proj.bias", DType::f32, {d.D}});
  b.state = {{"conv", DType::f32, {d.K - 1, d.Cd}}, {"ssm", DType::f32, {d.H, d.P, d.N}}};
  return b;
}

// Floats of one 64-byte-aligned sub-buffer.
constexpr size_t fl(size_t n) { return align_up(n * sizeof(float)) / sizeof(float); }

class Mamba2 final : public Block {
 public:
  Mamba2(const Config& c, const BlockInfo&, const WeightSource& w)
      : d_(dims(c)), eps_(float(c.f("norm_eps"))), dt_min_(float(c.f("dt_min"))), dt_max_(float(c.f("dt_max"))),
        has_dt_max_(c.f("dt_max") < kNoUpperLimit), ssd_(c.s("prefill") == "ssd") {
    in_proj_ = PackedWeight::from_nk(w.get_matrix("in_proj.weight"), d_.NP, d_.D);
    out_proj_ = PackedWeight::from_nk(w.get_matrix("out_proj.weight"), d_.D, d_.Di);
    if (c.b("bias")) {
      in_bias_ = copy_floats(w.get("in_proj.bias"), d_.NP);
      out_bias_ = copy_floats(w.get("out_proj.bias"), d_.D);
    }
    conv_w_ = AlignedBuffer(size_t(d_.K * d_.Cd) * sizeof(float));
    conv::pack_conv_weight(w.get("conv1d.weight"), d_.Cd, d_.K, conv_w_.as<float>());
    if (c.b("conv_bias")) conv_b_ = copy_floats(w.get("conv1d.bias"), d_.Cd);
    dt_bias_ = copy_floats(w.get("dt_bias"), d_.H);
    D_ = copy_floats(w.get("D"), d_.H);
    norm_w_ = copy_floats(w.get("norm.weight"), d_.Di);
    // A = -exp(A_log), once.
    A_ = AlignedBuffer(size_t(d_.H) * sizeof(float));
    cpu::vexp(w.get("A_log"), A_.as<float>(), d_.H);
    for (int64_t h = 0; h < d_.H; ++h) A_.as<float>()[h] = -A_.as<float>()[h];
  }

  size_t weight_bytes() const override {
    return in_proj_.bytes() + out_proj_.bytes() + in_bias_.size() + out_bias_.size() + conv_w_.size() +
           conv_b_.size() + dt_bias_.size() + D_.size() + norm_w_.size() + A_.size();
  }

  size_t scratch_bytes(int64_t B, int64_t T) const override {
    const size_t rows = size_t(B * T);
    size_t f = fl(rows * size_t(d_.NP)) + fl(rows * size_t(d_.Cd)) + fl(rows * size_t(d_.Di));
    if (T > 1 && ssd_) f += fl(size_t(B) * group_floats(T)) + fl(size_t(d_.H) * head_floats(T));
    return f * sizeof(float) + 8 * kAlign;
  }

  void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T, const StateRefs& st) const override {
    const int64_t rows = B * T;
    float* proj = ctx.ws.alloc<float>(size_t(rows * d_.NP));  // [rows, z | xBC | dt]
    float* xbc = ctx.ws.alloc<float>(size_t(rows * d_.Cd));   // conv output
    float* ys = ctx.ws.alloc<float>(size_t(rows * d_.Di));    // SSM output, then gated and normalised

    cpu::gemm(&ctx.pool, in_proj_.args(rows, x, d_.D, proj, d_.NP, in_bias_.size() ? cpu::Init::bias : cpu::Init::zero,
                                       in_bias_.as<float>()));
    convolve(ctx, proj, xbc, B, T, st);
    if (T == 1 || !ssd_) {
      scan(ctx, proj, xbc, ys, B, T, st);
    } else {
      chunked(ctx, proj, xbc, ys, B, T, st);
    }
    gated_norm(ctx, proj, ys, rows);
    cpu::gemm(&ctx.pool, out_proj_.args(rows, ys, d_.Di, y, d_.D, out_bias_.size() ? cpu::Init::bias : cpu::Init::zero,
                                        out_bias_.as<float>()));
  }

 private:
  // dt after softplus and the clamp.
  float dt_of(float raw, int64_t h) const {
    float v = raw + dt_bias_.as<float>()[h];
    cpu::vsoftplus(&v, 1);
    if (v < dt_min_) v = dt_min_;
    if (has_dt_max_ && v > dt_max_) v = dt_max_;
    return v;
  }

  // xbc = silu(conv(xBC)) for every stream, channels split across threads for
  // long runs (each channel's state belongs to one range).
  void convolve(RunCtx& ctx, const float* proj, float* xbc, int64_t B, int64_t T, const StateRefs& st) const {
    const int64_t blk = 64, nblk = (d_.Cd + blk - 1) / blk;
    auto one = [&](int64_t b, int64_t c0, int64_t c1) {
      conv::causal_conv(proj + b * T * d_.NP + d_.Di, d_.NP, xbc + b * T * d_.Cd, d_.Cd, T, d_.Cd, d_.K,
                        conv_w_.as<float>(), conv_b_.size() ? conv_b_.as<float>() : nullptr, st.f32(b, 0),
                        conv::Act::silu, c0, c1);
    };
    if (B * T * d_.Cd * d_.K < 32768) {
      for (int64_t b = 0; b < B; ++b) one(b, 0, d_.Cd);
      return;
    }
    ctx.pool.parallel_ranges(B * nblk, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        one(i / nblk, (i % nblk) * blk, std::min(d_.Cd, (i % nblk + 1) * blk));
    });
  }

  // The exact recurrence over T positions of B streams, position by
  // position, one task per (stream, head): a step (T = 1), and the forward
  // with prefill 'scan'.
  void scan(RunCtx& ctx, const float* proj, const float* xbc, float* ys, int64_t B, int64_t T,
            const StateRefs& st) const {
    const int64_t hpg = d_.H / d_.G;
    auto item = [&](int64_t i) {
      const int64_t b = i / d_.H, h = i % d_.H, g = h / hpg;
      float* S = st.f32(b, 1) + h * d_.P * d_.N;
      for (int64_t r = b * T; r < (b + 1) * T; ++r) {
        const float* xr = xbc + r * d_.Cd;
        const float dt = dt_of(proj[r * d_.NP + d_.Di + d_.Cd + h], h);
        float a = dt * A_.as<float>()[h], dA;
        cpu::vexp(&a, &dA, 1);
        mamba2::ssm_step_head(S, d_.P, d_.N, xr + h * d_.P, xr + d_.Di + g * d_.N, xr + d_.Di + (d_.G + g) * d_.N,
                              dt, dA, D_.as<float>()[h], ys + r * d_.Di + h * d_.P);
      }
    };
    if (B * T * d_.H * d_.P * d_.N < 16384) {
      for (int64_t i = 0; i < B * d_.H; ++i) item(i);
      return;
    }
    ctx.pool.parallel_ranges(B * d_.H, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) item(i);
    });
  }

  // --- the chunked (SSD) forward ---------------------------------------

  int64_t chunk_len(int64_t T) const { return std::min(d_.Q, T); }
  int64_t chunks(int64_t T) const { return (T + chunk_len(T) - 1) / chunk_len(T); }

  // Per stream, group and chunk: B packed as [Q, N] (for the state update)
  // and C B^T [Q, Q]; B^T packed [N, Q] is a temporary of the same task.
  size_t group_item_floats(int64_t T) const {
    const int64_t Q = chunk_len(T);
    return fl(cpu::packed_floats(Q, d_.N)) + fl(size_t(Q * Q)) + fl(cpu::packed_floats(d_.N, Q));
  }
  size_t group_floats(int64_t T) const { return size_t(d_.G * chunks(T)) * group_item_floats(T); }

  // Per head: packed dt*x [Q, P], packed S^T [N, P], M [Q, Q], (L[last] dt x)^T
  // [P, Q], and dt, a, cumsum, exp(cumsum), decay to the chunk end [Q] each.
  size_t head_floats(int64_t T) const {
    const int64_t Q = chunk_len(T);
    return fl(cpu::packed_floats(Q, d_.P)) + fl(cpu::packed_floats(d_.N, d_.P)) + fl(size_t(Q * Q)) +
           fl(size_t(d_.P * Q)) + 5 * fl(size_t(Q));
  }

  void chunked(RunCtx& ctx, const float* proj, const float* xbc, float* ys, int64_t B, int64_t T,
               const StateRefs& st) const {
    const int64_t Q = chunk_len(T), nch = chunks(T), hpg = d_.H / d_.G;
    const int64_t N = d_.N, P = d_.P, Cd = d_.Cd, Di = d_.Di;
    const size_t gif = group_item_floats(T), hf = head_floats(T);
    float* gbuf = ctx.ws.alloc<float>(size_t(B) * group_floats(T));
    float* hbuf = ctx.ws.alloc<float>(size_t(d_.H) * hf);
    const size_t bpack_f = fl(cpu::packed_floats(Q, N)), cb_f = fl(size_t(Q * Q));

    // Phase 1, per (stream, group, chunk): pack B, and C B^T.
    ctx.pool.parallel_ranges(B * d_.G * nch, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t b = i / (d_.G * nch), g = (i / nch) % d_.G, c = i % nch;
        const int64_t t0 = c * Q, q = std::min(Q, T - t0);
        float* bpack = gbuf + size_t(i) * gif;
        float* cb = bpack + bpack_f;
        float* btpack = cb + cb_f;
        const float* Bs = xbc + (b * T + t0) * Cd + Di + g * N;
        const float* Cs = xbc + (b * T + t0) * Cd + Di + (d_.G + g) * N;
        mamba2::pack_kn_strided(Bs, Cd, q, N, nullptr, bpack);
        mamba2::pack_nk_strided(Bs, Cd, q, N, btpack);
        cpu::gemm_tile(cpu::GemmArgs{q, N, q, Cs, Cd, btpack, cb, Q, cpu::Init::zero, nullptr}, 0, q, 0, q);
      }
    });

    // Phase 2, per head: the chunks in order, carrying the state.
    ctx.pool.parallel_ranges(d_.H, [&](int64_t h0, int64_t h1) {
      for (int64_t h = h0; h < h1; ++h) {
        float* xdt_pack = hbuf + size_t(h) * hf;
        float* s_pack = xdt_pack + fl(cpu::packed_floats(Q, P));
        float* M = s_pack + fl(cpu::packed_floats(N, P));
        float* xwt = M + fl(size_t(Q * Q));
        float* dt = xwt + fl(size_t(P * Q));
        float* a = dt + fl(size_t(Q));
        float* cum = a + fl(size_t(Q));
        float* ecum = cum + fl(size_t(Q));
        float* decay = ecum + fl(size_t(Q));
        const int64_t g = h / hpg;
        const float Ah = A_.as<float>()[h], Dh = D_.as<float>()[h];
        for (int64_t b = 0; b < B; ++b) {
          float* S = st.f32(b, 1) + h * P * N;
          for (int64_t c = 0; c < nch; ++c) {
            const int64_t t0 = c * Q, q = std::min(Q, T - t0);
            const float* gi = gbuf + size_t((b * d_.G + g) * nch + c) * gif;
            const float* bpack = gi;
            const float* cb = gi + bpack_f;
            const float* xs = xbc + (b * T + t0) * Cd + h * P;            // x rows, stride Cd
            const float* Cs = xbc + (b * T + t0) * Cd + Di + (d_.G + g) * N;
            float* yo = ys + (b * T + t0) * Di + h * P;                   // y rows, stride Di
            // dt, a = A dt, cum = running sum of a, exp(cum).
            for (int64_t t = 0; t < q; ++t) {
              dt[t] = dt_of(proj[(b * T + t0 + t) * d_.NP + Di + Cd + h], h);
              a[t] = dt[t] * Ah;
              cum[t] = t ? cum[t - 1] + a[t] : a[t];
            }
            cpu::vexp(cum, ecum, q);
            // M[t, s] = (C B^T)[t, s] * exp(a[s+1] + ... + a[t]) for s <= t, else 0.
            // The segment sums are accumulated from the diagonal outwards
            // (no differences of cumulative sums, so no cancellation).
            for (int64_t t = 0; t < q; ++t) {
              float* m = M + t * Q;
              float v = 0.0f;
              m[t] = 0.0f;
              for (int64_t s = t - 1; s >= 0; --s) {
                v = v + a[s + 1];
                m[s] = v;
              }
              cpu::vexp(m, m, t + 1);
              if (t == q - 1) std::memcpy(decay, m, size_t(q) * sizeof(float));
              const float* cbr = cb + t * Q;
              for (int64_t s = 0; s <= t; ++s) m[s] = cbr[s] * m[s];
              for (int64_t s = t + 1; s < q; ++s) m[s] = 0.0f;
            }
            // Y_off = exp(cum[t]) * C[t] S_prev^T.
            cpu::pack_weight_nk(S, P, N, nullptr, s_pack);
            cpu::gemm_tile(cpu::GemmArgs{q, N, P, Cs, Cd, s_pack, yo, Di, cpu::Init::zero, nullptr}, 0, q, 0, P);
            for (int64_t t = 0; t < q; ++t) cpu::vscale(yo + t * Di, ecum[t], yo + t * Di, P);
            // Y_diag = M (dt x), accumulated.
            mamba2::pack_kn_strided(xs, Cd, q, P, dt, xdt_pack);
            cpu::gemm_tile(cpu::GemmArgs{q, q, P, M, Q, xdt_pack, yo, Di, cpu::Init::accumulate, nullptr}, 0, q, 0,
                           P);
            // + D x.
            for (int64_t t = 0; t < q; ++t) {
              float* yr = yo + t * Di;
              const float* xr = xs + t * Cd;
              for (int64_t p = 0; p < P; ++p) {
                const float dx = Dh * xr[p];
                yr[p] = yr[p] + dx;
              }
            }
            // S = exp(cum[last]) S + sum_s (decay[s] dt[s] x[s]) (x) B[s].
            cpu::vscale(S, ecum[q - 1], S, P * N);
            for (int64_t p = 0; p < P; ++p)
              for (int64_t s = 0; s < q; ++s) xwt[p * Q + s] = (dt[s] * xs[s * Cd + p]) * decay[s];
            cpu::gemm_tile(cpu::GemmArgs{P, q, N, xwt, Q, bpack, S, N, cpu::Init::accumulate, nullptr}, 0, P, 0, N);
          }
        }
      }
    });
  }

  // ys = rmsnorm_groups(ys * silu(z)) * norm.weight, row by row (z is
  // overwritten by silu(z)).
  void gated_norm(RunCtx& ctx, float* proj, float* ys, int64_t rows) const {
    auto row = [&](int64_t r) {
      float* z = proj + r * d_.NP;
      float* v = ys + r * d_.Di;
      cpu::vsilu(z, z, d_.Di);
      cpu::vmul(v, z, v, d_.Di);
      for (int64_t g0 = 0; g0 < d_.Di; g0 += d_.gs) {
        const float inv = 1.0f / std::sqrt(cpu::vsumsq(v + g0, d_.gs) / float(d_.gs) + eps_);
        cpu::vscale(v + g0, inv, v + g0, d_.gs);
      }
      cpu::vmul(v, norm_w_.as<float>(), v, d_.Di);
    };
    if (rows * d_.Di < 16384) {
      for (int64_t r = 0; r < rows; ++r) row(r);
      return;
    }
    ctx.pool.parallel_ranges(rows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) row(r);
    });
  }

  Dims d_;
  float eps_, dt_min_, dt_max_;
  bool has_dt_max_, ssd_;
  PackedWeight in_proj_, out_proj_;
  AlignedBuffer in_bias_, out_bias_, conv_w_, conv_b_, dt_bias_, D_, norm_w_, A_;
};

std::unique_ptr<Block> create(const Config& c, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<Mamba2>(c, info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_mamba2);

extern const PluginDesc plugin_recurrent_mamba2 = {
    .kind = PluginKind::recurrent,
    .name = "recurrent/mamba2",
    .version = 1,
    .summary = "Mamba-2 mixer (SSD): heads, groups, scalar decay per head, gated RMSNorm; transformers' names",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_mamba2),
    .test_configs = kTestConfigs,
    .forward_exact = false,
};

}  // namespace seqc
