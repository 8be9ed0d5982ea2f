// Hostile and broken input: a corpus of malformed model files and snapshots,
// each answered by its documented status code, with a message, without a
// crash, and with nothing changed. Also runs under ASan + UBSan in CI.
#include <doctest/doctest.h>

#include <xxhash.h>

#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "../core/hf_dir_util.hpp"
#include "../test_util.hpp"

using namespace seqc;
using namespace seqc::test;
using nlohmann::json;

namespace {

const char* kGraph = R"({"input":{"kind":"tokens","vocab":13},"output":{"kind":"logits"},"blocks":[
  {"name":"embed","plugin":"layer/embedding","config":{"num_embeddings":13,"embedding_dim":6}},
  {"name":"rnn","plugin":"recurrent/lstm","config":{"input_size":6,"hidden_size":8,"num_layers":2}},
  {"name":"head","plugin":"layer/linear","config":{"in_features":8,"out_features":13}}]})";

std::vector<NamedTensor> good_tensors() {
  std::mt19937_64 rng(5);
  std::vector<NamedTensor> w;
  for (auto [b, p, c] : {std::tuple{"embed", "layer/embedding", R"({"num_embeddings":13,"embedding_dim":6})"},
                         std::tuple{"rnn", "recurrent/lstm", R"({"input_size":6,"hidden_size":8,"num_layers":2})"},
                         std::tuple{"head", "layer/linear", R"({"in_features":8,"out_features":13})"}}) {
    auto t = random_weights(rng, b, p, c);
    w.insert(w.end(), t.begin(), t.end());
  }
  return w;
}

std::vector<std::byte> good_model() { return native_bytes(kGraph, good_tensors()); }

// Splits a safetensors image into its header JSON and data section.
struct Parts {
  json header;
  std::vector<std::byte> data;
};
Parts split(const std::vector<std::byte>& bytes) {
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  Parts p;
  p.header = json::parse(std::string(reinterpret_cast<const char*>(bytes.data() + 8), n));
  p.data.assign(bytes.begin() + 8 + long(n), bytes.end());
  return p;
}
std::vector<std::byte> join(const std::string& header, const std::vector<std::byte>& data) {
  std::vector<std::byte> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}
std::vector<std::byte> join(const Parts& p) { return join(p.header.dump(), p.data); }

// Load must fail with `code`, a message, and leave out untouched.
void expect_load_fails(const std::vector<std::byte>& bytes, int code, const char* message_part = nullptr) {
  seqc_model* sentinel = reinterpret_cast<seqc_model*>(uintptr_t(0x1234));
  seqc_model* m = sentinel;
  const int rc = seqc_model_load_buffer(nullptr, bytes.data(), bytes.size(), &m);
  INFO("message: ", seqc_last_error());
  CHECK(rc == code);
  CHECK(m == sentinel);
  CHECK(std::strlen(seqc_last_error()) > 0);
  if (message_part) CHECK(std::string(seqc_last_error()).find(message_part) != std::string::npos);
}

// Edit the graph JSON inside the metadata.
std::vector<std::byte> with_graph(const std::function<void(json&)>& edit) {
  Parts p = split(good_model());
  json g = json::parse(p.header["__metadata__"]["seqcore.graph"].get<std::string>());
  edit(g);
  p.header["__metadata__"]["seqcore.graph"] = g.dump();
  return join(p);
}

std::vector<std::byte> with_header(const std::function<void(json&)>& edit) {
  Parts p = split(good_model());
  edit(p.header);
  return join(p);
}

}  // namespace

TEST_CASE("bad_input/good_model_loads") {
  const auto bytes = good_model();
  ModelHandle m(bytes);
  CHECK(seqc_model_output_width(m.m) == 13);
}

