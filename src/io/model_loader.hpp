// Model loading: the native format (docs/model-format.md), PyTorch state-dict
// import (docs/torch-import.md) and HuggingFace model directories
// (docs/hf-import.md) share one validating build path.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"
#include "io/safetensors.hpp"

namespace seqc {

inline constexpr const char* kFormatVersionKey = "seqcore.format_version";
inline constexpr const char* kGraphKey = "seqcore.graph";
inline constexpr const char* kMetaKey = "seqcore.meta";
inline constexpr const char* kTorchKey = "seqcore.torch";
inline constexpr const char* kTokenizerKey = "seqcore.tokenizer";

// The tensors a model is read from, by name: one safetensors file, or the
// shards of a HuggingFace directory. Holds pointers into the parsed files,
// which must outlive it.
class TensorSet {
 public:
  TensorSet() = default;
  explicit TensorSet(const Safetensors& st) { add(st, ""); }
  // Adds every tensor of st. A name already present (from another file)
  // fails with Code::format naming both origins.
  void add(const Safetensors& st, const std::string& origin);
  const StTensor* find(std::string_view name) const;
  // Where a tensor came from ("" for a single file); "" if absent.
  std::string origin(std::string_view name) const;
  const std::map<std::string, const StTensor*, std::less<>>& all() const { return tensors_; }  // sorted

 private:
  std::map<std::string, const StTensor*, std::less<>> tensors_;
  std::map<std::string, std::string, std::less<>> origins_;
};

// A graph plus where each block's weights live in the file: the tensor
// "<prefix><weight name>" for the block's prefix ("rnn." natively).
struct GraphSource {
  std::string graph_json;                       // the graph document
  std::map<std::string, std::string> prefixes;  // block name -> tensor name prefix
  std::set<std::string> ignored;                // tensors present but deliberately unused
  std::string meta_json;                        // "" if none
  std::string tokenizer_json;                   // HF tokenizer.json text, "" if none
  std::string source;                           // "native", "torch" or "huggingface"
};

// How a model is loaded (seqc_load_options).
struct LoadOptions {
  DType weight_dtype = DType::f32;  // precision of weight matrices: f32, bf16 or f16
};

// Reads the graph out of a parsed file: native metadata, or a PyTorch import.
GraphSource graph_source(const Safetensors& st);

// Builds a model from a graph source and its tensors (which need only live
// for the call): every config value, weight name, shape and dtype is checked.
Ref<Model> build_model(Ref<Runtime> rt, const TensorSet& tensors, const GraphSource& src,
                       const LoadOptions& opts = {});

// Loads a model from bytes (which need only live for the call).
Ref<Model> load_model(Ref<Runtime> rt, const std::byte* data, size_t size, const LoadOptions& opts = {});

// Loads a model from a path: a native or PyTorch safetensors file, or a
// HuggingFace model directory (or the config.json inside one).
Ref<Model> load_model_path(Ref<Runtime> rt, const std::string& path, const LoadOptions& opts = {});

// Re-writes a loadable model as a canonical native file: tensors renamed to
// "<block>.<weight>" (tied weights stored once), stored dtypes and bytes
// kept, meta and tokenizer carried. Validates by building the model first.
std::vector<std::byte> convert_to_native(const TensorSet& tensors, const GraphSource& src);
std::vector<std::byte> convert_to_native(const std::byte* data, size_t size);
std::vector<std::byte> convert_path_to_native(const std::string& path);

}  // namespace seqc
