"""ai-toolkit's console, read from the real captures (fresh run, auto-resume, missing dataset)."""

from __future__ import annotations

from monitor.captures import by_type, last_loss_by_step, parse_whole

from fluxgen.backends.ai_toolkit import console as ai_toolkit
from fluxgen.monitor import parse_streams
from fluxgen.monitor.diagnose import summarize

RUN = "/data/runs/tiny_flux_lora/tiny_flux_lora"


def test_fresh_run_bars_give_every_step_with_its_loss(read):
    events = parse_whole("ai-toolkit", read("ai-toolkit", "fresh-run.stderr"))
    progress = by_type(events, "progress")
    assert [e.step for e in progress] == [1, 2, 3, 4, 5]
    assert {e.total for e in progress} == {5}
    assert last_loss_by_step(events) == {1: 1.497, 2: 1.463, 3: 1.601, 4: 1.601, 5: 1.518}
    assert {e.lr for e in progress} == {1e-4}
    assert progress[0].seconds_per_it == 1 / 1.89
    # baseline sample, every 2 steps, and the final one
    assert [e.step for e in by_type(events, "sample")] == [0, 2, 4, 5]
    phases = [e.phase for e in by_type(events, "phase")]
    assert phases[:4] == ["loading", "caching", "sampling", "training"]


def test_fresh_run_stdout_gives_step_checkpoints_and_the_final_file(read):
    events = ai_toolkit.parse(read("ai-toolkit", "fresh-run.stdout").splitlines(keepends=True))
    checkpoints = [(e.step, e.path, e.final) for e in by_type(events, "checkpoint")]
    assert checkpoints == [
        (2, f"{RUN}_000000002.safetensors", None),
        (4, f"{RUN}_000000004.safetensors", None),
        (
            5,
            f"{RUN}.safetensors",
            True,
        ),  # the un-suffixed file is the last step (train.steps from the config dump)
    ]
    assert not by_type(events, "error")


def test_fresh_run_streams_together_are_a_completed_run(read):
    events = parse_streams(
        "ai-toolkit", [read("ai-toolkit", "fresh-run.stdout"), read("ai-toolkit", "fresh-run.stderr")]
    )
    summary = summarize(events)
    assert summary.status == "completed"
    assert (summary.last_step, summary.total, summary.last_loss) == (5, 5, 1.518)
    assert [c["step"] for c in summary.checkpoints] == [2, 4, 5]
    assert summary.diagnosis is None
    # the save at step 2 comes after step 2 and before step 3
    order = [(e.type, e.step) for e in events if e.type in ("progress", "checkpoint")]
    assert order == [
        ("progress", 1),
        ("progress", 2),
        ("checkpoint", 2),
        ("progress", 3),
        ("progress", 4),
        ("checkpoint", 4),
        ("progress", 5),
        ("checkpoint", 5),
    ]


def test_one_merged_stream_reads_like_the_two_files(read):
    merged = read("ai-toolkit", "fresh-run.stdout") + read("ai-toolkit", "fresh-run.stderr")
    events = parse_whole("ai-toolkit", merged)
    assert [e.step for e in by_type(events, "checkpoint")] == [2, 4, 5]
    assert [e.step for e in by_type(events, "progress")] == [1, 2, 3, 4, 5]
    assert summarize(events).status == "completed"


def test_resume_reports_the_step_it_continued_from(read):
    stdout = parse_whole("ai-toolkit", read("ai-toolkit", "resume.stdout"))
    (resume,) = by_type(stdout, "resume")
    assert (resume.step, resume.path) == (5, f"{RUN}.safetensors")
    stderr = parse_whole("ai-toolkit", read("ai-toolkit", "resume.stderr"))
    assert [e.step for e in by_type(stderr, "progress")] == [
        6,
        7,
    ]  # the bar starts at 5/7: not a step of this run
    assert last_loss_by_step(stderr) == {6: 1.527, 7: 1.412}
    summary = summarize(stdout + stderr)
    assert (summary.status, summary.resumed_from, summary.last_step) == ("completed", 5, 7)
    assert summary.checkpoints == [
        {"step": 6, "path": f"{RUN}_000000006.safetensors"},
        {"step": 7, "path": f"{RUN}.safetensors"},
    ]


def test_missing_dataset_fails_with_the_folder_named(read):
    stderr = parse_whole("ai-toolkit", read("ai-toolkit", "missing-dataset.stderr"))
    (error,) = by_type(stderr, "error")
    assert (
        error.message
        == "FileNotFoundError: [Errno 2] No such file or directory: '/data/datasets/does-not-exist'"
    )
    assert error.code == "missing_file"
    stdout = parse_whole("ai-toolkit", read("ai-toolkit", "missing-dataset.stdout"))
    (job_error,) = by_type(stdout, "error")
    assert job_error.message == "[Errno 2] No such file or directory: '/data/datasets/does-not-exist'"
    summary = summarize(stdout + stderr, exit_code=1)
    assert summary.status == "failed"
    assert summary.diagnosis.code == "missing_file"
    assert "/data/datasets/does-not-exist" in summary.diagnosis.message
    assert "folder_path" in summary.diagnosis.fix


def test_job_stopped_banner_is_an_interruption(read):
    text = read("ai-toolkit", "fresh-run.stdout").split("Saving at step 4")[0] + "Job stopped\n"
    summary = summarize(parse_whole("ai-toolkit", text), exit_code=0)  # ai-toolkit exits 0 on Ctrl-C
    assert summary.status == "interrupted"
    assert summary.diagnosis.code == "interrupted"
    assert f"{RUN}_000000002.safetensors" in summary.diagnosis.message


def test_oom_banner_is_a_warning_and_the_abort_an_error(read):
    banner = (
        "################################################\n"
        "# OOM during training step, skipping batch 1/3 #\n"
        "################################################\n"
    )
    events = parse_whole("ai-toolkit", read("ai-toolkit", "fresh-run.stdout") + banner)
    (warning,) = by_type(events, "warning")
    assert warning.code == "oom_skipped"
    abort = "Error running job: OOM during training step 3 times in a row, aborting training\n"
    summary = summarize(parse_whole("ai-toolkit", banner + abort), backend="ai-toolkit")
    assert summary.diagnosis.code == "out_of_memory"
    assert "quantize" in summary.diagnosis.fix and "blocks_to_swap" not in summary.diagnosis.fix


def test_download_bars_are_not_training(read):
    fetch = (
        "\rFetching 3 files:   0%|          | 0/3 [00:00<?, ?it/s]"
        "\rFetching 3 files: 100%|██████████| 3/3 [00:02<00:00,  1.20it/s]\n"
    )
    events = parse_whole("ai-toolkit", fetch + read("ai-toolkit", "fresh-run.stderr"))
    assert [e.step for e in by_type(events, "progress")] == [1, 2, 3, 4, 5]
    assert by_type(events, "phase")[0].phase == "loading"
