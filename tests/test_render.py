"""Rendering: golden files per preset × backend, re-parse checks, only keys the trainers read, no clobbering."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
import toml
import yaml

from fluxgen.errors import UserError
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.presets import discover
from fluxgen.render import render_plan, render_plan_to
from helpers import REPO

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("FLUXGEN_UPDATE_GOLDEN") == "1"
BACKENDS = ("ai-toolkit", "sd-scripts", "builtin")
PRESETS = sorted(discover())


def check_golden(golden: Path, got: str) -> None:
    """`got` must equal the golden file; FLUXGEN_UPDATE_GOLDEN=1 writes it instead, for review in the diff."""
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden}; run with FLUXGEN_UPDATE_GOLDEN=1 and review the diff"
    assert got == golden.read_text(encoding="utf-8"), f"{golden} differs (FLUXGEN_UPDATE_GOLDEN=1 to update)"


def normalise(text: str, dataset: Path) -> str:
    """Machine-specific paths → placeholders, so golden files compare across machines."""
    text = (text.replace(str(dataset), "<DATASET>").replace(sys.executable, "<PYTHON>")
            .replace(str(REPO), "<REPO>"))
    text = re.sub(r"sha256:[0-9a-f]{64}\b", "sha256:<FINGERPRINT>", text)  # depends on Pillow's JPEG encoder
    return re.sub(r"sha256:[0-9a-f]{16}\b", "sha256:<PLAN-HASH>", text)


def test_presets_are_discovered() -> None:
    assert len(PRESETS) >= 9
    assert {"subject", "style", "character", "concept", "cyber-skull", "graphic-grebble", "kohya-style",
            "concept-poc", "ohwx-character"} <= set(PRESETS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("preset", PRESETS)
def test_golden(preset: str, backend: str, skull20: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)
    plan = build_plan(preset, PlanOptions(images=str(skull20), backend=backend, trigger=None))
    files = render_plan(plan)
    folder = GOLDEN / f"{preset}.{backend}"
    for name, text in files.items():
        got = normalise(text, skull20)
        check_golden(folder / name, got)


def test_done_criterion_both_backends(tmp_path: Path, skull20: Path) -> None:
    opts = dict(kind="subject", images=str(skull20), trigger="CSKULL", rank=32)
    ai = build_plan(None, PlanOptions(backend="ai-toolkit", **opts))
    render_plan_to(ai, tmp_path / "ai")
    cfg = yaml.safe_load((tmp_path / "ai" / "config.yaml").read_text(encoding="utf-8"))
    proc = cfg["config"]["process"][0]
    assert (proc["network"]["linear"], proc["network"]["linear_alpha"]) == (32, 32.0)
    assert (proc["train"]["steps"], proc["save"]["save_every"], proc["trigger_word"]) == (2000, 250, "CSKULL")
    assert isinstance(proc["train"]["lr"], float) and proc["train"]["lr"] == 1e-4
    sd = build_plan(None, PlanOptions(backend="sd-scripts", **opts))
    render_plan_to(sd, tmp_path / "sd")
    args = tomllib.loads((tmp_path / "sd" / "args.toml").read_text(encoding="utf-8"))
    flat = {k: v for section in args.values() for k, v in section.items()}
    assert (flat["network_dim"], flat["network_alpha"], flat["max_train_steps"], flat["save_every_n_steps"]) == (
        32, 32.0, 2000, 250)
    assert isinstance(flat["network_alpha"], float) and isinstance(flat["learning_rate"], float)
    assert flat["network_train_unet_only"] is True and "split_mode" not in flat
    dataset = tomllib.loads((tmp_path / "sd" / "dataset.toml").read_text(encoding="utf-8"))
    assert dataset["datasets"][0]["subsets"][0]["class_tokens"] == "CSKULL"
    assert sorted(p.name for p in (tmp_path / "sd").iterdir()) == [
        "args.toml", "command.txt", "dataset.toml", "plan.json", "sample_prompts.txt"]


def test_sd_scripts_toml_reads_the_same_with_toml_package(tmp_path: Path, skull20: Path) -> None:
    plan = build_plan("kohya-style", PlanOptions(images=str(skull20)))
    files = render_plan(plan)
    for name in ("args.toml", "dataset.toml"):
        assert toml.loads(files[name]) == tomllib.loads(files[name])
    args = tomllib.loads(files["args.toml"])
    assert args["optimizer"]["optimizer_args"] == ["relative_step=False", "scale_parameter=False", "warmup_init=False"]
    assert args["optimizer"]["lr_scheduler"] == "cosine_with_restarts" and args["optimizer"]["lr_warmup_steps"] == 50


def test_no_conflicting_cache_and_dropout_in_sd_scripts(skull20: Path, style12: Path) -> None:
    for ref, images in (("cyber-skull", skull20), ("graphic-grebble", style12), ("kohya-style", style12)):
        files = render_plan(build_plan(ref, PlanOptions(images=str(images), backend="sd-scripts")))
        args = tomllib.loads(files["args.toml"])
        dataset = tomllib.loads(files["dataset.toml"])
        cached = args["dataset"].get("cache_text_encoder_outputs", False)
        dropout = any(s.get("caption_dropout_rate", 0) for d in dataset["datasets"] for s in d["subsets"])
        shuffle = dataset["general"].get("shuffle_caption", False)
        assert not (cached and (dropout or shuffle)), ref


def test_every_file_starts_with_a_header(skull20: Path) -> None:
    for backend in BACKENDS:
        plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend))
        for name, text in render_plan(plan).items():
            head = text.splitlines()[:6]
            assert head[0].startswith("# Generated by fluxgen"), name
            assert any(f"plan hash: {plan.hash}" in line for line in head), name
            assert any("fluxgen-intent: {" in line for line in head), name


def test_refuses_to_overwrite_without_force(tmp_path: Path, skull20: Path) -> None:
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20)))
    render_plan_to(plan, tmp_path)
    before = (tmp_path / "config.yaml").read_bytes()
    with pytest.raises(UserError, match="already exists; pass --force"):
        render_plan_to(plan, tmp_path)
    assert (tmp_path / "config.yaml").read_bytes() == before
    render_plan_to(plan, tmp_path, force=True)


def test_hostile_trigger_round_trips(skull20: Path) -> None:
    trigger = 'C#S"K\\U: LL 💀 ü'
    for backend in BACKENDS:
        plan = build_plan(None, PlanOptions(kind="subject", images=str(skull20), trigger=trigger, backend=backend))
        files = render_plan(plan)
        if backend == "ai-toolkit":
            assert yaml.safe_load(files["config.yaml"])["config"]["process"][0]["trigger_word"] == trigger
        elif backend == "builtin":
            assert yaml.safe_load(files["train.yaml"])["dataset"]["trigger"] == trigger
        else:
            dataset = tomllib.loads(files["dataset.toml"])
            assert dataset["datasets"][0]["subsets"][0]["class_tokens"] == trigger
            assert toml.loads(files["dataset.toml"]) == dataset
            assert f"A watercolor painting of {trigger} --w" in files["sample_prompts.txt"]


def test_ai_toolkit_refuses_env_substitution_tokens(skull20: Path) -> None:
    plan = build_plan(None, PlanOptions(kind="subject", images=str(skull20), trigger="X${HOME}"))
    with pytest.raises(UserError, match="ai-toolkit would replace"):
        render_plan(plan)


def test_rendered_file_plans_again_to_the_same_hash(tmp_path: Path, skull20: Path) -> None:
    for backend, name in (("ai-toolkit", "config.yaml"), ("sd-scripts", "args.toml")):
        plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend, rank=8))
        render_plan_to(plan, tmp_path / backend)
        again = build_plan(str(tmp_path / backend / name), PlanOptions())
        assert again.hash == plan.hash
        assert render_plan(again)[name] == (tmp_path / backend / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("backend", ("ai-toolkit", "sd-scripts"))
@pytest.mark.parametrize("vram", (8, 10, 12, 16, 24, 48, 80))
def test_every_vram_tier_renders_files_the_validator_accepts(backend: str, vram: int, tmp_path: Path,
                                                             skull20: Path) -> None:
    from fluxgen.validate import validate_file

    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend, vram=vram))
    for path in render_plan_to(plan, tmp_path):
        if path.suffix in (".yaml", ".toml"):
            report = validate_file(path)
            # hub references are said to need `fluxgen train` (no hub cache here); nothing else is found
            assert [f for f in report.findings if f.severity != "info" and f.rule != "sd-hf-path"] == [], path


def test_render_refuses_output_its_own_validator_rejects(monkeypatch: pytest.MonkeyPatch, skull20: Path) -> None:
    from fluxgen.backends.ai_toolkit import files as ai_toolkit
    from fluxgen.errors import RenderMismatch

    original = ai_toolkit.render

    def sabotaged(plan, trainer=None):
        files = original(plan, trainer)
        files["config.yaml"] = files["config.yaml"].replace("linear_alpha:", "linear_alpah:")
        return files

    monkeypatch.setattr(ai_toolkit, "render", sabotaged)
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20)))
    with pytest.raises(RenderMismatch, match="linear_alpah"):
        render_plan(plan)


def test_small_resolutions_keep_buckets_valid(tmp_path: Path, skull20: Path) -> None:
    from fluxgen.validate import validate_text

    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend="sd-scripts", sets=["train.resolution=[64]"]))
    dataset = render_plan(plan)["dataset.toml"]
    ds = tomllib.loads(dataset)["datasets"][0]
    assert ds["min_bucket_reso"] <= ds["resolution"] <= ds["max_bucket_reso"]
    broken = dataset.replace(f"min_bucket_reso = {ds['min_bucket_reso']}", "min_bucket_reso = 256")
    report = validate_text(broken, "sd-scripts-dataset", "dataset.toml")
    assert any(f.rule == "sd-bucket-range" and f.severity == "error" for f in report.findings)


@pytest.mark.parametrize("backend", ("ai-toolkit", "sd-scripts", "builtin"))
def test_every_file_render_writes_validates_clean(backend: str, tmp_path: Path, skull20: Path) -> None:
    from fluxgen.validate import validate_file

    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend))
    written = render_plan_to(plan, tmp_path)
    for path in written:
        if path.name == "plan.json":
            with pytest.raises(UserError, match="this is a fluxgen plan, not a trainer file"):
                validate_file(path)
            continue
        report = validate_file(path)
        findings = [f for f in report.findings if f.severity != "info" and f.rule != "sd-hf-path"]  # no hub cache
        assert findings == [], (path, report.lines())


def test_validator_reads_builtin_configs_and_sample_prompts(tmp_path: Path) -> None:
    from fluxgen.validate import validate_file

    config = tmp_path / "train.yaml"
    config.write_text("model: {path: m}\ndataset: {folder: d}\nsave: {output_dir: o, evry: 5}\n", encoding="utf-8")
    report = validate_file(config)
    assert report.kind == "builtin-config" and [f.path for f in report.errors] == ["save.evry"]
    prompts = tmp_path / "sample_prompts.txt"
    prompts.write_text("a skull --w 1000 --h 1024 --q 3 --s many\n --w 512\n", encoding="utf-8")
    report = validate_file(prompts)
    assert report.kind == "sd-scripts-sample-prompts"
    rules = sorted(f.rule for f in report.findings)
    assert rules == ["sd-prompt-empty", "sd-prompt-option", "sd-prompt-size", "sd-prompt-value"]
