#include "core/graph.hpp"

#include <algorithm>
#include <cstring>

#include "core/status.hpp"
#include "core/workspace.hpp"
#include "cpu/vmath.hpp"
#include "cuda/cuda_api.hpp"

namespace seqc {

int Graph::take_slot() {
  for (size_t i = 0; i < slot_used_.size(); ++i) {
    if (!slot_used_[i]) {
      slot_used_[i] = 1;
      return int(i);
    }
  }
  slot_used_.push_back(1);
  slot_pins_.push_back(0);
  return int(slot_used_.size() - 1);
}

bool Graph::can_fuse_add(int cur, int res, size_t group_start) const {
  // cur: the group's input slot (pinned), res: its result. The add fuses when
  // the op that made res is a block that can accumulate, cur is a slot (not
  // the graph input) that block does not read, and no op of the group writes
  // cur (a fused inner group starting the group would have).
  if (cur < 0 || ops_.empty()) return false;
  const Op& last = ops_.back();
  if (last.kind != Op::run_block || last.out != res) return false;
  const Entry& e = blocks[size_t(last.index)];
  if (!e.block || !e.block->accumulates() || e.info.consumes_tokens) return false;
  if (last.in == cur && !e.block->accumulates_in_place()) return false;
  for (size_t i = group_start; i < ops_.size(); ++i)
    if (ops_[i].out == cur) return false;
  return true;
}

bool Graph::can_absorb_norm(int cur, const Entry& e) const {
  // The op before is a norm block that wrote cur, and nothing else reads
  // cur: the block can read the norm's input and apply the norm itself.
  if (cur < 0 || ops_.empty() || !e.block || !e.block->absorbs_input_norm()) return false;
  const Op& prev = ops_.back();
  if (prev.kind != Op::run_block || prev.out != cur || prev.accumulate || prev.norm >= 0) return false;
  if (slot_pins_[size_t(cur)] != 0) return false;
  const Entry& n = blocks[size_t(prev.index)];
  const InputNorm* in = n.block ? n.block->as_input_norm() : nullptr;
  return in && in->dim == prev.in_w && prev.out_w == prev.in_w;
}

int Graph::plan_seq(const std::vector<Node>& seq, int cur, int64_t& width) {
  if (seq.empty()) fail(Code::config, "graph: empty block sequence or residual group");
  for (const Node& node : seq) {
    if (node.block >= 0) {
      const Entry& e = blocks[size_t(node.block)];
      if (e.info.consumes_tokens) {
        if (!(token_input_ && cur == -1 && ops_.empty()))
          fail(Code::config, "block '", e.name, "' (", e.plugin->name,
               ") consumes tokens: it must be the first block of a model with token input");
      } else if (token_input_ && ops_.empty()) {
        fail(Code::config, "the model takes tokens but its first block '", e.name, "' (",
             e.plugin->name, ") does not consume them");
      } else if (e.info.in_width != width) {
        fail(Code::config, "block '", e.name, "' (", e.plugin->name, ") expects ",
             e.info.in_width, " inputs but receives ", width);
      }
      int norm = -1;
      if (can_absorb_norm(cur, e)) {
        // Undo the norm op: its output slot is free again, its input slot
        // (freed after it if unpinned) is this block's input.
        const Op n = ops_.back();
        ops_.pop_back();
        slot_used_[size_t(cur)] = 0;
        if (n.in >= 0) slot_used_[size_t(n.in)] = 1;
        cur = n.in;
        norm = n.index;
      }
      const int out = take_slot();
      ops_.push_back({Op::run_block, node.block, cur, out, width, e.info.out_width});
      ops_.back().norm = norm;
      if (cur >= 0 && slot_pins_[size_t(cur)] == 0) slot_used_[size_t(cur)] = 0;
      cur = out;
      width = e.info.out_width;
    } else {
      if (cur == -1 && token_input_)
        fail(Code::config, "a residual group cannot wrap the token input");
      if (cur >= 0) ++slot_pins_[size_t(cur)];
      int64_t inner_width = width;
      const size_t group_start = ops_.size();
      const int res = plan_seq(node.children, cur, inner_width);
      if (inner_width != width)
        fail(Code::config, "a residual group maps width ", width, " to ", inner_width,
             "; its output must keep the width of its input");
      if (can_fuse_add(cur, res, group_start)) {
        // The group's last block adds its result into the group's input
        // slot, which becomes the group's output; its own slot is freed.
        Op& last = ops_.back();
        last.out = cur;
        last.accumulate = true;
        if (slot_pins_[size_t(res)] == 0) slot_used_[size_t(res)] = 0;
        --slot_pins_[size_t(cur)];
        continue;
      }
      ops_.push_back({Op::add, -1, cur, res, width, width});
      if (cur >= 0 && --slot_pins_[size_t(cur)] == 0) slot_used_[size_t(cur)] = 0;
      cur = res;
    }
  }
  return cur;
}

void Graph::plan(bool token_input, int64_t input_width, int64_t max_rows) {
  token_input_ = token_input;
  in_width_ = token_input ? 0 : input_width;
  max_rows_ = max_rows;
  ops_.clear();
  slot_used_.clear();
  slot_pins_.clear();
  int64_t width = in_width_;
  final_slot_ = plan_seq(nodes, -1, width);
  out_width_ = width;

  // Stateless ops after the last stateful one are row-wise: they may run on
  // the requested rows only (the last row for a prompt, none for a prefill).
  tail_start_ = 0;
  for (size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].kind == Op::run_block && !blocks[size_t(ops_[i].index)].info.state.empty())
      tail_start_ = i + 1;

