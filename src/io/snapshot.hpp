// The snapshot format (docs/snapshot-format.md): a stream's state as a
// self-describing, checksummed, little-endian blob.
#pragma once

#include <cstddef>

#include "core/stream.hpp"

namespace seqc {

inline constexpr char kSnapshotMagic[8] = {'S', 'E', 'Q', 'C', 'S', 'N', 'A', 'P'};
inline constexpr uint32_t kSnapshotVersion = 1;

size_t snapshot_size(const Model& m);
// Writes exactly snapshot_size(model) bytes.
void snapshot_write(const Stream& s, std::byte* dst);
// Validates everything, then overwrites the stream; on any error the stream
// is untouched. Codes: format, version, checksum, mismatch.
void snapshot_restore(Stream& s, const std::byte* data, size_t size);

}  // namespace seqc
