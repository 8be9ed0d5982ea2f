// Byte-level BPE as HuggingFace `tokenizers` does it, step by step:
//   1. added tokens that are not normalized are cut out of the raw text
//      (leftmost-longest, with single_word / lstrip / rstrip);
//   2. each remaining piece is normalized (NFC or nothing), then the
//      normalized added tokens are cut out of it;
//   3. the pre-tokenizer splits each piece into words: Split steps with a
//      known regex, then ByteLevel (optional prefix space, the GPT-2 regex,
//      bytes mapped to printable characters);
//   4. BPE merges each word (lowest merge rank first, leftmost on ties, with
//      HF's priority-queue algorithm so that even odd vocabularies agree);
//   5. the post-processor adds BOS/EOS when asked.
// The regexes are implemented by hand over the Unicode tables of io/unicode.
#include "io/tokenizer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>

#include "core/status.hpp"
#include "io/json_util.hpp"
#include "io/unicode.hpp"

namespace seqc {

using nlohmann::json;

namespace {

constexpr const char* kWhat = "tokenizer.json";
constexpr size_t kMaxVocab = size_t(1) << 24;
constexpr size_t kMaxMerges = size_t(1) << 24;
constexpr size_t kMaxAddedTokens = size_t(1) << 20;
constexpr size_t kMaxTokenBytes = size_t(1) << 16;

// ---------------------------------------------------------------- byte map

// GPT-2's reversible map from bytes to printable characters: the printable
// Latin-1 bytes stand for themselves, the other 68 take U+0100.. in order.
struct ByteMap {
  uint32_t to_cp[256];
  int16_t from_cp[324];
  std::string utf8[256];
  ByteMap() {
    std::fill(std::begin(from_cp), std::end(from_cp), int16_t(-1));
    uint32_t n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_cp[b] = printable ? uint32_t(b) : 256 + n++;
      from_cp[to_cp[b]] = int16_t(b);
      unicode::encode_utf8(to_cp[b], utf8[b]);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

// The ByteLevel decoder: a token whose characters all come from the byte map
// gives those bytes; any other token gives its own UTF-8 unchanged.
std::string byte_level_decode(std::string_view token) {
  const ByteMap& bm = byte_map();
  std::string out;
  for (size_t i = 0; i < token.size();) {
    size_t len;
    const uint32_t cp = unicode::decode_utf8(token, i, len);
    if (cp >= 324 || bm.from_cp[cp] < 0) return std::string(token);
    out += char(bm.from_cp[cp]);
    i += len;
  }
  return out;
}

// ---------------------------------------------------------------- characters

enum : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

uint8_t char_class(uint32_t cp) {
  if (cp < 0x80) {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return kSpace;
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return kLetter;
    if (cp >= '0' && cp <= '9') return kNumber;
    return kOther;
  }
  if (cp >= unicode::kInvalidBase) return kOther;
  if (unicode::is_space(cp)) return kSpace;
  if (unicode::is_letter(cp)) return kLetter;
  if (unicode::is_number(cp)) return kNumber;
  return kOther;
}

// A piece of text as characters: code point, class and byte offset (off has
// one more entry, the end).
struct Chars {
  std::vector<uint32_t> cp;
  std::vector<uint8_t> cls;
  std::vector<uint32_t> off;
  void assign(std::string_view s) {
    cp.clear();
    cls.clear();
    off.clear();
    for (size_t i = 0; i < s.size();) {
      size_t len;
      const uint32_t c = unicode::decode_utf8(s, i, len);
      cp.push_back(c);
      cls.push_back(char_class(c));
      off.push_back(uint32_t(i));
      i += len;
    }
    off.push_back(uint32_t(s.size()));
  }
  size_t size() const { return cp.size(); }
};

// The split regexes this implementation knows, by their exact text.
enum class Regex { gpt2, cl100k, qwen2 };

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kCl100kPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

size_t run_end(const Chars& c, size_t i, uint8_t cls) {
  while (i < c.size() && c.cls[i] == cls) ++i;
  return i;
}

// The whitespace alternatives shared by every pattern: \s+(?!\S)|\s+ at a
// whitespace character i.
size_t match_spaces(const Chars& c, size_t i) {
  const size_t k = run_end(c, i, kSpace);
  if (k == c.size() || k - i == 1) return k - i;
  return k - 1 - i;  // leave the last space to the word after it
}

// 's|'t|'re|'ve|'m|'ll|'d (case-insensitive with fold: 's also matches 'S
// and 'ſ, Unicode case folding).
size_t match_contraction(const Chars& c, size_t i, bool fold) {
  if (c.cp[i] != '\'' || i + 1 >= c.size()) return 0;
  auto is = [&](size_t k, char lower) {
    if (k >= c.size()) return false;
    const uint32_t x = c.cp[k];
    if (x == uint32_t(lower)) return true;
    if (!fold) return false;
    return x == uint32_t(lower - 'a' + 'A') || (lower == 's' && x == 0x17F);
  };
  if (is(i + 1, 's') || is(i + 1, 't') || is(i + 1, 'm') || is(i + 1, 'd')) return 2;
  if ((is(i + 1, 'r') && is(i + 2, 'e')) || (is(i + 1, 'v') && is(i + 2, 'e')) ||
      (is(i + 1, 'l') && is(i + 2, 'l')))
    return 3;
  return 0;
}

// Length in characters of the GPT-2 regex's match at i (always >= 1).
size_t match_gpt2(const Chars& c, size_t i) {
  if (size_t n = match_contraction(c, i, false)) return n;
  const size_t j = (c.cp[i] == ' ' && i + 1 < c.size()) ? i + 1 : i;  // ` ?`
  for (uint8_t cls : {kLetter, kNumber, kOther}) {
    if (j != i && c.cls[j] == cls) return run_end(c, j, cls) - i;
    if (c.cls[i] == cls) return run_end(c, i, cls) - i;
  }
  return match_spaces(c, i);
}

// cl100k (Llama-3) and Qwen2 (one digit per number) patterns.
size_t match_cl100k(const Chars& c, size_t i, size_t max_digits) {
  if (size_t n = match_contraction(c, i, true)) return n;
  const uint32_t x = c.cp[i];
  const uint8_t cls = c.cls[i];
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (cls == kLetter) return run_end(c, i, kLetter) - i;
  if (cls != kNumber && x != '\r' && x != '\n' && i + 1 < c.size() && c.cls[i + 1] == kLetter)
    return run_end(c, i + 1, kLetter) - i;
  // \p{N}{1,max}
  if (cls == kNumber) return std::min(run_end(c, i, kNumber) - i, max_digits);
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  size_t j = i;
  if (x == ' ' && i + 1 < c.size() && c.cls[i + 1] == kOther) j = i + 1;
  if (c.cls[j] == kOther) {
    size_t k = run_end(c, j, kOther);
    while (k < c.size() && (c.cp[k] == '\r' || c.cp[k] == '\n')) ++k;
    return k - i;
  }
  // \s*[\r\n]+ : the whitespace run up to its last line break
  const size_t k = run_end(c, i, kSpace);
  for (size_t p = k; p > i; --p)
    if (c.cp[p - 1] == '\r' || c.cp[p - 1] == '\n') return p - i;
  return match_spaces(c, i);
}

template <class Emit>
void regex_split(std::string_view s, Regex re, Chars& chars, Emit&& emit) {
  chars.assign(s);
  for (size_t i = 0; i < chars.size();) {
    const size_t n = re == Regex::gpt2 ? match_gpt2(chars, i)
                                       : match_cl100k(chars, i, re == Regex::cl100k ? 3 : 1);
    emit(s.substr(chars.off[i], chars.off[i + n] - chars.off[i]));
    i += n;
  }
}

// The last / first character of a string (invalid bytes as themselves).
uint32_t last_char(std::string_view s) {
  size_t b = s.size() - 1;
  for (size_t back = 0; back < 3 && b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80; ++back) --b;
  size_t len;
  const uint32_t cp = unicode::decode_utf8(s, b, len);
  if (b + len == s.size()) return cp;
  return unicode::kInvalidBase + static_cast<unsigned char>(s.back());
}

uint32_t first_char(std::string_view s) {
  size_t len;
  return unicode::decode_utf8(s, 0, len);
}

// ---------------------------------------------------------------- added tokens

struct Added {
  std::string content;  // as in the file
  std::string pattern;  // what is matched: content, normalized if `normalized`
  int32_t id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
  bool operator==(const Added& o) const {
    return content == o.content && single_word == o.single_word && lstrip == o.lstrip && rstrip == o.rstrip &&
           normalized == o.normalized && special == o.special;
  }
};

// Byte trie over patterns: leftmost-longest matching as HF's Aho-Corasick.
class Trie {
 public:
  bool empty() const { return nodes_.size() == 1; }
  void add(std::string_view pat, int32_t value) {
    uint32_t node = 0;
    for (char ch : pat) {
      const uint8_t b = static_cast<uint8_t>(ch);
      auto& next = nodes_[node].next;
      auto it = std::lower_bound(next.begin(), next.end(), b, [](const auto& e, uint8_t v) { return e.first < v; });
      if (it != next.end() && it->first == b) {
        node = it->second;
      } else {
        const uint32_t child = uint32_t(nodes_.size());
        next.insert(it, {b, child});
        nodes_.emplace_back();
        node = child;
      }
    }
    nodes_[node].value = value;
    first_[static_cast<uint8_t>(pat[0])] = true;
  }
  // The longest pattern starting at s[i]: its value and length, or -1.
  int32_t longest(std::string_view s, size_t i, size_t& len) const {
    if (!first_[static_cast<uint8_t>(s[i])]) return -1;
    uint32_t node = 0;
    int32_t best = -1;
    for (size_t j = i; j < s.size(); ++j) {
      const auto& next = nodes_[node].next;
      const uint8_t b = static_cast<uint8_t>(s[j]);
      auto it = std::lower_bound(next.begin(), next.end(), b, [](const auto& e, uint8_t v) { return e.first < v; });
      if (it == next.end() || it->first != b) break;
      node = it->second;
      if (nodes_[node].value >= 0) best = nodes_[node].value, len = j + 1 - i;
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, uint32_t>> next;
    int32_t value = -1;
  };
  std::vector<Node> nodes_{1};
  bool first_[256] = {};
};

// ---------------------------------------------------------------- JSON helpers

[[noreturn]] void bad(const std::string& msg) { fail(Code::format, kWhat, ": ", msg); }
[[noreturn]] void unsupported(const std::string& msg) { fail(Code::unsupported, kWhat, ": ", msg); }

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

bool get_bool(const json& obj, const char* key, bool dflt, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) return dflt;
  if (!v->is_boolean()) bad(where + "." + key + " must be true or false");
  return v->get<bool>();
}

std::string get_type(const json& obj, const std::string& where) {
  if (!obj.is_object()) bad(where + " must be an object or null");
  const json* t = member(obj, "type");
  if (!t || !t->is_string()) bad(where + " needs a string 'type'");
  return t->get<std::string>();
}

std::string get_string(const json& v, const std::string& where) {
  if (!v.is_string()) bad(where + " must be a string");
  std::string s = v.get<std::string>();
  if (s.size() > kMaxTokenBytes) bad(where + " is longer than 64 KiB");
  return s;
}

int32_t get_id(const json& v, const std::string& where) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() >= kMaxVocab)
    bad(where + " must be an integer id in [0, 2^24)");
  return int32_t(v.get<uint64_t>());
}

}  // namespace

// ---------------------------------------------------------------- the BPE tokenizer

struct Tokenizer::Impl {
  // Model.
  std::unordered_map<std::string, int32_t> vocab;
  struct MergeRule {
    uint32_t rank;
    int32_t id;
  };
  std::unordered_map<uint64_t, MergeRule> merges;  // (left id << 32 | right id)
  int32_t byte_id[4][256];                         // [prefix? | suffix? << 1][byte], -1 if none
  int32_t fallback_id[256];                        // "<0xXX>" tokens for byte_fallback
  std::string prefix, suffix;                      // continuing_subword_prefix, end_of_word_suffix
  int32_t unk_id = -1;
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;

