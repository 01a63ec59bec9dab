"""Inputs built to break a reader: deep nesting, endless or blocking files, odd paths. Each ends in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import cli_run


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def deep_mapping(levels: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + f"{'  ' * levels}v: 1\n"


@pytest.mark.parametrize("text", [
    "train:\n  optimizer_args: {a: " + "[" * 100_000 + "]" * 100_000 + "}\n",
    "name: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n",
    "dataset:\n" + deep_mapping(5_000),
    "samples:\n  prompts:\n" + "".join("  " * i + "- \n" for i in range(3, 3_000)) + "x\n",
])
def test_deeply_nested_intents_are_refused_in_one_line(tmp_path: Path, skull20: Path, text: str) -> None:
    intent = tmp_path / "deep.yaml"
    intent.write_text(text, encoding="utf-8")
    one_line_error(cli_run("plan", str(intent), "--images", str(skull20)), str(intent), "deep")


@pytest.mark.parametrize("value", ["[" * 100_000, "{a: " * 3_000 + "1" + "}" * 3_000, "[" * 70 + "]" * 70])
def test_deeply_nested_set_values_are_refused_in_one_line(skull20: Path, value: str) -> None:
    one_line_error(cli_run("plan", "subject", "--images", str(skull20), "--set", f"train.optimizer_args={value}"),
                   "--set train.optimizer_args")


@pytest.mark.parametrize(("name", "text"), [
    ("args.toml", "network_args = " + "[" * 5_000 + "]" * 5_000 + "\n"),
    ("dataset.toml", "[general]\nx = " + "{a = " * 2_000 + "1" + "}" * 2_000 + "\n"),
    ("config.yaml", "job: extension\nconfig:\n" + deep_mapping(3_000).replace("\n", "\n  ")),
])
def test_validate_refuses_deep_files_in_one_line(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    one_line_error(cli_run("validate", str(path)), str(path))


def test_a_huge_plain_intent_is_refused_quickly_and_not_called_an_alias_bomb(tmp_path: Path, skull20: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("".join(f"k{i}: {i}\n" for i in range(700_000)), encoding="utf-8")  # ~8 MB
    one_line_error(cli_run("plan", str(big), "--images", str(skull20)), str(big), "MiB")
    small = tmp_path / "many.yaml"
    small.write_text("train:\n  optimizer_args:\n" + "".join(f"    k{i}: {i}\n" for i in range(60_000)))
    result = cli_run("plan", str(small), "--images", str(skull20))
    one_line_error(result, "more than 100000 values")
    assert "alias" not in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "huge", "nul-name", "long-name"])
def test_validate_reads_only_regular_files_of_sane_size(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "config.yaml"
        os.mkfifo(path)  # nobody writes to it: reading it would wait forever
    elif kind == "device":
        path = Path("/dev/zero")  # never ends: reading it all would fill the memory
    elif kind == "folder":
        path = tmp_path / "cfg.toml"
        path.mkdir()
    elif kind == "huge":
        path = tmp_path / "args.toml"
        with open(path, "wb") as fh:
            fh.truncate(5 * 1024 * 1024)
    elif kind == "nul-name":
        path = Path(str(tmp_path / "a\x00b.toml"))
    else:
        path = tmp_path / ("x" * 300 + ".toml")
    one_line_error(cli_run("validate", str(path)))
    one_line_error(cli_run("plan", str(path)))
