// The block graph of a model and its execution plan. A graph is a sequence
// of nodes; a node is a block or a residual group (output = input + the
// group's own sequence). The plan flattens it into ops over activation slots
// of a workspace, sized once at load, so running allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin.hpp"

namespace seqc {

enum class OutputMode : int { all = 0, last = 1, none = 2 };  // = seqc_output_mode

// Device-side candidate selection instead of the output (CUDA only): the k
// largest outputs of each result row, best first (ties by lower index), into
// host arrays vals/ids [result rows, k]; slots past a row's non-NaN entries
// get id -1. k <= kSelectMax (cuda_api.hpp).
struct TopK {
  int k = 1;
  float* vals = nullptr;
  int32_t* ids = nullptr;
};

struct GraphInput {
  const float* frames = nullptr;   // [rows, width], or
  const int32_t* tokens = nullptr; // [rows], already range-checked
};

class Graph {
 public:
  struct Entry {
    std::string name;
    const PluginDesc* plugin = nullptr;
    Config config;
    BlockInfo info;
    std::unique_ptr<Block> block;
    std::vector<size_t> state_offsets;  // absolute, in the stream's state buffer
    // Weights that are another block's stored tensor (the graph's "tie" key,
    // docs/model-format.md): weight name -> "<block>.<weight>".
    std::map<std::string, std::string> tie;
  };
  struct Node {
    int block = -1;               // index into blocks, or -1 for a residual group
    std::vector<Node> children;   // the group's sequence
  };

  std::vector<Entry> blocks;  // in graph order (depth first)
  std::vector<Node> nodes;    // top-level sequence

  // Builds the op list and checks widths from the blocks' infos (before any
  // weight is read); throws Code::config. input_width is the frame width.
  // Planned again once the blocks exist, a residual add is fused into the
  // block that ends its group where that block accumulates() (CUDA), and an
  // RMS norm into the block right after it where that block absorbs it.
  void plan(bool token_input, int64_t input_width, int64_t max_rows);
  // Sizes the workspace once the blocks exist.
  void size_workspace(bool on_cuda);

  int64_t max_rows() const { return max_rows_; }
  int64_t output_width() const { return out_width_; }
  // Bytes of workspace a call needs (activation slots plus block scratch).
  size_t workspace_bytes() const { return workspace_bytes_; }

  // Runs B streams x T positions (B*T <= max_rows), rows b*T + t. streams[b]
  // is stream b's state buffer. out receives all rows, the last row, or
  // nothing, per mode.
  // With topk (CUDA, mode all or last), out is unused and the candidates of
  // each result row are returned instead.
  void run_chunk(RunCtx& ctx, GraphInput in, int64_t B, int64_t T, std::byte* const* streams,
                 OutputMode mode, float* out, const TopK* topk = nullptr) const;
  // Residual adds fused into the block ending their group (describe).
  size_t fused_adds() const {
    size_t n = 0;
    for (const Op& op : ops_) n += op.accumulate ? 1 : 0;
    return n;
  }
  // RMS norms absorbed by the block after them (describe).
  size_t fused_norms() const {
    size_t n = 0;
    for (const Op& op : ops_) n += op.norm >= 0 ? 1 : 0;
    return n;
  }

 private:
  struct Op {
    enum Kind { run_block, add } kind;
    int index = -1;  // block index (run_block)
    int in = -1;     // slot read (-1: the graph input)
    int out = -1;    // slot written (add: out += in)
    int64_t in_w = 0, out_w = 0;
    bool accumulate = false;  // run_block: out += block(in) (a fused residual add)
    int norm = -1;            // run_block: the absorbed norm block applied to in first
  };
  bool can_absorb_norm(int cur, const Entry& e) const;
  int plan_seq(const std::vector<Node>& seq, int cur, int64_t& width);
  bool can_fuse_add(int cur, int res, size_t group_start) const;
  int take_slot();
  void run_ops(RunCtx& ctx, GraphInput in, size_t first, size_t last, int64_t row0, int64_t B,
               int64_t T, std::byte* const* streams, float* slots) const;
  static void run_body(void* chunk_body);  // the ops of one chunk (graph.cpp)

  std::vector<Op> ops_;
  std::vector<char> slot_used_;
  std::vector<int> slot_pins_;
  size_t tail_start_ = 0;   // ops from here on are stateless (row-wise)
  int final_slot_ = -1;
  bool token_input_ = false;
  int64_t in_width_ = 0, out_width_ = 0, slot_width_ = 0, max_rows_ = 0;
  size_t workspace_bytes_ = 0;
};

}  // namespace seqc