  // Added tokens.
  std::vector<Added> added;
  Trie raw_trie, norm_trie;  // values index `added`

  // Normalizer, pre-tokenizer, post-processor.
  bool nfc = false;
  std::vector<Regex> splits;  // Split steps before ByteLevel
  bool add_prefix_space = false, use_regex = true;
  std::vector<int32_t> bos, eos;  // the template's special ids around $A

  // Per-call state.
  struct Scratch {
    Chars chars;
    struct Sym {
      int32_t id;
      int32_t prev, next;
      uint32_t len;
    };
    std::vector<Sym> syms;
    std::unordered_map<std::string, std::pair<uint32_t, uint32_t>> cache;  // word -> ids range
    std::vector<int32_t> cache_ids;
  };

  int32_t lookup(const std::string& s) const {
    auto it = vocab.find(s);
    return it == vocab.end() ? -1 : it->second;
  }

  void parse_model(const json& m);
  void parse_pre_tokenizer(const json& p, bool& have_byte_level, bool top);
  void parse_normalizer(const json& n);
  void parse_decoder(const json& d);
  void parse_post_processor(const json& p, const std::unordered_map<std::string, int32_t>& specials);

  void bpe_word(std::string_view word, Scratch& sc, std::vector<int32_t>& out) const;
  template <class Emit>
  void split_added(std::string_view s, const Trie& trie, bool skip_special, Emit&& emit) const;
  template <class Emit>
  void pre_tokenize(std::string_view piece, size_t step, Scratch& sc, Emit&& emit) const;
  void encode(std::string_view text, unsigned flags, std::vector<int32_t>& out) const;
};

void Tokenizer::Impl::parse_model(const json& m) {
  if (!m.is_object()) bad("'model' must be an object");
  if (const json* t = member(m, "type"); t && *t != "BPE")
    unsupported("model type '" + (t->is_string() ? t->get<std::string>() : t->dump()) +
                "' is not supported; only 'BPE' (byte-level) is");
  if (const json* d = member(m, "dropout")) {
    if (!d->is_number()) bad("model.dropout must be a number or null");
    if (d->get<double>() != 0.0) unsupported("model.dropout (BPE dropout samples at random) is not supported");
  }
  const json* v = member(m, "vocab");
  if (!v || !v->is_object()) bad("model.vocab must be an object of token -> id");
  if (v->size() > kMaxVocab) bad("model.vocab has more than 2^24 entries");
  vocab.reserve(v->size());
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (it.key().size() > kMaxTokenBytes) bad("a vocabulary entry is longer than 64 KiB");
    vocab.emplace(it.key(), get_id(it.value(), "model.vocab['" + it.key() + "']"));
  }
  if (const json* p = member(m, "continuing_subword_prefix")) prefix = get_string(*p, "model.continuing_subword_prefix");
  if (const json* s = member(m, "end_of_word_suffix")) suffix = get_string(*s, "model.end_of_word_suffix");
  fuse_unk = get_bool(m, "fuse_unk", false, "model");
  byte_fallback = get_bool(m, "byte_fallback", false, "model");
  ignore_merges = get_bool(m, "ignore_merges", false, "model");
  if (const json* u = member(m, "unk_token")) {
    const std::string unk = get_string(*u, "model.unk_token");
    unk_id = lookup(unk);
    if (unk_id < 0) bad("model.unk_token '" + unk + "' is not in the vocabulary");
  }

