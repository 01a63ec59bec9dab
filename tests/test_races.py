"""Two commands on one output or one run: one wins whole, the other is refused in one line; a killed command leaves
no worker, no staging folder and no lock that blocks the next one."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO, cli_run, make_images

HOLD = ("import sys, time\nfrom fluxgen.locks import hold\nwith hold(sys.argv[1], 'x'):\n"
        "    print('held', flush=True)\n    time.sleep(60)")


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def fluxgen(*args: str, cwd: Path = REPO) -> subprocess.Popen:
    code = "import sys; from fluxgen.cli import main; main(sys.argv[1:])"
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def holder(lock: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_output_is_refused_and_a_dead_holder_s_lock_is_taken_over(tmp_path: Path, skull20: Path) -> None:
    out = tmp_path / "cfg"
    proc = holder(out / ".fluxgen-lock")
    try:
        one_line_error(cli_run("render", "subject", "--images", str(skull20), "--out", str(out)),
                       str(out), f"pid {proc.pid}", "wait for it")
    finally:
        proc.kill()  # as kill -9: the lock file stays behind, its lock does not
        proc.wait()
    assert (out / ".fluxgen-lock").exists()
    result = cli_run("render", "subject", "--images", str(skull20), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert not (out / ".fluxgen-lock").exists()


@pytest.mark.parametrize("count", [2, 3])
def test_concurrent_renders_into_one_folder_never_mix(tmp_path: Path, skull20: Path, count: int) -> None:
    out = tmp_path / "cfg"
    procs = [fluxgen("render", "subject", "--images", str(skull20), "--rank", str(8 * (i + 1)), "--out", str(out))
             for i in range(count)]
    results = [(p.wait(timeout=100), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results].count(0) == 1, results
    for code, _out, err in results:
        if code:
            assert code == 1 and err.startswith("error: ") and "Traceback" not in err, err
    hashes = {line.split("plan ", 1)[1].split()[0] for f in out.iterdir() if f.suffix == ".yaml"
              for line in f.read_text().splitlines() if line.startswith("#") and "plan sha256" in line}
    plan = json.loads((out / "plan.json").read_text())
    assert len(hashes) <= 1 and plan["values"]["rank"] in {8 * (i + 1) for i in range(count)}
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in out.iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("failing", [1, 2])
def test_a_render_that_cannot_write_every_file_writes_none(tmp_path: Path, skull20: Path, monkeypatch,
                                                           failing: int) -> None:
    import fluxgen.fsio as fsio

    real, calls = fsio.atomic_write, []

    def full_disk(path, data, **kw):
        calls.append(path)
        if len(calls) == failing:
            raise fsio.UserError(f"{path}: cannot write it ({os.strerror(errno.ENOSPC)})")
        return real(path, data, **kw)

    monkeypatch.setattr(fsio, "atomic_write", full_disk)
    out = tmp_path / "cfg"
    result = cli_run("render", "subject", "--images", str(skull20), "--backend", "sd-scripts", "--out", str(out))
    one_line_error(result, "No space left on device")
    assert list(out.iterdir()) == []


def test_a_killed_render_s_staging_folder_is_cleaned(tmp_path: Path, skull20: Path) -> None:
    out = tmp_path / "cfg"
    (out / ".fluxgen-staging-abc123").mkdir(parents=True)
    (out / ".fluxgen-staging-abc123" / "config.yaml").write_text("half")
    assert cli_run("render", "subject", "--images", str(skull20), "--out", str(out)).exit_code == 0
    assert not any(p.name.startswith(".") for p in out.iterdir())


def test_concurrent_prepares_into_one_folder_one_wins(tmp_path: Path) -> None:
    src = make_images(tmp_path / "src", 10, size=256)
    out = tmp_path / "out"
    procs = [fluxgen("dataset", "prepare", str(src), "--out", str(out), "--trigger", "CSKULL") for _ in range(3)]
    results = [(p.wait(timeout=100), *p.communicate()) for p in procs]
    codes = [code for code, _, _ in results]
    assert codes.count(0) == 1, results
    for code, _out, err in results:
        if code:
            assert err.startswith("error: ") and "Traceback" not in err, err
            assert "writing it now" in err or "not empty" in err, err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def pool_children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_stopped_prepare_leaves_no_worker_and_the_next_cleans_up(tmp_path: Path, sig: int) -> None:
    src = make_images(tmp_path / "src", 40, size=512)
    out = tmp_path / "out"
    proc = fluxgen("dataset", "prepare", str(src), "--out", str(out), "--trigger", "CSKULL", "--format", "png")
    deadline, workers = time.monotonic() + 60, []
    while time.monotonic() < deadline and not (workers and list(tmp_path.glob(".out.tmp-*"))):
        workers = pool_children(proc.pid)
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("prepare finished before it could be stopped")
    proc.send_signal(sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.05)
    assert workers and not any(alive(w) for w in workers)
    if sig != signal.SIGKILL:
        assert proc.returncode == 130 and not list(tmp_path.glob(".out.*"))
    result = cli_run("dataset", "prepare", str(src), "--out", str(out), "--trigger", "CSKULL")
    assert result.exit_code == 0, result.stderr
    assert not list(tmp_path.glob(".out.*"))


def fake_run(tmp_path: Path, pgid: int) -> Path:
    run = tmp_path / "runs" / "skull-20261206-120000"
    run.mkdir(parents=True)
    manifest = {"status": "running", "pid": 999_999_999, "attempts": [{"attempt": 1, "pid": pgid, "pgid": pgid}]}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def test_resume_refuses_while_a_left_trainer_lives(tmp_path: Path) -> None:
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        run = fake_run(tmp_path, trainer.pid)
        one_line_error(cli_run("resume", str(run)), "still running", f"kill -TERM -- -{trainer.pid}")
    finally:
        trainer.kill()
        trainer.wait()


def test_a_second_resume_of_one_run_is_refused(tmp_path: Path) -> None:
    run = fake_run(tmp_path, 999_999_999)
    proc = holder(run / ".fluxgen-lock")
    try:
        one_line_error(cli_run("resume", str(run)), str(run), f"pid {proc.pid}")
    finally:
        proc.kill()
        proc.wait()
