"""`fluxgen train` end to end through the CLI, with the ai-toolkit double replaying the real captures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from runner.support import group_members, manifest, only_run, train_args

from fluxgen.fsio import sha256_file
from helpers import cli_run

RUN_FILES = ("intent.yaml", "plan.json", "config.yaml", "command.txt", "command.json", "dataset-lint.json",
             "manifest.json", "train.log", "events.jsonl", "metrics.csv")


def train(images: Path, model: Path, *extra: str, **env: str):
    return cli_run(*train_args(images, model, *extra), env=env)


def test_success_leaves_a_complete_record(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    args = [a for a in train_args(images, model_dir) if a != "--no-report"]
    result = cli_run(*args, env={"HF_TOKEN": "hf_never_written_anywhere"})
    assert result.exit_code == 0, result.stderr
    run = only_run(tmp_path / "runs")
    assert run.name.startswith("cyber-skull-")
    assert "status: completed (5/5 steps, loss" in result.stdout
    assert f"final LoRA: {Path('runs') / run.name / 'output/cyber-skull/cyber-skull.safetensors'}" in result.stdout
    assert all((run / name).is_file() for name in RUN_FILES)

    m = manifest(run)
    assert (m["status"], m["exit_code"], m["diagnosis"], m["backend"]) == ("completed", 0, None, "ai-toolkit")
    assert m["final_lora"] == "output/cyber-skull/cyber-skull.safetensors" and (run / m["final_lora"]).is_file()
    assert [c["step"] for c in m["checkpoints"]] == [2, 4]
    assert {s["step"] for s in m["samples"]} == {0, 2, 4, 5}
    assert {s["prompt"] for s in m["samples"] if s["index"] == 0} == {"A watercolor painting of CSKULL"}
    assert m["trainer"]["pin"] == "27a03a91f23eb1b757d5ec2e80ee3e129cfcc350"
    assert m["dataset"]["fingerprint"] == json.loads((run / "plan.json").read_text())["values"]["fingerprint"]
    assert all(sha256_file(run / name) == digest for name, digest in m["files"].items())
    assert m["final_lora_sha256"] == sha256_file(run / m["final_lora"])
    assert all(c["sha256"] == sha256_file(run / c["path"]) for c in m["checkpoints"])
    assert len(m["attempts"]) == 1 and "pid" not in m
    assert not group_members(m["attempts"][0]["pid"])

    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["type"] == "progress"] == [1, 2, 3, 4, 5]
    with (run / "metrics.csv").open(newline="") as fh:
        assert [row["step"] for row in csv.DictReader(fh)] == ["1", "2", "3", "4", "5"]
    command = json.loads((run / "command.json").read_text())
    assert command["cwd"] == str(run.resolve()) and command["argv"][-1] == str(run.resolve() / "config.yaml")
    assert command["env"]["HF_TOKEN"] == "***"
    for name in ("train.log", "events.jsonl", "command.json", "manifest.json"):
        assert "hf_never_written_anywhere" not in (run / name).read_text()
    assert (run / "report.html").is_file()


@pytest.mark.parametrize("scenario, code, words", [
    ("oom", "out_of_memory", "The GPU ran out of memory at step 3"),
    ("nan", "nan_loss", "Lower the learning rate"),
    ("crash", "crash", "an illegal memory access was encountered"),
    ("gated", "gated_model", "set HF_TOKEN"),
])
def test_failures_are_diagnosed(fake_env, images: Path, model_dir: Path, tmp_path: Path, scenario: str,
                                code: str, words: str) -> None:
    result = train(images, model_dir, FAKE_SCENARIO=scenario)
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and words in last
    assert "status: failed" in result.stdout
    m = manifest(only_run(tmp_path / "runs"))
    assert (m["status"], m["diagnosis"]["code"]) == ("failed", code)
    assert not group_members(m["attempts"][0]["pid"])


def test_nan_run_fails_even_with_a_final_file(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = train(images, model_dir, FAKE_SCENARIO="nan")
    m = manifest(only_run(tmp_path / "runs"))
    assert (m["exit_code"], m["status"], m["final_lora"] is not None) == (0, "failed", True)
    assert result.exit_code == 1


def test_stall_is_warned_and_recorded(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = train(images, model_dir, "--stall-after", "0.4", FAKE_SCENARIO="stall", FAKE_STALL="1.5")
    assert result.exit_code == 0, result.stderr
    assert "warning: No progress for" in result.stdout
    m = manifest(only_run(tmp_path / "runs"))
    assert m["status"] == "completed"
    assert [w["code"] for w in m["warnings"]] == ["stall"] and m["warnings"][0]["step"] == 3


def test_stall_can_stop_the_run(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    result = train(images, model_dir, "--stall-after", "0.4", "--on-stall", "stop", "--grace", "2",
                   FAKE_SCENARIO="stall", FAKE_STALL="60")
    assert result.exit_code == 1
    assert "fluxgen stopped it (--on-stall stop)" in result.stderr
    run = only_run(tmp_path / "runs")
    m = manifest(run)
    assert (m["status"], m["diagnosis"]["code"]) == ("failed", "stall")
    assert f"continue with `fluxgen resume {Path('runs') / run.name}`" in m["diagnosis"]["fix"]
    assert m["attempts"][0]["stop_reason"] == "stall" and m["attempts"][0]["seconds"] < 10
    assert "stopping the trainer: No progress for" in (run / "train.log").read_text()
    assert not group_members(m["attempts"][0]["pid"])


def test_slowdown_is_warned(fake_env, images: Path, model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from fluxgen.plan import PlanOptions, build_plan
    from fluxgen.runs.attempt import FollowOptions
    from fluxgen.runs.session import TrainOptions, start_run

    monkeypatch.setenv("FAKE_SCENARIO", "slowdown")
    monkeypatch.setenv("FAKE_SPEED", "20")
    monkeypatch.setenv("FAKE_AT_STEP", "3")
    monkeypatch.setenv("FAKE_SLOWDOWN", "20")
    plan = build_plan("cyber-skull", PlanOptions(images=str(images), steps=5, sets=[f"model.base={model_dir}"]))
    follow = FollowOptions(slowdown_factor=3.0, follower={"warmup_steps": 1, "baseline_steps": 2, "window": 1},
                           out=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process
    result = start_run(plan, TrainOptions(runs_dir=tmp_path / "runs", report=False, follow=follow))
    assert result.status == "completed"
    assert any(w["code"] == "slowdown" for w in result.manifest.warnings)


def test_dry_run_prints_the_command_and_creates_nothing(fake_env, images: Path, model_dir: Path,
                                                        tmp_path: Path) -> None:
    result = cli_run(*train_args(images, model_dir, "--dry-run"))
    assert result.exit_code == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert "tests/runner/fakes/ai-toolkit/run.py " in lines["command"]
    assert lines["command"].endswith(f"{tmp_path}/runs/cyber-skull-<timestamp>/config.yaml'")
    assert lines["env"] == "COLUMNS=200 PYTHONIOENCODING=utf-8 PYTHONUNBUFFERED=1"
    assert lines["run folder"].startswith("runs/cyber-skull-<timestamp>")
    assert not (tmp_path / "runs").exists()


def test_run_folders_are_never_reused(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    from datetime import datetime

    from fluxgen.runs.folder import new_run_dir

    when = datetime(2026, 1, 2, 3, 4, 5)
    first, second = new_run_dir(tmp_path / "r", "skull", when), new_run_dir(tmp_path / "r", "skull", when)
    assert (first.name, second.name) == ("skull-20260102-030405", "skull-20260102-030405-2")


def test_dataset_lint_errors_refuse_to_start(fake_env, model_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli_run(*train_args(empty, model_dir))
    assert result.exit_code == 1
    assert "error:" in result.stderr and "--force" in result.stderr
    assert not any((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else True


def test_make_train_skull_command(fake_env, images: Path, tmp_path: Path) -> None:
    """`make train-skull` runs `fluxgen train cyber-skull --images $(DATA)`: the preset as it is (FLUX.1-dev from
    the hub, 100 steps per image, saves every 250)."""
    result = cli_run("train", "cyber-skull", "--images", str(images), "--no-report", env={"HF_TOKEN": "hf_dummy1"})
    assert result.exit_code == 0, result.stderr
    m = manifest(only_run(tmp_path / "runs"))
    assert (m["status"], m["last_step"], [c["step"] for c in m["checkpoints"]]) == ("completed", 400, [250])


def test_gated_base_model_without_a_token_stops_before_launch(fake_env, images: Path, tmp_path: Path) -> None:
    result = cli_run("train", "cyber-skull", "--images", str(images))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: black-forest-labs/FLUX.1-dev: gated on the Hugging Face hub and no token is set; accept the "
        "licence at https://huggingface.co/black-forest-labs/FLUX.1-dev and set HF_TOKEN, or train from a local "
        "model (--set model.base=DIR)")
    assert not (tmp_path / "runs").exists()


def test_missing_trainer_checkout_is_one_line(fake_env, images: Path, model_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(tmp_path / "no-checkout"))
    result = cli_run(*train_args(images, model_dir))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(f"error: {tmp_path / 'no-checkout' / 'run.py'}: no ai-toolkit "
                                                     "checkout there ($FLUXGEN_AI_TOOLKIT_DIR)")
    assert not (tmp_path / "runs").exists()


def test_ai_toolkit_reads_the_run_config_not_one_in_its_own_folder(fake_env, images: Path, model_dir: Path,
                                                                   tmp_path: Path, monkeypatch) -> None:
    """ai-toolkit looks for `<toolkit>/config/<arg>` before the argument: a config.yaml left there must not be
    trained instead of the run's own (reference ai-toolkit.md §4)."""
    import shutil

    from runner.support import FAKES

    toolkit = tmp_path / "fakes"
    shutil.copytree(FAKES, toolkit, ignore=shutil.ignore_patterns("__pycache__"))
    decoy = toolkit / "ai-toolkit" / "config" / "config.yaml"
    decoy.parent.mkdir()
    decoy.write_text("job: extension\nconfig:\n  name: someone-else\n  process: []\n", encoding="utf-8")
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(toolkit / "ai-toolkit"))
    result = train(images, model_dir)
    assert result.exit_code == 0, result.stderr
    run = only_run(tmp_path / "runs")
    assert json.loads((run / "command.json").read_text())["argv"][-1] == str(run.resolve() / "config.yaml")
    assert manifest(run)["final_lora"] == "output/cyber-skull/cyber-skull.safetensors"


