"""ai-toolkit jobs other than `extension`: each is checked against the keys its own job and process classes read
at the pin (fluxgen/backends/ai_toolkit/jobs.json, read from ai-toolkit's source by build_data.py)."""

from __future__ import annotations

from typing import Any

import pytest

from fluxgen.knowledge import ai_toolkit_jobs
from fluxgen.validate import validate_ai_toolkit


def job(kind: str, process: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {"job": kind, "config": {"name": "j", **config, "process": [process]}}


P = "config.process[0]"


def test_the_jobs_run_py_starts_and_their_process_types() -> None:
    jobs = ai_toolkit_jobs()
    assert {name for name, j in jobs.items() if j.dispatched} == {"extension", "train", "generate", "extract", "mod"}
    assert not jobs["merge"].dispatched and jobs["merge"].process_types == {}
    assert {"slider", "vae", "esrgan", "rescale_sd"} <= set(jobs["train"].process_types)
    assert set(jobs["generate"].process_types) == {"to_folder"}
    assert set(jobs["extract"].process_types) == {"locon", "lora"}
    assert set(jobs["mod"].process_types) == {"rescale_lora"}
    assert {"sd_trainer", "ui_trainer", "concept_slider", "Qwen3VLCaptioner"} <= set(jobs["extension"].process_types)
    assert jobs["train"].process_types["lora_hack"].cls is None  # named in TrainJob's table, class missing
    assert jobs["extract"].keys["output_folder"].required and "log_dir" in jobs["train"].keys


def test_a_train_job_reads_its_own_keys_and_registers_slider_and_vae(expect) -> None:
    slider = job("train", {"type": "slider", "training_folder": "out", "slider": {"resolutions": [[512, 512]]},
                           "device": "cuda:0"}, training_folder="out", log_dir="logs", is_v2=False)
    report = validate_ai_toolkit(slider, "s.yaml")
    assert report.ok, report.lines()
    expect(report, "info", f"{P}.type", "SD trainer but not a LoRA trainer: the FLUX LoRA rules do not apply")
    vae = job("train", {"type": "vae", "learning_rate": 1.0e-5, "resolution": 256, "datasets": [{"path": "/x"}]},
              training_folder="out")
    assert validate_ai_toolkit(vae, "v.yaml").ok
    expect(validate_ai_toolkit(job("train", {"type": "slider"}), "t"), "error", "config.training_folder",
           "missing; TrainJob stops without it")
    expect(validate_ai_toolkit(job("train", {"type": "vae", "learnig_rate": 1}, training_folder="o"), "v"),
           "error", f"{P}.learnig_rate", r"unknown key \(did you mean 'learning_rate'\?\)")


@pytest.mark.parametrize(("data", "path", "match"), [
    (job("merge", {"type": "x"}), "job", "MergeJob class, but run.py does not start it"),
    (job("train", {"type": "lora_hack"}, training_folder="o"), f"{P}.type", "its class does not exist"),
    (job("generate", {"type": "sd_trainer"}), f"{P}.type", r"'sd_trainer' \(it is a process of job: extension\)"),
    (job("extract", {"type": "lora"}, base_model="a", extract_model="b"), "config.output_folder",
     "missing; ExtractJob stops without it"),
    (job("mod", {"type": "rescale_lora", "input_path": "a", "current_weight": 1, "target_weight": 2}),
     f"{P}.output_path", "missing"),
])
def test_job_errors_name_what_ai_toolkit_does(expect, data, path, match) -> None:
    expect(validate_ai_toolkit(data, "j.yaml"), "error", path, match)


def test_an_extension_job_does_not_read_config_training_folder(aitk, expect, delete) -> None:
    data = aitk({f"{P}.training_folder": delete, "config.training_folder": "output"})
    report = validate_ai_toolkit(data, "c.yaml")
    expect(report, "error", "config.training_folder", "unknown key for job: extension")
    expect(report, "error", f"{P}.training_folder", "missing")
    assert validate_ai_toolkit(job("train", {"type": "slider"}, training_folder="out"), "t").ok


def test_a_non_training_job_says_once_that_the_lora_rules_do_not_apply() -> None:
    data = job("generate", {"type": "to_folder", "output_folder": "o", "model": {"name_or_path": "m"},
                            "generate": {"prompts": ["a"], "sampler": "ddpm"}})
    report = validate_ai_toolkit(data, "g.yaml")
    assert report.ok and [f.path for f in report.findings] == ["job"], report.lines()
    assert "the FLUX LoRA rules do not apply" in report.findings[0].message
    typo = validate_ai_toolkit(job("generate", {**data["config"]["process"][0], "generate": {"prompt": ["a"]}}), "g")
    assert [f.path for f in typo.errors] == [f"{P}.generate.prompt"]
