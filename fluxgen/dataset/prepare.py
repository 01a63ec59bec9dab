"""Write a clean copy of a dataset that every trainer reads the same way; the source is only ever read."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.dataset import transform
from fluxgen.dataset.captions import template_fields
from fluxgen.dataset.findings import Finding, default_caption_mode, group_finding
from fluxgen.dataset.images import DEFAULT_MAX_PIXELS
from fluxgen.dataset.lint import LintReport, lint_dataset
from fluxgen.dataset.naming import plan_outputs
from fluxgen.dataset.outdir import MARKER, check_mask_dir, check_out, staged
from fluxgen.dataset.scan import (
    CAPTION_EXTENSION,
    canonical_backend,
    check_caption_ext,
    check_choice,
    check_folder,
)
from fluxgen.dataset.writer import FileReport, OutputJob, run_jobs
from fluxgen.errors import UserError
from fluxgen.fsio import atomic_write
from fluxgen.kinds import CAPTION_MODES, KINDS

__all__ = ["FileReport", "PrepareOptions", "PrepareResult", "prepare_dataset"]

MAX_STYLE_PATCHES = 16
TEMPLATE_FIELDS = ("trigger", "caption", "name")


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
    caption_ext: str = CAPTION_EXTENSION
    mask_dir: str | None = None  # with alpha="mask" or masks; default: `<out>_masks` beside the output
    caption: str | None = None  # a captioner name: writes the captions the source lacks
    caption_model: str | None = None
    caption_prompt: str | None = None
    caption_batch: int = 4
    caption_max_tokens: int | None = None
    masks: str | None = None  # "subject": a segmentation model's subject mask per picture
    mask_model_name: str = "clipseg"
    mask_model: str | None = None
    mask_prompt: str | None = None
    device: str = "auto"


@dataclass
class PrepareResult:
    out: Path
    files: list[FileReport]
    lint: LintReport
    caption_mode: str
    masks: Path | None = None
    captions: dict | None = None  # captions.json's content when a captioner wrote captions
    source_images: int = 0

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
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Any = None,
) -> PrepareResult:
    """Lint the source, write every usable image (and its caption) into a fresh folder that replaces `out`
    at the end, then lint the result."""
    opts = options or PrepareOptions()
    root = check_folder(src)
    target = check_out(root, Path(out), force)
    mode = _check_options(opts)
    wants_masks = opts.alpha == "mask" or opts.masks is not None
    masks = check_mask_dir(root, target, opts.mask_dir, force) if wants_masks else None
    background = transform.parse_colour(opts.background)
    source = lint_dataset(root, kind=opts.kind, trigger=opts.trigger, backend=opts.backend,
                          resolution=opts.resolution, caption_mode=mode, workers=workers,
                          caption_ext=opts.caption_ext, max_pixels=max_pixels)
    reports, jobs = plan_outputs(source, opts, mode)
    for job in jobs:
        job.background = background

    def recheck() -> None:  # under the lock: another prepare may have written --out since the check above
        check_out(root, Path(out), force)
        if masks:
            check_mask_dir(root, target, opts.mask_dir, force)

    captions = _write(root, [target] + ([masks] if masks else []), jobs, reports, workers, opts, progress,
                      recheck)
    return PrepareResult(out=target, files=list(reports.values()), lint=_result_lint(target, opts, mode, workers),
                         caption_mode=mode, masks=masks, captions=captions, source_images=len(jobs))


def _write(root: Path, targets: list[Path], jobs: list[OutputJob], reports: dict[str, FileReport],
           workers: int | None, opts: PrepareOptions, progress: Any,
           recheck: Callable[[], object] | None = None) -> dict | None:
    """Run the jobs (then the captioner and the segmenter) into staging folders; a write error becomes one line
    naming the final path."""
    from fluxgen.dataset.model_pass import caption_outputs, mask_outputs

    temps: list[Path] = []
    try:
        with staged(targets, root, recheck) as temps:
            mask_temp = temps[1] if len(temps) > 1 else None
            for rel, done in run_jobs(root, temps[0], jobs, workers=workers, mask_dir=mask_temp):
                report = reports[rel]
                report.outputs, report.skipped, report.masks = done.outputs, done.skipped, done.masks
                report.notes = done.notes + report.notes
            captions = caption_outputs(temps[0], jobs, reports, opts, progress)
            if opts.masks is not None and mask_temp is not None:
                mask_outputs(temps[0], mask_temp, jobs, reports, opts, progress)
            _record_sources(temps[0], root, jobs, reports, opts)
        return captions
    except OSError as exc:
        where = exc.filename or targets[0]
        raise UserError(f"{_final(str(where), temps, targets)}: cannot write ({exc.strerror or exc}); pick an "
                        "--out you can write to") from None
    except UserError as exc:
        raise UserError(_final(str(exc), temps, targets)) from None


def _record_sources(temp: Path, root: Path, jobs: list[OutputJob], reports: dict[str, FileReport],
                    opts: PrepareOptions) -> None:
    """The marker says how many source pictures the output came from: with style patches the planner's steps rule
    counts these, not the patches (seed:000's 100 steps are per image)."""
    written = [job for job in jobs if reports[job.source].skipped is None]
    pictures = sum(len(job.stems) for job in written)
    note = {"written_by": "fluxgen dataset prepare", "source": str(root), "source_images": len(written),
            "images": pictures, "style_patches": opts.style_patches}
    atomic_write(temp / MARKER, json.dumps(note) + "\n", force=True)


def _final(text: str, temps: list[Path], targets: list[Path]) -> str:
    """Name the folder the user asked for, not the staging folder beside it."""
    for temp, target in zip(temps, targets, strict=False):
        text = text.replace(str(temp), str(target))
    return text


def _result_lint(target: Path, opts: PrepareOptions, mode: str, workers: int | None) -> LintReport:
    """Lint the output as the trainer will read it; transparency kept on purpose is a note, not a warning."""
    lint = lint_dataset(target, kind=opts.kind, trigger=opts.trigger, backend=opts.backend,
                        resolution=opts.resolution, caption_mode="none" if mode == "none" else "captions",
                        workers=workers, caption_ext=opts.caption_ext)
    kept = [f.path for f in lint.findings if f.id == "alpha"]
    if opts.alpha == "keep" and kept:
        lint.findings = [f for f in lint.findings if f.id != "alpha"] + [_alpha_kept(kept)]
    return lint


def _alpha_kept(paths: list[str]) -> Finding:
    return group_finding("alpha-kept", "info", paths,
                         f"{len(paths)} image(s) keep their transparency, as asked; set alpha_mask = true on the "
                         "sd-scripts subset and pass --masked_loss, or alpha_mask: true on the ai-toolkit dataset, "
                         "or the transparent areas train as black",
                         "set alpha_mask in the trainer's config (or prepare without --alpha keep to flatten them)")


def _check_options(opts: PrepareOptions) -> str:
    """Validate options and return the caption mode to apply."""
    opts.kind = check_choice(opts.kind, KINDS, "kind")
    opts.backend = canonical_backend(opts.backend)
    opts.trigger = opts.trigger.strip() if opts.trigger and opts.trigger.strip() else None
    opts.caption_ext = check_caption_ext(opts.caption_ext)
    if opts.resolution < 64:
        raise UserError(f"--resolution {opts.resolution} is too small; use 64 or more (FLUX.1 LoRAs train at 512–1024)")
    if opts.alpha not in ("flatten", "mask", "keep"):
        raise UserError(f"--alpha '{opts.alpha}': choose flatten, mask or keep")
    if opts.mask_dir is not None and opts.alpha != "mask" and opts.masks is None:
        raise UserError("--mask-dir needs --alpha mask or --masks subject (it is where the masks are written)")
    if opts.masks is not None and opts.masks != "subject":
        raise UserError(f"--masks '{opts.masks}': the only kind is 'subject'")
    if opts.masks is not None and opts.alpha == "mask":
        raise UserError("--masks subject and --alpha mask both write the mask folder; choose one")
    if opts.caption is not None:
        from fluxgen.dataset.captioners import CAPTIONERS, pick

        pick(opts.caption, CAPTIONERS, "caption")
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
    if opts.caption is not None and explicit in ("trigger", "none"):
        raise UserError(f"--caption writes captions; it cannot be used with --captions {explicit}")
    mode = explicit or ("captions" if opts.caption else default_caption_mode(opts.kind))
    if mode == "trigger" and opts.trigger is None:
        if explicit:
            raise UserError("--captions trigger writes the trigger word as every caption; pass --trigger WORD")
        return "none"
    return mode


def _check_template(opts: PrepareOptions, explicit: str | None) -> None:
    if explicit in ("trigger", "none"):
        raise UserError(f"--caption-template writes captions; it cannot be used with --captions {explicit}")
    check_template(opts.caption_template or "", opts.trigger, "--caption-template")


def check_template(template: str, trigger: str | None, option: str) -> None:
    """Fields must be known ({trigger}, {caption}, {name}); {trigger} needs a trigger word."""
    try:
        fields = template_fields(template)
    except ValueError as exc:
        raise UserError(f"{option} '{template}': {exc}; write fields as {{trigger}} or {{caption}}") from None
    unknown = sorted(fields - set(TEMPLATE_FIELDS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], TEMPLATE_FIELDS, n=1)
        hint = f" (did you mean {{{close[0]}}}?)" if close else ""
        raise UserError(f"{option}: unknown field {{{unknown[0]}}}{hint}; use {{trigger}}, {{caption}} or "
                        "{name}")
    if "trigger" in fields and trigger is None:
        raise UserError(f"{option} uses {{trigger}}; pass --trigger WORD")
