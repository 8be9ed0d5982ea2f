// Tokenizer entry points: text <-> token ids with the model's tokenizer.
#include <cstring>
#include <string>
#include <vector>

#include "capi_common.hpp"
#include "io/tokenizer.hpp"

using namespace seqc;
using seqc::capi::guarded;
using seqc::capi::require;

namespace {

const Tokenizer& tokenizer_of(const seqc_model* m) {
  require(m, "model");
  const Model* model = cpp(m);
  if (!model->tok) fail(Code::unsupported, "this model has no tokenizer (its graph declares none)");
  return *model->tok;
}

void check_id(const seqc_model* m, int32_t id) {
  const int64_t vocab = cpp(m)->input_width;
  if (id < 0 || int64_t(id) >= vocab)
    fail(Code::invalid_argument, "token id ", id, " is outside the vocabulary [0, ", vocab, ")");
}

// Raw bytes out, two-call: *len = byte count (no NUL); a NUL follows when
// there is room.
void bytes_out(std::string_view bytes, char* buf, size_t cap, size_t* len) {
  if (bytes.size() > cap) {
    *len = bytes.size();
    fail(Code::buffer_too_small, "the result is ", bytes.size(), " bytes; the buffer holds ", cap);
  }
  if (!bytes.empty()) std::memcpy(buf, bytes.data(), bytes.size());
  if (bytes.size() < cap) buf[bytes.size()] = '\0';
  *len = bytes.size();
}

}  // namespace

extern "C" {

int32_t seqc_model_tokenizer_kind(const seqc_model* m) {
  if (!m) return -1;
  const Model* model = cpp(m);
  return model->tok ? int32_t(model->tok->kind()) : SEQC_TOKENIZER_NONE;
}

int seqc_model_tokenize(const seqc_model* m, const char* text, size_t len, uint32_t flags, int32_t* ids,
                        size_t cap, size_t* n_ids) {
  return guarded([&] {
    const Tokenizer& tok = tokenizer_of(m);
    require(n_ids, "n_ids");
    if (!text && len) fail(Code::invalid_argument, "text is NULL");
    if (!ids && cap) fail(Code::invalid_argument, "ids is NULL but cap is ", cap);
    if (flags & ~uint32_t(SEQC_TOKENIZE_ADD_SPECIAL | SEQC_TOKENIZE_SPECIAL_AS_TEXT))
      fail(Code::invalid_argument, "unknown tokenize flags 0x", std::hex, flags);
    std::vector<int32_t> out;
    tok.encode(std::string_view(text ? text : "", len), flags, out);
    if (out.size() > cap) {
      *n_ids = out.size();
      fail(Code::buffer_too_small, "the text is ", out.size(), " tokens; the buffer holds ", cap);
    }
    if (!out.empty()) std::memcpy(ids, out.data(), out.size() * sizeof(int32_t));
    *n_ids = out.size();
  });
}

int seqc_model_detokenize(const seqc_model* m, const int32_t* ids, size_t n, uint32_t flags, char* buf, size_t cap,
                          size_t* len) {
  return guarded([&] {
    const Tokenizer& tok = tokenizer_of(m);
    require(len, "len");
    if (!ids && n) fail(Code::invalid_argument, "ids is NULL");
    if (!buf && cap) fail(Code::invalid_argument, "buf is NULL but cap is ", cap);
    if (flags & ~uint32_t(SEQC_DETOKENIZE_SKIP_SPECIAL))
      fail(Code::invalid_argument, "unknown detokenize flags 0x", std::hex, flags);
    for (size_t i = 0; i < n; ++i) check_id(m, ids[i]);
    std::string out;
    tok.decode(ids, n, flags, out);
    bytes_out(out, buf, cap, len);
  });
}

int seqc_model_token_bytes(const seqc_model* m, int32_t id, uint32_t flags, char* buf, size_t cap, size_t* len) {
  return guarded([&] {
    const Tokenizer& tok = tokenizer_of(m);
    require(len, "len");
    if (!buf && cap) fail(Code::invalid_argument, "buf is NULL but cap is ", cap);
    if (flags & ~uint32_t(SEQC_DETOKENIZE_SKIP_SPECIAL))
      fail(Code::invalid_argument, "unknown detokenize flags 0x", std::hex, flags);
    check_id(m, id);
    std::string_view bytes;
    if (int64_t(id) < tok.id_limit() && !((flags & SEQC_DETOKENIZE_SKIP_SPECIAL) && tok.is_special(id)))
      bytes = tok.token_bytes(id);
    bytes_out(bytes, buf, cap, len);
  });
}

int seqc_model_token_id(const seqc_model* m, const char* token, size_t len, int32_t* id) {
  return guarded([&] {
    const Tokenizer& tok = tokenizer_of(m);
    require(id, "id");
    if (!token && len) fail(Code::invalid_argument, "token is NULL");
    const auto found = tok.token_id(std::string_view(token ? token : "", len));
    if (!found) fail(Code::not_found, "no token '", std::string(token ? token : "", len), "' in the tokenizer");
    *id = *found;
  });
}

}  // extern "C"
