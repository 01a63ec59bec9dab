"""The shared part of `fluxgen import`: every backend imports, the writer round-trips any text, lines are found."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fluxgen.backends import BACKENDS
from fluxgen.backends.base import Backend
from fluxgen.fsio import load_yaml_text
from fluxgen.importer import Imported, Where, intent_yaml, toml_lines, yaml_lines


def test_every_registered_backend_imports_its_files() -> None:
    """A backend added to the registry without an importer fails here, not in a user's hands."""
    missing = [name for name in BACKENDS if type(BACKENDS[name]).import_config is Backend.import_config]
    assert missing == []


one_line = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x7f"),
                   min_size=1, max_size=40).filter(lambda s: s.strip())
# a trigger with spaces at either end is refused by the schema (sd-scripts' sample prompts drop them)
trigger_text = one_line.filter(lambda s: s == s.strip())


@settings(max_examples=60, deadline=None)
@given(trigger=trigger_text, prompts=st.lists(one_line, min_size=1, max_size=3), name=one_line)
def test_written_intent_reads_back_exactly(trigger: str, prompts: list[str], name: str) -> None:
    out = Imported("ai-toolkit", ["their.yaml"])
    out.set("trigger", trigger, Where("their.yaml", 3, "config.process.0.trigger_word"))
    out.set("samples.prompts", prompts, Where("their.yaml", 9, "config.process.0.sample.prompts"))
    out.set("train.optimizer_args", {"weight_decay": 0.01, "betas": [0.9, 0.99]}, "a default")
    out.leave_out(Where("their.yaml", 4, name), name, "no intent key")
    data = load_yaml_text(intent_yaml(out), "i.yaml")
    assert data["trigger"] == trigger and data["samples"]["prompts"] == prompts
    assert data["train"]["optimizer_args"] == {"weight_decay": 0.01, "betas": [0.9, 0.99]}


def test_each_value_has_its_origin_comment() -> None:
    out = Imported("sd-scripts", ["args.toml"])
    out.set("network.rank", 16, Where("args.toml", 11, "network_dim"))
    text = intent_yaml(out)
    assert "network:\n  rank: 16  # imported from args.toml:11 (network_dim)\n" in text


def test_toml_lines_follow_arrays_of_tables() -> None:
    text = ('[general]\nshuffle_caption = false\n\n[[datasets]]\nresolution = 512\n  [[datasets.subsets]]\n'
            '  image_dir = "a"\n  [[datasets.subsets]]\n  image_dir = "b"\n[[datasets]]\nresolution = 1024\n'
            '  [[datasets.subsets]]\n  image_dir = "c"\n')
    lines = toml_lines(text)
    assert lines["general.shuffle_caption"] == 2
    assert lines["datasets.0.subsets.1.image_dir"] == 9
    assert lines["datasets.1.resolution"] == 11
    assert lines["datasets.1.subsets.0.image_dir"] == 13


def test_yaml_lines_index_list_items() -> None:
    lines = yaml_lines("config:\n  process:\n    - type: sd_trainer\n      network:\n        linear: 16\n")
    assert lines["config.process.0.network.linear"] == 5