TEST_CASE("bad_input/container") {
  const auto good = good_model();
  uint64_t hlen;
  std::memcpy(&hlen, good.data(), 8);

  SUBCASE("empty file") { expect_load_fails({}, SEQC_ERR_FORMAT); }
  SUBCASE("shorter than the length prefix") {
    expect_load_fails(std::vector<std::byte>(good.begin(), good.begin() + 5), SEQC_ERR_FORMAT);
  }
  SUBCASE("header length beyond the file") {
    auto b = good;
    const uint64_t n = good.size();
    std::memcpy(b.data(), &n, 8);
    expect_load_fails(b, SEQC_ERR_FORMAT, "header length");
    const uint64_t huge = ~uint64_t(0);
    std::memcpy(b.data(), &huge, 8);
    expect_load_fails(b, SEQC_ERR_FORMAT, "header length");
  }
  SUBCASE("truncated at every length") {
    // Every prefix of a valid file is refused, none crashes.
    for (size_t n = 0; n < good.size(); n += (n < 8 + hlen + 64 ? 1 : 7)) {
      seqc_model* m = nullptr;
      const int rc = seqc_model_load_buffer(nullptr, good.data(), n, &m);
      CHECK(rc == SEQC_ERR_FORMAT);
      CHECK(m == nullptr);
    }
  }
  SUBCASE("header is not JSON") {
    expect_load_fails(join(std::string("{\"a\": [1, 2,"), {}), SEQC_ERR_FORMAT, "JSON");
    expect_load_fails(join(std::string("not json at all!"), {}), SEQC_ERR_FORMAT);
    expect_load_fails(join(std::string("\xff\xfe{}  ", 6), {}), SEQC_ERR_FORMAT);
  }
  SUBCASE("header is not an object") { expect_load_fails(join(std::string("[1,2,3] "), {}), SEQC_ERR_FORMAT); }
  SUBCASE("nesting bomb") {
    std::string deep(100000, '[');
    expect_load_fails(join("{\"x\":" + deep, {}), SEQC_ERR_FORMAT, "nested");
  }
  SUBCASE("duplicate keys") {
    Parts p = split(good);
    std::string h = p.header.dump();
    h.insert(1, "\"head.bias\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},");
    expect_load_fails(join(h, p.data), SEQC_ERR_FORMAT, "duplicate");
  }
  SUBCASE("offsets out of range") {
    expect_load_fails(with_header([](json& h) { h["head.bias"]["data_offsets"][1] = 1u << 30; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) {
                        auto& o = h["head.bias"]["data_offsets"];
                        o = {o[1].get<uint64_t>(), o[0].get<uint64_t>()};
                      }),
                      SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["data_offsets"] = {-4, 48}; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["data_offsets"] = {0.5, 52}; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["data_offsets"] = {0}; }), SEQC_ERR_FORMAT);
  }
  SUBCASE("overlapping tensors") {
    expect_load_fails(with_header([](json& h) { h["head.bias"]["data_offsets"] = h["embed.weight"]["data_offsets"]; 
                                                h["head.bias"]["shape"] = h["embed.weight"]["shape"]; }),
                      SEQC_ERR_FORMAT);
  }
  SUBCASE("holes and trailing bytes") {
    Parts p = split(good);
    p.data.resize(p.data.size() + 16);
    expect_load_fails(join(p), SEQC_ERR_FORMAT, "not referenced");
  }
  SUBCASE("size does not match dtype and shape") {
    expect_load_fails(with_header([](json& h) { h["head.bias"]["shape"] = {14}; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["dtype"] = "F16"; }), SEQC_ERR_FORMAT);
  }
  SUBCASE("negative, fractional and overflowing shapes") {
    expect_load_fails(with_header([](json& h) { h["head.bias"]["shape"] = {-13}; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["shape"] = {1.5}; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["shape"] = {1ll << 62, 1ll << 62, 8}; }),
                      SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["shape"] = {1, 1, 1, 1, 1, 1, 1, 1, 13}; }),
                      SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"]["shape"] = "13"; }), SEQC_ERR_FORMAT);
  }
  SUBCASE("malformed entries") {
    expect_load_fails(with_header([](json& h) { h["head.bias"]["extra"] = 1; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"].erase("dtype"); }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["head.bias"] = 5; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["__metadata__"]["x"] = 5; }), SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["__metadata__"] = "x"; }), SEQC_ERR_FORMAT);
  }
}

TEST_CASE("bad_input/tensors") {
  SUBCASE("unknown dtype name") {
    expect_load_fails(with_header([](json& h) { h["head.bias"]["dtype"] = "F99"; }), SEQC_ERR_DTYPE, "F99");
  }
  SUBCASE("a dtype weights cannot have") {
    expect_load_fails(with_header([](json& h) { h["head.bias"]["dtype"] = "I32"; }), SEQC_ERR_DTYPE, "head.bias");
  }
  SUBCASE("wrong shape") {
    expect_load_fails(with_header([](json& h) {
                        h["head.weight"]["shape"] = {8, 13};  // transposed, same size
                      }),
                      SEQC_ERR_SHAPE, "head.weight");
  }
  SUBCASE("missing tensor") {
    auto w = good_tensors();
    w.erase(std::remove_if(w.begin(), w.end(), [](const NamedTensor& t) { return t.name == "rnn.weight_hh_l1"; }),
            w.end());
    expect_load_fails(native_bytes(kGraph, w), SEQC_ERR_MISSING_TENSOR, "rnn.weight_hh_l1");
  }
  SUBCASE("a tensor nothing uses") {
    auto w = good_tensors();
    w.push_back({"rnn.weight_ih_l2", {32, 8}, std::vector<float>(256)});
    expect_load_fails(native_bytes(kGraph, w), SEQC_ERR_FORMAT, "rnn.weight_ih_l2");
  }
}

TEST_CASE("bad_input/graph") {
  SUBCASE("unknown plugin") {
    expect_load_fails(with_graph([](json& g) { g["blocks"][1]["plugin"] = "recurrent/nope"; }),
                      SEQC_ERR_UNKNOWN_PLUGIN, "recurrent/nope");
  }
  SUBCASE("negative, zero, fractional, NaN-like and huge sizes") {
    for (json v : {json(-8), json(0), json(8.5), json("NaN"), json(std::numeric_limits<double>::infinity()), json(std::nan("")), json(nullptr),
                   json(1ll << 40), json::array({8})}) {
      CAPTURE(v.dump());
      expect_load_fails(with_graph([&](json& g) { g["blocks"][1]["config"]["hidden_size"] = v; }), SEQC_ERR_CONFIG);
    }
    expect_load_fails(with_graph([](json& g) { g["input"]["vocab"] = -13; }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["input"]["vocab"] = "13"; }), SEQC_ERR_CONFIG);
  }
  SUBCASE("unknown and missing config keys") {
    expect_load_fails(with_graph([](json& g) { g["blocks"][1]["config"]["hiden_size"] = 8; }), SEQC_ERR_CONFIG,
                      "hiden_size");
    expect_load_fails(with_graph([](json& g) { g["blocks"][1]["config"].erase("hidden_size"); }), SEQC_ERR_CONFIG,
                      "hidden_size");
    expect_load_fails(with_graph([](json& g) { g["blocks"][1]["config"]["bias"] = 1; }), SEQC_ERR_CONFIG);
  }
  SUBCASE("inconsistent widths") {
    expect_load_fails(with_graph([](json& g) { g["blocks"][1]["config"]["input_size"] = 7; }), SEQC_ERR_CONFIG,
                      "expects 7 inputs");
    expect_load_fails(with_graph([](json& g) {
                        g["blocks"].push_back({{"name", "act"}, {"plugin", "layer/activation"},
                                               {"config", {{"function", "tanh"}, {"dim", 5}}}});
                      }),
                      SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["blocks"][0] = {{"residual", {g["blocks"][0]}}}; }),
                      SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["blocks"][1]["config"]["proj_size"] = 9; }), SEQC_ERR_CONFIG);
  }
  SUBCASE("structure") {
    expect_load_fails(with_graph([](json& g) { g["blocks"] = json::array(); }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g.erase("input"); }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["input"]["kind"] = "pixels"; }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["blocks"][2]["name"] = "rnn"; }), SEQC_ERR_CONFIG, "twice");
    expect_load_fails(with_graph([](json& g) { g["blocks"][2]["name"] = "bad name!"; }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["blocks"][2]["name"] = 3; }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["blocks"][2]["colour"] = "red"; }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["blocks"].push_back({{"residual", json::array()}}); }),
                      SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["output"]["kind"] = "pictures"; }), SEQC_ERR_CONFIG);
    expect_load_fails(with_graph([](json& g) { g["tokenizer"] = {{"kind", "bytes"}}; }), SEQC_ERR_CONFIG, "256");
    expect_load_fails(with_graph([](json& g) { g["blocks"][0]["plugin"] = 5; }), SEQC_ERR_CONFIG);
  }
  SUBCASE("logits need a vocabulary-wide output") {
    expect_load_fails(with_graph([](json& g) { g["blocks"].erase(2); }), SEQC_ERR_CONFIG, "logits");
  }
  SUBCASE("graph and version metadata") {
    expect_load_fails(with_header([](json& h) { h["__metadata__"]["seqcore.format_version"] = "2"; }),
                      SEQC_ERR_VERSION);
    expect_load_fails(with_header([](json& h) { h["__metadata__"].erase("seqcore.format_version"); }),
                      SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["__metadata__"]["seqcore.graph"] = "{not json"; }),
                      SEQC_ERR_FORMAT);
    expect_load_fails(with_header([](json& h) { h["__metadata__"]["seqcore.meta"] = "[1]"; }), SEQC_ERR_FORMAT);
  }
}

