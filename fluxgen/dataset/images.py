"""Inspect one image file: header facts always, a reduced-scale decode and hashes when asked.

Runs in worker processes, so everything returned is a small picklable dataclass and PIL is imported here.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from fluxgen.dataset.scan import FORMAT_BY_EXTENSION, sniff_format

# Pillow's own limit: it warns above this many pixels and refuses twice as many.
DEFAULT_MAX_PIXELS = 89_478_485
HIGH_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
# Formats Pillow opens; anything else sniffed from the bytes is named and refused before trying.
PILLOW_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "JPEG 2000", "PSD", "QOI", "AVIF"})
EXIF_ORIENTATION = 0x0112
THUMB_SIDE = 8


@dataclass
class ImageFacts:
    """What lint needs to know about one file; `problem` is set when the file cannot be used at all."""

    rel: str
    size_bytes: int = 0
    sniffed: str | None = None
    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str = ""
    orientation: int = 1
    has_alpha: bool = False
    alpha_used: bool | None = None
    icc: bool = False
    problem: str | None = None
    detail: str = ""
    digest: str | None = None
    dhash: int | None = None
    thumb: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def named_format(self) -> str:
        """The format as a user knows it: from the bytes, else from the extension."""
        if self.format:
            return self.format
        if self.sniffed:
            return self.sniffed
        return FORMAT_BY_EXTENSION.get(os.path.splitext(self.rel)[1].lower(), "unknown")


def inspect_image(path: Path, rel: str, *, quick: bool, max_pixels: int) -> ImageFacts:
    """Read the file once; in quick mode stop after the header, else decode small and hash."""
    facts = ImageFacts(rel=rel)
    try:
        data = path.read_bytes() if not quick else _read_head(path)
        facts.size_bytes = path.stat().st_size
    except OSError as exc:
        return _fail(facts, "unreadable", f"cannot read the file ({exc.strerror or exc})")
    if facts.size_bytes == 0:
        return _fail(facts, "zero-byte", "the file is empty (0 bytes)")
    facts.sniffed = sniff_format(data[:64])
    if facts.sniffed is None:
        ext_name = FORMAT_BY_EXTENSION.get(os.path.splitext(rel)[1].lower())
        if ext_name:
            return _fail(facts, "unsupported-format", f"{ext_name} file: Pillow cannot open it")
    elif facts.sniffed not in PILLOW_FORMATS:
        return _fail(facts, "unsupported-format", f"{facts.sniffed} file: Pillow cannot open it")
    source = io.BytesIO(data) if not quick else path
    return _open_and_read(facts, source, quick=quick, max_pixels=max_pixels, data=data)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(64)


def _fail(facts: ImageFacts, problem: str, detail: str) -> ImageFacts:
    facts.problem, facts.detail = problem, detail
    return facts


def _open_and_read(facts: ImageFacts, source, *, quick: bool, max_pixels: int, data: bytes) -> ImageFacts:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lint reports what matters itself; Pillow's warnings are noise here
        try:
            im = Image.open(source)
        except Image.DecompressionBombError as exc:
            return _fail(facts, "decompression-bomb", str(exc).split(" could be")[0])
        except UnidentifiedImageError:
            if facts.sniffed:
                return _fail(facts, "unreadable", f"looks like {facts.sniffed} but Pillow cannot parse it")
            return _fail(facts, "not-an-image", "not an image file (its content is not a known image format)")
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            return _fail(facts, "unreadable", f"Pillow cannot open it ({exc})")
        with im:
            _read_header(facts, im)
            if facts.width * facts.height > max_pixels:
                mp = facts.width * facts.height / 1e6
                return _fail(facts, "decompression-bomb",
                             f"{facts.width}×{facts.height} is {mp:.0f} MP, above the {max_pixels / 1e6:.0f} MP limit")
            if quick:
                return facts
            facts.digest = hashlib.sha256(data).hexdigest()
            return _decode_small(facts, im)


def _read_header(facts: ImageFacts, im) -> None:
    facts.format = im.format
    facts.width, facts.height = im.size
    facts.mode = im.mode
    facts.icc = bool(im.info.get("icc_profile"))
    facts.has_alpha = im.mode in ALPHA_MODES or "transparency" in im.info
    try:
        facts.orientation = int(im.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except Exception:  # a broken EXIF block is not worth failing the image for
        facts.orientation = 1


def _decode_small(facts: ImageFacts, im) -> ImageFacts:
    """Decode at 1/8 scale where the format allows (JPEG draft), then hash a tiny grayscale copy.

    JPEG drafts decode straight to luma at 1/8 (the mean of each 8×8 block); other formats are box-reduced by
    8 after a full decode, so the same picture hashes alike whichever format it is saved in.
    """
    from PIL import Image

    if im.format in ("JPEG", "MPO") and im.mode in ("RGB", "L", "CMYK"):
        im.draft("L" if im.mode != "CMYK" else "CMYK", (max(1, facts.width // 8), max(1, facts.height // 8)))
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        text = str(exc)
        if isinstance(exc, EOFError) or "truncated" in text:
            return _fail(facts, "truncated", "the file ends before the image data does (truncated download or copy)")
        return _fail(facts, "unreadable", f"the image data is damaged ({text})")
    if facts.has_alpha:
        rgba = im if im.mode in ("RGBA", "LA") else im.convert("RGBA")
        facts.alpha_used = rgba.getchannel("A").getextrema()[0] < 255
    gray = _to_gray(im)
    if gray.size == (facts.width, facts.height) and min(gray.size) >= 8:
        gray = gray.reduce(8)
    small = gray.resize((THUMB_SIDE + 1, THUMB_SIDE), Image.Resampling.BOX)
    facts.dhash = dhash_bits(small.tobytes())
    facts.thumb = gray.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX).tobytes()
    return facts


def _to_gray(im):
    if im.mode in HIGH_BIT_MODES:
        return im.convert("I").point(lambda v: v / 257 + 0.5).convert("L")
    if im.mode == "P" or im.mode in ALPHA_MODES:
        return im.convert("RGBA").convert("L")
    return im.convert("L")


def dhash_bits(pixels: bytes, width: int = THUMB_SIDE + 1) -> int:
    """64-bit difference hash: one bit per horizontally adjacent pair, set when the left pixel is brighter."""
    value = 0
    for row in range(len(pixels) // width):
        base = row * width
        for col in range(width - 1):
            value = (value << 1) | (pixels[base + col] > pixels[base + col + 1])
    return value


def pixel_digest(path: Path) -> str:
    """Hash of the decoded pixels (size + RGBA), so one picture saved as PNG and BMP compares equal."""
    from PIL import Image

    with Image.open(path) as im:
        rgba = im.convert("RGBA")
        return hashlib.sha256(f"{rgba.width}x{rgba.height}:".encode() + rgba.tobytes()).hexdigest()
