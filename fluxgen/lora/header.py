"""Read a safetensors header without loading any tensor: 8 bytes little-endian length, then JSON.

Reading only the header keeps inspection instant for multi-gigabyte files and needs neither torch nor
the `safetensors` package.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

from fluxgen.errors import UserError

# The safetensors format itself refuses headers above 100 MB.
MAX_HEADER_BYTES = 100_000_000
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8,
}


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class SafetensorsHeader:
    path: Path
    size_bytes: int
    data_start: int
    tensors: dict[str, TensorEntry]
    metadata: dict[str, str]


def read_header(path: Path) -> SafetensorsHeader:
    """Parse and check the header; every way a file can be unreadable is one `UserError` line."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the path of a .safetensors file")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise UserError(f"{path}: not a safetensors file ({size} bytes, too short for a header)")
            (length,) = struct.unpack("<Q", prefix)
            if length < 2 or length > MAX_HEADER_BYTES:
                raise UserError(f"{path}: not a safetensors file (no valid header length in its first 8 bytes)")
            if 8 + length > size:
                raise UserError(
                    f"{path}: truncated safetensors header ({size - 8} of {length} bytes present); "
                    "copy or download the file again"
                )
            raw = fh.read(length)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError(f"{path}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise UserError(f"{path}: not a safetensors file (its header is not a JSON object)")
    metadata = _metadata(path, header.pop("__metadata__", None))
    tensors = {name: _entry(path, name, spec) for name, spec in header.items()}
    data_len = max((t.end for t in tensors.values()), default=0)
    if 8 + length + data_len > size:
        raise UserError(
            f"{path}: truncated: the header describes {data_len} bytes of tensor data but only "
            f"{size - 8 - length} are present; copy or download the file again"
        )
    return SafetensorsHeader(path, size, 8 + length, tensors, metadata)


def _metadata(path: Path, raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"{path}: malformed safetensors header (__metadata__ is not an object)")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def _entry(path: Path, name: str, spec: object) -> TensorEntry:
    bad = UserError(f"{path}: malformed safetensors header (tensor '{name}')")
    if not isinstance(spec, dict):
        raise bad
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    ints = (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)
            and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets))
    if not isinstance(dtype, str) or not ints or not 0 <= offsets[0] <= offsets[1]:
        raise bad
    entry = TensorEntry(name, dtype, tuple(shape), offsets[0], offsets[1])
    item = DTYPE_SIZES.get(dtype)
    if item is not None and entry.numel * item != entry.end - entry.start:
        raise bad
    return entry


def read_scalars(header: SafetensorsHeader, entries: list[TensorEntry]) -> dict[str, float]:
    """Values of one-element float tensors (kohya's `.alpha`), read by seeking: a few bytes each."""
    out: dict[str, float] = {}
    with header.path.open("rb") as fh:
        for entry in entries:
            if entry.numel != 1:
                continue
            fh.seek(header.data_start + entry.start)
            value = _decode(entry.dtype, fh.read(entry.end - entry.start))
            if value is not None:
                out[entry.name] = value
    return out


def _decode(dtype: str, raw: bytes) -> float | None:
    formats = {"F16": "<e", "F32": "<f", "F64": "<d", "I32": "<i", "I64": "<q", "U8": "<B", "I8": "<b"}
    if dtype == "BF16" and len(raw) == 2:
        return struct.unpack("<f", b"\x00\x00" + raw)[0]
    fmt = formats.get(dtype)
    if fmt is None or struct.calcsize(fmt) != len(raw):
        return None
    return float(struct.unpack(fmt, raw)[0])
