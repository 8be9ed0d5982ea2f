// HuggingFace directories (docs/hf-import.md): the graph built from each
// model_type's config.json, the weight-name mapping, tied heads, sharded
// checkpoints, tokenizer.json, conversion to the native format; and the
// graph's "tie" key (docs/model-format.md §3).
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "hf_dir_util.hpp"

using namespace seqc;
using namespace seqc::test;
using nlohmann::json;

namespace {

// A parsed in-memory tensor set (the objects point into each other).
struct Tensors {
  std::vector<std::byte> bytes;
  Safetensors st;
  TensorSet set;
  explicit Tensors(const std::vector<NamedTensor>& t)
      : bytes(hf_safetensors(t)), st(Safetensors::parse(bytes.data(), bytes.size())), set(st) {}
};

NamedTensor tensor(const std::string& name, std::vector<int64_t> shape, float fill = 0.5f) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return {name, shape, std::vector<float>(size_t(n), fill)};
}

// The graph hf_graph_source builds, with the embedding (and lm_head, if
// given) present.
GraphSource source(const std::string& config, bool head = false, float head_fill = 0.25f,
                   const std::string& embed_name = "backbone.embeddings.weight") {
  std::vector<NamedTensor> t{tensor(embed_name, {3, 2})};
  if (head) t.push_back(tensor("lm_head.weight", {3, 2}, head_fill));
  Tensors ts(t);
  return hf_graph_source(config, ts.set);
}

json blocks_of(const GraphSource& s) { return json::parse(s.graph_json)["blocks"]; }

// The mixer block of layer i in the graph.
json mixer(const GraphSource& s, size_t layer = 0) { return blocks_of(s)[1 + layer]["residual"][1]; }

// A minimal byte-level BPE tokenizer.json: the 256 byte symbols of GPT-2's
// byte-to-unicode table and one merge.
std::string byte_level_tokenizer() {
  std::vector<int> bs, cs;
  for (int b = 0; b < 256; ++b)
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) bs.push_back(b), cs.push_back(b);
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (std::find(bs.begin(), bs.end(), b) == bs.end()) bs.push_back(b), cs.push_back(256 + n++);
  json vocab = json::object();
  for (size_t i = 0; i < cs.size(); ++i) {
    std::string u;  // UTF-8 of code point cs[i] (< 0x800)
    const int c = cs[i];
    if (c < 0x80) u += char(c);
    else u += char(0xC0 | (c >> 6)), u += char(0x80 | (c & 0x3F));
    vocab[u] = i;
  }
  vocab["th"] = 256;
  vocab["the"] = 257;
  const json tok = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                 {"vocab", vocab}, {"merges", json::array({json::array({"t", "h"}), json::array({"th", "e"})})}}}};
  return tok.dump(2);
}

