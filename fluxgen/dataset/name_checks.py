"""Checks across the folder: file names a tool may mangle, and a format one trainer handles badly."""

from __future__ import annotations

import os

from fluxgen.dataset.findings import DATASET_PATH, Finding, LintContext, group_finding
from fluxgen.dataset.images import ImageFacts
from fluxgen.dataset.scan import Scan, is_utf8_name

PREPARE = "`fluxgen dataset prepare`"


def name_findings(ctx: LintContext, scan: Scan) -> list[Finding]:
    """Names that are not UTF-8 (any trainer), and names with letters outside ASCII (sd-scripts setups)."""
    files = sorted(scan.images + scan.captions + scan.masks)
    out = [Finding("name-not-utf8", "warning", rel,
                   "the file name is not valid UTF-8 (written by an old program or copied from an old disk); "
                   "tools show it differently, and a copy on another system or in an archive may get another "
                   "name and lose its caption",
                   f"rename it (type the name again); {PREPARE} writes it under a UTF-8 name")
           for rel in files if not is_utf8_name(rel)]
    severity = ctx.quirks.non_ascii_names
    if severity is None:
        return out
    wide = [rel for rel in files if is_utf8_name(rel) and not rel.isascii()]
    if wide:
        out.append(group_finding("non-ascii-name", severity, wide,
                                 f"{len(wide)} file name(s) with letters outside ASCII; sd-scripts and kohya_ss on "
                                 "Windows have failed to open such paths",
                                 "rename them with plain letters, digits, '-' and '_'"))
    if not str(scan.root).isascii() and is_utf8_name(str(scan.root)):
        out.append(Finding("non-ascii-name", severity, DATASET_PATH,
                           "the dataset folder's own path has letters outside ASCII; sd-scripts and kohya_ss on "
                           "Windows have failed to open such paths",
                           "move or rename the folder so its whole path is plain ASCII"))
    return out


def webp_findings(ctx: LintContext, facts: list[ImageFacts]) -> list[Finding]:
    """ai-toolkit picks up .webp files, but its README supports only jpg, jpeg and png and says WebP has issues."""
    if "webp" not in ctx.quirks.discouraged_formats:
        return []
    webp = [f.rel for f in facts
            if f.ok and f.format == "WEBP" and os.path.splitext(f.rel)[1].lower() in ctx.extensions]
    if not webp:
        return []
    return [group_finding("webp-ai-toolkit", "warning", webp,
                          f"{len(webp)} WebP image(s); ai-toolkit loads them, but its README supports only jpg, jpeg "
                          "and png and says WebP currently has issues",
                          f"{PREPARE} --backend ai-toolkit converts them to PNG")]
