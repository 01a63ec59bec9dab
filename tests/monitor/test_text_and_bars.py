"""Stream → lines (carriage returns, escapes, glued lines) and tqdm bars, on real and tqdm-made text."""

from __future__ import annotations

import io

import pytest

from fluxgen.monitor.text import LineSplitter, iter_lines, split_glued, strip_ansi
from fluxgen.monitor.tqdm import parse_bar, parse_interval, parse_postfix


def test_carriage_returns_cursor_up_and_blank_redraws(read):
    text = read("ai-toolkit", "fresh-run.stderr")
    lines = list(iter_lines(text))
    assert all("\x1b" not in t and "\r" not in t and t.strip() for _, t in lines)
    sampling = [t for _, t in lines if t.startswith("Generating Images:  50%")]
    assert sampling[1] == "Generating Images:  50%|█████     | 1/2 [00:01<00:01,  1.47s/it]"  # ESC[A removed
    assert (10, sampling[1]) in lines  # physical line numbers count newlines only
    assert strip_ansi("\x1b[1;32mok\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07") == "ok link"


def test_a_log_record_glued_to_a_bar_is_its_own_line(read):
    text = read("sd-scripts", "success-cols200.log")
    lines = [t for _, t in iter_lines(text)]
    i = lines.index("steps: 100%|██████████| 8/8 [00:00<00:00, 14.15it/s, avr_loss=1.48]")
    assert lines[i + 1].startswith("2026-11-21 22:31:50 INFO  ") and lines[i + 1].endswith(
        "train_util.py:5989"
    )
    assert split_glued("x:  10%|█ | 1/9 [00:01<00:08,  1.00it/s]huggingface/tokenizers: forked") == [
        "x:  10%|█ | 1/9 [00:01<00:08,  1.00it/s]",
        "huggingface/tokenizers: forked",
    ]
    assert split_glued("Missing keys: []") == ["Missing keys: []"]


def test_splitter_keeps_partial_lines_until_they_end():
    splitter = LineSplitter()
    assert splitter.feed("hel") == []
    assert splitter.feed("lo\r\nwor") == [(1, "hello")]
    assert splitter.close() == [(2, "wor")]


def test_bars_of_both_trainers():
    bar = parse_bar(
        "tiny_flux_lora:  86%|████████▌ | 6/7 [00:01<00:01,  1.58s/it, lr: 1.0e-04 loss: 1.412e+00]"
    )
    assert (bar.desc, bar.n, bar.total, bar.percent) == ("tiny_flux_lora", 6, 7, 86)
    assert (bar.seconds_per_it, bar.loss, bar.lr, bar.elapsed, bar.remaining) == (1.58, 1.412, 1e-4, 1, 1)
    bar = parse_bar("steps:   0%|          | 5/1000 [1:02:03<41:27,  2.50s/it, avr_loss=0.312]")
    assert (bar.desc, bar.loss, bar.lr, bar.elapsed, bar.remaining) == ("steps", 0.312, None, 3723, 2487)
    bar = parse_bar("  0%|          | 0/3 [00:00<?, ?it/s]")
    assert (bar.desc, bar.rate, bar.seconds_per_it, bar.remaining) == ("", None, None, None)
    assert parse_bar("steps: 100%|##########| 8/8 [00:00<00:00, 14.15it/s, avr_loss=nan]").loss != 0.0
    assert parse_bar("Missing keys: []") is None and parse_bar("50%| not a bar") is None


def test_postfix_and_interval_forms():
    assert parse_postfix("lr: 1.0e-04 loss: 1.497e+00") == {"lr": "1.0e-04", "loss": "1.497e+00"}
    assert parse_postfix("avr_loss=1.46, Keys Scaled=0") == {"avr_loss": "1.46", "Keys Scaled": "0"}
    assert (parse_interval("00:12"), parse_interval("1:02:03"), parse_interval("?")) == (12, 3723, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"desc": "steps", "postfix": {"avr_loss": 0.25}},
        {"desc": "my_lora", "ascii": True},
        {"desc": None},
    ],
)
def test_bars_drawn_by_tqdm_itself(kwargs):
    from tqdm import tqdm

    out, now = io.StringIO(), [0.0]
    with tqdm(total=600, file=out, mininterval=0, miniters=1, **kwargs) as bar:
        bar._time = lambda: now[0]  # tqdm reads its clock through this attribute
        bar.start_t = bar.last_print_t = 0
        for _ in range(600):
            now[0] += 7  # 7 s per step: shown as s/it, and the elapsed time passes an hour
            bar.update(1)
    bars = [parse_bar(t) for _, t in iter_lines(out.getvalue())]
    assert all(b is not None for b in bars)
    assert bars[-1].n == bars[-1].total == 600
    assert bars[-1].unit == "s/it" and bars[-1].elapsed >= 3600
    if kwargs.get("postfix"):
        assert bars[-1].loss == 0.25
