"""One attempt around a small child process: streaming, robustness of the follow, fluxgen's own failures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fluxgen.plan import Plan
from fluxgen.runner import ChildRun, Launch
from fluxgen.runs import attempt as attempt_module
from fluxgen.runs.attempt import FollowOptions, run_attempt

CHILD = """
import sys, time
print("Running 1 job", flush=True)
sys.stderr.write("\\rjob:   0%|          | 0/2 [00:00<?, ?it/s]"); sys.stderr.flush()
time.sleep(0.05)
sys.stderr.write("\\rjob:  50%|#####     | 1/2 [00:00<00:00,  9.00it/s, lr: 1.0e-04 loss: 1.000e+00]")
sys.stderr.flush()
print("half way", flush=True)
sys.exit(3)
"""


def plan() -> Plan:
    return Plan({"name": "job", "backend": "ai-toolkit", "steps": 2, "sample_prompts": [], "trigger": None}, {})


def quiet() -> FollowOptions:
    return FollowOptions(out=open("/dev/null", "w"), tick=0.05)  # noqa: SIM115 - closed at exit


def test_both_streams_are_followed_to_the_end(tmp_path: Path) -> None:
    launch = Launch([sys.executable, "-c", CHILD], {}, tmp_path)
    result = run_attempt(tmp_path, plan(), launch, 1, what="test", options=quiet())
    assert result.ended.exit_code == 3
    assert (result.summary.status, result.summary.diagnosis.code) == ("failed", "crash")
    assert [e.step for e in result.events if e.type == "progress"] == [1]
    log = (tmp_path / "train.log").read_bytes().decode()
    assert "Running 1 job\n" in log and "half way\n" in log and "1/2 [00:00<00:00" in log


def test_a_parser_failure_does_not_end_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def feed(self, chunk: str):
            raise ValueError("unexpected console")

        def close(self):
            return []

    monkeypatch.setattr(attempt_module, "stream_parser", lambda backend: Broken())
    launch = Launch([sys.executable, "-c", CHILD], {}, tmp_path)
    result = run_attempt(tmp_path, plan(), launch, 1, what="test", options=quiet())
    assert result.ended.exit_code == 3
    warnings = [e for e in result.events if e.code == "unreadable_console"]
    assert len(warnings) == 2 and "ValueError: unexpected console" in warnings[0].message  # once per stream
    assert "half way" in (tmp_path / "train.log").read_text()


def test_a_fluxgen_failure_is_recorded(fake_env, images: Path, model_dir: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.support import only_run, train_args

    from fluxgen.runs import session
    from helpers import cli_run

    def explode(*args, **kwargs):
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(session, "run_attempt", explode)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        cli_run(*train_args(images, model_dir))
    m = json.loads((only_run(tmp_path / "runs") / "manifest.json").read_text())
    assert (m["status"], m["diagnosis"]["message"]) == ("failed", "fluxgen stopped following the run "
                                                                  "(RuntimeError: disk unplugged).")
    assert "pid" not in m


def test_stop_before_the_child_exists_still_reaches_it(tmp_path: Path) -> None:
    child = ChildRun(Launch([sys.executable, "-c", "import time; time.sleep(30)"], {}, tmp_path),
                     lambda stream, text: None, grace=0.5, tick=0.05)
    child.stop("SIGINT")  # e.g. Ctrl-C while the process was being created
    ended = child.run()
    assert ended.stop_reason == "SIGINT" and ended.exit_code != 0 and ended.ended - ended.started < 5
