"""Dataset-wide findings: duplicates, repeated compositions, and the guides' advice for the kind of LoRA."""

from __future__ import annotations

from collections.abc import Callable

from fluxgen.dataset import dedupe
from fluxgen.dataset.captions import is_common_trigger
from fluxgen.dataset.findings import DATASET_PATH, Finding, LintContext, group_finding
from fluxgen.dataset.images import ImageFacts

PREPARE = "`fluxgen dataset prepare`"

# kind -> (too few below, advised range text, guides). From seed:000 (subject), seed:001/seed:004 (style),
# seed:003/seed:004 (character), seed:004 (concept).
IMAGE_COUNTS: dict[str, tuple[int, int, int, str]] = {
    "subject": (10, 20, 30, "seed:000: at least 10, 20–30 recommended"),
    "style": (15, 20, 200, "seed:001: 15–30; seed:000: 20–30 or more; seed:004: 50–200"),
    "character": (15, 30, 50, "seed:003: 15–20 minimum, 30–50 recommended; seed:004: 15–50"),
    "concept": (10, 10, 30, "seed:004: 10–30"),
}


def duplicate_findings(
    facts: list[ImageFacts], pixel_digest: Callable[[int], str | None]
) -> tuple[list[Finding], list[list[str]]]:
    """Exact copies (same pixels, any name or format), look-alikes, and one composition repeated.

    Also returns the exact-copy groups as relative paths, for `prepare` to skip the copies.
    """
    look_alikes = dedupe.look_alike_groups([f.dhash for f in facts], [f.thumb for f in facts])
    exact = dedupe.exact_groups([f.digest if f.ok else None for f in facts], [f.upright_size for f in facts],
                                look_alikes, pixel_digest)
    out = []
    for group in exact:
        rels = [facts[i].rel for i in group]
        out.append(group_finding("duplicate", "warning", rels,
                                 f"{len(rels)} copies of one picture (same pixels); it is trained "
                                 f"{len(rels)} times as often and the LoRA overfits to it",
                                 f"keep one of them ({PREPARE} keeps the first and skips the copies)"))
    for group in dedupe.near_groups(look_alikes, exact):
        rels = [facts[i].rel for i in group]
        out.append(group_finding("near-duplicate", "warning", rels,
                                 f"{len(rels)} images look almost the same; redundant images "
                                 "make the LoRA copy that one composition (seed:000: avoid redundancy)",
                                 "keep the best one, or replace the others with different shots"))
    out.extend(_composition(facts, look_alikes))
    return out, [[facts[i].rel for i in group] for group in exact]


def _composition(facts: list[ImageFacts], look_alikes: list[list[int]]) -> list[Finding]:
    """Repeated layouts among different pictures: each look-alike group counts once (by its first member)."""
    thumbs = [f.thumb for f in facts]
    for group in look_alikes:
        for i in group[1:]:
            thumbs[i] = None
    loaded = sum(1 for f in facts if f.ok)
    out = []
    for group in dedupe.composition_groups(thumbs):
        rels = [facts[i].rel for i in group]
        severity = "warning" if len(rels) * 3 >= loaded else "info"
        out.append(group_finding("same-composition", severity, rels,
                                 f"{len(rels)} images share one composition; seed:001 lists "
                                 "'too many images with same composition' as a common mistake",
                                 "vary framing, angle and background across the set"))
    return out


def kind_advice(ctx: LintContext, facts: list[ImageFacts], image_count: int) -> list[Finding]:
    out = []
    if image_count == 0:
        out.append(Finding("no-images", "error", DATASET_PATH,
                           f"no image {ctx.backend} can load in this folder" if ctx.backend else
                           "no image in this folder that the trainers load",
                           f"add .jpg or .png images (a trainer loads {' '.join(sorted(ctx.extensions))})"))
    elif ctx.kind in IMAGE_COUNTS:
        out.extend(_count_advice(ctx.kind, image_count))
    out.extend(_trigger_advice(ctx))
    if ctx.kind == "subject":
        loaded = [f for f in facts if f.ok and f.width and f.height]
        odd = [f.rel for f in loaded if f.width != f.height]
        if odd:
            out.append(group_finding("not-square", "info", odd,
                                     f"{len(odd)} of {len(loaded)} images are not square; seed:000 recommends 1:1 "
                                     "crops centred on the subject",
                                     "`fluxgen dataset prepare --crop square`, or crop by hand to keep the subject centred"))
    return out


def _count_advice(kind: str, count: int) -> list[Finding]:
    low, good_low, high, source = IMAGE_COUNTS[kind]
    if count < low:
        return [Finding("image-count", "warning", DATASET_PATH,
                        f"{count} image(s) for a {kind} LoRA; that is too few ({source})",
                        "add more varied images of the same " + ("style" if kind == "style" else kind))]
    if count < good_low:
        return [Finding("image-count", "info", DATASET_PATH,
                        f"{count} images for a {kind} LoRA; enough to start, more help ({source})",
                        "add varied images if you have them")]
    if count > high:
        return [Finding("image-count", "info", DATASET_PATH,
                        f"{count} images for a {kind} LoRA, more than the guides use ({source})",
                        "fine if they are all good and varied; otherwise keep the best")]
    return []


def _trigger_advice(ctx: LintContext) -> list[Finding]:
    trigger = ctx.trigger
    if trigger is None:
        if ctx.caption_mode == "trigger":
            return [Finding("trigger-none", "info", DATASET_PATH,
                            "--captions trigger without a trigger word: the images train with empty captions, so "
                            "the LoRA is always on (seed:000 calls this a valid choice for a style)",
                            "pass --trigger WORD to switch the LoRA on by a word")]
        return []
    if is_common_trigger(trigger):
        return [Finding("trigger-common", "warning", DATASET_PATH,
                        f"'{trigger}' is a common word; the model already knows it, so the LoRA and the base "
                        "model fight over it (seed:000, seed:001: use a unique token)",
                        "pick a made-up token such as 'zxy_style' or 'ohwx'")]
    return []


def mask_findings(ctx: LintContext, masks: list[str]) -> list[Finding]:
    if not masks:
        return []
    if ctx.quirks.trains_mask_files:
        return [group_finding("mask-file", "warning", masks,
                              f"{len(masks)} mask file(s) named <image>_mask next to their images; {ctx.trainer} "
                              "would train them as ordinary images",
                              "move them to a folder of their own, named like their images (a_mask.png → a.png), "
                              "for ai-toolkit's mask_path; or keep the images transparent for alpha_mask "
                              "(`fluxgen dataset prepare --alpha keep`)")]
    return [group_finding("mask-file", "info", masks,
                          f"{len(masks)} mask file(s) named <image>_mask (fal convention); not counted as images",
                          "keep them for trainers that read <image>_mask files")]