template <class F>
void expect_error(F&& f, Code code, const std::string& part) {
  try {
    f();
    FAIL("no error; expected ", code_name(code), " mentioning '", part, "'");
  } catch (const Error& e) {
    INFO("message: ", std::string(e.what()));
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(part) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("io/hf/json_text: Python's NaN and Infinity become strings, outside strings only") {
  CHECK(hf_json_text(R"({"a": [0.0, Infinity], "b": -Infinity, "c": NaN})") ==
        R"({"a": [0.0, "Infinity"], "b": "-Infinity", "c": "NaN"})");
  CHECK(hf_json_text(R"({"s": "Infinity NaN \"Infinity\"", "t": 1})") == R"({"s": "Infinity NaN \"Infinity\"", "t": 1})");
  CHECK(hf_json_text(R"(["a\\", Infinity])") == R"(["a\\", "Infinity"])");
}

TEST_CASE("io/hf/mamba: defaults, graph shape, prefixes, tied head") {
  const GraphSource s = source(R"({"model_type": "mamba", "vocab_size": 3, "hidden_size": 20, "num_hidden_layers": 2})");
  const json g = json::parse(s.graph_json);
  CHECK(g["input"] == json({{"kind", "tokens"}, {"vocab", 3}}));
  CHECK(g["output"] == json({{"kind", "logits"}}));
  CHECK(!g.contains("tokenizer"));
  const json b = g["blocks"];
  REQUIRE(b.size() == 5);  // embed, 2 residual groups, norm_f, lm_head
  CHECK(b[0] == json({{"name", "embed"}, {"plugin", "layer/embedding"},
                      {"config", {{"num_embeddings", 3}, {"embedding_dim", 20}}}}));
  CHECK(b[1]["residual"][0] ==
        json({{"name", "l0_norm"}, {"plugin", "layer/rmsnorm"}, {"config", {{"dim", 20}, {"eps", 1e-5}}}}));
  // transformers 5.x defaults: expand 2, state 16, conv 4, rank ceil(20/16), no bias, conv bias
  CHECK(mixer(s) == json({{"name", "l0_mixer"},
                          {"plugin", "recurrent/mamba"},
                          {"config",
                           {{"d_model", 20}, {"d_inner", 40}, {"d_state", 16}, {"d_conv", 4}, {"dt_rank", 2},
                            {"conv_bias", true}, {"bias", false}}}}));
  CHECK(b[3]["name"] == "norm_f");
  CHECK(b[4] == json({{"name", "lm_head"}, {"plugin", "layer/linear"},
                      {"config", {{"in_features", 20}, {"out_features", 3}, {"bias", false}}},
                      {"tie", {{"weight", "embed.weight"}}}}));
  CHECK(s.prefixes.at("embed") == "backbone.embeddings.");
  CHECK(s.prefixes.at("l1_norm") == "backbone.layers.1.norm.");
  CHECK(s.prefixes.at("l1_mixer") == "backbone.layers.1.mixer.");
  CHECK(s.prefixes.at("norm_f") == "backbone.norm_f.");
  CHECK(s.source == "huggingface");
  const json meta = json::parse(s.meta_json);
  CHECK(meta["model_type"] == "mamba");
  CHECK(meta["hf_config"]["hidden_size"] == 20);
}

TEST_CASE("io/hf/mamba: every config key that matters") {
  const GraphSource s = source(R"({"model_type": "mamba", "vocab_size": 3, "hidden_size": 10, "state_size": 5,
    "num_hidden_layers": 1, "expand": 1.5, "conv_kernel": 3, "time_step_rank": 7, "use_bias": true,
    "use_conv_bias": false, "hidden_act": "swish", "layer_norm_epsilon": 1e-3, "residual_in_fp32": false,
    "rescale_prenorm_residual": true, "time_step_scale": 2.0, "time_step_min": 0.01, "time_step_init_scheme": "uniform",
    "use_mambapy": true, "tie_word_embeddings": false, "architectures": ["MambaForCausalLM"], "dtype": "float32",
    "pad_token_id": null})",
                               true);
  CHECK(mixer(s)["config"] == json({{"d_model", 10}, {"d_inner", 15}, {"d_state", 5}, {"d_conv", 3}, {"dt_rank", 7},
                                    {"conv_bias", false}, {"bias", true}}));
  CHECK(blocks_of(s)[1]["residual"][0]["config"]["eps"] == 1e-3);
  CHECK(!blocks_of(s)[3].contains("tie"));  // untied: lm_head.weight is used as stored
  // intermediate_size, as transformers' config kwargs do, wins over expand
  const GraphSource s2 = source(R"({"model_type": "mamba", "hidden_size": 10, "expand": 2, "intermediate_size": 12,
    "time_step_rank": "auto", "num_hidden_layers": 1})");
  CHECK(mixer(s2)["config"]["d_inner"] == 12);
  CHECK(mixer(s2)["config"]["dt_rank"] == 1);
}

TEST_CASE("io/hf/falcon_mamba: the B, C, dt RMS norm") {
  const GraphSource s = source(R"({"model_type": "falcon_mamba", "hidden_size": 8, "num_hidden_layers": 1,
    "mixer_rms_eps": 1e-4})");
  CHECK(mixer(s)["config"]["bcdt_rms"] == true);
  CHECK(mixer(s)["config"]["rms_eps"] == 1e-4);
  CHECK(mixer(source(R"({"model_type": "falcon_mamba", "hidden_size": 8, "num_hidden_layers": 1})"))["config"]["rms_eps"] ==
        1e-6);
}

