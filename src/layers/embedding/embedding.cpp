// layer/embedding: token id -> row of a [num_embeddings, embedding_dim] table.
#include <cstring>

#include "core/packed_weight.hpp"
#include "core/plugin.hpp"
#include "core/status.hpp"

namespace seqc {

namespace {

const ConfigKey kSchema[] = {
    {.name = "num_embeddings", .type = ConfigType::integer, .required = true, .min = 1, .doc = "vocabulary size"},
    {.name = "embedding_dim", .type = ConfigType::integer, .required = true, .min = 1, .doc = "width of each row"},
};

BlockInfo info(const Config& c) {
  BlockInfo b;
  b.consumes_tokens = true;
  b.vocab = c.i("num_embeddings");
  b.out_width = c.i("embedding_dim");
  b.weights = {{"weight", DType::f32, {b.vocab, b.out_width}}};
  return b;
}

class Embedding final : public Block {
 public:
  Embedding(const BlockInfo& info, const WeightSource& w)
      : dim_(info.out_width), table_(copy_floats(w.get_matrix("weight"), info.vocab * info.out_width)) {}
  void run(RunCtx&, const float*, float*, int64_t, int64_t, const StateRefs&) const override {
    fail(Code::internal, "layer/embedding consumes tokens");
  }
  void run_tokens(RunCtx&, const int32_t* ids, float* y, int64_t rows) const override {
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(y + r * dim_, table_.as<float>() + int64_t(ids[r]) * dim_, size_t(dim_) * sizeof(float));
  }
  size_t weight_bytes() const override { return table_.size(); }
  size_t step_read_bytes() const override { return size_t(dim_) * sizeof(float); }

 private:
  int64_t dim_;
  AlignedBuffer table_;
};

std::unique_ptr<Block> create(const Config&, const BlockInfo& info, const WeightSource& w) {
  return std::make_unique<Embedding>(info, w);
}

}  // namespace

SEQC_DECLARE_CUDA_FACTORY(create_cuda_embedding);

extern const PluginDesc plugin_layer_embedding = {
    .kind = PluginKind::layer,
    .name = "layer/embedding",
    .version = 1,
    .summary = "token id to vector lookup (the input of a language model)",
    .schema = kSchema,
    .info = info,
    .create_cpu = create,
    .create_cuda = SEQC_CUDA_FACTORY(create_cuda_embedding),
    .test_configs = {},
    .forward_exact = true,
};

}  // namespace seqc