  slot_width_ = 0;
  for (const Op& op : ops_) slot_width_ = std::max(slot_width_, op.out_w);
}

void Graph::size_workspace(bool on_cuda) {
  size_t scratch = 0;
  for (const Entry& e : blocks)
    scratch = std::max({scratch, e.block->scratch_bytes(max_rows_, 1),
                        e.block->scratch_bytes(1, max_rows_)});
  if (on_cuda) {
    // Held across the ops: the result rows' top-k candidates and the
    // selection's scratch (TopK).
    const size_t tk = size_t(max_rows_ * cuda::kSelectMax);
    scratch += align_up(tk * sizeof(float)) + align_up(tk * sizeof(int32_t)) +
               align_up(cuda::select_topk_scratch_bytes(max_rows_, out_width_, cuda::kSelectMax)) + 2 * kAlign;
  }
  workspace_bytes_ = slot_used_.size() * align_up(size_t(max_rows_ * slot_width_) * sizeof(float)) +
                     scratch + kAlign;
}

void Graph::run_ops(RunCtx& ctx, GraphInput in, size_t first, size_t last, int64_t row0,
                    int64_t B, int64_t T, std::byte* const* streams, float* slots) const {
  const size_t slot_stride = align_up(size_t(max_rows_ * slot_width_) * sizeof(float)) / sizeof(float);
  const int64_t rows = B * T;
  for (size_t i = first; i < last; ++i) {
    const Op& op = ops_[i];
    float* y = slots + size_t(op.out) * slot_stride + row0 * op.out_w;
    if (op.kind == Op::add) {
      const float* x = op.in >= 0 ? slots + size_t(op.in) * slot_stride + row0 * op.in_w
                                  : in.frames + row0 * op.in_w;
      if (ctx.cu)
        cuda::add(*ctx.cu, y, x, rows * op.out_w);
      else
        cpu::vadd(y, x, y, rows * op.out_w);
      continue;
    }
    const Entry& e = blocks[size_t(op.index)];
    const size_t mark = ctx.ws.mark();
    if (e.info.consumes_tokens) {
      e.block->run_tokens(ctx, in.tokens + row0, y, rows);
    } else {
      const float* x = op.in >= 0 ? slots + size_t(op.in) * slot_stride + row0 * op.in_w
                                  : in.frames + row0 * op.in_w;
      StateRefs st{streams, e.state_offsets.data()};
      ctx.accumulate = op.accumulate;
      ctx.in_norm = op.norm >= 0 ? blocks[size_t(op.norm)].block->as_input_norm() : nullptr;
      e.block->run(ctx, x, y, B, T, st);
      ctx.accumulate = false;
      ctx.in_norm = nullptr;
    }
    ctx.ws.release(mark);
  }
}

namespace {

// One chunk's ops after the input is staged: what a CUDA graph captures.
struct ChunkBody {
  const Graph* graph;
  RunCtx* ctx;
  GraphInput in;
  int64_t B, T;
  std::byte* const* streams;
  float* slots;
  OutputMode mode;
  // Device top-k of the result rows (CUDA), run inside the captured graph.
  int topk = 0;
  float* dvals = nullptr;
  int32_t* dids = nullptr;
  void* topk_scratch = nullptr;
};

}  // namespace

void Graph::run_body(void* p) {
  const ChunkBody& b = *static_cast<const ChunkBody*>(p);
  const Graph& g = *b.graph;
  const int64_t rows = b.B * b.T;
  g.run_ops(*b.ctx, b.in, 0, g.tail_start_, 0, b.B, b.T, b.streams, b.slots);
  if (b.mode == OutputMode::all)
    g.run_ops(*b.ctx, b.in, g.tail_start_, g.ops_.size(), 0, b.B, b.T, b.streams, b.slots);
  else if (b.mode == OutputMode::last)
    g.run_ops(*b.ctx, b.in, g.tail_start_, g.ops_.size(), rows - 1, 1, 1, b.streams, b.slots);
  if (b.topk > 0) {
    const size_t slot_stride = align_up(size_t(g.max_rows_ * g.slot_width_) * sizeof(float)) / sizeof(float);
    const float* result = b.slots + size_t(g.final_slot_) * slot_stride;
    const int64_t n_res = b.mode == OutputMode::all ? rows : 1;
    if (b.mode == OutputMode::last) result += (rows - 1) * g.out_width_;
    cuda::select_topk(*b.ctx->cu, result, n_res, g.out_width_, b.topk, b.dvals, b.dids, b.topk_scratch);
  }
}

