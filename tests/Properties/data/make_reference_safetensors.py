"""Writes reference.safetensors by hand from the format spec (huggingface/safetensors README), with
struct + json only (the safetensors package is not installed here), the way the Python library lays
files out: tensors ordered by dtype alignment then name, header padded with spaces to 8 bytes,
little-endian data. DataTests reads it back and checks every value.

    python3 tests/Properties/data/make_reference_safetensors.py
"""
import json, math, os, struct

tensors = [  # name, dtype, struct code, shape, values
    ("bias", "F64", "d", [3], [math.pi, -math.e, 1e300]),
    ("labels", "I64", "q", [4], [0, -1, 2**40, 9]),
    ("weight", "F32", "f", [2, 3], [0.5, -1.25, 3.0, 0.001, -0.0, 65504.0]),
    ("scalar", "F32", "f", [], [7.5]),
    ("empty", "F32", "f", [0, 2], []),
]
header, blobs, offset = {"__metadata__": {"format": "pt", "written_by": "python struct+json"}}, [], 0
for name, dtype, fmt, shape, values in tensors:
    blob = struct.pack("<%d%s" % (len(values), fmt), *values)
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
text = json.dumps(header, separators=(",", ":")).encode("utf-8")
text += b" " * (-len(text) % 8)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.safetensors")
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
print("wrote", path, 8 + len(text) + offset, "bytes")
