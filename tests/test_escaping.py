"""Every string and float the renderer emits reads back exactly with PyYAML, tomllib and toml 0.10.2."""

from __future__ import annotations

import tomllib

import pytest
import toml
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fluxgen.errors import UserError
from fluxgen.render import fmt_float, toml_value, yaml_value

# Any text without surrogates (which no UTF-8 file can hold).
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
HOSTILE = ['CSKULL "quoted"', "back\\slash", "# not a comment", "key: value", "ünïcödé", "emoji 💀🔥", "tab\tx",
           "\u2028line", "nel\x85", "bom\ufeff", "del\x7f", "'single'", "${HOME}", "[trigger]", "a\\u0041"]


@given(texts)
@settings(max_examples=300)
@example(HOSTILE[0])
def test_yaml_string_round_trip(s: str) -> None:
    assert yaml.safe_load(f"k: {yaml_value(s)}\n") == {"k": s}


@given(texts)
@settings(max_examples=1000)
@example('"')
@example('""')
@example("'\"")
@example("\"'")
def test_toml_string_round_trip_both_readers(s: str) -> None:
    """Either both readers read the value back exactly, or the renderer refuses it with a UserError."""
    try:
        doc = f"k = {toml_value(s)}\n"
    except UserError:
        return
    assert tomllib.loads(doc) == {"k": s}
    assert toml.loads(doc) == {"k": s}


def test_ordinary_hard_values_are_not_refused() -> None:
    """Commas in optimizer args, quotes inside a trigger, backslashes in Windows paths all render."""
    for value in (["betas=(0.9,0.99)", "weight_decay=0.01"], 'C"SKULL', "C:\\data\\imgs", '"quoted" name'):
        doc = f"k = {toml_value(value)}\n"
        assert toml.loads(doc) == tomllib.loads(doc) == {"k": value}


def test_values_toml_cannot_carry_are_refused() -> None:
    for value in ('""\'', '""\t'):
        with pytest.raises(UserError, match="cannot read this text back exactly; rephrase it"):
            toml_value(value)


def test_hostile_strings_round_trip() -> None:
    for s in HOSTILE:
        assert yaml.safe_load(f"k: {yaml_value(s)}\n") == {"k": s}
        assert tomllib.loads(f"k = {toml_value(s)}\n") == {"k": s}
        assert toml.loads(f"k = {toml_value(s)}\n") == {"k": s}


@given(st.floats(allow_nan=False, allow_infinity=False))
@settings(max_examples=300)
@example(1e-4)
@example(5e-5)
@example(3.1582)
@example(1.0)
@example(1e16)
def test_floats_read_back_as_floats(x: float) -> None:
    text = fmt_float(x)
    loaded = yaml.safe_load(f"k: {text}\n")["k"]
    assert isinstance(loaded, float) and loaded == x
    assert tomllib.loads(f"k = {text}\n")["k"] == x
    assert toml.loads(f"k = {text}\n")["k"] == x


def test_small_floats_keep_a_dot_and_signed_exponent() -> None:
    assert fmt_float(1e-4) == "0.0001"
    assert fmt_float(5e-5) == "5.0e-05"
    assert fmt_float(2) == "2.0"


@given(st.lists(st.one_of(texts, st.integers(-10**9, 10**9), st.booleans(),
                          st.floats(allow_nan=False, allow_infinity=False)), max_size=6))
def test_lists_round_trip(items: list) -> None:
    """Mixed lists for YAML and tomllib; toml 0.10.2 (sd-scripts' reader) only reads lists of one type."""
    assert yaml.safe_load(f"k: {yaml_value(items)}\n") == {"k": items}
    assert tomllib.loads(f"k = {toml_value(items)}\n") == {"k": items}


@given(st.lists(texts, max_size=6))
def test_string_lists_round_trip_both_toml_readers(items: list[str]) -> None:
    try:
        doc = f"k = {toml_value(items)}\n"
    except UserError:
        return
    assert tomllib.loads(doc) == {"k": items}
    assert toml.loads(doc) == {"k": items}
