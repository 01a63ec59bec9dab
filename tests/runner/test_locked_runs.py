"""Locked runs: a run in a `fluxgen setup` environment records its lock; diff lists package differences;
reproduce says precisely which package differs from the environment it would use."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from runner.support import manifest, train_args

from fluxgen.checkouts import pins
from fluxgen.envs.lock import lock_hash, make_lock
from helpers import cli_run


@pytest.fixture
def setup_env(fake_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment shaped as `fluxgen setup` leaves it, whose venv is this test's own, with its real lock."""
    home = tmp_path / "fh"
    root = home / "envs" / f"ai-toolkit-{pins()['ai-toolkit']['commit'][:8]}"
    root.mkdir(parents=True)
    (root / "venv").symlink_to(Path(sys.executable).parent.parent)
    lock = make_lock(root / "venv" / "bin" / "python", "ai-toolkit", pins()["ai-toolkit"]["commit"],
                     {"kind": "tarball", "commit": pins()["ai-toolkit"]["commit"]}, "cpu")
    (root / "env.lock.json").write_text(json.dumps(lock))
    monkeypatch.setenv("FLUXGEN_HOME", str(home))
    return root


def _train(images: Path, model: Path, tmp_path: Path) -> Path:
    before = set((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else set()
    result = cli_run(*train_args(images, model))
    assert result.exit_code == 0, result.stderr
    (new,) = set((tmp_path / "runs").iterdir()) - before
    return new


def _edit_lock(run: Path, **versions: str) -> None:
    """What another machine's run records: the same lock with other versions of some packages."""
    lock = json.loads((run / "env.lock.json").read_text())
    lock["packages"].update(versions)
    lock["hash"] = lock_hash(lock)
    (run / "env.lock.json").write_text(json.dumps(lock))
    m = manifest(run)
    m["env_lock"]["hash"] = lock["hash"]
    (run / "manifest.json").write_text(json.dumps(m))


def test_run_records_the_lock_and_diff_and_reproduce_compare_it(setup_env: Path, images: Path, model_dir: Path,
                                                                tmp_path: Path) -> None:
    run = _train(images, model_dir, tmp_path)
    lock = json.loads((setup_env / "env.lock.json").read_text())
    m = manifest(run)
    assert m["trainer"]["python_source"].startswith("fluxgen setup")
    assert m["env_lock"] == {"hash": lock["hash"], "file": "env.lock.json", "env": str(setup_env)}
    assert json.loads((run / "env.lock.json").read_text()) == lock

    same = cli_run("reproduce", str(run), "--dry-run", "--json")
    env_notes = [n for n in json.loads(same.stdout)["differences"] if n.startswith(("environment", "  "))]
    # every package matches; the doubles' checkout has no git metadata, so only the commit cannot be confirmed
    assert env_notes == [f"environment differs from their lock {lock['hash'][:19]} (1 difference(s)):",
                         f"  trainer commit: {pins()['ai-toolkit']['commit']} in their lock, not here"]

    other = _train(images, model_dir, tmp_path)
    _edit_lock(other, click="0.0.1", peft="9.9")
    d = cli_run("diff", str(run), str(other))
    assert "env_lock.hash: A sha256:" in d.stdout
    assert f"packages that differ (2):\n  click: A {lock['packages']['click']}  B 0.0.1\n" in d.stdout
    data = json.loads(cli_run("diff", str(run), str(other), "--json").stdout)
    assert {p["name"] for p in data["packages"]} == {"click", "peft"}

    notes = json.loads(cli_run("reproduce", str(other), "--dry-run", "--json").stdout)["differences"]
    env_notes = [n for n in notes if n.startswith("environment") or n.startswith("  ")]
    assert env_notes[0].startswith("environment differs from their lock sha256:")
    assert f"  click: 0.0.1 in their lock, {lock['packages']['click']} here" in env_notes
    assert any(n.startswith("  peft: 9.9 in their lock, ") for n in env_notes)


def test_run_outside_a_setup_environment_has_no_lock(fake_env, images: Path, model_dir: Path,
                                                     tmp_path: Path) -> None:
    run = _train(images, model_dir, tmp_path)
    assert manifest(run)["env_lock"] is None and not (run / "env.lock.json").exists()
    notes = json.loads(cli_run("reproduce", str(run), "--dry-run", "--json").stdout)["differences"]
    assert not [n for n in notes if n.startswith("environment")]
    setup = cli_run("reproduce", str(run), "--setup")
    assert setup.exit_code == 1 and "has no env.lock.json to build from" in setup.stderr
