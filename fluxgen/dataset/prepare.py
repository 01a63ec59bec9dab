"""Write a clean copy of a dataset that every trainer reads the same way; the source is only ever read."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fluxgen.dataset import transform
from fluxgen.dataset.captions import template_fields
from fluxgen.dataset.findings import default_caption_mode
from fluxgen.dataset.lint import LintReport, lint_dataset
from fluxgen.dataset.naming import plan_outputs
from fluxgen.dataset.scan import CAPTION_MODES, KINDS, canonical_backend, check_choice, check_folder
from fluxgen.dataset.writer import FileReport, run_jobs
from fluxgen.errors import UserError

__all__ = ["FileReport", "PrepareOptions", "PrepareResult", "prepare_dataset"]

MAX_STYLE_PATCHES = 16
TEMPLATE_FIELDS = {"trigger", "caption", "name"}


@dataclass
class PrepareOptions:
    """Everything `fluxgen dataset prepare` can do; the defaults only make images safe to train."""

    kind: str | None = None
    trigger: str | None = None
    backend: str | None = None
    resolution: int = 1024
    exif: bool = True
    alpha: str = "flatten"
    background: str = "#ffffff"
    upscale: bool = False
    crop: str | None = None
    style_patches: int = 0
    format: str | None = None
    captions: str | None = None
    caption_template: str | None = None
    dedupe: bool = True


@dataclass
class PrepareResult:
    out: Path
    files: list[FileReport]
    lint: LintReport
    caption_mode: str

    @property
    def written(self) -> list[FileReport]:
        return [f for f in self.files if f.skipped is None]

    @property
    def skipped(self) -> list[FileReport]:
        return [f for f in self.files if f.skipped is not None]


def prepare_dataset(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: PrepareOptions | None = None,
    force: bool = False,
    *,
    workers: int | None = None,
) -> PrepareResult:
    """Lint the source, write every usable image (and its caption) into `out`, then lint the result."""
    opts = options or PrepareOptions()
    root = check_folder(src)
    target = _check_out(root, Path(out), force)
    mode = _check_options(opts)
    background = transform.parse_colour(opts.background)
    source = lint_dataset(root, kind=opts.kind, trigger=opts.trigger, backend=opts.backend,
                          resolution=opts.resolution, caption_mode=mode, workers=workers)
    reports, jobs = plan_outputs(source, opts, mode)
    for job in jobs:
        job.background = background
    target.mkdir(parents=True, exist_ok=True)
    for rel, done in run_jobs(root, target, jobs, force=force, workers=workers):
        report = reports[rel]
        report.outputs, report.notes, report.skipped = done.outputs, done.notes + report.notes, done.skipped
    result_mode = "none" if mode == "none" else "captions"
    lint = lint_dataset(target, kind=opts.kind, trigger=opts.trigger, backend=opts.backend,
                        resolution=opts.resolution, caption_mode=result_mode, workers=workers)
    return PrepareResult(out=target, files=list(reports.values()), lint=lint, caption_mode=mode)


def _check_out(root: Path, out: Path, force: bool) -> Path:
    """Refuse any --out that could touch the source: the same folder, inside it, or around it."""
    target = out.expanduser().resolve()
    if target == root:
        raise UserError(f"{out}: --out is the source folder; pick a new folder so the source stays untouched")
    if root in target.parents:
        raise UserError(f"{out}: --out is inside the source folder {root}; pick a folder outside it")
    if target in root.parents:
        raise UserError(f"{out}: --out contains the source folder {root}; pick a folder beside it")
    if target.exists() and not target.is_dir():
        raise UserError(f"{out}: exists and is not a folder; pick another --out")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UserError(f"{out}: folder is not empty; pass --force to write into it (existing files are replaced)")
    return target


def _check_options(opts: PrepareOptions) -> str:
    """Validate options and return the caption mode to apply."""
    opts.kind = check_choice(opts.kind, KINDS, "kind")
    opts.backend = canonical_backend(opts.backend)
    opts.trigger = opts.trigger.strip() if opts.trigger and opts.trigger.strip() else None
    if opts.resolution < 64:
        raise UserError(f"--resolution {opts.resolution} is too small; use 64 or more (FLUX.1 LoRAs train at 512–1024)")
    if opts.alpha not in ("flatten", "mask", "keep"):
        raise UserError(f"--alpha '{opts.alpha}': choose flatten, mask or keep")
    if opts.crop not in (None, "square"):
        raise UserError(f"--crop '{opts.crop}': the only crop is 'square'")
    if opts.format is not None and opts.format not in transform.FORMATS:
        raise UserError(f"--format '{opts.format}': choose one of {', '.join(transform.FORMATS)}")
    if not 0 <= opts.style_patches <= MAX_STYLE_PATCHES:
        raise UserError(f"--style-patches {opts.style_patches}: use 0 to {MAX_STYLE_PATCHES}")
    explicit = check_choice(opts.captions, CAPTION_MODES, "caption mode")
    if opts.caption_template is not None:
        _check_template(opts, explicit)
        return "captions"
    mode = explicit or default_caption_mode(opts.kind)
    if mode == "trigger" and opts.trigger is None:
        if explicit:
            raise UserError("--captions trigger writes the trigger word as every caption; pass --trigger WORD")
        return "none"
    return mode


def _check_template(opts: PrepareOptions, explicit: str | None) -> None:
    template = opts.caption_template or ""
    if explicit in ("trigger", "none"):
        raise UserError(f"--caption-template writes captions; it cannot be used with --captions {explicit}")
    try:
        fields = template_fields(template)
    except ValueError as exc:
        raise UserError(f"--caption-template '{template}': {exc}; write fields as {{trigger}} or {{caption}}") from None
    unknown = fields - TEMPLATE_FIELDS
    if unknown:
        raise UserError(f"--caption-template: unknown field {{{sorted(unknown)[0]}}}; "
                        "use {trigger}, {caption} or {name}")
    if "trigger" in fields and opts.trigger is None:
        raise UserError("--caption-template uses {trigger}; pass --trigger WORD")
