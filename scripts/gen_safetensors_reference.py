#!/usr/bin/python3
"""Writes tests/data/torch_reference.safetensors from PyTorch tensors, and checks files kiln writes.

kiln's tests load the reference file to prove that kiln reads what the PyTorch ecosystem writes; the `check`
mode proves the converse (PyTorch reads what kiln writes). The `safetensors` package is not needed: the file
is laid out here per the spec (https://github.com/huggingface/safetensors) with json + struct, exactly as the
Python writer does (entries sorted by dtype size descending, then name; header padded with spaces to 8 bytes).

  /usr/bin/python3 scripts/gen_safetensors_reference.py            # regenerate tests/data/torch_reference.safetensors
  KILN_SAFETENSORS_OUT=/tmp/kiln.safetensors build/tests/kiln_tests \\
      --gtest_filter='SerializeTorch.WritesAFileTorchReads'               # kiln re-saves the reference tensors
  /usr/bin/python3 scripts/gen_safetensors_reference.py check /tmp/kiln.safetensors

The expected values below are repeated in tests/io/test_serialize.cpp (TorchReference); change both together.
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {  # safetensors code <-> torch dtype
    "BOOL": torch.bool, "U8": torch.uint8, "I32": torch.int32, "I64": torch.int64,
    "F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64,
}
CODES = {v: k for k, v in DTYPES.items()}
INF, NAN = math.inf, math.nan


def reference_tensors():
    """Tensors of every dtype kiln has, with values chosen to hit edges (extremes, subnormals, inf, nan, -0)."""
    return {
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 1.0,
        "f64": torch.tensor([math.pi, -math.e, 1e300, -0.0, 5e-324], dtype=torch.float64),
        "f16": torch.tensor([1.0, -2.5, 65504.0, 2.0**-14, 2.0**-24, INF, -INF, NAN], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.140625, 3.3895313892515355e38, 2.0**-133, -INF, NAN],
                             dtype=torch.bfloat16),
        "i32": torch.tensor([[-2**31, -1], [0, 2**31 - 1]], dtype=torch.int32),
        "i64": torch.tensor([-2**63, -5, 0, 2**63 - 1], dtype=torch.int64),
        "u8": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
        "mask": torch.tensor([[True, False, True], [False, False, True]]),
        "scalar": torch.tensor(42.0, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        # A non-contiguous source: the writer stores its values in row-major order, [[0, 3], [1, 4], [2, 5]].
        "layer.0.weight_t": torch.arange(6, dtype=torch.float64).reshape(2, 3).t(),
    }


REFERENCE_METADATA = {"format": "pt", "source": "scripts/gen_safetensors_reference.py"}


def tensor_bytes(t):
    # .numpy() has no bfloat16, so go through a same-size integer view for the 16-bit floats.
    t = t.contiguous().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata):
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in items:
        data = tensor_bytes(t)
        header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """Parses and validates a file the way the Rust reader does; returns (tensors, metadata, layout)."""
    with open(path, "rb") as f:
        raw = f.read()
    assert len(raw) >= 8, "file shorter than 8 bytes"
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), f"header length {n} exceeds the file"
    text = raw[8:8 + n].decode("utf-8")
    assert text.startswith("{"), "header must start with '{'"
    header = json.loads(text)
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in metadata.values()), "metadata values must be strings"
    data = raw[8 + n:]
    tensors, layout = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        numel = math.prod(info["shape"])
        elem = torch.tensor([], dtype=dtype).element_size()
        assert end - begin == numel * elem, f"{name}: offsets disagree with shape"
        buf = bytearray(data[begin:end])
        if dtype in (torch.float16, torch.bfloat16):
            t = torch.frombuffer(buf, dtype=torch.int16).view(dtype) if numel else torch.zeros(0, dtype=dtype)
        else:
            t = torch.frombuffer(buf, dtype=dtype) if numel else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
        layout.append((begin, end, name, elem))
    layout.sort()
    covered = 0
    for begin, end, name, elem in layout:
        assert begin == covered, f"{name}: data buffer has a gap or overlap at byte {begin}"
        covered = end
    assert covered == len(data), "trailing bytes after the last tensor"
    return tensors, metadata, layout


def same(a, b):
    """Bit-exact equality, so -0.0 != 0.0 and NaN == NaN."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return tensor_bytes(a) == tensor_bytes(b)


def check(path):
    tensors, metadata, layout = read_safetensors(path)
    expected = reference_tensors()
    assert set(tensors) == set(expected), f"keys differ: {sorted(tensors)} vs {sorted(expected)}"
    for name, t in expected.items():
        assert same(tensors[name], t.contiguous()), f"{name}: got {tensors[name]}, expected {t}"
    assert metadata.get("format") == "kiln", f"metadata format is {metadata.get('format')!r}"
    assert metadata.get("kiln_version"), "metadata lacks kiln_version"
    for begin, _, name, elem in layout:
        assert begin % elem == 0, f"{name}: data at offset {begin} is not aligned to its {elem}-byte elements"
    sizes = [elem for _, _, _, elem in layout]
    assert sizes == sorted(sizes, reverse=True), "entries are not ordered by element size, largest first"
    print(f"OK: {path}: {len(tensors)} tensors equal the reference bit for bit; metadata {metadata}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
        return
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                       "torch_reference.safetensors")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_safetensors(out, reference_tensors(), REFERENCE_METADATA)
    tensors, metadata, _ = read_safetensors(out)  # what we wrote parses, and holds what we meant
    assert metadata == REFERENCE_METADATA
    assert all(same(tensors[k], v.contiguous()) for k, v in reference_tensors().items())
    print(f"wrote {os.path.normpath(out)} ({os.path.getsize(out)} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
