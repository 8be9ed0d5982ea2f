// Helpers shared by the C++ test suites: deterministic random data, and
// models built in memory (graph JSON + random weights -> native bytes).
#pragma once

#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "io/json_util.hpp"
#include "io/model_loader.hpp"
#include "io/safetensors.hpp"
#include "seqcore/seqcore.h"

namespace seqc::test {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
  DType dtype = DType::f32;  // stored dtype (data is converted when writing)
};

inline std::vector<float> random_floats(std::mt19937_64& rng, size_t n, float scale = 1.0f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Random weights for every tensor a block of `plugin` with `config` needs,
// named "<block>.<weight>", scaled by 1/sqrt(fan-in) like PyTorch's init.
inline std::vector<NamedTensor> random_weights(std::mt19937_64& rng, const std::string& block,
                                               const std::string& plugin, const std::string& config_json) {
  const PluginDesc* d = Registry::instance().find(plugin);
  Config cfg = config_from_json_text(config_json, block);
  cfg.validate(d->schema, block);
  const BlockInfo info = d->info(cfg);
  std::vector<NamedTensor> out;
  for (const auto& w : info.weights) {
    const int64_t fan_in = w.shape.size() >= 2 ? w.shape.back() : 16;
    const float scale = 1.0f / std::sqrt(float(std::max<int64_t>(fan_in, 1)));
    out.push_back({block + "." + w.name, w.shape, random_floats(rng, size_t(w.numel()), scale)});
  }
  return out;
}

inline std::vector<std::byte> native_bytes(const std::string& graph_json, const std::vector<NamedTensor>& tensors,
                                           const std::map<std::string, std::string>& extra_meta = {}) {
  std::vector<std::vector<uint16_t>> halves;
  std::vector<StWriteTensor> st;
  for (const auto& t : tensors) {
    if (t.dtype == DType::f32) {
      st.push_back({t.name, DType::f32, t.shape, t.data.data(), t.data.size() * 4});
    } else {
      auto& h = halves.emplace_back(t.data.size());
      for (size_t i = 0; i < h.size(); ++i)
        h[i] = t.dtype == DType::f16 ? f32_to_f16(t.data[i]) : f32_to_bf16(t.data[i]);
      st.push_back({t.name, t.dtype, t.shape, h.data(), h.size() * 2});
    }
  }
  std::map<std::string, std::string> md{{"seqcore.format_version", "1"}, {"seqcore.graph", graph_json}};
  for (const auto& [k, v] : extra_meta) md[k] = v;
  return write_safetensors(st, md);
}

// A one-block model over frames: graph input width = the block's input.
inline std::string single_block_graph(const std::string& plugin, const std::string& config_json, int64_t in_width) {
  return "{\"input\":{\"kind\":\"frames\",\"width\":" + std::to_string(in_width) +
         "},\"blocks\":[{\"name\":\"b\",\"plugin\":\"" + plugin + "\",\"config\":" + config_json + "}]}";
}

// Owns C handles for a test.
struct ModelHandle {
  seqc_model* m = nullptr;
  ModelHandle() = default;
  explicit ModelHandle(const std::vector<std::byte>& bytes, seqc_runtime* rt = nullptr) {
    const int rc = seqc_model_load_buffer(rt, bytes.data(), bytes.size(), &m);
    if (rc != SEQC_OK) throw std::runtime_error(std::string("load failed: ") + seqc_last_error());
  }
  ModelHandle(const ModelHandle&) = delete;
  ModelHandle& operator=(const ModelHandle&) = delete;
  ~ModelHandle() { seqc_model_unref(m); }
};

struct StreamHandle {
  seqc_stream* s = nullptr;
  explicit StreamHandle(seqc_model* m) {
    if (seqc_stream_create(m, &s) != SEQC_OK) throw std::runtime_error(seqc_last_error());
  }
  explicit StreamHandle(seqc_stream* adopt) : s(adopt) {}
  StreamHandle(const StreamHandle&) = delete;
  StreamHandle& operator=(const StreamHandle&) = delete;
  StreamHandle(StreamHandle&& o) noexcept : s(o.s) { o.s = nullptr; }
  ~StreamHandle() { seqc_stream_destroy(s); }
};

inline bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace seqc::test
