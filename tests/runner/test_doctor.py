"""`fluxgen doctor`: checkout and pin, the trainer's Python and imports, GPU, disk, RAM, HF token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluxgen import trainers
from fluxgen.doctor import check_backend, check_token, doctor
from fluxgen.trainers import checkout_commit, pins
from helpers import cli_run

PIN = pins()["ai-toolkit"]["commit"]


def checkout(folder: Path, commit: str, *, packed: bool = False) -> Path:
    """A trainer checkout with its own git metadata (HEAD on a branch, loose or packed ref)."""
    (folder / ".git" / "refs" / "heads").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    if packed:
        (folder / ".git" / "packed-refs").write_text(f"# pack-refs\n{commit} refs/heads/main\n")
    else:
        (folder / ".git" / "refs" / "heads" / "main").write_text(commit + "\n")
    (folder / "run.py").write_text("print('trainer')\n")
    return folder


def by_topic(checks) -> dict:
    return {c.topic: c for c in checks}


def test_checkout_at_the_pin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(checkout(tmp_path / "aitk", PIN)))
    checks = by_topic(check_backend("ai-toolkit"))
    assert checks["checkout"].status == "ok" and "$FLUXGEN_AI_TOOLKIT_DIR" in checks["checkout"].detail
    assert (checks["commit"].status, checks["commit"].detail) == ("ok", f"{PIN[:12]} = the pin")


def test_checkout_elsewhere_says_how_to_get_the_pin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = "f" * 40
    folder = checkout(tmp_path / "aitk", other, packed=True)
    assert checkout_commit(folder) == other
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(folder))
    commit = by_topic(check_backend("ai-toolkit"))["commit"]
    assert commit.status == "warn" and commit.fix == f"git -C {folder.resolve()} checkout {PIN}"


def test_empty_submodule_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "aitk").mkdir()
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(tmp_path / "aitk"))
    check = by_topic(check_backend("ai-toolkit"))["checkout"]
    assert check.status == "fail" and "empty folder (submodule not fetched)" in check.detail
    assert "git submodule update --init" in check.fix and "$FLUXGEN_AI_TOOLKIT_DIR" in check.fix


def test_a_submodule_gitdir_file_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "modules" / "aitk"
    (real / "refs" / "heads").mkdir(parents=True)
    (real / "HEAD").write_text(PIN + "\n")  # detached at the pin, as a submodule usually is
    (tmp_path / "aitk").mkdir()
    (tmp_path / "aitk" / ".git").write_text("gitdir: ../modules/aitk\n")
    assert checkout_commit(tmp_path / "aitk") == PIN
    assert checkout_commit(tmp_path / "no-git") is None


def test_python_that_cannot_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLUXGEN_SD_SCRIPTS_PYTHON", str(tmp_path / "missing" / "python"))
    check = by_topic(check_backend("sd-scripts"))["python"]
    assert check.status == "fail" and "$FLUXGEN_SD_SCRIPTS_PYTHON" in check.fix


def test_missing_imports_are_listed_with_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(trainers.REQUIRED_MODULES, "builtin", ("json", "fluxgen_no_such_module"))
    check = by_topic(check_backend("builtin"))["imports"]
    assert (check.status, check.detail) == ("fail", "cannot import fluxgen_no_such_module")
    assert check.fix.endswith("-m pip install 'fluxgen[train]'")


def test_token_presence_never_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_token().status == "warn"
    monkeypatch.setenv("HF_TOKEN", "hf_doctor_must_not_print_this")
    assert check_token().detail == "found in $HF_TOKEN (value not shown)"
    result = cli_run("doctor", "--json")
    assert "hf_doctor_must_not_print_this" not in result.stdout


def test_cli_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(tmp_path / "nowhere"))
    result = cli_run("doctor", "--backend", "ai-toolkit", "--backend", "builtin", "--runs", str(tmp_path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "ai-toolkit:" and any(line.startswith("  [FAIL] checkout: ") for line in lines)
    assert "system:" in lines and any(line.startswith("  [") and " disk: " in line for line in lines)
    assert "next:" in lines
    data = json.loads(cli_run("doctor", "--backend", "builtin", "--json").stdout)
    assert set(data) == {"backends", "system", "next", "ready"}
    assert {c["topic"] for c in data["system"]} == {"gpu", "disk", "ram", "hf token"}


def test_doctor_ready_lists_backends_without_failures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(checkout(tmp_path / "aitk", PIN)))
    monkeypatch.setitem(trainers.REQUIRED_MODULES, "ai-toolkit", ("json",))
    report = doctor(("ai-toolkit",), tmp_path)
    assert report["ready"] == ["ai-toolkit"]
