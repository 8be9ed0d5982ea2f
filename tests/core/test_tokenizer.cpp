// The tokenizer: Unicode helpers, the hand-written split regexes, BPE on a
// small hand-made tokenizer.json with expectations derived by hand, the
// refusals, long inputs, and every golden made with HF `tokenizers`
// (directories listed in SEQC_TOKENIZER_GOLDENS, see tests/meson.build).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "io/tokenizer.hpp"
#include "io/unicode.hpp"

using namespace seqc;
using nlohmann::json;
using Ids = std::vector<int32_t>;
using Words = std::vector<std::string>;

namespace {

// GPT-2's byte -> character map, written out independently of the library.
std::string byte_char(int b) {
  int n = 0;
  for (int x = 0; x < 256; ++x) {
    const bool printable = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
    const uint32_t cp = printable ? uint32_t(x) : uint32_t(256 + n++);
    if (x == b) {
      std::string s;
      unicode::encode_utf8(cp, s);
      return s;
    }
  }
  return "";
}

// A tokenizer.json whose ids 0..255 are the 256 byte tokens (id = byte) and
// 256.. the merges below, in order.
json tiny_json() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"l", "l"}, {"Ġ", "w"},
      {"o", "r"}, {"l", "d"}, {"Ġw", "or"}, {"Ġwor", "ld"}};
  json m = json::array();
  int id = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = id++;
    m.push_back(json::array({a, b}));
  }
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       json::array({json{{"id", 265}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                         {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false},
                          {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", false},
                 {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab}, {"merges", m}}},
  };
}

std::shared_ptr<const Tokenizer> load(const json& j) { return Tokenizer::from_hf_json(j.dump()); }

Ids enc(const Tokenizer& t, std::string_view s, unsigned flags = 0) {
  Ids out;
  t.encode(s, flags, out);
  return out;
}

std::string dec(const Tokenizer& t, const Ids& ids, unsigned flags = 0) {
  std::string out;
  t.decode(ids.data(), ids.size(), flags, out);
  return out;
}

std::shared_ptr<const Tokenizer> with_pre(const json& pre) {
  json j = tiny_json();
  j["pre_tokenizer"] = pre;
  return load(j);
}

const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* kCl100k =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json split_pre(const char* regex) {
  return {{"type", "Sequence"},
          {"pretokenizers", json::array({json{{"type", "Split"}, {"pattern", {{"Regex", regex}}},
                                              {"behavior", "Isolated"}, {"invert", false}},
                                         json{{"type", "ByteLevel"}, {"add_prefix_space", false},
                                              {"trim_offsets", true}, {"use_regex", false}}})}};
}

Code code_of(const json& j) {
  try {
    load(j);
  } catch (const Error& e) {
    return e.code();
  }
  return Code::ok;
}

// Rust's String::from_utf8_lossy (what HF's decoder does last): each maximal
// invalid subpart becomes one U+FFFD.
std::string lossy(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    const uint32_t cp = unicode::decode_utf8(s, i, len);
    if (cp < unicode::kInvalidBase) {
      out.append(s.substr(i, len));
      i += len;
      continue;
    }
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned c0 = b(i);
    size_t need = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c0 >= 0xC2 && c0 <= 0xDF) need = 1;
    else if (c0 >= 0xE0 && c0 <= 0xEF) need = 2, lo = c0 == 0xE0 ? 0xA0 : 0x80, hi = c0 == 0xED ? 0x9F : 0xBF;
    else if (c0 >= 0xF0 && c0 <= 0xF4) need = 3, lo = c0 == 0xF0 ? 0x90 : 0x80, hi = c0 == 0xF4 ? 0x8F : 0xBF;
    size_t k = 1;
    if (need && i + 1 < s.size() && b(i + 1) >= lo && b(i + 1) <= hi) {
      k = 2;
      while (k <= need && i + k < s.size() && (b(i + k) & 0xC0) == 0x80) ++k;
    }
    out += "\xEF\xBF\xBD";
    i += k;
  }
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("tokenizer/unicode_tables") {
  using unicode::Cat;
  CHECK(std::string(unicode::version()).size() > 0);
  CHECK(unicode::is_letter('a'));
  CHECK(unicode::is_letter(0x00E9));   // é
  CHECK(unicode::is_letter(0x65E5));   // 日
  CHECK(unicode::is_letter(0x02BC));   // ʼ modifier letter apostrophe (Lm)
  CHECK_FALSE(unicode::is_letter(0x0301));  // combining acute (Mn)
  CHECK(unicode::category(0x0301) == Cat::mark);
  CHECK(unicode::is_number('7'));
  CHECK(unicode::is_number(0x0663));   // Arabic-Indic three (Nd)
  CHECK(unicode::is_number(0x00B2));   // superscript two (No)
  CHECK(unicode::is_number(0x216B));   // Roman numeral twelve (Nl)
  CHECK_FALSE(unicode::is_number(0x1F600));
  CHECK(unicode::is_space(0x00A0));
  CHECK(unicode::is_space(0x3000));
  CHECK(unicode::is_space(0x2028));
  CHECK_FALSE(unicode::is_space(0x200B));  // zero width space is not White_Space
  CHECK_FALSE(unicode::is_space(0x1C));    // str.isspace() says yes; White_Space says no
  CHECK(unicode::combining_class(0x0301) == 230);
  CHECK(unicode::combining_class(0x0323) == 220);
  CHECK(unicode::combining_class('a') == 0);
}

