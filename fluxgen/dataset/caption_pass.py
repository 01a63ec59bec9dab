"""Run a captioner over pictures in batches and write each caption as soon as its batch is done.

Shared by `fluxgen dataset caption` and `fluxgen dataset prepare --caption`. A picture that cannot be decoded is
reported and skipped; a finished batch is recorded at once, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fluxgen.dataset.caption_text import CaptionRules, finish_caption
from fluxgen.fsio import atomic_write


@dataclass
class CaptionJob:
    """One picture to caption: where to read it, where its caption goes, and what the source already said."""

    rel: str  # the image, relative to the output folder
    image: Path
    caption_path: Path
    existing: str | None = None
    digest: str | None = None  # sha256 of the picture's bytes: a recorded caption is reused only for the same


@dataclass
class CaptionRecord:
    """What was written for one picture, for captions.json."""

    file: str
    caption_file: str
    source: str  # model | kept | template
    caption: str
    raw: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    time: str = ""
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_picture(path: Path):
    """The picture upright and in RGB, as a captioner sees it; raises OSError/ValueError when it is damaged."""
    import warnings

    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            im.load()
            upright = ImageOps.exif_transpose(im)
            if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
                flat = Image.new("RGB", upright.size, (255, 255, 255))
                rgba = upright.convert("RGBA")
                flat.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
                return flat
            return upright.convert("RGB")


def run_captioner(jobs: list[CaptionJob], captioner: Any, rules: CaptionRules, batch_size: int,
                  on_done: Callable[[CaptionRecord], None], progress: Callable[[int], None] | None = None
                  ) -> list[tuple[str, str]]:
    """Caption `jobs` in batches; returns (file, reason) for each picture that could not be read."""
    broken: list[tuple[str, str]] = []
    for batch, pictures, bad in _batches(jobs, batch_size):
        broken.extend(bad)
        if progress and bad:
            progress(len(bad))
        if not batch:
            continue
        began = time.perf_counter()
        texts = captioner.caption(pictures)
        each = (time.perf_counter() - began) / len(batch)
        for job, raw in zip(batch, texts, strict=True):
            caption, notes = finish_caption(raw, rules, name=Path(job.rel).stem)
            write_caption(job.caption_path, caption)
            on_done(CaptionRecord(job.rel, job.caption_path.name, "model", caption, raw, notes, round(each, 4),
                                  now_iso(), job.digest))
        if progress:
            progress(len(batch))
    return broken


def _batches(jobs: list[CaptionJob], size: int) -> Iterator[tuple[list[CaptionJob], list[Any], list[tuple[str, str]]]]:
    batch: list[CaptionJob] = []
    pictures: list[Any] = []
    bad: list[tuple[str, str]] = []
    for job in jobs:
        try:
            pictures.append(open_picture(job.image))
            batch.append(job)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            bad.append((job.rel, f"cannot decode it ({exc})"))
        if len(batch) >= size:
            yield batch, pictures, bad
            batch, pictures, bad = [], [], []
    if batch or bad:
        yield batch, pictures, bad


def write_caption(path: Path, text: str) -> None:
    atomic_write(path, text, force=True)