// ---------------------------------------------------------------- snapshots

// Graph "tie" keys (docs/model-format.md §3): a weight that is another
// block's stored tensor.
TEST_CASE("bad_input/tie") {
  const char* tied = R"({"input":{"kind":"tokens","vocab":13},"output":{"kind":"logits"},"blocks":[
    {"name":"embed","plugin":"layer/embedding","config":{"num_embeddings":13,"embedding_dim":8}},
    {"name":"head","plugin":"layer/linear","config":{"in_features":8,"out_features":13,"bias":false},
     "tie":{"weight":"embed.weight"}}]})";
  std::mt19937_64 rng(3);
  const NamedTensor emb{"embed.weight", {13, 8}, random_floats(rng, 104)};
  ModelHandle ok(native_bytes(tied, {emb}));  // the good case loads
  auto edited = [&](const std::function<void(json&)>& edit, std::vector<NamedTensor> t = {}) {
    json g = json::parse(tied);
    edit(g["blocks"][1]);
    t.push_back(emb);
    return native_bytes(g.dump(), t);
  };
  SUBCASE("not an object") {
    expect_load_fails(edited([](json& b) { b["tie"] = "embed.weight"; }), SEQC_ERR_CONFIG, "tie");
    expect_load_fails(edited([](json& b) { b["tie"] = json::object(); }), SEQC_ERR_CONFIG, "tie");
  }
  SUBCASE("names no weight of the block") {
    expect_load_fails(edited([](json& b) { b["tie"] = {{"bias", "embed.weight"}}; }, {{"head.weight", {13, 8},
                      std::vector<float>(104)}}), SEQC_ERR_CONFIG, "bias");
  }
  SUBCASE("target malformed, unknown block, unknown weight") {
    expect_load_fails(edited([](json& b) { b["tie"]["weight"] = "embedweight"; }), SEQC_ERR_CONFIG, "<block>.<weight>");
    expect_load_fails(edited([](json& b) { b["tie"]["weight"] = 7; }), SEQC_ERR_CONFIG, "string");
    expect_load_fails(edited([](json& b) { b["tie"]["weight"] = "nope.weight"; }), SEQC_ERR_CONFIG, "nope");
    expect_load_fails(edited([](json& b) { b["tie"]["weight"] = "embed.table"; }), SEQC_ERR_CONFIG, "table");
    expect_load_fails(edited([](json& b) { b["tie"]["weight"] = "head.weight"; }), SEQC_ERR_CONFIG, "itself");
  }
  SUBCASE("shape differs") {
    expect_load_fails(edited([](json& b) { b["config"]["in_features"] = 13; b["config"]["out_features"] = 8; }),
                      SEQC_ERR_SHAPE, "embed.weight");
  }
  SUBCASE("the tied tensor stored as well is unused") {
    expect_load_fails(edited([](json&) {}, {{"head.weight", {13, 8}, emb.data}}), SEQC_ERR_FORMAT, "head.weight");
  }
  SUBCASE("the tied tensor is missing") {
    json g = json::parse(tied);
    expect_load_fails(native_bytes(g.dump(), {}), SEQC_ERR_MISSING_TENSOR, "embed.weight");
  }
}

