"""Caption extensions, messages that say which trainer does what, per-command wording, and quiet checks where
they do not apply."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fluxgen.cli import cli
from fluxgen.dataset.fingerprint import fingerprint_dataset
from fluxgen.dataset.lint import lint_dataset
from fluxgen.dataset.prepare import PrepareOptions, prepare_dataset
from fluxgen.dataset.scan import scan_folder
from fluxgen.errors import UserError


def invoke(*args):
    return CliRunner().invoke(cli, ["dataset", *map(str, args)])


def ids(report) -> list[str]:
    return [f.id for f in report.findings]


# --- caption extension ----------------------------------------------------------------------------------------

@pytest.fixture
def captioned(tmp_path, make):
    """Two images captioned with sd-scripts' default `.caption` files, plus a stray `.txt` note."""
    root = tmp_path / "data"
    for i in range(2):
        make.save(make.picture(i), root / f"{i}.jpg")
        (root / f"{i}.caption").write_text(f"ohwx, picture {i}")
    (root / "notes.txt").write_text("not a caption")
    return root


def test_scan_and_lint_use_the_caption_extension(captioned):
    scan = scan_folder(captioned, caption_ext=".caption")
    assert scan.captions == ["0.caption", "1.caption"] and scan.caption_for("0.jpg") == "0.caption"
    for ext in (".caption", "caption"):
        report = lint_dataset(captioned, trigger="ohwx", resolution=64, caption_ext=ext)
        assert report.findings == [] and len(report.captions) == 2
    default = lint_dataset(captioned, trigger="ohwx", resolution=64)
    assert "captions-none" in ids(default) and "caption-orphan" in ids(default)


def test_fingerprint_follows_the_caption_extension(captioned):
    before = fingerprint_dataset(captioned, caption_ext=".caption")
    plain = fingerprint_dataset(captioned)
    (captioned / "0.caption").write_text("ohwx, changed")
    assert fingerprint_dataset(captioned, caption_ext=".caption") != before
    assert fingerprint_dataset(captioned) == plain


def test_prepare_reads_and_writes_the_caption_extension(captioned, tmp_path, make):
    result = prepare_dataset(captioned, tmp_path / "out", PrepareOptions(resolution=64, trigger="ohwx",
                                                                          caption_ext=".caption"), workers=1)
    assert make.listing(result.out) == ["0.caption", "0.jpg", "1.caption", "1.jpg"]
    assert (result.out / "1.caption").read_text() == "ohwx, picture 1"
    assert result.lint.findings == []


@pytest.mark.parametrize("bad", [".jpg", "", ".a b", "."])
def test_bad_caption_extension(captioned, bad):
    with pytest.raises(UserError, match="--caption-ext"):
        lint_dataset(captioned, caption_ext=bad)


def test_caption_ext_option_on_every_command(captioned, tmp_path):
    lint = invoke("lint", captioned, "--caption-ext", ".caption", "--trigger", "ohwx", "--resolution", "64")
    assert lint.exit_code == 0 and "2 captions" in lint.stdout.splitlines()[-1]
    fp = invoke("fingerprint", captioned, "--caption-ext", "caption")
    assert fp.stdout.strip() == fingerprint_dataset(captioned, caption_ext=".caption")
    prep = invoke("prepare", captioned, "--out", tmp_path / "o", "--caption-ext", ".caption", "--resolution", "64")
    assert prep.exit_code == 0 and (tmp_path / "o" / "0.caption").is_file()


# --- messages without --backend say which trainer does what ---------------------------------------------------

def test_exif_message_without_backend(tmp_path, make):
    make.rotated_jpeg(tmp_path / "side.jpg")
    finding = next(f for f in lint_dataset(tmp_path, resolution=64, caption_mode="none").findings
                   if f.id == "exif-rotated")
    assert "every trainer" not in finding.message
    assert "sd-scripts" in finding.message and "ai-toolkit turns it upright" in finding.message


def test_format_message_without_backend(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.bmp")
    make.save(make.picture(2), tmp_path / "b.tif")
    report = lint_dataset(tmp_path, resolution=64, caption_mode="none")
    messages = {f.path: f.message for f in report.findings if f.id == "format-not-loaded"}
    assert messages["a.bmp"].startswith("ai-toolkit does not load .bmp files (sd-scripts, builtin and simpletuner do)")
    assert messages["b.tif"].startswith("ai-toolkit, sd-scripts and builtin do not load .tif files (simpletuner does)")
    assert not any("every trainer" in f.message for f in report.findings)


def test_broken_and_alpha_messages_without_backend(tmp_path, make):
    (tmp_path / "empty.jpg").write_bytes(b"")
    make.transparent_png(tmp_path / "cut.png")
    report = lint_dataset(tmp_path, resolution=64, caption_mode="none")
    assert not any("every trainer" in f.message for f in report.findings)
    alpha = next(f for f in report.findings if f.id == "alpha")
    assert "ai-toolkit" in alpha.message and "sd-scripts" in alpha.message


# --- wording per command ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["lint", "prepare", "fingerprint"])
def test_missing_folder_wording_for_dataset_commands(tmp_path, command):
    extra = ["--out", tmp_path / "o"] if command == "prepare" else []
    result = invoke(command, tmp_path / "nope", *extra)
    assert result.exit_code == 1 and result.stdout == ""
    assert "no such folder" in result.stderr and "--images" not in result.stderr and "DIR" in result.stderr


def test_library_wording_names_the_plan_option(tmp_path):
    with pytest.raises(UserError, match="pass --images DIR"):
        lint_dataset(tmp_path / "nope")


def test_unknown_template_field_suggests(tmp_path, make):
    make.save(make.picture(1), tmp_path / "src" / "a.jpg")
    result = invoke("prepare", tmp_path / "src", "--out", tmp_path / "o", "--caption-template", "{trigger}, {captoin}",
                    "--trigger", "ohwx")
    assert result.exit_code == 1
    assert "unknown field {captoin} (did you mean {caption}?)" in result.stderr


# --- caption-shared only where captions matter ----------------------------------------------------------------

def test_caption_shared_silent_without_captions(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    make.save(make.picture(2), tmp_path / "a.png")
    assert "caption-shared" not in ids(lint_dataset(tmp_path, resolution=64, caption_mode="none"))
    assert "caption-shared" in ids(lint_dataset(tmp_path, resolution=64, caption_mode="captions"))


def test_caption_shared_ignores_broken_images(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "a.txt").write_text("ohwx, a picture")
    report = lint_dataset(tmp_path, resolution=64, caption_mode="captions")
    assert "zero-byte" in ids(report) and "caption-shared" not in ids(report)