  const json* mg = member(m, "merges");
  if (!mg || !mg->is_array()) bad("model.merges must be a list");
  if (mg->size() > kMaxMerges) bad("model.merges has more than 2^24 entries");
  merges.reserve(mg->size());
  uint32_t rank = 0;
  std::string a, b;
  for (const json& e : *mg) {
    // "a b" (the legacy form, split at its one space) or ["a", "b"].
    if (e.is_string()) {
      const std::string& s = e.get_ref<const std::string&>();
      if (s.rfind("#version", 0) == 0) continue;
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        bad("merge " + std::to_string(rank + 1) + " '" + s + "' is not two tokens separated by one space");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      bad("merge " + std::to_string(rank + 1) + " must be \"a b\" or [\"a\", \"b\"]");
    }
    const int32_t ia = lookup(a), ib = lookup(b);
    if (ia < 0) bad("merge " + std::to_string(rank + 1) + ": '" + a + "' is not in the vocabulary");
    if (ib < 0) bad("merge " + std::to_string(rank + 1) + ": '" + b + "' is not in the vocabulary");
    if (!prefix.empty() && b.compare(0, prefix.size(), prefix) != 0)
      bad("merge " + std::to_string(rank + 1) + ": '" + b + "' does not start with the continuing_subword_prefix");
    const std::string joined = a + b.substr(prefix.size());
    const int32_t ij = lookup(joined);
    if (ij < 0) bad("merge " + std::to_string(rank + 1) + ": '" + joined + "' is not in the vocabulary");
    // A repeated pair keeps its last rank, as HF's map does.
    merges[uint64_t(uint32_t(ia)) << 32 | uint32_t(ib)] = MergeRule{rank, ij};
    ++rank;
  }