TEST_CASE("tokenizer/utf8_decode") {
  size_t len;
  CHECK(unicode::decode_utf8("\xC3\xA9", 0, len) == 0xE9);
  CHECK(len == 2);
  CHECK(unicode::decode_utf8("\xF0\x9F\x98\x80", 0, len) == 0x1F600);
  CHECK(len == 4);
  // overlong, surrogate, truncated, stray continuation: one invalid byte each
  for (std::string bad : {"\xC0\xAF", "\xED\xA0\x80", "\xE6\x97", "\x80", "\xF5\x80\x80\x80", "\xFF"}) {
    CHECK(unicode::decode_utf8(bad, 0, len) == unicode::kInvalidBase + static_cast<unsigned char>(bad[0]));
    CHECK(len == 1);
  }
}

TEST_CASE("tokenizer/nfc") {
  CHECK(unicode::nfc("cafe\xCC\x81") == "caf\xC3\xA9");                 // e + U+0301 -> é
  CHECK(unicode::nfc("\xE2\x84\xAB") == "\xC3\x85");                    // U+212B ANGSTROM SIGN -> Å
  CHECK(unicode::nfc("a\xCC\xA3\xCC\x82") == "\xE1\xBA\xAD");           // a + 0323 + 0302 -> U+1EAD
  CHECK(unicode::nfc("a\xCC\x82\xCC\xA3") == "\xE1\xBA\xAD");           // reordered first
  CHECK(unicode::nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == "\xEA\xB0\x81");  // Hangul L V T -> U+AC01
  CHECK(unicode::nfc("\xE0\xA5\x98") == "\xE0\xA4\x95\xE0\xA4\xBC");    // U+0958 is a composition exclusion
  CHECK(unicode::nfc("\xCD\x84") == "\xCC\x88\xCC\x81");                // U+0344: non-starter decomposition
  CHECK(unicode::nfc("\xC3\x85") == "\xC3\x85");                        // already NFC
  CHECK(unicode::nfc("\xFF" "e\xCC\x81") == "\xFF\xC3\xA9");            // invalid bytes kept
  CHECK(unicode::nfc("e\xFF\xCC\x81") == "e\xFF\xCC\x81");              // and they block composition
  CHECK(unicode::nfc("plain ascii") == "plain ascii");
  // blocked: e + U+0301 (230) + U+0301 (230): only the first composes
  CHECK(unicode::nfc("e\xCC\x81\xCC\x81") == "\xC3\xA9\xCC\x81");
}

TEST_CASE("tokenizer/bytes_identity") {
  auto t = Tokenizer::bytes();
  CHECK(t->kind() == Tokenizer::Kind::bytes);
  CHECK(t->id_limit() == 256);
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  const Ids ids = enc(*t, all);
  REQUIRE(ids.size() == 256);
  for (int b = 0; b < 256; ++b) CHECK(ids[size_t(b)] == b);
  CHECK(dec(*t, ids) == all);
  CHECK(t->token_bytes(65) == "A");
  CHECK(t->token_id("A") == 65);
  CHECK_FALSE(t->token_id("AB").has_value());
  CHECK(enc(*t, "").empty());
}

