"""Several image folders in one intent (`datasets:`): the example intent rendered for every backend (golden files,
read back by fluxgen's validators), steps counted over the training folders, origins per entry, and the refusals."""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from test_render import GOLDEN, check_golden, normalise

from fluxgen.errors import ConfigErrors, UserError
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan
from helpers import REPO, cli_run, make_images

EXAMPLE = REPO / "docs" / "examples" / "several-folders.yaml"
BACKENDS = ("ai-toolkit", "sd-scripts", "simpletuner")


def make_folders(root: Path, full_body_ext: str = ".caption") -> Path:
    """The folders the example intent names, beside a copy of it: 6 close-ups, 4 full-body shots captioned in
    `.caption` files (SimpleTuner reads only `.txt`: `full_body_ext` and the intent say so), 5 class images without
    the trigger."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE, root / "intent.yaml")
    make_images(root / "closeups", 6, size=256, trigger="ohwx woman", caption="a close-up of a woman")
    make_images(root / "fullbody", 4, size=256, trigger="ohwx woman", caption="a woman standing")
    for caption in (root / "fullbody").glob("*.txt"):
        caption.rename(caption.with_suffix(full_body_ext))
    if full_body_ext != ".caption":
        text = (root / "intent.yaml").read_text(encoding="utf-8")
        (root / "intent.yaml").write_text(text.replace("caption_ext: .caption", f"caption_ext: {full_body_ext}"),
                                          encoding="utf-8")
    make_images(root / "reg-woman", 5, size=256, trigger=None, caption="a photo of a woman")
    return root


@pytest.fixture(scope="module")
def several(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folders(tmp_path_factory.mktemp("several"))


@pytest.fixture(scope="module")
def several_txt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folders(tmp_path_factory.mktemp("several"), ".txt")


@pytest.mark.parametrize("backend", BACKENDS)
def test_golden(backend: str, several: Path, several_txt: Path, monkeypatch: pytest.MonkeyPatch,
                tmp_path: Path) -> None:
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", sys.executable)
    root = several_txt if backend == "simpletuner" else several
    plan = build_plan(str(root / "intent.yaml"), PlanOptions(backend=backend))
    files = render_plan(plan)
    folder = GOLDEN / f"several-folders.{backend}"
    for name, text in files.items():
        got = normalise(text, root)
        check_golden(folder / name, got)
        if name != "command.txt" and name != "prompt_library.json" and name != "sample_prompts.txt":
            (tmp_path / name).write_text(text, encoding="utf-8")
            result = cli_run("validate", str(tmp_path / name), "--backend", backend)
            assert result.exit_code == 0 and " 0 errors, " in result.stdout, result.stdout + result.stderr


def test_ai_toolkit_one_entry_per_folder_with_all_resolutions(several: Path) -> None:
    files = render_plan(build_plan(str(several / "intent.yaml"), PlanOptions(backend="ai-toolkit")))
    entries = yaml.safe_load(files["config.yaml"])["config"]["process"][0]["datasets"]
    assert [(Path(e["folder_path"]).name, e["resolution"], e["num_repeats"], e.get("is_reg", False),
             e["caption_ext"]) for e in entries] == [
        ("closeups", [512, 768, 1024], 2, False, "txt"), ("fullbody", [512, 768, 1024], 1, False, "caption"),
        ("reg-woman", [1024], 1, True, "txt")]


def test_sd_scripts_one_block_per_resolution_with_every_folder(several: Path) -> None:
    files = render_plan(build_plan(str(several / "intent.yaml"), PlanOptions(backend="sd-scripts")))
    data = tomllib.loads(files["dataset.toml"])
    shape = [(d["resolution"], [(Path(s["image_dir"]).name, s["num_repeats"], s.get("is_reg", False),
                                 s.get("caption_extension"), s.get("class_tokens")) for s in d["subsets"]])
             for d in data["datasets"]]
    training = [("closeups", 2, False, None, "ohwx woman"), ("fullbody", 1, False, ".caption", "ohwx woman")]
    assert shape == [(512, training), (768, training), (1024, [*training, ("reg-woman", 1, True, None, None)])]


def test_auto_steps_count_training_folders_times_repeats(several: Path) -> None:
    plan = build_plan(str(several / "intent.yaml"), PlanOptions(backend="ai-toolkit"))
    assert plan.values["images"] == 10 and plan.values["steps"] == 100 * (6 * 2 + 4)
    why = plan.origins["steps"]
    assert "16 image views per epoch" in why and "6 images × 2 repeats in datasets[0].path" in why
    assert "datasets[2].path not counted" in why


def test_every_entry_value_keeps_its_origin(several: Path) -> None:
    plan = build_plan(str(several / "intent.yaml"), PlanOptions(backend="sd-scripts"))
    origins = plan.origins
    assert origins["datasets.0.repeats"].endswith("intent.yaml:13")
    assert origins["datasets.2.is_reg"].endswith("intent.yaml:17")
    assert origins["datasets.1.caption_ext"].endswith("intent.yaml:15")
    assert origins["datasets.1.resolution"].startswith("as resolution (preset ")
    assert "class" in origins["datasets.2.caption_mode"]
    assert plan.values["dataset"] == str(several / "closeups")


def test_builtin_refuses_with_the_key(several: Path) -> None:
    result = cli_run("plan", str(several / "intent.yaml"), "--backend", "builtin")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: datasets[2].is_reg: the builtin trainer has no regularisation images")


def _intent(root: Path, body: str) -> str:
    path = root / "more.yaml"
    path.write_text("kind: subject\ntrigger: ohwx woman\n" + body, encoding="utf-8")
    return str(path)


def test_a_missing_folder_names_its_key(several: Path) -> None:
    ref = _intent(several, "datasets:\n  - path: closeups\n  - path: nowhere\n")
    with pytest.raises(UserError, match=r"^datasets\[1\]\.path 'nowhere' \(preset .*more.yaml:5\): no such folder"):
        build_plan(ref, PlanOptions())


def test_dataset_path_and_datasets_together_are_refused(several: Path) -> None:
    ref = _intent(several, "datasets:\n  - path: closeups\n")
    with pytest.raises(UserError, match="lists its folders under datasets:"):
        build_plan(ref, PlanOptions(images=str(several / "fullbody")))


def test_only_regularisation_folders_are_refused(several: Path) -> None:
    ref = _intent(several, "datasets:\n  - path: reg-woman\n    is_reg: true\n")
    with pytest.raises(UserError, match="every folder is is_reg"):
        build_plan(ref, PlanOptions())


def test_trigger_captions_on_a_reg_folder_are_refused(several: Path) -> None:
    ref = _intent(several, "datasets:\n  - path: closeups\n  - path: reg-woman\n    is_reg: true\n"
                  "    captions: trigger\n")
    with pytest.raises(UserError, match=r"datasets\[1\]\.captions: trigger on a regularisation folder"):
        build_plan(ref, PlanOptions())


def test_an_unknown_entry_key_says_did_you_mean(several: Path) -> None:
    ref = _intent(several, "datasets:\n  - path: closeups\n    repaets: 2\n")
    with pytest.raises(ConfigErrors, match=r"datasets\[0\]\.repaets: unknown key \(did you mean 'repeats'\?\)"):
        build_plan(ref, PlanOptions())


def add_masks(images: Path) -> Path:
    from PIL import Image

    masks = images.with_name(f"{images.name}_masks")
    masks.mkdir(exist_ok=True)
    (masks / ".fluxgen-prepare").write_text('{"written_by": "fluxgen dataset prepare"}\n')
    for image in sorted(images.glob("*.jpg")):
        Image.new("L", (64, 64), 255).save(masks / f"{image.stem}.png")
    return masks


def test_masks_per_folder(tmp_path: Path) -> None:
    root = make_folders(tmp_path / "m")
    add_masks(root / "closeups")
    ref = _intent(root, "datasets:\n  - path: closeups\n  - path: fullbody\n    caption_ext: .caption\n"
                  "  - path: reg-woman\n    is_reg: true\n")
    plan = build_plan(ref, PlanOptions(backend="ai-toolkit"))
    assert plan.values["datasets.0.masks"] == str(root / "closeups_masks")
    assert "datasets.1.masks" not in plan.values
    entries = yaml.safe_load(render_plan(plan)["config.yaml"])["config"]["process"][0]["datasets"]
    assert [e.get("mask_path") for e in entries] == [str(root / "closeups_masks"), None, None]
    with pytest.raises(UserError, match=r"^datasets\[1\]\.masks: sd-scripts reads masks only as ControlNet-style"):
        build_plan(ref, PlanOptions(backend="sd-scripts"))


def test_sd_scripts_masks_on_every_training_folder(tmp_path: Path) -> None:
    root = make_folders(tmp_path / "m")
    add_masks(root / "closeups")
    add_masks(root / "fullbody")
    ref = _intent(root, "datasets:\n  - path: closeups\n  - path: fullbody\n    caption_ext: .caption\n")
    files = render_plan(build_plan(ref, PlanOptions(backend="sd-scripts")))
    subsets = tomllib.loads(files["dataset.toml"])["datasets"][0]["subsets"]
    assert [Path(s["conditioning_data_dir"]).name for s in subsets] == ["closeups_masks", "fullbody_masks"]
    assert tomllib.loads(files["args.toml"])["dataset"]["masked_loss"] is True


def test_a_lint_error_in_a_second_folder_stops_the_render(tmp_path: Path) -> None:
    root = make_folders(tmp_path / "e")
    (root / "fullbody" / "broken.jpg").write_bytes(b"not a picture")
    (root / "fullbody" / "broken.caption").write_text("ohwx woman", encoding="utf-8")
    result = cli_run("render", str(root / "intent.yaml"), "--backend", "sd-scripts", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: datasets[1].path {root / 'fullbody' / 'broken.jpg'}: "), result.stderr
    assert not (tmp_path / "out").exists()


def test_render_refuses_an_output_inside_any_folder(several: Path) -> None:
    result = cli_run("render", str(several / "intent.yaml"), "--out", str(several / "reg-woman" / "cfg"))
    assert result.exit_code == 1 and "is inside the dataset folder" in result.stderr


def test_set_reaches_an_entry(several: Path) -> None:
    plan = build_plan(str(several / "intent.yaml"), PlanOptions(sets=["datasets.1.repeats=3"]))
    assert plan.values["datasets.1.repeats"] == 3 and plan.values["steps"] == 100 * (6 * 2 + 4 * 3)
    assert plan.origins["datasets.1.repeats"] == "command line --set datasets.1.repeats=3"
    with pytest.raises(UserError, match=r"--set datasets.1.repaets: unknown key \(did you mean 'repeats'\?\)"):
        build_plan(str(several / "intent.yaml"), PlanOptions(sets=["datasets.1.repaets=3"]))


def test_one_folder_with_repeats_counts_image_views(skull20: Path) -> None:
    plan = build_plan(None, PlanOptions(images=str(skull20), sets=["dataset.repeats=3"]))
    assert plan.values["steps"] == 100 * 20 * 3
    assert "steps = 100 × 20 images × 3 repeats = 6000 image views" in plan.origins["steps"]


def test_builtin_trains_a_list_of_one_folder_with_its_own_values(several: Path) -> None:
    ref = _intent(several, "datasets:\n  - path: fullbody\n    caption_ext: .caption\n    resolution: [512]\n")
    files = render_plan(build_plan(ref, PlanOptions(backend="builtin")))
    dataset = yaml.safe_load(files["train.yaml"])["dataset"]
    assert (dataset["folder"], dataset["caption_ext"], dataset["resolution"]) == (str(several / "fullbody"),
                                                                                 "caption", 512)


def test_a_rendered_file_plans_the_same_again(tmp_path: Path) -> None:
    """The header carries the folders as absolute paths (masks given relative to the intent file too), so
    `render`/`reproduce` from a rendered file plans the same values from any folder."""
    root = make_folders(tmp_path / "r")
    masks = add_masks(root / "closeups")
    masks.rename(root / "my-masks")
    ref = _intent(root, "datasets:\n  - path: closeups\n    masks: my-masks\n  - path: fullbody\n"
                  "    caption_ext: .caption\n  - path: reg-woman\n    is_reg: true\n")
    plan = build_plan(ref, PlanOptions(backend="ai-toolkit"))
    assert plan.values["datasets.0.masks"] == str(root / "my-masks")
    (tmp_path / "config.yaml").write_text(render_plan(plan)["config.yaml"], encoding="utf-8")
    again = build_plan(str(tmp_path / "config.yaml"), PlanOptions())
    assert again.values == plan.values and again.hash == plan.hash


def test_train_refuses_runs_inside_a_reg_folder(several: Path) -> None:
    result = cli_run("train", str(several / "intent.yaml"), "--runs", str(several / "reg-woman" / "runs"), "--dry-run")
    assert result.exit_code == 1 and "is inside the dataset folder" in result.stderr and "Traceback" not in result.stderr


def _transparent(folder: Path, n: int) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(n):
        img = Image.new("RGBA", (128, 128), (200, 40 * i, 90, 0))
        img.paste((10, 200, 30 * i, 255), (32, 32, 96, 96))
        img.save(folder / f"p{i}.png")
        (folder / f"p{i}.txt").write_text(f"ohwx woman, picture {i}", encoding="utf-8")
    return folder


def test_prepare_each_folder_then_the_plan_wires_each_mask_folder(tmp_path: Path) -> None:
    """`dataset prepare --alpha mask` per folder writes `<out>_masks`; the plan gives each folder its own."""
    for name in ("a", "b"):
        raw = _transparent(tmp_path / "raw" / name, 2)
        done = cli_run("dataset", "prepare", str(raw), "--out", str(tmp_path / name), "--alpha", "mask",
                       "--trigger", "ohwx woman")
        assert done.exit_code == 0, done.stderr
    ref = _intent(tmp_path, "datasets:\n  - path: a\n  - path: b\n    repeats: 2\n")
    for backend, key in (("ai-toolkit", "mask_path"), ("sd-scripts", "conditioning_data_dir")):
        plan = build_plan(ref, PlanOptions(backend=backend))
        assert [plan.values[f"datasets.{i}.masks"] for i in (0, 1)] == [str(tmp_path / "a_masks"),
                                                                          str(tmp_path / "b_masks")]
        assert "dataset prepare" in plan.origins["datasets.1.masks"]
        text = render_plan(plan)["config.yaml" if backend == "ai-toolkit" else "dataset.toml"]
        assert text.count(f"{key}") >= 2 and str(tmp_path / "b_masks") in text


def test_is_reg_through_the_pass_through_names_the_modelled_key(several: Path) -> None:
    ref = _intent(several, "trainer:\n  ai-toolkit: {datasets: {is_reg: true}}\n")
    with pytest.raises(ConfigErrors, match=r"trainer.ai-toolkit.datasets.is_reg: is a modelled setting: set "
                                           r"datasets\[\]\.is_reg"):
        build_plan(ref, PlanOptions(images=str(several / "closeups")))


def test_simpletuner_refuses_a_caption_extension_it_does_not_read(several: Path) -> None:
    with pytest.raises(UserError, match=r"^datasets\[1\]\.caption_ext \.caption: SimpleTuner reads an image's caption "
                                        r"from <image>\.txt only"):
        build_plan(str(several / "intent.yaml"), PlanOptions(backend="simpletuner"))


def test_each_folder_is_linted_and_fingerprinted_once(several: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder that names the LoRA is read by the plan once, not again as the first entry of datasets."""
    import fluxgen.dataset.fingerprint as fingerprint
    import fluxgen.dataset.lint as lint

    seen: dict[str, list[str]] = {"lint": [], "fingerprint": []}
    real_lint, real_print = lint.lint_dataset, fingerprint.fingerprint_dataset
    monkeypatch.setattr(lint, "lint_dataset", lambda folder, **kw: seen["lint"].append(Path(folder).name)
                        or real_lint(folder, **kw))
    monkeypatch.setattr(fingerprint, "fingerprint_dataset", lambda folder, **kw: seen["fingerprint"].append(
        Path(folder).name) or real_print(folder, **kw))
    build_plan(str(several / "intent.yaml"), PlanOptions(backend="ai-toolkit"))
    assert sorted(seen["lint"]) == sorted(seen["fingerprint"]) == ["closeups", "fullbody", "reg-woman"]
