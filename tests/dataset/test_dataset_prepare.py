"""`prepare`: the source is never touched, each option does what it says, --out is guarded."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fluxgen.dataset.prepare import PrepareOptions, prepare_dataset
from fluxgen.errors import UserError


def run(src, out, **kw):
    force = kw.pop("force", False)
    workers = kw.pop("workers", 1)
    kw.setdefault("resolution", 64)
    return prepare_dataset(src, out, PrepareOptions(**kw), force=force, workers=workers)


def report_of(result, source: str):
    return next(f for f in result.files if f.source == source)


@pytest.fixture
def messy(tmp_path, make):
    """A source folder with most of what prepare has to fix."""
    src = tmp_path / "src"
    make.rotated_jpeg(src / "side.jpg", orientation=6, size=(120, 80))
    make.transparent_png(src / "cut.png")
    make.save(make.picture(1).convert("CMYK"), src / "print.jpg")
    make.sixteen_bit_png(src / "scan.png")
    make.save(make.picture(2), src / "old.tif")
    make.truncated_jpeg(src / "broken.jpg")
    (src / "phone.heic").write_bytes(make.heic_head)
    make.save(make.picture(3), src / "pair.jpg")
    make.save(make.picture(4), src / "pair.png")
    (src / "pair.txt").write_bytes("\ufeff[trigger],\u00a0on a\x07 table".encode())
    (src / "side.txt").write_bytes("caf\xe9 ohwx".encode("latin-1"))
    return src


def test_source_is_byte_identical_afterwards(messy, tmp_path, make):
    before = make.tree_digest(messy)
    stat_before = {p.name: p.stat().st_mtime_ns for p in messy.iterdir()}
    run(messy, tmp_path / "out", trigger="ohwx", crop="square", alpha="mask", style_patches=0)
    run(messy, tmp_path / "out2", style_patches=4, format="webp", workers=2)
    assert make.tree_digest(messy) == before
    assert {p.name: p.stat().st_mtime_ns for p in messy.iterdir()} == stat_before


def test_messy_folder_comes_out_clean(messy, tmp_path, make):
    result = run(messy, tmp_path / "out", trigger="ohwx")
    assert {f.source for f in result.skipped} == {"broken.jpg", "phone.heic"}
    assert "truncated" in report_of(result, "broken.jpg").skipped
    assert result.lint.errors == []
    assert {f.id for f in result.lint.findings} <= {"image-count", "not-square", "caption-missing"}
    names = make.listing(result.out)
    assert "old.png" in names and "old.tif" not in names
    assert {"pair.jpg", "pair.txt", "pair-2.png"} <= set(names)


def test_exif_orientation_is_applied(messy, tmp_path):
    out = run(messy, tmp_path / "out").out
    with Image.open(out / "side.jpg") as im:
        assert im.size == (64, 96)  # stored 120×80 on its side → upright 80×120 → short side 64
        assert im.getexif().get(0x0112) in (None, 1)
    kept = run(messy, tmp_path / "raw", exif=False, format="png").out
    with Image.open(kept / "side.png") as im:
        assert im.size == (96, 64)


def test_alpha_flattened_onto_background(messy, tmp_path):
    result = run(messy, tmp_path / "out", background="#ff0000")
    with Image.open(result.out / "cut.png") as im:
        assert im.mode == "RGB" and im.getpixel((60, 10)) == (255, 0, 0)
    assert "flattened transparency onto #ff0000" in "; ".join(report_of(result, "cut.png").notes)
    assert not (result.out / "cut_mask.png").exists()


def test_modes_become_8bit_rgb(messy, tmp_path):
    out = run(messy, tmp_path / "out").out
    with Image.open(out / "print.jpg") as im:
        assert im.mode == "RGB"
    with Image.open(out / "scan.png") as im:
        assert im.mode == "RGB"
        left, right = im.getpixel((5, 5)), im.getpixel((60, 5))
        assert left[0] == round(15000 / 257) and right[0] == round(30000 / 257)


def test_resize_short_side_without_upscaling(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (200, 100)), src / "big.jpg")
    make.save(make.picture(2, (40, 30)), src / "small.jpg")
    out = run(src, tmp_path / "out").out
    assert Image.open(out / "big.jpg").size == (128, 64)
    assert Image.open(out / "small.jpg").size == (40, 30)
    up = run(src, tmp_path / "up", upscale=True).out
    assert Image.open(up / "small.jpg").size == (85, 64)


def test_unchanged_images_are_copied_byte_for_byte(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (64, 80)), src / "fits.jpg", quality=95)
    out = run(src, tmp_path / "out").out
    assert (out / "fits.jpg").read_bytes() == (src / "fits.jpg").read_bytes()


def test_square_crop(tmp_path, make):
    src = tmp_path / "src"
    arr = np.zeros((100, 300, 3), dtype=np.uint8)
    arr[:, 100:200] = 255  # white centre third
    make.save(Image.fromarray(arr), src / "wide.png")
    out = run(src, tmp_path / "out", crop="square", resolution=100).out
    with Image.open(out / "wide.png") as im:
        assert im.size == (100, 100) and im.getextrema() == ((255, 255),) * 3


def test_style_patches(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (256, 256)), src / "art.png")
    (src / "art.txt").write_text("zxy_style, a building")
    result = run(src, tmp_path / "out", style_patches=4, kind="style", captions="captions")
    names = make.listing(result.out)
    assert names == [f"art_p{i}{ext}" for i in range(1, 5) for ext in (".png", ".txt")]
    sizes = {Image.open(result.out / f"art_p{i}.png").size for i in range(1, 5)}
    assert sizes == {(64, 64)}
    assert (result.out / "art_p3.txt").read_text() == "zxy_style, a building"
    crops = [np.asarray(Image.open(result.out / f"art_p{i}.png")) for i in range(1, 5)]
    assert not np.array_equal(crops[0], crops[3])


@pytest.mark.parametrize(
    ("backend", "fmt", "expected"),
    [
        ("ai-toolkit", None, {"a.jpg", "b.png", "c.png"}),
        ("sd-scripts", None, {"a.jpg", "b.bmp", "c.png"}),
        ("ai-toolkit", "webp", {"a.webp", "b.webp", "c.webp"}),
    ],
)
def test_output_format(tmp_path, make, backend, fmt, expected):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    make.save(make.picture(2), src / "b.bmp")
    make.save(make.picture(3), src / "c.gif")
    out = run(src, tmp_path / "out", backend=backend, format=fmt, captions="none").out
    assert set(make.listing(out)) == expected
    assert Image.open(out / sorted(expected)[2]).format == {"png": "PNG", "webp": "WEBP"}[fmt or "png"]


def test_captions_normalised_and_placeholder_replaced(messy, tmp_path):
    result = run(messy, tmp_path / "out", trigger="ohwx")
    raw = (result.out / "pair.txt").read_bytes()
    assert raw == b"ohwx, on a table"
    assert (result.out / "side.txt").read_bytes() == "café ohwx".encode()
    notes = "; ".join(report_of(result, "side.jpg").notes)
    assert "re-encoded from windows-1252 to UTF-8" in notes


def test_caption_template_and_modes(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    make.save(make.picture(2), src / "b.jpg")
    (src / "a.txt").write_text("a skull on a table")
    templ = run(src, tmp_path / "t", trigger="ohwx", caption_template="{trigger}, {caption}").out
    assert (templ / "a.txt").read_text() == "ohwx, a skull on a table"
    assert (templ / "b.txt").read_text() == "ohwx"
    trig = run(src, tmp_path / "trig", trigger="zxy", captions="trigger").out
    assert (trig / "a.txt").read_text() == "zxy" and (trig / "b.txt").read_text() == "zxy"
    none = run(src, tmp_path / "none", captions="none").out
    assert make.listing(none) == ["a.jpg", "b.jpg"]
    plain = run(src, tmp_path / "plain").out
    assert make.listing(plain) == ["a.jpg", "a.txt", "b.jpg"]


def test_style_without_trigger_writes_no_captions(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    (src / "a.txt").write_text("a long description")
    result = run(src, tmp_path / "out", kind="style")
    assert result.caption_mode == "none" and not (result.out / "a.txt").exists()


def test_duplicates_skipped_unless_kept(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.png")
    make.save(make.picture(1), src / "b.png")
    result = run(src, tmp_path / "out", captions="none")
    assert report_of(result, "b.png").skipped == "duplicate: same pixels as a.png"
    kept = run(src, tmp_path / "kept", captions="none", dedupe=False)
    assert make.listing(kept.out) == ["a.png", "b.png"]


@pytest.mark.parametrize(
    ("where", "message"),
    [("same", "is the source folder"), ("inside", "inside the source folder"), ("parent", "contains the source")],
)
def test_out_may_not_touch_the_source(tmp_path, make, where, message):
    src = tmp_path / "data" / "src"
    make.save(make.picture(1), src / "a.jpg")
    out = {"same": src, "inside": src / "clean", "parent": tmp_path / "data"}[where]
    with pytest.raises(UserError, match=message):
        run(src, out)
    assert sorted(p.name for p in src.iterdir()) == ["a.jpg"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"captions": "trigger"}, "--captions trigger .* pass --trigger WORD"),
        ({"caption_template": "{trigger} {caption}"}, "uses \\{trigger\\}; pass --trigger WORD"),
        ({"caption_template": "{who}", "trigger": "x"}, "unknown field \\{who\\}"),
        ({"caption_template": "{caption", "trigger": "x"}, "--caption-template '\\{caption'"),
        ({"caption_template": "{caption}", "captions": "none"}, "cannot be used with --captions none"),
        ({"background": "notacolour"}, "--background 'notacolour': not a colour"),
        ({"style_patches": 99}, "--style-patches 99"),
        ({"kind": "portrait"}, "unknown kind 'portrait'"),
        ({"backend": "comfy"}, "unknown backend 'comfy'"),
    ],
)
def test_option_errors(tmp_path, make, options, message):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    with pytest.raises(UserError, match=message):
        run(src, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_pool_writes_the_same_files_as_one_process(tmp_path, make):
    src = tmp_path / "src"
    for i in range(10):
        folder = src / ("sub" if i % 3 == 0 else "")
        make.save(make.picture(600 + i, (128, 96)), folder / f"{i}.jpg")
        (folder / f"{i}.txt").write_text(f"ohwx, number {i}")
    one = run(src, tmp_path / "one", crop="square", workers=1)
    two = run(src, tmp_path / "two", crop="square", workers=2)
    assert make.tree_digest(one.out) == make.tree_digest(two.out)
    assert [f.outputs for f in one.files] == [f.outputs for f in two.files]
    assert "sub/0.jpg" in make.tree_digest(two.out) and "sub/0.txt" in make.tree_digest(two.out)


def test_alpha_kept_for_sd_scripts(tmp_path, make):
    src = tmp_path / "src"
    make.transparent_png(src / "cut.png")
    make.transparent_png(src / "cut2.webp", seed=8)
    make.save(make.picture(6).convert("RGBA"), src / "opaque.webp", lossless=True)
    result = run(src, tmp_path / "out", alpha="keep", format="jpg", captions="none")
    names = make.listing(result.out)
    assert names == ["cut.png", "cut2.png", "opaque.jpg"]  # transparency needs PNG; opaque ones follow --format
    with Image.open(result.out / "cut.png") as im:
        assert im.mode == "RGBA" and im.getpixel((60, 5))[3] == 0
