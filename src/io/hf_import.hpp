// HuggingFace model directories (docs/hf-import.md): config.json plus
// model.safetensors, or the shards model-0000x-of-0000y.safetensors listed by
// model.safetensors.index.json, and optionally tokenizer.json. model_type
// mamba, falcon_mamba and mamba2 are mapped onto the block graph
//   embed -> {residual: [l{i}_norm, l{i}_mixer]} x layers -> norm_f -> lm_head
// with lm_head tied to embed.weight where the checkpoint ties them.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "io/model_loader.hpp"

namespace seqc {

// Size limits on the JSON files of a directory.
inline constexpr size_t kMaxHfConfigBytes = size_t(16) << 20;
inline constexpr size_t kMaxHfIndexBytes = size_t(64) << 20;
inline constexpr size_t kMaxHfShards = 4096;
inline constexpr int64_t kMaxHfLayers = 4096;

// True if path is a directory, or a file named config.json (its directory is
// the model).
bool is_hf_model_path(const std::string& path);

// The graph of a checkpoint from the text of its config.json and the tensors
// of its weight files (which decide the name prefix and whether lm_head is
// stored). tokenizer_json ("" if none) is carried into the source verbatim.
// Throws Code::config / Code::unsupported naming the config key, or
// Code::missing_tensor / Code::format for the weight names.
GraphSource hf_graph_source(std::string_view config_text, const TensorSet& tensors,
                            const std::string& tokenizer_json = "");

// Python's json module writes NaN, Infinity and -Infinity (transformers'
// time_step_limit defaults to [0.0, Infinity]); this turns those tokens,
// outside strings, into the strings "NaN", "Infinity", "-Infinity" so that a
// strict JSON parser reads the document.
std::string hf_json_text(std::string_view text);

// An opened directory: its weight files mapped and validated, the graph
// source built. Everything is checked in the constructor.
class HfModelDir {
 public:
  explicit HfModelDir(const std::string& path);
  ~HfModelDir();
  HfModelDir(const HfModelDir&) = delete;
  HfModelDir& operator=(const HfModelDir&) = delete;

  const std::string& dir() const { return dir_; }
  const TensorSet& tensors() const { return tensors_; }
  const GraphSource& source() const { return source_; }

 private:
  void open_single(const std::string& file);
  void open_sharded(const std::string& index_file);

  std::string dir_;
  std::deque<std::unique_ptr<MappedFile>> files_;
  std::deque<Safetensors> parsed_;  // stable addresses: tensors_ points into them
  TensorSet tensors_;
  GraphSource source_;
};

}  // namespace seqc
