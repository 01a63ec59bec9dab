"""Fixes made concrete with what the runner knows: the plan's memory settings as fluxgen options, the trainer's
Python for a missing module, `fluxgen resume RUN` where a run folder exists; the kernel's SIGKILL as RAM."""

from __future__ import annotations

import pytest

from fluxgen.events import Event
from fluxgen.monitor.advice import RunContext, from_error, out_of_memory
from fluxgen.monitor.diagnose import summarize

OOM = Event("error", code="out_of_memory", message="torch.OutOfMemoryError: CUDA out of memory.", step=3,
            phase="training")
KILLED = ("subprocess.CalledProcessError: Command '['/venv/bin/python', 'flux_train_network.py', '--config_file', "
          "'args.toml']' died with <Signals.SIGKILL: 9>.")


def plan_values(**over):
    values = {"batch_size": 1, "resolution": [1024], "vram": 24, "vram_tier": 24, "gradient_checkpointing": True,
              "sample_size": 1024, "workers": 2}
    return {**values, **over}


def oom_fix(backend: str, event: Event = OOM, **over) -> str:
    return out_of_memory(event, backend, context=RunContext(plan_values(**over))).fix


def test_oom_on_ai_toolkit_at_24_gb_steps_down_one_tier() -> None:
    fix = oom_fix("ai-toolkit")
    assert fix == ("Train again with less memory, trying these in order: `--set train.resolution=[768]`; `--vram 16` "
                   "(the next VRAM tier down: ai-toolkit's low_vram mode) (seed:001's failure table: batch size 1, "
                   "768 px; sd-scripts' VRAM table, ref:sd-scripts §7).")
    assert "quantize" not in fix and "low_vram:" not in fix  # fluxgen options, not trainer keys


def test_oom_asks_for_batch_size_1_only_when_it_is_not_1_already() -> None:
    assert "`--set train.batch_size=1`" in oom_fix("ai-toolkit", batch_size=2)
    assert "batch_size" not in oom_fix("ai-toolkit")


def test_oom_on_ai_toolkit_below_24_gb_points_to_sd_scripts_block_swapping() -> None:
    fix = oom_fix("ai-toolkit", vram=16, vram_tier=16, resolution=[768])
    assert "`--set train.resolution=[512]`" in fix
    assert "`--backend sd-scripts` (block swapping fits 8-16 GB cards" in fix and "--vram" not in fix


@pytest.mark.parametrize("tier, lower, what", [(24, 16, "Adafactor and batch size 1"),
                                                (16, 12, "16 blocks swapped to the CPU"),
                                                (12, 10, "22 blocks swapped"), (10, 8, "28 blocks swapped")])
def test_oom_on_sd_scripts_names_the_next_tier_down(tier: int, lower: int, what: str) -> None:
    fix = oom_fix("sd-scripts", vram=tier, vram_tier=tier)
    assert f"`--vram {lower}` (the next VRAM tier down: {what}" in fix


def test_oom_at_the_lowest_settings_says_so() -> None:
    fix = oom_fix("sd-scripts", vram=8, vram_tier=8, resolution=[512])
    assert fix.startswith("This plan already uses fluxgen's lowest memory settings")


def test_oom_while_sampling_lowers_the_sample_size_first() -> None:
    sampling = Event("error", code="out_of_memory", message="CUDA out of memory", phase="sampling")
    assert oom_fix("sd-scripts", sampling).split("order: ")[1].startswith("`--set samples.size=512`")


def test_without_a_plan_the_advice_stays_general() -> None:
    assert "Lower the batch size to 1" in out_of_memory(OOM, "ai-toolkit").fix  # parse-log: no plan known


def test_the_kernel_killing_the_trainer_under_accelerate_is_system_ram() -> None:
    events = [Event("progress", step=2, total=8), Event("error", code="crash", message=KILLED, step=2)]
    summary = summarize(events, exit_code=1, backend="sd-scripts", context=RunContext(plan_values()))
    d = summary.diagnosis
    assert (summary.status, d.code) == ("failed", "out_of_memory")
    assert d.message.startswith("The trainer was killed (SIGKILL) at step 2, which usually means the system ran out")
    assert "seed:002 ran out at 32 GB while caching latents" in d.fix and "seed:004" in d.fix
    assert "`--set train.workers=1`" in d.fix


def test_a_missing_module_is_the_environment_not_a_crash() -> None:
    event = Event("error", code="crash", message="ModuleNotFoundError: No module named 'oyaml'")
    d = from_error(event, "ai-toolkit", RunContext(python="/envs/aitk/bin/python", trainer_dir="/opt/ai-toolkit"))
    assert (d.code, d.message) == ("environment", "The trainer's Python (/envs/aitk/bin/python) cannot import oyaml.")
    assert d.fix.startswith("Install the trainer's requirements into /envs/aitk/bin/python: "
                            "`/envs/aitk/bin/python -m pip install -r /opt/ai-toolkit/requirements.txt`")
    assert "`fluxgen doctor`" in d.fix
    assert from_error(event).code == "environment"  # parse-log too


def test_with_a_run_folder_crash_stall_and_interrupt_fixes_name_the_resume() -> None:
    context = RunContext(run_dir="runs/skull-20260101-120000")
    crash = summarize([Event("error", code="crash", message="RuntimeError: boom")], exit_code=1, context=context)
    assert "`fluxgen resume runs/skull-20260101-120000`" in crash.diagnosis.fix
    stall = Event("warning", code="stall", message="No progress for 10:00.")
    running = summarize([Event("progress", step=1, total=5), stall], context=context)
    assert "continue with `fluxgen resume runs/skull-20260101-120000`" in running.diagnosis.fix
    stopped = summarize([Event("progress", step=1, total=5)], exit_code=130, context=context)
    assert stopped.diagnosis.fix.startswith("Continue it with `fluxgen resume runs/skull-20260101-120000`")
    assert "fluxgen resume" not in summarize([Event("error", code="crash", message="x")], exit_code=1).diagnosis.fix
