"""The round trip is the test: for every preset × backend, importing the rendered trainer files plans to the same
values and renders the same files again (apart from the header, which carries the intent itself)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from fluxgen.errors import UserError
from fluxgen.importer import import_files
from fluxgen.importer.write import ordered_keys, plan_of
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.presets import discover
from fluxgen.render import render_plan

PRESETS = sorted(discover())
BACKENDS = ("ai-toolkit", "sd-scripts", "builtin", "simpletuner")
MAIN = {"ai-toolkit": ["config.yaml"], "sd-scripts": ["args.toml"], "builtin": ["train.yaml"],
        "simpletuner": ["config.json"]}
# Plan values a backend's files do not express, so an import cannot recover them:
#   vram/vram_tier: several tiers render identically (ai-toolkit 8-16 GB and 48/80 GB, sd-scripts 16/24 GB and
#     48/80 GB); the builtin trainer does not quantize and writes no memory setting at all.
#   workers: ai-toolkit's job as fluxgen writes it has no data-loader workers key.
#   optimizer_args: the builtin train.yaml has no optimizer arguments.
#   workers: SimpleTuner's files as fluxgen writes them set no data-loader workers either.
NOT_EXPRESSED = {
    "ai-toolkit": {"vram", "vram_tier", "workers"},
    "sd-scripts": {"vram", "vram_tier"},
    "builtin": {"vram", "vram_tier", "optimizer_args"},
    "simpletuner": {"vram", "vram_tier", "workers"},
}
HASH = re.compile(r"sha256:[0-9a-f]{16}\b")


def body(text: str, mask_hash: bool) -> str:
    """A rendered file without its header comment lines (SimpleTuner's JSON carries them in modelspec_comment);
    the plan hash masked when a value not in the files differs (the hash covers every plan value)."""
    if text.startswith("{"):
        data = json.loads(text)
        data.pop("modelspec_comment", None)
        text = json.dumps(data, indent=2)
    lines = [line for line in text.splitlines() if not line.startswith("# ")]
    out = "\n".join(lines)
    return HASH.sub("sha256:<PLAN-HASH>", out) if mask_hash else out


def round_trip(plan, tmp_path: Path):
    files = render_plan(plan)
    folder = tmp_path / "rendered"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    imported = import_files([folder / name for name in MAIN[plan.backend]])
    again = plan_of(imported, ordered_keys(imported))
    return files, imported, again


def assert_same(plan, files, again) -> None:
    skip = NOT_EXPRESSED[plan.backend]
    differ = {k: (plan.values.get(k), again.values.get(k)) for k in set(plan.values) | set(again.values)
              if plan.values.get(k) != again.values.get(k)}
    assert set(differ) <= skip, {k: v for k, v in differ.items() if k not in skip}
    files_again = render_plan(again)
    assert set(files_again) == set(files)
    for name in files:
        assert body(files_again[name], bool(differ)) == body(files[name], bool(differ)), name


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import make_images

    return make_images(tmp_path_factory.mktemp("rt") / "images", 4)


def test_presets_are_many() -> None:
    assert len(PRESETS) >= 9


@pytest.mark.parametrize("trigger", [None, "CSKULL"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_round_trips(preset: str, backend: str, trigger: str | None, images: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)
    plan = build_plan(preset, PlanOptions(images=str(images), backend=backend, trigger=trigger, lint=False))
    files, imported, again = round_trip(plan, tmp_path)
    assert_same(plan, files, again)
    assert all(o.startswith("imported") for o in imported.origins.values())
    assert imported.unmapped == []  # fluxgen's own files say nothing the intent cannot


@pytest.mark.parametrize("vram", [8, 10, 12, 16, 24, 48, 80])
@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts"])
def test_every_vram_tier_renders_the_same_files_again(backend: str, vram: int, images: Path, tmp_path: Path) -> None:
    plan = build_plan("subject", PlanOptions(images=str(images), backend=backend, vram=vram, lint=False))
    files, imported, again = round_trip(plan, tmp_path)
    assert_same(plan, files, again)


def test_a_fixed_tier_is_recovered_exactly(images: Path, tmp_path: Path) -> None:
    plan = build_plan("subject", PlanOptions(images=str(images), backend="sd-scripts", vram=12, lint=False))
    _, imported, again = round_trip(plan, tmp_path)
    assert imported.values["vram"] == 12 and again.values == plan.values


def test_origins_name_file_and_line(images: Path, tmp_path: Path) -> None:
    plan = build_plan("cyber-skull", PlanOptions(images=str(images), backend="ai-toolkit", lint=False))
    files, imported, _ = round_trip(plan, tmp_path)
    origin = imported.origins["network.rank"]
    match = re.match(r"imported from (.+):(\d+) \(config\.process\.0\.network\.linear\)$", origin)
    assert match, origin
    line = files["config.yaml"].splitlines()[int(match.group(2)) - 1]
    assert line.strip() == f"linear: {plan.values['rank']}"


@pytest.fixture(scope="module")
def several(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_several_folders import add_masks, make_folders

    root = make_folders(tmp_path_factory.mktemp("rt-several"))
    masked = make_folders(root / "masked")
    (root / "masked.yaml").write_text("kind: subject\ntrigger: ohwx woman\ndatasets:\n  - path: masked/closeups\n"
                                      "    repeats: 3\n  - path: masked/fullbody\n    caption_ext: .caption\n"
                                      "    resolution: [512, 1024]\n", encoding="utf-8")
    for folder in ("closeups", "fullbody"):
        add_masks(masked / folder)
    return root


@pytest.mark.parametrize("intent", ["intent.yaml", "masked.yaml"])
@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts"])
def test_several_folders_round_trip(backend: str, intent: str, several: Path, tmp_path: Path) -> None:
    """Two folders with their own repeats and caption files, a reg folder, three resolutions (or masks on
    every folder): the import lists them under datasets: and plans to the same values and files."""
    if intent == "masked.yaml" and backend == "sd-scripts":
        masks = several / "masked" / "closeups_masks"
        masks.rename(masks.with_name("hidden"))  # a masked and an unmasked folder are refused
        try:
            with pytest.raises(UserError, match="ControlNet-style"):
                build_plan(str(several / intent), PlanOptions(backend=backend, lint=False))
        finally:
            masks.with_name("hidden").rename(masks)
    plan = build_plan(str(several / intent), PlanOptions(backend=backend, lint=False))
    files, imported, again = round_trip(plan, tmp_path)
    assert_same(plan, files, again)
    assert imported.unmapped == []
    entries = [k for k in imported.values if k.startswith("datasets.") and k.endswith(".path")]
    assert len(entries) == (3 if intent == "intent.yaml" else 2)
    assert all(imported.origins[k].startswith("imported from ") for k in imported.values if k.startswith("datasets."))
    if intent == "intent.yaml":
        assert imported.values["datasets.2.is_reg"] is True and imported.values["datasets.0.repeats"] == 2


# Settings planned only when given, each rendered by the trainer that can do it: `import` maps them back to their
# intent keys (not into the pass-through, which refuses them as modelled).
GIVEN_SETTINGS = {
    "ai-toolkit": ["network.dropout=0.2", "train.gradient_accumulation=4", "network.train_text_encoder=true",
                   "train.text_encoder_lr=5e-5", "train.loss_type=huber"],
    "sd-scripts": ["network.dropout=0.2", "train.gradient_accumulation=4", "network.train_text_encoder=true",
                   "train.text_encoder_lr=5e-5", "logging=tensorboard", "samples.first=true", "train.loss_type=huber"],
    "simpletuner": ["network.dropout=0.2", "train.gradient_accumulation=4", "train.loss_type=huber",
                    "samples.negative=blurry"],
}


@pytest.mark.parametrize("backend", sorted(GIVEN_SETTINGS))
def test_settings_given_in_the_file_come_back_as_intent_keys(backend: str, images: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", sys.executable)
    sets = GIVEN_SETTINGS[backend]
    plan = build_plan("subject", PlanOptions(images=str(images), backend=backend, sets=sets, lint=False))
    files, imported, again = round_trip(plan, tmp_path)
    assert imported.carried == [] and imported.unmapped == []
    assert_same(plan, files, again)
