"""Trainer-neutral settings that only some trainers can do: each is planned only when the intent gives it (so
plans without it hash as before), rendered by every backend that supports it, and refused with the backend's
reason (`Planner.unsupported()`) where it cannot."""

from __future__ import annotations

from fluxgen.errors import UserError
from fluxgen.rules import Resolver

# intent key -> plan value key
EXTRAS = {
    "network.dropout": "network_dropout",
    "network.blocks": "blocks",
    "train.text_encoder_lr": "text_encoder_lr",
    "train.gradient_accumulation": "gradient_accumulation",
    "logging": "logging",
    "samples.first": "sample_first",
    "train.noise_offset": "noise_offset",
}
LOG_DIR = "logs"  # relative to the run folder, where every trainer is started


def plan_extras(r: Resolver) -> None:
    refused = r.planner.unsupported()
    for key in refused.keys() - EXTRAS.keys() - {"train.loss_type"}:  # planned by the common rules or the backend
        if r.is_given(key) and r.given(key) not in (False, 0, "none"):  # off is what such a trainer does anyway
            raise UserError(f"{r.layered.origins.get(key, 'intent')}: {key}: {r.backend} cannot do this "
                            f"({refused[key]}); remove it or pick another backend")
    for intent_key, value_key in EXTRAS.items():
        if not r.is_given(intent_key):
            continue
        where = r.layered.origins.get(intent_key, "intent")
        if intent_key in refused:
            raise UserError(f"{where}: {intent_key}: {r.backend} cannot do this ({refused[intent_key]}); remove it or "
                            "pick another backend")
        r.take(value_key, intent_key, None, "")
    _plan_loss(r, refused)
    if r.is_given("train.text_encoder_lr") and not r.values["train_text_encoder"]:
        where = r.layered.origins.get("train.text_encoder_lr", "intent")
        raise UserError(f"{where}: train.text_encoder_lr: the text encoder is not trained, so it has no learning "
                        "rate; set network.train_text_encoder: true too, or remove it")


def _plan_loss(r: Resolver, refused: dict[str, str]) -> None:
    """train.loss_type in fluxgen's names; each backend's files spell it the trainer's way (`Planner.losses`)."""
    if not r.is_given("train.loss_type"):
        return
    name, names = r.given("train.loss_type"), r.planner.losses()
    if name not in names:
        where = r.layered.origins.get("train.loss_type", "intent")
        why = refused.get("train.loss_type", f"{r.backend} has no such loss")
        raise UserError(f"{where}: train.loss_type '{name}': {r.backend} cannot do this ({why}); choose one of "
                        f"{', '.join(names) or 'none: remove it'}")
    r.take("loss_type", "train.loss_type", None, "")
