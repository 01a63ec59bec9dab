"""sd-scripts' console from the real captures: rich at 200/80 columns, console_log_simple, bad dataset."""

from __future__ import annotations

import pytest
from monitor.captures import by_type, last_loss_by_step, parse_whole, rewrap, without_lines

from fluxgen.backends.sd_scripts import console as sd_scripts
from fluxgen.monitor import parse_streams, richlog
from fluxgen.monitor.diagnose import summarize

JP_CACHE = (
    "cache_latents_to_disk is enabled, so cache_latents is also enabled / "
    "cache_latents_to_diskが有効なため、cache_latentsを有効にします"
)
VOLUPTUOUS = (
    "voluptuous.error.MultipleInvalid: extra keys not allowed @ data['datasets'][0]['subsets'][0]['foo']"
)


def test_success_at_200_columns(read):
    events = parse_whole("sd-scripts", read("sd-scripts", "success-cols200.log"))
    assert sorted({e.step for e in by_type(events, "progress")}) == list(range(1, 9))
    assert {e.total for e in by_type(events, "progress")} == {8}
    losses = last_loss_by_step(events)
    assert (losses[1], losses[3], losses[8]) == (1.46, 1.47, 1.48)
    (checkpoint,) = by_type(events, "checkpoint")
    assert (checkpoint.step, checkpoint.path, checkpoint.final) == (
        8,
        "/data/run/out/mylora.safetensors",
        True,
    )
    warnings = [e.message for e in by_type(events, "warning")]
    assert warnings == [
        JP_CACHE,
        "no regularization images / 正則化画像が見つかりませんでした",
        "Failed to get git commit hash, using fallback",
    ]
    assert [e.phase for e in by_type(events, "phase")] == ["loading", "caching", "training", "saving"]
    summary = summarize(events)
    assert (summary.status, summary.last_step, summary.total, summary.last_loss) == ("completed", 8, 8, 1.48)


def test_console_log_simple_split_streams(read):
    stdout = parse_whole("sd-scripts", read("sd-scripts", "console-log-simple.stdout"))
    stderr = parse_whole("sd-scripts", read("sd-scripts", "console-log-simple.stderr"))
    assert [(e.step, e.path) for e in by_type(stdout, "checkpoint")] == [
        (8, "/data/run/out/mylora.safetensors")
    ]
    assert sorted({e.step for e in by_type(stderr, "progress")}) == list(range(1, 9))
    # messages logged before the switch to simple output are rich at 80 columns, wrapped over five lines
    assert by_type(stderr, "warning")[0].message == JP_CACHE
    events = parse_streams(
        "sd-scripts",
        [read("sd-scripts", "console-log-simple.stdout"), read("sd-scripts", "console-log-simple.stderr")],
    )
    kinds = [e.type for e in events]
    assert kinds.index("checkpoint") > max(i for i, k in enumerate(kinds) if k == "progress")
    assert summarize(events).status == "completed"


def test_wrapped_records_at_80_columns_are_joined_back(read):
    records, current = [], None
    for lineno, line in enumerate(read("sd-scripts", "bad-dataset-key.log").split("\n"), start=1):
        if current is not None and richlog.is_continuation(line):
            richlog.extend(current, line)
            continue
        current = richlog.start_record(lineno, line)
        if current is not None:
            records.append(current)
    messages = [r.message for r in records]
    assert "load tokenizer from cache: /data/run/assets/tokenizers/openai_clip-vit-large-patch14" in messages
    assert "Loading dataset config from /data/run/bad_dataset.toml" in messages
    assert "Checking the state dict: Diffusers or BFL, dev or schnell" in messages
    assert "Invalid user config / ユーザ設定の形式が正しくないようです" in messages
    assert records[-1].level == "ERROR"


def test_bad_dataset_key(read):
    events = parse_whole("sd-scripts", read("sd-scripts", "bad-dataset-key.log"))
    errors = by_type(events, "error")
    assert [e.code for e in errors] == ["dataset_error", "dataset_error", "crash"]
    assert errors[1].message == VOLUPTUOUS
    assert errors[2].message.startswith("subprocess.CalledProcessError: Command '['/opt/venv/bin/python3'")
    summary = summarize(events, exit_code=1)
    assert summary.status == "failed"
    assert summary.diagnosis.code == "dataset_error"
    assert "`datasets[0].subsets[0].foo`" in summary.diagnosis.message
    assert "Remove or rename" in summary.diagnosis.fix


