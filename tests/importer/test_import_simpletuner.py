"""SimpleTuner files as intents: hand-written FLUX configs in the style of SimpleTuner's own examples (config.json,
config.toml, `--`-prefixed keys, legacy names) import with `file:line` origins, render back for SimpleTuner to files
its parser reads with the same values (compared option by option, apart from fluxgen's header and the run folder's
paths), and render for sd-scripts and ai-toolkit to files that validate clean."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from fluxgen.backends.simple_tuner.keys import KEYS
from fluxgen.backends.simple_tuner.options import resolve_tokens, tokens_of
from fluxgen.importer import import_files, json_lines
from fluxgen.importer.write import ordered_keys, plan_of
from fluxgen.render import render_plan
from helpers import cli_run, make_images

DATA = Path(__file__).parent / "data" / "simpletuner"
EXAMPLES = {  # config -> (settings listed as not carried, settings carried into trainer.simpletuner)
    "teapot/config.json": (
        {"output_dir"},
        {"datasets.minimum_image_size", "config.disable_bucket_pruning", "config.flow_schedule_shift",
         "config.fuse_qkv_projections", "config.grad_clip_method", "config.hub_model_id", "config.quantize_via",
         "config.snr_gamma", "config.tracker_project_name", "config.vae_batch_size",
         "config.validation_disable_unconditional", "config.validation_guidance_rescale",
         "config.validation_prompt_library"}),
    "mascot/config.toml": ({"output_dir"}, {"datasets.crop_style", "config.vae_batch_size"}),
    "portrait/config.json": ({"--output_dir"}, {"config.max_grad_norm", "config.lora_init_type"}),
}
RUN_FOLDER = {"data_backend_config", "output_dir", "cache_dir", "user_prompt_library", "modelspec_comment"}
DATASET_PATHS = {"id", "instance_data_dir", "cache_dir_vae"}


@pytest.fixture(autouse=True)
def _no_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)


def copy_examples(root: Path) -> Path:
    """The examples with an `images` folder beside each config, as a user's checkout would have them."""
    shutil.copytree(DATA, root)
    for example in EXAMPLES:
        make_images(root / Path(example).parent / "images", 3, size=512)
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_examples(tmp_path_factory.mktemp("st") / "simpletuner")


def _load(path: Path, text: str | None = None) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8") if text is None else text
    return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)


def parsed(data: dict[str, Any]) -> dict[str, Any]:
    """config.json as SimpleTuner's parser resolves it: option dest -> value (fluxgen's replay of its loader)."""
    values, findings = resolve_tokens(tokens_of(data)[0])
    assert [f for f in findings if f.severity == "error"] == []
    return values


def _import_and_render(example: str, data: Path, backend: str | None = None):
    imported = import_files([data / example], backend="simpletuner")
    if backend:
        imported.values["backend"] = backend
    return imported, render_plan(plan_of(imported, ordered_keys(imported)))


def _square(values: dict[str, Any]) -> dict[str, Any]:
    """SimpleTuner reads a validation_resolution of one number as that square (st:training/validation
    parse_validation_resolution)."""
    size = str(values.get("validation_resolution", ""))
    return values | ({"validation_resolution": f"{size}x{size}"} if size.isdigit() else {})


def _differences(example: str, data: Path, files: dict[str, str]) -> dict[str, Any]:
    """Every option and image-dataset key of the example that SimpleTuner would read differently from fluxgen's."""
    original = _square(parsed(_load(data / example)))
    rendered = _square(parsed(json.loads(files["config.json"])))
    out = {k: (v, rendered.get(k, KEYS["options"].get(k, {}).get("default"))) for k, v in original.items()
           if k not in RUN_FOLDER and rendered.get(k, KEYS["options"].get(k, {}).get("default")) != v}
    folder = (data / example).parent
    images = json.loads((folder / "multidatabackend.json").read_text())[0]
    got = json.loads(files["multidatabackend.json"])[0]
    out |= {f"datasets.{k}": (v, got.get(k)) for k, v in images.items() if k not in DATASET_PATHS and got.get(k) != v}
    return out


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_renders_back_to_what_simpletuner_reads_the_same(example: str, data: Path) -> None:
    imported, files = _import_and_render(example, data)
    assert _differences(example, data, files) == {}
    library = _load(data / example).get("user_prompt_library")
    if library:  # the prompts of its library, in order, under fluxgen's own file name
        want = list(json.loads((data / library).read_text()).values())
        assert list(json.loads(files["prompt_library.json"]).values()) == want


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_not_carried_and_carried(example: str, data: Path) -> None:
    imported = import_files([data / example], backend="simpletuner")
    unmapped, carried = EXAMPLES[example]
    assert {u.where.key for u in imported.unmapped} == unmapped
    assert {c.path for c in imported.carried} == carried
    assert all(f"trainer.simpletuner.{path}" in imported.values for path in carried)


