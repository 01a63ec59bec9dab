"""What each trainer can do: a value the trainer lacks is replaced by its nearest equivalent, with a warning."""

from __future__ import annotations

from fluxgen.rules import Resolver

BUILTIN = {
    "optimizer": (("adamw", "adamw8bit"), "adamw"),
    "lr_scheduler": (("constant", "constant_with_warmup", "cosine", "linear"), None),
    "timestep_sampling": (("sigmoid", "uniform", "shift"), "sigmoid"),
}
NEAREST_SCHEDULER = {"cosine_with_restarts": "cosine", "polynomial": "linear"}


def plan_capabilities(r: Resolver) -> None:
    if r.backend != "builtin":
        return
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
