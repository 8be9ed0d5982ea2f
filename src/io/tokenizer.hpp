// Text to token ids and back: the identity over bytes for byte-level models,
// and HuggingFace `tokenizers`' byte-level BPE (GPT-2, GPT-NeoX, Mamba,
// Llama-3 style) read from a tokenizer.json. Encoding equals HF's exactly for
// every supported configuration; anything else is refused at load with a
// message naming it (docs/tokenizer.md). Immutable after construction and
// shared by any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seqc {

// Largest tokenizer.json accepted (the largest public ones are ~35 MB).
inline constexpr size_t kMaxTokenizerJsonBytes = size_t(64) << 20;

class Tokenizer {
 public:
  enum class Kind : int { bytes = 1, bpe = 2 };  // values equal seqc_tokenizer_kind

  // Flags, equal to seqc_tokenize_flags / seqc_detokenize_flags.
  static constexpr unsigned kAddSpecial = 1;     // post-processor's BOS/EOS (HF add_special_tokens)
  static constexpr unsigned kSpecialAsText = 2;  // special added tokens are not matched (HF encode_special_tokens)
  static constexpr unsigned kSkipSpecial = 1;    // decode: leave special tokens out

  // Token id = byte value, 256 ids.
  static std::shared_ptr<const Tokenizer> bytes();
  // Parses and validates an HF tokenizer.json. Throws Code::format for
  // malformed JSON or inconsistent content (a merge naming a token that is not
  // in the vocabulary), Code::unsupported for a valid configuration this
  // implementation does not cover.
  static std::shared_ptr<const Tokenizer> from_hf_json(std::string_view json_text);

  Kind kind() const { return kind_; }
  const char* kind_name() const { return kind_ == Kind::bytes ? "bytes" : "bpe"; }
  // Every id encode() returns is below this; ids below it without a token
  // decode to nothing (as in HF).
  int64_t id_limit() const { return int64_t(offsets_.size()) - 1; }
  size_t vocab_size() const { return n_tokens_; }  // ids that have a token

  // Appends the ids of text (any bytes: invalid UTF-8 is encoded byte by byte).
  void encode(std::string_view text, unsigned flags, std::vector<int32_t>& out) const;
  // The bytes of one token as the ByteLevel decoder gives them (possibly an
  // incomplete UTF-8 sequence); "" for an id without a token. id must be in
  // [0, id_limit()).
  std::string_view token_bytes(int32_t id) const {
    return std::string_view(bytes_).substr(offsets_[size_t(id)], offsets_[size_t(id) + 1] - offsets_[size_t(id)]);
  }
  bool is_special(int32_t id) const { return special_[size_t(id)] != 0; }
  // Appends the bytes of ids (an id without a token adds nothing).
  void decode(const int32_t* ids, size_t n, unsigned flags, std::string& out) const;
  // The id of a token given as an added token's content or a vocabulary entry
  // (for the bytes tokenizer, a one-byte string).
  std::optional<int32_t> token_id(std::string_view token) const;
  // The words BPE sees (after added tokens, normalizer and pre-tokenizer),
  // as raw bytes; added tokens appear as their content. For tests.
  std::vector<std::string> words(std::string_view text, unsigned flags = 0) const;
  // Summary for seqc_model_describe: kind, sizes, special tokens.
  std::string describe_json() const;

  struct Impl;  // the BPE machinery (tokenizer.cpp)
  ~Tokenizer();
  Tokenizer();

 private:
  Kind kind_ = Kind::bytes;
  std::string bytes_;              // decoded bytes of every id, concatenated
  std::vector<uint32_t> offsets_;  // id -> [offsets_[id], offsets_[id+1]) in bytes_
  std::vector<uint8_t> special_;   // id -> 1 if a special added token
  size_t n_tokens_ = 0;
  std::unique_ptr<Impl> impl_;     // null for bytes
};

}  // namespace seqc
