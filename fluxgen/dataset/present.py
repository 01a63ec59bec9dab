"""Plain-text views of lint and prepare results: lines grouped by severity, paths relative to the folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fluxgen.dataset.findings import DATASET_PATH, SEVERITIES, Finding, name_list
from fluxgen.dataset.scan import display_name

if TYPE_CHECKING:
    from fluxgen.dataset.autocaption import CaptionResult
    from fluxgen.dataset.lint import LintReport
    from fluxgen.dataset.prepare import PrepareResult

HEADINGS = {"error": "Errors", "warning": "Warnings", "info": "Notes"}

# A line of output and the severity that colours it (None: plain).
Line = tuple[str, str | None]


def lint_lines(report: LintReport) -> list[Line]:
    lines: list[Line] = []
    for severity in SEVERITIES:
        found = [f for f in report.findings if f.severity == severity]
        if not found:
            continue
        lines.append((f"{HEADINGS[severity]} ({len(found)})", severity))
        for finding in found:
            lines.append((f"  {_where(finding)}: {finding.message} [{finding.id}]", severity))
            lines.append((f"      fix: {finding.fix}", None))
    lines.append((summary_line(report), _worst(report)))
    return lines


def _where(finding: Finding) -> str:
    if finding.paths:
        return name_list(finding.paths, limit=3)
    return "(dataset)" if finding.path == DATASET_PATH else finding.path


def _worst(report: LintReport) -> str | None:
    for severity in SEVERITIES[:2]:
        if any(f.severity == severity for f in report.findings):
            return severity
    return None


def summary_line(report: LintReport) -> str:
    s = report.summary()
    counts = f"{_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}, {_plural(s['infos'], 'note')}"
    loadable = f" ({s['loadable']} loadable)" if s["loadable"] != s["images"] else ""
    return f"{_plural(s['images'], 'image')}{loadable}, {_plural(s['captions'], 'caption')}: {counts}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def prepare_lines(result: PrepareResult) -> list[Line]:
    captions_ext = result.lint.context.caption_ext
    lines: list[Line] = []
    for item in result.files:
        source = display_name(item.source)
        if item.skipped:
            lines.append((f"{source}: skipped ({display_name(item.skipped)})", "warning"))
            continue
        images = [o for o in item.outputs if not o.endswith(captions_ext)]
        target = ", ".join(images) if len(images) <= 2 else f"{images[0]} … {images[-1]} ({len(images)} files)"
        what = "; ".join(item.notes) if item.notes else "copied unchanged"
        lines.append((f"{source} → {target}: {what}", None))
    outputs = [o for item in result.files for o in item.outputs]
    written = sum(1 for o in outputs if not o.endswith(captions_ext))
    captions = len(outputs) - written
    skipped = len(result.skipped)
    tail = f" ({skipped} skipped)" if skipped else ""
    lines.append((f"Wrote {_plural(written, 'image')} and {_plural(captions, 'caption')} to {result.out}{tail}.",
                  None))
    if result.masks is not None:
        count = sum(len(item.masks) for item in result.files)
        lines.append((f"Wrote {_plural(count, 'mask')} to {result.masks} (white = trained, black = ignored); "
                      "`fluxgen plan` finds this folder beside the images and wires it into the trainer's masked "
                      "loss.", None))
    if result.captions is not None:
        lines.append((f"Captioned {_plural(len(result.captions['files']), 'image')} with "
                      f"{result.captions['captioner']} ({result.captions['model']}); how: "
                      f"{result.out / 'captions.json'}", None))
    lines.append(("Lint of the result:", None))
    lines.extend(lint_lines(result.lint))
    return lines


def prepare_dict(result: PrepareResult) -> dict:
    """The `prepare --json` object: per-file outcomes and the result's lint."""
    files = [{"source": display_name(f.source), "outputs": f.outputs, "notes": f.notes,
              "skipped": display_name(f.skipped) if f.skipped else None, "masks": f.masks} for f in result.files]
    captions = result.captions
    return {"out": str(result.out), "masks": str(result.masks) if result.masks else None,
            "caption_mode": result.caption_mode, "source_images": result.source_images,
            "captioner": {"name": captions["captioner"], "model": captions["model"]} if captions else None,
            "files": files, "lint": result.lint.to_dict()}


def caption_lines(result: CaptionResult) -> list[Line]:
    """One line per picture (its caption, or why it was skipped), the speed, then the lint of the result."""
    lines: list[Line] = []
    for record in sorted(result.records, key=lambda r: r.file):
        how = {"model": "", "kept": " (kept)", "template": " (existing caption, template applied)"}[record.source]
        notes = f" [{'; '.join(record.notes)}]" if record.notes else ""
        lines.append((f"{display_name(record.file)}: {record.caption}{how}{notes}", None))
    for rel, reason in result.broken:
        lines.append((f"{display_name(rel)}: skipped ({display_name(reason)})", "warning"))
    p = result.provenance
    speed = f", {result.images_per_second:.2f} images/s" if result.images_per_second else ""
    reused = f", {result.reused} reused from an earlier run" if result.reused else ""
    lines.append((f"Captioned {_plural(result.captioned, 'image')} with {p['captioner']} ({p['model']}){speed}"
                  f"{reused}; wrote {_plural(len(result.records), 'caption')} to {result.out} "
                  f"({len(result.broken)} skipped). How each was made: {result.out / 'captions.json'}", None))
    lines.append(("Lint of the result:", None))
    lines.extend(lint_lines(result.lint))
    return lines


def caption_dict(result: CaptionResult) -> dict:
    return {"out": str(result.out), "captioner": result.provenance["captioner"], "model": result.provenance["model"],
            "images_per_second": result.images_per_second, "reused": result.reused,
            "files": [r.to_dict() for r in sorted(result.records, key=lambda r: r.file)],
            "skipped": [{"file": display_name(rel), "reason": display_name(why)} for rel, why in result.broken],
            "lint": result.lint.to_dict()}
