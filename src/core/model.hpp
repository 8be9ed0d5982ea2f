// A loaded model: the planned block graph with its weights on one runtime,
// the per-stream state layout, and the fingerprint snapshots are tied to.
// Immutable after load and shared by any number of threads and streams.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/graph.hpp"
#include "core/refcount.hpp"
#include "core/runtime.hpp"
#include "core/workspace.hpp"

namespace seqc {

// Numeric values equal seqc_input_kind.
enum class InputKind : int { tokens = 0, frames = 1 };

struct StateEntry {
  std::string name;  // "<block>.<tensor>"
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  size_t offset = 0;  // in the stream's state buffer
  size_t nbytes = 0;
};

using Fingerprint = std::array<uint8_t, 16>;

class Tokenizer;  // io/tokenizer.hpp

class Model : public RefCounted {
 public:
  Ref<Runtime> runtime;
  Graph graph;
  InputKind input_kind = InputKind::frames;
  int64_t input_width = 0;  // frame width, or vocabulary size
  int64_t output_width = 0;
  bool output_logits = false;
  std::string tokenizer;    // "", "bytes" or "bpe"
  std::string tokenizer_json;  // "bpe": the HuggingFace tokenizer.json text, verbatim
  std::shared_ptr<const Tokenizer> tok;  // the parsed tokenizer; null when tokenizer is ""
  std::string source;       // "native", "torch" or "huggingface"
  std::string graph_json;   // canonical graph
  std::string meta_json;    // seqcore.meta, "" if none
  std::vector<StateEntry> states;
  size_t state_bytes = 0;
  size_t weight_bytes = 0;
  DType weight_dtype = DType::f32;  // precision of the weight matrices (LoadOptions)
  size_t step_read_bytes = 0;  // weight bytes a batch-1 step reads (the floor)
  Fingerprint fingerprint{};
  // Scratch of graph execution, in the runtime device's memory.
  mutable WorkspacePool workspaces;
  // Host scratch: logits for sampling, the sampler's own, stream pointer lists.
  mutable WorkspacePool host_workspaces;
  int64_t max_rows = kMaxRows;  // rows per executed chunk on this model's device

  // Lays out the state and sizes the workspaces. Called by the loader once
  // the graph is planned and the blocks exist.
  void finalize();
  std::string describe() const;  // JSON for seqc_model_describe
  std::string fingerprint_hex() const;
  const StateEntry* find_state(std::string_view name) const;

  static constexpr int64_t kMaxRows = 64;       // rows per executed chunk, CPU
  static constexpr int64_t kMaxRowsCuda = 512;  // rows per executed chunk, CUDA

 private:
  ~Model() override = default;  // through unref() only
};

}  // namespace seqc
