"""Post-processing of captioner output, on fixed BLIP-2-like and Florence-like strings with exact results."""

from __future__ import annotations

import pytest

from fluxgen.dataset.caption_text import CaptionRules, cap_tokens, count_tokens, finish_caption, shape
from fluxgen.dataset.captions import STYLE_WORDS, remove_style_words, style_words

BLIP = "a woman with long hair in a garden"
FLORENCE = ("The image shows a photorealistic cybernetic skull with glowing blue eyes and copper wires, "
            "on a dark background.")


@pytest.mark.parametrize(("raw", "rules", "expected"), [
    # seed:001: trigger + first clause, articles dropped
    (BLIP, CaptionRules(mode="sparse", kind="style", trigger="zxy_style"), "zxy_style, woman with long hair in garden"),
    ("a man standing in a field, holding a red umbrella", CaptionRules(mode="sparse", trigger="zxy_style"),
     "zxy_style, man standing in field"),
    # seed:000: subject captions describe, trigger first, no style words
    (FLORENCE, CaptionRules(mode="detailed", kind="subject", trigger="CSKULL"),
     "CSKULL, a cybernetic skull with glowing blue eyes and copper wires, on a dark background"),
    (FLORENCE, CaptionRules(mode="tags", kind="subject", trigger="CSKULL"),
     "CSKULL, cybernetic skull, glowing blue eyes, copper wires, on dark background"),
    # a style keeps its words (they are what the LoRA learns), only the subject is shortened
    ("an anime girl in a garden, illustration", CaptionRules(mode="sparse", kind="style", trigger="GX"),
     "GX, anime girl in garden"),
    # template places the trigger; never twice
    ("a CSKULL on a throne", CaptionRules(trigger="CSKULL"), "a CSKULL on a throne"),
    (BLIP, CaptionRules(trigger="ohwx", template="a photo of {trigger}: {caption}"),
     "a photo of ohwx: a woman with long hair in a garden"),
    (BLIP, CaptionRules(template="{caption}"), "a woman with long hair in a garden"),
    # control characters and broken lines from a random model become one clean line
    ("\x08a skull\x00\n\non a table ", CaptionRules(trigger="T"), "T, a skull, on a table"),
])
def test_finish_caption_exact(raw, rules, expected):
    assert finish_caption(raw, rules)[0] == expected


def test_style_word_removal_is_noted_and_uses_the_linters_list():
    caption, notes = finish_caption("a skull, digital art, in comic style", CaptionRules(kind="character"))
    assert caption == "a skull"
    assert notes == ["style words removed: 'digital art', 'comic style' (seed:000)"]
    for word in STYLE_WORDS:  # one list: whatever the linter flags, the captioner removes
        cleaned, removed = remove_style_words(f"a skull, {word}, on a table")
        assert removed and not style_words(cleaned), word


def test_lead_in_of_captioners_is_dropped():
    assert shape("This image depicts a red fox.", "detailed") == "This image depicts a red fox"
    assert finish_caption("This image depicts a red fox.", CaptionRules())[0] == "a red fox"
    assert finish_caption("In this picture, a red fox.", CaptionRules())[0] == "a red fox"


def test_token_cap_names_the_encoder():
    long = " ".join(["word"] * 100)
    cut, note = cap_tokens(long, "clip")
    assert count_tokens(cut) == 77 and note == "cut to about 77 tokens: CLIP reads no further"
    assert cap_tokens(long, "t5") == (long, None)
    caption, notes = finish_caption(long, CaptionRules())
    assert caption == long
    assert notes == ["about 100 tokens: CLIP reads the first 77, T5 reads all of it"]
    cut, note = cap_tokens(" ".join(["word"] * 600), "t5")
    assert count_tokens(cut) == 512 and "T5" in note
