// A validating safetensors reader over bytes in memory (a mapped file or a
// caller buffer). parse() checks every header field, dtype, shape, offset and
// size, and the layout of the data section, before anything is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.hpp"

namespace seqc {

inline constexpr size_t kMaxSafetensorsHeader = size_t(100) << 20;  // 100 MiB
inline constexpr int kMaxTensorRank = 8;

struct StTensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;  // within the parsed bytes; no alignment promised
  size_t nbytes = 0;
  int64_t numel() const;
};

class Safetensors {
 public:
  // Throws Code::format (structure) or Code::dtype (unknown dtype name).
  static Safetensors parse(const std::byte* data, size_t size);

  const std::vector<StTensor>& tensors() const { return tensors_; }  // sorted by name
  const StTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::vector<StTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A read-only memory map of a whole file (or a read into memory where mmap is
// not possible). Throws Code::io.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<std::byte> copy_;
};

// Writes a safetensors file image: tensors (any order; written sorted by name,
// back to back) and string metadata. The header is padded to 8 bytes.
struct StWriteTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
  size_t nbytes;
};
std::vector<std::byte> write_safetensors(const std::vector<StWriteTensor>& tensors,
                                         const std::map<std::string, std::string>& metadata);

}  // namespace seqc
