#!/usr/bin/env python3
"""Read and write safetensors files with numpy only (no torch).

Format (https://github.com/huggingface/safetensors):

    bytes 0..8        u64 little-endian N, the length of the JSON header
    bytes 8..8+N      JSON object, UTF-8, padded with trailing spaces
    bytes 8+N..end    tensor data, little-endian, C order

Each header key except "__metadata__" names a tensor:
``{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`` with offsets relative
to the start of the data section. "__metadata__", if present, maps str to str.

What `save` writes:
  * N is a multiple of 8 (the header is padded with spaces), so the data section starts
    8-aligned;
  * tensors are laid out back to back with no holes, ordered by element size (largest
    first) and then by name, as the reference implementation does, so every tensor is
    aligned to its element size;
  * the header is compact JSON with keys in that same order, "__metadata__" first.

Supported dtypes: F64 F32 F16 BF16 I64 I32 I8 U8 BOOL. numpy has no bfloat16: wrap float32
data with `bf16(x)` (round to nearest even) to store BF16; `load` returns BF16 tensors as
float32 (exact, since every bfloat16 value is a float32 value).

`load` validates the file as strictly as libseqcore's reader does (see
docs/model-format.md) and raises ValueError on any violation.

    import safetensors_np as st
    st.save("x.safetensors", {"w": np.ones((2, 3), np.float32), "b": st.bf16(v)},
            metadata={"k": "v"})
    tensors, metadata = st.load("x.safetensors")
"""

import json
import struct

import numpy as np

__all__ = ["BF16", "bf16", "save", "save_bytes", "load", "load_bytes", "DTYPES"]

# safetensors dtype name -> numpy dtype as stored (little-endian)
DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits; see BF16 / bf16()
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_FROM_NUMPY = {np.dtype(v).newbyteorder("<") if v.kind != "b" else v: k
               for k, v in DTYPES.items() if k != "BF16"}

MAX_HEADER = 100 * 1024 * 1024  # the same limit libseqcore applies


class BF16:
    """A bfloat16 tensor: `bits` is a uint16 array holding the raw values."""

    __slots__ = ("bits",)

    def __init__(self, bits):
        bits = np.asarray(bits)
        if bits.dtype != np.uint16:
            raise TypeError("BF16 bits must be a uint16 array")
        self.bits = bits

    @property
    def shape(self):
        return self.bits.shape

    def to_f32(self):
        """The values as a float32 array (exact)."""
        return _bf16_bits_to_f32(self.bits)

    def __repr__(self):
        return "BF16(shape=%r)" % (self.bits.shape,)


def bf16(x):
    """Round a float array to bfloat16 (nearest, ties to even); returns a BF16 wrapper.

    NaN stays NaN (quiet), infinities stay infinite, and finite values too large for
    bfloat16 round to infinity, as IEEE rounding requires."""
    f = np.asarray(x, dtype=np.float32)
    flat = f.reshape(-1)
    u = flat.view(np.uint32)
    # finite values cannot overflow uint32 here (max 0xFF7FFFFF + 0x8000); NaNs may, and
    # are overwritten below
    with np.errstate(over="ignore"):
        rounded = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))
                   >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(flat)
    if nan.any():
        rounded[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x0040)).astype(np.uint16)
    rounded = rounded.reshape(f.shape)
    return BF16(rounded)


def _bf16_bits_to_f32(bits):
    b = np.asarray(bits, dtype=np.uint16)
    return (b.reshape(-1).astype(np.uint32) << np.uint32(16)).view(np.float32).reshape(b.shape)


def _as_stored(name, value):
    """(dtype name, contiguous little-endian array) for one tensor."""
    if isinstance(value, BF16):
        return "BF16", value.bits.astype("<u2", order="C", copy=False)
    a = np.asarray(value)
    key = a.dtype if a.dtype.kind == "b" else a.dtype.newbyteorder("<")
    if key not in _FROM_NUMPY:
        raise TypeError("tensor %r: unsupported dtype %s (use F64 F32 F16 I64 I32 I8 U8 "
                        "BOOL, or bf16() for BF16)" % (name, a.dtype))
    # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
    return _FROM_NUMPY[key], a.astype(key, order="C", copy=False)


def save_bytes(tensors, metadata=None):
    """Serialise {name: array or BF16} (+ optional {str: str} metadata) to bytes."""
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("metadata must map str to str")
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError("invalid tensor name %r" % (name,))
        dtype, arr = _as_stored(name, value)
        entries.append((name, dtype, arr))
    entries.sort(key=lambda e: (-DTYPES[e[1]].itemsize, e[0]))

    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, dtype, arr in entries:
        header[name] = {"dtype": dtype, "shape": [int(d) for d in arr.shape],
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    parts = [struct.pack("<Q", len(hjson)), hjson]
    parts += [arr.tobytes(order="C") for _, _, arr in entries]
    return b"".join(parts)


def save(path, tensors, metadata=None):
    """Write {name: array or BF16} (+ optional {str: str} metadata) to a file."""
    data = save_bytes(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r in safetensors header" % (k,))
        d[k] = v
    return d


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def load_bytes(data):
    """Parse safetensors bytes; returns ({name: np.ndarray}, {str: str} metadata).

    Arrays are copies in native byte order; BF16 comes back as float32."""
    data = memoryview(data).cast("B")
    if len(data) < 8:
        raise ValueError("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or n > MAX_HEADER:
        raise ValueError("header length %d exceeds the file or the 100 MiB limit" % n)
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"),
                            object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as e:
        raise ValueError("header is not UTF-8: %s" % e)
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    body = data[8 + n:]

    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ must map strings to strings")

    tensors, ranges = {}, []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise ValueError("tensor %r: entry must have exactly dtype, shape, data_offsets"
                             % name)
        dtype, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dtype not in DTYPES:
            raise ValueError("tensor %r: unknown dtype %r" % (name, dtype))
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(_is_int(d) and d >= 0 for d in shape)):
            raise ValueError("tensor %r: bad shape %r" % (name, shape))
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(_is_int(o) for o in offs)
                or not 0 <= offs[0] <= offs[1] <= len(body)):
            raise ValueError("tensor %r: bad data_offsets %r" % (name, offs))
        count = 1
        for d in shape:
            count *= d
        if offs[1] - offs[0] != count * DTYPES[dtype].itemsize:
            raise ValueError("tensor %r: data_offsets %r do not match shape %r and dtype %s"
                             % (name, offs, shape, dtype))
        arr = np.frombuffer(body[offs[0]:offs[1]], dtype=DTYPES[dtype]).reshape(shape)
        if dtype == "BF16":
            arr = _bf16_bits_to_f32(arr)
        else:
            arr = arr.astype(DTYPES[dtype].newbyteorder("="), copy=True)
        tensors[name] = arr
        ranges.append((offs[0], offs[1], name))

    pos = 0
    for begin, end, name in sorted(ranges):
        if begin != pos:
            raise ValueError("tensor %r: data %s at byte %d (expected %d)"
                             % (name, "overlaps" if begin < pos else "leaves a hole",
                                begin, pos))
        pos = end
    if pos != len(body):
        raise ValueError("data section has %d bytes after the last tensor"
                         % (len(body) - pos))
    return tensors, metadata


def load(path):
    """Read a safetensors file; returns ({name: np.ndarray}, {str: str} metadata)."""
    with open(path, "rb") as f:
        return load_bytes(f.read())