TEST_CASE("tokenizer/gpt2_split") {
  auto t = load(tiny_json());
  CHECK(t->words("Hello world") == Words{"Hello", " world"});
  CHECK(t->words("Hello  world") == Words{"Hello", " ", " world"});
  CHECK(t->words("a   ") == Words{"a", "   "});
  CHECK(t->words("it's") == Words{"it", "'s"});
  CHECK(t->words("IT'S") == Words{"IT", "'", "S"});  // case-sensitive contractions
  CHECK(t->words("x'sy we'll they're") == Words{"x", "'s", "y", " we", "'ll", " they", "'re"});
  CHECK(t->words("''s") == Words{"''", "s"});
  CHECK(t->words("123abc 45") == Words{"123", "abc", " 45"});
  CHECK(t->words("a\n\nb") == Words{"a", "\n", "\n", "b"});
  CHECK(t->words("a \n b") == Words{"a", " \n", " b"});
  CHECK(t->words("!!! ok?!") == Words{"!!!", " ok", "?!"});
  CHECK(t->words("\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\xF0\x9F\x98\x80 x") ==
        Words{"\xE6\x97\xA5\xE6\x9C\xAC", " \xF0\x9F\x98\x80\xF0\x9F\x98\x80", " x"});
  CHECK(t->words("a\xC2\xA0" "b") == Words{"a", "\xC2\xA0", "b"});  // NBSP is \s but not ' '
  CHECK(t->words("\xFF\xFEx") == Words{"\xFF\xFE", "x"});             // invalid bytes: other
  CHECK(t->words("caf\xC3\xA9 \xD9\xA3\xC2\xB2") == Words{"caf\xC3\xA9", " \xD9\xA3\xC2\xB2"});
  CHECK(t->words("").empty());
  CHECK(t->words("a<|endoftext|> b") == Words{"a", "<|endoftext|>", " b"});
}

TEST_CASE("tokenizer/cl100k_split") {
  auto t = with_pre(split_pre(kCl100k));
  CHECK(t->words("Hello World123456") == Words{"Hello", " World", "123", "456"});
  CHECK(t->words("I'LL we'Re") == Words{"I", "'LL", " we", "'Re"});
  CHECK(t->words("a\r\n\r\nb") == Words{"a", "\r\n\r\n", "b"});
  CHECK(t->words("x !!!\n\ny") == Words{"x", " !!!\n\n", "y"});
  CHECK(t->words("  hello") == Words{" ", " hello"});
  CHECK(t->words("(hello)") == Words{"(hello", ")"});
  CHECK(t->words("a \n  b") == Words{"a", " \n", " ", " b"});
  // Qwen2: cl100k with one digit per number
  const char* qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  CHECK(with_pre(split_pre(qwen2))->words("ab 1234") == Words{"ab", " ", "1", "2", "3", "4"});
  // the GPT-2 regex as a Split step equals ByteLevel's own
  auto g = with_pre(split_pre(kGpt2));
  auto b = load(tiny_json());
  for (const char* s : {"Hello  world", "a \n b", "it's 12 !!", "  x\t\ty  "}) CHECK(g->words(s) == b->words(s));
}

