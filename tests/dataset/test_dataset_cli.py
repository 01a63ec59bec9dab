"""`fluxgen dataset …` end to end through click: exit codes, stdout and stderr kept apart."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fluxgen.cli import cli


@pytest.fixture
def invoke():
    runner = CliRunner()

    def call(*args: str):
        return runner.invoke(cli, ["dataset", *map(str, args)])

    return call


def test_lint_clean_exits_0(invoke, clean_set):
    result = invoke("lint", clean_set, "--trigger", "ohwx", "--resolution", "64", "--kind", "subject")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[-1] == "6 images, 6 captions: 0 errors, 1 warning, 0 notes"
    assert any("[image-count]" in line for line in lines)


def test_lint_errors_exit_1_with_relative_paths(invoke, tmp_path, make):
    make.save(make.picture(1), tmp_path / "sub" / "good.jpg")
    (tmp_path / "sub" / "empty.jpg").write_bytes(b"")
    result = invoke("lint", tmp_path, "--resolution", "64", "--captions", "none")
    assert result.exit_code == 1
    assert result.stderr == ""
    out = result.stdout
    assert "Errors (1)" in out and "  sub/empty.jpg: the file is empty (0 bytes)" in out
    assert "fix: " in out and str(tmp_path) not in out
    assert out.splitlines()[-1].startswith("2 images (1 loadable), 0 captions: 1 error")


def test_lint_json_is_one_object(invoke, tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.png")
    make.save(make.picture(1), tmp_path / "b.png", compress_level=1)
    result = invoke("lint", tmp_path, "--json", "--resolution", "64", "--captions", "none")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["summary"]["images"] == 2
    dup = next(f for f in data["findings"] if f["id"] == "duplicate")
    assert dup["paths"] == ["a.png", "b.png"]


def test_lint_kohya_alias_and_options(invoke, tmp_path, make):
    make.rotated_jpeg(tmp_path / "a.jpg")
    result = invoke("lint", tmp_path, "--backend", "kohya", "--json", "--resolution", "64", "--captions", "none")
    finding = json.loads(result.stdout)["findings"][0]
    assert finding["id"] == "exif-rotated" and finding["severity"] == "warning" and "sd-scripts" in finding["message"]


def test_lint_missing_folder(invoke, tmp_path):
    result = invoke("lint", tmp_path / "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: {tmp_path / 'nope'}: no such folder; give the folder of training images as DIR\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "portrait"], "'portrait' is not one of"),
        (["--backend", "comfy"], "'comfy' is not one of"),
        (["--resolution", "10"], "10 is not in the range x>=64"),
        (["--captions", "some"], "'some' is not one of"),
    ],
)
def test_lint_bad_options_are_usage_errors(invoke, tmp_path, args, message):
    result = invoke("lint", tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""


def test_prepare_reports_files_and_lints_result(invoke, tmp_path, make):
    src = tmp_path / "src"
    make.rotated_jpeg(src / "a.jpg")
    (src / "a.txt").write_text("[trigger], a skull")
    (src / "bad.png").write_text("no")
    result = invoke("prepare", src, "--out", tmp_path / "out", "--trigger", "ohwx", "--resolution", "64")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert "a.jpg → a.jpg: turned upright (EXIF orientation)" in out
    assert "[trigger] replaced by 'ohwx'" in out
    assert "bad.png: skipped (not-an-image" in out
    assert f"Wrote 1 image and 1 caption to {tmp_path / 'out'} (1 skipped)." in out
    assert "Lint of the result:" in out
    assert out.splitlines()[-1] == "1 image, 1 caption: 0 errors, 0 warnings, 0 notes"
    assert (tmp_path / "out" / "a.txt").read_text() == "ohwx, a skull"


def test_prepare_json(invoke, tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (128, 128)), src / "a.jpg")
    result = invoke("prepare", src, "--out", tmp_path / "out", "--json", "--captions", "none", "--resolution", "64",
                    "--format", "png", "--crop", "square")
    data = json.loads(result.stdout)
    assert data["files"] == [{"source": "a.jpg", "outputs": ["a.png"], "skipped": None, "masks": [],
                              "notes": ["resized 128×128 → 64×64", "saved as PNG"]}]
    assert data["lint"]["summary"]["errors"] == 0 and data["caption_mode"] == "none" and data["masks"] is None
    assert data["source_images"] == 1 and data["captioner"] is None


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("src/inner", "--out is inside the source folder"),
        ("src", "--out is the source folder"),
        ("busy", "folder is not empty; pass --force"),
    ],
)
def test_prepare_refusals(invoke, tmp_path, make, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    make.save(make.picture(1), tmp_path / "src" / "a.jpg")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    result = invoke("prepare", "src", "--out", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {out}: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_prepare_needs_out(invoke, tmp_path):
    result = invoke("prepare", tmp_path)
    assert result.exit_code == 2 and "Missing option '--out'" in result.stderr


def test_prepare_trigger_mode_without_trigger(invoke, tmp_path, make):
    make.save(make.picture(1), tmp_path / "src" / "a.jpg")
    result = invoke("prepare", tmp_path / "src", "--out", tmp_path / "out", "--captions", "trigger")
    assert result.exit_code == 1
    assert result.stderr == ("error: --captions trigger writes the trigger word as every caption; "
                             "pass --trigger WORD\n")


def test_fingerprint_prints_the_hash(invoke, clean_set):
    from fluxgen.dataset.fingerprint import fingerprint_dataset

    result = invoke("fingerprint", clean_set)
    assert result.exit_code == 0
    assert result.stdout == fingerprint_dataset(clean_set) + "\n"
    assert result.stderr == ""


def test_fingerprint_missing_folder(invoke, tmp_path):
    result = invoke("fingerprint", tmp_path / "gone")
    assert result.exit_code == 1 and "no such folder" in result.stderr and result.stdout == ""


def test_help_lists_the_subcommands(invoke):
    result = invoke("--help")
    assert result.exit_code == 0
    for name in ("lint", "prepare", "fingerprint"):
        assert name in result.stdout


def test_dataset_cli_import_is_light():
    import subprocess
    import sys

    code = "import sys, fluxgen.cli.dataset; print('PIL' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["--background", "nope"], "error: --background 'nope': not a colour; use a hex value such as '#ffffff'\n"),
        (["--caption-template", "{trigger}"], "error: --caption-template uses {trigger}; pass --trigger WORD\n"),
        (["--caption-template", "{x}", "--trigger", "t"],
         "error: --caption-template: unknown field {x}; use {trigger}, {caption} or {name}\n"),
        (["--style-patches", "40"], "error: --style-patches 40: use 0 to 16\n"),
    ],
)
def test_prepare_option_errors(invoke, tmp_path, make, args, stderr):
    make.save(make.picture(1), tmp_path / "src" / "a.jpg")
    result = invoke("prepare", tmp_path / "src", "--out", tmp_path / "out", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", stderr)
    assert not (tmp_path / "out").exists()
