"""Caption checks: pairing with images, encodings, invisible characters, the trigger word and what captions say."""

from __future__ import annotations

from collections import defaultdict

from fluxgen.dataset.captions import (
    TRIGGER_PLACEHOLDER,
    CaptionFacts,
    has_trigger,
    has_trigger_any_case,
    style_words,
    word_count,
)
from fluxgen.dataset.findings import DATASET_PATH, Finding, LintContext, group_finding
from fluxgen.dataset.scan import Scan, stem_key

PREPARE = "`fluxgen dataset prepare`"
# More words than this in a style caption is "over-described" by seed:001's measure ("zxy_style, woman in garden").
STYLE_CAPTION_WORDS = 12
SUBJECT_KINDS = ("subject", "character")


def caption_findings(
    ctx: LintContext, scan: Scan, captions: dict[str, CaptionFacts], broken: set[str]
) -> list[Finding]:
    """`captions` maps a caption's relative path to what reading it found; `broken` images need no caption."""
    out = _pairing(ctx, scan, captions, broken)
    if ctx.caption_mode != "captions":
        unused = sorted(rel for rel in captions if rel in _paired(scan))
        if unused:
            what = "replaced by the trigger word" if ctx.caption_mode == "trigger" else "not used"
            out.append(group_finding("captions-unused", "info", unused,
                                     f"{len(unused)} caption file(s) will be {what} (--captions {ctx.caption_mode})",
                                     "pass --captions captions to train on the written captions"))
        return out
    for rel in sorted(_paired(scan) & captions.keys()):
        out.extend(_one_caption(ctx, captions[rel]))
    out.extend(_style_verbosity(ctx, [captions[r] for r in sorted(_paired(scan) & captions.keys())]))
    return out


def _paired(scan: Scan) -> set[str]:
    return {scan.caption_for(rel) for rel in scan.images}


def _pairing(ctx: LintContext, scan: Scan, captions: dict[str, CaptionFacts], broken: set[str]) -> list[Finding]:
    out: list[Finding] = []
    by_stem: dict[str, list[str]] = defaultdict(list)
    for rel in scan.images:
        by_stem[stem_key(rel)].append(rel)
    caption_stems = {stem_key(rel) for rel in captions}
    for _stem, all_rels in sorted(by_stem.items()):
        rels = [rel for rel in all_rels if rel not in broken]  # a broken image is reported, and never trained
        if len(rels) > 1 and ctx.caption_mode != "none":
            out.append(group_finding("caption-shared", "warning", rels,
                                     f"{len(rels)} images share one caption name ({scan.caption_for(rels[0])}), "
                                     "so they are trained with the same caption",
                                     f"rename all but one of them; {PREPARE} gives each image its own name"))
    mask_stems = {stem_key(rel) for rel in scan.masks}
    for rel in sorted(captions):
        if stem_key(rel) not in by_stem and stem_key(rel) not in mask_stems:
            out.append(Finding("caption-orphan", "warning", rel, "caption file with no image of the same name",
                               "rename it to match its image, or delete it"))
    if ctx.caption_mode == "captions":
        usable = [rel for rel in scan.images if rel not in broken]
        missing = [rel for rel in usable if stem_key(rel) not in caption_stems]
        if missing and len(missing) == len(usable):
            out.append(Finding("captions-none", "warning", DATASET_PATH,
                               f"no image has a caption file ({ctx.caption_ext}); every image is trained on an "
                               "empty caption",
                               f"write <image name>{ctx.caption_ext} captions, or pass --captions trigger (the "
                               "trigger word alone) or --captions none"))
        else:
            trained = _missing_caption_trained_on(ctx)
            out.extend(Finding("caption-missing", "warning", rel,
                               f"no caption file (expected {scan.caption_for(rel)}); {trained}",
                               "write the caption file, or `fluxgen dataset caption` to write the missing ones, "
                               "or pass --captions trigger")
                       for rel in missing)
    return out


def _missing_caption_trained_on(ctx: LintContext) -> str:
    """What the chosen trainer trains for an image with no caption file (the backend table says)."""
    if ctx.backend is None:
        if ctx.trigger:
            return (f"ai-toolkit, sd-scripts (class_tokens) and builtin train it on the trigger '{ctx.trigger}' "
                    "alone, with nothing that tells the subject from its surroundings")
        return "it is trained on an empty caption"
    if ctx.trigger and ctx.quirks.missing_caption_gets_trigger:
        return (f"{ctx.trainer} trains it on the trigger '{ctx.trigger}' alone, with nothing that tells the "
                "subject from its surroundings")
    return f"{ctx.trainer} trains it on an empty caption"