def test_intent_yaml_is_the_intent_as_given(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    """intent.yaml holds what the user gave (the file's own text; a preset as `extends:`), the command-line
    overrides are recorded beside it, and the merged intent is plan.json's."""
    mine = tmp_path / "my-skull.yaml"
    text = "# my own intent\nextends: cyber-skull\nnetwork:\n  rank: 16  # small\n"
    mine.write_text(text, encoding="utf-8")
    result = cli_run("train", str(mine), "--images", str(images), "--steps", "5", "--set", f"model.base={model_dir}",
                     "--set", "save.every=2", "--no-report")
    assert result.exit_code == 0, result.stderr
    run = only_run(tmp_path / "runs")
    assert (run / "intent.yaml").read_text(encoding="utf-8") == text
    m = manifest(run)
    assert m["intent"]["source"] == str(mine)
    assert [(o["key"], o["origin"]) for o in m["intent"]["overrides"]] == [
        ("dataset.path", "command line --images"), ("train.steps", "command line --steps"),
        ("model.base", f"command line --set model.base={model_dir}"), ("save.every", "command line --set save.every=2")]
    assert m["intent"]["command"].startswith(f"fluxgen train {mine} --images {images} --steps 5 --set")
    merged = json.loads((run / "plan.json").read_text())["intent"]
    assert merged["network"]["rank"] == 16 and merged["dataset"]["path"] == str(images)


def test_a_preset_name_is_recorded_as_extends(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    assert train(images, model_dir).exit_code == 0
    assert (only_run(tmp_path / "runs") / "intent.yaml").read_text(encoding="utf-8") == "extends: cyber-skull\n"


def test_run_record_knows_how_the_captions_were_made(fake_env, images: Path, model_dir: Path,
                                                     tmp_path: Path) -> None:
    import shutil

    captioned = tmp_path / "captioned"
    shutil.copytree(images, captioned)
    provenance = {"written_by": "fluxgen 0.1.0 dataset caption", "created": "2026-12-06T17:00:00+00:00",
                  "captioner": "florence2", "model": "florence-community/Florence-2-base", "revision": "abc123",
                  "prompt": "<DETAILED_CAPTION>", "settings": {"mode": "detailed", "trigger": "CSKULL"},
                  "files": {"img_000.jpg": {"source": "model"}, "img_001.jpg": {"source": "kept"}}}
    (captioned / "captions.json").write_text(json.dumps(provenance), encoding="utf-8")
    result = train(captioned, model_dir)
    assert result.exit_code == 0, result.stderr
    captions = manifest(only_run(tmp_path / "runs"))["dataset"]["captions"]
    assert (captions["captioner"], captions["model"], captions["revision"]) == (
        "florence2", "florence-community/Florence-2-base", "abc123")
    assert captions["prompt"] == "<DETAILED_CAPTION>" and captions["settings"]["mode"] == "detailed"
    assert captions["files"] == 2 and captions["by_source"] == {"model": 1, "kept": 1}