  const ByteMap& bm = byte_map();
  for (int v = 0; v < 4; ++v)
    for (int c = 0; c < 256; ++c)
      byte_id[v][c] = lookup((v & 1 ? prefix : "") + bm.utf8[c] + (v & 2 ? suffix : ""));
  for (int c = 0; c < 256; ++c) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", c);
    fallback_id[c] = lookup(name);
  }
}

void Tokenizer::Impl::parse_normalizer(const json& n) {
  if (n.is_null()) return;
  const std::string t = get_type(n, "normalizer");
  if (t == "NFC") {
    nfc = true;
  } else if (t == "Sequence") {
    const json* list = member(n, "normalizers");
    if (!list || !list->is_array()) bad("normalizer.normalizers must be a list");
    for (const json& e : *list) parse_normalizer(e);
  } else {
    unsupported("normalizer '" + t + "' is not supported (only NFC, or none)");
  }
}

void Tokenizer::Impl::parse_pre_tokenizer(const json& p, bool& have_byte_level, bool top) {
  if (p.is_null()) {
    if (top) unsupported("pre_tokenizer is null; only byte-level BPE (a ByteLevel pre-tokenizer) is supported");
    return;
  }
  const std::string t = get_type(p, "pre_tokenizer");
  if (have_byte_level) unsupported("pre_tokenizer '" + t + "' after ByteLevel is not supported");
  if (t == "Sequence") {
    const json* list = member(p, "pretokenizers");
    if (!list || !list->is_array()) bad("pre_tokenizer.pretokenizers must be a list");
    for (const json& e : *list) parse_pre_tokenizer(e, have_byte_level, false);
  } else if (t == "ByteLevel") {
    have_byte_level = true;
    add_prefix_space = get_bool(p, "add_prefix_space", true, "pre_tokenizer");
    use_regex = get_bool(p, "use_regex", true, "pre_tokenizer");
  } else if (t == "Split") {
    const json* pat = member(p, "pattern");
    const json* rx = pat ? member(*pat, "Regex") : nullptr;
    if (!rx || !rx->is_string())
      unsupported("pre_tokenizer Split: only a {\"Regex\": ...} pattern is supported");
    const std::string& r = rx->get_ref<const std::string&>();
    const json* beh = member(p, "behavior");
    if (!beh || *beh != "Isolated")
      unsupported("pre_tokenizer Split: only behavior 'Isolated' is supported");
    if (get_bool(p, "invert", false, "pre_tokenizer Split"))
      unsupported("pre_tokenizer Split: invert is not supported");
    if (r == kGpt2Pattern) splits.push_back(Regex::gpt2);
    else if (r == kCl100kPattern) splits.push_back(Regex::cl100k);
    else if (r == kQwen2Pattern) splits.push_back(Regex::qwen2);
    else
      unsupported("pre_tokenizer Split: the regex '" + r +
                  "' is not one this implementation knows (GPT-2, cl100k/Llama-3, Qwen2)");
  } else {
    unsupported("pre_tokenizer '" + t + "' is not supported (ByteLevel, Split, Sequence)");
  }
}

