"""What each trainer can do. A value no trainer of that name accepts is an error at planning time, naming the intent
key it came from; a value the builtin trainer lacks is replaced by its nearest equivalent, with a warning."""

from __future__ import annotations

import difflib
import importlib.util

from fluxgen.errors import UserError
from fluxgen.rules import Resolver

BUILTIN = {
    "optimizer": (("adamw", "adamw8bit"), "adamw"),
    "lr_scheduler": (("constant", "constant_with_warmup", "cosine", "linear"), None),
    "timestep_sampling": (("sigmoid", "uniform", "shift"), "sigmoid"),
}
NEAREST_SCHEDULER = {"cosine_with_restarts": "cosine", "polynomial": "linear"}
INTENT_KEY = {"optimizer": "train.optimizer", "lr_scheduler": "train.scheduler", "timestep_sampling": "train.timestep_sampling"}
# ai-toolkit's schedulers that take a warm-up (`num_warmup_steps` in lr_scheduler_params).
AI_TOOLKIT_WARMUP = ("constant_with_warmup", "cosine")


def bitsandbytes_available() -> bool:
    """8-bit optimizers need bitsandbytes in the environment the builtin trainer runs in (this one)."""
    return importlib.util.find_spec("bitsandbytes") is not None


def _choices(backend: str) -> dict[str, tuple[str, ...]]:
    from fluxgen.knowledge import ai_toolkit_schema, sd_scripts_args

    if backend == "ai-toolkit":
        c = ai_toolkit_schema().choices
        return {"optimizer": c["optimizers"], "lr_scheduler": c["lr_schedulers"], "timestep_sampling": c["timestep_types"]}
    args = sd_scripts_args()
    return {"optimizer": args["optimizer_type"].known_values, "lr_scheduler": args["lr_scheduler"].known_values,
            "timestep_sampling": args["timestep_sampling"].choices}


def _accepted(backend: str, key: str, value: str, allowed: tuple[str, ...]) -> bool:
    low = value.lower()
    if low in {a.lower() for a in allowed}:
        return True
    if key == "optimizer" and backend == "ai-toolkit":
        return low.startswith(("dadaptation", "prodigy"))
    return key == "optimizer" and backend == "sd-scripts" and "." in value  # a full class path


def check_choices(r: Resolver) -> None:
    """Refuse a value the chosen trainer does not know, naming the intent key and where the value came from."""
    for key, allowed in _choices(r.backend).items():
        value = str(r.values[key])
        if _accepted(r.backend, key, value, allowed):
            continue
        close = difflib.get_close_matches(value.lower(), [a.lower() for a in allowed], n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UserError(f"{INTENT_KEY[key]} '{value}' ({r.origins[key]}): {r.backend} has no such {key.replace('_', ' ')} "
                        f"({hint}choose one of {', '.join(allowed)})")


def plan_capabilities(r: Resolver) -> None:
    if r.backend == "builtin":
        _builtin(r)
        return
    check_choices(r)
    if r.backend == "ai-toolkit" and r.values["warmup_steps"] and r.values["lr_scheduler"] not in AI_TOOLKIT_WARMUP:
        r.warn(f"ai-toolkit's '{r.values['lr_scheduler']}' scheduler takes no warm-up; the {r.values['warmup_steps']} "
               f"warm-up steps ({r.origins['warmup_steps']}) are dropped", "ref:ai-toolkit §2.3")
        r.set("warmup_steps", 0, f"ai-toolkit's '{r.values['lr_scheduler']}' scheduler has no warm-up")


def _builtin(r: Resolver) -> None:
    # adamw8bit stays in the plan (and its hash) whatever this machine has: the builtin trainer falls back to
    # AdamW at launch where bitsandbytes does not import, and says so in the run's log and manifest.
    if r.values["optimizer"].lower() == "adamw8bit" and not bitsandbytes_available():
        r.warn("optimizer adamw8bit needs bitsandbytes, not installed here; a run on this machine trains with adamw "
               "(pip install bitsandbytes for 8-bit)", "builtin trainer", severity="info")
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
