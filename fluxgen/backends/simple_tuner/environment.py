"""Where SimpleTuner's Python is, and how `fluxgen setup` builds it.

SimpleTuner is a PyPI package that needs Python >= 3.12, so it lives in its own environment: found like every
trainer's (`fluxgen.checkouts.locate`) through `$FLUXGEN_SIMPLETUNER_PYTHON`, then `python = "…"` under
`[simpletuner]` in fluxgen's user config, then the environment `fluxgen setup simpletuner` makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fluxgen.backends.base import EnvRecipe

if TYPE_CHECKING:
    from fluxgen.checkouts import TrainerEnv

NAME = "simpletuner"
PIN = "4.10.1"
PYTHON_VAR = "FLUXGEN_SIMPLETUNER_PYTHON"
REQUIRED_MODULES = ("simpletuner", "torch", "diffusers", "transformers", "accelerate", "peft", "optimum.quanto",
                    "safetensors", "sentencepiece")


def recipe() -> EnvRecipe:
    """torch 2.13.0 first, then simpletuner with `constraints-4.10.1.txt` (transformers 5.23.0 breaks its import); the
    sitecustomize makes `Tensor.pin_memory` a no-op where no accelerator answers, since its collate pins every
    batch."""
    return EnvRecipe(source="pypi", pin=PIN, python="3.12", package="simpletuner", constraints="constraints-4.10.1.txt",
                     torch_first=("torch==2.13.0",), sitecustomize="sitecustomize.py",
                     required_modules=REQUIRED_MODULES, entry="simpletuner.train")


def locate(environ: dict[str, str] | None = None) -> TrainerEnv:
    """The SimpleTuner Python and where the choice came from, found as every trainer's is
    (`fluxgen.checkouts.locate`); `doctor` checks it works."""
    from fluxgen.checkouts import locate as locate_trainer

    return locate_trainer(NAME, environ)
