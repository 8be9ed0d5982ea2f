// Minimal .npy reading and writing for the command-line tool: C-order arrays
// of float32/float64/int32/int64 in, float32 out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace npy {

struct Array {
  std::vector<int64_t> shape;
  bool is_float = true;
  std::vector<float> f;    // when is_float
  std::vector<int32_t> i;  // otherwise
};

// Throws std::runtime_error with a message naming the file.
Array load(const std::string& path);
void save_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace npy
