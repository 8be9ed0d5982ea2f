// Model loading: the native format (docs/model-format.md) and PyTorch
// state-dict import (docs/torch-import.md) share one validating build path.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "io/safetensors.hpp"

namespace seqc {

inline constexpr const char* kFormatVersionKey = "seqcore.format_version";
inline constexpr const char* kGraphKey = "seqcore.graph";
inline constexpr const char* kMetaKey = "seqcore.meta";
inline constexpr const char* kTorchKey = "seqcore.torch";

// A graph plus where each block's weights live in the file: the tensor
// "<prefix><weight name>" for the block's prefix ("rnn." natively).
struct GraphSource {
  std::string graph_json;                       // the graph document
  std::map<std::string, std::string> prefixes;  // block name -> tensor name prefix
  std::string meta_json;                        // "" if none
  std::string source;                           // "native" or "torch"
};

// Reads the graph out of a parsed file: native metadata, or a PyTorch import.
GraphSource graph_source(const Safetensors& st);

// Loads a model from bytes (which need only live for the call).
Ref<Model> load_model(Ref<Runtime> rt, const std::byte* data, size_t size);

// Re-writes any loadable file as a canonical native file (tensors renamed to
// "<block>.<weight>", stored dtypes and bytes kept). Validates by building
// the model first.
std::vector<std::byte> convert_to_native(const std::byte* data, size_t size);

}  // namespace seqc