// HuggingFace directories (docs/hf-import.md), loaded by path.
TEST_CASE("bad_input/hf_directory") {
  const std::string cfg = R"({"model_type": "mamba", "vocab_size": 11, "hidden_size": 4, "state_size": 2,
    "num_hidden_layers": 2, "tie_word_embeddings": true})";
  const std::vector<NamedTensor> weights = hf_random_tensors(cfg);
  TempDir tmp;
  auto load_fails = [](const fs::path& p, int code, const char* part) {
    seqc_model* sentinel = reinterpret_cast<seqc_model*>(uintptr_t(0x1234));
    seqc_model* m = sentinel;
    const int rc = seqc_model_load_file(nullptr, p.string().c_str(), &m);
    INFO("message: ", std::string(seqc_last_error()));
    CHECK(rc == code);
    CHECK(m == sentinel);
    CHECK(std::string(seqc_last_error()).find(part) != std::string::npos);
    CHECK(seqc_convert(p.string().c_str(), (p.parent_path() / "out.safetensors").string().c_str()) == code);
  };
  const fs::path good = tmp.path / "good";
  write_hf_dir(good, cfg, weights, 2);
  { FileModel m(good.string()); }  // loads

  SUBCASE("no config.json, bad JSON, not an object") {
    fs::create_directories(tmp.path / "empty");
    load_fails(tmp.path / "empty", SEQC_ERR_IO, "config.json");
    write_hf_dir(tmp.path / "d", "{\"model_type\": \"mamba\",", weights);
    load_fails(tmp.path / "d", SEQC_ERR_FORMAT, "config.json");
    write_file(tmp.path / "d" / "config.json", "[]");
    load_fails(tmp.path / "d", SEQC_ERR_FORMAT, "object");
  }
  SUBCASE("unknown model_type, unsupported option") {
    write_hf_dir(tmp.path / "d", R"({"model_type": "gpt2"})", weights);
    load_fails(tmp.path / "d", SEQC_ERR_UNSUPPORTED, "gpt2");
    write_file(tmp.path / "d" / "config.json", R"({"model_type": "mamba", "hidden_act": "relu"})");
    load_fails(tmp.path / "d", SEQC_ERR_UNSUPPORTED, "hidden_act");
  }
  SUBCASE("no weights; PyTorch pickles only") {
    write_file(tmp.path / "d" / "config.json", cfg);
    load_fails(tmp.path / "d", SEQC_ERR_IO, "model.safetensors");
    write_file(tmp.path / "d" / "pytorch_model.bin", "PK");
    load_fails(tmp.path / "d", SEQC_ERR_UNSUPPORTED, "pytorch_model.bin");
  }
  auto edit_index = [&](const std::function<void(json&)>& edit) {
    const fs::path d = tmp.path / "idx";
    fs::remove_all(d);
    fs::copy(good, d);
    std::ifstream in(d / "model.safetensors.index.json");
    json idx = json::parse(in);
    edit(idx["weight_map"]);
    write_file(d / "model.safetensors.index.json", idx.dump());
    return d;
  };
  SUBCASE("index pointing outside the directory") {
    write_bytes(tmp.path / "outside.safetensors", hf_safetensors(weights));
    for (const char* bad : {"../outside.safetensors", "/etc/passwd", "a/../../outside.safetensors", "./x", "a//b",
                            "a\\b", ""}) {
      const fs::path d = edit_index([&](json& m) { m["backbone.norm_f.weight"] = bad; });
      load_fails(d, SEQC_ERR_FORMAT, "inside the model directory");
    }
  }
  SUBCASE("index malformed") {
    const fs::path d = edit_index([](json& m) { m = json::array(); });
    load_fails(d, SEQC_ERR_FORMAT, "weight_map");
    load_fails(edit_index([](json& m) { m["backbone.norm_f.weight"] = 3; }), SEQC_ERR_FORMAT, "string");
  }
  SUBCASE("missing shard") {
    fs::remove(good / "model-00002-of-00002.safetensors");
    load_fails(good, SEQC_ERR_IO, "model-00002-of-00002.safetensors");
  }
  SUBCASE("tensor in two shards, in another shard than listed, not listed, listed but absent") {
    // shard 2 also gets a tensor of shard 1
    std::vector<NamedTensor> two;
    for (size_t i = 1; i < weights.size(); i += 2) two.push_back(weights[i]);
    two.push_back(weights[0]);
    write_bytes(good / "model-00002-of-00002.safetensors", hf_safetensors(two));
    load_fails(good, SEQC_ERR_FORMAT, weights[0].name.c_str());
    write_hf_dir(good, cfg, weights, 2);
    load_fails(edit_index([&](json& m) { m[weights[0].name] = "model-00002-of-00002.safetensors"; }),
               SEQC_ERR_FORMAT, "puts it in");
    load_fails(edit_index([&](json& m) { m.erase(weights[0].name); }), SEQC_ERR_FORMAT, "not listed");
    load_fails(edit_index([&](json& m) { m["backbone.extra"] = "model-00001-of-00002.safetensors"; }),
               SEQC_ERR_FORMAT, "backbone.extra");
  }
  SUBCASE("bad shard file") {
    write_file(good / "model-00001-of-00002.safetensors", "junk");
    load_fails(good, SEQC_ERR_FORMAT, "model-00001-of-00002.safetensors");
  }
  SUBCASE("wrong shapes, missing and extra tensors") {
    std::vector<NamedTensor> w = weights;
    for (auto& t : w)
      if (t.name == "backbone.layers.1.mixer.A_log") t.shape = {t.shape[1], t.shape[0]};
    write_hf_dir(tmp.path / "d", cfg, w);
    load_fails(tmp.path / "d", SEQC_ERR_SHAPE, "backbone.layers.1.mixer.A_log");
    w = weights;
    w.erase(std::remove_if(w.begin(), w.end(), [](auto& t) { return t.name == "backbone.layers.0.mixer.D"; }), w.end());
    write_hf_dir(tmp.path / "d", cfg, w);
    load_fails(tmp.path / "d", SEQC_ERR_MISSING_TENSOR, "backbone.layers.0.mixer.D");
    w = weights;
    w.push_back({"backbone.layers.2.norm.weight", {4}, std::vector<float>(4, 1.0f)});
    write_hf_dir(tmp.path / "d", cfg, w);
    load_fails(tmp.path / "d", SEQC_ERR_FORMAT, "backbone.layers.2.norm.weight");
    w = weights;
    for (auto& t : w)
      if (t.name == "backbone.embeddings.weight") t.shape = {t.shape[1], t.shape[0]};
    write_hf_dir(tmp.path / "d", cfg, w);
    load_fails(tmp.path / "d", SEQC_ERR_SHAPE, "backbone.embeddings.weight");
  }
  SUBCASE("malformed tokenizer.json") {
    write_file(good / "tokenizer.json", "{\"model\": ");
    load_fails(good, SEQC_ERR_FORMAT, "tokenizer.json");
  }
  SUBCASE("integer weights") {
    write_hf_dir(tmp.path / "d", cfg, weights);
    const std::vector<int32_t> ints(4, 1);
    std::vector<StWriteTensor> st;
    for (const auto& t : weights)
      if (t.name != "backbone.norm_f.weight") st.push_back({t.name, DType::f32, t.shape, t.data.data(), t.data.size() * 4});
    st.push_back({"backbone.norm_f.weight", DType::i32, {4}, ints.data(), 16});
    write_bytes(tmp.path / "d" / "model.safetensors", write_safetensors(st, {}));
    load_fails(tmp.path / "d", SEQC_ERR_DTYPE, "backbone.norm_f.weight");
  }
}

