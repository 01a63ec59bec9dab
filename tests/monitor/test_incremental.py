"""Live parsing gives the same events as parsing the whole log, however the output is chunked."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from monitor.captures import ALL_CAPTURES, parse_whole, read_capture

from fluxgen.monitor import new_parser, parse_text, parser_module


def _chunked(backend: str, text: str, sizes) -> list:
    parser, events, i = new_parser(backend), [], 0
    for size in sizes:
        if i >= len(text):
            break
        events += parser.feed(text[i : i + size])
        i += size
    events += parser.feed(text[i:])
    return events + parser.close()


@pytest.mark.parametrize(("backend", "name"), ALL_CAPTURES)
def test_random_chunks_equal_the_whole_text(read, backend, name):
    text = read(backend, name)
    whole = parse_whole(backend, text)
    assert whole, "every capture says something"
    for seed in range(12):
        rng = random.Random(seed)
        sizes = [rng.choice([1, 2, 3, 5, 17, 64, 300, 4096]) for _ in range(len(text))]
        assert _chunked(backend, text, sizes) == whole, f"seed {seed}"


@pytest.mark.parametrize(("backend", "name"), ALL_CAPTURES)
def test_parse_of_lines_equals_the_incremental_parser(read, backend, name):
    text = read(backend, name)
    lines = text.splitlines(keepends=True)  # also splits at every carriage return
    assert parser_module(backend).parse(lines) == parse_text(backend, text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=3500), max_size=30))
def test_any_cut_points_in_a_redrawn_bar(logs, cuts):
    text = read_capture("ai-toolkit", "fresh-run.stderr")
    points = sorted(set(cuts))
    sizes = [b - a for a, b in zip([0, *points], points, strict=False) if b > a]
    assert _chunked("ai-toolkit", text, sizes) == parse_whole("ai-toolkit", text)


def test_a_complete_bar_is_given_out_before_its_line_ends():
    parser = new_parser("ai-toolkit")
    parser.feed("\rjob:   0%|          | 0/5 [00:00<?, ?it/s]")
    events = parser.feed("\rjob:  20%|██        | 1/5 [00:01<00:04,  1.00s/it, lr: 1.0e-04 loss: 1.5e+00]")
    assert [(e.type, e.step, e.loss) for e in events if e.type == "progress"] == [("progress", 1, 1.5)]