@pytest.mark.parametrize("width", [100, 140, 60])
def test_other_terminal_widths_give_the_same_events(read, width):
    text = read("sd-scripts", "success-cols200.log")
    wrapped = rewrap(text, width)
    rich_lines = [line for line in wrapped.split("\n") if line.startswith((" " * 20, "2026-"))]
    assert len(rich_lines) > 100 and max(richlog.cell_len(line) for line in rich_lines) == width
    assert without_lines(parse_whole("sd-scripts", wrapped)) == without_lines(parse_whole("sd-scripts", text))


def _header(read) -> str:
    """The success log up to the start of training: it gives 8 batches per epoch."""
    text = read("sd-scripts", "success-cols200.log")
    return text[: text.index("\rsteps:")]


def test_step_and_epoch_checkpoints_and_samples(read):
    lines = [
        "epoch 1/3",
        "\rsteps:  42%|████▏     | 10/24 [00:01<00:01,  9.68it/s, avr_loss=1.52]",
        "2026-11-21 22:31:15 INFO     generating sample images at step / サンプル画像生成 ステップ: 10    "
        "train_network.py:1",
        "saving checkpoint: /data/run/out/mylora-step00000010.safetensors",
        "saving checkpoint: /data/run/out/mylora-000001.safetensors",
        "epoch 2/3",
    ]
    events = parse_whole("sd-scripts", _header(read) + "\n".join(lines) + "\n")
    assert [(e.step, e.path) for e in by_type(events, "checkpoint")] == [
        (10, "/data/run/out/mylora-step00000010.safetensors"),
        (8, "/data/run/out/mylora-000001.safetensors"),  # end of epoch 1 = 8 batches
    ]
    assert not any(e.final for e in by_type(events, "checkpoint"))
    assert [e.step for e in by_type(events, "sample")] == [10]
    assert summarize(events).status == "running"


def test_resume_from_state(read):
    lines = [
        "                    INFO     resume training from local state: /data/run/out/mylora-000001-state  "
        "train_util.py:4777",
        "                    INFO     load train state from "
        "/data/run/out/mylora-000001-state/train_state.json: {'current_epoch': 1, 'current_step': 8}  "
        "train_network.py:969",
    ]
    events = parse_whole("sd-scripts", _header(read) + "\n".join(lines) + "\n")
    (resume,) = by_type(events, "resume")
    assert (resume.step, resume.path) == (8, "/data/run/out/mylora-000001-state")


def test_no_data_exits_zero_but_failed(read):
    line = (
        "                    ERROR    No data found. Please verify arguments (train_data_dir must be the "
        "parent of folders with images) / 画像がありません。  train_network.py:576\n"
    )
    text = read("sd-scripts", "success-cols200.log")
    events = parse_whole("sd-scripts", text[: text.index("                    INFO     [Dataset 0]")] + line)
    assert by_type(events, "error")[0].code == "no_data"
    summary = summarize(events, exit_code=0)
    assert (summary.status, summary.diagnosis.code) == ("failed", "no_data")
    assert "image_dir" in summary.diagnosis.fix


def test_unrecognized_argument(read):
    text = (
        "usage: flux_train_network.py [-h] [--console_log_level {DEBUG,INFO,WARNING,ERROR,CRITICAL}]\n"
        "flux_train_network.py: error: unrecognized arguments: --bogus_flag 1\n"
    )
    summary = summarize(sd_scripts.parse(text.splitlines()), exit_code=1)
    assert summary.diagnosis.code == "bad_argument"
    assert "--bogus_flag 1" in summary.diagnosis.message


def test_dataset_config_file_not_found(read):
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/opt/sd-scripts/library/config_util.py", line 690, in load_user_config\n'
        '    raise ValueError(f"file not found / ファイルが見つかりません: {file}")\n'
        "ValueError: file not found / ファイルが見つかりません: /data/run/missing.toml\n"
    )
    summary = summarize(parse_whole("sd-scripts", _header(read)[:2000] + "\n" + traceback), exit_code=1)
    assert summary.diagnosis.code == "missing_file"
    assert summary.diagnosis.message == "A file or folder does not exist: /data/run/missing.toml"
