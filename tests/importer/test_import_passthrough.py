"""`fluxgen import` carries what no intent key can say into the pass-through: hand-written configs with such settings
render for their own trainer to files the trainer reads with the same values (compared key by key, apart from
fluxgen's header and the machine's paths), the pass-through round-trips through plan, render, import and reproduce,
and secrets are never written."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from fluxgen.importer import import_files, intent_yaml
from fluxgen.importer.common import flat
from fluxgen.importer.write import ordered_keys, plan_of
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan, render_plan_to
from helpers import cli_run, make_images

DATA = Path(__file__).parent / "data"
AITK, SD, BUILTIN = "ai-toolkit/extras_snr_flip.yaml", "sd-scripts/extras_args.toml", "builtin/extras_grad_clip.yaml"
SECRET = "0123456789abcdef0123456789abcdef"  # the wandb key in extras_args.toml
# Paths of the machine (or the run folder fluxgen makes) differ by design.
PATHS = {"training_folder", "model.name_or_path", "pretrained_model_name_or_path", "clip_l", "t5xxl", "ae",
         "dataset_config", "output_dir", "sample_prompts"}


@pytest.fixture(autouse=True)
def _no_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extras")
    for backend in ("ai-toolkit", "sd-scripts", "builtin"):
        shutil.copytree(DATA / backend, root / backend)
        make_images(root / backend / "images", 3, size=512)
    return root


def _aitk_process(text: str) -> dict[str, Any]:
    from fluxgen.backends.ai_toolkit.yaml_loader import load_aitk_yaml

    return load_aitk_yaml(text, "config.yaml")[0]["config"]["process"][0]


def _aitk_differences(original: str, rendered: str, skip: set[str]) -> dict[str, Any]:
    """Every process key of the original whose value ai-toolkit would read differently from the rendered file."""
    from fluxgen.knowledge import ai_toolkit_schema

    want, got = _aitk_process(original), _aitk_process(rendered)
    got_flat = flat({k: v for k, v in got.items() if k != "datasets"}, lists=False)
    out = {}
    for key, value in flat({k: v for k, v in want.items() if k != "datasets"}, lists=False).items():
        section, _, leaf = key.rpartition(".")
        spec = ai_toolkit_schema().sections.get(section, {}).get(leaf)
        got_value = got_flat.get(key, spec.default if spec else None)  # an absent key reads as ai-toolkit's default
        if key not in skip and got_value != value:
            out[key] = (value, got_value)
    entry = want["datasets"][0]
    for key, value in entry.items():
        if key not in ("folder_path", "resolution") and any(d.get(key) != value for d in got["datasets"]):
            out[f"datasets.{key}"] = (value, [d.get(key) for d in got["datasets"]])
    resolutions = sorted({r for d in got["datasets"] for r in d["resolution"]})
    if resolutions != sorted(entry["resolution"]):
        out["datasets.resolution"] = (entry["resolution"], resolutions)
    return out


def _sd_args(text: str) -> dict[str, Any]:
    """args.toml as sd-scripts reads it: tables flattened one level."""
    data = tomllib.loads(text)
    return {k: v for key, value in data.items()
            for k, v in (value.items() if isinstance(value, dict) else [(key, value)])}


def _sd_subset(text: str) -> dict[str, Any]:
    """The first subset's settings as sd-scripts resolves them: subset over dataset over [general]."""
    data = tomllib.loads(text)
    dataset = data["datasets"][0]
    return {**data.get("general", {}), **{k: v for k, v in dataset.items() if k != "subsets"},
            **dataset["subsets"][0]}


def _sd_differences(args: str, dataset: str, files: dict[str, str], skip: set[str]) -> dict[str, Any]:
    out = {}
    got = _sd_args(files["args.toml"])
    for key, value in _sd_args(args).items():
        if key not in skip and got.get(key) != value:
            out[key] = (value, got.get(key))
    got_subset = _sd_subset(files["dataset.toml"])
    for key, value in _sd_subset(dataset).items():
        if key != "image_dir" and got_subset.get(key) != value:
            out[f"dataset.{key}"] = (value, got_subset.get(key))
    return out


def _own(example: str, data: Path):
    imported = import_files([data / example])
    files = render_plan(plan_of(imported, ordered_keys(imported)))
    skip = PATHS | {u.where.key.removeprefix("config.process.0.") for u in imported.unmapped}
    return imported, files, skip


def test_ai_toolkit_extras_are_read_back_by_ai_toolkit_with_the_same_values(data: Path) -> None:
    imported, files, skip = _own(AITK, data)
    assert {c.path for c in imported.carried} == {"device", "datasets.flip_x", "train.min_snr_gamma",
                                                   "train.linear_timesteps", "train.max_grad_norm"}
    assert (imported.values["train.ema"], imported.values["train.ema_decay"]) == (True, 0.995)
    assert skip - PATHS == {"network.pretrained_lora_path"}  # a path on the author's machine
    assert _aitk_differences((data / AITK).read_text(), files["config.yaml"], skip) == {}