namespace {

struct SnapFixture {
  ModelHandle model{good_model()};
  StreamHandle s{model.m};
  std::vector<unsigned char> blob;
  SnapFixture() {
    for (int32_t t : {1, 2, 3, 4, 5}) REQUIRE(seqc_stream_step_token(s.s, t, nullptr, 0) == SEQC_OK);
    size_t n = 0;
    REQUIRE(seqc_stream_snapshot_size(s.s, &n) == SEQC_OK);
    blob.resize(n);
    REQUIRE(seqc_stream_snapshot(s.s, blob.data(), n, &n) == SEQC_OK);
  }
  std::vector<float> state(seqc_stream* st) const {
    std::vector<float> h(16), c(16);
    REQUIRE(seqc_stream_state_read(st, "rnn.h", h.data(), 64) == SEQC_OK);
    REQUIRE(seqc_stream_state_read(st, "rnn.c", c.data(), 64) == SEQC_OK);
    h.insert(h.end(), c.begin(), c.end());
    return h;
  }
  // Restoring `bytes` into a stream at another position fails with code and
  // changes nothing.
  void expect_refused(const std::vector<unsigned char>& bytes, int code) {
    StreamHandle t(model.m);
    REQUIRE(seqc_stream_step_token(t.s, 7, nullptr, 0) == SEQC_OK);
    const auto before = state(t.s);
    const int rc = seqc_stream_restore(t.s, bytes.data(), bytes.size());
    INFO("message: ", seqc_last_error());
    CHECK(rc == code);
    CHECK(std::strlen(seqc_last_error()) > 0);
    CHECK(seqc_stream_position(t.s) == 1);
    CHECK(state(t.s) == before);
  }
};

void rechecksum(std::vector<unsigned char>& b) {
  const uint64_t sum = XXH3_64bits(b.data(), b.size() - 8);
  std::memcpy(b.data() + b.size() - 8, &sum, 8);
}

}  // namespace

