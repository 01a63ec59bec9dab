"""What a dataset folder says about how fluxgen made it: the prepare note (source-image count, style patches) and
captions.json (captioner, model, revision, prompt, mode). Plans and run records read them here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CAPTIONS_FILE = "captions.json"


def captions_record(opts: Any, captioner: Any, model_id: str, records: list[Any],
                    broken: list[tuple[str, str]]) -> dict[str, Any]:
    """captions.json: how each caption was made, so a run record (and a colleague) can tell.

    `opts` is the command's CaptionOptions (its settings decide when a caption can be reused)."""
    from fluxgen import __version__
    from fluxgen.dataset.caption_pass import now_iso

    files = {}
    for record in sorted(records, key=lambda r: r.file):
        entry = record.to_dict()
        entry.pop("file")
        files[record.file] = entry
    return {
        "written_by": f"fluxgen {__version__} dataset caption",
        "created": now_iso(),
        "captioner": opts.captioner,
        "model": model_id,
        "revision": getattr(captioner, "revision", None),
        "prompt": getattr(captioner, "prompt", None) if captioner is not None else opts.prompt,
        "device": getattr(captioner, "device", None),
        "settings": opts.settings(model_id),
        "files": files,
        "skipped": dict(broken),
    }


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def prepared_facts(folder: str | Path) -> dict[str, Any] | None:
    from fluxgen.dataset.outdir import MARKER

    return _read_json(Path(folder) / MARKER)


def caption_provenance(folder: str | Path) -> dict[str, Any] | None:
    """The summary a run record keeps: who captioned, with what, and how many files (not every caption)."""
    data = _read_json(Path(folder) / CAPTIONS_FILE)
    if data is None:
        return None
    keys = ("written_by", "created", "captioner", "model", "revision", "prompt", "settings")
    summary = {k: data.get(k) for k in keys}
    files = data.get("files") or {}
    summary["files"] = len(files)
    summary["by_source"] = {}
    for entry in files.values():
        source = entry.get("source", "model") if isinstance(entry, dict) else "model"
        summary["by_source"][source] = summary["by_source"].get(source, 0) + 1
    return summary
