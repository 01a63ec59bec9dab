"""Image-making fixtures for the dataset tests: every test builds the files it checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# A minimal ISO-media header with an HEIC brand: enough for format sniffing, not a decodable picture.
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def picture(seed: int, size: tuple[int, int] = (96, 96), mode: str = "RGB") -> Image.Image:
    """Smooth random colour fields: distinct per seed, so hashes differ, and small to encode."""
    rng = np.random.default_rng(seed)
    coarse = (rng.random((5, 5, 3)) * 255).astype("uint8")
    im = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    return im if mode == "RGB" else im.convert(mode)


def save(im: Image.Image, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, **kwargs)
    return path


def rotated_jpeg(path: Path, orientation: int = 6, size: tuple[int, int] = (120, 80), seed: int = 7) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(picture(seed, size), path, exif=exif.tobytes(), quality=95)


def transparent_png(path: Path, size: tuple[int, int] = (96, 96), seed: int = 3) -> Path:
    """Left half opaque, right half fully transparent."""
    im = picture(seed, size).convert("RGBA")
    alpha = Image.new("L", size, 255)
    alpha.paste(0, (size[0] // 2, 0, size[0], size[1]))
    im.putalpha(alpha)
    return save(im, path)


def sixteen_bit_png(path: Path, value: int = 30000, size: tuple[int, int] = (96, 96)) -> Path:
    arr = np.full((size[1], size[0]), value, dtype=np.uint16)
    arr[:, : size[0] // 2] = value // 2
    return save(Image.fromarray(arr), path)


def truncated_jpeg(path: Path, seed: int = 11) -> Path:
    save(picture(seed, (128, 128)), path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def listing(folder: Path) -> list[str]:
    """Sorted names in a folder, leaving out hidden ones (prepare's marker file)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root (to prove a folder was not touched)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def clean_set(tmp_path: Path) -> Path:
    """Six distinct square JPEGs with captions carrying the trigger 'ohwx': nothing to report at 64 px."""
    root = tmp_path / "clean"
    for i in range(6):
        save(picture(100 + i), root / f"img{i}.jpg", quality=95)
        (root / f"img{i}.txt").write_text(f"ohwx, a test picture number {i}", encoding="utf-8")
    return root


@pytest.fixture
def make():
    """The helpers above, as a fixture (test modules do not import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        picture=picture, save=save, rotated_jpeg=rotated_jpeg, transparent_png=transparent_png,
        sixteen_bit_png=sixteen_bit_png, truncated_jpeg=truncated_jpeg, tree_digest=tree_digest,
        heic_head=HEIC_HEAD, damaged_png=damaged_png, bytes_name=bytes_name, rgb_icc_profile=rgb_icc_profile,
        srgb_colorants=(SRGB_RED, SRGB_GREEN, SRGB_BLUE), listing=listing,
    )


def damaged_png(path: Path, seed: int = 21, zeroed: int = 50) -> Path:
    """A PNG whose compressed pixel data has `zeroed` bytes overwritten with zeros (header and IEND intact)."""
    save(picture(seed, (128, 128)), path)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 4 + 40
    data[start:start + zeroed] = bytes(zeroed)
    path.write_bytes(bytes(data))
    return path


def bytes_name(folder: Path, name: bytes) -> Path:
    """A path whose file name is raw bytes (e.g. Latin-1 `caf\\xe9.jpg`), as a str the way os.walk returns it."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))


def _icc_tag(kind: bytes, body: bytes) -> bytes:
    data = kind + b"\x00" * 4 + body
    return data + b"\x00" * (-len(data) % 4)


def _s15(value: float) -> bytes:
    return int(round(value * 65536)).to_bytes(4, "big", signed=True)


def rgb_icc_profile(description: str, red, green, blue, gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile with the given D50 colorants (XYZ triples)."""
    import struct

    text = description.encode("ascii") + b"\x00"
    desc = struct.pack(">I", len(text)) + text + b"\x00" * 8 + b"\x00\x00\x00" + b"\x00" * 67
    xyz = {name: b"".join(_s15(v) for v in triple)
           for name, triple in (("wtpt", (0.9642, 1.0, 0.8249)), ("rXYZ", red), ("gXYZ", green), ("bXYZ", blue))}
    curve = struct.pack(">IH", 1, int(round(gamma * 256)))
    tags = [(b"desc", _icc_tag(b"desc", desc))]
    tags += [(name.encode(), _icc_tag(b"XYZ ", body)) for name, body in xyz.items()]
    tags += [(name, _icc_tag(b"curv", curve)) for name in (b"rTRC", b"gTRC", b"bTRC")]
    offset = 128 + 4 + 12 * len(tags)
    table, blobs = struct.pack(">I", len(tags)), b""
    for sig, blob in tags:
        table += sig + struct.pack(">II", offset + len(blobs), len(blob))
        blobs += blob
    size = offset + len(blobs)
    header = struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += b"\x00" * 12 + b"acsp" + b"\x00" * 24 + struct.pack(">I", 0)
    header += _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    header += b"\x00" * (128 - len(header))
    return header + table + blobs


# sRGB's colorants adapted to D50; swapping red and green gives a profile whose "red" is sRGB's green.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
