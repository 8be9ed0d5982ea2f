// Driver for the fuzz targets when libFuzzer is not available (gcc builds,
// CI): runs the target on the seed input and on a fixed number of
// deterministic random mutations of it, or on the files named on the command
// line. `--write-seed DIR` writes the seed for a libFuzzer corpus.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fuzz_seeds.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#ifndef SEQC_FUZZ_SEED
#error "define SEQC_FUZZ_SEED as seed_model or seed_snapshot"
#endif

int main(int argc, char** argv) {
  const std::vector<std::byte> seed = seqc::fuzz::SEQC_FUZZ_SEED();
  if (argc == 3 && std::strcmp(argv[1], "--write-seed") == 0) {
    std::ofstream(std::string(argv[2]) + "/seed", std::ios::binary)
        .write(reinterpret_cast<const char*>(seed.data()), std::streamsize(seed.size()));
    return 0;
  }
  long runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(data.data(), data.size());
    ++runs;
  }
  if (argc == 1) {
    std::mt19937_64 rng(123);
    const auto* s = reinterpret_cast<const uint8_t*>(seed.data());
    LLVMFuzzerTestOneInput(s, seed.size());
    for (int trial = 0; trial < 20000; ++trial) {
      std::vector<uint8_t> b(s, s + seed.size());
      const int edits = 1 + int(rng() % 6);
      for (int k = 0; k < edits && !b.empty(); ++k) {
        const size_t at = rng() % b.size();
        switch (rng() % 5) {
          case 0: b[at] = uint8_t(rng()); break;
          case 1: b[at] ^= uint8_t(1u << (rng() % 8)); break;
          case 2: b.resize(at); break;
          case 3: b.insert(b.begin() + long(at), uint8_t(rng())); break;
          case 4: b.erase(b.begin() + long(at)); break;
        }
      }
      LLVMFuzzerTestOneInput(b.data(), b.size());
      ++runs;
    }
  }
  std::printf("%ld inputs, no crash\n", runs);
  return 0;
}
