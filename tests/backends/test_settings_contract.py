"""Every intent key × every backend: a non-default value either changes what the trainer gets (its rendered files or
its command line) or is refused with one line naming the key and the reason. Nothing is accepted and then dropped.

The value table covers every leaf of the schema; a key added to the schema without a row here fails the test, so new
settings cannot slip in unrendered."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fluxgen.backends import BACKENDS
from fluxgen.errors import UserError
from fluxgen.intent import all_paths
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan
from helpers import cli_run, make_images

TE = ["network.train_text_encoder=true"]
EMA = ["train.ema=true"]
TWO = 'datasets=[{"path": "<IMAGES>"}, {"path": "<OTHER_IMAGES>"}]'
ENTRY = 1  # the entry the datasets[] keys are tried on
# intent key -> (values to try, --set items given to the base plan and the changed one alike). A bool tries both
# values (one of them is the trainer's default, so at least one must change the files); every other value must.
VALUES: dict[str, tuple[list[Any], list[str]]] = {
    "name": (["other-name"], []),
    "kind": (["style"], []),
    "trigger": (["ZQXTOK"], []),
    "vram": ([12], []),
    "dataset.path": (["<OTHER_IMAGES>"], []),
    "dataset.captions": (["trigger"], []),
    "dataset.caption_ext": (["caption"], []),
    "dataset.repeats": ([3], []),
    "dataset.buckets": ([True, False], []),
    "dataset.masks": (["<MASKS>"], []),
    "network.rank": ([48], []),
    "network.alpha": ([7.0], []),
    "network.blocks": (["single"], []),
    "network.dropout": ([0.2], []),
    "network.train_text_encoder": ([True, False], []),
    "train.steps": ([777], []),
    "train.steps_per_image": ([37], []),
    "train.lr": ([3.0e-4], []),
    "train.text_encoder_lr": ([5.0e-5], TE),
    "train.gradient_accumulation": ([4], []),
    "train.batch_size": ([3], []),
    "train.optimizer": (["prodigy"], []),
    "train.optimizer_args": ([{"weight_decay": 0.05}], []),
    "train.scheduler": (["cosine"], []),
    "train.warmup_steps": ([17], []),
    "train.resolution": ([[768]], []),
    "train.precision": (["fp32"], []),
    "train.gradient_checkpointing": ([True, False], []),
    "train.guidance": ([2.5], []),
    "train.timestep_sampling": (["uniform"], []),
    "train.caption_dropout": ([0.2], []),
    "train.noise_offset": ([0.05], []),
    "train.loss_type": (["huber"], []),
    "train.ema": ([True, False], []),
    "train.ema_decay": ([0.9], EMA),
    "train.shuffle_captions": ([True, False], []),
    "train.seed": ([1234], []),
    "train.workers": ([3], []),
    "save.every": ([123], []),
    "save.keep": ([2], []),
    "save.format": (["kohya", "diffusers"], []),
    "save.name_template": (["{name}_v{version}_{steps}steps"], []),
    "save.version": ([3], ["save.name_template={name}_v{version}"]),
    "samples.prompts": ([["a photo of [trigger] on the moon"]], []),
    "samples.negative": (["blurry"], []),
    "samples.every": ([77], []),
    "samples.seed": ([5], []),
    "samples.steps": ([9], []),
    "samples.guidance": ([2.0], []),
    "samples.first": ([True, False], []),
    "samples.size": ([512], []),
    "model.base": (["schnell"], []),
    "model.transformer": (["/models/flux1-dev.safetensors"], []),
    "model.clip_l": (["/models/clip_l.safetensors"], []),
    "model.t5xxl": (["/models/t5xxl_fp16.safetensors"], []),
    "model.ae": (["/models/ae.safetensors"], []),
    "logging": (["tensorboard", "wandb", "all"], []),
    "datasets": ([[{"path": "<OTHER_IMAGES>"}]], []),
    # an entry's keys are tried on the second of two folders (the first names the LoRA)
    "datasets[].path": (["<THIRD_IMAGES>"], [TWO]),
    "datasets[].is_reg": ([True, False], [TWO]),
    "datasets[].captions": (["trigger"], [TWO]),
    "datasets[].caption_ext": (["caption"], [TWO]),
    "datasets[].repeats": ([3], [TWO]),
    "datasets[].resolution": ([[768]], [TWO]),
    "datasets[].masks": (["<MASKS>"], [TWO]),
}
# Keys that change neither the files nor the command, each with the reason that is right.
NEUTRAL = {
    "description": "free text for people; the intent header carries it, the trainer has no use for it",
    "backend": "the dimension this test runs over",
    "trainer": "the pass-through section, checked key by key in tests/test_passthrough.py",
    "extends": "preset layering, resolved before planning (tests/test_plan.py)",
}
# (key, backend) pairs a trainer takes without a change to its files, each with the reason that is right.
UNCHANGED = {
    ("train.optimizer_args", "builtin"): "the builtin trainer's optimizers take no extra arguments; the plan warns "
    "'not used' (tests/test_silent_acceptance.py)",
    **{(f"model.{part}", name): f"{name} loads model.base whole; the plan warns that single files are not used "
       "(Planner.model)" for part in ("transformer", "clip_l", "t5xxl", "ae")
       for name in ("ai-toolkit", "simpletuner", "builtin")},
    **{("save.format", name): f"{name} writes its own LoRA format; another is converted after training, as the plan "
       "warns (rules/save_format.py)" for name in ("ai-toolkit", "sd-scripts", "simpletuner")},
    ("network.alpha", "ai-toolkit"): "ai-toolkit trains FLUX LoRAs with alpha = rank; the plan warns and the config "
    "says so",
    ("train.warmup_steps", "ai-toolkit"): "ai-toolkit's constant scheduler takes no warm-up; the plan warns that "
    "the steps are dropped",
    ("vram", "builtin"): "the builtin trainer does not quantize, so every tier renders alike; below 40 GB the plan "
    "warns",
    ("dataset.buckets", "builtin"): "the builtin trainer centre-crops to squares; the plan warns that buckets are "
    "not used (presets written for other trainers carry them)",
    ("train.workers", "builtin"): "the builtin trainer has no data-loader workers; the plan warns 'not used'",
    ("train.workers", "simpletuner"): "SimpleTuner's training loader runs with num_workers=0; the plan warns 'not used'",
    ("dataset.repeats", "builtin"): "the builtin trainer trains one folder by steps, so repeats only renumber epochs",
}
# Gaps this test has found and that are still open: each fails as expected until fixed (strict), then must go.
KNOWN_GAPS: dict[tuple[str, str], str] = {}
SECTIONS = {"dataset", "network", "train", "save", "samples", "model"}


def _leaves() -> list[str]:
    return [p for p in all_paths() if p not in SECTIONS and not p.startswith("samples.prompts.")]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The images, another image folder, and a mask folder with one mask per image."""
    root = tmp_path_factory.mktemp("contract")
    images = make_images(root / "images", 12, size=256)
    other = make_images(root / "other", 12, size=256, trigger="OTHERTOK", caption="a stone tower")
    third = make_images(root / "third", 12, size=256, trigger="THIRDTOK", caption="a glass bird")
    masks = root / "masks"
    masks.mkdir()
    from PIL import Image

    for image in sorted(images.glob("*.jpg")):
        Image.new("L", (256, 256), 255).save(masks / f"{image.stem}.png")
    return {"images": images, "<IMAGES>": images, "<OTHER_IMAGES>": other, "<THIRD_IMAGES>": third,
            "<MASKS>": masks}


