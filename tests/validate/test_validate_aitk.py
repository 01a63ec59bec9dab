"""ai-toolkit YAML: unknown keys, types, accepted names and the cross-section rules, one config per rule."""

from __future__ import annotations

import pytest

from fluxgen.validate import KIND_AITK, validate_ai_toolkit, validate_file, validate_text

P = "config.process[0]"


def test_real_captured_config_has_no_errors(shared, expect) -> None:
    report = validate_file(shared / "logs" / "ai-toolkit" / "config.yaml")
    assert report.ok, report.lines()
    expect(report, "warning", f"{P}.train.lr", r"'1e-4' is a float to ai-toolkit but a string to PyYAML")
    expect(report, "info", f"{P}.device", "not read by the SD trainer")


def test_clean_config_has_no_findings(aitk) -> None:
    assert validate_ai_toolkit(aitk(), "c.yaml").findings == []


@pytest.mark.parametrize(("path", "match"), [
    (f"{P}.network.rnak", r"unknown key \(did you mean 'rank'\?\)"),
    (f"{P}.train.rnak", r"unknown key \(did you mean 'rank' in network\?\)"),
    (f"{P}.train.linear", r"it is read from 'network', not here"),
    (f"{P}.steps", r"it is read from 'train', not here"),
    (f"{P}.datasets[0].caption_extension", r"did you mean 'caption_ext'"),
    (f"{P}.sample.samples", None),
    ("config.nmae", r"did you mean 'name'"),
    ("jobb", r"did you mean 'job'"),
])
def test_unknown_keys_with_did_you_mean(aitk, expect, path, match) -> None:
    value = [{"prompt": "a cat", "seeed": 1}] if path.endswith("samples") else 3
    report = validate_ai_toolkit(aitk({path: value}), "c.yaml")
    if match is None:
        expect(report, "error", f"{path}[0].seeed", r"did you mean 'seed'")
    else:
        expect(report, "error", path, match)


@pytest.mark.parametrize(("path", "value", "severity", "match"), [
    (f"{P}.train.lr", "1e-4", "error", r"quoted number \('1e-4'\); ai-toolkit reads it as a string"),
    (f"{P}.train.steps", "1000", "error", r"quoted number"),
    (f"{P}.train.steps", 1000.5, "error", r"expected a whole number"),
    (f"{P}.train.steps", 1000.0, "warning", r"where an int is read"),
    (f"{P}.train.gradient_checkpointing", "false", "error", r"any non-empty string counts as true"),
    (f"{P}.train.gradient_checkpointing", 1, "warning", r"where true/false is read"),
    (f"{P}.network.linear", "16", "error", r"quoted number"),
    (f"{P}.trigger_word", 1234, "error", r"expected a string"),
    (f"{P}.datasets[0].resolution", "1024", "error", r"quoted number"),
    (f"{P}.train", [1, 2], "error", r"is a list, expected a mapping"),
    (f"{P}.sample.prompts[0]", 5, "error", r"expected a string"),
])
def test_wrong_types(aitk, expect, path, value, severity, match) -> None:
    expect(validate_ai_toolkit(aitk({path: value}), "c.yaml"), severity, path, match)


def test_unquoted_exponent_is_a_float_to_ai_toolkit_but_warned(expect) -> None:
    text = "job: extension\nconfig:\n  name: x\n  process:\n    - type: sd_trainer\n      train:\n        lr: 1e-4\n"
    report = validate_text(text, KIND_AITK, "c.yaml")
    expect(report, "warning", f"{P}.train.lr", "a string to PyYAML")
    lr_finding = next(f for f in report.findings if f.path == f"{P}.train.lr")
    assert lr_finding.fix == "write 1.0e-4"


@pytest.mark.parametrize(("path", "value", "severity"), [
    (f"{P}.train.optimizer", "adamw9", "error"),
    (f"{P}.train.lr_scheduler", "cosine_restarts", "error"),
    (f"{P}.train.noise_scheduler", "flowmatching", "error"),
    (f"{P}.sample.sampler", "euler_x", "error"),
    (f"{P}.train.dtype", "bfloat", "error"),
    (f"{P}.save.dtype", "f16", "error"),
    (f"{P}.save.save_format", "ckpt", "error"),
    (f"{P}.datasets[0].type", "video", "error"),
    (f"{P}.train.timestep_type", "lognormal", "warning"),
    (f"{P}.train.content_or_style", "styles", "warning"),
    (f"{P}.train.loss_type", "l2", "warning"),
])
def test_values_outside_the_accepted_lists(aitk, expect, path, value, severity) -> None:
    expect(validate_ai_toolkit(aitk({path: value}), "c.yaml"), severity, path, "not a value ai-toolkit accepts")