TEST_CASE("tokenizer/bpe_by_hand") {
  auto t = load(tiny_json());
  CHECK(t->kind() == Tokenizer::Kind::bpe);
  CHECK(t->id_limit() == 266);
  // "the": t h e -> (h,e) merges; (t,he) has no rule.
  CHECK(enc(*t, "the") == Ids{116, 257});
  // " the": Ġt first (rank 0), he (rank 1), then Ġt+he (rank 2).
  CHECK(enc(*t, " the") == Ids{258});
  // " world": Ġw, or, ld, then Ġw+or, then Ġwor+ld.
  CHECK(enc(*t, "the world") == Ids{116, 257, 264});
  CHECK(enc(*t, "hello") == Ids{257, 259, 111});
  CHECK(enc(*t, "don't") == Ids{100, 111, 110, 39, 116});
  CHECK(enc(*t, "<|endoftext|>the") == Ids{265, 116, 257});
  CHECK(enc(*t, "<|endoftext|>the", Tokenizer::kSpecialAsText) ==
        Ids{60, 124, 101, 110, 100, 111, 102, 116, 101, 120, 116, 124, 62, 116, 257});
  CHECK(enc(*t, "\xFF\x00", 0) == Ids{255});  // string_view stops at NUL here
  CHECK(enc(*t, std::string("\xFF\x00z", 3)) == Ids{255, 0, 122});
  CHECK(enc(*t, "").empty());
  CHECK(dec(*t, {258, 264}) == " the world");
  CHECK(dec(*t, {265, 116}) == "<|endoftext|>t");
  CHECK(dec(*t, {265, 116}, Tokenizer::kSkipSpecial) == "t");
  CHECK(t->is_special(265));
  CHECK_FALSE(t->is_special(258));
  CHECK(t->token_bytes(258) == " the");
  CHECK(t->token_bytes(32) == " ");
  CHECK(t->token_id("<|endoftext|>") == 265);
  CHECK(t->token_id("Ġthe") == 258);
  CHECK_FALSE(t->token_id("the").has_value());
  // "a" then split UTF-8: the bytes of é are two tokens, each one byte.
  CHECK(enc(*t, "\xC3\xA9") == Ids{0xC3, 0xA9});
  CHECK(t->token_bytes(0xC3) == "\xC3");
}

TEST_CASE("tokenizer/options") {
  SUBCASE("add_prefix_space") {
    json j = tiny_json();
    j["pre_tokenizer"]["add_prefix_space"] = true;
    auto t = load(j);
    CHECK(enc(*t, "the") == Ids{258});
    CHECK(enc(*t, " the") == Ids{258});
    CHECK(enc(*t, "the<|endoftext|>the") == Ids{258, 265, 258});  // per piece between added tokens
    CHECK(enc(*t, "").empty());
  }
  SUBCASE("template_and_legacy_merges") {
    json j = tiny_json();
    json legacy = json::array();
    for (const auto& m : j["model"]["merges"]) legacy.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    j["model"]["merges"] = legacy;
    j["added_tokens"].push_back({{"id", 266}, {"content", "<s>"}, {"special", true}, {"normalized", false}});
    j["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", json::array({json{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                   json{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                           {"pair", json::array()},
                           {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {266}}, {"tokens", {"<s>"}}}}}}};
    auto t = load(j);
    CHECK(enc(*t, " the") == Ids{258});
    CHECK(enc(*t, " the", Tokenizer::kAddSpecial) == Ids{266, 258});
    CHECK(enc(*t, "", Tokenizer::kAddSpecial) == Ids{266});
    CHECK(dec(*t, {266, 258}, Tokenizer::kSkipSpecial) == " the");
  }
  SUBCASE("roberta_processing") {
    json j = tiny_json();
    j["post_processor"] = {{"type", "RobertaProcessing"}, {"cls", {"<|endoftext|>", 265}}, {"sep", {"</s>", 7}},
                           {"trim_offsets", true}, {"add_prefix_space", false}};
    auto t = load(j);
    CHECK(enc(*t, " the", Tokenizer::kAddSpecial) == Ids{265, 258, 7});
    CHECK(enc(*t, " the") == Ids{258});
  }
  SUBCASE("nfc_and_normalized_added_tokens") {
    json j = tiny_json();
    j["normalizer"] = {{"type", "NFC"}};
    // a normalized, non-special added token of two spaces (GPT-NeoX has such)
    j["added_tokens"].push_back({{"id", 266}, {"content", "  "}, {"special", false}, {"normalized", true}});
    auto t = load(j);
    CHECK(t->words("cafe\xCC\x81") == Words{"caf\xC3\xA9"});
    CHECK(enc(*t, "a     b") == Ids{97, 266, 266, 32, 98});
    CHECK(t->token_bytes(266) == "  ");
  }
  SUBCASE("ignore_merges") {
    json j = tiny_json();
    j["model"]["ignore_merges"] = true;
    j["model"]["vocab"]["the"] = 265;  // reachable only as a whole word
    j["added_tokens"][0]["id"] = 266;
    auto t = load(j);
    CHECK(enc(*t, "the") == Ids{265});
    CHECK(enc(*t, " the") == Ids{258});
    CHECK(enc(*t, "<|endoftext|>") == Ids{266});  // added ids follow the vocabulary, as in HF
  }
  SUBCASE("added_token_flags") {
    json j = tiny_json();
    j["added_tokens"].push_back({{"id", 266}, {"content", "<m>"}, {"special", true}, {"normalized", false},
                                 {"lstrip", true}});
    j["added_tokens"].push_back({{"id", 267}, {"content", "<r>"}, {"special", true}, {"normalized", false},
                                 {"rstrip", true}});
    j["added_tokens"].push_back({{"id", 268}, {"content", "[X]"}, {"special", false}, {"normalized", false},
                                 {"single_word", true}});
    auto t = load(j);
    CHECK(t->words("a  <m>b") == Words{"a", "  <m>", "b"});
    CHECK(t->words("a<r>  b") == Words{"a", "<r>  ", "b"});
    CHECK(t->words("a [X] b") == Words{"a", " ", "[X]", " b"});
    CHECK(t->words("a[X] b") == Words{"a", "[", "X", "]", " b"});  // not a single word: text
    CHECK(enc(*t, "a  <m>b") == Ids{97, 266, 98});
  }
}

