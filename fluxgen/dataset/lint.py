"""Check a dataset folder before anything is launched: every file read once, findings with plain fixes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from fluxgen.dataset.advice import duplicate_findings, kind_advice, mask_findings
from fluxgen.dataset.caption_checks import caption_findings
from fluxgen.dataset.captions import read_caption
from fluxgen.dataset.checks import image_findings
from fluxgen.dataset.findings import SEVERITY_RANK, Finding, LintContext, default_caption_mode
from fluxgen.dataset.images import DEFAULT_MAX_PIXELS, ImageFacts, inspect_image, pixel_digest
from fluxgen.dataset.name_checks import name_findings, webp_findings
from fluxgen.dataset.scan import (
    CAPTION_EXTENSION,
    canonical_backend,
    check_caption_ext,
    check_choice,
    check_folder,
    scan_folder,
)
from fluxgen.errors import UserError
from fluxgen.kinds import CAPTION_MODES, KINDS

__all__ = ["Finding", "LintReport", "lint_dataset"]

# Below this many images a process pool costs more than it saves.
PARALLEL_MIN = 24


@dataclass
class LintReport:
    """What `dataset lint` found; `to_dict()` is the stable `--json` object."""

    root: Path
    images: list[Path]
    image_count: int
    captions: list[Path]
    findings: list[Finding]
    context: LintContext
    facts: list[ImageFacts] = field(default_factory=list, repr=False)
    # Exact copies as relative paths the way they are on disk (finding paths are made printable).
    duplicates: list[list[str]] = field(default_factory=list, repr=False)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "info"]

    def summary(self) -> dict[str, int]:
        return {"images": len(self.images), "loadable": self.image_count, "captions": len(self.captions),
                "errors": len(self.errors), "warnings": len(self.warnings), "infos": len(self.infos)}

    def to_dict(self) -> dict:
        return {"findings": [f.to_dict() for f in self.findings], "summary": self.summary()}


def lint_dataset(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    trigger: str | None = None,
    backend: str | None = None,
    resolution: int = 1024,
    caption_mode: str | None = None,
    quick: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int | None = None,
    caption_ext: str = CAPTION_EXTENSION,
) -> LintReport:
    """Lint a dataset. `quick` reads headers and file ends only (no decode, no duplicate search) for `fluxgen plan`.

    `max_pixels` is Pillow's warning limit: pictures above it warn, above twice as many (where Pillow refuses
    to open them) are errors.
    """
    root = check_folder(path)
    kind = check_choice(kind, KINDS, "kind")
    mode = check_choice(caption_mode, CAPTION_MODES, "caption mode") or default_caption_mode(kind)
    if resolution < 64:
        raise UserError(f"--resolution {resolution} is too small; use 64 or more (FLUX.1 LoRAs train at 512–1024)")
    trigger = trigger.strip() if trigger and trigger.strip() else None
    ctx = LintContext(kind, trigger, canonical_backend(backend), resolution, mode, quick, check_caption_ext(caption_ext))
    scan = scan_folder(root, ctx.caption_ext)
    facts = inspect_all(root, scan.images, quick=quick, max_pixels=max_pixels, workers=workers)
    captions = {rel: read_caption(root / rel, rel) for rel in scan.captions}
    loaded = [f for f in facts if f.ok and os.path.splitext(f.rel)[1].lower() in ctx.extensions]
    findings = image_findings(ctx, facts) + name_findings(ctx, scan) + webp_findings(ctx, facts)
    duplicates: list[list[str]] = []
    if not quick:
        found, duplicates = duplicate_findings(facts, _pixel_digester(root, facts))
        findings += found
    findings += caption_findings(ctx, scan, captions, {f.rel for f in facts if not f.ok})
    findings += mask_findings(ctx, scan.masks)
    findings += kind_advice(ctx, facts, len(loaded))
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.path, f.id))
    return LintReport(root=root, images=[root / rel for rel in scan.images], image_count=len(loaded),
                      captions=[root / rel for rel in scan.captions], findings=findings, context=ctx, facts=facts,
                      duplicates=duplicates)


def inspect_all(root: Path, rels: list[str], *, quick: bool, max_pixels: int,
                workers: int | None = None) -> list[ImageFacts]:
    """Inspect every image; full inspections run in a process pool over chunks of files."""
    job = partial(_inspect_rel, root, quick=quick, max_pixels=max_pixels)
    count = workers if workers is not None else default_workers()
    if quick or count <= 1 or len(rels) < PARALLEL_MIN:
        return [job(rel) for rel in rels]
    from concurrent.futures.process import BrokenProcessPool

    from fluxgen.dataset.pool import worker_pool

    chunk = max(1, min(32, len(rels) // (count * 4)))
    try:
        with worker_pool(count) as pool:
            return list(pool.map(job, rels, chunksize=chunk))
    except (BrokenProcessPool, OSError):
        return [job(rel) for rel in rels]


def _inspect_rel(root: Path, rel: str, *, quick: bool, max_pixels: int) -> ImageFacts:
    return inspect_image(root / rel, rel, quick=quick, max_pixels=max_pixels)


def default_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _pixel_digester(root: Path, facts: list[ImageFacts]):
    def digest(index: int) -> str | None:
        try:
            return pixel_digest(root / facts[index].rel)
        except Exception:  # unreadable files are reported by the image checks already
            return None

    return digest
