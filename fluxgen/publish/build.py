"""`build_folder`: gather what the card needs from the run and its evaluation, and write the repo folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.publish.folder import MARKER, Chosen, choose, redact, staged, write_json

FORMATS = {"kohya": ("kohya", ""), "diffusers": ("diffusers", "-diffusers")}
NOTES = {"kohya": "kohya keys with .alpha (ComfyUI, Forge, A1111-Forge; diffusers converts it on load)",
         "diffusers": "diffusers/peft keys (`transformer.*`)"}


def build_folder(run_dir: Path, repo: str, out: Path, which: str, fmt: str, force: bool) -> dict[str, Any]:
    """Write the folder all-or-nothing; return the card's facts (also what the CLI prints)."""
    from fluxgen.evaluate.source import from_run
    from fluxgen.lora.export import convert_file, export_name
    from fluxgen.publish.card import render_card

    src = from_run(run_dir)
    evaluation = _read_eval(run_dir)
    chosen = choose(src, evaluation, which)
    stage, commit, abort = staged(out, force)
    try:
        files = []
        for name in (["kohya", "diffusers"] if fmt == "both" else [fmt]):
            target, suffix = FORMATS[name]
            file = export_name(src.name, chosen.step, suffix=suffix)
            convert_file(chosen.path, target, stage / file, copy_same=True)
            files.append({"file": file, "note": NOTES[name]})
        info = _info(src, repo, chosen, files, evaluation, stage, run_dir)
        (stage / "README.md").write_text(render_card(info), encoding="utf-8")
        _check_card(stage / "README.md")
        write_json(stage / MARKER, {"repo": repo, "run": run_dir.name, "step": chosen.step})
        commit()
    except BaseException:
        abort()
        raise
    return info


def _read_eval(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "eval" / "eval.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _info(src: Any, repo: str, chosen: Chosen, files: list, evaluation: dict | None, stage: Path,
          run_dir: Path) -> dict[str, Any]:
    plan = json.loads((run_dir / "plan.json").read_text(encoding="utf-8"))
    shutil.copyfile(run_dir / "plan.json", stage / "plan.json")
    if (run_dir / "intent.yaml").is_file():
        shutil.copyfile(run_dir / "intent.yaml", stage / "intent.yaml")
    values = src.values
    base = values.get("base_model") if values.get("base_model_kind") != "local" else None
    strength = chosen.strength
    return {
        "repo": repo, "name": src.name, "kind": src.kind, "trigger": src.trigger, "base_model": base,
        "backend": values.get("backend", "?"), "steps": chosen.step, "files": files,
        "strength": f"{strength:g}", "strength_range": (f"{max(0.5, strength - 0.2):g}", f"{min(1.3, strength + 0.2):g}"),
        "strength_note": f"{strength:g} ({chosen.why})",
        "widget": _widget(src, chosen, evaluation, stage),
        "evaluation": _eval_summary(evaluation, src.out_dir, stage),
        "values": redact(plan.get("values") or {}), "origins": redact(plan.get("origins") or {}),
    }


def _widget(src: Any, chosen: Chosen, evaluation: dict | None, stage: Path) -> list[dict[str, str]]:
    """Sample images of the published checkpoint: the evaluation's cells at its strength, else training samples."""
    picks: list[tuple[str, Path]] = []
    if evaluation:
        seed = evaluation["grid"]["seeds"][0]
        for cell in evaluation["cells"]:
            if cell["checkpoint"] == str(chosen.path) and cell["strength"] == chosen.strength \
                    and cell["seed"] == seed and cell.get("file"):
                picks.append((cell["prompt"], src.out_dir / cell["file"]))
    if not picks and src.run_dir is not None:
        from fluxgen.runs.manifest import read_manifest

        for s in read_manifest(src.run_dir).samples:
            if s.get("step") == chosen.step and s.get("prompt"):
                picks.append((s["prompt"], src.run_dir / s["path"]))
    widget = []
    for i, (prompt, path) in enumerate(p for p in picks if p[1].is_file()):
        (stage / "samples").mkdir(exist_ok=True)
        shutil.copyfile(path, stage / "samples" / f"{i + 1:02d}.png")
        widget.append({"prompt": prompt, "file": f"samples/{i + 1:02d}.png"})
    return widget


def _eval_summary(evaluation: dict | None, eval_dir: Path, stage: Path) -> dict[str, Any] | None:
    if not evaluation:
        return None
    (stage / "eval").mkdir()
    sheets = []
    for s in evaluation.get("sheets") or []:
        shutil.copyfile(eval_dir / s["file"], stage / "eval" / s["file"])
        sheets.append({"prompt": s["prompt"], "file": f"eval/{s['file']}"})
    rec = evaluation["recommendation"]
    keep = {k: evaluation[k] for k in ("grid", "metric_models", "summary", "recommendation")}
    (stage / "eval" / "summary.json").write_text(json.dumps(redact(keep), indent=2) + "\n", encoding="utf-8")
    headline = (f"Recommended: step {rec['choice']['step']} at strength {rec['choice']['strength']:g}: {rec['why']}."
                if rec.get("choice") else f"No recommendation: {rec['why']}.")
    return {"headline": headline, "rule": rec["rule"], "sheets": sheets,
            "rows": [r for r in evaluation["summary"] if r["strength"]]}


def _check_card(path: Path) -> None:
    """Re-read the card with the Hub's own parser before anything is uploaded."""
    from huggingface_hub import ModelCard

    try:
        card = ModelCard.load(path)
    except Exception as exc:  # the parser's own error types vary across versions
        raise UserError(f"{path}: the model card does not parse ({exc}); this is a fluxgen bug") from None
    if card.data.to_dict().get("tags") is None:
        raise UserError(f"{path}: the model card lost its front matter; this is a fluxgen bug")