TEST_CASE("io/hf/mamba2: heads, groups, time step limit, gated norm") {
  const std::string base = R"("model_type": "mamba2", "vocab_size": 3, "hidden_size": 8, "expand": 2, "num_heads": 4,
    "head_dim": 4, "state_size": 6, "n_groups": 2, "conv_kernel": 3, "chunk_size": 5, "num_hidden_layers": 1,
    "layer_norm_epsilon": 1e-6, "use_bias": true, "use_conv_bias": false)";
  const GraphSource s = source("{" + base + R"(, "time_step_limit": [0.0, Infinity], "rms_norm": true})", true);
  CHECK(mixer(s) == json({{"name", "l0_mixer"},
                          {"plugin", "recurrent/mamba2"},
                          {"config",
                           {{"d_model", 8}, {"d_inner", 16}, {"d_state", 6}, {"d_conv", 3}, {"n_heads", 4},
                            {"head_dim", 4}, {"n_groups", 2}, {"conv_bias", false}, {"bias", true},
                            {"norm_eps", 1e-6}, {"chunk_size", 5}}}}));
  // mamba2's head is untied by default
  expect_error([&] { source("{" + base + "}"); }, Code::missing_tensor, "lm_head.weight");
  // transformers 5.x writes non-finite floats as {"__float__": "Infinity"}
  CHECK(source("{" + base + R"(, "time_step_limit": [0.0, {"__float__": "Infinity"}]})", true).graph_json == s.graph_json);
  expect_error([&] { source("{" + base + R"(, "time_step_limit": [0.0, {"__float__": "NaN"}]})", true); },
               Code::config, "time_step_limit");
  const GraphSource lim = source("{" + base + R"(, "time_step_limit": [0.01, 5.0], "tie_word_embeddings": true})");
  CHECK(mixer(lim)["config"]["dt_min"] == 0.01);
  CHECK(mixer(lim)["config"]["dt_max"] == 5.0);
  CHECK(blocks_of(lim)[3]["tie"] == json({{"weight", "embed.weight"}}));
  // rms_norm false: transformers applies the gated norm all the same
  CHECK(source("{" + base + R"(, "rms_norm": false, "tie_word_embeddings": true})").graph_json ==
        source("{" + base + R"(, "tie_word_embeddings": true})").graph_json);
  expect_error([&] { source("{" + base + R"(, "norm_before_gate": true, "tie_word_embeddings": true})"); },
               Code::unsupported, "norm_before_gate");
  expect_error([&] { source("{" + base + R"(, "time_step_limit": [1.0, 0.5], "tie_word_embeddings": true})"); },
               Code::config, "time_step_limit");
  expect_error([&] { source("{" + base + R"(, "time_step_limit": [NaN, 1], "tie_word_embeddings": true})"); },
               Code::config, "time_step_limit");
  auto subst = [&](const std::string& from, const std::string& to) {
    std::string b = base;
    b.replace(b.find(from), from.size(), to);
    return "{" + b + R"(, "tie_word_embeddings": true})";
  };
  CHECK_NOTHROW(source(subst(R"("n_groups": 2)", R"("n_groups": 4)")));
  expect_error([&] { source(subst(R"("num_heads": 4)", R"("num_heads": 3)")); }, Code::config, "num_heads");
  expect_error([&] { source(subst(R"("n_groups": 2)", R"("n_groups": 3)")); }, Code::config, "n_groups");
}

