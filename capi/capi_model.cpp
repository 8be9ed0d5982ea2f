#include <cstdio>
#include <string>
#include <unistd.h>

#include "capi_common.hpp"
#include "io/model_loader.hpp"
#include "io/safetensors.hpp"

using namespace seqc;
using seqc::capi::guarded;
using seqc::capi::require;

namespace {

Ref<Runtime> runtime_or_default(seqc_runtime* rt) {
  return rt ? Ref<Runtime>::share(cpp(rt)) : Runtime::default_cpu();
}

const StateEntry* state_at(const seqc_model* m, size_t i) {
  return (m && i < cpp(m)->states.size()) ? &cpp(m)->states[i] : nullptr;
}

}  // namespace

extern "C" {

int seqc_load_options_create(seqc_load_options** out) {
  return guarded([&] {
    require(out, "out");
    *out = reinterpret_cast<seqc_load_options*>(new LoadOptions);
  });
}

void seqc_load_options_destroy(seqc_load_options* o) { delete reinterpret_cast<LoadOptions*>(o); }

int seqc_load_options_set_weight_dtype(seqc_load_options* o, int32_t dtype) {
  return guarded([&] {
    require(o, "options");
    if (dtype != SEQC_DTYPE_F32 && dtype != SEQC_DTYPE_BF16 && dtype != SEQC_DTYPE_F16)
      fail(Code::dtype, "weight dtype must be SEQC_DTYPE_F32, SEQC_DTYPE_BF16 or SEQC_DTYPE_F16, got ", dtype);
    reinterpret_cast<LoadOptions*>(o)->weight_dtype = DType(dtype);
  });
}

int seqc_model_load_file_with(seqc_runtime* rt, const char* path, const seqc_load_options* opts, seqc_model** out) {
  return guarded([&] {
    require(path, "path");
    require(out, "out");
    const LoadOptions o = opts ? *reinterpret_cast<const LoadOptions*>(opts) : LoadOptions{};
    Ref<Model> m = load_model_path(runtime_or_default(rt), path, o);  // a file or a HuggingFace directory
    *out = c_handle(m.release());
  });
}

int seqc_model_load_buffer_with(seqc_runtime* rt, const void* data, size_t size, const seqc_load_options* opts,
                                seqc_model** out) {
  return guarded([&] {
    require(out, "out");
    if (!data && size) fail(Code::invalid_argument, "data is NULL");
    const LoadOptions o = opts ? *reinterpret_cast<const LoadOptions*>(opts) : LoadOptions{};
    Ref<Model> m = load_model(runtime_or_default(rt), static_cast<const std::byte*>(data), size, o);
    *out = c_handle(m.release());
  });
}

int seqc_model_load_file(seqc_runtime* rt, const char* path, seqc_model** out) {
  return seqc_model_load_file_with(rt, path, nullptr, out);
}

int seqc_model_load_buffer(seqc_runtime* rt, const void* data, size_t size, seqc_model** out) {
  return seqc_model_load_buffer_with(rt, data, size, nullptr, out);
}

int32_t seqc_model_weight_dtype(const seqc_model* m) { return m ? int32_t(cpp(m)->weight_dtype) : -1; }

int seqc_convert(const char* src_path, const char* dst_path) {
  return guarded([&] {
    require(src_path, "src_path");
    require(dst_path, "dst_path");
    const std::vector<std::byte> bytes = convert_path_to_native(src_path);
    const std::string tmp = std::string(dst_path) + ".tmp" + std::to_string(::getpid());
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail(Code::io, "cannot write '", tmp, "'");
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) {
      std::remove(tmp.c_str());
      fail(Code::io, "cannot write '", tmp, "'");
    }
    if (std::rename(tmp.c_str(), dst_path) != 0) {
      std::remove(tmp.c_str());
      fail(Code::io, "cannot rename '", tmp, "' to '", dst_path, "'");
    }
  });
}

seqc_model* seqc_model_ref(seqc_model* m) {
  if (m) cpp(m)->ref();
  return m;
}

void seqc_model_unref(seqc_model* m) {
  if (m) cpp(m)->unref();
}

int32_t seqc_model_input_kind(const seqc_model* m) { return m ? int32_t(cpp(m)->input_kind) : -1; }
int64_t seqc_model_input_width(const seqc_model* m) { return m ? cpp(m)->input_width : -1; }
int64_t seqc_model_output_width(const seqc_model* m) { return m ? cpp(m)->output_width : -1; }
int32_t seqc_model_output_is_logits(const seqc_model* m) { return m && cpp(m)->output_logits ? 1 : 0; }
size_t seqc_model_block_count(const seqc_model* m) { return m ? cpp(m)->graph.blocks.size() : 0; }

const char* seqc_model_block_name(const seqc_model* m, size_t i) {
  return (m && i < cpp(m)->graph.blocks.size()) ? cpp(m)->graph.blocks[i].name.c_str() : nullptr;
}

const char* seqc_model_block_plugin(const seqc_model* m, size_t i) {
  return (m && i < cpp(m)->graph.blocks.size()) ? cpp(m)->graph.blocks[i].plugin->name : nullptr;
}

size_t seqc_model_state_bytes(const seqc_model* m) {
  if (!m) return 0;
  size_t n = 0;
  for (const auto& s : cpp(m)->states) n += s.nbytes;
  return n;
}

size_t seqc_model_weight_bytes(const seqc_model* m) { return m ? cpp(m)->weight_bytes : 0; }

int seqc_model_describe(const seqc_model* m, char* buf, size_t cap, size_t* out_len) {
  return guarded([&] {
    require(m, "model");
    capi::copy_out(cpp(m)->describe(), buf, cap, out_len);
  });
}

size_t seqc_model_state_count(const seqc_model* m) { return m ? cpp(m)->states.size() : 0; }

const char* seqc_model_state_name(const seqc_model* m, size_t i) {
  const StateEntry* s = state_at(m, i);
  return s ? s->name.c_str() : nullptr;
}

int32_t seqc_model_state_dtype(const seqc_model* m, size_t i) {
  const StateEntry* s = state_at(m, i);
  return s ? int32_t(s->dtype) : -1;
}

int32_t seqc_model_state_ndim(const seqc_model* m, size_t i) {
  const StateEntry* s = state_at(m, i);
  return s ? int32_t(s->shape.size()) : -1;
}

int64_t seqc_model_state_dim(const seqc_model* m, size_t i, int32_t axis) {
  const StateEntry* s = state_at(m, i);
  if (!s || axis < 0 || size_t(axis) >= s->shape.size()) return -1;
  return s->shape[size_t(axis)];
}

size_t seqc_model_state_nbytes(const seqc_model* m, size_t i) {
  const StateEntry* s = state_at(m, i);
  return s ? s->nbytes : 0;
}

}  // extern "C"
