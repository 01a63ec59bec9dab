"""What a newcomer tripped on, each with several inputs of its kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli_run, make_images


@pytest.fixture
def broken_dataset(tmp_path: Path) -> Path:
    folder = make_images(tmp_path / "imgs", 12, size=512)
    return folder


@pytest.mark.parametrize("damage", ["zero-byte", "not-an-image", "truncated"])
def test_dry_run_applies_the_dataset_gate_of_a_real_run(tmp_path: Path, broken_dataset: Path, damage: str) -> None:
    bad = broken_dataset / "img_000.jpg"
    if damage == "zero-byte":
        bad.write_bytes(b"")
    elif damage == "not-an-image":
        bad.write_text("hello")
    else:
        bad.write_bytes(bad.read_bytes()[:200])
    args = ["train", "subject", "--images", str(broken_dataset), "--backend", "builtin", "--dry-run",
            "--runs", str(tmp_path / "runs")]
    result = cli_run(*args)
    assert result.exit_code == 1 and "dataset error(s)" in result.stderr.splitlines()[-1], result.stderr
    forced = cli_run(*args, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("keys", "known", "unknown"), [
    (["stepz", "lr"], ["lr"], ["stepz"]),
    (["rank", "nope", "alpha", "rnak"], ["rank", "alpha"], ["nope", "rnak"]),
    (["x.y"], [], ["x.y"]),
])
def test_explain_goes_on_past_an_unknown_key(skull20: Path, keys: list[str], known: list[str],
                                             unknown: list[str]) -> None:
    result = cli_run("explain", "subject", *keys, "--images", str(skull20))
    assert result.exit_code == 1
    for key in known:
        assert f"{key} = " in result.stdout
    errors = result.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in errors] == unknown
    assert all(line.startswith("error: ") for line in errors) and "Traceback" not in result.stderr


def _all_commands() -> list[list[str]]:
    import click

    from fluxgen.cli import COMMANDS, cli

    ctx = click.Context(cli)
    found = []
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        found.append([name])
        if isinstance(command, click.Group):
            found += [[name, sub] for sub in sorted(command.commands)]
    return found


@pytest.mark.parametrize("path", _all_commands(), ids=" ".join)
def test_every_command_s_help_has_examples(path: list[str]) -> None:
    result = cli_run(*path, "--help")
    assert result.exit_code == 0
    examples = result.stdout.split("Examples:", 1)
    assert len(examples) == 2, path
    assert f"$ fluxgen {path[0]}" in examples[1]