TEST_CASE("tokenizer/refusals") {
  auto expect = [](json j, Code c) { CHECK(code_of(j) == c); };
  json j = tiny_json();
  expect(j, Code::ok);
  { json k = j; k["normalizer"] = {{"type", "Lowercase"}}; expect(k, Code::unsupported); }
  { json k = j; k["pre_tokenizer"] = {{"type", "Metaspace"}}; expect(k, Code::unsupported); }
  { json k = j; k["pre_tokenizer"] = nullptr; expect(k, Code::unsupported); }
  { json k = j; k["decoder"] = {{"type", "WordPiece"}}; expect(k, Code::unsupported); }
  { json k = j; k["decoder"] = nullptr; expect(k, Code::unsupported); }
  { json k = j; k["model"]["type"] = "WordPiece"; expect(k, Code::unsupported); }
  { json k = j; k["model"]["dropout"] = 0.1; expect(k, Code::unsupported); }
  { json k = j; k["post_processor"] = {{"type", "Weird"}}; expect(k, Code::unsupported); }
  { json k = j; k["pre_tokenizer"] = split_pre("\\w+"); expect(k, Code::unsupported); }
  { json k = j; k["version"] = "2.0"; expect(k, Code::unsupported); }
  { json k = j; k["model"]["merges"].push_back(json::array({"x", "zz"})); expect(k, Code::format); }
  { json k = j; k["model"]["merges"].push_back("a b c"); expect(k, Code::format); }
  { json k = j; k["model"]["merges"].push_back(json::array({"q", "q"})); expect(k, Code::format); }  // qq missing
  { json k = j; k["model"]["vocab"]["x"] = -1; expect(k, Code::format); }
  { json k = j; k["model"]["unk_token"] = "<unk>"; expect(k, Code::format); }
  { json k = j; k.erase("model"); expect(k, Code::format); }
  CHECK_THROWS_AS(Tokenizer::from_hf_json("{"), Error);
  CHECK_THROWS_AS(Tokenizer::from_hf_json("[]"), Error);
  CHECK_THROWS_AS(Tokenizer::from_hf_json(R"({"model": {"vocab": {}, "merges": []}, "model": 1})"), Error);
}

TEST_CASE("tokenizer/round_trip_random_bytes") {
  auto t = load(tiny_json());
  std::mt19937_64 rng(5);
  for (int n = 0; n < 300; ++n) {
    std::string s(size_t(rng() % 64), '\0');
    for (auto& c : s) c = char(rng() % 4 == 0 ? rng() % 256 : " the world\n'sx"[rng() % 14]);
    const Ids ids = enc(*t, s);
    CHECK(dec(*t, ids) == s);
    std::string joined;
    for (int32_t id : ids) joined += t->token_bytes(id);
    CHECK(joined == s);
  }
}

