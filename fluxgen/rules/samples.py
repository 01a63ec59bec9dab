"""Sample prompts during training: the guides' flexibility tests for the kind, with a fixed seed."""

from __future__ import annotations

from fluxgen.rules import Resolver

# `[trigger]` is replaced by the trigger word when rendering.
PROMPTS_BY_KIND = {
    "subject": (
        [
            "A watercolor painting of [trigger]",
            "[trigger] rendered in a Pixar-like 3D style",
            "A sketch of [trigger] on paper, rough pencil drawing",
            "Photograph of [trigger] in a museum, 35mm film",
        ],
        "flexibility tests: watercolor, Pixar-like 3D, pencil sketch, 35 mm photo (seed:000)",
    ),
    "style": (
        [
            "a lighthouse on a cliff at dusk, in [trigger] style",
            "portrait of an old fisherman, in [trigger] style",
            "a bowl of fruit on a wooden table, in [trigger] style",
            "a city street in the rain, in [trigger] style",
        ],
        "unrelated subjects in the style, to test it transfers (seed:000, seed:001)",
    ),
    "character": (
        [
            "[trigger], beautiful portrait, soft natural lighting, shallow depth of field, professional photography",
            "[trigger] wearing elegant black dress, standing in modern apartment, golden hour lighting, full body shot",
            "[trigger] sitting at cafe, drinking coffee, candid shot, natural lighting",
            "A watercolor painting of [trigger]",
        ],
        "the character guide's test prompts plus a style change (seed:003, seed:000)",
    ),
    "concept": (
        [
            "[trigger] on a wooden table, studio lighting",
            "A watercolor painting of [trigger]",
            "A sketch of [trigger] on paper, rough pencil drawing",
            "Photograph of [trigger] outdoors, 35mm film",
        ],
        "the concept in new contexts and styles (seed:000)",
    ),
}


def plan_samples(r: Resolver) -> None:
    prompts, why = PROMPTS_BY_KIND[r.kind]
    if not r.values["trigger"]:
        prompts = [p.replace("[trigger]", "the subject") if r.kind != "style" else p.replace(", in [trigger] style", "")
                   for p in prompts]
    r.take("sample_prompts", "samples.prompts", list(prompts), why)
    _prompt_options(r)
    r.take("sample_every", "samples.every", r.values["save_every"], "sample at every save, to compare checkpoints (seed:000)")
    r.take("sample_seed", "samples.seed", 42, "fixed sample seed, as ai-toolkit's FLUX example (ref:ai-toolkit §3)")
    schnell = r.values.get("base_model_kind") == "schnell"
    r.take("sample_steps", "samples.steps", 4 if schnell else 20,
           "sampling steps of ai-toolkit's FLUX examples (ref:ai-toolkit §3)")
    r.take("sample_guidance", "samples.guidance", 1.0 if schnell else 4.0,
           "sampling guidance of ai-toolkit's FLUX examples (ref:ai-toolkit §3)")
    r.values["sample_guidance"] = float(r.values["sample_guidance"])
    r.take("sample_size", "samples.size", max(r.values["resolution"]), "samples at the training resolution (seed:000)")
    if "sample_negative" in r.values or "sample_prompt_options" in r.values:
        r.planner.samples(r)  # the trainer refuses what it cannot sample and says what it ignores


OPTION_KEYS = ("negative", "steps", "seed", "size", "guidance")


def _prompt_options(r: Resolver) -> None:
    """Prompts given as mappings: the texts stay in `sample_prompts`; what a prompt sets for itself goes to
    `sample_prompt_options` (one mapping per prompt), planned only when given so other plans hash as before."""
    given = r.given("samples.prompts") or []
    r.values["sample_prompts"] = [p if isinstance(p, str) else p.prompt for p in given] or r.values["sample_prompts"]
    options = [{} if isinstance(p, str) else {k: getattr(p, k) for k in OPTION_KEYS if getattr(p, k) is not None}
               for p in given]
    if any(options):
        r.values["sample_prompt_options"] = options
        r.origins["sample_prompt_options"] = r.layered.origins.get("samples.prompts", "intent")
    if r.is_given("samples.negative"):
        r.take("sample_negative", "samples.negative", None, "")