TEST_CASE("io/hf/lm_head: stored, absent, or a copy of the embedding") {
  const std::string m1 = R"({"model_type": "mamba", "hidden_size": 2, "vocab_size": 3, "num_hidden_layers": 1)";
  // tied, and save_pretrained wrote the same bytes: stored once
  const GraphSource same = source(m1 + "}", true, 0.5f);
  CHECK(blocks_of(same)[3].contains("tie"));
  CHECK(same.ignored.count("lm_head.weight") == 1);
  // tied in the config but a different head stored: ambiguous for mamba
  expect_error([&] { source(m1 + "}", true, 0.25f); }, Code::config, "tie_word_embeddings");
  // untied and absent
  expect_error([&] { source(m1 + R"(, "tie_word_embeddings": false})"); }, Code::missing_tensor, "lm_head.weight");
  // mamba2: transformers' Mamba2ForCausalLM ties nothing, a stored head is used
  const GraphSource m2 = source(R"({"model_type": "mamba2", "hidden_size": 4, "num_heads": 2, "head_dim": 4,
    "n_groups": 1, "num_hidden_layers": 1, "tie_word_embeddings": true})",
                                true, 0.25f);
  CHECK(!blocks_of(m2)[3].contains("tie"));
  // a bare MambaModel (no "backbone.") and the "embedding." spelling
  const GraphSource bare = source(m1 + "}", false, 0, "embeddings.weight");
  CHECK(bare.prefixes.at("embed") == "embeddings.");
  CHECK(bare.prefixes.at("l0_mixer") == "layers.0.mixer.");
  CHECK(bare.prefixes.at("norm_f") == "norm_f.");
  CHECK(source(m1 + "}", false, 0, "backbone.embedding.weight").prefixes.at("embed") == "backbone.embedding.");
  expect_error([&] { source(m1 + "}", false, 0, "model.embed_tokens.weight"); }, Code::missing_tensor,
               "backbone.embeddings.weight");
}

TEST_CASE("io/hf/config errors name the key") {
  expect_error([] { source(R"({"model_type": "llama", "hidden_size": 4})"); }, Code::unsupported, "llama");
  expect_error([] { source(R"({"hidden_size": 4})"); }, Code::config, "model_type");
  expect_error([] { source(R"({"d_model": 4, "n_layer": 2, "ssm_cfg": {}})"); }, Code::unsupported, "mamba_ssm");
  expect_error([] { source(R"({"model_type": "mamba", "hidden_act": "gelu"})"); }, Code::unsupported, "hidden_act");
  expect_error([] { source(R"({"model_type": "mamba", "hidden_size": 0})"); }, Code::config, "hidden_size");
  expect_error([] { source(R"({"model_type": "mamba", "hidden_size": 4.5})"); }, Code::config, "hidden_size");
  expect_error([] { source(R"({"model_type": "mamba", "hidden_size": "4"})"); }, Code::config, "hidden_size");
  expect_error([] { source(R"({"model_type": "mamba", "state_size": -1})"); }, Code::config, "state_size");
  expect_error([] { source(R"({"model_type": "mamba", "num_hidden_layers": 100000})"); }, Code::config,
               "num_hidden_layers");
  expect_error([] { source(R"({"model_type": "mamba", "time_step_rank": "big"})"); }, Code::config, "time_step_rank");
  expect_error([] { source(R"({"model_type": "mamba", "use_bias": 1})"); }, Code::config, "use_bias");
  expect_error([] { source(R"({"model_type": "mamba", "layer_norm_epsilon": Infinity})"); }, Code::config,
               "layer_norm_epsilon");
  expect_error([] { source(R"({"model_type": "mamba", "expand": 0})"); }, Code::config, "expand");
  expect_error([] { source(R"({"model_type": "mamba", "time_step_floor": "small"})"); }, Code::config,
               "time_step_floor");
  expect_error([] { source(R"({"model_type": "mamba2", "residual_in_fp32": "yes"})"); }, Code::config,
               "residual_in_fp32");
  expect_error([] { source(R"({"model_type": "mamba", "hidden_size": 4, "hidden_size": 5})"); }, Code::format,
               "duplicate");
  expect_error([] { source(R"({"model_type": "mamba",)"); }, Code::format, "config.json");
  expect_error([] { source(R"([1, 2])"); }, Code::format, "object");
}

