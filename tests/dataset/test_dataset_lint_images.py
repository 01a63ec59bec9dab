"""Per-image checks: broken files, formats, orientation, alpha, modes, sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from fluxgen.dataset.lint import lint_dataset
from fluxgen.errors import UserError


def ids(report, path: str | None = None) -> set[str]:
    return {f.id for f in report.findings if path is None or f.path == path or path in f.paths}


def only(report, fid: str):
    found = [f for f in report.findings if f.id == fid]
    assert len(found) == 1, [f.to_dict() for f in report.findings]
    return found[0]


def lint(root: Path, **kw):
    kw.setdefault("resolution", 64)
    kw.setdefault("caption_mode", "none")
    return lint_dataset(root, **kw)


def test_clean_dataset_has_no_findings(clean_set):
    report = lint(clean_set, trigger="ohwx", caption_mode="captions")
    assert report.findings == []
    assert report.image_count == 6
    assert [p.name for p in report.images] == [f"img{i}.jpg" for i in range(6)]
    assert all(p.is_absolute() for p in report.images)


def test_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"nope: no such folder; pass --images DIR"):
        lint_dataset(tmp_path / "nope")


def test_file_instead_of_folder(tmp_path):
    (tmp_path / "f.jpg").write_bytes(b"x")
    with pytest.raises(UserError, match="not a folder"):
        lint_dataset(tmp_path / "f.jpg")


def test_unknown_kind_suggests(tmp_path):
    with pytest.raises(UserError, match="unknown kind 'styel' \\(did you mean 'style'\\?\\)"):
        lint_dataset(tmp_path, kind="styel")


def test_broken_files_are_errors(tmp_path, make):
    make.save(make.picture(1), tmp_path / "good.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("this is a text file")
    make.truncated_jpeg(tmp_path / "cut.jpg")
    report = lint(tmp_path)
    assert only(report, "zero-byte").path == "empty.jpg"
    assert only(report, "not-an-image").path == "notes.jpg"
    cut = only(report, "truncated")
    assert cut.path == "cut.jpg" and cut.severity == "error"
    assert "prepare skips it" in cut.fix
    assert report.image_count == 1
    assert len(report.images) == 4


def test_broken_file_with_unloaded_extension_is_a_warning(tmp_path, make):
    make.save(make.picture(1), tmp_path / "good.jpg")
    (tmp_path / "empty.svg").write_bytes(b"")
    finding = only(lint(tmp_path), "zero-byte")
    assert finding.severity == "warning" and "no trainer loads .svg files, so it is skipped" in finding.message


def test_decompression_bomb_limit(tmp_path, make):
    make.save(make.picture(1, (100, 100)), tmp_path / "big.png")
    make.save(make.picture(2, (60, 60)), tmp_path / "small.png")
    report = lint(tmp_path, max_pixels=4000)  # above twice the limit: Pillow refuses it
    bomb = only(report, "decompression-bomb")
    assert bomb.path == "big.png" and bomb.severity == "error"
    assert "100×100" in bomb.message


@pytest.mark.parametrize("quick", [False, True])
def test_heic_by_extension_and_by_magic(tmp_path, make, quick):
    make.save(make.picture(1), tmp_path / "good.jpg")
    (tmp_path / "phone.heic").write_bytes(make.heic_head)
    (tmp_path / "disguised.jpg").write_bytes(make.heic_head)
    report = lint(tmp_path, quick=quick)
    found = {f.path: f for f in report.findings if f.id == "unsupported-format"}
    assert set(found) == {"phone.heic", "disguised.jpg"}
    assert found["phone.heic"].message.startswith("HEIC file: Pillow cannot open it")
    assert found["phone.heic"].severity == "warning"  # .heic is never picked up: skipped
    assert found["disguised.jpg"].severity == "error"  # .jpg is picked up and fails
    assert "heif-convert" in found["phone.heic"].fix


def test_jxl_and_raw_named_by_extension(tmp_path, make):
    make.save(make.picture(1), tmp_path / "good.jpg")
    (tmp_path / "a.jxl").write_bytes(b"\xff\x0a" + b"\x00" * 30)
    (tmp_path / "b.cr2").write_bytes(b"II*\x00junk")
    report = lint(tmp_path)
    messages = {f.path: f.message for f in report.findings}
    assert messages["a.jxl"].startswith("JPEG XL file")
    assert "b.cr2" in messages


@pytest.mark.parametrize(("backend", "expected"), [("ai-toolkit", True), ("sd-scripts", False), ("kohya", False)])
def test_formats_the_backend_does_not_load(tmp_path, make, backend, expected):
    make.save(make.picture(1), tmp_path / "a.bmp")
    make.save(make.picture(2), tmp_path / "b.tif")
    report = lint(tmp_path, backend=backend)
    skipped = {f.path for f in report.findings if f.id == "format-not-loaded"}
    assert ("a.bmp" in skipped) is expected
    assert "b.tif" in skipped
    assert report.image_count == (0 if expected else 1)
    assert all("prepare" in f.fix for f in report.findings if f.id == "format-not-loaded")


def test_extension_mismatch_is_noted(tmp_path, make):
    make.save(make.picture(1), tmp_path / "really_png.jpg", format="PNG")
    finding = only(lint(tmp_path), "extension-mismatch")
    assert finding.severity == "info" and finding.message.startswith("PNG data")


@pytest.mark.parametrize(("backend", "severity"), [(None, "warning"), ("sd-scripts", "warning"), ("ai-toolkit", "info")])
def test_exif_rotation(tmp_path, make, backend, severity):
    make.rotated_jpeg(tmp_path / "side.jpg", orientation=6)
    finding = only(lint(tmp_path, backend=backend), "exif-rotated")
    assert finding.severity == severity
    assert "on its side" in finding.message and "(6)" in finding.message


def test_exif_rotation_seen_in_quick_mode(tmp_path, make):
    make.rotated_jpeg(tmp_path / "side.jpg", orientation=3)
    assert "exif-rotated" in ids(lint(tmp_path, quick=True))


def test_alpha_transparent_and_opaque(tmp_path, make):
    make.transparent_png(tmp_path / "cut.png")
    make.save(make.picture(2).convert("RGBA"), tmp_path / "opaque.png")
    report = lint(tmp_path, backend="ai-toolkit")
    alpha = only(report, "alpha")
    assert alpha.path == "cut.png" and alpha.severity == "warning"
    assert "black" in alpha.message and "--alpha mask" in alpha.fix
    assert only(report, "alpha-unused").path == "opaque.png"


def test_modes_cmyk_16bit_palette_grayscale(tmp_path, make):
    make.save(make.picture(1).convert("CMYK"), tmp_path / "print.jpg")
    make.sixteen_bit_png(tmp_path / "scan.png")
    make.save(make.picture(3).convert("P"), tmp_path / "indexed.png")
    make.save(make.picture(4).convert("L"), tmp_path / "grey.jpg")
    report = lint(tmp_path)
    assert only(report, "cmyk").path == "print.jpg"
    deep = only(report, "high-bit-depth")
    assert deep.path == "scan.png" and "16-bit" in deep.message and "clips" in deep.message
    assert only(report, "palette").path == "indexed.png"
    assert only(report, "grayscale").path == "grey.jpg"
    assert report.image_count == 4


def test_too_small_and_extreme_aspect(tmp_path, make):
    make.save(make.picture(1, (40, 40)), tmp_path / "tiny.jpg")
    make.save(make.picture(2, (300, 80)), tmp_path / "banner.jpg")
    make.save(make.picture(3, (80, 80)), tmp_path / "fine.jpg")
    report = lint(tmp_path)
    assert only(report, "too-small").path == "tiny.jpg"
    wide = only(report, "extreme-aspect")
    assert wide.path == "banner.jpg" and "3.8:1" in wide.message


def test_too_small_cites_the_guide_at_1024(tmp_path, make):
    make.save(make.picture(1, (512, 512)), tmp_path / "half.jpg")
    finding = only(lint_dataset(tmp_path, caption_mode="none"), "too-small")
    assert "512×512" in finding.message and "seed:000" in finding.message


def test_rotated_size_is_judged_upright(tmp_path, make):
    make.rotated_jpeg(tmp_path / "tall.jpg", orientation=6, size=(300, 80))
    assert "300×80" not in only(lint(tmp_path), "extreme-aspect").message


def test_hidden_files_and_caches_are_ignored(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    (tmp_path / ".aitk_size.json").write_text("{}")
    (tmp_path / "._a.jpg").write_bytes(b"apple double")
    make.save(make.picture(2), tmp_path / "_latent_cache" / "x.png")
    (tmp_path / "a.npz").write_bytes(b"\x00")
    report = lint(tmp_path)
    assert [p.name for p in report.images] == ["a.jpg"] and report.findings == []


def test_subfolders_are_walked(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    make.save(make.picture(2), tmp_path / "more" / "b.jpg")
    report = lint(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in report.images] == ["a.jpg", "more/b.jpg"]


def test_quick_mode_decodes_no_image(tmp_path, make, monkeypatch):
    """`plan` lints quickly: headers and file ends only, not one image decoded, in this process (no pool)."""
    from PIL import Image

    base = make.picture(1, (256, 256))
    for i in range(100):
        make.save(base, tmp_path / f"{i:03}.jpg", quality=80)
    decoded: list[str] = []
    load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda im: (decoded.append(im.format), load(im))[1])
    report = lint_dataset(tmp_path, quick=True, caption_mode="none", resolution=256)
    assert report.image_count == 100
    assert decoded == []


def test_pool_and_serial_agree(tmp_path, make):
    for i in range(30):
        make.save(make.picture(i), tmp_path / f"{i:02}.jpg")
    make.save(Image.open(tmp_path / "03.jpg"), tmp_path / "03-copy.png")  # same pixels, other format
    serial = lint(tmp_path, workers=1).to_dict()
    pooled = lint(tmp_path, workers=2).to_dict()
    assert serial == pooled
    assert any(f["id"] == "duplicate" for f in pooled["findings"])


def test_images_are_read_not_written(tmp_path, make):
    make.rotated_jpeg(tmp_path / "a.jpg")
    make.transparent_png(tmp_path / "b.png")
    (tmp_path / "a.txt").write_bytes("\ufeffcaf\u00e9\u00a0x".encode())
    before = make.tree_digest(tmp_path)
    lint(tmp_path, caption_mode="captions")
    assert make.tree_digest(tmp_path) == before
    assert Image.open(tmp_path / "a.jpg").getexif()[0x0112] == 6


@pytest.mark.skipif(not __import__("PIL.features").features.check("avif"), reason="Pillow built without AVIF")
def test_avif_opens_in_pillow_but_no_trainer_loads_it(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.avif")
    for backend in ("ai-toolkit", "sd-scripts"):
        finding = only(lint(tmp_path, backend=backend), "format-not-loaded")
        assert finding.path == "a.avif" and f"{backend} does not load .avif" in finding.message
