"""CLI: plan, render, explain, presets — exit codes, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import REPO, cli_run, make_images


def test_plan_json_has_values_origins_warnings(skull20: Path) -> None:
    r = cli_run("plan", "--kind", "subject", "--images", str(skull20), "--trigger", "CSKULL", "--rank", "32", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) >= {"values", "origins", "warnings"}
    for key in ("name", "kind", "backend", "trigger", "images", "steps", "rank", "alpha", "lr", "save_every",
                "resolution", "batch_size"):
        assert key in data["values"] and key in data["origins"]
    assert (data["values"]["steps"], data["values"]["alpha"]) == (2000, 32.0)


def test_plan_table_shows_origins_and_advice(tmp_path: Path) -> None:
    few = make_images(tmp_path / "few", 4, size=256)
    r = cli_run("plan", "cyber-skull", "--images", str(few))
    assert r.exit_code == 0, r.stderr
    assert "steps" in r.stdout and "seed:000" in r.stdout
    assert "warning:" in r.stdout


def test_render_writes_files_and_refuses_overwrite(tmp_path: Path, skull20: Path) -> None:
    out = tmp_path / "cfg"
    args = ["render", "--kind", "subject", "--images", str(skull20), "--trigger", "CSKULL", "--rank", "32",
            "--backend", "kohya", "--out", str(out)]
    r = cli_run(*args)
    assert r.exit_code == 0, r.stderr
    assert "wrote" in r.stdout and (out / "args.toml").is_file() and (out / "plan.json").is_file()
    again = cli_run(*args)
    assert again.exit_code == 1
    assert again.stderr.startswith("error: ") and "already exists; pass --force" in again.stderr
    assert "Traceback" not in again.stderr
    assert cli_run(*args, "--force").exit_code == 0


def test_render_refuses_dataset_errors_unless_forced(tmp_path: Path) -> None:
    images = make_images(tmp_path / "imgs", 12, size=1024)
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    r = cli_run("render", "cyber-skull", "--images", str(images), "--out", str(tmp_path / "o"))
    assert r.exit_code == 1 and "dataset error" in r.stderr and "--force" in r.stderr
    assert not (tmp_path / "o").exists()
    r = cli_run("render", "cyber-skull", "--images", str(images), "--out", str(tmp_path / "o"), "--force")
    assert r.exit_code == 0, r.stderr


def test_explain_keys_and_unknown_key(skull20: Path) -> None:
    r = cli_run("explain", "cyber-skull", "steps", "alpha", "--images", str(skull20))
    assert r.exit_code == 0
    assert "steps = 2000" in r.stdout and "100 × 20 images" in r.stdout and "alpha = 32.0" in r.stdout
    assert "seed:000: fal.ai best practices" in r.stdout  # cited guides are named
    r = cli_run("explain", "cyber-skull", "stpes", "--images", str(skull20))
    assert r.exit_code == 1 and "did you mean 'steps'?" in r.stderr


def test_user_errors_are_one_line(tmp_path: Path, skull20: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: subject\ntrain: {rnak: 3}\n", encoding="utf-8")
    cases = [
        (["plan", str(bad), "--images", str(skull20)], "train.rnak: unknown key"),
        (["plan", "no-such-preset"], "no such preset"),
        (["plan", "cyber-skul", "--images", str(skull20)], "did you mean 'cyber-skull'?"),
        (["plan", "--kind", "subject"], "no dataset: pass --images"),
        (["plan", "--kind", "subject", "--images", str(skull20), "--set", "nope"], "expected KEY=VALUE"),
        (["plan", "--kind", "subject", "--images", str(skull20), "--backend", "kohyaa"], "unknown backend"),
    ]
    for args, message in cases:
        r = cli_run(*args)
        assert r.exit_code == 1, (args, r.stdout)
        assert message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""


def test_usage_errors_exit_2(skull20: Path) -> None:
    assert cli_run("render", "--images", str(skull20)).exit_code == 2  # --out missing
    assert cli_run("plan", "--rank", "zero").exit_code == 2
    r = cli_run("plna")
    assert r.exit_code == 2 and "did you mean 'plan'?" in r.stderr


def test_presets_ls_show_cp(tmp_path: Path) -> None:
    r = cli_run("presets", "ls")
    assert r.exit_code == 0
    for name in ("cyber-skull", "graphic-grebble", "kohya-style", "concept-poc", "ohwx-character", "subject"):
        assert name in r.stdout
    shown = cli_run("presets", "show", "cyber-skull")
    assert shown.exit_code == 0 and "trigger: CSKULL" in shown.stdout
    r = cli_run("presets", "cp", "cyber-skull", str(tmp_path))
    assert r.exit_code == 0 and (tmp_path / "cyber-skull.yaml").is_file()
    r = cli_run("presets", "cp", "cyber-skull", str(tmp_path))
    assert r.exit_code == 1 and "--force" in r.stderr
    assert cli_run("presets", "show", "nope").exit_code == 1


def test_user_presets_shadow_and_are_found_via_env(tmp_path: Path, skull20: Path, monkeypatch) -> None:
    folder = tmp_path / "mypresets"
    folder.mkdir()
    (folder / "mine.yaml").write_text("# My skull\nextends: cyber-skull\nnetwork: {rank: 8}\n", encoding="utf-8")
    monkeypatch.setenv("FLUXGEN_PRESETS", str(folder))
    r = cli_run("plan", "mine", "--images", str(skull20), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["values"]["rank"] == 8
    assert "mine" in cli_run("presets", "ls").stdout


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from fluxgen.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('PIL', 'jinja2', 'torch', 'yaml', 'pydantic', 'rich', 'numpy') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert "HEAVY []" in out


def test_a_common_trigger_is_warned_about_once(tmp_path: Path) -> None:
    images = make_images(tmp_path / "imgs", 3, size=256)
    r = cli_run("plan", "subject", "--trigger", "art", "--images", str(images))
    assert r.exit_code == 0, r.stderr
    assert (r.stdout + r.stderr).count("common word") == 1