def test_sd_scripts_extras_are_read_back_by_sd_scripts_with_the_same_values(data: Path) -> None:
    imported, files, skip = _own(SD, data)
    assert {c.path for c in imported.carried} == {"args.network_args", "args.sdpa", "args.min_snr_gamma",
                                                   "args.ip_noise_gamma", "dataset.caption_prefix",
                                                   "dataset.caption_suffix"}
    assert skip - PATHS == {"wandb_api_key", "log_tracker_config"}
    dataset = (data / "sd-scripts/extras_dataset.toml").read_text()
    assert _sd_differences((data / SD).read_text(), dataset, files, skip) == {}


def test_a_secret_is_listed_without_its_value_and_written_nowhere(data: Path, tmp_path: Path) -> None:
    intent = tmp_path / "i.yaml"
    result = cli_run("import", str(data / SD), "--out", str(intent))
    assert result.exit_code == 0, result.stderr
    text = intent.read_text()
    assert "wandb_api_key = (not shown): a secret: fluxgen never writes it" in text
    assert SECRET not in text + result.stdout + result.stderr
    rendered = cli_run("render", str(intent), "--out", str(tmp_path / "cfg"))
    assert rendered.exit_code == 0, rendered.stderr
    assert not any(SECRET in p.read_text() for p in (tmp_path / "cfg").iterdir())


def test_a_path_of_another_machine_is_listed_with_the_set_to_use(data: Path) -> None:
    imported = import_files([data / SD])
    (line,) = [u.line() for u in imported.unmapped if u.where.key == "log_tracker_config"]
    assert "extras_args.toml:39" in line and "--set trainer.sd-scripts.args.log_tracker_config=PATH" in line


def test_a_refused_setting_is_listed_with_the_pass_throughs_reason(tmp_path: Path) -> None:
    args = (DATA / SD).read_text().replace('network_args = ["split_qkv=True"]',
                                           'network_args = ["train_blocks=single"]')
    (tmp_path / "a.toml").write_text(args)
    shutil.copy(DATA / "sd-scripts/extras_dataset.toml", tmp_path / "extras_dataset.toml")
    imported = import_files([tmp_path / "a.toml"])
    (line,) = [u.line() for u in imported.unmapped if u.where.key == "network_args"]
    assert "not carried: train_blocks is a modelled setting: set network.blocks in the intent instead" in line


def test_builtin_extras_are_read_back_by_the_builtin_trainer_with_the_same_values(data: Path) -> None:
    import yaml

    from fluxgen.trainer.config import parse_config

    imported, files, _ = _own(BUILTIN, data)
    assert {c.path: c.value for c in imported.carried} == {"model.max_sequence_length": 256,
                                                           "train.max_grad_norm": 0.5}
    configs = [parse_config(yaml.safe_load(text), "train.yaml") for text in ((data / BUILTIN).read_text(),
                                                                             files["train.yaml"])]
    want, got = (c.model_dump() for c in configs)
    for config, parsed in zip((want, got), configs, strict=True):  # the image folder and output are paths
        config["network"]["alpha"] = parsed.alpha  # the trainer reads an absent alpha as the rank
        config["dataset"].pop("folder"), config["save"].pop("output_dir"), config.pop("metadata", None)
    differ = {f"{s}.{k}": (v, got[s].get(k)) for s, section in want.items() if isinstance(section, dict)
              for k, v in section.items() if got[s].get(k) != v}
    assert differ == {}


@pytest.mark.parametrize(("example", "main"), [(AITK, "config.yaml"), (SD, "args.toml"), (BUILTIN, "train.yaml")])
def test_the_pass_through_round_trips_through_plan_render_import_and_reproduce(example: str, main: str, data: Path,
                                                                                tmp_path: Path) -> None:
    imported = import_files([data / example])
    intent = tmp_path / "i.yaml"
    intent.write_text(intent_yaml(imported), encoding="utf-8")
    plan = build_plan(str(intent), PlanOptions())
    head = f"trainer.{imported.backend}."
    carried = {k: v for k, v in imported.values.items() if k.startswith(head)}
    assert {k: v for k, v in plan.values.items() if k.startswith(head)} == carried
    assert all(plan.origins[k].startswith(f"preset {intent}:") for k in carried)
    render_plan_to(plan, tmp_path / "out")
    validated = cli_run("validate", str(tmp_path / "out" / main))  # sd-scripts: with the dataset.toml it names
    assert validated.exit_code == 0 and "0 errors, 0 warnings" in validated.stdout, validated.stdout
    again = import_files([tmp_path / "out" / main])
    assert {k: v for k, v in again.values.items() if k.startswith(head)} == carried
    assert again.unmapped == []
    reproduced = build_plan(str(tmp_path / "out" / main), PlanOptions())  # what `fluxgen reproduce` plans
    assert reproduced.hash == plan.hash
    assert {k: v for k, v in reproduced.values.items() if k.startswith(head)} == carried