TEST_CASE("io/hf/directory: load, shards, config.json path, tokenizer, convert") {
  const std::string cfg = R"({"model_type": "mamba", "vocab_size": 13, "hidden_size": 6, "state_size": 3,
    "num_hidden_layers": 2, "expand": 2, "conv_kernel": 3, "time_step_rank": 2, "use_bias": true,
    "tie_word_embeddings": true})";
  const std::vector<NamedTensor> weights = hf_random_tensors(cfg, 3);
  TempDir tmp;
  write_hf_dir(tmp.path / "single", cfg, weights);
  write_hf_dir(tmp.path / "sharded", cfg, weights, 3);
  const std::vector<int32_t> ids{1, 4, 12, 0, 7, 7, 3, 9, 11, 2};

  FileModel single((tmp.path / "single").string());
  const std::vector<float> y = run_tokens(single.m, ids);
  const json d = json::parse(single.describe());
  CHECK(d["source"] == "huggingface");
  CHECK(d["tokenizer"].is_null());

  FileModel sharded((tmp.path / "sharded").string());
  CHECK(bitwise_equal(run_tokens(sharded.m, ids), y));
  CHECK(json::parse(sharded.describe())["fingerprint"] == d["fingerprint"]);
  FileModel via_config((tmp.path / "sharded" / "config.json").string());
  CHECK(json::parse(via_config.describe())["fingerprint"] == d["fingerprint"]);

  // The same weights under native names and the same graph give the same
  // numbers: the mapping is the identity on values.
  std::vector<NamedTensor> native;
  const GraphSource src = [&] {
    Tensors ts(weights);
    return hf_graph_source(cfg, ts.set);
  }();
  for (const auto& t : weights) {
    std::string block, prefix;
    for (const auto& [b, p] : src.prefixes)
      if (t.name.rfind(p, 0) == 0 && p.size() > prefix.size()) block = b, prefix = p;
    native.push_back({block + "." + t.name.substr(prefix.size()), t.shape, t.data});
  }
  REQUIRE(native.size() == weights.size());
  ModelHandle hand(native_bytes(src.graph_json, native));
  CHECK(bitwise_equal(run_tokens(hand.m, ids), y));

  // convert: tied head stored once, bit-identical outputs, same fingerprint
  const std::string out = (tmp.path / "converted.safetensors").string();
  REQUIRE(seqc_convert((tmp.path / "sharded").string().c_str(), out.c_str()) == SEQC_OK);
  FileModel conv(out);
  CHECK(bitwise_equal(run_tokens(conv.m, ids), y));
  CHECK(json::parse(conv.describe())["fingerprint"] == d["fingerprint"]);
  MappedFile cf(out);
  const Safetensors cst = Safetensors::parse(cf.data(), cf.size());
  CHECK(cst.find("embed.weight") != nullptr);
  CHECK(cst.find("lm_head.weight") == nullptr);
  CHECK(cst.tensors().size() == weights.size());

  // tokenizer.json is carried verbatim into the model and the converted file
  const std::string tok = byte_level_tokenizer();
  std::string cfg_tok = cfg;
  cfg_tok.replace(cfg_tok.find(R"("vocab_size": 13)"), 16, R"("vocab_size": 258)");
  write_hf_dir(tmp.path / "tok", cfg_tok, hf_random_tensors(cfg_tok, 4));
  write_file(tmp.path / "tok" / "tokenizer.json", tok);
  const std::string out2 = (tmp.path / "tok.safetensors").string();
  REQUIRE(seqc_convert((tmp.path / "tok").string().c_str(), out2.c_str()) == SEQC_OK);
  MappedFile tf(out2);
  const Safetensors tst = Safetensors::parse(tf.data(), tf.size());
  CHECK(tst.metadata().at(kTokenizerKey) == tok);
  CHECK(json::parse(tst.metadata().at(kGraphKey))["tokenizer"] == json({{"kind", "bpe"}}));
  HfModelDir hd((tmp.path / "tok").string());
  CHECK(hd.source().tokenizer_json == tok);
  // a valid tokenizer of a kind the library does not implement: the model
  // loads without one, and says why
  write_file(tmp.path / "tok" / "tokenizer.json",
             R"({"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,
                 "post_processor": null, "decoder": null,
                 "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0]]}})");
  FileModel untok((tmp.path / "tok").string());
  const json ud = json::parse(untok.describe());
  CHECK(ud["tokenizer"].is_null());
  CHECK(ud["meta"]["tokenizer_skipped"].get<std::string>().find("Unigram") != std::string::npos);

  // The Hub cache's layout: snapshot files are symlinks to blobs elsewhere.
  fs::create_directories(tmp.path / "blobs");
  fs::create_directories(tmp.path / "snapshot");
  fs::copy_file(tmp.path / "single" / "model.safetensors", tmp.path / "blobs" / "b1");
  fs::create_symlink(tmp.path / "blobs" / "b1", tmp.path / "snapshot" / "model.safetensors");
  fs::copy_file(tmp.path / "single" / "config.json", tmp.path / "snapshot" / "config.json");
  FileModel linked((tmp.path / "snapshot").string());
  CHECK(json::parse(linked.describe())["fingerprint"] == d["fingerprint"]);
}

