// PyTorch import: a safetensors file without seqcore metadata is read as a
// PyTorch state dict (docs/torch-import.md). A bare nn.LSTM or nn.GRU state
// dict needs no config at all; other stacks are described by a small
// "seqcore.torch" metadata entry listing the modules in order.
#pragma once

#include "io/model_loader.hpp"

namespace seqc {

GraphSource torch_graph_source(const Safetensors& st);

}  // namespace seqc