def test_an_unknown_network_type_trains_a_plain_lora(aitk, expect) -> None:
    report = validate_ai_toolkit(aitk({f"{P}.network.type": "loha"}), "c.yaml")
    expect(report, "warning", f"{P}.network.type", r"not a network type ai-toolkit acts on .*; it trains a plain LoRA")
    assert validate_ai_toolkit(aitk({f"{P}.network.type": "fullrank"}), "c.yaml").findings == []


@pytest.mark.parametrize("name", ["AdamW8bit", "prodigy", "dadaptation_lion", "Prodigy8bit"])
def test_optimizer_names_are_case_insensitive_with_prefixes(aitk, name) -> None:
    assert validate_ai_toolkit(aitk({f"{P}.train.optimizer": name}), "c.yaml").findings == []


def test_augments_and_job_and_process_types(aitk, expect) -> None:
    expect(validate_ai_toolkit(aitk({f"{P}.datasets[0].augments": ["ColorJiter"]}), "c"), "error",
           f"{P}.datasets[0].augments[0]", "not an augment")
    expect(validate_ai_toolkit(aitk({"job": "extensoin"}), "c"), "error", "job", r"did you mean 'extension'")
    expect(validate_ai_toolkit(aitk({f"{P}.type": "sd_trainr"}), "c"), "error", f"{P}.type",
           r"unknown process type 'sd_trainr' \(did you mean 'sd_trainer'\?\)")
    report = validate_ai_toolkit(aitk({f"{P}.type": "dataset_tools"}), "c")
    expect(report, "info", f"{P}.type", "not a training process: the FLUX LoRA rules do not apply")
    expect(report, "error", f"{P}.network", "unknown key")  # DatasetTools reads no section of its own
    assert not [f for f in report.findings if f.rule == "aitk-flowmatch"]
    expect(validate_ai_toolkit(aitk({f"{P}.type": "ui_trainer"}), "c"), "warning", f"{P}.type", "AITK_JOB_ID")


@pytest.mark.parametrize(("changes", "severity", "path", "match"), [
    ({f"{P}.training_folder": None}, "error", f"{P}.training_folder", "missing"),
    ({f"{P}.device": "cuda:0"}, "info", f"{P}.device", "not read by the SD trainer"),
    ({f"{P}.model.name_or_path": None}, "error", f"{P}.model.name_or_path", "requires the base model"),
    ({f"{P}.model.is_flux": False}, "warning", f"{P}.model", "not marked as FLUX"),
    ({f"{P}.model.dtype": "bf16"}, "info", f"{P}.model.dtype", "overwritten by train.dtype"),
    ({f"{P}.network": None}, "warning", f"{P}.network", "trains the whole model"),
    ({f"{P}.network.rank": 32}, "warning", f"{P}.network.rank", r"rank \(32\) wins over linear \(16\)"),
    ({f"{P}.network.linear_alpha": 8}, "warning", f"{P}.network.linear_alpha",
     r"no effect for FLUX: .*alpha forced to the rank \(16\)"),
    ({f"{P}.sample.neg": "blurry"}, "info", f"{P}.sample.neg", "samples FLUX.1 without the negative prompt"),
    ({f"{P}.train.noise_scheduler": "ddpm"}, "warning", f"{P}.train.noise_scheduler", "flow-matching"),
    ({f"{P}.sample.sampler": "euler"}, "warning", f"{P}.sample.sampler", "flow-matching"),
    ({f"{P}.train.gradient_accumulation": 4, f"{P}.train.gradient_accumulation_steps": 2}, "error",
     f"{P}.train.gradient_accumulation", "cannot be combined with gradient_accumulation_steps"),
    ({f"{P}.datasets": []}, "error", f"{P}.datasets", "no images to train on"),
    ({f"{P}.datasets[0].folder_path": None}, "error", f"{P}.datasets[0].folder_path", "needs the image folder"),
    ({f"{P}.datasets[0].poi": "person"}, "error", f"{P}.datasets[0].poi", "stops when poi is set"),
    ({f"{P}.datasets[0].caption_type": "txt"}, "warning", f"{P}.datasets[0].caption_type", "without adding the dot"),
    ({f"{P}.datasets[0].augmentations": [{"method": "Blur"}], f"{P}.datasets[0].cache_latents_to_disk": True},
     "warning", f"{P}.datasets[0].augmentations", "turn latent caching off"),
    ({f"{P}.datasets[1]": {"folder_path": "/b", "buckets": False}}, "error", f"{P}.datasets",
     "buckets differs between datasets"),
    ({"config.name": None}, "error", "config.name", "stops without a job name, even when run.py is given -n NAME"),
    ({"config.name": ""}, "warning", "config.name", "no name"),
])
def test_cross_section_rules(aitk, expect, changes, severity, path, match) -> None:
    data = aitk({k: v for k, v in changes.items() if not k.endswith("datasets[1]")})
    if f"{P}.datasets[1]" in changes:
        data["config"]["process"][0]["datasets"].append(changes[f"{P}.datasets[1]"])
    for key, value in changes.items():
        if value is None:
            parent, _, leaf = key.rpartition(".")
            node = data
            for step in parent.replace("[0]", ".0").split("."):
                node = node[int(step)] if step.isdigit() else node[step]
            del node[leaf]
    expect(validate_ai_toolkit(data, "c.yaml"), severity, path, match)


