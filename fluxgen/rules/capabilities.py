"""What each trainer can do. A value no trainer of that name accepts is an error at planning time, naming the intent
key it came from; the backend's planner decides (its `capabilities` hook), and may instead replace a value it lacks
by its nearest equivalent, with a warning (the builtin trainer does)."""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Callable

from fluxgen.errors import UserError
from fluxgen.rules import Resolver

INTENT_KEY = {"optimizer": "train.optimizer", "lr_scheduler": "train.scheduler", "timestep_sampling": "train.timestep_sampling"}


def bitsandbytes_available() -> bool:
    """8-bit optimizers need bitsandbytes in the environment the builtin trainer runs in (this one)."""
    return importlib.util.find_spec("bitsandbytes") is not None


def check_choices(r: Resolver, choices: dict[str, tuple[str, ...]], accepts: Callable[[str, str], bool]) -> None:
    """Refuse a value the chosen trainer does not know, naming the intent key and where the value came from."""
    for key, allowed in choices.items():
        value = str(r.values[key])
        if value.lower() in {a.lower() for a in allowed} or accepts(key, value):
            continue
        close = difflib.get_close_matches(value.lower(), [a.lower() for a in allowed], n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UserError(f"{INTENT_KEY[key]} '{value}' ({r.origins[key]}): {r.backend} has no such {key.replace('_', ' ')} "
                        f"({hint}choose one of {', '.join(allowed)})")


def plan_capabilities(r: Resolver) -> None:
    r.planner.capabilities(r)
