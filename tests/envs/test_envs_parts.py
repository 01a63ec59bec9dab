"""The pieces of `fluxgen setup`: requirement lines, the torch build, pip's failures as one line (from real pip
runs where they can be provoked here), sources, locks, discovery and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from envs.envsupport import PIN, make_trainer_tarball

from fluxgen.envs import lock as locks
from fluxgen.envs import pip, requirements, source, torchsel
from fluxgen.errors import UserError
from helpers import cli_run


@pytest.mark.parametrize(("line", "name"), [
    ("git+https://github.com/huggingface/diffusers.git@c943837899b16cbae2f619b8dd4f7bb6f07dd81a", "diffusers"),
    ("git+ssh://git@github.com/org/some_pkg.git", "some-pkg"),
    ("diffusers[torch]==0.32.1", "diffusers"), ("Pillow>=10 ; python_version > '3'", "pillow"),
    ("foo @ file:///x/foo.tar.gz", "foo"), ("-e .", None), ("# comment", None),
])
def test_line_name(line: str, name: str | None) -> None:
    assert requirements.line_name(line) == name


def test_flatten_follows_includes_and_makes_editables_absolute(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r requirements_base.txt\nscipy==1.12.0\n-e .\n")
    (tmp_path / "requirements_base.txt").write_text("# base\ntorchao==0.10.0\n\nsafetensors\n")
    assert requirements.flatten(tmp_path / "requirements.txt") == [
        "torchao==0.10.0", "safetensors", "scipy==1.12.0", f"-e {tmp_path.resolve()}"]


def test_with_replaces_the_requirement_by_its_path(tmp_path: Path) -> None:
    tarball = tmp_path / "diffusers-c9438378.tar.gz"
    tarball.write_bytes(b"")
    lines = ["transformers==5.5.3", "git+https://github.com/huggingface/diffusers.git@c943837"]
    assert requirements.resolve(lines, {"Diffusers": tarball}, ("diffusers",), offline=True) == [
        "transformers==5.5.3", f"diffusers @ {tarball.as_uri()}"]
    with pytest.raises(UserError, match=r"--with diffusers=.*nope.whl: no such file or folder"):
        requirements.resolve(lines, {"diffusers": tmp_path / "nope.whl"}, ("diffusers",), offline=True)


def test_python_too_old_or_missing_says_what_to_install() -> None:
    with pytest.raises(UserError, match=r"--python .* is Python 3\.11\.\d+; simpletuner needs Python 3\.99 or newer: "
                                        r"install it \(e\.g\. `uv python install 3\.99`\)"):
        requirements.find_python("3.99", sys.executable, "simpletuner")
    with pytest.raises(UserError, match=r"simpletuner needs Python 3\.99 or newer and none was found"):
        requirements.find_python("3.99", None, "simpletuner")
    assert Path(requirements.find_python("3.11", None, "x")).name.startswith("python3")


@pytest.mark.parametrize(("cuda", "tag"), [(None, "cpu"), ((13, 1), "cu130"), ((12, 9), "cu128"), ((12, 6), "cu126")])
def test_auto_torch_follows_the_driver(cuda: tuple[int, int] | None, tag: str) -> None:
    assert torchsel.choose("auto", cuda) == tag
    assert torchsel.choose("cu128", cuda) == "cu128"


def test_old_driver_and_index_urls() -> None:
    with pytest.raises(UserError, match=r"supports CUDA 11\.8, older than 12\.6"):
        torchsel.choose("auto", (11, 8))
    assert torchsel.index_args("cu128") == ["--index-url", "https://download.pytorch.org/whl/cu128"]
    assert torchsel.index_args("cpu") == []


def _pip(tmp_path: Path, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", *args],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode != 0
    return (done.stdout + done.stderr).splitlines()


def test_real_pip_conflict_names_both_requirements(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("accelerate==1.15.0\n")
    message = pip.explain(_pip(tmp_path, "accelerate==1.6.0", "-c", "c.txt"), tmp_path / "log")
    assert message.startswith("pip cannot satisfy accelerate==1.6.0 and accelerate==1.15.0 together")


def test_real_pip_without_network_says_so(tmp_path: Path) -> None:
    lines = _pip(tmp_path, "--no-cache-dir", "--isolated", "--retries", "1", "--timeout", "2", "--index-url",
                 "http://127.0.0.1:9/simple", "some-package-name-here")
    assert pip.explain(lines, tmp_path / "log").startswith("no network: pip could not reach the package index; run "
                                                           "with --offline --wheels DIR")


def test_disk_full_and_missing_package_lines(tmp_path: Path) -> None:
    disk = ["ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"]
    assert pip.explain(disk, tmp_path / "b" / "setup.log").startswith(
        f"disk full while installing; free space under {tmp_path} and run the same command again")
    missing = _pip(tmp_path, "--no-index", "--find-links", str(tmp_path), "tinydep==9")
    assert pip.explain(missing, tmp_path / "log").startswith("pip found no tinydep==9")


def test_tarball_source_is_checked_against_the_pin(tmp_path: Path) -> None:
    tarball = make_trainer_tarball(tmp_path, "x\n")
    info = source.fetch(tmp_path / "a", PIN, source=str(tarball), vendored=None, repo=None, entry="run.py")
    assert (info["kind"], info["commit"], info["verified"]) == ("tarball", PIN, "name")
    assert source.recorded_commit(tmp_path / "a") == PIN
    other = make_trainer_tarball(tmp_path / "o", "x\n", name="tiny-trainer-ffff0000")
    with pytest.raises(UserError, match=r"is at commit ffff0000, fluxgen's pin is 0123abcd0000"):
        source.fetch(tmp_path / "b", PIN, source=str(other), vendored=None, repo=None, entry="run.py")
    with pytest.raises(UserError, match=r"has no train\.py; is it the trainer's source tree\?"):
        source.fetch(tmp_path / "c", PIN, source=str(tarball), vendored=None, repo=None, entry="train.py")


def test_tarball_with_a_link_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("t-0123abcd/run.py")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
        info = tarfile.TarInfo("../outside")
        tar.addfile(info)
    with pytest.raises(UserError, match="damaged archive"):
        source.fetch(tmp_path / "d", PIN, source=str(evil), vendored=None, repo=None, entry="run.py")
    assert not (tmp_path / "outside").exists()


def test_git_folder_is_checked_out_at_the_pin(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "run.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    pin = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    (repo / "run.py").write_text("print(2)\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    info = source.fetch(tmp_path / "src", pin, source=str(repo), vendored=None, repo=None, entry="run.py")
    assert info["verified"] == "git" and (tmp_path / "src" / "run.py").read_text() == "print(1)\n"
    with pytest.raises(UserError, match=r"has no commit 000000000000 \(fluxgen's pin\)"):
        source.fetch(tmp_path / "src2", "0" * 40, source=str(repo), vendored=None, repo=None, entry="run.py")
    with pytest.raises(UserError, match=r"cannot clone http://127\.0\.0\.1:9/x\.git .*no network\? pass --source"):
        source.fetch(tmp_path / "src3", pin, source=None, vendored=None, repo="http://127.0.0.1:9/x.git",
                     entry="run.py")


def _lock(**packages: str) -> dict:
    lock = {"python": {"version": "3.11.7", "executable": "/a/venv/bin/python"}, "platform": {"system": "Linux"},
            "torch": {"version": "2.14.1", "cuda": "13.0"}, "trainer": {"commit": PIN}, "packages": packages,
            "freeze": [f"{k}=={v}" for k, v in packages.items()]}
    lock["hash"] = locks.lock_hash(lock)
    return lock


def test_lock_hash_covers_packages_not_paths() -> None:
    a = _lock(torch="2.14.1", diffusers="0.38.0")
    moved = {**a, "python": {**a["python"], "executable": "/elsewhere/bin/python"}}
    assert locks.lock_hash(moved) == a["hash"]
    assert _lock(torch="2.14.1", diffusers="0.38.1")["hash"] != a["hash"]
    changes = locks.compare(a, _lock(torch="2.13.0", peft="0.18.1"))
    assert [c.describe() for c in changes] == ["diffusers: 0.38.0 in the lock, not installed",
                                               "peft: not in the lock, 0.18.1 installed",
                                               "torch: 2.14.1 in the lock, 2.13.0 installed"]


def test_real_lock_of_this_python(tmp_path: Path) -> None:
    lock = locks.make_lock(Path(sys.executable), "builtin", "", {"kind": "self"}, "cpu")
    assert lock["packages"]["click"] and lock["torch"]["version"].startswith("2.")
    assert lock["hash"] == locks.lock_hash(json.loads(json.dumps(lock)))


def _fake_env(home: Path, backend: str, pin: str) -> Path:
    """The folder shape of a finished environment (its python the current one), for discovery only."""
    root = home / "envs" / f"{backend}-{pin[:8]}"
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").symlink_to(sys.executable)
    (root / "src").mkdir()
    (root / "env.lock.json").write_text(json.dumps(_lock(torch="2.14.1")))
    return root


def test_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fluxgen.checkouts import locate, pins

    pin = pins()["ai-toolkit"]["commit"]
    monkeypatch.setenv("FLUXGEN_HOME", str(tmp_path / "fh"))
    assert locate("ai-toolkit").dir_source == "vendored pin"
    root = _fake_env(tmp_path / "fh", "ai-toolkit", pin)
    found = locate("ai-toolkit")
    assert (found.dir, found.python) == (root / "src", str(root / "venv" / "bin" / "python"))
    assert found.dir_source.startswith("fluxgen setup") and found.python_source.startswith("fluxgen setup")
    (tmp_path / "cfg" / "fluxgen").mkdir(parents=True)
    (tmp_path / "cfg" / "fluxgen" / "config.toml").write_text('[ai-toolkit]\npython = "/usr/bin/python3"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert locate("ai-toolkit").python_source == "user config"
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_PYTHON", "/opt/py")
    assert (locate("ai-toolkit").python, locate("ai-toolkit").dir_source[:13]) == ("/opt/py", "fluxgen setup")


def test_cli_messages(tmp_path: Path) -> None:
    builtin = cli_run("setup", "builtin", "--home", str(tmp_path))
    assert builtin.exit_code == 1 and "runs in fluxgen's own Python; nothing to set up" in builtin.stderr
    unknown = cli_run("setup", "ai-tolkit")
    assert unknown.exit_code == 1 and "did you mean 'ai-toolkit'" in unknown.stderr
    bad = cli_run("setup", "ai-toolkit", "--with", "diffusers")
    assert bad.exit_code == 2 and "expected NAME=PATH" in bad.stderr
    check = cli_run("setup", "sd-scripts", "--check", "--home", str(tmp_path))
    assert check.exit_code == 1 and f"sd-scripts is not set up under {tmp_path}" in check.stderr
    offline = cli_run("setup", "sd-scripts", "--offline", "--home", str(tmp_path))
    assert offline.exit_code == 1 and "--offline needs --wheels DIR" in offline.stderr


def test_if_missing_skips_a_configured_trainer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXGEN_SD_SCRIPTS_PYTHON", sys.executable)
    done = cli_run("setup", "sd-scripts", "--if-missing", "--home", str(tmp_path))
    assert done.exit_code == 0 and "uses" in done.stdout and "$FLUXGEN_SD_SCRIPTS_PYTHON" in done.stdout
    assert not (tmp_path / "envs").exists()


def test_constraints_from_a_lock_leave_path_installs_to_with(tmp_path: Path) -> None:
    from fluxgen.envs.runlock import constraints_from_lock

    lock = _lock(torch="2.14.1", diffusers="0.38.0.dev0", pip="23.2.1", library="0.0.0")
    lock["freeze"] = ["diffusers @ file:///x/diffusers-c9438378.tar.gz", "pip==23.2.1", "torch==2.14.1",
                      "-e /env/src"]
    path = constraints_from_lock(lock, tmp_path / "c.txt")
    assert path.read_text().splitlines()[1:] == ["library==0.0.0", "torch==2.14.1"]


def test_a_second_setup_of_the_same_environment_waits_for_the_first(tmp_path: Path) -> None:
    import fcntl

    from envs.envsupport import tiny_recipe

    from fluxgen.envs.build import Request, setup

    (tmp_path / "builds").mkdir()
    with (tmp_path / "builds" / ".tiny-0123abcd.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(UserError, match=r"another `fluxgen setup` is building tiny-0123abcd under .*; wait"):
            setup(Request("tiny", tiny_recipe(), tmp_path, torch="cpu"))
    assert [p.name for p in (tmp_path / "builds").iterdir()] == [".tiny-0123abcd.lock"]


def test_a_build_from_a_lock_is_keyed_by_what_the_constraints_say(tmp_path: Path) -> None:
    """`reproduce --setup` writes the lock's constraints to a new temporary file each time: an interrupted build
    from the same lock continues, one from another lock does not."""
    first, second, other = (tmp_path / n for n in ("a.txt", "b.txt", "c.txt"))
    first.write_text("torch==2.13.0\n")
    second.write_text("torch==2.13.0\n")
    other.write_text("torch==2.14.1\n")

    from envs.envsupport import tiny_recipe

    from fluxgen.envs.build import Request

    def key(constraints: Path) -> str:
        return Request("tiny", tiny_recipe(), tmp_path, constraints=constraints).key("3.11", "cpu")

    assert key(first) == key(second) != key(other)
