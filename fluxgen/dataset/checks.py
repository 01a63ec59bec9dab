"""Per-image checks: files a trainer cannot read, formats it skips, and pixels it would train wrongly."""

from __future__ import annotations

import os

from fluxgen.dataset.findings import Finding, LintContext
from fluxgen.dataset.images import HIGH_BIT_MODES, ImageFacts

EXTREME_ASPECT = 3.0
PREPARE = "`fluxgen dataset prepare`"

PROBLEM_FIXES = {
    "zero-byte": "copy the image again from where it came from, or delete it",
    "not-an-image": "delete it, or give it the extension of what it really is",
    "truncated": "copy or export it again from the original; prepare skips it",
    "unreadable": "export it again from the original (or delete it); prepare skips it",
    "decompression-bomb": "downscale it in an image editor or delete it; prepare skips it",
    "unsupported-format": "convert it to JPEG or PNG (for iPhone photos: export as 'Most Compatible', or "
    "use a converter such as heif-convert); prepare skips it",
}
ORIENTATIONS = {
    2: "mirrored", 3: "upside down", 4: "mirrored upside down", 5: "mirrored and on its side",
    6: "on its side", 7: "mirrored and on its side", 8: "on its side",
}


def image_findings(ctx: LintContext, facts: list[ImageFacts]) -> list[Finding]:
    out: list[Finding] = []
    for item in facts:
        loaded = os.path.splitext(item.rel)[1].lower() in ctx.extensions
        if not item.ok:
            out.append(_problem(ctx, item, loaded))
            continue
        if not loaded:
            out.append(_not_loaded(ctx, item))
        elif item.sniffed and not _extension_matches(item):
            out.append(Finding("extension-mismatch", "info", item.rel,
                               f"{item.sniffed} data with a {os.path.splitext(item.rel)[1]} extension; "
                               "Pillow reads it by content, but other tools may not",
                               f"rename it, or let {PREPARE} write it with the right extension"))
        out.extend(_pixel_findings(ctx, item))
    return out


def _extension_matches(item: ImageFacts) -> bool:
    ext = os.path.splitext(item.rel)[1].lower()
    expected = {"JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "PNG": (".png",), "WEBP": (".webp",),
                "BMP": (".bmp",), "GIF": (".gif",), "TIFF": (".tif", ".tiff"), "AVIF": (".avif",)}
    return ext in expected.get(item.sniffed or "", (ext,))


def _problem(ctx: LintContext, item: ImageFacts, loaded: bool) -> Finding:
    """Broken files: an error when the trainer would try to open it (and fail), else a warning (skipped)."""
    if loaded:
        severity, effect = "error", f"{ctx.trainer} fails on it"
    else:
        severity, effect = "warning", f"{ctx.trainer} skips it, so it is not trained"
    return Finding(item.problem or "unreadable", severity, item.rel, f"{item.detail}; {effect}",
                   PROBLEM_FIXES.get(item.problem or "", PROBLEM_FIXES["unreadable"]))


def _not_loaded(ctx: LintContext, item: ImageFacts) -> Finding:
    ext = os.path.splitext(item.rel)[1].lower()
    loads = " ".join(sorted(ctx.extensions))
    return Finding("format-not-loaded", "warning", item.rel,
                   f"{ctx.trainer} does not load {ext} files (it loads {loads}), so this image is not trained",
                   "`fluxgen dataset prepare` converts it to PNG (or to --format jpg|webp)")


def _pixel_findings(ctx: LintContext, item: ImageFacts) -> list[Finding]:
    out = [f for f in (_orientation(ctx, item), _alpha(ctx, item), _mode(item)) if f]
    out.extend(_geometry(ctx, item))
    return out


