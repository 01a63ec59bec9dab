"""Resume points from SimpleTuner's checkpoint folders, and where its Python is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluxgen.backends.simple_tuner import BACKEND, environment
from fluxgen.backends.simple_tuner.resume import resume_point


def checkpoint(run: Path, step: int, *, guard: bool = True) -> Path:
    folder = run / "output" / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "training_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
    (folder / "pytorch_lora_weights.safetensors").write_bytes(b"x")
    if guard:
        (folder / ".guard").write_text("", encoding="utf-8")
    return folder


def test_no_checkpoint_starts_fresh(tmp_path: Path) -> None:
    point = resume_point(tmp_path)
    assert (point.step, point.path, point.extra_args) == (None, None, [])


def test_newest_finished_checkpoint_is_latest(tmp_path: Path) -> None:
    checkpoint(tmp_path, 250)
    newest = checkpoint(tmp_path, 500)
    point = resume_point(tmp_path)
    assert (point.step, point.path, point.moved) == (500, newest, [])


def test_unfinished_and_diverged_folders_are_moved_aside(tmp_path: Path) -> None:
    good = checkpoint(tmp_path, 250)
    checkpoint(tmp_path, 500)
    checkpoint(tmp_path, 750, guard=False)
    point = resume_point(tmp_path, bad_from=400)
    assert (point.step, point.path) == (250, good)
    assert [why for _, why in point.skipped] == [
        "unfinished (no .guard: SimpleTuner was stopped while saving it)",
        "saved at or after step 400, where the loss became NaN"]
    assert sorted(p.name for p in (tmp_path / "set-aside").iterdir()) == ["checkpoint-500", "checkpoint-750"]
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == ["checkpoint-250"]


def _user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "fluxgen").mkdir(exist_ok=True)
    (tmp_path / "fluxgen" / "config.toml").write_text(text, encoding="utf-8")


def test_python_from_variable_then_user_config_then_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found as every trainer's Python is (fluxgen.checkouts.locate)."""
    from fluxgen.envs.home import env_link

    _user_config(tmp_path, monkeypatch, '[simpletuner]\npython = "/cfg/python"\n')
    located = environment.locate({"FLUXGEN_SIMPLETUNER_PYTHON": "/opt/st/bin/python"})
    assert (located.python, located.python_source) == ("/opt/st/bin/python", "$FLUXGEN_SIMPLETUNER_PYTHON")
    assert (located.pin, located.entry) == ("4.10.1", "simpletuner.train")
    located = environment.locate({})
    assert (located.python, located.python_source) == ("/cfg/python", "user config")
    _user_config(tmp_path, monkeypatch, "")
    monkeypatch.setenv("FLUXGEN_HOME", str(tmp_path / "home"))
    env = env_link("simpletuner", "4.10.1")
    assert env.parent.parent == tmp_path / "home"  # where `fluxgen setup simpletuner` builds it


def test_user_config_section_is_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fluxgen.errors import ConfigErrors

    _user_config(tmp_path, monkeypatch, '[simpletuner]\npyhton = "/x"\n')
    with pytest.raises(ConfigErrors, match=r"simpletuner\.pyhton: unknown key \(did you mean 'python'\?\)"):
        environment.locate({})


def test_env_recipe() -> None:
    recipe = BACKEND.env_recipe()
    assert (recipe.source, recipe.package, recipe.pin, recipe.python) == ("pypi", "simpletuner", "4.10.1", "3.12")
    assert recipe.torch_first == ("torch==2.13.0",)
    folder = Path(environment.__file__).parent
    assert "transformers==5.22.2" in (folder / recipe.constraints).read_text(encoding="utf-8")
    assert (folder / recipe.sitecustomize).is_file()


def test_sitecustomize_makes_pinning_a_no_op_without_an_accelerator(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("an accelerator answers here: pinning stays as it is")
    shutil.copy(Path(environment.__file__).with_name("sitecustomize.py"), tmp_path / "sitecustomize.py")
    code = ("import sys; lazy = 'torch' not in sys.modules; import torch; t = torch.zeros(2); "
            "print(lazy, t.pin_memory() is t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=True)
    assert done.stdout.split() == ["True", "True"]
