"""What each trainer can do: a value the trainer lacks is replaced by its nearest equivalent, with a warning."""

from __future__ import annotations

import importlib.util

from fluxgen.rules import Resolver

BUILTIN = {
    "optimizer": (("adamw", "adamw8bit"), "adamw"),
    "lr_scheduler": (("constant", "constant_with_warmup", "cosine", "linear"), None),
    "timestep_sampling": (("sigmoid", "uniform", "shift"), "sigmoid"),
}
NEAREST_SCHEDULER = {"cosine_with_restarts": "cosine", "polynomial": "linear"}


def bitsandbytes_available() -> bool:
    """8-bit optimizers need bitsandbytes in the environment the builtin trainer runs in (this one)."""
    return importlib.util.find_spec("bitsandbytes") is not None


def plan_capabilities(r: Resolver) -> None:
    if r.backend != "builtin":
        return
    if r.values["optimizer"].lower() == "adamw8bit" and not bitsandbytes_available():
        origin = r.origins["optimizer"]
        r.set("optimizer", "adamw", "8-bit AdamW needs bitsandbytes, which is not installed here: plain AdamW")
        r.warn(f"optimizer adamw8bit (from {origin}) needs bitsandbytes, not installed here; the builtin trainer "
               "uses adamw (pip install bitsandbytes for 8-bit)", "builtin trainer", severity="info")
    for key, (allowed, fallback) in BUILTIN.items():
        value = r.values[key]
        if value.lower() in allowed:
            r.values[key] = value.lower()
            continue
        replacement = NEAREST_SCHEDULER.get(value, "constant") if fallback is None else fallback
        origin = r.origins[key]
        r.set(key, replacement, f"the builtin trainer has no '{value}' ({', '.join(allowed)}); nearest is '{replacement}'")
        r.warn(f"{key} '{value}' (from {origin}) is not available in the builtin trainer; using '{replacement}'",
               "builtin trainer", severity="warning")
