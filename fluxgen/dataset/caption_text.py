"""What a LoRA trainer needs from a captioner's words: one clean line, the mode's length, no style labels for a
subject, the trigger where the template puts it, and a length the text encoders read.

Pure functions over strings, so the rules are tested on fixed model outputs (seed:000, seed:001).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fluxgen.dataset.captions import apply_template, normalize_caption, remove_style_words

MODES = ("detailed", "sparse", "tags")
DEFAULT_TEMPLATE = "{trigger}, {caption}"
# What FLUX.1's two text encoders read: CLIP-L stops at 77 tokens, T5-XXL at 512 (ref:sd-scripts §7).
ENCODER_TOKENS = {"t5": 512, "clip": 77}
SUBJECT_KINDS = ("subject", "character")
# Lead-ins captioners put before the description (Florence-2: "The image shows …", VLMs: "This image depicts …").
_LEAD_IN = re.compile(
    r"^(?:in\s+)?(?:the|this)\s+(?:image|picture|photo(?:graph)?|illustration|artwork|scene)\s*"
    r"(?:shows|depicts|features|presents|contains|captures|is\s+of|is)?\s*[,:]?\s*", re.I)
_ARTICLES = re.compile(r"(?i)\b(?:a|an|the)\s+")
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class CaptionRules:
    """How model output becomes a training caption."""

    mode: str = "detailed"
    kind: str | None = None
    trigger: str | None = None
    template: str = DEFAULT_TEMPLATE
    encoder: str = "t5"  # the encoder whose limit cuts the caption: t5 (512) or clip (77)


def default_mode(kind: str | None) -> str:
    """Styles want sparse captions (seed:001: 'zxy_style, woman in garden'); the rest a description (seed:000)."""
    return "sparse" if kind == "style" else "detailed"


def finish_caption(raw: str, rules: CaptionRules, name: str = "") -> tuple[str, list[str]]:
    """The training caption for one image's model output, and notes on what was changed."""
    notes: list[str] = []
    text = _LEAD_IN.sub("", normalize_caption(raw), count=1)
    if rules.kind in SUBJECT_KINDS:
        text, removed = remove_style_words(text)
        if removed:
            notes.append("style words removed: " + ", ".join(f"'{w}'" for w in removed) + " (seed:000)")
    text = shape(text, rules.mode)
    text = apply_template(rules.template, trigger=rules.trigger, caption=text, name=name)
    text, cut = cap_tokens(text, rules.encoder)
    if cut:
        notes.append(cut)
    clip = count_tokens(text)
    if rules.encoder == "t5" and clip > ENCODER_TOKENS["clip"]:
        notes.append(f"about {clip} tokens: CLIP reads the first {ENCODER_TOKENS['clip']}, T5 reads all of it")
    return text, notes


def shape(text: str, mode: str) -> str:
    """detailed: the description; sparse: its first clause without articles; tags: comma-separated phrases."""
    text = text.strip().rstrip(".").strip()
    if mode == "sparse":
        first = next((part for part in re.split(r"[,.;:]", text) if part.strip()), "")
        return _ARTICLES.sub("", first).strip()
    if mode == "tags":
        parts = re.split(r"[,.;:]|\s+(?:and|with|while)\s+", text)
        tags: list[str] = []
        for part in parts:
            tag = _ARTICLES.sub("", part).strip().lower()
            if tag and tag not in tags:
                tags.append(tag)
        return ", ".join(tags)
    return text


def count_tokens(text: str) -> int:
    """Tokens a BPE text encoder needs, estimated: one per word or mark, two for a word over 8 letters."""
    return sum(2 if len(t) > 8 else 1 for t in _TOKEN.findall(text))


def cap_tokens(text: str, encoder: str) -> tuple[str, str | None]:
    """Cut at a word boundary so the encoder reads all of it; the note names the encoder."""
    limit = ENCODER_TOKENS[encoder]
    if count_tokens(text) <= limit:
        return text, None
    used, end = 0, 0
    for match in _TOKEN.finditer(text):
        used += 2 if len(match.group()) > 8 else 1
        if used > limit:
            break
        end = match.end()
    cut = text[:end].rstrip(" ,;:")
    return cut, f"cut to about {limit} tokens: {encoder.upper()} reads no further"