TEST_CASE("bad_input/snapshots") {
  SnapFixture f;
  SUBCASE("the good blob restores") {
    StreamHandle t(f.model.m);
    CHECK(seqc_stream_restore(t.s, f.blob.data(), f.blob.size()) == SEQC_OK);
    CHECK(f.state(t.s) == f.state(f.s.s));
  }
  SUBCASE("another model") {
    auto w = good_tensors();
    w[0].data[0] += 1.0f;  // same architecture, different weights
    ModelHandle other(native_bytes(kGraph, w));
    StreamHandle t(other.m);
    size_t n = 0;
    REQUIRE(seqc_stream_snapshot_size(t.s, &n) == SEQC_OK);
    std::vector<unsigned char> b(n);
    REQUIRE(seqc_stream_snapshot(t.s, b.data(), n, &n) == SEQC_OK);
    f.expect_refused(b, SEQC_ERR_MISMATCH);
  }
  SUBCASE("truncated at every length") {
    for (size_t n = 0; n < f.blob.size(); ++n) {
      StreamHandle t(f.model.m);
      CHECK(seqc_stream_restore(t.s, f.blob.data(), n) == SEQC_ERR_FORMAT);
    }
    f.expect_refused(std::vector<unsigned char>(f.blob.begin(), f.blob.end() - 1), SEQC_ERR_FORMAT);
  }
  SUBCASE("trailing bytes") {
    auto b = f.blob;
    b.push_back(0);
    f.expect_refused(b, SEQC_ERR_FORMAT);
  }
  SUBCASE("bad checksum: every single bit flip past the version is caught") {
    for (size_t i = 12; i < f.blob.size(); ++i) {
      auto b = f.blob;
      b[i] ^= uint8_t(1u << (i % 8));
      StreamHandle t(f.model.m);
      const int rc = seqc_stream_restore(t.s, b.data(), b.size());
      // The total-size field reports truncation first; everything else is the checksum.
      CHECK((rc == SEQC_ERR_CHECKSUM || (i >= 16 && i < 24 && rc == SEQC_ERR_FORMAT)));
    }
    auto b = f.blob;
    b[b.size() / 2] ^= 0x10;
    f.expect_refused(b, SEQC_ERR_CHECKSUM);
  }
  SUBCASE("unknown version") {
    auto b = f.blob;
    b[8] = 2;
    f.expect_refused(b, SEQC_ERR_VERSION);
  }
  SUBCASE("bad magic") {
    auto b = f.blob;
    b[0] = 'X';
    f.expect_refused(b, SEQC_ERR_FORMAT);
  }
  SUBCASE("crafted blobs with valid checksums") {
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 3000; ++trial) {
      auto b = f.blob;
      const int flips = 1 + int(rng() % 4);
      for (int k = 0; k < flips; ++k) b[24 + rng() % (b.size() - 32)] ^= uint8_t(1u << (rng() % 8));
      rechecksum(b);
      StreamHandle t(f.model.m);
      const int rc = seqc_stream_restore(t.s, b.data(), b.size());
      // Payload bits are valid states; header damage must be caught.
      CHECK((rc == SEQC_OK || rc == SEQC_ERR_FORMAT || rc == SEQC_ERR_MISMATCH || rc == SEQC_ERR_UNSUPPORTED));
    }
    auto b = f.blob;
    b[40] = 0xff;  // position becomes negative
    for (int k = 41; k < 48; ++k) b[size_t(k)] = 0xff;
    rechecksum(b);
    f.expect_refused(b, SEQC_ERR_FORMAT);
  }
}

