"""Rank and alpha by kind; what the LoRA trains."""

from __future__ import annotations

from fluxgen.rules import Resolver

RANK_BY_KIND = {
    "subject": (32, "rank 32 for a subject: detail without overfitting (seed:000)"),
    "style": (32, "start a style at rank 32, raise to 64 only if weak (seed:000); seed:001's kohya recipe trains "
                  "styles at 16, and the kohya-style preset follows it"),
    "character": (16, "rank 16 for a character; 32 for fine detail (seed:003)"),
    "concept": (16, "rank 16, the default config of the concept recipe (seed:002)"),
}


def plan_network(r: Resolver) -> None:
    rank_default, why = RANK_BY_KIND[r.kind]
    rank = r.take("rank", "network.rank", rank_default, why)
    r.take("alpha", "network.alpha", float(rank), "alpha = rank (design card, seed:000)")
    r.values["alpha"] = float(r.values["alpha"])
    r.take(
        "train_text_encoder", "network.train_text_encoder", False,
        "train the FLUX transformer only; text-encoder training is not needed (seed:000)",
    )
    if r.values["train_text_encoder"]:
        r.warn(f"network.train_text_encoder ({r.origins['train_text_encoder']}): the LoRA also trains the text "
               "encoders: more memory, and a LoRA that changes CLIP-L (and T5-XXL in ai-toolkit); the guides train "
               "the transformer only", "seed:000", severity="info")
    if r.kind == "style" and rank > 64:
        r.warn(f"rank {rank} for a style: seed:000 goes to 64 at most (only when 32 is too weak), and seed:001 "
               "trains styles at 8–16 because higher ranks memorise the images", "seed:000, seed:001")
    elif r.kind == "style" and rank == 64:
        r.warn("rank 64 for a style: seed:000 raises a style to 64 only when 32 came out weak; seed:001 trains "
               "styles at 8–16 (higher ranks memorise the images)", "seed:000, seed:001", severity="info")
    if rank > 128:
        r.warn(f"rank {rank} is far above the 16–64 the guides use; files grow and the LoRA overfits", "seed:000")
    r.planner.network(r)
