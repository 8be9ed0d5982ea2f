// Seed inputs for the fuzz targets: a small valid model and a snapshot of it.
#pragma once

#include <random>
#include <vector>

#include "../test_util.hpp"

namespace seqc::fuzz {

inline std::vector<std::byte> seed_model() {
  std::mt19937_64 rng(1);
  const std::string graph = R"({"input":{"kind":"tokens","vocab":9},"output":{"kind":"logits"},"blocks":[
    {"name":"e","plugin":"layer/embedding","config":{"num_embeddings":9,"embedding_dim":4}},
    {"residual":[{"name":"n","plugin":"layer/rmsnorm","config":{"dim":4}},
                 {"name":"g","plugin":"recurrent/gru","config":{"input_size":4,"hidden_size":4}}]},
    {"name":"r","plugin":"recurrent/lstm","config":{"input_size":4,"hidden_size":5,"proj_size":3}},
    {"name":"h","plugin":"layer/linear","config":{"in_features":3,"out_features":9}}]})";
  std::vector<test::NamedTensor> w;
  for (auto [b, p, c] : {std::tuple{"e", "layer/embedding", R"({"num_embeddings":9,"embedding_dim":4})"},
                         std::tuple{"n", "layer/rmsnorm", R"({"dim":4})"},
                         std::tuple{"g", "recurrent/gru", R"({"input_size":4,"hidden_size":4})"},
                         std::tuple{"r", "recurrent/lstm", R"({"input_size":4,"hidden_size":5,"proj_size":3})"},
                         std::tuple{"h", "layer/linear", R"({"in_features":3,"out_features":9})"}}) {
    auto t = test::random_weights(rng, b, p, c);
    for (auto& x : t) x.dtype = x.name.back() == 't' ? DType::f16 : DType::f32;  // some F16 weights too
    w.insert(w.end(), t.begin(), t.end());
  }
  return test::native_bytes(graph, w);
}

inline std::vector<std::byte> seed_snapshot() {
  const auto bytes = seed_model();
  seqc_model* m = nullptr;
  seqc_model_load_buffer(nullptr, bytes.data(), bytes.size(), &m);
  seqc_stream* s = nullptr;
  seqc_stream_create(m, &s);
  for (int32_t t : {1, 4, 2}) seqc_stream_step_token(s, t, nullptr, 0);
  size_t n = 0;
  seqc_stream_snapshot_size(s, &n);
  std::vector<std::byte> blob(n);
  seqc_stream_snapshot(s, blob.data(), n, &n);
  seqc_stream_destroy(s);
  seqc_model_unref(m);
  return blob;
}

}  // namespace seqc::fuzz
