"""`sweep report`: one self-contained HTML page with the points side by side — loss curves overlaid (inline SVG),
the final samples of each, and `fluxgen eval`'s metrics and recommendation where a run folder has them."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from fluxgen.fsio import atomic_write
from fluxgen.runs.sweep.state import point_run_dir, read_sweep
from fluxgen.runs.sweep.view import rows

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22")
W, H, PAD = 720, 320, 44
EVAL_FILES = ("eval.json", "eval/eval.json")  # where `fluxgen eval` leaves its results in a run folder


def curves(sweep_dir: Path, data: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """Loss by step for each trained point; a step trained twice (a resume) keeps its last value."""
    from fluxgen.report.run import load_run

    out: dict[str, list[tuple[int, float]]] = {}
    for point in data["points"]:
        run_dir = None if point.get("same_as") else point_run_dir(sweep_dir, point["id"])
        if run_dir is not None:
            out[point["id"]] = sorted(dict(load_run(run_dir).points).items())
    return out


def svg(lines: dict[str, list[tuple[int, float]]]) -> str:
    """Overlaid polylines with min/max labels; one colour per point, as in the table."""
    pts = [p for line in lines.values() for p in line]
    if not pts:
        return "<p>No loss recorded yet.</p>"
    x0, x1 = min(s for s, _ in pts), max(s for s, _ in pts)
    y0, y1 = min(v for _, v in pts), max(v for _, v in pts)
    sx = (W - 2 * PAD) / max(x1 - x0, 1)
    sy = (H - 2 * PAD) / ((y1 - y0) or 1.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-size="11">',
             f'<rect x="{PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" fill="none" stroke="#999"/>',
             f'<text x="{PAD}" y="{H - PAD + 16}">step {x0}</text>',
             f'<text x="{W - PAD}" y="{H - PAD + 16}" text-anchor="end">step {x1}</text>',
             f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{y1:.3g}</text>',
             f'<text x="{PAD - 4}" y="{H - PAD}" text-anchor="end">{y0:.3g}</text>']
    for i, (point_id, line) in enumerate(lines.items()):
        coords = " ".join(f"{PAD + (s - x0) * sx:.1f},{H - PAD - (v - y0) * sy:.1f}" for s, v in line)
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}">'
                     f"<title>{html.escape(point_id)}</title></polyline>")
    return "\n".join([*parts, "</svg>"])


def _final_samples(sweep_dir: Path, run_rel: str | None) -> list[dict[str, Any]]:
    """The samples of the run's last sampled step, as thumbnails (data URIs)."""
    from fluxgen.report.html import _thumb
    from fluxgen.runs.manifest import read_manifest

    if not run_rel:
        return []
    run_dir = sweep_dir / run_rel
    samples = read_manifest(run_dir).samples
    last = max((s.get("step") or 0 for s in samples), default=None)
    return [t for s in samples if (s.get("step") or 0) == last and (t := _thumb(run_dir, s.get("path")))]


def _eval(sweep_dir: Path, run_rel: str | None) -> dict[str, Any] | None:
    for name in EVAL_FILES:
        path = sweep_dir / (run_rel or "-") / name
        if run_rel and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                return None
            return data if isinstance(data, dict) else None
    return None


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape("-" if value is None else str(value))


def render(sweep_dir: Path) -> str:
    data = read_sweep(sweep_dir)
    table, lines = rows(sweep_dir, data), curves(sweep_dir, data)
    keys = list(data["grid"])
    colour = {pid: COLOURS[i % len(COLOURS)] for i, pid in enumerate(lines)}
    head = "".join(f"<th>{html.escape(k)}</th>" for k in ["point", *keys, "state", "step", "loss", "diagnosis",
                                                          "run folder"])
    body, cards = [], []
    for r in table:
        source = r["same_as"] or r["point"]
        swatch = f'<span style="color:{colour.get(source, "#000")}">&#9632;</span> '
        cells = [swatch + html.escape(r["point"]), *[_cell(r["values"].get(k)) for k in keys], _cell(r["state"]),
                 f"{_cell(r['step'])}/{_cell(r['total'])}", _cell(r["loss"]),
                 _cell(r["diagnosis"] or (f"same plan as {r['same_as']}" if r["same_as"] else None)),
                 _cell(r["run_dir"])]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        if r["same_as"]:
            continue
        thumbs = "".join(f'<img src="{t["uri"]}" title="{html.escape(t["path"])}">' for t in
                         _final_samples(sweep_dir, r["run_dir"]) if t.get("uri"))
        ev = _eval(sweep_dir, r["run_dir"])
        ev_html = "" if ev is None else (
            f"<p><b>fluxgen eval</b>: {html.escape(json.dumps(ev.get('recommendation'))[:500])}</p>"
            f"<details><summary>eval.json</summary><pre>{html.escape(json.dumps(ev, indent=1)[:4000])}</pre></details>")
        values = " ".join(f"{k}={v}" for k, v in r["values"].items())
        cards.append(f'<div class="card"><h3>{swatch}{html.escape(r["point"])}: {html.escape(values)}</h3>'
                     f"<div>{thumbs or 'no samples'}</div>{ev_html}</div>")
    title = html.escape(Path(sweep_dir).resolve().name)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>sweep {title}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:3px 8px}.card{display:inline-block;vertical-align:top;margin:8px;padding:8px;"
            "border:1px solid #ddd}.card img{width:128px;margin:2px}</style></head><body>"
            f"<h1>sweep {title}</h1><p>{len(table)} points, backend {html.escape(str(data.get('backend')))}, "
            f"executor {html.escape(data['executor']['name'])}</p>"
            f"<table><tr>{head}</tr>{''.join(body)}</table><h2>Loss</h2>{svg(lines)}"
            f"<h2>Final samples</h2>{''.join(cards)}</body></html>\n")


def write_sweep_report(sweep_dir: Path) -> Path:
    out = Path(sweep_dir) / "sweep-report.html"
    atomic_write(out, render(Path(sweep_dir)), force=True)
    return out
