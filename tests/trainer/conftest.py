"""Fixtures for the tiny model and the builtin trainer: one model and one reference run per session."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxgen.trainer.console import Console


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """The tiny model's ops take microseconds: one thread per test worker beats threads fighting over 2 cores."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fluxgen.tiny import build_tiny_flux

    return build_tiny_flux(tmp_path_factory.mktemp("models") / "tiny-flux", seed=0)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small images of different shapes; two have captions, one uses the [trigger] placeholder."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("data") / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index, (width, height) in enumerate([(80, 72), (64, 96), (64, 64)]):
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{index}.png")
    (folder / "img_0.txt").write_text("a photo of [trigger] on a table\n", encoding="utf-8")
    (folder / "img_1.txt").write_text("a red square", encoding="utf-8")
    return folder


def trainer_config(model: Path, dataset: Path, output: Path) -> dict[str, Any]:
    """A 6-step run that exercises batches, dropout, warmup + cosine, shift sampling, saves and samples."""
    return {
        "model": {"path": str(model), "max_sequence_length": 32},
        "dataset": {"folder": str(dataset), "trigger": "p3r5on", "resolution": 64, "caption_dropout": 0.25},
        "network": {"rank": 4, "alpha": 8.0},
        "train": {
            "steps": 6, "batch_size": 2, "lr": 1.0e-3, "lr_scheduler": "cosine", "warmup_steps": 2,
            "timestep_sampling": "shift", "seed": 7,
        },  # fmt: skip
        "save": {"output_dir": str(output), "name": "tiny", "every": 2, "keep_last": 2, "dtype": "fp32"},
        "sample": {"every": 3, "prompts": ["[trigger] holding a sign", "a cat"], "steps": 2, "size": 32},
        "metadata": {"fluxgen.plan_hash": "abc123", "trigger": "p3r5on", "rank": 4},
    }


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Recorder(Console):
    """Keeps every stdout line; optionally asks the run to stop right after a given line was printed."""

    def __init__(self, stop_after: str | None = None, stop: Any = None):
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        super().__init__(self.stdout, self.stderr)
        self.stop_after = stop_after
        self.stop = stop

    def line(self, text: str) -> None:
        super().line(text)
        if self.stop_after and text.startswith(self.stop_after):
            self.stop.request("SIGINT")

    @property
    def lines(self) -> list[str]:
        return self.stdout.getvalue().splitlines()


@dataclass
class TrainerRun:
    code: int
    lines: list[str]
    stderr: str
    output: Path
    config: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def losses(self) -> dict[int, float]:
        from fluxgen.backends.builtin.console import parse

        return {e.step: e.loss for e in parse(self.lines) if e.type == "progress"}


def run_trainer(config: Path, output: Path, *, resume: bool = False, stop_after: str | None = None) -> TrainerRun:
    """The trainer in-process (as `python -m fluxgen.trainer` runs it), stopping after a line if asked."""
    from fluxgen.trainer.cli import main
    from fluxgen.trainer.loop import Stop

    stop = Stop()
    console = Recorder(stop_after, stop)
    argv = [str(config)] + (["--resume"] if resume else [])
    code = main(argv, console=console, stop=stop)
    return TrainerRun(code, console.lines, console.stderr.getvalue(), output, config)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_dataset: Path) -> TrainerRun:
    """The 6-step run straight through, which the other training tests compare against."""
    root = tmp_path_factory.mktemp("reference")
    config = write_config(root / "config.yaml", trainer_config(tiny_model, tiny_dataset, root / "out"))
    return run_trainer(config, root / "out")


@pytest.fixture
def new_run(tmp_path: Path, tiny_model: Path, tiny_dataset: Path) -> Callable[..., tuple[Path, Path]]:
    """Write the reference config (with changes) into a fresh folder: returns (config, output dir)."""

    def make(change: Callable[[dict[str, Any]], None] | None = None) -> tuple[Path, Path]:
        data = trainer_config(tiny_model, tiny_dataset, tmp_path / "out")
        if change:
            change(data)
        return write_config(tmp_path / "config.yaml", data), tmp_path / "out"

    return make


@pytest.fixture(scope="session")
def trainer() -> Callable[..., TrainerRun]:
    """`trainer(config, output, resume=False, stop_after=None)` runs the builtin trainer in-process."""
    return run_trainer