def test_alpha_rule_only_for_flux(aitk) -> None:
    data = aitk({f"{P}.network.linear_alpha": 8, f"{P}.model.is_flux": False, f"{P}.model.arch": "sdxl"})
    assert not [f for f in validate_ai_toolkit(data, "c").findings if f.rule == "aitk-alpha-ignored"]


def test_unquoted_name_tag(expect) -> None:
    text = "job: extension\nconfig:\n  name: [name]\n  process: []\nmeta:\n  name: [name]\n"
    report = validate_text(text, KIND_AITK, "c.yaml")
    expect(report, "error", "config.name", r"unquoted \[name\] is a YAML list")
    expect(report, "warning", "meta.name", r"unquoted \[name\] is a YAML list")


def test_env_vars_are_substituted_even_in_comments(expect) -> None:
    text = "# token: ${HF_TOKEN}\njob: extension\nconfig:\n  name: ${RUN_NAME}\n  process: []\n"
    report = validate_text(text, KIND_AITK, "c.yaml", env={"RUN_NAME": "x"})
    expect(report, "error", "line 1", r"\$\{HF_TOKEN\} .*even inside this comment.*HF_TOKEN is not set here")
    expect(report, "info", "line 4", r"\$\{RUN_NAME\} is replaced from the environment")


def test_duplicate_yaml_keys(expect) -> None:
    text = "job: extension\nconfig:\n  name: a\n  name: b\n  process: []\n"
    expect(validate_text(text, KIND_AITK, "c.yaml"), "warning", "line 4", "'name' appears twice")


@pytest.mark.parametrize(("data", "path", "match"), [
    (["a"], "(document)", "a mapping with job, config and meta"),
    ({"config": {"name": "x", "process": []}}, "job", "missing"),
    ({"job": "extension", "config": "x"}, "config", "must be a mapping"),
    ({"job": "extension", "config": {"name": "x", "process": []}}, "config.process", "non-empty list"),
    ({"job": "extension", "config": {"name": "x", "process": ["sd_trainer"]}}, P, "must be a mapping"),
    ({"job": "extension", "config": {"name": "x", "process": [{"training_folder": "o"}]}}, f"{P}.type", "missing"),
])
def test_structure(expect, data, path, match) -> None:
    expect(validate_ai_toolkit(data, "c.yaml"), "error", path, match)


def test_unquoted_exponent_inside_free_form_mappings(expect) -> None:
    text = ("job: extension\nconfig:\n  name: x\n  process:\n    - type: sd_trainer\n      train:\n"
            "        optimizer_params:\n          weight_decay: 1e-4\n")
    report = validate_text(text, KIND_AITK, "c.yaml")
    expect(report, "warning", f"{P}.train.optimizer_params.weight_decay", "a string to PyYAML")
