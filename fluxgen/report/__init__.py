"""`write_report`: a run folder → `report.html` (self-contained, images inlined) and `loss.png` (Pillow).

The report is one file a user can open offline, attach to a bug report or keep next to the LoRA: no
external URL, no script, thumbnails downscaled so it stays small.
"""

from __future__ import annotations

from pathlib import Path

from fluxgen.report.run import Run, load_run

__all__ = ["Run", "load_run", "write_report"]


def write_report(run_dir: Path) -> tuple[Path, Path]:
    """Write RUN/report.html and RUN/loss.png (replacing earlier ones) and return their paths."""
    from fluxgen.fsio import atomic_write
    from fluxgen.report.html import render_html
    from fluxgen.report.plot import draw_loss_png

    run = load_run(Path(run_dir))
    steps = [c["step"] for c in run.checkpoints if c["step"] is not None]
    png = draw_loss_png(run.points, steps, run.planned_steps)
    png_path, html_path = run.dir / "loss.png", run.dir / "report.html"
    atomic_write(png_path, png, force=True)
    atomic_write(html_path, render_html(run, png), force=True)
    return html_path, png_path
