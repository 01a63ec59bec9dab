"""Per-image checks: files a trainer cannot read, formats it skips, and pixels it would train wrongly."""

from __future__ import annotations

import os

from fluxgen.dataset.findings import Finding, LintContext
from fluxgen.dataset.images import HIGH_BIT_MODES, ImageFacts, megapixels
from fluxgen.dataset.scan import IMAGE_EXTENSIONS_BY_BACKEND, trainers_loading

EXTREME_ASPECT = 3.0
PREPARE = "`fluxgen dataset prepare`"

PROBLEM_FIXES = {
    "zero-byte": "copy the image again from where it came from, or delete it",
    "not-an-image": "delete it, or give it the extension of what it really is",
    "truncated": "copy or export it again from the original; prepare skips it",
    "unreadable": "export it again from the original (or delete it); prepare skips it",
    "decompression-bomb": "downscale it in an image editor (Pillow refuses to open it) or delete it; prepare "
    "skips it",
    "unsupported-format": "convert it to JPEG or PNG (for iPhone photos: export as 'Most Compatible', or "
    "use a converter such as heif-convert); prepare skips it",
}
# Trainers that apply the EXIF orientation when they load a picture (sd-scripts does not).
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
    ext = os.path.splitext(item.rel)[1].lower()
    takers, skippers = _who_loads(ctx, ext)
    if loaded:
        severity = "error"
        effect = f"{ctx.backend} fails on it" if ctx.backend else "the trainers fail on it (sd-scripts stops the run)"
    elif takers:
        severity = "warning"
        effect = f"{_verb(takers, 'fails', 'fail')} on it, {_verb(skippers, 'skips', 'skip')} it"
    elif ctx.backend:
        severity, effect = "warning", f"{ctx.backend} skips it, so it is not trained"
    else:
        severity, effect = "warning", f"no trainer loads {ext} files, so it is skipped"
    return Finding(item.problem or "unreadable", severity, item.rel, f"{item.detail}; {effect}",
                   PROBLEM_FIXES.get(item.problem or "", PROBLEM_FIXES["unreadable"]))


def _who_loads(ctx: LintContext, ext: str) -> tuple[list[str], list[str]]:
    """(trainers that pick up this extension, trainers that skip it), for the chosen backend or for all."""
    names = [ctx.backend] if ctx.backend else list(IMAGE_EXTENSIONS_BY_BACKEND)
    takers = [n for n in names if n in trainers_loading(ext)]
    return takers, [n for n in names if n not in takers]


def join_names(names: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _verb(names: list[str], one: str, many: str) -> str:
    return f"{join_names(names)} {one if len(names) == 1 else many}"


def _not_loaded(ctx: LintContext, item: ImageFacts) -> Finding:
    ext = os.path.splitext(item.rel)[1].lower()
    fix = "`fluxgen dataset prepare` converts it to PNG (or to --format jpg|webp)"
    takers, skippers = _who_loads(ctx, ext)
    if ctx.backend:
        loads = " ".join(sorted(ctx.extensions))
        message = f"{ctx.backend} does not load {ext} files (it loads {loads}), so this image is not trained"
    elif takers:
        message = (f"{_verb(skippers, 'does', 'do')} not load {ext} files ({_verb(takers, 'does', 'do')}), so "
                   "this image is not trained there")
    else:
        message = f"no trainer loads {ext} files, so this image is not trained"
    return Finding("format-not-loaded", "warning", item.rel, message, fix)


def _pixel_findings(ctx: LintContext, item: ImageFacts) -> list[Finding]:
    checks = (_huge(item), _orientation(ctx, item), _alpha(ctx, item), _mode(item), _profile(item))
    return [f for f in checks if f] + _geometry(ctx, item)


def _huge(item: ImageFacts) -> Finding | None:
    if item.huge_limit is None:
        return None
    return Finding("decompression-bomb", "warning", item.rel,
                   f"{item.width}×{item.height} is {megapixels(item.width * item.height)}, above Pillow's "
                   f"{megapixels(item.huge_limit)} warning limit; the trainers load it, but slowly and with a lot "
                   "of memory, every time it comes up",
                   f"{PREPARE} downscales it to the training resolution")


def _profile(item: ImageFacts) -> Finding | None:
    if item.profile is None:
        return None
    return Finding("colour-profile", "warning", item.rel,
                   f"colours stored in the '{item.profile}' colour profile; trainers ignore profiles and read the "
                   "values as sRGB, so the LoRA learns shifted (usually duller) colours",
                   f"{PREPARE} converts it to sRGB")


def _orientation(ctx: LintContext, item: ImageFacts) -> Finding | None:
    if item.orientation in (0, 1) or item.orientation not in ORIENTATIONS:
        return None
    stored = f"stored {ORIENTATIONS[item.orientation]} with an EXIF orientation tag ({item.orientation})"
    if ctx.quirks.applies_exif_orientation:
        return Finding("exif-rotated", "info", item.rel,
                       f"{stored}; {ctx.backend} turns it upright, sd-scripts would not",
                       f"{PREPARE} writes it upright so every trainer sees the same picture")
    if ctx.backend:
        effect = f"{ctx.backend} ignores the tag and trains it the way it is stored"
    else:
        effect = "sd-scripts ignores the tag and trains it the way it is stored (ai-toolkit turns it upright)"
    return Finding("exif-rotated", "warning", item.rel, f"{stored}; {effect}, so captions no longer match",
                   f"{PREPARE} writes it upright (on by default)")


def _alpha(ctx: LintContext, item: ImageFacts) -> Finding | None:
    if not item.has_alpha:
        return None
    fix = (f"{PREPARE} flattens it onto a colour (--background '#ffffff'), or keeps the transparency for masked "
           "training (--alpha mask or --alpha keep)")
    if item.alpha_used is False:
        return Finding("alpha-unused", "info", item.rel,
                       "has an alpha channel, but every pixel is opaque: harmless", f"{PREPARE} drops it")
    return Finding("alpha", "warning", item.rel, f"transparent image ({item.mode}); {ctx.quirks.alpha_effect}", fix)


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
    width, height = item.upright_size
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
