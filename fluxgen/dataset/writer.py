"""Turn one planned source image into its output files; runs in worker processes, writes atomically."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fluxgen.dataset import geometry, transform
from fluxgen.fsio import atomic_write

PARALLEL_MIN = 8


@dataclass
class FileReport:
    """What happened to one source image: the files written and why they differ, or why it was skipped."""

    source: str
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    masks: list[str] = field(default_factory=list)  # relative to the mask folder


@dataclass
class OutputJob:
    """Everything a worker needs for one source image (picklable)."""

    source: str
    stems: list[str]  # output paths without extension, relative to --out: one, or one per style patch
    fmt: str  # png | jpg | webp | bmp
    ext: str
    same_format: bool
    captions: str | None
    exif: bool = True
    alpha: str = "flatten"
    background: tuple[int, int, int] = (255, 255, 255)
    crop: str | None = None
    patches: int = 0
    resolution: int = 1024
    upscale: bool = False
    caption_ext: str = ".txt"
    mask_names: list[str] = field(default_factory=list)  # one per stem with --alpha mask, in the mask folder
    from_captioner: bool = False  # no caption file in the source: `--caption NAME` writes one


@dataclass
class JobResult:
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    masks: list[str] = field(default_factory=list)


def run_jobs(root: Path, target: Path, jobs: list[OutputJob], *, workers: int | None,
             mask_dir: Path | None = None) -> Iterator[tuple[str, JobResult]]:
    """(source, result) per job, in job order; a pool over files when there are enough of them."""
    from functools import partial

    from fluxgen.dataset.lint import default_workers

    run = partial(run_job, root, target, mask_dir=mask_dir)
    sources = [job.source for job in jobs]
    count = workers if workers is not None else default_workers()
    if count <= 1 or len(jobs) < PARALLEL_MIN:
        yield from zip(sources, map(run, jobs), strict=True)
        return
    from fluxgen.dataset.pool import worker_pool

    with worker_pool(count) as pool:
        chunk = max(1, min(16, len(jobs) // (count * 4)))
        yield from zip(sources, pool.map(run, jobs, chunksize=chunk), strict=True)


def run_job(root: Path, target: Path, job: OutputJob, *, mask_dir: Path | None = None) -> JobResult:
    """Decode, shape and write one source image; a file that cannot be decoded is skipped, a write error raises."""
    result = JobResult()
    try:
        data = (root / job.source).read_bytes()
        pictures, notes = _shape(data, job)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        result.skipped = f"cannot decode it ({exc})"
        return result
    result.notes = notes
    for i, (stem, (image, mask)) in enumerate(zip(job.stems, pictures, strict=False)):
        rel = stem + job.ext
        copy = job.same_format and not notes and job.patches == 0
        atomic_write(target / rel, data if copy else transform.encode(image, job.fmt))
        result.outputs.append(rel)
        if mask is not None and mask_dir is not None:
            atomic_write(mask_dir / job.mask_names[i], transform.encode(mask, "png"))
            result.masks.append(job.mask_names[i])
        if job.captions is not None:
            atomic_write(target / f"{stem}{job.caption_ext}", job.captions)
            result.outputs.append(f"{stem}{job.caption_ext}")
    return result


def _shape(data: bytes, job: OutputJob) -> tuple[list[tuple[object, object | None]], list[str]]:
    """Decode and transform; returns (image, mask or None) per output and the notes, in order."""
    im, notes = transform.open_upright(data, exif=job.exif)
    source_mode = im.mode
    im, mode_notes, _ = transform.to_rgba(im)
    notes += mode_notes
    if source_mode in ("L", "1", "LA") and not mode_notes:
        notes.append("grayscale stored as RGB")
    if job.crop == "square" and im.width != im.height:
        notes.append(f"centre-cropped {im.width}×{im.height} to a square")
        im = geometry.centre_square(im)
    pieces = [im]
    if job.patches:
        pieces, patch_notes = _patches(im, job)
        notes += patch_notes
    out = []
    alpha_note = None
    for piece in pieces:
        piece, size_note = geometry.fit_resolution(piece, job.resolution, upscale=job.upscale)
        if size_note and not job.patches:
            notes.append(size_note)
        rgb, mask, alpha_note = transform.split_alpha(piece, alpha=job.alpha, background=job.background)
        out.append((rgb, mask))
    if alpha_note:
        notes.append(alpha_note)
    if not job.same_format and not notes:
        notes.append(f"converted to {job.fmt.upper()}")
    elif not job.same_format:
        notes.append(f"saved as {job.fmt.upper()}")
    return out, notes


def _patches(im, job: OutputJob) -> tuple[list, list[str]]:
    """Overlapping square crops of at least the training resolution; a small picture is enlarged first only
    with --upscale."""
    notes = []
    if job.upscale and min(im.size) < job.resolution:
        im, note = geometry.fit_resolution(im, job.resolution, upscale=True)
        notes.append(f"{note} before cutting patches")
    plan = geometry.patch_boxes(im.width, im.height, job.patches, job.resolution)
    notes += [f"{len(plan.boxes)} overlapping style patches", *plan.notes]
    return [im.crop(box) for box in plan.boxes], notes
