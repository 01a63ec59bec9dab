"""`fluxgen doctor`: checkout and pin, the trainer's Python and imports, GPU, disk, RAM, HF token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluxgen import checkouts as trainers
from fluxgen.checkouts import checkout_commit, pins
from fluxgen.doctor import check_backend, check_token, doctor
from helpers import cli_run

PIN = pins()["ai-toolkit"]["commit"]


@pytest.fixture(autouse=True)
def _light_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The import check really imports: the tests give each backend a light module list (torch takes seconds)."""
    for backend in trainers.REQUIRED_MODULES:
        monkeypatch.setitem(trainers.REQUIRED_MODULES, backend, ("json",))


def python_with(tmp_path: Path, modules: dict[str, str]) -> str:
    """A Python that sees extra top-level modules (name -> source of its __init__.py), as a trainer's venv would."""
    import os
    import stat
    import sys

    site = tmp_path / "site"
    for name, source in modules.items():
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text(source, encoding="utf-8")
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n', encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    assert os.access(wrapper, os.X_OK)
    return str(wrapper)


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
    assert (check.status, check.detail) == ("fail", "cannot import fluxgen_no_such_module (not installed)")
    assert check.fix.endswith("-m pip install 'fluxgen[train]'")


def test_a_module_that_is_there_but_fails_to_import_is_reported(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    """Finding a module is not importing it: an extension that raises at import stops the trainer all the same."""
    python = python_with(tmp_path, {"gpu_ext": "raise RuntimeError('Found no NVIDIA driver on your system')\n"})
    monkeypatch.setenv("FLUXGEN_SD_SCRIPTS_PYTHON", python)
    monkeypatch.setitem(trainers.REQUIRED_MODULES, "sd-scripts", ("json", "gpu_ext"))
    check = by_topic(check_backend("sd-scripts"))["imports"]
    assert (check.status, check.detail) == ("fail", "gpu_ext fails: RuntimeError: Found no NVIDIA driver on your "
                                                    "system")


def test_triton_with_a_cuda_torch_and_no_driver_is_ai_toolkits_import_crash(monkeypatch: pytest.MonkeyPatch,
                                                                            tmp_path: Path) -> None:
    torch = ("class version:\n    cuda = '13.0'\n"
             "class cuda:\n    @staticmethod\n    def is_available():\n        return False\n")
    python = python_with(tmp_path, {"torch": torch, "triton": ""})
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(checkout(tmp_path / "aitk", PIN)))
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_PYTHON", python)
    monkeypatch.setitem(trainers.REQUIRED_MODULES, "ai-toolkit", ("torch",))
    report = doctor(("ai-toolkit",), tmp_path)
    triton = next(c for c in report["backends"]["ai-toolkit"] if c["topic"] == "triton")
    assert triton["status"] == "fail" and "Found no NVIDIA driver on your system" in triton["detail"]
    assert triton["fix"] == f"{python} -m pip uninstall -y triton, or install a CPU-only torch build"
    assert report["ready"] == []
    (tmp_path / "site" / "triton" / "__init__.py").unlink()
    (tmp_path / "site" / "triton").rmdir()
    assert "triton" not in {c.topic for c in check_backend("ai-toolkit")}


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
