"""The report's "Evaluation" section, read from RUN/eval/eval.json: the recommendation, its rule, curves, sheets."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

SHEET_MAX_PX = 1200


def report_section(run_dir: Path) -> dict[str, Any] | None:
    """None when the run has not been evaluated (or eval.json is unreadable: the report must still render)."""
    path = Path(run_dir) / "eval" / "eval.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    rec = data.get("recommendation") or {}
    choice = rec.get("choice")
    folder = path.parent
    return {
        "choice": choice and {**choice, "file": Path(choice["checkpoint"]).name},
        "why": rec.get("why", ""),
        "rule": rec.get("rule") or [],
        "models": data.get("metric_models") or {},
        "rows": [r for r in data.get("summary") or [] if r.get("strength")],
        "curves": _uri(folder / (data.get("curves") or {}).get("file", "curves.png")),
        "sheets": [{"prompt": s["prompt"], "uri": _uri(folder / s["file"]), "href": f"eval/{s['file']}"}
                   for s in data.get("sheets") or []],
        "cells": len(data.get("cells") or []),
    }


def _uri(path: Path) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            img.thumbnail((SHEET_MAX_PX, SHEET_MAX_PX))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=85)
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
