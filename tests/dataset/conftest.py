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
        heic_head=HEIC_HEAD,
    )
