"""What `prepare` writes and where: masks beside the output, a clean swap on --force, style patches at the
training size, WebP for ai-toolkit, colour profiles, and write errors as one line."""

from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from fluxgen.cli import cli
from fluxgen.dataset.prepare import PrepareOptions, prepare_dataset
from fluxgen.errors import UserError


def run(src, out, **kw):
    force = kw.pop("force", False)
    kw.setdefault("resolution", 64)
    kw.setdefault("captions", "none")
    return prepare_dataset(src, out, PrepareOptions(**kw), force=force, workers=kw.pop("workers", 1))


def names(folder) -> list[str]:
    """Files under a folder (relative paths), leaving out hidden ones such as prepare's marker."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not p.name.startswith("."))


def notes_of(result, source: str) -> str:
    return "; ".join(next(f for f in result.files if f.source == source).notes)


# --- transparency: masks in their own folder, kept alpha ------------------------------------------------------

def test_alpha_mask_goes_to_a_sibling_folder(tmp_path, make):
    src = tmp_path / "src"
    make.transparent_png(src / "cut.png")
    make.save(make.picture(2), src / "sub" / "opaque.jpg")
    result = run(src, tmp_path / "out", alpha="mask")
    masks = tmp_path / "out_masks"
    assert result.masks == masks
    assert names(result.out) == ["cut.png", "sub/opaque.jpg"]
    assert names(masks) == ["cut.png", "opaque.png"]  # flat, named like the images: ai-toolkit's mask_path
    with Image.open(masks / "cut.png") as mask:
        assert mask.mode == "L" and mask.getpixel((5, 5)) == 255 and mask.getpixel((60, 5)) == 0
    with Image.open(masks / "opaque.png") as mask:
        assert mask.getextrema() == (255, 255)  # every image has a mask, opaque ones all white
    assert result.lint.findings == []  # nothing about its own output


def test_mask_dir_option_and_its_guards(tmp_path, make):
    src = tmp_path / "src"
    make.transparent_png(src / "cut.png")
    result = prepare_dataset(src, tmp_path / "out", PrepareOptions(resolution=64, captions="none", alpha="mask",
                                                                   mask_dir=str(tmp_path / "m")), workers=1)
    assert result.masks == tmp_path / "m" and names(tmp_path / "m") == ["cut.png"]
    for bad, message in ((tmp_path / "out2" / "masks", "inside --out"), (src / "m", "inside the source"),
                         (tmp_path / "out2", "is --out")):
        with pytest.raises(UserError, match=message):
            prepare_dataset(src, tmp_path / "out2", PrepareOptions(alpha="mask", mask_dir=str(bad)))
    with pytest.raises(UserError, match="--mask-dir needs --alpha mask"):
        prepare_dataset(src, tmp_path / "out3", PrepareOptions(mask_dir=str(tmp_path / "m2")))


def test_alpha_keep_is_not_reported_as_a_problem(tmp_path, make):
    src = tmp_path / "src"
    make.transparent_png(src / "cut.png")
    make.save(make.picture(2), src / "opaque.jpg")
    result = run(src, tmp_path / "out", alpha="keep", backend="sd-scripts")
    assert result.lint.warnings == [] and result.lint.errors == []
    kept = [f for f in result.lint.findings if f.id == "alpha-kept"]
    assert [f.path for f in kept] == ["cut.png"]
    assert "alpha_mask = true" in kept[0].message and "--masked_loss" in kept[0].message


# --- --force swaps in a fresh folder --------------------------------------------------------------------------

def test_force_leaves_only_the_new_output(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    make.save(make.picture(2), src / "b.jpg")
    out = tmp_path / "out"
    run(src, out)
    (src / "b.jpg").unlink()
    with pytest.raises(UserError, match="not empty; pass --force"):
        run(src, out)
    run(src, out, force=True)
    assert names(out) == ["a.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # no temporary folders left


def test_output_folder_gets_the_usual_permissions(tmp_path, make):
    import os
    import stat

    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    (tmp_path / "plain").mkdir()
    out = run(src, tmp_path / "out").out
    assert stat.S_IMODE(os.stat(out).st_mode) == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)


def test_force_refuses_a_folder_prepare_did_not_write(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(UserError, match="not written by `fluxgen dataset prepare`"):
        run(src, out, force=True)
    assert names(out) == ["keep.txt"]


def test_a_failed_run_leaves_the_old_output(tmp_path, make, monkeypatch):
    from fluxgen.dataset import writer

    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    out = tmp_path / "out"
    run(src, out)
    before = make.tree_digest(out)
    make.save(make.picture(9), src / "a.jpg")
    make.save(make.picture(2), src / "b.jpg")
    real_job = writer.run_job

    def broken(root, target, job, **kwargs):
        if job.source == "b.jpg":
            raise RuntimeError("boom")
        return real_job(root, target, job, **kwargs)

    monkeypatch.setattr(writer, "run_job", broken)
    with pytest.raises(RuntimeError):
        run(src, out, force=True)
    assert make.tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


# --- style patches at the training size -----------------------------------------------------------------------

def test_style_patches_are_at_least_the_resolution(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (300, 200)), src / "art.png")
    result = run(src, tmp_path / "out", style_patches=4, resolution=128)
    patches = [result.out / f"art_p{i}.png" for i in range(1, 5)]
    assert all(Image.open(p).size == (128, 128) for p in patches)
    crops = [np.asarray(Image.open(p)) for p in patches]
    assert len({c.tobytes() for c in crops}) == 4


def test_style_patches_from_a_small_source(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (200, 100)), src / "art.png")
    small = run(src, tmp_path / "small", style_patches=4, resolution=128)
    sizes = {Image.open(small.out / n).size for n in names(small.out)}
    assert sizes == {(100, 100)}
    assert "smaller than the 128 px resolution" in notes_of(small, "art.png") and "--upscale" in notes_of(small, "art.png")
    up = run(src, tmp_path / "up", style_patches=4, resolution=128, upscale=True)
    assert {Image.open(up.out / n).size for n in names(up.out)} == {(128, 128)}
    assert len(names(up.out)) == 4


def test_fewer_patches_when_the_picture_is_too_small_for_them(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1, (200, 170)), src / "art.png")
    result = run(src, tmp_path / "out", style_patches=9, resolution=128)
    written = names(result.out)
    assert 1 <= len(written) < 9
    assert f"{len(written)} patches instead of 9" in notes_of(result, "art.png")
    assert {Image.open(result.out / n).size for n in written} == {(128, 128)}


# --- WebP and ai-toolkit --------------------------------------------------------------------------------------

def test_webp_warning_for_ai_toolkit(tmp_path, make):
    from fluxgen.dataset.lint import lint_dataset

    make.save(make.picture(1), tmp_path / "a.webp")
    make.save(make.picture(2), tmp_path / "b.jpg")
    report = lint_dataset(tmp_path, backend="ai-toolkit", resolution=64, caption_mode="none")
    webp = [f for f in report.findings if f.id == "webp-ai-toolkit"]
    assert [(f.severity, f.path) for f in webp] == [("warning", "a.webp")]
    assert "prepare" in webp[0].fix
    other = lint_dataset(tmp_path, backend="sd-scripts", resolution=64, caption_mode="none")
    assert not any(f.id == "webp-ai-toolkit" for f in other.findings)


def test_prepare_converts_webp_for_ai_toolkit(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.webp", lossless=True)
    assert names(run(src, tmp_path / "aitk", backend="ai-toolkit").out) == ["a.png"]
    assert names(run(src, tmp_path / "sd", backend="sd-scripts").out) == ["a.webp"]


# --- write errors ---------------------------------------------------------------------------------------------

def test_out_under_a_file_is_one_line(tmp_path, make):
    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="file"):
        run(src, tmp_path / "file" / "out")
    result = CliRunner().invoke(cli, ["dataset", "prepare", str(src), "--out", str(tmp_path / "file" / "out")])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_write_error_in_a_worker_names_the_path(tmp_path, make, monkeypatch):
    from fluxgen.dataset import writer

    src = tmp_path / "src"
    make.save(make.picture(1), src / "a.jpg")

    def full_disk(path, data, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(writer, "atomic_write", full_disk)
    with pytest.raises(UserError, match="a.jpg: cannot write .*No space left on device"):
        run(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- colour profiles ------------------------------------------------------------------------------------------

def test_colour_profile_converted_to_srgb(tmp_path, make):
    from fluxgen.dataset.lint import lint_dataset

    red, green, blue = make.srgb_colorants
    swapped = make.rgb_icc_profile("Swapped RG", green, red, blue)
    src = tmp_path / "src"
    make.save(Image.new("RGB", (64, 64), (255, 0, 0)), src / "wide.png", icc_profile=swapped)
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    make.save(make.picture(3, (64, 64)), src / "tagged.jpg", icc_profile=srgb, quality=95)
    report = lint_dataset(src, resolution=64, caption_mode="none")
    assert [(f.id, f.path) for f in report.findings] == [("colour-profile", "wide.png")]
    assert "Swapped RG" in report.findings[0].message
    result = run(src, tmp_path / "out")
    with Image.open(result.out / "wide.png") as im:
        r, g, b = im.getpixel((10, 10))
        assert g > 200 and r < 60 and "icc_profile" not in im.info
    assert "to sRGB" in notes_of(result, "wide.png")
    assert (result.out / "tagged.jpg").read_bytes() == (src / "tagged.jpg").read_bytes()


def test_transparent_image_with_a_profile_keeps_its_alpha(tmp_path, make):
    red, green, blue = make.srgb_colorants
    swapped = make.rgb_icc_profile("Swapped RG", green, red, blue)
    src = tmp_path / "src"
    im = Image.new("RGBA", (64, 64), (255, 0, 0, 255))
    im.paste((255, 0, 0, 0), (32, 0, 64, 64))
    buf = io.BytesIO()
    im.save(buf, "PNG", icc_profile=swapped)
    src.mkdir()
    (src / "cut.png").write_bytes(buf.getvalue())
    out = run(src, tmp_path / "out", alpha="keep").out
    with Image.open(out / "cut.png") as result:
        assert result.mode == "RGBA" and result.getpixel((60, 5))[3] == 0 and result.getpixel((5, 5))[1] > 200
