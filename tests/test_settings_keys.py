"""train.noise_offset, train.loss_type, negative and per-prompt sample settings, the 80 GB tier: rendered for every
backend that can do them (golden files, read back clean by fluxgen's own validators), refused with a reason where a
trainer cannot, and imported back."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_render import GOLDEN, check_golden, normalise

from fluxgen.errors import UserError
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan, render_plan_to
from fluxgen.trainer.flow import elementwise_loss, offset_noise
from fluxgen.validate import validate_file

PROMPTS = 'samples.prompts=["A watercolor painting of [trigger]", {prompt: "[trigger] on a desk", negative: "text", steps: 28, seed: 7}]'
# What each trainer can do of the new keys, over the cyber-skull preset at 80 GB.
SETS = {
    "ai-toolkit": ["train.noise_offset=0.05", "train.loss_type=huber", "samples.negative=blurry", PROMPTS],
    "sd-scripts": ["train.loss_type=l1", "samples.negative=blurry", PROMPTS],
    "simpletuner": ["train.loss_type=smooth_l1", "samples.negative=blurry"],
    "builtin": ["train.noise_offset=0.05", "train.loss_type=mae"],
}


@pytest.fixture(autouse=True)
def _no_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)


def _plan(skull20: Path, backend: str, sets: list[str], vram: int = 80):
    return build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend, vram=vram, sets=sets))


@pytest.mark.parametrize("backend", sorted(SETS))
def test_golden_settings(backend: str, skull20: Path, tmp_path: Path) -> None:
    plan = _plan(skull20, backend, SETS[backend])
    folder = GOLDEN / f"settings.cyber-skull.{backend}"
    for name, text in render_plan(plan).items():
        got = re.sub(r"\S+/envs/[^/\s]+/venv/bin/python", "<PYTHON>", normalise(text, skull20))  # a tmp home
        check_golden(folder / name, got)
    for path in render_plan_to(plan, tmp_path):
        if path.name in ("plan.json", "command.txt"):
            continue
        report = validate_file(path)
        assert [f for f in report.findings if f.severity == "error"] == [], (path, report.lines())


def test_values_land_where_each_trainer_reads_them(skull20: Path) -> None:
    process = yaml.safe_load(render_plan(_plan(skull20, "ai-toolkit", SETS["ai-toolkit"]))["config.yaml"])
    process = process["config"]["process"][0]
    assert (process["train"]["noise_offset"], process["train"]["loss_type"]) == (0.05, "pseudo_huber")
    assert process["sample"]["neg"] == "blurry" and process["model"]["quantize_te"] is False
    assert process["sample"]["samples"][1] == {"prompt": "[trigger] on a desk", "neg": "text", "sample_steps": 28,
                                               "seed": 7}
    files = render_plan(_plan(skull20, "sd-scripts", SETS["sd-scripts"]))
    args = tomllib.loads(files["args.toml"])
    assert args["training"]["loss_type"] == "l1" and args["model"]["highvram"] is True
    assert "cache_text_encoder_outputs" not in args["dataset"]  # 80 GB: the text encoders stay on the GPU
    lines = [line for line in files["sample_prompts.txt"].splitlines() if not line.startswith("#")]
    assert lines == ["A watercolor painting of CSKULL --w 1024 --h 1024 --d 42 --s 20 --g 4.0 --n blurry",
                     "CSKULL on a desk --w 1024 --h 1024 --d 7 --s 28 --g 4.0 --n text"]


@pytest.mark.parametrize(("backend", "item", "reason"), [
    ("sd-scripts", "train.noise_offset=0.05", r"flux_train_network\.py:327"),
    ("simpletuner", "train.noise_offset=0.05", r"common\.py:5910"),
    ("simpletuner", "train.loss_type=mae", r"l2, huber and smooth_l1"),
    ("ai-toolkit", "train.loss_type=smooth_l1", r"another name trains with MSE"),
    ("builtin", "samples.negative=blurry", r"without a negative prompt"),
    ("simpletuner", PROMPTS, r"SimpleTuner cannot sample a prompt with its own negative, seed, steps"),
])
def test_refused_with_the_reason(backend: str, item: str, reason: str, skull20: Path) -> None:
    with pytest.raises(UserError, match=reason):
        _plan(skull20, backend, [item], vram=24)


@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts", "simpletuner"])
def test_negative_prompt_is_said_to_be_ignored(backend: str, skull20: Path) -> None:
    """FLUX dev samples without real CFG in all three trainers (their pinned code), so the plan says so."""
    plan = _plan(skull20, backend, ["samples.negative=blurry"], vram=24)
    assert any(a.message.startswith("negative prompt:") for a in plan.warnings), plan.warnings


def test_80_gb_says_what_it_uses(skull20: Path) -> None:
    """seed:000 (batch 2 or 4 could speed things up), ref:ai-toolkit config_modules.py:686 (quantize_te follows
    quantize)."""
    plan = _plan(skull20, "ai-toolkit", [])
    assert plan.values["quantize"] is False and plan.values["quantize_te"] is False
    assert "config_modules.py:686" in plan.origins["quantize_te"]
    sd = _plan(skull20, "sd-scripts", [])
    assert sd.values["highvram"] is True and sd.values["cache_text_embeddings"] is False
    assert sd.values["caption_dropout"] == 0.05 and "flux_train_network.py:286-290" in sd.origins["cache_text_embeddings"]
    assert "quantize_te" not in _plan(skull20, "ai-toolkit", [], vram=48).values


@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts", "builtin"])
def test_import_maps_the_new_keys_back(backend: str, skull20: Path, tmp_path: Path) -> None:
    from fluxgen.backends import BACKENDS

    plan = _plan(skull20, backend, SETS[backend])
    written = [p for p in render_plan_to(plan, tmp_path) if p.suffix in (".yaml", ".toml")]
    imported = BACKENDS[backend].import_config(sorted(written, key=lambda p: p.name != "args.toml"))
    want = {"ai-toolkit": {"train.noise_offset": 0.05, "train.loss_type": "huber", "samples.negative": "blurry",
                           "vram": 80},
            "sd-scripts": {"train.loss_type": "mae", "vram": 80},
            "builtin": {"train.noise_offset": 0.05, "train.loss_type": "mae"}}[backend]
    assert {k: imported.values.get(k) for k in want} == want
    if backend != "builtin":
        assert imported.values["samples.prompts"][-1]["steps"] == 28


def test_builtin_losses_and_offset_noise() -> None:
    pred, target = torch.tensor([0.0, 1.0, -3.0]), torch.zeros(3)
    assert elementwise_loss(pred, target, "mse").tolist() == [0.0, 1.0, 9.0]
    assert elementwise_loss(pred, target, "mae").tolist() == [0.0, 1.0, 3.0]
    huber = elementwise_loss(pred, target, "huber")
    assert huber[0] == 0 and abs(float(huber[2]) - 2.99) < 1e-3  # linear away from 0
    noise = torch.zeros(2, 4, 8, 8)
    shifted = offset_noise(noise, 0.1, torch.Generator().manual_seed(0))
    assert torch.equal(shifted, shifted[:, :, :1, :1].expand_as(shifted))  # one constant per image and channel
    assert torch.equal(offset_noise(noise, 0.0, torch.Generator()), noise)


one_line = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x7f\x85"),
                   min_size=1, max_size=30).filter(lambda s: s.strip())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompt=one_line, negative=one_line, default=one_line)
def test_negative_and_per_prompt_text_read_back_exactly(prompt: str, negative: str, default: str,
                                                        skull20: Path) -> None:
    """Any one-line text: ai-toolkit's YAML reads it back exactly; sd-scripts' prompt line either splits back into
    the same prompt and negative or is refused with the reason (it splits on ' --')."""
    sets = [f"samples.negative={default}"]
    for backend in ("ai-toolkit", "sd-scripts"):
        try:
            plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend, sets=sets))
            plan.values["sample_prompts"] = [prompt]
            plan.values["sample_prompt_options"] = [{"negative": negative, "steps": 9}]
            files = render_plan(plan)
        except UserError as exc:
            assert any(tok in str(exc) for tok in ("' --'", "${", "[name]", "line break")), str(exc)
            continue
        if backend == "ai-toolkit":
            sample = yaml.safe_load(files["config.yaml"])["config"]["process"][0]["sample"]
            assert sample["neg"] == default.replace("[trigger]", "CSKULL")
            assert sample["samples"] == [{"prompt": prompt, "neg": negative.replace("[trigger]", "CSKULL"),
                                          "sample_steps": 9}]
        else:
            line = [ln for ln in files["sample_prompts.txt"].splitlines() if not ln.startswith("#")][0]
            text, *options = line.split(" --")  # as sd-scripts splits it (train_util.py, ref:sd-scripts §6)
            assert text == prompt.replace("[trigger]", "CSKULL") and options[-1] == "n " + negative.replace(
                "[trigger]", "CSKULL")


@pytest.mark.parametrize(("backend", "name"), [("ai-toolkit", "config.yaml"), ("sd-scripts", "args.toml"),
                                               ("builtin", "train.yaml")])
def test_rendered_file_plans_again_to_the_same_hash(backend: str, name: str, tmp_path: Path, skull20: Path) -> None:
    """`reproduce` and `render <file>` re-plan from the header's intent: prompt mappings included."""
    plan = _plan(skull20, backend, SETS[backend])
    render_plan_to(plan, tmp_path)
    again = build_plan(str(tmp_path / name), PlanOptions())
    assert again.hash == plan.hash
    assert render_plan(again)[name] == (tmp_path / name).read_text(encoding="utf-8")
