"""A content hash of a dataset, so a recorded run names exactly the images and captions it trained on."""

from __future__ import annotations

import hashlib
import os

from fluxgen.dataset.scan import CAPTION_EXTENSION, check_folder, scan_folder

CHUNK = 1 << 20


def fingerprint_dataset(path: str | os.PathLike[str], caption_ext: str = CAPTION_EXTENSION) -> str:
    """`sha256:<hex>` over the sorted relative paths and bytes of images, masks and captions.

    Timestamps, the folder's own name and anything else in it (trainer caches such as `.aitk_size.json`,
    `_latent_cache/`, `*.npz`) do not count. Each file contributes `<sha256 of its bytes>  <relative path>\\n`,
    the same line `sha256sum` prints, and the fingerprint is the SHA-256 of those lines in path order. Paths
    enter as the bytes the file system stores (UTF-8 for ordinary names), so any name can be hashed.
    """
    root = check_folder(path)
    scan = scan_folder(root, caption_ext)
    rels = sorted((os.fsencode(rel), rel) for rel in scan.images + scan.masks + scan.captions)
    outer = hashlib.sha256()
    for raw, rel in rels:
        outer.update(file_sha256(root / rel).encode("ascii") + b"  " + raw + b"\n")
    return f"sha256:{outer.hexdigest()}"


def file_sha256(path: os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()
