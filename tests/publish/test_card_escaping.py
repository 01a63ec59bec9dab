"""Any one-line prompt or trigger survives the card's YAML front matter as the Hub's parser reads it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fluxgen.publish.card import render_card

one_line = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40).filter(
    lambda t: t.strip() == t and t.strip())


def _info(trigger: str, prompt: str) -> dict:
    return {"repo": "me/x", "name": "x", "kind": "subject", "trigger": trigger, "base_model": None,
            "backend": "builtin", "steps": 10, "files": [{"file": "x_v1_10steps.safetensors", "note": "kohya"}],
            "strength": "1", "strength_range": ("0.8", "1.2"), "strength_note": "1", "evaluation": None,
            "widget": [{"prompt": prompt, "file": "samples/01.png"}], "values": {}, "origins": {}}


@settings(max_examples=150, deadline=None)
@given(trigger=one_line, prompt=one_line)
def test_front_matter_round_trips(trigger: str, prompt: str):
    from huggingface_hub import ModelCard

    data = ModelCard(render_card(_info(trigger, prompt))).data.to_dict()
    assert data["instance_prompt"] == trigger
    assert data["widget"][0]["text"] == prompt
