"""prepare --trigger placement, --caption and --masks subject on tiny models, the source-image count, and the
plan wiring the masks into every backend."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fluxgen.cli import cli
from fluxgen.dataset.captioners.tiny import BUILDERS
from fluxgen.dataset.prepare import PrepareOptions, prepare_dataset
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan
from helpers import make_images


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {name: BUILDERS[name](root / name) for name in ("blip2", "clipseg")}


def test_trigger_is_placed_by_the_default_template_never_twice(tmp_path, make):
    src = tmp_path / "src"
    for name in ("a", "b", "c"):
        make.save(make.picture(ord(name)), src / f"{name}.jpg")
    (src / "a.txt").write_text("a skull on a table")
    (src / "b.txt").write_text("ohwx skull, on a table")
    out = prepare_dataset(src, tmp_path / "out", PrepareOptions(trigger="ohwx", resolution=64)).out
    assert (out / "a.txt").read_text() == "ohwx, a skull on a table"
    assert (out / "b.txt").read_text() == "ohwx skull, on a table"
    assert (out / "c.txt").read_text() == "ohwx"  # no caption: the trigger alone
    help_text = CliRunner().invoke(cli, ["dataset", "prepare", "--help"]).stdout
    assert "never twice" in " ".join(help_text.split())


def test_style_patches_record_source_images_and_steps_count_them(tmp_path):
    src = make_images(tmp_path / "art", 3, size=256, trigger="GXSTYLE", caption="a building")
    out = prepare_dataset(src, tmp_path / "patches", PrepareOptions(kind="style", trigger="GXSTYLE",
                                                                      resolution=128, style_patches=4)).out
    note = json.loads((out / ".fluxgen-prepare").read_text())
    assert note["source_images"] == 3 and note["images"] == 12 and note["style_patches"] == 4
    plan = build_plan(None, PlanOptions(images=str(out), kind="style", trigger="GXSTYLE"))
    assert plan.values["images"] == 12 and plan.values["source_images"] == 3
    assert plan.values["steps"] == 300
    assert "3 source images (not the 12 style patches cut from them)" in plan.origins["steps"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_caption_and_subject_masks_in_one_pass(tiny, tmp_path, make):
    src = tmp_path / "src"
    for i in range(3):
        make.save(make.picture(i, (96, 80)), src / f"img{i}.jpg")
    (src / "img0.txt").write_text("a skull on a table")
    before = make.tree_digest(src)
    result = CliRunner().invoke(cli, [
        "dataset", "prepare", str(src), "--out", str(tmp_path / "out"), "--trigger", "CSKULL", "--resolution", "64",
        "--caption", "blip2", "--caption-model", str(tiny["blip2"]), "--caption-max-tokens", "8", "--masks", "subject",
        "--mask-model", str(tiny["clipseg"]), "--mask-prompt", "a skull", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert make.tree_digest(src) == before
    out, masks = tmp_path / "out", tmp_path / "out_masks"
    assert (out / "img0.txt").read_text() == "CSKULL, a skull on a table"
    for i in (1, 2):
        assert (out / f"img{i}.txt").read_text().startswith("CSKULL")
    provenance = json.loads((out / "captions.json").read_text())
    assert set(provenance["files"]) == {"img1.jpg", "img2.jpg"}
    from PIL import Image

    for i in range(3):
        with Image.open(masks / f"img{i}.png") as mask, Image.open(out / f"img{i}.jpg") as image:
            assert mask.mode == "L" and mask.size == image.size
            assert {v for v, n in enumerate(mask.histogram()) if n} <= {0, 255}
    assert "Wrote 3 masks" in result.stdout


def _write_masks(dataset: Path) -> Path:
    from PIL import Image

    folder = dataset.with_name(f"{dataset.name}_masks")
    folder.mkdir()
    (folder / ".fluxgen-prepare").write_text('{"written_by": "fluxgen dataset prepare"}\n')
    for image in sorted(dataset.glob("*.jpg")):
        Image.new("L", (64, 64), 255).save(folder / f"{image.stem}.png")
    return folder


def test_plan_wires_masks_into_every_backend(tmp_path):
    images = make_images(tmp_path / "skull", 12, size=256)
    masks = _write_masks(images)
    files = {}
    for backend in ("ai-toolkit", "sd-scripts", "builtin"):
        plan = build_plan(None, PlanOptions(images=str(images), backend=backend, trigger="CSKULL"))
        assert plan.values["masks"] == str(masks)
        assert "beside the images" in plan.origins["masks"]
        files[backend] = render_plan(plan)
    dataset = yaml.safe_load(files["ai-toolkit"]["config.yaml"])["config"]["process"][0]["datasets"][0]
    assert dataset["mask_path"] == str(masks)
    args = tomllib.loads(files["sd-scripts"]["args.toml"])
    assert args["dataset"]["masked_loss"] is True
    subset = tomllib.loads(files["sd-scripts"]["dataset.toml"])["datasets"][0]["subsets"][0]
    assert subset["conditioning_data_dir"] == str(masks) and "class_tokens" not in subset
    assert yaml.safe_load(files["builtin"]["train.yaml"])["dataset"]["mask_folder"] == str(masks)
    off = build_plan(None, PlanOptions(images=str(images), sets=["dataset.masks=none"]))
    assert "masks" not in off.values


def test_plan_refuses_masks_that_do_not_cover_every_image(tmp_path):
    from fluxgen.errors import UserError

    images = make_images(tmp_path / "skull", 12, size=256)
    masks = _write_masks(images)
    (masks / "img_003.png").unlink()
    with pytest.raises(UserError, match="no mask for 1 image"):
        build_plan(None, PlanOptions(images=str(images)))


def test_prepare_captions_with_the_rules_of_dataset_caption(tmp_path, make):
    """A tagger's output stays tags in `prepare --caption` too, a style included (no first-clause cut)."""
    pytest.importorskip("onnxruntime", reason="wd14 is an optional extra (fluxgen[wd14])")
    pytest.importorskip("onnx", reason="the tiny ONNX tagger is written with the onnx package")
    from PIL import Image

    from fluxgen.dataset.captioners.wd14 import build_tiny_wd14

    tagger = build_tiny_wd14(tmp_path / "wd14")
    src = tmp_path / "colours"
    make.save(Image.new("RGB", (96, 80), (10, 250, 250)), src / "cyan.png")
    result = CliRunner().invoke(cli, [
        "dataset", "prepare", str(src), "--out", str(tmp_path / "out"), "--trigger", "zxy_style", "--kind", "style",
        "--resolution", "64", "--caption", "wd14", "--caption-model", str(tagger), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "cyan.txt").read_text() == "zxy_style, green theme, blue theme"
    assert json.loads((tmp_path / "out" / "captions.json").read_text())["settings"]["mode"] == "tags"
