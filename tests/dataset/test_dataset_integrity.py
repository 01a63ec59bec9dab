"""Damaged and truncated files (full and quick lint), very large pictures, file names that are not UTF-8,
and rotated copies found as duplicates."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps

from fluxgen.cli import cli
from fluxgen.dataset.fingerprint import fingerprint_dataset
from fluxgen.dataset.lint import lint_dataset
from fluxgen.dataset.prepare import PrepareOptions, prepare_dataset


def lint(root, **kw):
    kw.setdefault("resolution", 64)
    kw.setdefault("caption_mode", "none")
    return lint_dataset(root, **kw)


def found(report, fid: str) -> dict[str, object]:
    return {f.path: f for f in report.findings if f.id == fid}


def cut_in_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# --- damaged pixel data ---------------------------------------------------------------------------------------

def test_damaged_png_is_an_error(tmp_path, make):
    make.save(make.picture(1), tmp_path / "good.png")
    make.damaged_png(tmp_path / "zeroed.png")
    report = lint(tmp_path)
    errors = {f.path: f for f in report.errors}
    assert set(errors) == {"zeroed.png"}
    assert errors["zeroed.png"].id in ("unreadable", "truncated")
    assert report.image_count == 1


def test_quick_mode_does_not_decode_png_pixels(tmp_path, make, monkeypatch):
    from PIL import PngImagePlugin

    make.save(make.picture(1), tmp_path / "plain.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    make.save(make.picture(2), tmp_path / "tagged.png", exif=exif.tobytes())
    make.damaged_png(tmp_path / "zeroed.png")
    loads = []
    original = PngImagePlugin.PngImageFile.load

    def counting_load(self):
        loads.append(self.filename)
        return original(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", counting_load)
    report = lint(tmp_path, quick=True)
    assert loads == []
    assert set(found(report, "exif-rotated")) == {"tagged.png"}  # EXIF is still read from the header
    assert report.errors == []  # the damage is inside the pixel data: only the full lint decodes it


# --- truncated files in quick mode ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "options"), [("half.jpg", {}), ("half.png", {}), ("half.webp", {"quality": 90})])
def test_quick_mode_finds_truncated_files(tmp_path, make, name, options):
    make.save(make.picture(1), tmp_path / "good.jpg")
    cut_in_half(make.save(make.picture(2, (128, 128)), tmp_path / name, **options))
    for quick in (True, False):
        finding = found(lint(tmp_path, quick=quick), "truncated")[name]
        assert finding.severity == "error" and "ends before" in finding.message


def test_quick_mode_accepts_padding_and_trailing_data(tmp_path, make):
    padded = make.save(make.picture(1), tmp_path / "padded.jpg")
    padded.write_bytes(padded.read_bytes() + bytes(300))
    motion = make.save(make.picture(2), tmp_path / "motion.jpg")  # phones append a video after the picture
    motion.write_bytes(motion.read_bytes() + b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    tail = make.save(make.picture(3), tmp_path / "tail.png")
    tail.write_bytes(tail.read_bytes() + b"\x00\x00")
    for quick in (True, False):
        assert lint(tmp_path, quick=quick).errors == []


def test_quick_mode_skips_decoding_and_hashing(tmp_path, make):
    make.truncated_jpeg(tmp_path / "cut.jpg")
    make.save(make.picture(1), tmp_path / "a.png")
    make.save(make.picture(1), tmp_path / "b.png")
    full, quick = lint(tmp_path), lint(tmp_path, quick=True)
    assert {"truncated", "duplicate"} <= {f.id for f in full.findings}
    assert "truncated" in {f.id for f in quick.findings} and "duplicate" not in {f.id for f in quick.findings}
    assert quick.image_count == full.image_count == 2


def _half_jpeg_dataset(tmp_path):
    from helpers import make_images

    images = make_images(tmp_path / "imgs", 10, size=256, trigger="ohwx")
    cut_in_half(images / "img_003.jpg")
    return images


def test_plan_sees_a_truncated_jpeg(tmp_path):
    from fluxgen.plan import PlanOptions, build_plan

    images = _half_jpeg_dataset(tmp_path)
    plan = build_plan(None, PlanOptions(images=str(images), kind="subject", trigger="ohwx"))
    errors = [f for f in plan.dataset_lint["findings"] if f["severity"] == "error"]
    assert [(f["id"], f["path"]) for f in errors] == [("truncated", "img_003.jpg")]
    assert plan.values["images"] == 9


def test_render_refuses_a_truncated_jpeg_unless_forced(tmp_path):
    images = _half_jpeg_dataset(tmp_path)
    args = ["render", "--kind", "subject", "--trigger", "ohwx", "--images", str(images)]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "cfg")])
    assert result.exit_code == 1
    assert "img_003.jpg" in result.stderr and "dataset error" in result.stderr and "--force" in result.stderr
    assert not (tmp_path / "cfg").exists()
    forced = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "cfg"), "--force"])
    assert forced.exit_code == 0, forced.stderr


# --- very large pictures --------------------------------------------------------------------------------------

def test_large_pictures_warn_below_the_hard_limit(tmp_path, make):
    make.save(make.picture(1, (100, 100)), tmp_path / "big.png")  # 10 000 px
    make.save(make.picture(2, (80, 80)), tmp_path / "small.png")
    for quick in (False, True):
        warning = found(lint(tmp_path, max_pixels=8000, quick=quick), "decompression-bomb")["big.png"]
        assert warning.severity == "warning" and "100×100" in warning.message and "prepare" in warning.fix
        error = found(lint(tmp_path, max_pixels=4000, quick=quick), "decompression-bomb")["big.png"]
        assert error.severity == "error"
    assert lint(tmp_path, max_pixels=8000).image_count == 2


def test_prepare_downscales_large_pictures(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (100, 100)), src / "big.png")
    result = prepare_dataset(src, tmp_path / "out", PrepareOptions(resolution=64, captions="none"), workers=1,
                             max_pixels=8000)
    assert result.skipped == []
    with Image.open(result.out / "big.png") as im:
        assert im.size == (64, 64)


# --- file names that are not UTF-8 ----------------------------------------------------------------------------

def test_fingerprint_of_a_latin1_file_name(tmp_path, make):
    make.save(make.picture(1), make.bytes_name(tmp_path, b"caf\xe9.jpg"))
    first = fingerprint_dataset(tmp_path)
    assert first.startswith("sha256:") and fingerprint_dataset(tmp_path) == first
    os.rename(os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg"), tmp_path / "cafe.jpg")
    assert fingerprint_dataset(tmp_path) != first


def test_fingerprint_of_utf8_names_is_unchanged(tmp_path, make):
    """Paths enter the hash as their UTF-8 bytes: the value recorded by earlier runs stays the same."""
    import hashlib

    make.save(make.picture(1), tmp_path / "café.jpg")
    (tmp_path / "café.txt").write_text("ohwx")
    lines = b"".join(hashlib.sha256((tmp_path / n).read_bytes()).hexdigest().encode() + b"  " + n.encode() + b"\n"
                     for n in ("café.jpg", "café.txt"))
    assert fingerprint_dataset(tmp_path) == "sha256:" + hashlib.sha256(lines).hexdigest()


def test_lint_reports_names_that_are_not_utf8(tmp_path, make):
    make.save(make.picture(1), make.bytes_name(tmp_path, b"caf\xe9.jpg"))
    make.save(make.picture(2), tmp_path / "plain.jpg")
    report = lint(tmp_path)
    finding = found(report, "name-not-utf8")["caf\\xe9.jpg"]
    assert finding.severity == "warning" and "rename" in finding.fix
    text = json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")  # printable and storable
    assert b"caf\\\\xe9.jpg" in text
    assert report.image_count == 2


@pytest.mark.parametrize(("backend", "severity"), [("sd-scripts", "warning"), (None, "info"), ("ai-toolkit", None)])
def test_non_ascii_names_for_sd_scripts(tmp_path, make, backend, severity):
    make.save(make.picture(1), tmp_path / "Jürgen.jpg")
    make.save(make.picture(2), tmp_path / "plain.jpg")
    report = lint(tmp_path, backend=backend)
    hits = found(report, "non-ascii-name")
    if severity is None:
        assert hits == {}
    else:
        assert hits["Jürgen.jpg"].severity == severity and "sd-scripts" in hits["Jürgen.jpg"].message


def test_plan_and_prepare_handle_a_latin1_name(tmp_path, make):
    from fluxgen.plan import PlanOptions, build_plan

    src = tmp_path / "src"
    make.save(make.picture(1), make.bytes_name(src, b"caf\xe9.jpg"))
    make.save(make.picture(2), src / "x.jpg")
    plan = build_plan(None, PlanOptions(images=str(src), kind="subject"))
    json.dumps(plan.dataset_lint, ensure_ascii=False).encode("utf-8")
    result = prepare_dataset(src, tmp_path / "out", PrepareOptions(resolution=64, captions="none"),
                             workers=1)
    assert make.listing(result.out) == ["café.jpg", "x.jpg"]
    assert "not valid UTF-8" in "; ".join(result.files[0].notes)
    assert not any(f.id == "name-not-utf8" for f in result.lint.findings)


# --- rotated copies -------------------------------------------------------------------------------------------

def test_rotated_copy_groups_with_its_upright_copy(tmp_path, make):
    upright = make.picture(5, (160, 96))
    make.save(upright, tmp_path / "upright.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    make.save(stored, tmp_path / "phone.png", exif=exif.tobytes())
    assert ImageOps.exif_transpose(Image.open(tmp_path / "phone.png")).tobytes() == upright.tobytes()
    make.save(make.picture(6, (160, 96)), tmp_path / "other.png")
    report = lint(tmp_path)
    groups = [f.paths for f in report.findings if f.id in ("duplicate", "near-duplicate")]
    assert groups == [["phone.png", "upright.png"]]