def test_origins_are_the_json_lines(data: Path) -> None:
    imported = import_files([data / "teapot/config.json"])
    text = (data / "teapot/config.json").read_text().splitlines()
    for key, option in (("network.rank", "lora_rank"), ("save.every", "checkpoint_step_interval"),
                        ("samples.every", "validation_steps"), ("trainer.simpletuner.config.snr_gamma", "snr_gamma")):
        match = re.search(r":(\d+) \((.+)\)$", imported.origins[key])
        assert match and match.group(2) == option, imported.origins[key]
        assert text[int(match.group(1)) - 1].strip().startswith(f'"{option}"')
    ds = imported.origins["dataset.repeats"]
    assert ds.endswith("multidatabackend.json:10 (0.repeats)"), ds


def test_legacy_names_prefixed_keys_and_toml(data: Path) -> None:
    mascot = import_files([data / "mascot/config.toml"], backend="simpletuner")
    assert (mascot.values["save.every"], mascot.values["train.optimizer"]) == (200, "adamw")
    assert mascot.values["train.optimizer_args"] == {"weight_decay": 0.01}
    assert (mascot.values["dataset.captions"], mascot.values["trigger"]) == ("trigger", "m4sc0t")
    assert (mascot.values["model.base"], mascot.values["vram"], mascot.values["dataset.buckets"]) == ("schnell", 12,
                                                                                                      False)
    assert mascot.values["samples.prompts"] == ["[trigger] standing, full body, flat vector illustration",
                                                "[trigger] waving, flat vector illustration",
                                                "a sticker of [trigger] holding a coffee cup"]
    portrait = import_files([data / "portrait/config.json"])
    assert (portrait.values["train.timestep_sampling"], portrait.values["logging"]) == ("uniform", "tensorboard")
    assert (portrait.values["network.dropout"], portrait.values["train.gradient_accumulation"]) == (0.05, 2)
    assert portrait.values["dataset.caption_ext"] == ".txt"


def test_a_caption_extension_simpletuner_ignores_is_listed(data: Path, tmp_path: Path) -> None:
    """SimpleTuner reads `<image>.txt` for an image dataset whatever caption_file_extensions lists."""
    import shutil

    folder = tmp_path / "portrait"
    shutil.copytree(data / "portrait", folder)
    backends = folder / "multidatabackend.json"
    backends.write_text(backends.read_text().replace('[".txt"]', '[".caption"]'))
    imported = import_files([folder / "config.json"])
    assert imported.values["dataset.caption_ext"] == ".txt"
    assert "reads an image's caption from <image>.txt" in imported.origins["dataset.caption_ext"]
    left = [u for u in imported.unmapped if u.where.key.endswith("caption_file_extensions")]
    assert [(u.value, u.why) for u in left] == [
        ([".caption"], "SimpleTuner reads <image>.txt for an image dataset whatever this list says")]


