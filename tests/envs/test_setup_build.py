"""The setup machinery end to end on a tiny trainer (a real venv, real pip, offline from a wheel folder): swap-in,
the lock, a git requirement from --with, resume after an interruption, a failed rebuild leaving the previous
environment, drift."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from envs.envsupport import PIN, make_trainer_tarball, make_wheel, tiny_recipe

from fluxgen.envs import home as homes
from fluxgen.envs.build import Request, setup
from fluxgen.envs.drift import drift
from fluxgen.envs.pip import SetupFailed
from fluxgen.errors import UserError

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
GIT_LINE = "git+https://github.com/example/gitdep.git@abc123"


def _request(root: Path, **changes: object) -> Request:
    wheels = root / "wheels"
    make_wheel(wheels, "tinydep", "1.0")
    tarball = make_trainer_tarball(root / "src", f"tinydep\n{GIT_LINE}\n")
    fields = dict(backend="tiny", recipe=tiny_recipe(git_requirements=("gitdep",)), home=root / "home",
                  source=str(tarball), torch="cpu", wheels=wheels, offline=True,
                  withs={"gitdep": make_wheel(root / "gitdep", "gitdep", "0.5")})
    fields.update(changes)
    return Request(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Request, homes.SetupEnv]:
    req = _request(tmp_path_factory.mktemp("tinyenv"))
    setup(req)
    env = homes.find_env("tiny", PIN, req.home)
    assert env is not None
    return req, env


def test_setup_builds_swaps_in_and_locks(built: tuple[Request, homes.SetupEnv]) -> None:
    req, env = built
    assert env.root == homes.env_link("tiny", PIN, req.home)
    assert env.root.is_symlink() and env.root.resolve().parent == req.home / "builds"
    lock = json.loads(env.lock_path.read_text())
    assert (lock["packages"]["tinydep"], lock["packages"]["gitdep"]) == ("1.0", "0.5")
    assert "tinydep==1.0" in lock["freeze"] and "fluxgen" not in lock["packages"]
    assert lock["trainer"] == {"commit": PIN, "source": "tarball", "origin": req.source, "verified": "name"}
    assert lock["hash"].startswith("sha256:") and lock["torch"]["requested"] == "cpu"
    assert json.loads((env.src / ".fluxgen-source.json").read_text())["commit"] == PIN
    out = subprocess.run([str(env.python), str(env.src / "run.py")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "trained 1"
    assert drift(env) == []


def test_offline_git_requirement_without_with_names_it(tmp_path: Path) -> None:
    req = _request(tmp_path, withs={})
    with pytest.raises(UserError, match=r"offline, the trainer's git requirements cannot be fetched: gitdep "
                                        r"\(git\+https://github.com/example/gitdep.git@abc123\); pass --with "
                                        r"gitdep=PATH"):
        setup(req)
    assert not (req.home / "envs").exists()


def test_failed_rebuild_leaves_the_previous_environment(built: tuple[Request, homes.SetupEnv]) -> None:
    req, env = built
    before = env.root.resolve()
    broken = Request(**{**req.__dict__, "recipe": tiny_recipe(git_requirements=("gitdep",),
                                                              required_modules=("tinydep", "not_installed_anywhere"))})
    with pytest.raises(SetupFailed, match=r"cannot import what tiny needs: cannot import not_installed_anywhere "
                                          r"\(not installed\); the previous one is unchanged"):
        setup(broken)
    again = homes.find_env("tiny", PIN, req.home)
    assert again is not None and again.root.resolve() == before and drift(again) == []


def test_drift_names_the_package_and_versions(built: tuple[Request, homes.SetupEnv], tmp_path: Path) -> None:
    _, env = built
    newer = make_wheel(tmp_path / "newer", "tinydep", "2.0", "VALUE = 2\n")
    extra = make_wheel(tmp_path / "newer", "extradep", "0.1")
    subprocess.run([str(env.python), "-m", "pip", "install", "-q", "--no-index", str(newer), str(extra)], check=True)
    assert [c.describe() for c in drift(env)] == ["extradep: not in the lock, 0.1 installed",
                                                  "tinydep: 1.0 in the lock, 2.0 installed"]


def test_interrupted_setup_continues_where_it_stopped(tmp_path: Path) -> None:
    req = _request(tmp_path)

    def stop_at_requirements(step: str, line: str) -> None:
        if step == "requirements":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        setup(req, stop_at_requirements)
    assert homes.find_env("tiny", PIN, req.home) is None  # nothing half-built is in use
    result = setup(req)
    assert result.resumed == ["source", "venv", "torch"]
    assert homes.find_env("tiny", PIN, req.home) is not None
    assert len([p for p in (req.home / "builds").iterdir() if not p.name.startswith(".")]) == 1


def test_unreachable_git_requirement_names_the_with_that_satisfies_it(tmp_path: Path) -> None:
    tarball = make_trainer_tarball(tmp_path / "src3", "tinydep\ngit+https://127.0.0.1:9/example/gitdep.git@abc123\n")
    req = _request(tmp_path, source=str(tarball), offline=False, withs={})
    with pytest.raises(SetupFailed, match=r"cannot fetch gitdep from git\+https://127\.0\.0\.1:9/example/gitdep\.git"
                                          r"@abc123 \(no network or no git\); pass --with gitdep=PATH"):
        setup(req)
    assert homes.find_env("tiny", PIN, req.home) is None


def _mismatched_torch_pair(wheels: Path) -> None:
    """torch as the +cpu build and a torchvision wheel built for PyPI's torch of the same version: each installs,
    and torchvision fails at import the way the real pair does on a machine with a local +cpu torch."""
    make_wheel(wheels, "torch", "2.13.0+cpu", "class version:\n    cuda = None\n")
    make_wheel(wheels, "torchvision", "0.28.0", "raise RuntimeError('operator torchvision::nms does not exist')\n",
               requires=("torch (==2.13.0)",))


def test_torchvision_built_for_another_torch_fails_setup_with_the_pair(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    req = _request(tmp_path)
    monkeypatch.setenv("PIP_FIND_LINKS", str(req.wheels))  # not a machine's own folder holding a real torch
    _mismatched_torch_pair(req.wheels)
    req.recipe = tiny_recipe(git_requirements=("gitdep",), torch_first=("torch", "torchvision"),
                             required_modules=("torch", "torchvision", "tinydep"))
    with pytest.raises(SetupFailed, match=r"^the new environment cannot import what tiny needs: torchvision 0\.28\.0 "
                                          r"is built for another torch than the installed torch 2\.13\.0\+cpu "
                                          r"\(RuntimeError: operator torchvision::nms does not exist; its wheel asks "
                                          r"for torch==2\.13\.0\): reinstall them as a pair from one index, e\.g\. "
                                          r"`pip install --force-reinstall torch==2\.13\.0 torchvision==0\.28\.0`"):
        setup(req)
    assert homes.find_env("tiny", PIN, req.home) is None


def test_check_finds_an_environment_that_matches_its_lock_but_cannot_start(
        built: tuple[Request, homes.SetupEnv], tmp_path: Path) -> None:
    """A lock records what was installed, not that it works: `setup --check` imports what the trainer imports."""
    from fluxgen.envs.present import import_failure

    _, env = built
    assert import_failure(env, ("tinydep",)) is None
    _mismatched_torch_pair(tmp_path / "pair")
    subprocess.run([str(env.python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    *map(str, sorted((tmp_path / "pair").glob("*.whl")))], check=True)
    try:
        why = import_failure(env, ("torch", "torchvision", "tinydep"))
        assert why is not None and why.startswith("torchvision 0.28.0 is built for another torch than the installed "
                                                  "torch 2.13.0+cpu (RuntimeError: operator torchvision::nms")
    finally:
        subprocess.run([str(env.python), "-m", "pip", "uninstall", "-q", "-y", "torch", "torchvision"], check=True)
