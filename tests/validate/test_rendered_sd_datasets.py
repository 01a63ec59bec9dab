"""Every dataset.toml fluxgen renders passes sd-scripts' own ConfigSanitizer, with --masked_loss exactly when the
args.toml beside it sets masked_loss: the golden files of every preset, and a plan with subject masks (a ControlNet
subset whose conditioning_data_dir holds the masks). The sanitizer runs from the pinned source tarball in the
cached loader venv of the corpus tests (see test_corpus_sd_scripts.py for the stand-ins it needs)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from validate.corpus_env import SD_TARBALL, extract, run_script, tarball
from validate.test_corpus_sd_scripts import SANITIZE

from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan
from helpers import make_images

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
GOLDEN = Path(__file__).parents[1] / "golden"


def _masked_plan_files(tmp_path: Path) -> dict[str, str]:
    from PIL import Image

    images = make_images(tmp_path / "skull", 4, size=256)
    masks = images.with_name("skull_masks")
    masks.mkdir()
    (masks / ".fluxgen-prepare").write_text('{"written_by": "fluxgen dataset prepare"}\n')
    for image in sorted(images.glob("*.jpg")):
        Image.new("L", (64, 64), 255).save(masks / f"{image.stem}.png")
    plan = build_plan(None, PlanOptions(images=str(images), backend="sd-scripts", trigger="CSKULL"))
    assert plan.values["masks"] == str(masks)
    return render_plan(plan)


def _several_masked_files(tmp_path: Path) -> dict[str, str]:
    """Two training folders with masks: one ControlNet-style subset each, in every resolution's block."""
    from test_several_folders import add_masks, make_folders

    root = make_folders(tmp_path / "several")
    add_masks(root / "closeups")
    add_masks(root / "fullbody")
    (root / "two.yaml").write_text("kind: subject\ntrigger: ohwx woman\ntrain: {resolution: [512, 1024]}\n"
                                   "datasets:\n  - path: closeups\n    repeats: 2\n  - path: fullbody\n"
                                   "    caption_ext: .caption\n", encoding="utf-8")
    return render_plan(build_plan(str(root / "two.yaml"), PlanOptions(backend="sd-scripts")))


def test_rendered_dataset_files_pass_the_sanitizer(tmp_path: Path) -> None:
    cases = {folder.name: {name: (folder / name).read_text(encoding="utf-8") for name in ("dataset.toml", "args.toml")}
             for folder in sorted(GOLDEN.glob("*.sd-scripts"))}
    assert "several-folders.sd-scripts" in cases  # subsets of several folders, a reg subset, three blocks
    cases["several-masked"] = _several_masked_files(tmp_path)
    cases["masks"] = _masked_plan_files(tmp_path)
    assert len(cases) >= 10
    root = extract(tarball(SD_TARBALL), tmp_path / "sd-scripts", ("library/",))
    verdicts = run_script(SANITIZE, [{"text": files["dataset.toml"]} for files in cases.values()], root)
    wrong = []
    for (name, files), verdict in zip(cases.items(), verdicts, strict=True):
        masked = bool(tomllib.loads(files["args.toml"]).get("dataset", {}).get("masked_loss"))
        if verdict[str(masked)]:
            wrong.append(f"{name}: {verdict[str(masked)]}")
    assert not wrong, "sd-scripts' ConfigSanitizer refuses rendered dataset.toml files:\n" + "\n".join(wrong)
    assert verdicts[-1]["False"], "a masks subset must need --masked_loss, else this test checks nothing about it"
