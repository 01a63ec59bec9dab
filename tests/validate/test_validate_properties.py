"""Random configs made only of valid keys with valid values never produce an error; rendered-file checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxgen.backends.ai_toolkit.validator import CHOICES
from fluxgen.errors import RenderMismatch
from fluxgen.knowledge import (
    ai_toolkit_schema,
    sd_scripts_args,
    sd_scripts_dataset_schema,
    sd_scripts_network_args,
)
from fluxgen.validate import (
    KIND_AITK,
    KIND_SD_ARGS,
    KIND_SD_DATASET,
    check_rendered,
    validate_ai_toolkit,
    validate_sd_args,
    validate_sd_dataset,
)

SAFE_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_/.-0123456789", min_size=1, max_size=12)
NUMBER = st.one_of(st.integers(0, 10_000), st.floats(0, 10, allow_nan=False, allow_infinity=False))

# ai-toolkit keys whose valid values depend on other keys (each has its own rule test).
AITK_SKIP = {"gradient_accumulation", "gradient_accumulation_steps", "poi", "samples", "augments", "buckets",
             "cache_text_embeddings", "type"}


def _aitk_value(section: str, key: str, types: tuple[str, ...]) -> st.SearchStrategy[Any] | None:
    schema = ai_toolkit_schema()
    for sec, name, list_name, _fold, _sev in CHOICES:
        if (sec, name) == (section, key):
            return st.sampled_from(schema.choices[list_name])
    kind = types[0]
    if kind == "any" or key in AITK_SKIP:
        return None
    return {
        "bool": st.booleans(), "int": st.integers(1, 5000), "float": NUMBER, "number": NUMBER,
        "str": SAFE_TEXT, "list": st.just([]), "dict": st.just({}),
    }[kind]


def _section(section: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = {}
    for key, spec in ai_toolkit_schema().sections[section].items():
        strategy = _aitk_value(section, key, spec.types)
        if strategy is not None:
            fields[key] = strategy
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def aitk_configs(draw: st.DrawFn) -> dict[str, Any]:
    dataset = {**draw(_section("datasets[]")), "folder_path": "/data/images"}
    model = {**draw(_section("model")), "name_or_path": "black-forest-labs/FLUX.1-dev", "is_flux": True}
    process = {"type": "sd_trainer", "training_folder": "output", "datasets": [dataset], "model": model}
    for section in ("network", "save", "train", "sample", "logging"):
        process[section] = draw(_section(section))
    process["train"]["ema_config"] = draw(_section("train.ema_config"))
    return {"job": "extension", "config": {"name": "lora", "process": [process]}, "meta": {"name": "[name]"}}


@given(aitk_configs())
@settings(max_examples=60, deadline=None)
def test_random_valid_ai_toolkit_configs_have_no_errors(config: dict[str, Any]) -> None:
    report = validate_ai_toolkit(config, "random.yaml")
    assert report.ok, report.lines()


# sd-scripts options that take part in a conflict rule, or whose valid values depend on a file.
SD_SKIP = {"fp8_base", "fp8_base_unet", "full_fp16", "full_bf16", "use_8bit_adam", "use_lion_optimizer",
           "fused_backward_pass", "adaptive_noise_scale", "log_with", "blocks_to_swap", "cpu_offload_checkpointing",
           "initial_step", "model_type", "shuffle_caption", "caption_dropout_rate", "token_warmup_step",
           "caption_tag_dropout_rate", "color_aug", "random_crop", "cache_latents", "cache_latents_to_disk",
           "cache_text_encoder_outputs", "cache_text_encoder_outputs_to_disk", "enable_bucket", "bucket_reso_steps",
           "config_file", "optimizer_args", "lr_scheduler_args", "lr_scheduler_type", "network_args",
           "optimizer_type", "lr_scheduler"}


def _sd_value(name: str) -> st.SearchStrategy[Any] | None:
    spec = sd_scripts_args()[name]
    if name in SD_SKIP:
        return None
    if spec.choices:
        single: st.SearchStrategy[Any] = st.sampled_from([c for c in spec.choices if c is not None])
    else:
        single = {"flag": st.booleans(), "int": st.integers(1, 1000), "float": st.floats(0, 10),
                  "int_or_float": st.one_of(st.integers(0, 100), st.floats(0, 0.99)), "str": SAFE_TEXT}[spec.type]
    return st.lists(single, max_size=3) if spec.nargs == "*" else single


@st.composite
def sd_args(draw: st.DrawFn) -> dict[str, Any]:
    options = {n: s for n in sd_scripts_args() if (s := _sd_value(n)) is not None}
    data = draw(st.fixed_dictionaries({}, optional=options))
    data.update({"pretrained_model_name_or_path": "flux1-dev.safetensors", "dataset_config": "dataset.toml",
                 "network_module": "networks.lora_flux", "mixed_precision": "bf16"})
    data["optimizer_type"] = draw(st.sampled_from(sd_scripts_args()["optimizer_type"].known_values or ()))
    data["lr_scheduler"] = draw(st.sampled_from(sd_scripts_args()["lr_scheduler"].known_values or ()))
    blocks = sd_scripts_network_args()["train_blocks"].choices or ()
    data["network_args"] = [f"train_blocks={draw(st.sampled_from(blocks))}", "split_qkv=True"]
    data["optimizer_args"] = ["weight_decay=0.01", "betas=0.9,0.999"]
    data["max_train_steps"] = 1000
    return data


@given(sd_args())
@settings(max_examples=60, deadline=None)
def test_random_valid_sd_args_have_no_errors(args: dict[str, Any]) -> None:
    report = validate_sd_args(args, "random.toml")
    assert report.ok, report.lines()


def _dataset_value(kind: str) -> st.SearchStrategy[Any]:
    if kind.startswith("["):
        item = st.integers(64, 2048) if "int" in kind else st.floats(0, 1)
        return st.lists(item, min_size=2, max_size=2)
    return {"str": SAFE_TEXT, "bool": st.booleans(), "int": st.integers(1, 2048), "float": st.floats(0, 1),
            "dict": st.just({}), "list": st.just([])}[kind]


def _level(level: str) -> st.SearchStrategy[dict[str, Any]]:
    # Bucket bounds and the resolution are related (min ≤ resolution ≤ max): drawn together in dataset_configs.
    skip = {"image_dir", "metadata_file", "conditioning_data_dir", "subsets", "bucket_reso_steps", "resolution",
            "min_bucket_reso", "max_bucket_reso"}
    fields = {k: st.one_of(*[_dataset_value(t) for t in spec.types])
              for k, spec in sd_scripts_dataset_schema().level(level).items() if k not in skip}
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def dataset_configs(draw: st.DrawFn) -> dict[str, Any]:
    subsets = [{**draw(_level("subsets")), "image_dir": "/data/images"} for _ in range(draw(st.integers(1, 2)))]
    dataset = {**draw(_level("datasets")), "subsets": subsets, "bucket_reso_steps": draw(st.sampled_from([64, 128]))}
    resolution = draw(st.integers(4, 32)) * 64
    dataset["resolution"] = resolution
    dataset["min_bucket_reso"] = draw(st.integers(1, resolution // 64)) * 64
    dataset["max_bucket_reso"] = draw(st.integers(resolution // 64, 64)) * 64
    return {"general": draw(_level("general")), "datasets": [dataset]}


@given(dataset_configs())
@settings(max_examples=60, deadline=None)
def test_random_valid_dataset_configs_have_no_errors(data: dict[str, Any]) -> None:
    report = validate_sd_dataset(data, "random.toml")
    assert report.ok, report.lines()



def test_check_rendered_raises_on_errors_and_unaccepted_warnings() -> None:
    with pytest.raises(RenderMismatch, match=r"args.toml: network_module: .*not the FLUX LoRA module"):
        check_rendered('network_module = "networks.lora"\npretrained_model_name_or_path = "f"\n'
                       'dataset_config = "d"\n', KIND_SD_ARGS, "args.toml",
                       accept={"sd-model-files", "sd-unet-only", "sd-guidance", "sd-learning-rate"})
    with pytest.raises(RenderMismatch, match=r"d.toml: datasets\[0\].network_multiplier: expected float"):
        check_rendered("[[datasets]]\nnetwork_multiplier = 1\n", KIND_SD_DATASET, "d.toml")


def test_check_rendered_accepts_listed_warnings() -> None:
    text = "job: extension\nconfig:\n  name: x\n  process:\n    - type: sd_trainer\n      training_folder: o\n" \
           "      datasets: [{folder_path: /i}]\n      model: {name_or_path: m, is_flux: true}\n" \
           "      train: {noise_scheduler: flowmatch}\n"
    with pytest.raises(RenderMismatch, match="trains the whole model"):
        check_rendered(text, KIND_AITK, "config.yaml")
    report = check_rendered(text, KIND_AITK, "config.yaml", accept={"aitk-no-network"})
    assert report.ok and [f.rule for f in report.warnings] == ["aitk-no-network"]


# fluxgen's rendered files for every backend (tests/golden/<preset>.<backend>/).
GOLDEN = sorted((Path(__file__).parents[1] / "golden").glob("*.*"))


@pytest.mark.skipif(not GOLDEN, reason="no rendered golden files in tests/golden")
@pytest.mark.parametrize("folder", GOLDEN, ids=lambda p: p.name)
def test_fluxgen_rendered_files_pass_their_own_checks(folder: Path) -> None:
    """Every file a backend renders passes that backend's own validator, as `fluxgen validate` runs it."""
    from fluxgen.backends import BACKENDS

    backend = BACKENDS[folder.suffix[1:]]
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        report = backend.validate(path, path.read_text(encoding="utf-8"))
        # the golden files hold hf:// references (no hub cache there): validate says `fluxgen train` resolves them
        assert report.ok and all(w.rule == "sd-hf-path" for w in report.warnings), (path, report.format_text())
