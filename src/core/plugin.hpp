// The plugin interface: what a registry entry declares (schema, weights,
// state layout, capabilities) and the Block it instantiates inside a model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/dtype.hpp"

namespace seqc {

class ThreadPool;
class Workspace;
namespace cuda {
struct Ctx;  // src/cuda/cuda_common.cuh
}

// Numeric values equal seqc_plugin_kind.
enum class PluginKind : int { layer = 0, recurrent = 1, quantizer = 2, memory = 3 };
const char* plugin_kind_name(PluginKind k) noexcept;

struct TensorSpec {
  std::string name;  // relative to the block: "weight_ih_l0", "h"
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

// Everything the loader needs to know about a block before touching weights.
struct BlockInfo {
  int64_t in_width = 0;           // floats consumed per position (0 if tokens)
  int64_t out_width = 0;          // floats produced per position
  bool consumes_tokens = false;   // reads token ids instead of floats
  int64_t vocab = 0;              // token range when consumes_tokens
  std::vector<TensorSpec> weights;  // every weight, exactly; nothing else allowed
  std::vector<TensorSpec> state;    // per-stream state tensors (f32 for now)
};

// The f32 weights of one block, by relative name, validated against
// BlockInfo::weights (present, right shape) before create() runs.
//
// Weight matrices (what a GEMM or GEMV multiplies by, and embedding tables)
// are read with get_matrix(): their values rounded to matrix_dtype(), the
// precision the model was loaded with (seqc_load_options_set_weight_dtype).
// A CUDA block stores them in that dtype; a CPU block computes with the
// rounded values in f32. Everything else (biases, norms, conv taps, A, D)
// keeps f32 through get().
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual const float* get(std::string_view name) const = 0;
  virtual const float* get_matrix(std::string_view name) const { return get(name); }
  virtual DType matrix_dtype() const { return DType::f32; }
};

// Per call: the runtime's pool and a scratch arena that is released when the
// block returns. On a CUDA runtime `cu` is the runtime's CUDA context and the
// arena is device memory (the block contract is in src/cuda/cuda_common.cuh);
// on the CPU `cu` is null.
//
// accumulate: the block adds its result to y (y += f(x)) instead of writing
// it. Only set for blocks whose accumulates() is true (the graph then fuses
// a residual add into the block that ends the residual group).
//
// in_norm: an RMS norm the block applies to x before anything else (the
// graph absorbed the norm block before it; only set for blocks whose
// absorbs_input_norm() is true).
struct InputNorm {
  const float* scale = nullptr;  // [dim] weight + offset (device memory on CUDA)
  int64_t dim = 0;
  float eps = 0.0f;
};

struct RunCtx {
  ThreadPool& pool;
  Workspace& ws;
  const cuda::Ctx* cu = nullptr;
  bool accumulate = false;
  const InputNorm* in_norm = nullptr;
};

// A block's state in each of B streams: tensor j of stream b. On a CUDA
// runtime `streams` is a device array of device pointers (offsets stay host).
struct StateRefs {
  std::byte* const* streams = nullptr;  // B stream state bases
  const size_t* offsets = nullptr;      // absolute offsets of this block's tensors
  float* f32(int64_t b, int j) const {
    return reinterpret_cast<float*>(streams[b] + offsets[j]);
  }
};

// A configured block with its weights; immutable, shared by all streams and
// threads of a model.
class Block {
 public:
  virtual ~Block() = default;
  // Rows are (stream b, position t) at row b*T + t: x is [B*T, in_width],
  // y is [B*T, out_width]. For stateless blocks B and T only matter as rows.
  // A stateful block advances each stream's state by T positions. Never
  // allocates; scratch comes from ctx.ws (at most scratch_bytes(B, T)).
  virtual void run(RunCtx& ctx, const float* x, float* y, int64_t B, int64_t T,
                   const StateRefs& state) const = 0;
  // Token-consuming blocks: ids [rows] -> y [rows, out_width]. ids are valid.
  virtual void run_tokens(RunCtx& ctx, const int32_t* ids, float* y, int64_t rows) const;
  virtual size_t scratch_bytes(int64_t B, int64_t T) const { (void)B; (void)T; return 0; }
  virtual size_t weight_bytes() const = 0;
  // Weight bytes one batch-1 step reads: the bandwidth floor of a step. All of
  // them for most blocks; one row for a lookup table.
  virtual size_t step_read_bytes() const { return weight_bytes(); }
  // Whether run() honours RunCtx::accumulate.
  virtual bool accumulates() const { return false; }
  // Whether, when accumulating, y may be x itself (every read of x happens
  // before the first write of y): a group input can then take the result.
  virtual bool accumulates_in_place() const { return false; }
  // An RMS norm layer that another block may apply itself (y = x / rms(x) *
  // scale, row-wise): its parameters; nullptr for every other block.
  virtual const InputNorm* as_input_norm() const { return nullptr; }
  // Whether run() honours RunCtx::in_norm.
  virtual bool absorbs_input_norm() const { return false; }
};

// A plugin's CUDA factory lives in its .cu file and exists only in a CUDA
// build. In the plugin's .cpp:
//   SEQC_DECLARE_CUDA_FACTORY(create_cuda_linear);   // at namespace scope
//   ... .create_cuda = SEQC_CUDA_FACTORY(create_cuda_linear), ...
#if SEQC_HAVE_CUDA
#define SEQC_DECLARE_CUDA_FACTORY(fn) \
  std::unique_ptr<Block> fn(const Config& cfg, const BlockInfo& info, const WeightSource& weights)
#define SEQC_CUDA_FACTORY(fn) fn
#else
#define SEQC_DECLARE_CUDA_FACTORY(fn) static_assert(true, "")
#define SEQC_CUDA_FACTORY(fn) nullptr
#endif

struct PluginDesc {
  PluginKind kind;
  const char* name;     // "recurrent/lstm"
  uint32_t version;     // bumped when numerics or the weight layout change
  const char* summary;  // one line
  std::span<const ConfigKey> schema;
  // Derived shapes for a validated config; throws Code::config on
  // inconsistent values.
  BlockInfo (*info)(const Config& cfg);
  // One factory per backend; nullptr where the plugin has no implementation
  // (the loader then refuses the model on that runtime, before any step).
  using Factory = std::unique_ptr<Block> (*)(const Config& cfg, const BlockInfo& info,
                                             const WeightSource& weights);
  Factory create_cpu;
  Factory create_cuda;
  // Small configs (JSON objects) the conformance suite instantiates with
  // random weights. Every recurrent and memory plugin must list at least one.
  std::span<const char* const> test_configs;
  // forward over T positions equals T single steps bit for bit on the CPU.
  bool forward_exact;
};

}  // namespace seqc
