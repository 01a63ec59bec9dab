"""The trainer command is a pure function: argv, env overrides, cwd — asserted without starting anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fluxgen.checkouts import TrainerEnv, locate
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.runner import build_launch, make_redactor, recorded_env

ACCELERATE_FLAGS = ["--num_processes", "1", "--num_machines", "1", "--dynamo_backend", "no"]


def plan_for(backend: str, images: Path, model: Path):
    return build_plan("cyber-skull", PlanOptions(images=str(images), backend=backend, sets=[f"model.base={model}"]))


def test_ai_toolkit_command(images: Path, model_dir: Path, tmp_path: Path) -> None:
    trainer = TrainerEnv("ai-toolkit", Path("/opt/ai-toolkit"), "/opt/venv/bin/python", "test", "test",
                         "27a03a91", "run.py")
    plan = plan_for("ai-toolkit", images, model_dir)
    launch = build_launch(plan, tmp_path, trainer)
    # ai-toolkit would read `<toolkit>/config/config.yaml` first if it exists: the real launch names the run's file
    assert launch.argv == ["/opt/venv/bin/python", "/opt/ai-toolkit/run.py", str(tmp_path / "config.yaml")]
    assert launch.env == {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    assert launch.cwd == tmp_path
    from fluxgen.backends.ai_toolkit import files as ai_toolkit

    relative = build_launch(plan, Path("runs/x"), trainer).argv[-1]
    assert relative == str(Path.cwd() / "runs/x/config.yaml")
    assert ai_toolkit.build_command(plan, trainer)[0][-1] == "config.yaml"  # command.txt's "run from this folder" form


def test_sd_scripts_command_runs_accelerate_with_its_flags(images: Path, model_dir: Path, tmp_path: Path) -> None:
    trainer = TrainerEnv("sd-scripts", Path("/opt/sd-scripts"), "/opt/venv/bin/python", "test", "test",
                         "48d368fa", "flux_train_network.py")
    launch = build_launch(plan_for("sd-scripts", images, model_dir), tmp_path, trainer,
                          ["--resume", "output/x-state", "--skip_until_initial_step"])
    argv = launch.argv
    assert argv[:3] == ["/opt/venv/bin/python", "-m", "accelerate.commands.launch"]
    # every flag whose absence makes accelerate print its "defaults used instead" notice is given
    assert argv[3:9] == ACCELERATE_FLAGS
    assert argv[argv.index("--mixed_precision") + 1] == "bf16"
    assert argv[-6:] == ["/opt/sd-scripts/flux_train_network.py", "--config_file", "args.toml", "--resume",
                         "output/x-state", "--skip_until_initial_step"]
    assert launch.env["PYTHONUNBUFFERED"] == "1"


def test_builtin_command_and_resume_flag(images: Path, model_dir: Path, tmp_path: Path) -> None:
    plan = plan_for("builtin", images, model_dir)
    assert build_launch(plan, tmp_path).argv == [sys.executable, "-m", "fluxgen.trainer", "train.yaml"]
    assert build_launch(plan, tmp_path, extra_args=["--resume"]).argv[-1] == "--resume"


def test_trainer_located_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLUXGEN_SD_SCRIPTS_DIR", str(tmp_path))
    monkeypatch.setenv("FLUXGEN_SD_SCRIPTS_PYTHON", "/envs/kohya/bin/python")
    trainer = locate("sd-scripts")
    assert (trainer.dir, trainer.python) == (tmp_path.resolve(), "/envs/kohya/bin/python")
    assert (trainer.dir_source, trainer.python_source) == ("$FLUXGEN_SD_SCRIPTS_DIR", "$FLUXGEN_SD_SCRIPTS_PYTHON")


def test_trainer_located_from_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "fluxgen" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[ai-toolkit]\ndir = "{tmp_path}"\npython = "/envs/aitk/bin/python"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    trainer = locate("ai-toolkit")
    assert (trainer.dir, trainer.python, trainer.dir_source) == (tmp_path.resolve(), "/envs/aitk/bin/python",
                                                                   "user config")


def test_recorded_env_keeps_what_matters_and_redacts_secrets() -> None:
    base = {"HOME": "/home/me", "PATH": "/usr/bin", "HF_TOKEN": "hf_abcdefghijklmnop", "CUDA_VISIBLE_DEVICES": "1",
            "WANDB_API_KEY": "0123456789", "MY_PASSWORD": "hunter22", "LANG": "C.UTF-8", "HF_HOME": "/data/hf"}
    env = recorded_env({"PYTHONUNBUFFERED": "1"}, base)
    assert env == {"CUDA_VISIBLE_DEVICES": "1", "HF_HOME": "/data/hf", "HF_TOKEN": "***", "MY_PASSWORD": "***",
                   "PYTHONUNBUFFERED": "1", "WANDB_API_KEY": "***"}


def test_redactor_replaces_every_secret_value() -> None:
    redact = make_redactor({"HF_TOKEN": "hf_abcdefghijklmnop", "SOME_KEY": "k3y-v4lue", "DEBUG": "1", "X_TOKEN": ""})
    text = "401 for hf_abcdefghijklmnop; key k3y-v4lue; debug 1"
    assert redact(text) == "401 for ***; key ***; debug 1"
    assert make_redactor({"PATH": "/usr/bin"})("hf_abc") == "hf_abc"


def test_launch_record_is_command_json(tmp_path: Path) -> None:
    from fluxgen.runner import Launch

    launch = Launch(["python", "run.py", "config.yaml"], {"COLUMNS": "200"}, tmp_path)
    record = launch.record({"HF_TOKEN": "hf_secret_value", "TERM": "xterm"})
    assert record == {"argv": ["python", "run.py", "config.yaml"], "env": {"COLUMNS": "200", "HF_TOKEN": "***"},
                      "cwd": str(tmp_path)}


def test_user_config_is_checked_strictly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A typo in the user config would silently fall back to the vendored trainer: it is an error instead."""
    from helpers import cli_run

    config = tmp_path / "cfg" / "fluxgen" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[ai-toolkit]\ndirr = "/opt/ai-toolkit"\npython = 3\n\n[sd-scripst]\ndir = "/opt/sd"\n',
                      encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    from fluxgen.errors import ConfigErrors

    with pytest.raises(ConfigErrors) as caught:
        locate("ai-toolkit")
    assert sorted(str(caught.value).splitlines()) == [
        f"{config}: ai-toolkit.dirr: unknown key (did you mean 'dir'?)",
        f"{config}: ai-toolkit.python: must be a string (a path), not int 3",
        f"{config}: sd-scripst: unknown section (did you mean 'sd-scripts'?)"]
    result = cli_run("doctor", "--backend", "ai-toolkit", "--json")
    assert result.exit_code == 0  # doctor reports it as a failed check rather than stopping
    import json

    check = json.loads(result.stdout)["backends"]["ai-toolkit"][0]
    assert check["topic"] == "user config" and "dirr: unknown key (did you mean 'dir'?)" in check["detail"]
    config.write_text('[ai-toolkit]\ndir = ""\n', encoding="utf-8")
    with pytest.raises(ConfigErrors, match=r"ai-toolkit\.dir: is empty; give a path or remove the line"):
        locate("ai-toolkit")