TEST_CASE("tokenizer/long_inputs_are_linear") {
  auto t = load(tiny_json());
  json j = tiny_json();
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = split_pre(kCl100k);
  auto c = load(j);
  std::mt19937_64 rng(9);
  const std::string pieces[] = {"the", " world", " ", "\n", "hello", "'s", "123", "caf\xC3\xA9", "\xE6\x97\xA5",
                                "!!", "<|endoftext|>", "e\xCC\x81", "\t"};
  std::string text;
  while (text.size() < (size_t(1) << 20)) text += pieces[rng() % 13];
  std::string the;
  while (the.size() < (size_t(1) << 20)) the += "the";
  const std::string runs[] = {std::string(size_t(1) << 20, 'a'), std::string(size_t(1) << 20, ' '),
                              std::string(size_t(1) << 20, '!'), the, text};
  for (const auto* tok : {t.get(), c.get()}) {
    for (const std::string& s : runs) {
      const auto t0 = std::chrono::steady_clock::now();
      const Ids ids = enc(*tok, s);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      MESSAGE("1 MiB in ", secs, " s, ", ids.size(), " tokens");
      CHECK(secs < 20.0);
      CHECK(!ids.empty());
      if (tok == t.get()) CHECK(dec(*tok, ids) == s);
    }
  }
}

// Every golden made with HF tokenizers: directories of <name>/tokenizer.json +
// golden.json = [{"text", "ids", "decoded"?, "ids_add_special"?,
// "ids_special_as_text"?, "decoded_skip"?}], and optionally
// decode.json = [{"ids", "decoded", "decoded_skip"}].
TEST_CASE("tokenizer/hf_goldens") {
  const char* env = std::getenv("SEQC_TOKENIZER_GOLDENS");
  if (!env) {
    MESSAGE("SEQC_TOKENIZER_GOLDENS is not set; no goldens checked");
    return;
  }
  size_t dirs = 0, cases = 0;
  std::stringstream list(env);
  std::string root;
  while (std::getline(list, root, ':')) {
    if (root.empty() || !std::filesystem::is_directory(root)) continue;
    std::vector<std::filesystem::path> subdirs;
    for (const auto& e : std::filesystem::directory_iterator(root))
      if (std::filesystem::exists(e.path() / "tokenizer.json") && std::filesystem::exists(e.path() / "golden.json"))
        subdirs.push_back(e.path());
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& d : subdirs) {
      CAPTURE(d.string());
      ++dirs;
      auto t = Tokenizer::from_hf_json(read_file(d / "tokenizer.json"));
      const json gold = json::parse(read_file(d / "golden.json"));
      size_t bad = 0;
      for (const json& g : gold) {
        const std::string text = g["text"].get<std::string>();
        CAPTURE(text);
        ++cases;
        const Ids ids = enc(*t, text);
        const bool ok = ids == g["ids"].get<Ids>();
        if (!ok && ++bad <= 5) CHECK(ids == g["ids"].get<Ids>());
        if (g.contains("ids_add_special")) CHECK(enc(*t, text, Tokenizer::kAddSpecial) == g["ids_add_special"].get<Ids>());
        if (g.contains("ids_special_as_text"))
          CHECK(enc(*t, text, Tokenizer::kSpecialAsText) == g["ids_special_as_text"].get<Ids>());
        const Ids gids = g["ids"].get<Ids>();
        if (g.contains("decoded")) CHECK(lossy(dec(*t, gids)) == g["decoded"].get<std::string>());
        if (g.contains("decoded_skip"))
          CHECK(lossy(dec(*t, gids, Tokenizer::kSkipSpecial)) == g["decoded_skip"].get<std::string>());
      }
      CHECK(bad == 0);
      if (std::filesystem::exists(d / "decode.json")) {
        for (const json& g : json::parse(read_file(d / "decode.json"))) {
          const Ids ids = g["ids"].get<Ids>();
          CAPTURE(g["ids"].dump());
          CHECK(lossy(dec(*t, ids)) == g["decoded"].get<std::string>());
          CHECK(lossy(dec(*t, ids, Tokenizer::kSkipSpecial)) == g["decoded_skip"].get<std::string>());
        }
      }
    }
  }
  MESSAGE(dirs, " golden tokenizers, ", cases, " texts");
  CHECK(dirs > 0);
}