@pytest.fixture(autouse=True)
def _no_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)


def _set(key: str, value: Any, folders: dict[str, Path]) -> str:
    """`key=value` for --set: a datasets[] key names the tried entry, folder placeholders become their paths."""
    item = f"{key.replace('[]', f'.{ENTRY}')}={value if isinstance(value, str) else json.dumps(value)}"
    return _paths(item, folders)


def _paths(item: str, folders: dict[str, Path]) -> str:
    for placeholder, path in folders.items():
        item = item.replace(placeholder, str(path)) if placeholder.startswith("<") else item
    return item


def _shown(key: str) -> str:
    """How a refusal names the key: an entry of datasets by its index, as the YAML counts it."""
    return key.replace("[]", f"[{ENTRY}]")


def _files(backend: str, sets: list[str], folders: dict[str, Path]) -> dict[str, str]:
    sets = [_paths(item, folders) for item in sets]
    plan = build_plan("cyber-skull", PlanOptions(images=str(folders["images"]), backend=backend, vram=24, sets=sets))
    return {name: _comparable(name, text) for name, text in render_plan(plan).items()}


def _comparable(name: str, text: str) -> str:
    """What the trainer reads: comment lines and the plan hash (which every plan value changes) left out."""
    if name.endswith(".json"):
        data = json.loads(text)
        if isinstance(data, dict):
            data.pop("modelspec_comment", None)  # fluxgen's header and LoRA metadata, not a training setting
        text = json.dumps(data, indent=1, sort_keys=True)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return "\n".join(re.sub(r"sha256:[0-9a-f<>A-Z_-]+", "<HASH>", line) for line in lines)


def test_every_schema_key_has_a_row() -> None:
    missing = [k for k in _leaves() if k not in VALUES and k not in NEUTRAL]
    assert not missing, f"add a value for each new intent key to VALUES (or a reason to NEUTRAL): {missing}"
    assert not [k for k in VALUES if k not in _leaves()], "VALUES names a key the schema no longer has"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("key", sorted(VALUES))
def test_a_setting_renders_or_is_refused(key: str, backend: str, folders: dict[str, Path],
                                        request: pytest.FixtureRequest) -> None:
    if (key, backend) in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[(key, backend)]))
    values, extra = VALUES[key]
    try:
        base = _files(backend, extra, folders)
    except UserError as exc:  # the companion setting itself is refused: this key is then refused too
        assert "\n" not in str(exc) and extra[0].split("=")[0] in str(exc), str(exc)
        return
    outcomes = []
    for value in values:
        try:
            changed = _files(backend, [*extra, _set(key, value, folders)], folders)
        except UserError as exc:
            message = str(exc)
            named = _shown(key) in message or key.replace("[]", f".{ENTRY}") in message
            assert "\n" not in message and named, f"{key}={value!r} refused without naming it: {message}"
            outcomes.append("refused")
            continue
        outcomes.append("changed" if changed != base else "unchanged")
    if (key, backend) in UNCHANGED:
        return
    if isinstance(values[0], bool):
        assert "unchanged" not in outcomes or set(outcomes) != {"unchanged"}, f"{key}: {backend} ignores both values"
    else:
        assert "unchanged" not in outcomes, (f"{key}: {backend} accepts {values} but renders nothing for "
                                             f"{[v for v, o in zip(values, outcomes, strict=True) if o == 'unchanged']}")


def test_a_refusal_is_one_line_and_a_non_zero_exit(folders: dict[str, Path]) -> None:
    result = cli_run("plan", "cyber-skull", "--images", str(folders["images"]), "--backend", "builtin",
                     "--set", "network.dropout=0.2")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "network.dropout" in result.stderr and "builtin" in result.stderr and "Traceback" not in result.stderr