void Tokenizer::Impl::parse_decoder(const json& d) {
  if (d.is_null()) unsupported("decoder is null; byte-level BPE needs the ByteLevel decoder");
  const std::string t = get_type(d, "decoder");
  if (t == "ByteLevel") return;
  if (t == "Sequence") {
    const json* list = member(d, "decoders");
    if (!list || !list->is_array() || list->size() != 1)
      unsupported("decoder Sequence: only a sequence of one ByteLevel decoder is supported");
    parse_decoder((*list)[0]);
    return;
  }
  unsupported("decoder '" + t + "' is not supported (only ByteLevel)");
}

void Tokenizer::Impl::parse_post_processor(const json& p, const std::unordered_map<std::string, int32_t>& specials) {
  if (p.is_null()) return;
  const std::string t = get_type(p, "post_processor");
  if (t == "ByteLevel") return;  // offsets only
  if (t == "Sequence") {
    const json* list = member(p, "processors");
    if (!list || !list->is_array()) bad("post_processor.processors must be a list");
    for (const json& e : *list) parse_post_processor(e, specials);
    return;
  }
  if (t == "RobertaProcessing" || t == "BertProcessing") {
    // single: cls $A sep
    for (const char* key : {"cls", "sep"}) {
      const json* e = member(p, key);
      if (!e || !e->is_array() || e->size() != 2) bad(std::string("post_processor.") + key + " must be [token, id]");
      (key[0] == 'c' ? bos : eos).push_back(get_id((*e)[1], std::string("post_processor.") + key));
    }
    return;
  }
  if (t == "TemplateProcessing") {
    const json* single = member(p, "single");
    if (!single || !single->is_array()) bad("post_processor.single must be a list");
    const json* sp = member(p, "special_tokens");
    if (sp && !sp->is_object()) bad("post_processor.special_tokens must be an object");
    bool seen_a = false;
    for (const json& item : *single) {
      if (const json* s = member(item, "SpecialToken")) {
        const json* id = member(*s, "id");
        if (!id || !id->is_string()) bad("post_processor: a SpecialToken needs a string 'id'");
        const json* def = sp ? member(*sp, id->get_ref<const std::string&>().c_str()) : nullptr;
        const json* ids = def ? member(*def, "ids") : nullptr;
        if (!ids || !ids->is_array())
          bad("post_processor: special token '" + id->get<std::string>() + "' is not in special_tokens");
        for (const json& x : *ids) (seen_a ? eos : bos).push_back(get_id(x, "post_processor special token id"));
      } else if (const json* s = member(item, "Sequence")) {
        const json* id = member(*s, "id");
        if (!id || *id != "A" || seen_a)
          unsupported("post_processor: the single template may hold the sequence $A once");
        seen_a = true;
      } else {
        bad("post_processor: a template item must be a SpecialToken or a Sequence");
      }
    }
    if (!seen_a) unsupported("post_processor: the single template has no $A");
    (void)specials;
    return;
  }
  unsupported("post_processor '" + t + "' is not supported (ByteLevel, TemplateProcessing, RobertaProcessing, "
              "BertProcessing, Sequence)");
}

