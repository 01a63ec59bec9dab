"""`fluxgen report RUN` through the CLI: paths on stdout, one-line errors on stderr."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from fluxgen.cli import cli

CHROMIUM = Path("/usr/bin/chromium")


def run(*args: str):
    return CliRunner().invoke(cli, ["report", *args])


def test_writes_both_files_and_prints_their_paths(completed_run: Path):
    result = run(str(completed_run))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout == f"{completed_run / 'report.html'}\n{completed_run / 'loss.png'}\n"
    assert (completed_run / "report.html").stat().st_size > 10_000
    assert run(str(completed_run)).exit_code == 0  # a second run replaces the files


def test_failed_run_reports_too(failed_run: Path):
    result = run(str(failed_run))
    assert result.exit_code == 0
    assert "Why it stopped" in (failed_run / "report.html").read_text(encoding="utf-8")


def test_missing_run_folder(tmp_path: Path):
    result = run(str(tmp_path / "runs" / "nope"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: {tmp_path / 'runs' / 'nope'}: no such run folder\n"


def test_folder_that_is_not_a_run(tmp_path: Path):
    (tmp_path / "photos").mkdir()
    result = run(str(tmp_path / "photos"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"error: {tmp_path / 'photos'}: not a run folder (no manifest.json or plan.json); "
                             "give a folder written by `fluxgen train`\n")
    assert list((tmp_path / "photos").iterdir()) == []  # nothing written into it


def test_damaged_manifest_is_one_line(failed_run: Path):
    (failed_run / "manifest.json").write_text("{not json", encoding="utf-8")
    result = run(str(failed_run))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {failed_run / 'manifest.json'}: not valid JSON (")
    assert result.stderr.count("\n") == 1


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed")
def test_report_renders_in_headless_chromium(completed_run: Path, tmp_path: Path):
    html_path = completed_run / "report.html"
    run(str(completed_run))
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                    f"--screenshot={shot}", "--window-size=1280,1600", html_path.as_uri()],
                   check=True, capture_output=True, timeout=60)
    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 1600)
    assert len(img.resize((320, 400)).getcolors(maxcolors=1 << 24)) > 100  # text, badges, loss curve and thumbnails drawn
    shutil.rmtree(profile, ignore_errors=True)
