"""Read caption files the way a user saved them, say what is wrong with them, and normalise them."""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

NBSP_CHARS = "\u00a0\u2007\u202f"
# Invisible format characters that end up inside tokens when captions are pasted from the web.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# Bidirectional overrides, embeddings and isolates: invisible, and they reorder how the caption reads on screen
# (the "Trojan Source" trick), so what the user sees is not what the tokenizer gets.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
TRIGGER_PLACEHOLDER = "[trigger]"
# Style labels seed:000 says to keep out of subject captions ("photorealistic", "comic style", …).
STYLE_WORDS: tuple[str, ...] = (
    "photorealistic", "photorealism", "photo-realistic", "hyperrealistic", "hyper-realistic", "realistic",
    "comic style", "comic book", "cartoon", "anime", "manga", "illustration", "oil painting", "watercolor",
    "watercolour", "pencil sketch", "pencil drawing", "sketch", "digital art", "digital painting", "3d render",
    "octane render", "unreal engine", "cgi", "pixar", "concept art", "art style", "in the style of",
    "painterly", "cel shaded", "cel-shaded", "line art", "lineart", "pixel art", "vector art",
)
_STYLE_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in STYLE_WORDS) + r")(?![\w-])", re.I)
# Words a trigger must not be made of: the model already knows them, so the LoRA cannot own them (seed:000,
# seed:001). The guides' own rare tokens (sks, ohwx; seed:003) are fine.
GENERIC_TRIGGERS = frozenset(
    {"style", "art", "artwork", "painting", "illustration", "photo", "photograph", "drawing", "portrait", "anime",
     "cartoon", "image", "picture", "person", "man", "woman", "girl", "boy", "dog", "cat", "skull", "face",
     "character", "object", "concept", "subject", "the", "a", "an", "lora", "flux"}
)


def is_common_trigger(trigger: str) -> bool:
    """A trigger made only of common words (or too short to be a token of its own)."""
    words = {w.strip(",.").lower() for w in trigger.split()}
    return len(trigger.strip()) < 3 or bool(words) and words <= GENERIC_TRIGGERS


@dataclass
class CaptionFacts:
    """A caption as decoded plus what was found wrong with its bytes."""

    rel: str
    text: str = ""
    encoding: str = "utf-8"
    bom: bool = False
    not_utf8: bool = False
    empty_file: bool = False
    nbsp: int = 0
    controls: list[str] = field(default_factory=list)
    multiline: bool = False
    error: str | None = None

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def decode_caption(raw: bytes) -> tuple[str, str, bool]:
    """Decode caption bytes: UTF-8 (with or without BOM), UTF-16, else Windows-1252/Latin-1 as saved by old editors.

    Returns (text, encoding name, had a BOM).
    """
    if raw.startswith(codecs.BOM_UTF8):
        body = raw[len(codecs.BOM_UTF8):]
        try:
            return body.decode("utf-8"), "utf-8", True
        except UnicodeDecodeError:
            return _legacy(body), "windows-1252", True
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "utf-16", True
    if len(raw) >= 4 and raw.count(0) >= len(raw) // 4:  # text never holds NULs; UTF-16 without a BOM does
        codec = "utf-16-le" if raw[1::2].count(0) > raw[0::2].count(0) else "utf-16-be"
        return raw.decode(codec, errors="replace"), "utf-16", False
    try:
        return raw.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        return _legacy(raw), "windows-1252", False


def _legacy(raw: bytes) -> str:
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_caption(path: Path, rel: str) -> CaptionFacts:
    facts = CaptionFacts(rel=rel)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        facts.error = exc.strerror or str(exc)
        return facts
    facts.empty_file = not raw
    facts.text, facts.encoding, facts.bom = decode_caption(raw)
    facts.not_utf8 = facts.encoding != "utf-8"
    facts.nbsp = sum(facts.text.count(c) for c in NBSP_CHARS)
    facts.controls = sorted({f"U+{ord(c):04X}" for c in facts.text if _is_control(c)})
    facts.multiline = len([ln for ln in facts.text.splitlines() if ln.strip()]) > 1
    return facts


def _is_control(char: str) -> bool:
    if char in "\n\r\t":
        return False
    return unicodedata.category(char) == "Cc" or char in ZERO_WIDTH or char in BIDI_CONTROLS


def normalize_caption(text: str) -> str:
    """One clean line: NBSP → space, control, zero-width and bidi characters removed, lines joined, spaces
    collapsed."""
    for char in NBSP_CHARS:
        text = text.replace(char, " ")
    text = "".join(c for c in text if not _is_control(c))
    parts = [line.strip() for line in text.replace("\t", " ").splitlines() if line.strip()]
    joined = ""
    for part in parts:
        if joined:
            joined += " " if joined[-1] in ",.;:" else ", "
        joined += part
    return re.sub(r" {2,}", " ", joined).strip()


def style_words(text: str) -> list[str]:
    """Style labels found in a caption, lower-cased, in order of first appearance."""
    seen: list[str] = []
    for match in _STYLE_RE.finditer(text):
        word = match.group(1).lower()
        if word not in seen:
            seen.append(word)
    return seen


def remove_style_words(text: str) -> tuple[str, list[str]]:
    """The caption without the style labels the linter flags (the same list), and the labels removed.

    "in … style" goes with its label, and an article left before a consonant or before nothing is mended.
    """
    found = style_words(text)
    if not found:
        return text, []
    cleaned = re.sub(r"(?i)(?:\bin\s+(?:an?\s+)?)?" + _STYLE_RE.pattern + r"(?:\s+style\b)?", " ", text)
    cleaned = re.sub(r"(?i)\b(an?)\s+(?=[,.;:]|$)", "", cleaned)
    cleaned = re.sub(r"\b([Aa])n(\s+)(?=[b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z])", r"\1\2", cleaned)
    cleaned = re.sub(r"\s+([,.;:])", r"\1", cleaned)
    cleaned = re.sub(r"([,;:])(\s*[,;:])+", r"\1", cleaned)
    cleaned = re.sub(r" {2,}", " ", cleaned).strip(" ,;:")
    return cleaned, found


def word_count(text: str) -> int:
    return len(re.findall(r"[^\s,.;:]+", text))


def has_trigger(text: str, trigger: str) -> bool:
    """The trigger as a whole token (case-sensitive: the text encoder tells `OHWX` from `ohwx`)."""
    return re.search(r"(?<![\w])" + re.escape(trigger) + r"(?![\w])", text) is not None


def has_trigger_any_case(text: str, trigger: str) -> bool:
    return re.search(r"(?<![\w])" + re.escape(trigger) + r"(?![\w])", text, re.I) is not None


def apply_template(template: str, *, trigger: str | None, caption: str, name: str) -> str:
    """Fill `{trigger}`, `{caption}` and `{name}`, then drop separators left dangling by empty fields.

    A caption that already carries the trigger does not get it a second time.
    """
    if trigger and has_trigger(caption, trigger) and "{caption}" in template:
        trigger = None
    text = template.format(trigger=trigger or "", caption=caption, name=name)
    text = re.sub(r"\s+,", ",", text)
    text = re.sub(r",(\s*,)+", ",", text)
    text = re.sub(r" {2,}", " ", text)
    return text.strip().strip(",").strip()


def template_fields(template: str) -> set[str]:
    """Field names a template uses; raises ValueError on malformed braces."""
    import string

    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
