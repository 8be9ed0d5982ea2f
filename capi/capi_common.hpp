// The boundary between the C ABI and the C++ core: handle casts, and the one
// try/catch every entry point runs in, so that no exception crosses the ABI.
#pragma once

#include <new>
#include <string>

#include "core/model.hpp"
#include "core/runtime.hpp"
#include "core/status.hpp"
#include "core/stream.hpp"
#include "seqcore/seqcore.h"

// The opaque C handles are the C++ objects themselves.
inline seqc::Runtime* cpp(seqc_runtime* p) { return reinterpret_cast<seqc::Runtime*>(p); }
inline const seqc::Runtime* cpp(const seqc_runtime* p) { return reinterpret_cast<const seqc::Runtime*>(p); }
inline seqc::Model* cpp(seqc_model* p) { return reinterpret_cast<seqc::Model*>(p); }
inline const seqc::Model* cpp(const seqc_model* p) { return reinterpret_cast<const seqc::Model*>(p); }
inline seqc::Stream* cpp(seqc_stream* p) { return reinterpret_cast<seqc::Stream*>(p); }
inline const seqc::Stream* cpp(const seqc_stream* p) { return reinterpret_cast<const seqc::Stream*>(p); }
inline seqc_runtime* c_handle(seqc::Runtime* p) { return reinterpret_cast<seqc_runtime*>(p); }
inline seqc_model* c_handle(seqc::Model* p) { return reinterpret_cast<seqc_model*>(p); }
inline seqc_stream* c_handle(seqc::Stream* p) { return reinterpret_cast<seqc_stream*>(p); }

namespace seqc::capi {

void clear_error() noexcept;
int set_error(Code code, const char* message) noexcept;

// Runs body; returns SEQC_OK or the status of what it threw, with the message
// stored for seqc_last_error(). Nothing escapes.
template <class Body>
int guarded(Body&& body) noexcept {
  try {
    clear_error();
    body();
    return SEQC_OK;
  } catch (const Error& e) {
    return set_error(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(Code::out_of_memory, "out of memory");
  } catch (const std::exception& e) {
    return set_error(Code::internal, e.what());
  } catch (...) {
    return set_error(Code::internal, "unknown exception");
  }
}

// Two-call pattern for text results: *out_len = bytes needed with the NUL;
// Code::buffer_too_small when cap is short (out_len is still set).
void copy_out(const std::string& text, char* buf, size_t cap, size_t* out_len);

template <class T>
T* require(T* p, const char* what) {
  if (!p) fail(Code::invalid_argument, what, " is NULL");
  return p;
}

}  // namespace seqc::capi
