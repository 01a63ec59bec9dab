"""Decide, before any pixel is touched, what each source image becomes: skipped, or which files with which caption."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from fluxgen.dataset.caption_text import DEFAULT_TEMPLATE
from fluxgen.dataset.captions import TRIGGER_PLACEHOLDER, apply_template, normalize_caption, read_caption
from fluxgen.dataset.findings import quirks_of
from fluxgen.dataset.images import ImageFacts
from fluxgen.dataset.scan import MASK_SUFFIX, is_utf8_name, loaded_extensions, repair_name
from fluxgen.dataset.transform import FORMAT_BY_PILLOW, FORMATS
from fluxgen.dataset.writer import FileReport, OutputJob

if TYPE_CHECKING:
    from fluxgen.dataset.lint import LintReport
    from fluxgen.dataset.prepare import PrepareOptions


def plan_outputs(source: LintReport, opts: PrepareOptions, mode: str) -> tuple[dict[str, FileReport], list[OutputJob]]:
    """One report per source image (in order) and one job per image that will be written."""
    copies = {rel: group[0] for group in source.duplicates for rel in group[1:]} if opts.dedupe else {}
    used: dict[str, set[str]] = {}
    reports: dict[str, FileReport] = {}
    jobs: list[OutputJob] = []
    for facts in source.facts:
        report = reports[facts.rel] = FileReport(source=facts.rel)
        if not facts.ok:
            report.skipped = f"{facts.problem}: {facts.detail}"
            continue
        if facts.rel in copies:
            report.skipped = f"duplicate: same pixels as {copies[facts.rel]}"
            continue
        fmt, ext, same = _output_format(facts, opts)
        folder, _, name = repair_name(facts.rel).rpartition("/")
        stem = os.path.splitext(name)[0]
        # Masks go flat into one folder (ai-toolkit finds them by file name), so names must be unique overall.
        masked = opts.alpha == "mask" or opts.masks is not None
        scope = "" if masked else folder.casefold()
        stems = _allocate(used.setdefault(scope, set()), stem, opts.style_patches)
        if not is_utf8_name(facts.rel):
            report.notes.append(f"renamed to {stems[0]}{ext}: the name was not valid UTF-8")
        elif stems[0] != stem and not opts.style_patches:
            what = "a caption and a mask" if masked else "a caption"
            report.notes.append(f"renamed to {stems[0]}{ext} so it has {what} of its own")
        caption, caption_notes = _caption(source, facts.rel, opts, mode, stems[0])
        report.notes.extend(caption_notes)
        prefix = f"{folder}/" if folder else ""
        jobs.append(OutputJob(
            source=facts.rel, stems=[prefix + s for s in stems], fmt=fmt, ext=ext, same_format=same,
            captions=caption, exif=opts.exif, alpha=opts.alpha, crop=opts.crop, patches=opts.style_patches,
            resolution=opts.resolution, upscale=opts.upscale, caption_ext=source.context.caption_ext,
            mask_names=[f"{s}.png" for s in stems] if masked else [],
            from_captioner=bool(opts.caption) and mode == "captions" and not _has_caption(source, facts.rel),
        ))
    return reports, jobs


def _output_format(facts: ImageFacts, opts: PrepareOptions) -> tuple[str, str, bool]:
    """(format, extension, same as the source?): --format, else the source's when the trainer loads it, else PNG."""
    current = FORMAT_BY_PILLOW.get(facts.format or "")
    ext = os.path.splitext(facts.rel)[1].lower()
    # a format the trainer loads but its docs warn about (ai-toolkit's WebP) is converted unless asked for
    keep = current if current not in quirks_of(opts.backend).discouraged_formats else None
    if opts.alpha == "keep" and facts.has_alpha and (opts.format or current) not in ("png", "webp"):
        fmt = "png"  # JPEG and BMP cannot carry the transparency being kept
    elif opts.format:
        fmt = opts.format
    elif keep and ext in loaded_extensions(opts.backend) and _ext_fits(keep, ext):
        return keep, ext, True
    elif keep and f".{keep}" in loaded_extensions(opts.backend):
        fmt = keep
    else:
        fmt = "png"
    out_ext = FORMATS[fmt][1] if fmt in FORMATS else f".{fmt}"
    return fmt, out_ext, fmt == current


def _ext_fits(fmt: str, ext: str) -> bool:
    return ext in {"jpg": (".jpg", ".jpeg"), "png": (".png",), "webp": (".webp",), "bmp": (".bmp",)}[fmt]


def _allocate(used: set[str], stem: str, patches: int) -> list[str]:
    """Free output stems in one folder (case-insensitively): `a`, else `a-2`, `a-3`…; patches `a_p1`…"""
    attempt = 1
    while True:
        base = stem if attempt == 1 else f"{stem}-{attempt}"
        names = [f"{base}_p{i}" for i in range(1, patches + 1)] if patches else [base]
        keys = {n.casefold() for n in names} | {f"{n}{MASK_SUFFIX}".casefold() for n in names}
        if not keys & used:
            used.update(keys)
            return names
        attempt += 1


def _caption(source: LintReport, rel: str, opts: PrepareOptions, mode: str, name: str) -> tuple[str | None, list[str]]:
    """The caption text for this image's outputs, and notes on what was changed in it."""
    if mode == "none":
        return None, []
    if mode == "trigger":
        return opts.trigger, ["caption: the trigger word alone"]
    cap_rel = os.path.splitext(rel)[0] + source.context.caption_ext
    path = source.root / cap_rel
    notes: list[str] = []
    text = None
    if path.is_file():
        facts = read_caption(path, cap_rel)
        if facts.error is None:
            text = normalize_caption(facts.text)
            notes += _cleanup_notes(facts)
    if text is not None and opts.trigger and TRIGGER_PLACEHOLDER in text.lower():
        text = re.sub(re.escape(TRIGGER_PLACEHOLDER), lambda _m: opts.trigger or "", text, flags=re.I)
        notes.append(f"[trigger] replaced by '{opts.trigger}'")
    template = opts.caption_template
    if template is None and opts.trigger:
        template = DEFAULT_TEMPLATE  # --trigger puts the trigger where the default template says, never twice
    if template is not None:
        had = text
        text = apply_template(template, trigger=opts.trigger, caption=text or "", name=name)
        if opts.caption_template is not None:
            notes.append("written from the template")
        elif had is None:
            notes.append("the trigger alone (no caption file)" if not opts.caption else "from the captioner")
        elif text != had:
            notes.append(f"'{opts.trigger}' placed by the template '{DEFAULT_TEMPLATE}'")
    elif text is None:
        notes.append("none (no caption file)" if not opts.caption else "from the captioner")
    return text, [f"caption: {', '.join(notes)}"] if notes else []


def _has_caption(source: LintReport, rel: str) -> bool:
    return (source.root / (os.path.splitext(rel)[0] + source.context.caption_ext)).is_file()


def _cleanup_notes(facts) -> list[str]:
    notes = []
    if facts.not_utf8:
        notes.append(f"re-encoded from {facts.encoding} to UTF-8")
    elif facts.bom:
        notes.append("byte-order mark removed")
    if facts.nbsp:
        notes.append(f"{facts.nbsp} non-breaking space(s) replaced")
    if facts.controls:
        notes.append("control characters removed")
    if facts.multiline:
        notes.append("lines joined into one")
    return notes
