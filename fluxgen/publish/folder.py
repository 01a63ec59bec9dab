"""The repo folder: the chosen checkpoint converted and named by seed:003's convention, the card, samples,
eval sheets, intent and plan. Built in a staging folder and swapped in whole."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError

MARKER = ".fluxgen-publish.json"  # a folder without it is not ours to replace
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
_ABS_PATH = re.compile(r"(?:/[^\s/'\"]+)+/([^\s/'\"]+)")


@dataclass
class Chosen:
    step: int | None
    path: Path
    strength: float
    why: str


def check_repo_id(repo: str) -> str:
    if not REPO_ID.match(repo) or "--" in repo or ".." in repo:
        raise UserError(f"--repo {repo}: give USER/NAME (letters, digits, '-', '_', '.'), e.g. me/cyber-skull-lora")
    return repo


def choose(src: Any, evaluation: dict | None, which: str) -> Chosen:
    """`best` (the evaluation's recommendation), `last`, or a step; default best when there is one."""
    cks = {c.step: c for c in src.checkpoints}
    if not cks:
        raise UserError("the run has no LoRA checkpoint to publish")
    choice = (evaluation or {}).get("recommendation", {}).get("choice")
    if which == "best":
        if not choice:
            raise UserError("no recommendation to publish: run `fluxgen eval RUN` first, or pass --checkpoint "
                            "last or a step")
        return Chosen(choice["step"], Path(choice["checkpoint"]), choice["strength"], "the evaluation's choice")
    if which == "auto" and choice:
        return choose(src, evaluation, "best")
    if which in ("auto", "last"):
        last = src.checkpoints[-1]
        return Chosen(last.step, last.path, 1.0, "the last checkpoint")
    try:
        step = int(which)
    except ValueError:
        raise UserError(f"--checkpoint {which}: give best, last or a step") from None
    if step not in cks:
        raise UserError(f"--checkpoint {step}: no such checkpoint; the run has "
                        f"{', '.join(str(s) for s in cks)}")
    return Chosen(step, cks[step].path, 1.0, f"step {step}")


def redact(value: Any) -> Any:
    """Absolute paths of the training machine become file names: the card is public."""
    if isinstance(value, str):
        return _ABS_PATH.sub(r"\1", value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    return value


def staged(out: Path, force: bool):
    """A fresh staging folder beside `out`; `commit()` swaps it in. Refuses to replace a folder fluxgen did not make."""
    if out.exists() and not (out / MARKER).is_file() and not force:
        raise UserError(f"{out}: exists and was not written by `fluxgen publish`; choose another --out or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))

    def commit() -> None:
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)

    def abort() -> None:
        shutil.rmtree(stage, ignore_errors=True)

    return stage, commit, abort


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
