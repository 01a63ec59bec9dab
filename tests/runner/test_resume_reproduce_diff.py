"""resume past a broken checkpoint, reproduce (byte-identical twice, from a config file alone), diff, runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from runner.support import manifest, train_args

from helpers import cli_run, make_images

RENDERED = ("config.yaml", "command.txt")


def trained(images: Path, model: Path, tmp_path: Path, *extra: str, **env: str) -> Path:
    before = set((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else set()
    result = cli_run(*train_args(images, model, *extra), env=env)
    (new,) = set((tmp_path / "runs").iterdir()) - before
    assert result.exit_code in (0, 1), result.stderr
    return new


def test_resume_skips_a_truncated_checkpoint(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    run = trained(images, model_dir, tmp_path, FAKE_SCENARIO="disk-full", FAKE_AT_STEP="4")
    assert manifest(run)["status"] == "failed"  # the disk filled up while step 4 was being saved
    result = cli_run("resume", str(run), env={"FAKE_SCENARIO": "success"})
    assert result.exit_code == 0, result.stderr
    attempt = manifest(run)["attempts"][1]
    assert attempt["resume"]["step"] == 2 and attempt["resumed_from"] == 2
    assert attempt["resume"]["skipped"][0]["path"] == "output/cyber-skull/cyber-skull_000000004.safetensors"
    assert "truncated" in attempt["resume"]["skipped"][0]["why"]
    assert (run / "output/cyber-skull/fluxgen-skipped/cyber-skull_000000004.safetensors").is_file()


def test_reproduce_twice_renders_byte_identical_files(fake_env, images: Path, model_dir: Path,
                                                      tmp_path: Path) -> None:
    original = trained(images, model_dir, tmp_path)
    copies = []
    for _ in range(2):
        time.sleep(1.01)  # a new timestamp, so the folders differ by name only
        result = cli_run("reproduce", str(original), "--no-report")
        assert result.exit_code == 0, result.stderr
        copies.append(Path(result.stdout.split("run folder: ", 1)[1].splitlines()[0]))
    assert len({original, *copies}) == 3
    for name in RENDERED:  # the trainer's files, the same as the original's
        texts = {(folder / name).read_bytes() for folder in (original, *copies)}
        assert len(texts) == 1, name
    for name in ("plan.json", "intent.yaml"):  # origins say "intent embedded in …": the same for both copies
        assert (copies[0] / name).read_bytes() == (copies[1] / name).read_bytes(), name
    assert manifest(copies[0])["status"] == "completed"


def test_reproduce_from_a_config_file_alone(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    original = trained(images, model_dir, tmp_path)
    theirs = tmp_path / "from-a-colleague.yaml"
    theirs.write_bytes((original / "config.yaml").read_bytes())
    mine = make_images(tmp_path / "my-copy", 3, size=128)
    result = cli_run("reproduce", str(theirs), "--images", str(mine), "--dry-run")
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    fingerprint = manifest(original)["dataset"]["fingerprint"]
    assert any(n.startswith(f"note: dataset differs: theirs {fingerprint}, yours sha256:") and str(mine) in n
               for n in notes)
    assert any("their commit is not recorded" in n or "commit is unknown" in n for n in notes)
    assert result.stdout.splitlines()[0].startswith("run folder: runs/cyber-skull-<timestamp>")
    assert len(list((tmp_path / "runs").iterdir())) == 1  # dry run: nothing new


def test_reproduce_same_dataset_notes_nothing_about_it(fake_env, images: Path, model_dir: Path,
                                                       tmp_path: Path) -> None:
    original = trained(images, model_dir, tmp_path)
    result = cli_run("reproduce", str(original), "--dry-run", "--json")
    data = json.loads(result.stdout)
    assert not any(n.startswith("dataset") for n in data["differences"])
    assert data["plan_hash"] == manifest(original)["plan_hash"]


def test_reproduce_needs_a_fluxgen_header(fake_env, tmp_path: Path) -> None:
    plain = tmp_path / "hand-written.yaml"
    plain.write_text("job: extension\n", encoding="utf-8")
    result = cli_run("reproduce", str(plain))
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {plain}: has no fluxgen-intent header, so it cannot be planned "
                                     "again; give a run folder or a file rendered by fluxgen")


def test_diff_runs_value_by_value_with_origins(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    a = trained(images, model_dir, tmp_path)
    time.sleep(1.01)
    b = trained(images, model_dir, tmp_path, "--rank", "16")
    result = cli_run("diff", str(a), str(b), "--json")
    data = json.loads(result.stdout)
    rows = {r["key"]: r for r in data["values"]}
    assert (rows["rank"]["a"], rows["rank"]["b"]) == (32, 16)
    assert rows["rank"]["a_origin"].startswith("preset presets/cyber-skull.yaml")
    assert rows["rank"]["b_origin"] == "command line --rank"
    assert "config.yaml" in data["files"] and data["same"] is False
    text = cli_run("diff", str(a / "config.yaml"), str(b / "config.yaml")).stdout
    assert f"rank:\n  A 32   ← intent embedded in runs/{a.name}/config.yaml\n  B 16   ← intent embedded in" in text
    assert cli_run("diff", str(a), str(a)).stdout.endswith("no differences\n")


def test_diff_a_config_whose_dataset_is_elsewhere(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    a = trained(images, model_dir, tmp_path)
    moved = tmp_path / "moved.yaml"
    moved.write_text((a / "config.yaml").read_text().replace(str(images), "/nowhere/skull"), encoding="utf-8")
    result = cli_run("diff", str(a / "config.yaml"), str(moved), "--json")
    data = json.loads(result.stdout)
    assert data["notes"] and "compared by intent" in data["notes"][0]


def test_runs_table_and_status(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    good = trained(images, model_dir, tmp_path)
    time.sleep(1.01)
    bad = trained(images, model_dir, tmp_path, FAKE_SCENARIO="oom")
    table = cli_run("runs").stdout.splitlines()
    assert table[0].split() == ["run", "backend", "status", "step", "loss", "age"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows[good.name][1:4] == ["ai-toolkit", "completed", "5/5"]
    assert rows[bad.name][2:4] == ["failed", "3/5"]
    status = cli_run("status", bad.name)
    assert status.exit_code == 0
    assert "diagnosis (out_of_memory): The GPU ran out of memory at step 3." in status.stdout
    assert ("  fix: Train again with less memory, trying these in order: `--set train.resolution=[768]`; `--vram 16` "
            "(the next VRAM tier down: ai-toolkit's low_vram mode)") in status.stdout


def test_a_run_whose_fluxgen_died_is_stale(fake_env, images: Path, model_dir: Path, tmp_path: Path) -> None:
    run = trained(images, model_dir, tmp_path)
    m = manifest(run)
    m.update(status="running", pid=2**22 + 12345)
    (run / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    assert json.loads(cli_run("status", str(run), "--json").stdout)["status"] == "stale"
    assert "stale" in cli_run("runs").stdout


def test_unknown_run_is_one_line(fake_env, tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    result = cli_run("status", "nope")
    assert result.exit_code == 1
    assert result.stderr == "error: nope: no such run in runs; `fluxgen runs --runs runs` lists them\n"


def test_resume_of_a_nan_run_continues_before_the_divergence(fake_env, images: Path, model_dir: Path,
                                                             tmp_path: Path) -> None:
    """ai-toolkit resumes from the newest file by ctime: after a NaN run that is the final LoRA (step 5), which
    would train nothing. fluxgen sets aside the final file and the checkpoints saved after the NaN step."""
    run = trained(images, model_dir, tmp_path, FAKE_SCENARIO="nan")
    first = manifest(run)
    assert (first["status"], first["diagnosis"]["code"], first["final_lora"]) == (
        "failed", "nan_loss", "output/cyber-skull/cyber-skull.safetensors")
    result = cli_run("resume", str(run), env={"FAKE_SCENARIO": "success"})
    assert result.exit_code == 0, result.stderr
    m = manifest(run)
    attempt = m["attempts"][1]
    assert (attempt["resume"]["step"], attempt["resumed_from"], m["status"], m["last_step"]) == (2, 2, "completed", 5)
    skipped = {s["path"]: s["why"] for s in attempt["resume"]["skipped"]}
    assert skipped["output/cyber-skull/cyber-skull_000000004.safetensors"].startswith("saved after the loss became NaN")
    assert "final LoRA of an unfinished run" in skipped["output/cyber-skull/cyber-skull.safetensors"]
    aside = run / "output/cyber-skull/fluxgen-skipped"
    assert sorted(p.name for p in aside.iterdir()) == ["cyber-skull.safetensors", "cyber-skull_000000004.safetensors"]
    steps = [e["step"] for e in map(json.loads, (run / "events.jsonl").read_text().splitlines())
             if e["type"] == "progress" and e["attempt"] == 2]
    assert steps == [3, 4, 5]
    assert not any(w["code"] == "resume_mismatch" for w in m["warnings"])


def test_reproduce_compares_the_trainer_pin_from_a_config_file_alone(fake_env, images: Path, model_dir: Path,
                                                                     tmp_path: Path, monkeypatch) -> None:
    """A config file carries the pin it was rendered for in its header: compared with the local checkout."""
    from fluxgen.checkouts import pins

    original = trained(images, model_dir, tmp_path)
    theirs = tmp_path / "from-a-colleague.yaml"
    theirs.write_bytes((original / "config.yaml").read_bytes())
    checkout = tmp_path / "my-ai-toolkit"
    (checkout / ".git").mkdir(parents=True)
    (checkout / ".git" / "HEAD").write_text("f" * 40 + "\n")
    monkeypatch.setenv("FLUXGEN_AI_TOOLKIT_DIR", str(checkout))
    pin = pins()["ai-toolkit"]["commit"]
    data = json.loads(cli_run("reproduce", str(theirs), "--dry-run", "--json").stdout)
    assert (f"trainer ai-toolkit differs: theirs at {pin[:12]} (the pin their config was rendered for), yours at "
            f"{'f' * 12} (your checkout)") in data["differences"]
    from_folder = json.loads(cli_run("reproduce", str(original), "--dry-run", "--json").stdout)
    assert any(n.startswith(f"trainer ai-toolkit differs: theirs at {pin[:12]}") for n in from_folder["differences"])


def test_the_header_pin_is_read_in_every_form(tmp_path: Path) -> None:
    from fluxgen.runs.reproduce import read_source

    body = '# fluxgen-intent: {"chain":[],"intent":{}}\njob: extension\n'
    for line in ("# trainer pin: ai-toolkit 27a03a91f23eb1b757d5ec2e80ee3e129cfcc350",
                 "# trainer pin: 27a03a91f23eb1b757d5ec2e80ee3e129cfcc350",
                 "# trainer: ai-toolkit 27a03a91f23eb1b757d5ec2e80ee3e129cfcc350"):
        config = tmp_path / "config.yaml"
        config.write_text(f"{line}\n{body}", encoding="utf-8")
        assert read_source(config).trainer_pin == "27a03a91f23eb1b757d5ec2e80ee3e129cfcc350", line
    config.write_text(body, encoding="utf-8")
    assert read_source(config).trainer_pin is None


def test_reproduce_without_their_model_says_pass_model(fake_env, images: Path, model_dir: Path,
                                                       tmp_path: Path) -> None:
    import shutil

    theirs = tmp_path / "their-model"
    shutil.copytree(model_dir, theirs)
    original = trained(images, theirs, tmp_path)
    shutil.rmtree(theirs)
    result = cli_run("reproduce", str(original), "--dry-run")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {original / 'config.yaml'}: their base model {theirs} is not on this machine; "
                             "pass --model PATH (your copy: a diffusers folder, or the transformer file)\n")
    mapped = cli_run("reproduce", str(original), "--model", str(model_dir), "--dry-run")
    assert mapped.exit_code == 0, mapped.stderr


def test_runs_lists_a_damaged_record_instead_of_stopping(fake_env, images: Path, model_dir: Path,
                                                         tmp_path: Path) -> None:
    good = trained(images, model_dir, tmp_path)
    broken = tmp_path / "runs" / "cyber-skull-20200101-000000"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"status": "runn', encoding="utf-8")
    result = cli_run("runs")
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows[broken.name][1:4] == ["-", "damaged", "-/-"] and rows[good.name][2] == "completed"
    assert json.loads(cli_run("runs", "--json").stdout)[0]["status"] == "damaged"
