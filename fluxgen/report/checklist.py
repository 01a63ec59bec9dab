"""seed:003's quality checklist as a report section: which items `fluxgen eval` measured (with its figures) and
which a person must look at. An item is never ticked for the user: a measure is evidence, not a verdict."""

from __future__ import annotations

from typing import Any

# (item as seed:003 words it, what eval measures for it or None, what a person checks)
ITEMS = (
    ("Face is consistent across 10+ generations", "dino",
     "DINO similarity of the generated images to the training images, at the recommended step and strength"),
    ("Body proportions are accurate", None, "look at the samples and contact sheets"),
    ("Works with different prompts", "clip_t",
     "CLIP image–prompt agreement over the eval prompts (ΔCLIP-T against the base model shows lost flexibility)"),
    ("No obvious artifacts", None, "look at the samples and contact sheets at full size"),
    ("Works at different LoRA strengths", "strengths", "eval renders every checkpoint at several strengths"),
    ("Compatible with your target model version", None,
     "load the LoRA where you will use it (ComfyUI, Forge, diffusers) with your base model"),
)


def checklist(evaluation: dict[str, Any] | None) -> list[dict[str, str]]:
    """One row per item: `measured` with the figure when eval ran and measures it, else `look` or `not measured`."""
    rows = []
    choice = (evaluation or {}).get("choice") or {}
    strengths = sorted({r.get("strength") for r in (evaluation or {}).get("rows") or [] if r.get("strength")})
    for item, metric, how in ITEMS:
        if metric is None:
            rows.append({"item": item, "status": "look", "how": how})
        elif evaluation is None:
            rows.append({"item": item, "status": "not measured", "how": f"{how}: run `fluxgen eval RUN` first"})
        elif metric == "strengths":
            shown = ", ".join(str(s) for s in strengths) or "none"
            rows.append({"item": item, "status": "measured", "how": f"{how}: strengths {shown}; look at the sheets"})
        elif metric in choice:
            rows.append({"item": item, "status": "measured",
                         "how": f"{how}: {metric.upper().replace('_', '-')} {choice[metric]:.3f}; confirm by eye"})
        else:
            rows.append({"item": item, "status": "not measured", "how": f"{how}: eval made no recommendation"})
    return rows
