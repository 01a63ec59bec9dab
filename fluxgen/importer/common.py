"""Small conversions every trainer's importer needs: paths, the base model, fluxgen's own metadata, prompts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fluxgen.importer.record import Imported
from fluxgen.kinds import KINDS


def flat(data: Any, prefix: str = "", *, lists: bool = True) -> dict[str, Any]:
    """Nested mappings -> dotted leaves; lists of mappings by index when `lists`, else lists are leaves."""
    out: dict[str, Any] = {}
    if isinstance(data, dict) and data:
        for key, value in data.items():
            out.update(flat(value, f"{prefix}{key}.", lists=lists))
    elif lists and isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for i, value in enumerate(data):
            out.update(flat(value, f"{prefix}{i}.", lists=lists))
    elif prefix:
        out[prefix[:-1]] = data
    return out


def absolute_folder(value: str, relative_to: Path, out: Imported | None = None) -> str:
    """An image folder as an absolute path: a relative one is taken from the trainer file's folder (the trainer
    itself takes it from the folder it runs in, which the file does not say), with a note saying so."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    resolved = (relative_to / path).resolve()
    if out is not None:
        out.note(f"the image folder '{value}' is relative; taken from the config's folder: {resolved} "
                 "(--images DIR to use another)")
    return str(resolved)


def base_from_hub_id(value: str, relative_to: Path) -> str:
    """ai-toolkit's name_or_path (or the builtin's model.path) as `model.base`: dev/schnell for their hub ids, a
    local folder made absolute, any other hub id as it is."""
    from fluxgen.rules.model import HUB_IDS

    for name, repo in HUB_IDS.items():
        if value.strip() == repo:
            return name
    path = Path(value).expanduser()
    if value.startswith((".", "/", "~")) or (relative_to / path).is_dir():
        return str(path if path.is_absolute() else (relative_to / path).resolve())
    return value


def kind_from_meta(meta: dict[str, Any]) -> str | None:
    """The kind fluxgen wrote into a file's LoRA metadata (`fluxgen.kind`), if it is one."""
    kind = meta.get("fluxgen.kind")
    return kind if kind in KINDS else None


def kind_from_comment(comment: Any) -> str | None:
    """The kind in the JSON `training_comment` fluxgen writes for sd-scripts, if there is one."""
    try:
        data = json.loads(comment) if isinstance(comment, str) else None
    except json.JSONDecodeError:
        return None
    inner = data.get("fluxgen") if isinstance(data, dict) else None
    return kind_from_meta({"fluxgen.kind": inner.get("kind")}) if isinstance(inner, dict) else None


def untrigger(out: Imported) -> None:
    """Rendered prompts carry the trigger word itself; the intent writes `[trigger]` so a new trigger follows."""
    trigger = out.values.get("trigger")
    prompts = out.values.get("samples.prompts")
    if not trigger or not prompts:
        return
    pattern = re.compile(rf"(?<![\w\[]){re.escape(trigger)}(?![\w\]])")
    out.values["samples.prompts"] = [pattern.sub("[trigger]", p) if isinstance(p, str)
                                     else {**p, "prompt": pattern.sub("[trigger]", p["prompt"])} for p in prompts]