// HF BPE::merge_word + Word::merge_all, with a cache of recent words.
void Tokenizer::Impl::bpe_word(std::string_view word, Scratch& sc, std::vector<int32_t>& out) const {
  const bool cacheable = word.size() < 256;
  if (cacheable) {
    auto it = sc.cache.find(std::string(word));
    if (it != sc.cache.end()) {
      out.insert(out.end(), sc.cache_ids.begin() + it->second.first,
                 sc.cache_ids.begin() + it->second.first + it->second.second);
      return;
    }
  }
  const size_t out_start = out.size();
  const ByteMap& bm = byte_map();
  bool done = false;
  if (ignore_merges) {
    std::string mapped;
    for (char ch : word) mapped += bm.utf8[static_cast<uint8_t>(ch)];
    const int32_t id = lookup(mapped);
    if (id >= 0) out.push_back(id), done = true;
  }
  if (!done) {
    auto& syms = sc.syms;
    syms.clear();
    auto add = [&](int32_t id, uint32_t len) {
      const int32_t n = int32_t(syms.size());
      if (n) syms.back().next = n;
      syms.push_back({id, n - 1, -1, len});
    };
    int32_t unk = -1;
    uint32_t unk_len = 0;
    const size_t n = word.size();
    for (size_t k = 0; k < n; ++k) {
      const uint8_t b = static_cast<uint8_t>(word[k]);
      const int v = (k > 0 && !prefix.empty() ? 1 : 0) | (k + 1 == n && !suffix.empty() ? 2 : 0);
      const int32_t id = byte_id[v][b];
      if (id >= 0) {
        if (unk >= 0) add(unk, unk_len), unk = -1;
        add(id, 1);
        continue;
      }
      if (byte_fallback) {
        const std::string s = (v & 1 ? prefix : "") + bm.utf8[b] + (v & 2 ? suffix : "");
        bool all = true;
        for (char ch : s) all = all && fallback_id[static_cast<uint8_t>(ch)] >= 0;
        if (all) {
          for (char ch : s) add(fallback_id[static_cast<uint8_t>(ch)], 1);
          continue;
        }
      }
      if (unk_id >= 0) {
        if (unk >= 0 && fuse_unk) {
          unk_len += 1;
        } else {
          if (unk >= 0) add(unk, unk_len);
          unk = unk_id, unk_len = 1;
        }
      }
      // No unk token: HF drops the character.
    }
    if (unk >= 0) add(unk, unk_len);

    struct Cand {
      uint32_t rank;
      int32_t pos;
      int32_t id;
      bool operator<(const Cand& o) const {  // top = lowest rank, then leftmost
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    auto rule = [&](int32_t a, int32_t b) -> const MergeRule* {
      auto it = merges.find(uint64_t(uint32_t(a)) << 32 | uint32_t(b));
      return it == merges.end() ? nullptr : &it->second;
    };
    std::vector<Cand> heap_storage;
    heap_storage.reserve(syms.size());
    std::priority_queue<Cand> queue(std::less<Cand>(), std::move(heap_storage));
    for (size_t k = 0; k + 1 < syms.size(); ++k)
      if (const MergeRule* r = rule(syms[k].id, syms[k + 1].id)) queue.push({r->rank, int32_t(k), r->id});
    while (!queue.empty()) {
      const Cand top = queue.top();
      queue.pop();
      auto& cur = syms[size_t(top.pos)];
      if (cur.len == 0 || cur.next == -1) continue;
      const size_t next_pos = size_t(cur.next);
      const auto right = syms[next_pos];
      const MergeRule* r = rule(cur.id, right.id);
      if (!r || r->id != top.id) continue;
      cur.id = top.id;
      cur.len += right.len;
      cur.next = right.next;
      syms[next_pos].len = 0;
      if (right.next >= 0) syms[size_t(right.next)].prev = top.pos;
      if (cur.prev >= 0)
        if (const MergeRule* p = rule(syms[size_t(cur.prev)].id, cur.id)) queue.push({p->rank, cur.prev, p->id});
      if (cur.next >= 0)
        if (const MergeRule* q = rule(cur.id, syms[size_t(cur.next)].id)) queue.push({q->rank, top.pos, q->id});
    }
    for (const auto& s : syms)
      if (s.len) out.push_back(s.id);
  }
  if (cacheable && sc.cache.size() < 65536) {
    const uint32_t start = uint32_t(sc.cache_ids.size());
    sc.cache_ids.insert(sc.cache_ids.end(), out.begin() + ptrdiff_t(out_start), out.end());
    sc.cache.emplace(std::string(word), std::pair{start, uint32_t(out.size() - out_start)});
  }
}

// HF AddedVocabulary::find_matches: emit(piece, -1) for text between added
// tokens, emit(piece, id) for an added token.
template <class Emit>
void Tokenizer::Impl::split_added(std::string_view s, const Trie& trie, bool skip_special, Emit&& emit) const {
  if (s.empty()) return;
  if (trie.empty()) {
    emit(s, -1);
    return;
  }
  size_t start_offset = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    const int32_t k = trie.longest(s, i, len);
    if (k < 0) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + len;
    i = stop;  // the next search starts after this match, whatever becomes of it
    const Added& a = added[size_t(k)];
    if (skip_special && a.special) continue;
    if (a.single_word) {
      const bool start_space = start == 0 || !unicode::is_word(last_char(s.substr(0, start)));
      const bool stop_space = stop == s.size() || !unicode::is_word(first_char(s.substr(stop)));
      if (!start_space || !stop_space) continue;
    }
    if (a.lstrip) {
      size_t ns = start;
      while (ns > 0) {
        const std::string_view head = s.substr(0, ns);
        const uint32_t c = last_char(head);
        if (!unicode::is_space(c)) break;
        std::string tmp;
        unicode::encode_utf8(c, tmp);
        ns -= tmp.size();
      }
      start = std::max(ns, start_offset);
    }
    if (a.rstrip) {
      while (stop < s.size()) {
        size_t l;
        const uint32_t c = unicode::decode_utf8(s, stop, l);
        if (!unicode::is_space(c)) break;
        stop += l;
      }
    }
    if (start_offset < start) emit(s.substr(start_offset, start - start_offset), -1);
    emit(s.substr(start, stop - start), a.id);
    start_offset = stop;
  }
  if (start_offset < s.size()) emit(s.substr(start_offset), -1);
}

template <class Emit>
void Tokenizer::Impl::pre_tokenize(std::string_view piece, size_t step, Scratch& sc, Emit&& emit) const {
  if (piece.empty()) return;
  if (step < splits.size()) {
    // Collect first: the split reuses sc.chars, which the next step needs too.
    std::vector<std::string_view> parts;
    regex_split(piece, splits[step], sc.chars, [&](std::string_view p) { parts.push_back(p); });
    for (std::string_view p : parts) pre_tokenize(p, step + 1, sc, emit);
    return;
  }
  std::string prefixed;
  if (add_prefix_space && piece[0] != ' ') {
    prefixed.reserve(piece.size() + 1);
    prefixed += ' ';
    prefixed += piece;
    piece = prefixed;
  }
  if (!use_regex) {
    emit(piece);
    return;
  }
  std::vector<std::string_view> words;
  regex_split(piece, Regex::gpt2, sc.chars, [&](std::string_view w) { words.push_back(w); });
  for (std::string_view w : words) emit(w);
}

void Tokenizer::Impl::encode(std::string_view text, unsigned flags, std::vector<int32_t>& out) const {
  Scratch sc;
  const bool skip_special = flags & kSpecialAsText;
  if (flags & kAddSpecial) out.insert(out.end(), bos.begin(), bos.end());
  auto word = [&](std::string_view w) { bpe_word(w, sc, out); };
  split_added(text, raw_trie, skip_special, [&](std::string_view piece, int32_t id) {
    if (id >= 0) {
      out.push_back(id);
      return;
    }
    std::string normalized;
    if (nfc) {
      bool ascii = true;
      for (char ch : piece) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
      if (!ascii) {
        normalized = unicode::nfc(piece);
        piece = normalized;
      }
    }
    split_added(piece, norm_trie, skip_special, [&](std::string_view p, int32_t id2) {
      if (id2 >= 0) out.push_back(id2);
      else pre_tokenize(p, 0, sc, word);
    });
  });
  if (flags & kAddSpecial) out.insert(out.end(), eos.begin(), eos.end());
}

// ---------------------------------------------------------------- Tokenizer

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::bytes() {
  static const std::shared_ptr<const Tokenizer> t = [] {
    auto p = std::make_shared<Tokenizer>();
    p->kind_ = Kind::bytes;
    for (int b = 0; b < 256; ++b) {
      p->offsets_.push_back(uint32_t(p->bytes_.size()));
      p->bytes_ += char(b);
    }
    p->offsets_.push_back(uint32_t(p->bytes_.size()));
    p->special_.assign(256, 0);
    p->n_tokens_ = 256;
    return std::shared_ptr<const Tokenizer>(std::move(p));
  }();
  return t;
}

std::shared_ptr<const Tokenizer> Tokenizer::from_hf_json(std::string_view text) {
  if (text.size() > kMaxTokenizerJsonBytes)
    fail(Code::format, kWhat, " is ", text.size(), " bytes; the limit is ", kMaxTokenizerJsonBytes);
  const json j = parse_json(text, kWhat);
  if (!j.is_object()) bad("must be a JSON object");
  if (const json* v = member(j, "version"); v && *v != "1.0")
    unsupported("version " + v->dump() + " is not supported (1.0)");

  auto tok = std::make_shared<Tokenizer>();
  tok->kind_ = Kind::bpe;
  tok->impl_ = std::make_unique<Impl>();
  Impl& im = *tok->impl_;

  const json* model = member(j, "model");
  if (!model) bad("has no 'model'");
  im.parse_model(*model);
  im.parse_normalizer(j.contains("normalizer") ? j["normalizer"] : json());
  bool have_byte_level = false;
  im.parse_pre_tokenizer(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), have_byte_level, true);
  if (!have_byte_level)
    unsupported("the pre_tokenizer has no ByteLevel step; only byte-level BPE is supported");
  im.parse_decoder(j.contains("decoder") ? j["decoder"] : json());
  // truncation and padding shape batches; seqcore never truncates or pads.

  // Added tokens, with HF's id assignment: an existing token keeps its id,
  // a new one gets the next id after the vocabulary.
  std::unordered_map<std::string, int32_t> added_ids;  // content -> id
  std::unordered_map<int32_t, size_t> by_id;           // id -> index in im.added
  std::set<std::string> special_contents;
  int64_t next_id = int64_t(im.vocab.size());
  if (const json* at = member(j, "added_tokens")) {
    if (!at->is_array()) bad("added_tokens must be a list");
    if (at->size() > kMaxAddedTokens) bad("added_tokens has more than 2^20 entries");
    for (const json& e : *at) {
      if (!e.is_object()) bad("every added token must be an object");
      const json* c = member(e, "content");
      if (!c) bad("an added token has no 'content'");
      Added a;
      a.content = get_string(*c, "added token content");
      a.special = get_bool(e, "special", false, "added token");
      a.single_word = get_bool(e, "single_word", false, "added token");
      a.lstrip = get_bool(e, "lstrip", false, "added token");
      a.rstrip = get_bool(e, "rstrip", false, "added token");
      a.normalized = get_bool(e, "normalized", !a.special, "added token");
      if (const json* id = member(e, "id")) get_id(*id, "added token id");
      if (a.content.empty()) continue;
      auto known = added_ids.find(a.content);
      if (known != added_ids.end() && im.added[by_id[known->second]] == a) continue;
      int32_t id;
      if (known != added_ids.end()) {
        id = known->second;
      } else if (int32_t v = im.lookup(a.content); v >= 0) {
        id = v;
      } else {
        if (next_id >= int64_t(kMaxVocab)) bad("too many token ids");
        id = int32_t(next_id++);
      }
      a.id = id;
      a.pattern = a.normalized && im.nfc ? unicode::nfc(a.content) : a.content;
      added_ids[a.content] = id;
      if (a.special) special_contents.insert(a.content);
      if (auto it = by_id.find(id); it != by_id.end()) {
        im.added[it->second] = std::move(a);
      } else {
        by_id[id] = im.added.size();
        im.added.push_back(std::move(a));
      }
    }
  }
  // Tries in id order (a pattern shared by two ids: the higher id wins, as
  // in HF's map iteration, which is unordered; such files are refused).
  std::set<std::string> raw_patterns, norm_patterns;
  for (size_t k = 0; k < im.added.size(); ++k) {
    const Added& a = im.added[k];
    auto& seen = a.normalized ? norm_patterns : raw_patterns;
    if (!seen.insert(a.pattern).second) bad("two added tokens match the same text '" + a.pattern + "'");
    (a.normalized ? im.norm_trie : im.raw_trie).add(a.pattern, int32_t(k));
  }
  im.parse_post_processor(j.contains("post_processor") ? j["post_processor"] : json(), added_ids);

  // Every id's bytes: added tokens first (their normalized form), then the
  // vocabulary, through the ByteLevel decoder.
  int64_t limit = 0;
  for (const auto& [s, id] : im.vocab) limit = std::max<int64_t>(limit, int64_t(id) + 1);
  for (const Added& a : im.added) limit = std::max<int64_t>(limit, int64_t(a.id) + 1);
  for (int32_t id : im.bos) limit = std::max<int64_t>(limit, int64_t(id) + 1);
  for (int32_t id : im.eos) limit = std::max<int64_t>(limit, int64_t(id) + 1);
  std::vector<const std::string*> text_of(size_t(limit), nullptr);
  for (const auto& [s, id] : im.vocab) {
    auto& slot = text_of[size_t(id)];
    if (slot && *slot != s) bad("ids " + std::to_string(id) + " is given to both '" + *slot + "' and '" + s + "'");
    slot = &s;
  }
  for (const Added& a : im.added) text_of[size_t(a.id)] = a.normalized && im.nfc ? &a.pattern : &a.content;
  tok->offsets_.reserve(size_t(limit) + 1);
  tok->special_.assign(size_t(limit), 0);
  for (size_t id = 0; id < size_t(limit); ++id) {
    tok->offsets_.push_back(uint32_t(tok->bytes_.size()));
    if (!text_of[id]) continue;
    ++tok->n_tokens_;
    tok->bytes_ += byte_level_decode(*text_of[id]);
    if (tok->bytes_.size() > UINT32_MAX / 2) bad("the vocabulary is too large");
    tok->special_[id] = special_contents.count(*text_of[id]) ? 1 : 0;
  }
  tok->offsets_.push_back(uint32_t(tok->bytes_.size()));
  return tok;
}

