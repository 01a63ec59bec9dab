"""The data files say what the reference says, and build_data.py regenerates them byte for byte."""

from __future__ import annotations

import json

import pytest

from fluxgen.knowledge import (
    DATA_FILES,
    ai_toolkit_schema,
    pinned_commits,
    sd_scripts_args,
    sd_scripts_dataset_schema,
    sd_scripts_facts,
    sd_scripts_network_args,
)
from fluxgen.knowledge.build_data import render_all


def test_all_215_sd_scripts_options_with_types_and_defaults() -> None:
    args = sd_scripts_args()
    assert len(args) == 215
    assert args["network_dim"].type == "int" and args["network_dim"].default is None
    assert args["learning_rate"].default == pytest.approx(2e-06)
    assert args["max_train_steps"].default == 1600
    assert args["guidance_scale"].default == 3.5
    assert args["mixed_precision"].choices == ("no", "fp16", "bf16")
    assert args["network_args"].nargs == "*" and args["network_args"].type == "str"
    assert args["lr_warmup_steps"].type == "int_or_float"
    assert args["gradient_checkpointing"].type == "flag" and not args["gradient_checkpointing"].takes_value
    assert args["save_precision"].choices == (None, "float", "fp16", "bf16")
    assert "AdamW8bit" in (args["optimizer_type"].known_values or ())
    assert "flux_train_t_exponent" not in args
    assert {a.type for a in args.values()} == {"str", "int", "float", "int_or_float", "flag"}


def test_facts_beyond_the_option_table() -> None:
    facts = sd_scripts_facts()
    assert "flux_train_t_exponent" in facts.known_missing
    assert "timestep_sampling" in facts.known_missing["flux_train_t_exponent"]
    assert {"sdpa", "max_token_length", "sample_sampler"} <= set(facts.flux_unused)
    assert facts.deprecated == ("split_mode",)


def test_dataset_schema_types_are_the_voluptuous_ones() -> None:
    keys = sd_scripts_dataset_schema().keys
    assert keys["network_multiplier"].types == ("float",)
    assert keys["resolution"].types == ("int", "[int,int]")
    assert keys["caption_dropout_rate"].types == ("float", "int")
    assert keys["face_crop_aug_range"].types == ("[float,float]",)
    assert keys["image_dir"].levels == ("subsets",) and keys["image_dir"].required == "dreambooth"
    assert keys["batch_size"].levels == ("general", "datasets")
    assert keys["min_bucket_reso"].default == 256 and keys["max_bucket_reso"].default == 1024
    assert keys["caption_extension"].default == ".caption"


def test_network_args_keys() -> None:
    keys = sd_scripts_network_args()
    assert keys["train_blocks"].choices == ("all", "single", "double")
    assert keys["train_t5xxl"].kind == "bool_str"
    assert keys["in_dims"].length == 5


def test_ai_toolkit_sections_and_lists() -> None:
    schema = ai_toolkit_schema()
    for section in ("network", "save", "datasets[]", "train", "model", "sample", "sample.samples[]", "logging",
                    "train.ema_config"):
        assert schema.sections[section], section
    assert schema.sections["train"]["lr"].types == ("float",)
    assert schema.sections["train"]["steps"].default == 1000
    assert schema.sections["network"]["linear_alpha"].types == ("float",)
    assert schema.sections["sample"]["neg"].types == ("str",)
    assert schema.process["device"].types == ("str",)
    assert "adamw8bit" in schema.choices["optimizers"] and "dadaptation" in schema.choices["optimizer_prefixes"]
    assert "flowmatch" in schema.choices["noise_schedulers"]
    assert schema.choices["content_or_style"] == ("balanced", "style", "content")
    assert "bf16" in schema.choices["dtypes"] and "sigmoid" in schema.choices["timestep_types"]
    assert schema.job_types == ("extract", "train", "mod", "generate", "extension")
    assert "sd_trainer" in schema.trainer_process_types


def test_pinned_commits_are_recorded() -> None:
    assert pinned_commits() == {"ai-toolkit": "27a03a91f23eb1b757d5ec2e80ee3e129cfcc350",
                                "sd-scripts": "48d368fa557731ad0488c07304dfeba8c07910eb"}
    for name in ("sd_scripts_args.json", "sd_scripts_dataset.json", "sd_scripts_network_args.json",
                 "ai_toolkit_keys.json"):
        prov = json.loads(DATA_FILES[name].read_text(encoding="utf-8"))["provenance"]
        assert len(prov["commit"]) == 40 and prov["generated_by"] == "fluxgen/knowledge/build_data.py"


def test_build_data_regenerates_the_shipped_files(shared) -> None:
    if not (shared / "trainers" / "ai-toolkit-27a03a91.tar.gz").is_file():
        pytest.skip("the pinned ai-toolkit source is not in ../shared/trainers")
    for name, text in render_all(shared / "reference").items():
        assert DATA_FILES[name].read_text(encoding="utf-8") == text, f"{name} is stale: rerun build_data"


def test_the_reference_sections_hold_every_key_the_source_reads(shared) -> None:
    """Each config class ai-toolkit unpacks a section into reads exactly the keys the reference lists (SampleItem
    also takes sample_config, which the code passes itself)."""
    from fluxgen.backends.ai_toolkit.build_keys import SECTIONS
    from fluxgen.backends.ai_toolkit.source_tree import Source, config_class_reads, read_tree

    tar = shared / "trainers" / "ai-toolkit-27a03a91.tar.gz"
    if not tar.is_file():
        pytest.skip("the pinned ai-toolkit source is not in ../shared/trainers")
    src, schema = Source(read_tree(tar)), ai_toolkit_schema()
    for section, cls in SECTIONS.items():
        reads = config_class_reads(src, "toolkit.config_modules", cls)
        assert reads is not None and not reads.open, cls
        assert set(reads.keys) - {"sample_config"} == set(schema.sections[section]), section


def test_every_process_key_a_text_search_finds_is_in_the_jobs_data(shared) -> None:
    """Completeness against an independent reader: every `get_conf('k'` / `config.get('k'` / `config['k']` in the
    files of a process class and its bases (of a job class and BaseJob) is a key fluxgen knows for it."""
    import re

    from fluxgen.backends.ai_toolkit.source_tree import read_tree

    tar = shared / "trainers" / "ai-toolkit-27a03a91.tar.gz"
    if not tar.is_file():
        pytest.skip("the pinned ai-toolkit source is not in ../shared/trainers")
    files = {p: re.sub(r"(?m)^\s*#.*$", "", t) for p, t in read_tree(tar).items()}  # commented-out reads do not count
    defined = {m.group(1): path for path, text in files.items() for m in re.finditer(r"^class (\w+)\b", text, re.M)}
    read = re.compile(r"""self\.(?:get_conf\(|config\.get\(|config\[)\s*['"](\w+)""")
    data = json.loads(DATA_FILES["ai_toolkit_jobs.json"].read_text(encoding="utf-8"))["jobs"]
    missing = []
    for job, entry in data.items():
        for kind, proc in entry["process_types"].items():
            if not proc["exists"]:
                continue
            paths = {proc["module"].replace(".", "/") + ".py"} | {defined[b] for b in proc["bases"] if b in defined}
            found = {k for p in paths for k in read.findall(files[p])}
            missing += [f"{job}/{kind}: {k}" for k in sorted(found - set(proc["keys"]))]
        found = set(read.findall(files[f"jobs/{entry['class']}.py"] + files["jobs/BaseJob.py"]))
        missing += [f"{job}: config.{k}" for k in sorted(found - set(entry["keys"]))]
    assert not missing, missing
