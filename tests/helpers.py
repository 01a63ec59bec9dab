"""Test helpers importable from every test module (tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# Heavy things slow tests build once and reuse across runs (trainer environments, the wheel's venv). Read before
# any fixture points HOME at a temp folder.
TEST_CACHE = Path(os.environ.get("FLUXGEN_TEST_CACHE") or Path.home() / ".cache" / "fluxgen-tests")


def make_images(folder: Path, n: int, *, size: int = 1024, trigger: str | None = "CSKULL",
                caption: str = "a biomechanical skull on a dark background") -> Path:
    """n distinct JPEGs with one caption each; distinct enough that no duplicate check fires."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = Image.new("RGB", (size, size), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
        draw = ImageDraw.Draw(img)
        step = size // 8
        for k in range(8):
            box = [((i + k) * 29) % (size - step), (k * step), ((i + k) * 29) % (size - step) + step, (k + 1) * step]
            draw.rectangle(box, fill=((i * 11 + k * 60) % 256, (k * 40) % 256, (255 - i * 7) % 256))
        draw.ellipse([size // 4, size // 4, size // 4 + (i * 13) % (size // 2) + 16, size // 2 + (i * 7) % 100],
                     outline=(255, 255, 255), width=max(1, size // 64))
        img.save(folder / f"img_{i:03d}.jpg", quality=90)
        text = f"{trigger}, {caption} number {i}" if trigger else f"{caption} number {i}"
        (folder / f"img_{i:03d}.txt").write_text(text, encoding="utf-8")
    return folder


def cli_run(*args: str, env: dict[str, str] | None = None):
    """Run the CLI in-process and return the click Result (stdout and stderr kept apart)."""
    from click.testing import CliRunner

    from fluxgen.cli import cli

    runner = CliRunner()
    return runner.invoke(cli, list(args), env=env or {}, catch_exceptions=False)