def _one_caption(ctx: LintContext, cap: CaptionFacts) -> list[Finding]:
    rel = cap.rel
    if cap.error:
        return [Finding("caption-unreadable", "error", rel, f"cannot read it ({cap.error})",
                        "check the file's permissions")]
    out: list[Finding] = []
    if cap.not_utf8:
        out.append(Finding("caption-not-utf8", "error", rel,
                           f"saved as {cap.encoding}, not UTF-8; the trainers read captions as UTF-8 and stop or "
                           "garble the accented letters", f"{PREPARE} re-saves it as UTF-8"))
    elif cap.bom:
        out.append(Finding("caption-bom", "warning", rel,
                           "starts with a byte-order mark (BOM); it becomes an invisible part of the first word",
                           f"{PREPARE} saves it without the BOM"))
    if cap.nbsp:
        out.append(Finding("caption-nbsp", "warning", rel,
                           f"{cap.nbsp} non-breaking space(s); they glue neighbouring words into one token",
                           f"{PREPARE} turns them into plain spaces"))
    if cap.controls:
        out.append(Finding("caption-control", "warning", rel,
                           f"invisible control characters ({', '.join(cap.controls)})",
                           f"{PREPARE} removes them"))
    if cap.multiline and ctx.quirks.first_caption_line_only:
        out.append(Finding("caption-multiline", "warning", rel,
                           "several lines; sd-scripts trains on the first line only",
                           f"put the caption on one line ({PREPARE} joins the lines)"))
    if cap.blank:
        out.append(_empty(ctx, cap))
        return out
    out.extend(_trigger(ctx, cap))
    words = style_words(cap.text)
    if words and ctx.kind in SUBJECT_KINDS:
        quoted = ", ".join(f"'{w}'" for w in words)
        out.append(Finding("caption-style-words", "warning", rel,
                           f"style words in a {ctx.kind} caption ({quoted}); the LoRA ties the {ctx.kind} to that "
                           "look instead of staying flexible (seed:000)",
                           "remove the style words and describe only what is in the picture"))
    return out


def _empty(ctx: LintContext, cap: CaptionFacts) -> Finding:
    if cap.empty_file and ctx.quirks.empty_caption_file_fails:
        return Finding("caption-empty", "error", cap.rel, "empty caption file (0 bytes); sd-scripts stops on it",
                       "write the caption, or delete the file and pass --captions trigger")
    return Finding("caption-empty", "warning", cap.rel, "empty caption; the image is trained on no text",
                   "write the caption, or pass --captions trigger to train on the trigger word alone")


def _trigger(ctx: LintContext, cap: CaptionFacts) -> list[Finding]:
    text, rel, trigger = cap.text, cap.rel, ctx.trigger
    if TRIGGER_PLACEHOLDER in text.lower():
        return [_placeholder(ctx, rel)]
    if not trigger or has_trigger(text, trigger):
        return []
    fix = f"add '{trigger}' to the caption, or `fluxgen dataset prepare --trigger {trigger} --caption-template '{{trigger}}, {{caption}}'`"
    if has_trigger_any_case(text, trigger):
        return [Finding("trigger-missing", "warning", rel,
                        f"the trigger '{trigger}' appears only with different capitals; the text encoder treats "
                        "them as different words", fix)]
    if ctx.quirks.adds_missing_trigger:
        return [Finding("trigger-missing", "info", rel,
                        f"the trigger '{trigger}' is not in the caption; {ctx.trainer} adds it at the start", fix)]
    return [Finding("trigger-missing", "warning", rel,
                    f"the trigger '{trigger}' is not in the caption, so this image does not teach it "
                    "(seed:000: the trigger in every caption)", fix)]


def _placeholder(ctx: LintContext, rel: str) -> Finding:
    fix = "`fluxgen dataset prepare --trigger WORD` writes the word in its place"
    if ctx.quirks.replaces_trigger_placeholder:
        if ctx.trigger:
            return Finding("trigger-placeholder", "info", rel,
                           f"'[trigger]' placeholder; ai-toolkit replaces it with '{ctx.trigger}'", fix)
        return Finding("trigger-placeholder", "warning", rel,
                       "'[trigger]' placeholder but no trigger word; ai-toolkit replaces it with nothing",
                       "pass --trigger WORD")
    if ctx.quirks.replaces_trigger_placeholder is False:
        return Finding("trigger-placeholder", "warning", rel,
                       "'[trigger]' placeholder; sd-scripts trains the literal text '[trigger]'", fix)
    return Finding("trigger-placeholder", "info", rel,
                   "'[trigger]' placeholder (fal convention); ai-toolkit replaces it, sd-scripts does not", fix)


def _style_verbosity(ctx: LintContext, caps: list[CaptionFacts]) -> list[Finding]:
    if ctx.kind != "style":
        return []
    long = [c.rel for c in caps if word_count(c.text) > STYLE_CAPTION_WORDS]
    if not long:
        return []
    return [group_finding("caption-verbose", "warning", long,
                          f"{len(long)} of {len(caps)} style captions have more than {STYLE_CAPTION_WORDS} words; "
                          "detailed captions teach the content instead of the style (seed:001 wants sparse "
                          "captions such as 'zxy_style, woman in garden')",
                          "cut them to the trigger and a few words, or pass --captions trigger")]