void Tokenizer::encode(std::string_view text, unsigned flags, std::vector<int32_t>& out) const {
  if (kind_ == Kind::bytes) {
    for (char c : text) out.push_back(static_cast<unsigned char>(c));
    return;
  }
  impl_->encode(text, flags, out);
}

void Tokenizer::decode(const int32_t* ids, size_t n, unsigned flags, std::string& out) const {
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || int64_t(ids[i]) >= id_limit()) continue;  // no token: nothing, as in HF
    if ((flags & kSkipSpecial) && is_special(ids[i])) continue;
    out += token_bytes(ids[i]);
  }
}

std::vector<std::string> Tokenizer::words(std::string_view text, unsigned flags) const {
  std::vector<std::string> out;
  if (kind_ == Kind::bytes) {
    if (!text.empty()) out.emplace_back(text);
    return out;
  }
  const Impl& im = *impl_;
  Impl::Scratch sc;
  const bool skip_special = flags & kSpecialAsText;
  auto word = [&](std::string_view w) { out.emplace_back(w); };
  im.split_added(text, im.raw_trie, skip_special, [&](std::string_view piece, int32_t id) {
    if (id >= 0) return word(piece);
    const std::string normalized = im.nfc ? unicode::nfc(piece) : std::string(piece);
    im.split_added(normalized, im.norm_trie, skip_special, [&](std::string_view p, int32_t id2) {
      if (id2 >= 0) word(p);
      else im.pre_tokenize(p, 0, sc, word);
    });
  });
  return out;
}

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  if (kind_ == Kind::bytes) {
    if (token.size() == 1) return int32_t(static_cast<unsigned char>(token[0]));
    return std::nullopt;
  }
  for (const Added& a : impl_->added)
    if (a.content == token) return a.id;
  const int32_t id = impl_->lookup(std::string(token));
  if (id >= 0) return id;
  return std::nullopt;
}

std::string Tokenizer::describe_json() const {
  json j = {{"kind", kind_name()}, {"id_limit", id_limit()}, {"tokens", vocab_size()}};
  if (impl_) {
    json sp = json::array();
    for (const Added& a : impl_->added)
      if (a.special) sp.push_back({{"id", a.id}, {"content", a.content}});
    j["special_tokens"] = sp;
    j["merges"] = impl_->merges.size();
    j["normalizer"] = impl_->nfc ? "NFC" : "none";
  }
  return j.dump();
}

}  // namespace seqc