TEST_CASE("bad_input/random_mutations_never_crash") {
  // A deterministic mutation fuzzer over the model loader (the libFuzzer
  // targets in tests/fuzz go further when built with clang).
  const auto good = good_model();
  std::mt19937_64 rng(2024);
  int loaded = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    auto b = good;
    const int edits = 1 + int(rng() % 8);
    for (int k = 0; k < edits; ++k) {
      const size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] = std::byte(rng()); break;
        case 1: b[at] ^= std::byte(1u << (rng() % 8)); break;
        case 2: b.resize(at); break;
        case 3: b[at] = std::byte("{}[]\",:0123456789-e."[rng() % 20]); break;
      }
      if (b.empty()) break;
    }
    seqc_model* m = nullptr;
    const int rc = seqc_model_load_buffer(nullptr, b.data(), b.size(), &m);
    CHECK(rc <= 0);
    CHECK(rc >= SEQC_ERR_INTERNAL);
    CHECK(rc != SEQC_ERR_INTERNAL);
    if (rc == SEQC_OK) {
      ++loaded;
      seqc_stream* s = nullptr;
      REQUIRE(seqc_stream_create(m, &s) == SEQC_OK);
      CHECK(seqc_stream_step_token(s, 1, nullptr, 0) == SEQC_OK);
      seqc_stream_destroy(s);
      seqc_model_unref(m);
    }
  }
  MESSAGE("mutated models that still loaded (weight bytes changed): ", loaded);
}
