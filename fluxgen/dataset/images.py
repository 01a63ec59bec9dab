"""Inspect one image file: header facts always, a reduced-scale decode and hashes when asked.

Runs in worker processes, so everything returned is a small picklable dataclass and PIL is imported here.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
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
# How each EXIF orientation is undone (Image.Transpose member names), so hashes compare upright pictures.
UPRIGHT = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
           7: "TRANSVERSE", 8: "ROTATE_90"}
EXIF_ERRORS = (SyntaxError, ValueError, TypeError, KeyError, IndexError, OSError, struct.error)
# The quick check reads this much of a file's end to find the JPEG end marker or the PNG IEND chunk.
TAIL_BYTES = 1 << 16
TRUNCATED = "the file ends before the image data does (truncated download or copy)"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


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
    profile: str | None = None  # the embedded colour profile's name when it is not sRGB
    huge_limit: int | None = None  # set when the picture is above Pillow's warning limit (but loads)
    problem: str | None = None
    detail: str = ""
    digest: str | None = None
    dhash: int | None = None
    thumb: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def upright_size(self) -> tuple[int, int]:
        """Width and height as the picture is seen, after its EXIF orientation."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height

    @property
    def named_format(self) -> str:
        """The format as a user knows it: from the bytes, else from the extension."""
        if self.format:
            return self.format
        if self.sniffed:
            return self.sniffed
        return FORMAT_BY_EXTENSION.get(os.path.splitext(self.rel)[1].lower(), "unknown")


def inspect_image(path: Path, rel: str, *, quick: bool, max_pixels: int) -> ImageFacts:
    """Read the file once; in quick mode stop after the header and a look at the file's end, else decode small
    and hash. A quick look that finds the end missing is confirmed by decoding that one file."""
    facts = ImageFacts(rel=rel)
    try:
        facts.size_bytes = path.stat().st_size
        data = path.read_bytes() if not quick else _read_head(path)
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
    try:
        tail = _read_tail(path, facts.size_bytes, facts.sniffed) if quick else data[-TAIL_BYTES:]
        cut = tail_is_cut(facts.sniffed, data[:64], tail, facts.size_bytes)
    except OSError as exc:
        return _fail(facts, "unreadable", f"cannot read the file ({exc.strerror or exc})")
    if quick and cut:
        return inspect_image(path, rel, quick=False, max_pixels=max_pixels)
    source = io.BytesIO(data) if not quick else path
    return _open_and_read(facts, source, quick=quick, max_pixels=max_pixels, data=data, cut=cut)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(64)


def _read_tail(path: Path, size: int, fmt: str | None) -> bytes:
    if fmt not in ("JPEG", "PNG"):
        return b""
    with open(path, "rb") as fh:
        fh.seek(max(0, size - TAIL_BYTES))
        return fh.read()


def tail_is_cut(fmt: str | None, head: bytes, tail: bytes, size: int) -> bool:
    """Does the file end before its format says it should? JPEG: the end marker FFD9 (zero padding allowed);
    PNG: the IEND chunk; WebP: the RIFF size in the header. Cheap: no pixel is decoded."""
    if fmt == "JPEG":
        return not tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    if fmt == "PNG":
        return PNG_IEND not in tail
    if fmt == "WEBP" and len(head) >= 8:
        return int.from_bytes(head[4:8], "little") + 8 > size
    return False


def _fail(facts: ImageFacts, problem: str, detail: str) -> ImageFacts:
    facts.problem, facts.detail = problem, detail
    return facts


def _open_and_read(facts: ImageFacts, source, *, quick: bool, max_pixels: int, data: bytes, cut: bool) -> ImageFacts:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lint reports what matters itself; Pillow's warnings are noise here
        try:
            im = Image.open(source)
        except Image.DecompressionBombError as exc:
            return _fail(facts, "decompression-bomb", str(exc).split(" could be")[0])
        except UnidentifiedImageError:
            if cut and facts.sniffed:
                return _fail(facts, "truncated", TRUNCATED)
            if facts.sniffed:
                return _fail(facts, "unreadable", f"looks like {facts.sniffed} but Pillow cannot parse it")
            return _fail(facts, "not-an-image", "not an image file (its content is not a known image format)")
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            if cut:
                return _fail(facts, "truncated", TRUNCATED)
            return _fail(facts, "unreadable", f"Pillow cannot open it ({exc})")
        with im:
            _read_header(facts, im)
            pixels = facts.width * facts.height
            if pixels > 2 * max_pixels:
                return _fail(facts, "decompression-bomb",
                             f"{facts.width}×{facts.height} is {megapixels(pixels)}, above the "
                             f"{megapixels(2 * max_pixels)} that Pillow refuses to open")
            if pixels > max_pixels:
                facts.huge_limit = max_pixels
            if quick:
                return facts
            facts.digest = hashlib.sha256(data).hexdigest()
            return _decode_small(facts, im, cut)


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f} MP" if pixels >= 10_000_000 else f"{pixels / 1e6:.2g} MP"


def _read_header(facts: ImageFacts, im) -> None:
    facts.format = im.format
    facts.width, facts.height = im.size
    facts.mode = im.mode
    icc = im.info.get("icc_profile")
    facts.icc = bool(icc)
    if icc and im.mode in ("RGB", "RGBA"):
        facts.profile = profile_name(icc)
    facts.has_alpha = im.mode in ALPHA_MODES or "transparency" in im.info
    facts.orientation = _orientation(im)


def _orientation(im) -> int:
    """The EXIF orientation from the header; a broken EXIF block counts as upright."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1  # Pillow would decode the whole PNG looking for a late eXIf chunk; the full lint does that
    try:
        return int(im.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except EXIF_ERRORS:
        return 1


def profile_name(icc: bytes) -> str | None:
    """The embedded RGB colour profile's name, or None when it is sRGB (what trainers assume) or unreadable."""
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
        name = (profile.profile_description or "").strip() or "unnamed"
        space = profile.xcolor_space.strip()
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return None
    return None if space != "RGB" or "srgb" in name.lower() else name


def _decode_small(facts: ImageFacts, im, cut: bool) -> ImageFacts:
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
        if cut or isinstance(exc, EOFError) or "truncated" in text:
            return _fail(facts, "truncated", TRUNCATED)
        return _fail(facts, "unreadable", f"the image data is damaged ({text})")
    if im.format == "PNG" and facts.orientation == 1:
        facts.orientation = _orientation(im)  # now that the whole file is read, a late eXIf chunk is known
    if facts.has_alpha:
        rgba = im if im.mode in ("RGBA", "LA") else im.convert("RGBA")
        facts.alpha_used = rgba.getchannel("A").getextrema()[0] < 255
    gray = _to_gray(im)
    if gray.size == (facts.width, facts.height) and min(gray.size) >= 8:
        gray = gray.reduce(8)
    if facts.orientation in UPRIGHT:
        gray = gray.transpose(getattr(Image.Transpose, UPRIGHT[facts.orientation]))
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
    """Hash of the upright decoded pixels (size + RGBA), so one picture saved as PNG and BMP compares equal."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as im:
            rgba = ImageOps.exif_transpose(im).convert("RGBA")
    return hashlib.sha256(f"{rgba.width}x{rgba.height}:".encode() + rgba.tobytes()).hexdigest()
