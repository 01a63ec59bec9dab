"""SimpleTuner's own example configs (152 folders in the installed package): fluxgen's findings against what
SimpleTuner's loaders say about the same files. A file SimpleTuner accepts gets no error from fluxgen; the FLUX.1
examples get exactly SimpleTuner's verdict; the hand-written mistakes of test_validator.py are rejected by
SimpleTuner exactly where fluxgen reports an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backends.simple_tuner.st_env import examples_dir, run_loader
from backends.simple_tuner.test_validator import BASE

from fluxgen.backends.simple_tuner.validator import validate_text

FLUX_EXAMPLES = ("flux.peft-lora", "flux.peft-lora+TREAD", "flux.peft-controlnet-lora")
# Hand-written configs: key -> value added to BASE (None: the key removed).
MISTAKES = {
    "typo": {"lora_rnak": 16}, "prefix": {"checkpoints_total_lim": 3}, "ambiguous": {"validation_guidance_skip": 1},
    "float-for-int": {"lora_rank": 16.0}, "bad-choice": {"lr_scheduler": "cosin"}, "flag": {"lora_rank": True},
    "bad-bool": {"gradient_checkpointing": "maybe"}, "removed-optimizer": {"optimizer": "adamw8bit"},
    "unknown-optimizer": {"optimizer": "adamw_bf17"}, "epochs-and-steps": {"num_train_epochs": 2},
    "max-size-alone": {"maximum_image_size": 1024, "resolution_type": "pixel"},
    "legacy": {"checkpointing_steps": 250, "validation_steps": 250}, "dataset-key": {"repeats": 3},
    "list": {"validation_prompt": ["a cat", "a dog"]}, "false-string": {"push_to_hub": "false"},
    "no-family": {"model_family": None}, "report": {"report_to": "wandb,none"},
}


@pytest.fixture(scope="module")
def verdicts(st_python: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    cases = tmp_path_factory.mktemp("mistakes")
    for name, change in MISTAKES.items():
        data = {k: v for k, v in {**BASE, **change}.items() if v is not None}
        (cases / name).mkdir()
        (cases / name / "config.json").write_text(json.dumps(data), encoding="utf-8")
    examples = examples_dir(st_python)
    return examples, cases, run_loader(st_python, "corpus", str(examples), str(cases))


def fluxgen_errors(path: Path) -> list[str]:
    report = validate_text(path.read_text(encoding="utf-8"), str(path))
    return [f.line(path.parent.name) for f in report.errors]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_examples_no_false_claims(verdicts: tuple[Path, Path, dict]) -> None:
    examples, _, found = verdicts
    folders = [p for p in examples.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))]
    configs = {k: v for k, v in found.items() if k.startswith("0:") and k.endswith("/config.json")}
    assert (len(folders), len(configs)) == (152, 151)
    false_claims, missed = [], []
    for key, verdict in found.items():
        if not key.startswith("0:"):
            continue
        errors = fluxgen_errors(examples / key[2:])
        if verdict["ok"] and errors:
            false_claims.append(errors[0])
        elif not verdict["ok"] and not errors:
            missed.append(verdict["errors"][0])
    assert false_claims == []
    # what fluxgen leaves to SimpleTuner: a GPU this machine lacks (ramtorch, Metal attention), a file it lacks
    assert all(m.startswith(("ValueError: --ramtorch requires a CUDA", "ValueError: Metal Flash Attention",
                             "ValueError: Could not find lycoris config")) for m in missed), missed


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", FLUX_EXAMPLES)
def test_flux_examples_exactly_as_simpletuner(verdicts: tuple[Path, Path, dict], name: str) -> None:
    examples, _, found = verdicts
    verdict = found[f"0:{name}/config.json"]
    path = examples / name / "config.json"
    report = validate_text(path.read_text(encoding="utf-8"), str(path))
    assert (verdict["ok"], verdict["errors"]) == (True, [])
    assert (report.errors, report.warnings) == ([], [])


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_mistakes_rejected_exactly_where_fluxgen_says_error(verdicts: tuple[Path, Path, dict], name: str) -> None:
    _, cases, found = verdicts
    verdict = found[f"1:{name}/config.json"]
    errors = fluxgen_errors(cases / name / "config.json")
    assert verdict["ok"] == (not errors), (verdict["errors"][:1], errors)
