"""The builtin trainer's planning hooks: plain AdamW by default, no quantization, its short lists of optimizers,
schedulers and timestep samplers (a value outside them is replaced by the nearest, with a warning), square crops
and a dtype picked from the device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fluxgen.backends.base import Planner
from fluxgen.errors import UserError
from fluxgen.rules import Resolver

# What fluxgen.trainer implements: key -> (names, the replacement for an unknown one; None: nearest scheduler).
SUPPORTED = {
    "optimizer": (("adamw", "adamw8bit"), "adamw"),
    "lr_scheduler": (("constant", "constant_with_warmup", "cosine", "linear"), None),
    "timestep_sampling": (("sigmoid", "uniform", "shift"), "sigmoid"),
}
NEAREST_SCHEDULER = {"cosine_with_restarts": "cosine", "polynomial": "linear"}


class BuiltinPlanner(Planner):
    def timesteps(self, r: Resolver) -> None:
        r.take("timestep_sampling", "train.timestep_sampling", "sigmoid",
               "sigmoid timestep sampling, as ai-toolkit's default (ref:ai-toolkit §2.3)")

    def memory(self, r: Resolver, tier: int) -> None:
        r.take("optimizer", "train.optimizer", "adamw", "AdamW: runs everywhere, CPU included (seed:004)")
        r.take("optimizer_args", "train.optimizer_args", {}, "optimizer defaults (seed:004)")
        if r.values["optimizer_args"]:
            names = ", ".join(sorted(map(str, r.values["optimizer_args"])))
            r.warn(f"train.optimizer_args ({names}): the builtin trainer runs AdamW with its defaults and takes no "
                   "optimizer arguments, so these are not used; ai-toolkit and sd-scripts pass them on",
                   "builtin trainer")
        if r.values.get("train_text_encoder"):
            raise UserError(f"network.train_text_encoder ({r.origins['train_text_encoder']}): the builtin trainer "
                            "trains the transformer only; set it to false, or use ai-toolkit or sd-scripts")
        base = str(r.given("model.base") or "dev")
        if tier < 48 and not Path(base).expanduser().is_dir():
            r.warn(f"{r.values['vram']} GB: the builtin trainer does not quantize, and FLUX.1 dev in bf16 needs about "
                   "40-48 GB; use ai-toolkit or sd-scripts on smaller cards", "builtin trainer")

    def unsupported(self) -> dict[str, str]:
        """fluxgen's own trainer has none of these (fluxgen/trainer/config.py is its whole schema)."""
        reason = "the builtin trainer has no such setting (docs/builtin-trainer.md)"
        return {"network.dropout": reason, "network.blocks": reason, "train.text_encoder_lr": "the builtin trainer trains no text encoder",
                "train.gradient_accumulation": reason,
                "logging": "the builtin trainer writes its metrics to the console only, which fluxgen records",
                "train.ema": reason, "train.ema_decay": reason, "samples.first": reason,
                "train.loss_type": "the builtin trainer has mse, mae and huber (fluxgen/trainer/flow.py)",
                "train.shuffle_captions": "the builtin trainer trains each caption as written (fluxgen/trainer/data.py)"}

    def losses(self) -> dict[str, str]:
        return {"mse": "mse", "mae": "mae", "huber": "huber"}

    def samples(self, r: Resolver) -> None:
        """The builtin sampler draws every prompt with the same settings and no negative prompt."""
        given = ["samples.negative"] if "sample_negative" in r.values else []
        given += ["per-prompt " + k for k in sorted({k for o in r.values.get("sample_prompt_options", []) for k in o})]
        where = r.origins.get("sample_negative") or r.origins["sample_prompt_options"]
        raise UserError(f"{where}: {', '.join(given)}: the builtin trainer samples every prompt with samples.steps, "
                        "seed, size and guidance and without a negative prompt (fluxgen/trainer/sampling.py); remove "
                        "them, or use ai-toolkit or sd-scripts")

    def datasets(self, r: Resolver, folders: list[Any]) -> None:
        """The builtin trainer reads one folder (`dataset.folder`) and has no regularisation loss."""
        reg = [f for f in folders if f.is_reg]
        if reg:
            raise UserError(f"{reg[0].key.replace('.path', '.is_reg')}: the builtin trainer has no regularisation "
                            "images (it trains one folder); use ai-toolkit or sd-scripts, or drop this folder")
        if len(folders) > 1:
            raise UserError(f"{folders[1].key}: the builtin trainer reads one image folder (dataset.folder); "
                            "use ai-toolkit, sd-scripts or simpletuner for several, or list one folder")

    def settings(self, r: Resolver) -> None:
        if not r.is_given("train.precision"):
            r.set("precision", "auto", "the builtin trainer picks bf16 on a GPU and fp32 on a CPU")
        r.set("buckets", False, "the builtin trainer centre-crops every image to a square (no aspect buckets)")
        r.values.pop("workers", None)
        r.origins.pop("workers", None)
        unused = [f"{key} {r.given(key)}" for key in ("dataset.buckets", "train.workers") if r.given(key)]
        if unused:  # hints of presets written for other trainers: said, not refused
            r.warn(f"{', '.join(unused)}: the builtin trainer centre-crops every image to a square and loads images "
                   "in its training process (fluxgen/trainer/data.py), so these are not used", "builtin trainer")

    def choices(self) -> dict[str, tuple[str, ...]]:
        return {key: names for key, (names, _) in SUPPORTED.items()}

    def capabilities(self, r: Resolver) -> None:
        """A name the builtin trainer lacks is replaced by its nearest equivalent, with a warning."""
        from fluxgen.rules import capabilities

        # adamw8bit stays in the plan (and its hash) whatever this machine has: the builtin trainer falls back to
        # AdamW at launch where bitsandbytes does not import, and says so in the run's log and manifest.
        if r.values["optimizer"].lower() == "adamw8bit" and not capabilities.bitsandbytes_available():
            r.warn("optimizer adamw8bit needs bitsandbytes, not installed here; a run on this machine trains with "
                   "adamw (pip install bitsandbytes for 8-bit)", "builtin trainer", severity="info")
        for key, (allowed, fallback) in SUPPORTED.items():
            value = r.values[key]
            if value.lower() in allowed:
                r.values[key] = value.lower()
                continue
            replacement = NEAREST_SCHEDULER.get(value, "constant") if fallback is None else fallback
            origin = r.origins[key]
            r.set(key, replacement, f"the builtin trainer has no '{value}' ({', '.join(allowed)}); nearest is "
                  f"'{replacement}'")
            r.warn(f"{key} '{value}' (from {origin}) is not available in the builtin trainer; using '{replacement}'",
                   "builtin trainer", severity="warning")


PLANNER = BuiltinPlanner()
