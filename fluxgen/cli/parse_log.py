"""`fluxgen parse-log --backend B FILE… [--json]`: a saved trainer console log as events and a diagnosis."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from fluxgen.backends import BACKENDS

BACKEND_CHOICES = BACKENDS.choices()


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: a non-finite loss becomes null (its error event says what it was)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


@click.command("parse-log")
@click.option(
    "--backend",
    "-b",
    required=True,
    type=click.Choice(BACKEND_CHOICES, case_sensitive=False),
    help="The trainer that wrote the log (kohya = sd-scripts).",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: {events, summary}.")
def parse_log_cmd(backend: str, files: tuple[Path, ...], as_json: bool) -> None:
    """Read saved console logs of one run and print its events, status and diagnosis.

    Several FILES are the streams of one run (e.g. its stdout and stderr). The status is judged from the text
    alone: `completed` needs the final save, a log that just stops is `running`. Exits 0 whatever the status.
    """
    from fluxgen.backends import canonical_name
    from fluxgen.monitor.describe import describe
    from fluxgen.monitor.diagnose import summarize
    from fluxgen.monitor.streams import parse_files

    name = canonical_name(backend)
    events, origin = parse_files(name, files)
    summary = summarize(events, backend=name)
    if as_json:
        several = len(files) > 1
        rows = [dict(e.to_dict(), file=origin[id(e)]) if several else e.to_dict() for e in events]
        click.echo(json.dumps(_finite({"events": rows, "summary": summary.to_dict()}), ensure_ascii=False))
        return

    def where(event: Any) -> str:
        line = f"{event.line}" if event.line is not None else "?"
        return f"{origin[id(event)]}:{line}" if len(files) > 1 else f"line {line}"

    click.echo(describe(events, summary, origin=where), nl=False)
