#include "core/model.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/sampler.hpp"
#include "cuda/cuda_api.hpp"
#include "core/status.hpp"
#include "io/tokenizer.hpp"

namespace seqc {

void Model::finalize() {
  states.clear();
  size_t offset = 0;
  for (auto& e : graph.blocks) {
    e.state_offsets.clear();
    for (const TensorSpec& t : e.info.state) {
      SEQC_CHECK(t.dtype == DType::f32, "state tensors are f32");
      StateEntry s;
      s.name = e.name + "." + t.name;
      s.dtype = t.dtype;
      s.shape = t.shape;
      s.offset = offset;
      s.nbytes = size_t(t.numel()) * dtype_size(t.dtype);
      e.state_offsets.push_back(offset);
      offset += align_up(s.nbytes);
      states.push_back(std::move(s));
    }
  }
  state_bytes = offset;
  graph.size_workspace(runtime->device_impl().kind() == DeviceKind::cuda);
  output_width = graph.output_width();
  weight_bytes = 0;
  step_read_bytes = 0;
  for (const auto& e : graph.blocks) {
    weight_bytes += e.block->weight_bytes();
    step_read_bytes += e.block->step_read_bytes();
  }
  Device& dev = runtime->device_mut();
  const bool on_cuda = dev.kind() == DeviceKind::cuda;
  // On CUDA a chunk's input (frames or token ids) and its stream pointer list
  // are staged in the device workspace too.
  const size_t staging =
      on_cuda ? align_up(size_t(max_rows) * size_t(std::max<int64_t>(input_kind == InputKind::frames ? input_width : 1, 1)) *
                         sizeof(float)) +
                    align_up(size_t(max_rows) * sizeof(void*))
              : 0;
  workspaces.set_device(on_cuda ? &dev : nullptr);
  workspaces.set_size(graph.workspace_bytes() + staging + 4 * kAlign);
  // Sampling candidates of a chunk (generate on CUDA): max_rows x kTopkMax.
  const size_t cand = size_t(max_rows) * size_t(cuda::kSelectMax);
  host_workspaces.set_size(sampler_scratch_bytes(output_width) + align_up(size_t(output_width) * sizeof(float)) +
                           align_up(size_t(max_rows) * sizeof(void*)) + align_up(cand * sizeof(float)) +
                           align_up(cand * sizeof(int32_t)) + 6 * kAlign);
}

const StateEntry* Model::find_state(std::string_view name) const {
  for (const auto& s : states)
    if (s.name == name) return &s;
  return nullptr;
}

std::string Model::fingerprint_hex() const {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (uint8_t b : fingerprint) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::string Model::describe() const {
  using nlohmann::json;
  json blocks = json::array();
  for (const auto& e : graph.blocks) {
    json st = json::array();
    for (const auto& t : e.info.state)
      st.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}});
    blocks.push_back({{"name", e.name},
                      {"plugin", e.plugin->name},
                      {"plugin_version", e.plugin->version},
                      {"config", json::parse(e.config.to_json())},
                      {"in_width", e.info.in_width},
                      {"out_width", e.info.out_width},
                      {"weight_bytes", e.block->weight_bytes()},
                      {"step_read_bytes", e.block->step_read_bytes()},
                      {"state", st}});
  }
  json st = json::array();
  for (const auto& s : states)
    st.push_back({{"name", s.name}, {"dtype", dtype_name(s.dtype)}, {"shape", s.shape},
                  {"bytes", s.nbytes}});
  json out = {
      {"input", {{"kind", input_kind == InputKind::tokens ? "tokens" : "frames"},
                 {"width", input_width}}},
      {"output", {{"kind", output_logits ? "logits" : "features"}, {"width", output_width}}},
      {"tokenizer", tokenizer.empty() ? json(nullptr) : json(tokenizer)},
      {"source", source},
      {"blocks", blocks},
      {"graph", json::parse(graph_json)},
      {"fused_residual_adds", graph.fused_adds()},
      {"fused_input_norms", graph.fused_norms()},
      {"state", st},
      {"state_bytes", state_bytes},
      {"weight_bytes", weight_bytes},
      {"weight_dtype", dtype_name(weight_dtype)},
      {"step_read_bytes", step_read_bytes},
      {"fingerprint", fingerprint_hex()},
      {"runtime", {{"device", runtime->device_impl().name()}, {"threads", runtime->threads()}}},
  };
  if (!meta_json.empty()) out["meta"] = json::parse(meta_json);
  if (tok) out["tokenizer_info"] = json::parse(tok->describe_json());
  return out.dump(2);
}

}  // namespace seqc
