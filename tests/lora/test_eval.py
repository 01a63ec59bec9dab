"""`fluxgen eval` on the tiny FLUX.1 with tiny random CLIP and DINO: grid, metrics, reuse, report, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lora.lora_builders import builtin_lora, sd_scripts_lora

from fluxgen.cli import cli
from fluxgen.errors import UserError
from fluxgen.evaluate.grid import Checkpoint, Extra, select_checkpoints, stacking_warning, thin
from fluxgen.evaluate.recommend import Bounds, recommend


@pytest.fixture(scope="module")
def metric_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from fluxgen.evaluate.tiny import build_tiny_clip, build_tiny_dino

    root = tmp_path_factory.mktemp("metric-models")
    return build_tiny_clip(root / "clip"), build_tiny_dino(root / "dino")


def make_run(root: Path, model: Path) -> Path:
    """A run folder as `fluxgen train` records it: plan values, checkpoints in the manifest, a dataset."""
    from PIL import Image

    run = root / "skull-20261206-120000"
    (run / "output").mkdir(parents=True)
    data = root / "images"
    data.mkdir()
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        Image.new("RGB", (48, 48), colour).save(data / f"{i}.png")
    builtin_lora(model, run / "output" / "skull_000000010.safetensors", seed=1)
    sd_scripts_lora(model, run / "output" / "skull.safetensors", seed=3)  # a kohya-keyed final file
    values = {"name": "skull", "kind": "subject", "trigger": "CSKULL", "base_model": str(model), "dataset": str(data),
              "steps": 20, "sample_prompts": ["A watercolor painting of [trigger]"], "sample_seed": 7,
              "sample_size": 32, "sample_steps": 1, "sample_guidance": 3.5, "vram_tier": 24}
    (run / "plan.json").write_text(json.dumps({"values": values, "origins": {}}))
    manifest = {"status": "completed", "checkpoints": [{"step": 10, "path": "output/skull_000000010.safetensors"}],
                "final_lora": "output/skull.safetensors"}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def invoke(*args: str):
    return CliRunner().invoke(cli, ["eval", *args])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_eval_run_writes_everything_and_reuses_cells(tiny_model: Path, metric_models, tmp_path: Path):
    run = make_run(tmp_path, tiny_model)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# flexibility\nA watercolor painting of [trigger]\na pencil sketch of [trigger]\n")
    clip, dino = metric_models
    common = [str(run), "--clip", str(clip), "--dino", str(dino), "--prompts", str(prompts), "--seeds", "1"]
    # random metric models make every bound a coin toss: open them so a choice (and its export) always exists
    result = invoke(*common, "--strengths", "1.0", "--export", "kohya", "--max-flex-drop", "2", "--max-copy", "1.5")
    assert result.exit_code == 0, result.output
    assert "2 checkpoints × 2 prompts × 2 strengths × 1 seeds = 6 images at 32 px" in result.stderr
    data = json.loads((run / "eval" / "eval.json").read_text())
    assert len(data["cells"]) == 6
    assert {c["prompt"] for c in data["cells"]} == {"A watercolor painting of CSKULL", "a pencil sketch of CSKULL"}
    for cell in data["cells"]:
        assert (run / "eval" / cell["file"]).is_file()
        assert set(cell["metrics"]) == {"clip_t", "clip_i", "dino", "copy"}
        assert all(-1.0 <= v <= 1.0 for v in cell["metrics"].values())
    assert [c["step"] for c in data["grid"]["checkpoints"]] == [10, 20]
    assert [s["file"] for s in data["sheets"]] == ["sheet-01.png", "sheet-02.png"]
    rec = data["recommendation"]
    assert [r["name"] for r in rec["rule"]] == ["fidelity", "flexibility", "copy", "strengths"]
    assert rec["passing"] == 2
    assert f"recommendation: step {rec['choice']['step']} at strength 1" in result.stdout
    export = run / "eval" / f"skull_v1_{rec['choice']['step']}steps.safetensors"
    assert f"export (kohya): {export}" in result.stdout
    assert export.is_file()
    html = (run / "report.html").read_text()
    assert "<h2>Evaluation</h2>" in html and "seed:003" in html
    assert "6 generated, 0 reused" in result.stdout

    again = invoke(*common, "--strengths", "1.0,0.8")
    assert again.exit_code == 0, again.output
    assert "4 generated, 6 reused" in again.stdout  # only the new strength's cells

    import shutil

    shutil.copytree(dino, tmp_path / "dino2")  # other metric models: images reused, scores computed again
    rescored = invoke(*[a if a != str(dino) else str(tmp_path / "dino2") for a in common], "--strengths", "1.0")
    assert rescored.exit_code == 0, rescored.output
    assert "0 generated, 6 reused" in rescored.stdout
    data = json.loads((run / "eval" / "eval.json").read_text())
    assert data["metric_models"]["dino"] == str(tmp_path / "dino2")


def test_bare_file_needs_images_and_base(tiny_model: Path, tmp_path: Path):
    lora = sd_scripts_lora(tiny_model, tmp_path / "x.safetensors")
    result = invoke(str(lora), "--base", str(tiny_model))
    assert result.exit_code == 1
    assert "pass --images DIR" in result.stderr and "Traceback" not in result.output
    no_base = invoke(str(lora), "--images", str(tmp_path))  # its modelspec names a family, not a loadable model
    assert no_base.exit_code == 1
    assert no_base.stderr.startswith("error: no base model known for this LoRA; pass --base")


def test_missing_metric_model_is_one_line(tiny_model: Path, tmp_path: Path):
    run = make_run(tmp_path, tiny_model)
    result = invoke(str(run), "--clip", "nobody/no-clip", "--seeds", "1")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == ("error: nobody/no-clip: the CLIP model is not in the Hugging Face cache; "
                                     "download it once with `hf download nobody/no-clip` or pass --clip with a "
                                     "local folder")


def _row(step, strength, d_dino, d_clip_t=0.0, copy=0.5, ref_copy=0.5, d_clip_i=0.0):
    return {"step": step, "checkpoint": f"ck{step}", "strength": strength, "dino": 0.5 + d_dino, "clip_i": 0.5,
            "clip_t": 0.3 + d_clip_t, "copy": copy, "ref_copy": ref_copy, "d_dino": d_dino, "d_clip_i": d_clip_i,
            "d_clip_t": d_clip_t}


def test_recommendation_takes_best_fidelity_within_bounds():
    rows = [_row(250, 1.0, 0.10), _row(500, 1.0, 0.20), _row(750, 1.0, 0.30, d_clip_t=-0.05),
            _row(1000, 1.0, 0.40, copy=0.97, ref_copy=0.40), _row(500, 0.8, 0.20)]
    rec = recommend(rows, Bounds())
    assert (rec["choice"]["step"], rec["choice"]["strength"]) == (500, 1.0)  # tie on fidelity: nearest 1.0
    assert rec["stopped"] == {"flexibility": 1, "copy": 1}
    loose = recommend(rows, Bounds(max_flex_drop=0.1, max_copy=0.99))
    assert loose["choice"]["step"] == 1000


def test_no_recommendation_says_why():
    rec = recommend([_row(250, 1.0, 0.3, d_clip_t=-0.2)], Bounds())
    assert rec["choice"] is None
    assert rec["why"].startswith("no checkpoint and strength passes: 1 lose too much flexibility")


def test_checkpoint_selection_and_stacking_warning(tmp_path: Path):
    cks = [Checkpoint(s, tmp_path / f"{s}.safetensors") for s in range(250, 5001, 250)]
    thinned = thin(cks)
    assert len(thinned) == 8 and thinned[0].step == 250 and thinned[-1].step == 5000
    assert select_checkpoints(cks, "last") == [cks[-1]]
    assert [c.step for c in select_checkpoints(cks, "500,1000")] == [500, 1000]
    with pytest.raises(UserError, match="no checkpoint at step 600; the run has 250, 500"):
        select_checkpoints(cks, "600")
    assert stacking_warning([1.0], [Extra(tmp_path / "s", 0.5)]) is None
    assert "above 1.5-1.8 in total" in stacking_warning([1.2], [Extra(tmp_path / "s", 0.5)])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_stacked_lora_warns_past_the_guides_total_and_changes_every_cell(tiny_model: Path, metric_models,
                                                                         tmp_path: Path):
    run = make_run(tmp_path, tiny_model)
    style = sd_scripts_lora(tiny_model, tmp_path / "style.safetensors", seed=9)
    prompts = tmp_path / "p.txt"
    prompts.write_text("A watercolor painting of [trigger]\n")
    clip, dino = metric_models
    common = [str(run), "--clip", str(clip), "--dino", str(dino), "--prompts", str(prompts), "--seeds", "1",
              "--checkpoints", "last", "--strengths", "1.2"]
    plain = invoke(*common)
    assert plain.exit_code == 0, plain.output
    assert "warning" not in plain.stderr
    stacked = invoke(*common, "--with", f"{style}:0.5")
    assert stacked.exit_code == 0, stacked.output
    assert ("warning: stacked strength reaches 1.7 (strongest cell 1.2 + --with 0.5); above 1.5-1.8 in total "
            "LoRAs produce artifacts [seed:003]") in stacked.stderr
    assert "2 generated, 0 reused" in stacked.stdout  # the stacked LoRA is part of every cell's key
    data = json.loads((run / "eval" / "eval.json").read_text())
    assert data["grid"]["with"] == [{"path": str(style), "weight": 0.5}]
    bad = invoke(*common, "--with", "nofile.safetensors")
    assert bad.exit_code == 1 and "--with nofile.safetensors: give FILE:WEIGHT" in bad.stderr