TEST_CASE("io/hf/directory: mamba2 and falcon_mamba in F16 and BF16 load like F32 after rounding") {
  for (const char* cfg : {R"({"model_type": "mamba2", "vocab_size": 9, "hidden_size": 4, "expand": 2, "num_heads": 2,
                              "head_dim": 4, "state_size": 4, "n_groups": 2, "conv_kernel": 4, "chunk_size": 3,
                              "num_hidden_layers": 2, "tie_word_embeddings": false})",
                          R"({"model_type": "falcon_mamba", "vocab_size": 9, "hidden_size": 4, "state_size": 2,
                              "num_hidden_layers": 1, "tie_word_embeddings": false})"}) {
    std::vector<NamedTensor> w = hf_random_tensors(cfg, 5);
    std::vector<NamedTensor> rounded = w;
    for (size_t i = 0; i < w.size(); ++i) {
      w[i].dtype = i % 2 ? DType::bf16 : DType::f16;
      for (auto& x : rounded[i].data) x = i % 2 ? bf16_to_f32(f32_to_bf16(x)) : f16_to_f32(f32_to_f16(x));
    }
    TempDir tmp;
    write_hf_dir(tmp.path / "half", cfg, w, 2);
    write_hf_dir(tmp.path / "f32", cfg, rounded);
    FileModel a((tmp.path / "half").string()), b((tmp.path / "f32").string());
    const std::vector<int32_t> ids{0, 8, 3, 3, 5, 1, 2};
    CHECK(bitwise_equal(run_tokens(a.m, ids), run_tokens(b.m, ids)));
  }
}

TEST_CASE("graph/tie: a native model with a tied head") {
  const std::string graph = R"({"input":{"kind":"tokens","vocab":7},"output":{"kind":"logits"},"blocks":[
    {"name":"embed","plugin":"layer/embedding","config":{"num_embeddings":7,"embedding_dim":5}},
    {"name":"head","plugin":"layer/linear","config":{"in_features":5,"out_features":7,"bias":false},
     "tie":{"weight":"embed.weight"}}]})";
  std::mt19937_64 rng(9);
  const NamedTensor emb{"embed.weight", {7, 5}, random_floats(rng, 35)};
  ModelHandle tied(native_bytes(graph, {emb}));
  // the same as an untied head holding a copy of the embedding
  json untied = json::parse(graph);
  untied["blocks"][1].erase("tie");
  ModelHandle copy(native_bytes(untied.dump(), {emb, {"head.weight", {7, 5}, emb.data}}));
  const std::vector<int32_t> ids{0, 6, 2, 2};
  CHECK(bitwise_equal(run_tokens(tied.m, ids), run_tokens(copy.m, ids)));
  // the tie is part of the canonical graph (and so of the fingerprint)
  size_t n = 0;
  seqc_model_describe(tied.m, nullptr, 0, &n);
  std::string s(n, '\0');
  seqc_model_describe(tied.m, s.data(), s.size(), &n);
  const json d = json::parse(s.c_str());
  CHECK(d["graph"]["blocks"][1]["tie"] == json({{"weight", "embed.weight"}}));
}
