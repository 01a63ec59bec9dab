"""Find a dataset's images and captions the way the trainers walk a folder, and name file formats by content."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from fluxgen.backends import BACKENDS
from fluxgen.errors import UserError

# What each trainer picks up from its image folder (lower-case; the trainers compare case-insensitively), as each
# backend declares it.
IMAGE_EXTENSIONS_BY_BACKEND: dict[str, frozenset[str]] = {name: b.image_extensions for name, b in BACKENDS.items()}
# With no backend chosen, judge by what every trainer loads.
COMMON_EXTENSIONS: frozenset[str] = frozenset.intersection(*IMAGE_EXTENSIONS_BY_BACKEND.values())

# Files that look like pictures to a user, whether or not a trainer or Pillow can read them.
IMAGE_LIKE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif",
        ".heic", ".heif", ".hif", ".jxl", ".jp2", ".j2k", ".psd", ".tga", ".ico", ".qoi", ".ppm", ".pgm",
        ".pbm", ".pnm", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".svg", ".exr",
    }
)
CAPTION_EXTENSION = ".txt"
RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf"})
# Folders trainers or their caches create inside a dataset; never part of the data.
SKIPPED_DIRS = frozenset({"_latent_cache", "_controls", "__MACOSX", "__pycache__"})
MASK_SUFFIX = "_mask"



# How a missing dataset folder is named to the user: the planner's --images option, or the DIR argument.
IMAGES_HINT = "pass --images DIR with the folder of training images"
ARGUMENT_HINT = "give the folder of training images as DIR"


@dataclass
class Scan:
    """Everything under a dataset folder that matters, as sorted paths relative to the root."""

    root: Path
    images: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    caption_ext: str = CAPTION_EXTENSION

    def caption_for(self, image_rel: str) -> str:
        """`photo.jpg` → `photo.txt` (or the chosen caption extension) in the same folder, as the trainers look."""
        return _stem_rel(image_rel) + self.caption_ext


def _stem_rel(rel: str) -> str:
    head, _, name = rel.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{head}/{stem}" if head else stem


def stem_key(rel: str) -> str:
    """The caption-sharing key: relative path without extension (case-folded, as on Windows/macOS disks)."""
    return _stem_rel(rel).casefold()


def check_folder(path: str | os.PathLike[str], hint: str = IMAGES_HINT) -> Path:
    """Resolve a dataset folder or raise the one-line error; `hint` names the way the caller takes the folder."""
    root = Path(path).expanduser()
    if not root.exists():
        raise UserError(f"{path}: no such folder; {hint}")
    if not root.is_dir():
        raise UserError(f"{path}: not a folder; {hint}")
    return root.resolve()


def check_caption_ext(value: str | None) -> str:
    """`txt`, `.txt`, `.caption` → a dotted extension; refuse what cannot be a caption file's extension."""
    text = CAPTION_EXTENSION if value is None else value.strip()
    ext = text if text.startswith(".") else f".{text}"
    if not re.fullmatch(r"\.[A-Za-z0-9_-]+", ext) or ext.lower() in IMAGE_LIKE_EXTENSIONS:
        raise UserError(f"--caption-ext '{value}': not a caption extension; use e.g. .txt or .caption")
    return ext


def check_choice(value: str | None, choices: tuple[str, ...], what: str) -> str | None:
    """Validate a kind or caption mode given to the library (the CLI validates with click.Choice)."""
    if value is None:
        return None
    key = value.strip().lower()
    if key not in choices:
        import difflib

        close = difflib.get_close_matches(key, choices, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UserError(f"unknown {what} '{value}'{hint}; choose one of {', '.join(choices)}")
    return key


def canonical_backend(backend: str | None) -> str | None:
    if backend is None:
        return None
    from fluxgen.backends import canonical_name

    return canonical_name(backend)


def loaded_extensions(backend: str | None) -> frozenset[str]:
    return IMAGE_EXTENSIONS_BY_BACKEND[backend] if backend else COMMON_EXTENSIONS


def backend_label(backend: str | None) -> str:
    return backend or "the trainers"


def trainers_loading(ext: str) -> list[str]:
    """The backends whose image folder picks up files with this extension."""
    return [name for name, exts in IMAGE_EXTENSIONS_BY_BACKEND.items() if ext.lower() in exts]


def display_name(text: str) -> str:
    """A file name as printable UTF-8: bytes that are not UTF-8 (kept by os.walk as surrogates) shown as `\\xe9`."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_utf8_name(text: str) -> bool:
    return not any("\udc80" <= char <= "\udcff" for char in text)


def repair_name(text: str) -> str:
    """A UTF-8 name for one that is not: each stray byte read as Windows-1252, the usual origin (`café`)."""
    return "".join(_byte_char(ord(c) - 0xDC00) if "\udc80" <= c <= "\udcff" else c for c in text)


def _byte_char(value: int) -> str:
    try:
        return bytes([value]).decode("cp1252")
    except UnicodeDecodeError:
        return "_"


def scan_folder(root: Path, caption_ext: str = CAPTION_EXTENSION) -> Scan:
    """Walk recursively (as ai-toolkit does), skipping hidden entries and trainer cache folders."""
    caption_ext = check_caption_ext(caption_ext)
    scan = Scan(root=root, caption_ext=caption_ext)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS)
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in filenames:
            if name.startswith("."):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            ext = os.path.splitext(name)[1].lower()
            if ext in IMAGE_LIKE_EXTENSIONS:
                scan.images.append(rel)
            elif ext == caption_ext.lower():
                scan.captions.append(rel)
    scan.images.sort()
    scan.captions.sort()
    image_stems = {stem_key(rel) for rel in scan.images}
    scan.masks = [
        rel for rel in scan.images
        if stem_key(rel).endswith(MASK_SUFFIX) and stem_key(rel)[: -len(MASK_SUFFIX)] in image_stems
    ]
    if scan.masks:
        masks = set(scan.masks)
        scan.images = [rel for rel in scan.images if rel not in masks]
    return scan


def sniff_format(head: bytes) -> str | None:
    """Name an image format from its first bytes, including the ones Pillow cannot open."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(head)
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if head[:4] == b"8BPS":
        return "PSD"
    if head[:4] == b"qoif":
        return "QOI"
    return None


def _sniff_isobmff(head: bytes) -> str | None:
    """HEIC/HEIF/AVIF share the ISO media container; the brands in the `ftyp` box tell them apart."""
    size = int.from_bytes(head[:4], "big")
    brands = {head[i : i + 4] for i in range(8, min(size, len(head)) - 3, 4) if i != 12}
    if brands & {b"avif", b"avis"}:
        return "AVIF"
    if brands & {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}:
        return "HEIC"
    if brands & {b"mif1", b"msf1"}:
        return "HEIF"
    return None


# Formats named by extension when the bytes say nothing we know (camera RAW, vector files).
FORMAT_BY_EXTENSION: dict[str, str] = {
    ".heic": "HEIC", ".heif": "HEIF", ".hif": "HEIF", ".avif": "AVIF", ".jxl": "JPEG XL", ".svg": "SVG",
    ".exr": "OpenEXR", **{ext: f"camera RAW ({ext})" for ext in RAW_EXTENSIONS},
}