@pytest.mark.parametrize("backend", ["sd-scripts", "ai-toolkit"])
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_a_simpletuner_run_renders_for_another_trainer(example: str, backend: str, data: Path,
                                                       tmp_path: Path) -> None:
    intent = tmp_path / "i.yaml"
    result = cli_run("import", str(data / example), "--backend", "simpletuner", "--out", str(intent))
    assert result.exit_code == 0, result.stderr
    assert "trainer:\n  simpletuner:\n" in intent.read_text()  # checked for SimpleTuner, not rendered elsewhere
    result = cli_run("render", str(intent), "--backend", backend, "--out", str(tmp_path / "cfg"))
    if (example, backend) == ("portrait/config.json", "ai-toolkit"):  # uniform timesteps: a clear refusal
        assert result.exit_code == 1
        assert "train.timestep_sampling 'uniform'" in result.stderr and "ai-toolkit has no such" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    for name in {"ai-toolkit": ["config.yaml"], "sd-scripts": ["args.toml", "dataset.toml"]}[backend]:
        assert cli_run("validate", str(tmp_path / "cfg" / name)).exit_code == 0
    plan = json.loads((tmp_path / "cfg" / "plan.json").read_text())["values"]
    imported = import_files([data / example], backend="simpletuner")
    assert (plan["rank"], plan["steps"], plan["lr"]) == (imported.values["network.rank"],
                                                         imported.values["train.steps"], imported.values["train.lr"])


def test_the_cli_detects_simpletuner_json_and_refuses_other_models(data: Path, tmp_path: Path) -> None:
    result = cli_run("import", str(data / "teapot/config.json"))
    assert result.exit_code == 0, result.stderr
    assert "backend: \"simpletuner\"" in result.stdout and "carried under trainer.simpletuner" in result.stderr
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"model_family": "sdxl", "model_type": "lora", "data_backend_config": "x.json"}))
    result = cli_run("import", str(bad))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {bad}:1: model_family is 'sdxl'; fluxgen plans FLUX.1 LoRAs only"


def test_json_lines_handle_nesting_and_strings() -> None:
    text = '{"a": {"b": [1, {"c": "x,}]"}],\n "d": {}}, "e"\n:\n 3}'
    assert json_lines(text) == {"a": 1, "a.b": 1, "a.b.0": 1, "a.b.1": 1, "a.b.1.c": 1, "a.d": 2, "e": 4}
    assert json_lines('{"a": 1,') == {"a": 1}  # an unfinished text gives what was read



def test_the_pass_through_round_trips_through_plan_render_import_and_reproduce(data: Path, tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch
                                                                                ) -> None:
    from fluxgen.importer import intent_yaml
    from fluxgen.plan import PlanOptions, build_plan
    from fluxgen.render import render_plan_to

    imported = import_files([data / "teapot/config.json"])
    intent = tmp_path / "i.yaml"
    intent.write_text(intent_yaml(imported), encoding="utf-8")
    carried = {k: v for k, v in imported.values.items() if k.startswith("trainer.simpletuner.")}
    assert len(carried) == 13  # use_ema is train.ema
    plan = build_plan(str(intent), PlanOptions())
    assert {k: v for k, v in plan.values.items() if k.startswith("trainer.simpletuner.")} == carried
    assert plan.origins["trainer.simpletuner.config.snr_gamma"] == f"preset {intent}:{_line(intent, 'snr_gamma')}"
    render_plan_to(plan, tmp_path / "out")
    again = import_files([tmp_path / "out" / "config.json"])
    assert {k: v for k, v in again.values.items() if k.startswith("trainer.simpletuner.")} == carried
    assert again.unmapped == []
    reproduced = build_plan(str(tmp_path / "out" / "command.txt"), PlanOptions())  # what `fluxgen reproduce` plans
    assert reproduced.hash == plan.hash


def _line(path: Path, key: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith(key + ":"))


def test_a_simpletuner_config_toml_is_recognised_and_validated(data: Path, tmp_path: Path) -> None:
    assert import_files([data / "mascot/config.toml"]).backend == "simpletuner"
    result = cli_run("validate", str(data / "mascot/config.toml"))
    assert result.exit_code == 0 and "(simpletuner-config)" in result.stdout, result.output
    assert "checkpointing_steps: an old name: SimpleTuner reads it as 'checkpoint_step_interval'" in result.stdout
    bad = tmp_path / "config.toml"
    bad.write_text((data / "mascot/config.toml").read_text().replace("lora_rank = 8", "lora_rnak = 8"))
    result = cli_run("validate", str(bad))
    assert result.exit_code == 1
    assert "lora_rnak: unknown key: SimpleTuner's parser stops on it (did you mean 'lora_rank'?)" in result.stdout
    args = cli_run("validate", str(DATA.parent / "sd-scripts/lora_args.toml"))  # still sd-scripts' args TOML
    assert "(sd-scripts-args)" in args.stdout