void Graph::run_chunk(RunCtx& ctx, GraphInput in, int64_t B, int64_t T, std::byte* const* streams,
                      OutputMode mode, float* out, const TopK* topk) const {
  const int64_t rows = B * T;
  SEQC_CHECK(rows >= 1 && rows <= max_rows_);
  const size_t slot_stride = align_up(size_t(max_rows_ * slot_width_) * sizeof(float)) / sizeof(float);
  const size_t mark = ctx.ws.mark();
  const size_t out_floats = mode == OutputMode::all ? size_t(rows * out_width_)
                            : mode == OutputMode::last ? size_t(out_width_)
                                                       : 0;

  if (!ctx.cu) {
    float* slots = ctx.ws.alloc<float>(slot_used_.size() * slot_stride);
    ChunkBody body{this, &ctx, in, B, T, streams, slots, mode};
    run_body(&body);
    const float* result = slots + size_t(final_slot_) * slot_stride;
    if (out_floats) std::memcpy(out, result + (mode == OutputMode::last ? (rows - 1) * out_width_ : 0),
                                out_floats * sizeof(float));
    ctx.ws.release(mark);
    return;
  }

  // CUDA: the chunk's input and its stream pointer list are staged on the
  // device, then the ops run, as a captured graph for a step (T = 1) or
  // eagerly, and the output comes back. One caller at a time per runtime.
  auto lock = cuda::submit_lock(*ctx.cu);
  const size_t in_bytes = in.tokens ? size_t(rows) * sizeof(int32_t) : size_t(rows * in_width_) * sizeof(float);
  std::byte* din = ctx.ws.alloc<std::byte>(in_bytes);
  std::byte** dstreams = ctx.ws.alloc<std::byte*>(size_t(B));
  float* slots = ctx.ws.alloc<float>(slot_used_.size() * slot_stride);
  GraphInput staged;
  if (in.tokens)
    staged.tokens = reinterpret_cast<const int32_t*>(din);
  else
    staged.frames = reinterpret_cast<const float*>(din);
  ChunkBody body{this, &ctx, staged, B, T, dstreams, slots, mode};
  const int64_t n_res = mode == OutputMode::all ? rows : 1;
  if (topk) {
    SEQC_CHECK(mode != OutputMode::none && topk->k >= 1 && topk->k <= cuda::kSelectMax);
    body.topk = topk->k;
    body.dvals = ctx.ws.alloc<float>(size_t(n_res * topk->k));
    body.dids = ctx.ws.alloc<int32_t>(size_t(n_res * topk->k));
    body.topk_scratch = ctx.ws.alloc<std::byte>(cuda::select_topk_scratch_bytes(n_res, out_width_, topk->k));
  }
  const void* host_in = in.tokens ? static_cast<const void*>(in.tokens) : static_cast<const void*>(in.frames);
  const uint64_t key = (uint64_t(B) << 10) | (uint64_t(topk ? topk->k : 0) << 2) | uint64_t(mode);
  const bool replayed = T == 1 && cuda::run_graph(*ctx.cu, ctx.ws.graphs, key, mark, host_in, din, in_bytes, streams,
                                                  dstreams, size_t(B) * sizeof(std::byte*), &Graph::run_body, &body);
  if (!replayed) {
    cuda::upload_async(*ctx.cu, din, host_in, in_bytes);
    cuda::upload_async(*ctx.cu, dstreams, streams, size_t(B) * sizeof(std::byte*));
    run_body(&body);
  }
  const float* result = slots + size_t(final_slot_) * slot_stride;
  if (topk) {
    cuda::download_async(*ctx.cu, topk->vals, body.dvals, size_t(n_res * topk->k) * sizeof(float));
    cuda::download(*ctx.cu, topk->ids, body.dids, size_t(n_res * topk->k) * sizeof(int32_t));
  } else if (out_floats)
    cuda::download(*ctx.cu, out, result + (mode == OutputMode::last ? (rows - 1) * out_width_ : 0),
                   out_floats * sizeof(float));
  else if (!replayed)
    // The eager copies may read the caller's input after we return (pinned
    // host memory is copied asynchronously): wait for them.
    cuda::download(*ctx.cu, nullptr, nullptr, 0);
  ctx.ws.release(mark);
}

}  // namespace seqc
