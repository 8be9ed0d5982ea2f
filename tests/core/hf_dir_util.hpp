// Test helpers for HuggingFace model directories: a temporary directory, and
// random checkpoints with transformers' tensor names for any config that
// hf_graph_source accepts (the shapes come from the plugins' declarations).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "io/hf_import.hpp"

namespace seqc::test {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("seqc-hf-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

inline void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline void write_bytes(const fs::path& p, const std::vector<std::byte>& b) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// The tensors of a safetensors image written from NamedTensors (f32 or as
// their dtype), no metadata other than transformers' {"format": "pt"}.
inline std::vector<std::byte> hf_safetensors(const std::vector<NamedTensor>& tensors) {
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
  return write_safetensors(st, {{"format", "pt"}});
}

// Random weights with HF names for config_json (a config.json text): the
// graph hf_graph_source builds decides every name and shape. A tied head is
// left out, as save_pretrained does.
inline std::vector<NamedTensor> hf_random_tensors(const std::string& config_json, uint64_t seed = 1) {
  using nlohmann::json;
  const json cfg = json::parse(hf_json_text(config_json));
  const std::string type = cfg.value("model_type", "");
  const bool tie = cfg.value("tie_word_embeddings", type != "mamba2");
  // A stand-in set with the names hf_graph_source looks for.
  std::vector<NamedTensor> probe{{"backbone.embeddings.weight", {1, 1}, {0.5f}}};
  if (!tie) probe.push_back({"lm_head.weight", {1, 1}, {0.25f}});
  const auto probe_bytes = hf_safetensors(probe);
  const Safetensors probe_st = Safetensors::parse(probe_bytes.data(), probe_bytes.size());
  const GraphSource src = hf_graph_source(config_json, TensorSet(probe_st));

  std::mt19937_64 rng(seed);
  std::vector<NamedTensor> out;
  std::function<void(const json&)> walk = [&](const json& nodes) {
    for (const json& n : nodes) {
      if (n.contains("residual")) {
        walk(n["residual"]);
        continue;
      }
      const std::string name = n["name"];
      const PluginDesc* d = Registry::instance().find(n["plugin"].get<std::string>());
      Config c = config_from_json(n["config"], name);
      c.validate(d->schema, name);
      const BlockInfo info = d->info(c);
      for (const auto& w : info.weights) {
        if (n.contains("tie") && n["tie"].contains(w.name)) continue;
        const int64_t fan_in = w.shape.size() >= 2 ? w.shape.back() : 4;
        std::vector<float> v = random_floats(rng, size_t(w.numel()), 1.0f / std::sqrt(float(fan_in)));
        // keep norms near 1, A_log and dt biases in their usual ranges
        if (w.name == "weight" && w.shape.size() == 1)
          for (auto& x : v) x += 1.0f;
        if (w.name == "A_log" || w.name == "D")
          for (auto& x : v) x += 0.5f;
        out.push_back({src.prefixes.at(name) + w.name, w.shape, std::move(v)});
      }
    }
  };
  walk(json::parse(src.graph_json)["blocks"]);
  return out;
}

// Writes config.json and the weights: model.safetensors, or `shards` files
// model-0000k-of-0000n.safetensors with model.safetensors.index.json.
inline void write_hf_dir(const fs::path& dir, const std::string& config_json, const std::vector<NamedTensor>& tensors,
                         int shards = 0) {
  write_file(dir / "config.json", config_json);
  if (shards == 0) {
    write_bytes(dir / "model.safetensors", hf_safetensors(tensors));
    return;
  }
  nlohmann::json map = nlohmann::json::object();
  for (int k = 0; k < shards; ++k) {
    char fname[64];
    std::snprintf(fname, sizeof fname, "model-%05d-of-%05d.safetensors", k + 1, shards);
    std::vector<NamedTensor> part;
    for (size_t i = size_t(k); i < tensors.size(); i += size_t(shards)) {
      part.push_back(tensors[i]);
      map[tensors[i].name] = fname;
    }
    write_bytes(dir / fname, hf_safetensors(part));
  }
  write_file(dir / "model.safetensors.index.json",
             nlohmann::json({{"metadata", {{"total_size", 0}}}, {"weight_map", map}}).dump(2));
}

// Logits of a whole token sequence through the C API.
inline std::vector<float> run_tokens(seqc_model* m, const std::vector<int32_t>& ids) {
  StreamHandle s(m);
  std::vector<float> y(ids.size() * size_t(seqc_model_output_width(m)));
  if (seqc_stream_forward_tokens(s.s, ids.data(), ids.size(), SEQC_OUTPUT_ALL, y.data(), y.size()) != SEQC_OK)
    throw std::runtime_error(seqc_last_error());
  return y;
}

struct FileModel {
  seqc_model* m = nullptr;
  explicit FileModel(const std::string& path) {
    if (seqc_model_load_file(nullptr, path.c_str(), &m) != SEQC_OK)
      throw std::runtime_error("loading " + path + ": " + seqc_last_error());
  }
  ~FileModel() { seqc_model_unref(m); }
  FileModel(const FileModel&) = delete;
  FileModel& operator=(const FileModel&) = delete;
  std::string describe() const {
    size_t n = 0;
    seqc_model_describe(m, nullptr, 0, &n);
    std::string s(n, '\0');
    seqc_model_describe(m, s.data(), s.size(), &n);
    s.resize(n ? n - 1 : 0);
    return s;
  }
};

}  // namespace seqc::test
