"""`sweep status` rows and the end-of-sweep table: point, values, state, step, loss, diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fluxgen.runs.sweep.state import point_state


def rows(sweep_dir: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per point, read live from the run folders; a duplicate point shows the run it shares."""
    out = []
    jobs = data.get("jobs") or {}
    for point in data["points"]:
        state = point_state(sweep_dir, point)
        diagnosis = state["diagnosis"] or {}
        job = jobs.get(point.get("same_as") or point["id"]) or {}
        out.append({"point": point["id"], "values": point["values"], "state": state["state"], "step": state["step"],
                    "total": state["total"], "loss": state["loss"], "diagnosis": diagnosis.get("code"),
                    "message": diagnosis.get("message"), "run_dir": state["run_dir"],
                    "same_as": point.get("same_as"), "job": job.get("job_id") or job.get("job_name") or job.get("pid"),
                    "plan_hash": point.get("plan_hash")})
    return out


def table_lines(table: list[dict[str, Any]]) -> list[str]:
    """A plain aligned table (the same on a terminal and in a log)."""
    head = ["point", "values", "state", "step", "loss", "diagnosis"]
    body = []
    for r in table:
        values = " ".join(f"{k}={v}" for k, v in r["values"].items())
        step = f"{r['step'] if r['step'] is not None else '-'}/{r['total'] or '-'}"
        loss = f"{r['loss']:.4g}" if isinstance(r["loss"], (int, float)) else "-"
        diagnosis = r["diagnosis"] or (f"same plan as {r['same_as']}" if r["same_as"] else "-")
        body.append([r["point"], values, r["state"], step, loss, diagnosis])
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [head, *body]]
