"""The intent's pass-through `trainer: {<backend>: {...}}`: checked by each trainer's key knowledge, merged into
the rendered files last, each value with its origin, carried by the header (reproduce), refused where it repeats
a modelled key."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from test_render import GOLDEN, check_golden, normalise

from fluxgen.errors import ConfigErrors, UserError
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.render import render_plan, render_plan_to
from helpers import cli_run

# One pass-through per backend, given with --set like any other key.
SETS = {
    "ai-toolkit": ["trainer.ai-toolkit.train.max_grad_norm=0.5",
                   "trainer.ai-toolkit.datasets.flip_x=true",
                   "trainer.ai-toolkit.logging={log_every: 10, verbose: false}"],
    "sd-scripts": ["trainer.sd-scripts.args.t5xxl_max_token_length=256",
                   "trainer.sd-scripts.args.network_args=[split_qkv=True]",
                   "trainer.sd-scripts.dataset.caption_prefix=photo of"],
    "builtin": ["trainer.builtin.train.weight_decay=0.0", "trainer.builtin.train.max_grad_norm=0.5",
                "trainer.builtin.model.max_sequence_length=256"],
    "simpletuner": ["trainer.simpletuner.config.max_grad_norm=0.5", "trainer.simpletuner.config.snr_gamma=5",
                    "trainer.simpletuner.datasets.crop_style=random"],
}


@pytest.fixture(autouse=True)
def _no_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", sys.executable)  # SimpleTuner's command.txt names it


def _plan(skull20: Path, backend: str, sets: list[str]):
    return build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend, trigger=None, sets=sets))


@pytest.mark.parametrize("backend", sorted(SETS))
def test_golden_passthrough(backend: str, skull20: Path) -> None:
    """The existing golden files stay as they are; these add a pass-through to one preset per backend."""
    files = render_plan(_plan(skull20, backend, SETS[backend]))
    folder = GOLDEN / f"passthrough.cyber-skull.{backend}"
    for name, text in files.items():
        got = normalise(text, skull20)
        check_golden(folder / name, got)


def test_ai_toolkit_values_land_where_the_trainer_reads_them(skull20: Path) -> None:
    plan = _plan(skull20, "ai-toolkit", SETS["ai-toolkit"])
    process = yaml.safe_load(render_plan(plan)["config.yaml"])["config"]["process"][0]
    assert process["train"]["max_grad_norm"] == 0.5
    assert all(d["flip_x"] is True for d in process["datasets"])
    assert process["logging"] == {"log_every": 10, "verbose": False}


def test_sd_scripts_values_land_where_the_trainer_reads_them(skull20: Path) -> None:
    files = render_plan(_plan(skull20, "sd-scripts", SETS["sd-scripts"]))
    args = tomllib.loads(files["args.toml"])
    assert args["passthrough"] == {"t5xxl_max_token_length": 256}
    assert args["network"]["network_args"] == ["split_qkv=True"]
    assert tomllib.loads(files["dataset.toml"])["general"]["caption_prefix"] == "photo of"


def test_each_value_has_its_origin(skull20: Path) -> None:
    plan = _plan(skull20, "sd-scripts", SETS["sd-scripts"])
    key = "trainer.sd-scripts.args.t5xxl_max_token_length"
    assert plan.values[key] == 256
    assert plan.origins[key] == "command line --set trainer.sd-scripts.args.t5xxl_max_token_length=256"
    result = cli_run("explain", "cyber-skull", "--images", str(skull20), "--backend", "sd-scripts",
                     "--set", "trainer.sd-scripts.args.t5xxl_max_token_length=256", key)
    assert result.exit_code == 0, result.output
    assert "trainer.sd-scripts.args.t5xxl_max_token_length = 256" in result.stdout
    assert "← command line --set trainer.sd-scripts.args.t5xxl_max_token_length=256" in result.stdout


def test_origin_is_the_preset_line(tmp_path: Path, skull20: Path) -> None:
    preset = tmp_path / "mine.yaml"
    preset.write_text(f"extends: cyber-skull\ndataset:\n  path: {skull20}\ntrainer:\n  ai-toolkit:\n    train:\n"
                      "      max_grad_norm: 0.1\n", encoding="utf-8")
    plan = build_plan(str(preset), PlanOptions(backend="ai-toolkit"))
    assert plan.origins["trainer.ai-toolkit.train.max_grad_norm"] == f"preset {preset}:7"


def test_other_backends_sections_are_checked_but_not_rendered(skull20: Path) -> None:
    sets = SETS["sd-scripts"] + SETS["builtin"]
    plan = _plan(skull20, "sd-scripts", sets)
    assert not any(k.startswith("trainer.builtin.") for k in plan.values)
    assert plan.intent["trainer"]["builtin"]["train"]["weight_decay"] == 0.0
    with pytest.raises(ConfigErrors, match=r"trainer\.builtin\.train\.weight_decy: unknown key"):
        _plan(skull20, "sd-scripts", ["trainer.builtin.train.weight_decy=0.0"])


@pytest.mark.parametrize(("backend", "item", "message"), [
    ("ai-toolkit", "trainer.ai-toolkit.train.max_grad_nrom=0.05",
     r"trainer\.ai-toolkit\.train\.max_grad_nrom: unknown key \(did you mean 'max_grad_norm'\?\)"),
    ("ai-toolkit", "trainer.ai-toolkit.train.loss_type=l3",
     r"trainer\.ai-toolkit\.train\.loss_type: 'l3' is not a value ai-toolkit accepts"),
    ("ai-toolkit", "trainer.ai-toolkit.train.max_grad_norm=[1]", r"trainer\.ai-toolkit\.train\.max_grad_norm: is a list"),
    ("sd-scripts", "trainer.sd-scripts.args.t5xxl_max_token_lenght=0.05",
     r"trainer\.sd-scripts\.args\.t5xxl_max_token_lenght: sd-scripts has no such option \(did you mean 't5xxl_max_token_length'"),
    ("sd-scripts", "trainer.sd-scripts.args.t5xxl_max_token_length=high", r"trainer\.sd-scripts\.args\.t5xxl_max_token_length: "),
    ("sd-scripts", "trainer.sd-scripts.dataset.flip_agu=true",
     r"trainer\.sd-scripts\.dataset\.flip_agu: unknown key \(did you mean 'flip_aug'"),
    ("sd-scripts", "trainer.sd-scripts.args.t5xxl_max_token_length=null", r"t5xxl_max_token_length: is null, which TOML cannot hold"),
    ("sd-scripts", "trainer.sd-scripts.args.network_args={a: 1}", r"trainer\.sd-scripts\.args\.network_args: "),
    ("sd-scripts", "trainer.sd-scripts.argz.x=1", r"trainer\.sd-scripts\.argz: unknown section \(did you mean 'args'"),
    ("builtin", "trainer.builtin.train.optimizer_x=1", r"trainer\.builtin\.train\.optimizer_x: unknown key"),
    ("builtin", "trainer.builtin.train.weight_decay=-1", r"trainer\.builtin\.train\.weight_decay: .*greater than"),
])
def test_the_trainers_key_knowledge_checks_it(backend: str, item: str, message: str, skull20: Path) -> None:
    with pytest.raises(ConfigErrors, match=message):
        _plan(skull20, backend, [item])


@pytest.mark.parametrize(("backend", "item", "modelled"), [
    ("ai-toolkit", "trainer.ai-toolkit.train.lr=0.001", "train.lr"),
    ("ai-toolkit", "trainer.ai-toolkit.network.linear=8", "network.rank"),
    ("sd-scripts", "trainer.sd-scripts.args.learning_rate=0.001", "train.lr"),
    ("sd-scripts", "trainer.sd-scripts.dataset.num_repeats=3", "dataset.repeats"),
    ("builtin", "trainer.builtin.train.lr=0.001", "train.lr"),
])
def test_a_modelled_key_is_refused_naming_the_intent_key(backend: str, item: str, modelled: str,
                                                         skull20: Path) -> None:
    with pytest.raises(ConfigErrors, match=rf"is a modelled setting: set {modelled} in the intent instead"):
        _plan(skull20, backend, [item])


def test_unknown_backend_and_alias(skull20: Path) -> None:
    with pytest.raises(UserError, match=r"trainer: .*unknown backend 'ai-tolkit' \(did you mean 'ai-toolkit'"):
        _plan(skull20, "ai-toolkit", ["trainer.ai-tolkit.train.max_grad_norm=0.5"])
    with pytest.raises(UserError, match=r"'kohya': write the backend's name, 'sd-scripts'"):
        _plan(skull20, "ai-toolkit", ["trainer.kohya.args.t5xxl_max_token_length=256"])


def test_the_header_carries_it_so_reproduce_does(tmp_path: Path, skull20: Path) -> None:
    plan = _plan(skull20, "sd-scripts", SETS["sd-scripts"])
    render_plan_to(plan, tmp_path / "out")
    again = build_plan(str(tmp_path / "out" / "args.toml"), PlanOptions())
    assert again.hash == plan.hash
    assert again.values["trainer.sd-scripts.args.t5xxl_max_token_length"] == 256
    assert again.origins["trainer.sd-scripts.args.t5xxl_max_token_length"].startswith("intent embedded in")


@pytest.mark.parametrize("backend", sorted(SETS))
def test_modelled_tables_cover_every_key_the_template_writes(backend: str, skull20: Path) -> None:
    """A key the template writes that the table misses could be written twice (the pass-through's copy wins)."""
    from fluxgen.backends import BACKENDS

    modelled = set(BACKENDS[backend].passthrough().modelled)
    files = render_plan(_plan(skull20, backend, []))
    written: set[str] = set()
    if backend == "sd-scripts":
        written |= {f"args.{k}" for table in tomllib.loads(files["args.toml"]).values() for k in table}
        dataset = tomllib.loads(files["dataset.toml"])
        written |= {f"dataset.{k}" for k in dataset["general"]}
        written |= {f"dataset.{k}" for ds in dataset["datasets"] for k in ds if k != "subsets"}
        written |= {f"dataset.{k}" for ds in dataset["datasets"] for sub in ds["subsets"] for k in sub}
    elif backend == "simpletuner":  # JSON merges one copy; crop and metadata style are left open on purpose
        written = {f"config.{k}" for k in json.loads(files["config.json"])}
        written |= {f"datasets.{k}" for k in json.loads(files["multidatabackend.json"])[0]}
        written -= {"datasets.crop_aspect", "datasets.crop_style", "datasets.metadata_backend"}
    else:
        data = yaml.safe_load(files["config.yaml" if backend == "ai-toolkit" else "train.yaml"])
        if backend == "ai-toolkit":
            data = data["config"]["process"][0]
            data["datasets"] = data["datasets"][0]
        written = {f"{s}.{k}" if isinstance(v, dict) else s for s, v in data.items()
                   for k in (v if isinstance(v, dict) else [None])} - {"metadata.fluxgen"}
        written = {w for w in written if not w.startswith("metadata.")}
    assert written - modelled == set()


def test_cli_error_names_where_the_value_came_from(skull20: Path) -> None:
    result = cli_run("plan", "cyber-skull", "--images", str(skull20), "--backend", "sd-scripts",
                     "--set", "trainer.sd-scripts.args.learning_rate=0.1")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == ("error: command line --set trainer.sd-scripts.args.learning_rate=0.1: "
                                     "trainer.sd-scripts.args.learning_rate: is a modelled setting: set train.lr in "
                                     "the intent instead")


@pytest.mark.parametrize(("backend", "item", "modelled"), [
    ("ai-toolkit", "trainer.ai-toolkit.train.noise_offset=0.05", "train.noise_offset"),
    ("ai-toolkit", "trainer.ai-toolkit.train.loss_type=mae", "train.loss_type"),
    ("sd-scripts", "trainer.sd-scripts.args.noise_offset=0.05", "train.noise_offset"),
    ("sd-scripts", "trainer.sd-scripts.args.loss_type=l1", "train.loss_type"),
    ("builtin", "trainer.builtin.train.noise_offset=0.05", "train.noise_offset"),
])
def test_modelled_settings_are_refused_in_the_pass_through(backend: str, item: str, modelled: str,
                                                           skull20: Path) -> None:
    with pytest.raises((UserError, ConfigErrors), match=re.escape(modelled)):
        _plan(skull20, backend, [item])