def _orientation(ctx: LintContext, item: ImageFacts) -> Finding | None:
    if item.orientation in (0, 1) or item.orientation not in ORIENTATIONS:
        return None
    how = ORIENTATIONS[item.orientation]
    if ctx.backend == "ai-toolkit":
        return Finding("exif-rotated", "info", item.rel,
                       f"stored {how} with an EXIF orientation tag ({item.orientation}); ai-toolkit turns it "
                       "upright, other trainers (sd-scripts) would not",
                       f"{PREPARE} writes it upright so every trainer sees the same picture")
    return Finding("exif-rotated", "warning", item.rel,
                   f"stored {how} with an EXIF orientation tag ({item.orientation}); {ctx.trainer} ignores "
                   "the tag and trains it the way it is stored, so captions no longer match",
                   f"{PREPARE} writes it upright (on by default)")


def _alpha(ctx: LintContext, item: ImageFacts) -> Finding | None:
    if not item.has_alpha:
        return None
    fix = (f"{PREPARE} flattens it onto a colour (--background '#ffffff'), or keeps the transparency as a "
           "mask file (--alpha mask)")
    if item.alpha_used is False:
        return Finding("alpha-unused", "info", item.rel,
                       "has an alpha channel, but every pixel is opaque: harmless", f"{PREPARE} drops it")
    effects = {
        "ai-toolkit": "ai-toolkit trains the transparent areas as black and learns to draw them",
        "sd-scripts": "sd-scripts drops the alpha channel (unless alpha_mask is set), so whatever colour hides "
        "under the transparent pixels is trained, often black",
    }
    effect = effects.get(ctx.backend or "", "trainers drop the alpha channel and train whatever colour hides "
                         "under the transparent pixels, often black")
    return Finding("alpha", "warning", item.rel, f"transparent image ({item.mode}); {effect}", fix)


def _mode(item: ImageFacts) -> Finding | None:
    mode = item.mode
    if mode == "CMYK":
        return Finding("cmyk", "warning", item.rel,
                       "CMYK colours (print export); trainers convert them to RGB with a rough formula and the "
                       "colours shift", f"{PREPARE} converts it to RGB (with its ICC profile when it has one)")
    if mode in HIGH_BIT_MODES:
        return Finding("high-bit-depth", "warning", item.rel,
                       f"{mode} ({'16-bit' if mode.startswith('I;16') else '32-bit'} grayscale); converting it "
                       "to RGB clips every value above 255, so it trains as a white or washed-out picture",
                       f"{PREPARE} scales it down to 8 bits properly")
    if mode in ("P", "PA"):
        return Finding("palette", "info", item.rel,
                       "palette (indexed-colour) image; trainers expand it to RGB, fine unless it was meant to "
                       "have more colours", f"{PREPARE} stores it as plain RGB")
    if mode in ("L", "LA", "1", "La"):
        return Finding("grayscale", "info", item.rel,
                       "grayscale image; the LoRA learns grey pictures from it",
                       "fine if the look is meant to be grey; otherwise use a colour version")
    return None


def _geometry(ctx: LintContext, item: ImageFacts) -> list[Finding]:
    out = []
    width, height = item.width, item.height
    if item.orientation in (5, 6, 7, 8):
        width, height = height, width
    res = ctx.resolution
    if width * height < res * res:
        source = " (seed:000 asks for at least 1024×1024)" if res >= 1024 else ""
        out.append(Finding("too-small", "warning", item.rel,
                           f"{width}×{height} is smaller than the {res} px training resolution; the trainer "
                           f"upscales it and the LoRA learns a soft picture{source}",
                           "replace it with a larger original, or train at a lower --resolution"))
    long_side, short_side = max(width, height), max(1, min(width, height))
    if long_side / short_side >= EXTREME_ASPECT:
        out.append(Finding("extreme-aspect", "warning", item.rel,
                           f"{width}×{height} is {long_side / short_side:.1f}:1; it is trained in a thin bucket "
                           "where the subject ends up tiny or cut off",
                           "crop it closer to square (`fluxgen dataset prepare --crop square`)"))
    return out
