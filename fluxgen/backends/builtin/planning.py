"""Plan values of the builtin trainer: it square-crops, loads cached tensors in-process and picks its dtype from the
device."""

from __future__ import annotations

from fluxgen.rules import Resolver


def plan_settings(r: Resolver) -> None:
    if not r.is_given("train.precision"):
        r.set("precision", "auto", "the builtin trainer picks bf16 on a GPU and fp32 on a CPU")
    r.set("buckets", False, "the builtin trainer centre-crops every image to a square (no aspect buckets)")
    r.values.pop("workers", None)
    r.origins.pop("workers", None)
