"""The HTML page: one file with inline CSS, images as data URIs, every user string escaped."""

from __future__ import annotations

import base64
import functools
import io
import json
import math
import shlex
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fluxgen.errors import UserError
from fluxgen.paths import TEMPLATES_DIR
from fluxgen.report.run import Run, as_int, resolve

if TYPE_CHECKING:
    from fluxgen.runs.manifest import RunManifest

THUMB_PX = 256  # longest side of an inlined sample thumbnail (JPEG)
THUMB_QUALITY = 80
MAX_SAMPLE_ROWS = 12  # checkpoints shown in the sample grid (first, last, evenly spaced between)
MAX_SAMPLE_COLS = 10  # prompts shown per checkpoint


def render_html(run: Run, loss_png: bytes) -> str:
    """Fill the report template; jinja2 autoescaping escapes every string that came from the user."""
    return _template().render(**_context(run, loss_png))


@functools.cache
def _template():
    """HTML needs autoescape on, unlike the trainer-config environment, so the report keeps its own."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "report"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    env.filters["size"] = _human_size
    env.filters["show"] = _show
    env.filters["code"] = _code_spans
    return env.get_template("report.html.j2")


def _context(run: Run, loss_png: bytes) -> dict[str, Any]:
    m, plan, values, status = run.manifest, run.plan, run.values, run.status
    argv = (run.command or {}).get("argv") or []
    evaluation = _evaluation(run)  # read and encoded once: the section and the checklist both show it
    return {
        "name": values.get("name") or run.dir.name,
        "status": status,
        "header": _header(run, values, status),
        "diagnosis": _fields(m.diagnosis, "code", "message", "fix") if status != "completed" else None,
        "plan_rows": [(k, v, (plan.get("origins") or {}).get(k, "")) for k, v in values.items()],
        "warnings": [_fields(w if isinstance(w, dict) else {"message": w}, "message", "origin")
                     for w in plan.get("warnings") or []],
        "dataset": _fields(m.dataset or {}, "path", "images", "fingerprint"),
        "lint": _lint(run.lint),
        "loss_uri": "data:image/png;base64," + base64.b64encode(loss_png).decode("ascii"),
        "points": len(run.points),
        "samples": _sample_grid(run),
        "evaluation": evaluation,
        "checklist": _checklist(evaluation),
        "checkpoints": run.checkpoints,
        "final_lora": _final_lora(run),
        "command": shlex.join(str(a) for a in argv) if argv else "",
        "cwd": (run.command or {}).get("cwd") or "",
        "env": sorted(((run.command or {}).get("env") or {}).items()),
        "environment": _environment(m, plan.get("hash")),
        "attempts": [a.model_dump(exclude_unset=True) for a in m.attempts],
        "log_tail": run.log_tail if status != "completed" else [],
    }


def _header(run: Run, values: dict[str, Any], status: str) -> list[tuple[str, Any]]:
    m = run.manifest
    last = max((s for s, _ in run.points), default=None)
    planned = run.planned_steps
    steps = f"{last if last is not None else '-'} / {planned}" if planned else (last or "-")
    speed = f"{sorted(run.speeds)[len(run.speeds) // 2]:.2f} s/it (median)" if run.speeds else "-"
    rows = [("backend", m.backend or values.get("backend") or "-"), ("kind", values.get("kind") or "-"),
            ("trigger", values.get("trigger") or "-"), ("steps", steps),
            ("duration", _attempts_duration(m) or _duration(m.started, m.ended, status)),
            ("speed", speed),
            ("last loss", f"{run.points[-1][1]:.4g}" if run.points else "-"),
            ("exit code", m.exit_code), ("plan hash", _short_hash(run.plan.get("hash")))]
    return [(k, v) for k, v in rows if v is not None]


def _short_hash(value: Any) -> str | None:
    """`sha256:01234567…`: enough to compare runs at a glance; the full hash is under versions."""
    if not value:
        return None
    text = str(value)
    return text if len(text) <= 16 else text[:15] + "…"


def _duration(started: Any, ended: Any, status: str) -> str:
    try:
        seconds = (datetime.fromisoformat(str(ended)) - datetime.fromisoformat(str(started))).total_seconds()
    except (TypeError, ValueError):
        return "still running" if status == "running" else "-"
    hours, rest = divmod(int(max(seconds, 0)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else (f"{minutes} min {secs:02d} s" if minutes else f"{secs} s")


def _code_spans(text: Any) -> Any:
    """Fixes name commands and options in `backticks`: shown as code, the rest escaped."""
    import re

    from markupsafe import Markup, escape

    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _attempts_duration(m: RunManifest) -> str | None:
    """Training time is the sum of the attempts, not the calendar time from the first start to the last end (a run
    resumed the next day did not train overnight)."""
    attempts = m.attempts
    seconds = [a.seconds for a in attempts]
    if len(attempts) < 2 or not all(isinstance(x, int | float) for x in seconds):
        return None
    total = int(sum(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours} h {minutes:02d} min" if hours else (f"{minutes} min {secs:02d} s" if minutes else f"{secs} s")
    return f"{text} in {len(attempts)} attempts"


def _plural(n: int, level: str) -> str:
    word = {"info": "note"}.get(level, level)
    return f"{n} {word}{'' if n == 1 else 's'}"


def _lint(lint: Any) -> dict[str, Any] | None:
    if not isinstance(lint, dict):
        return None
    findings = [_fields(dict(f, severity=f.get("severity") or "finding", code=f.get("id") or f.get("code")),
                        "severity", "code", "message", "path")
                for f in lint.get("findings") or [] if isinstance(f, dict)]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    return {"counts": counts, "count_text": ", ".join(_plural(n, level) for level, n in counts.items()),
            "summary": lint.get("summary") or {}, "findings": findings[:50],
            "hidden": max(len(findings) - 50, 0)}


def _evaluation(run: Run) -> dict[str, Any] | None:
    from fluxgen.evaluate.section import report_section

    return report_section(run.dir)


def _checklist(evaluation: dict[str, Any] | None) -> list[dict[str, str]]:
    from fluxgen.report.checklist import checklist

    return checklist(evaluation)


def _sample_grid(run: Run) -> dict[str, Any]:
    """Rows = checkpoint steps, columns = prompt index; thumbnails inlined as JPEG data URIs."""
    samples = run.manifest.samples
    cells: dict[tuple[int, int], str] = {}
    prompts: dict[int, str] = {}
    for s in samples:
        step, index = as_int(s.get("step")), as_int(s.get("index"))
        if step is None or index is None:
            continue
        cells[(step, index)] = str(s.get("path", ""))
        if s.get("prompt") and index not in prompts:
            prompts[index] = str(s["prompt"])
    steps = sorted({k[0] for k in cells})
    cols = sorted({k[1] for k in cells})
    shown_steps = _spread(steps, MAX_SAMPLE_ROWS)
    shown_cols = cols[:MAX_SAMPLE_COLS]
    rows = [(step, [_thumb(run.dir, cells.get((step, c))) for c in shown_cols]) for step in shown_steps]
    return {"columns": [(c, prompts.get(c, "")) for c in shown_cols], "rows": rows,
            "hidden_rows": len(steps) - len(shown_steps), "hidden_cols": len(cols) - len(shown_cols)}


def _spread(items: list[int], limit: int) -> list[int]:
    if len(items) <= limit:
        return items
    picks = {round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)}
    return [items[i] for i in sorted(picks)]


def _thumb(run_dir: Path, path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from PIL import Image, UnidentifiedImageError

    file = resolve(run_dir, path)
    try:
        with Image.open(file) as img:
            img = img.convert("RGB")
            img.thumbnail((THUMB_PX, THUMB_PX))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=THUMB_QUALITY)
    except (OSError, UnidentifiedImageError, ValueError):
        return {"path": path, "uri": None, "href": None}
    uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    # the full-size image opens when the report is viewed inside its run folder; quoting keeps it a plain path
    return {"path": path, "uri": uri, "href": quote(path, safe="/")}


def _final_lora(run: Run) -> dict[str, Any] | None:
    final = run.manifest.final_lora
    if not final or not resolve(run.dir, str(final)).is_file():
        return None
    from fluxgen.lora import inspect_lora

    try:
        return dict(inspect_lora(resolve(run.dir, str(final))).to_dict(), error=None)
    except UserError as exc:
        return {"error": str(exc)}


def _environment(m: RunManifest, plan_hash: Any) -> list[tuple[str, Any]]:
    trainer = m.trainer or {}
    rows = [("plan hash", plan_hash), ("fluxgen", m.fluxgen_version), ("trainer pin", trainer.get("pin")),
            ("trainer commit", trainer.get("commit")), ("python", m.python), ("gpu", m.gpu),
            ("started", m.started), ("ended", m.ended)]
    rows += [(f"package {k}", v) for k, v in sorted((m.packages or {}).items())]
    return [(k, v) for k, v in rows if v not in (None, "")]


def _fields(raw: Any, *names: str) -> dict[str, Any] | None:
    """A record with exactly the keys the template reads (missing ones None), so partial files render."""
    if not isinstance(raw, dict):
        return None if raw is None else {n: (str(raw) if i == 0 else None) for i, n in enumerate(names)}
    return {n: raw.get(n) for n in names}


def _human_size(n: Any) -> str:
    if n is None:
        return "missing"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _show(value: Any) -> str:
    """Plan values as text: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return json.dumps(value, ensure_ascii=False)
