"""What each trainer does with a dataset folder: a caption that is missing, a trigger the caption lacks, and masks.

A table keyed by backend, so common code (the linter, the planner, prepare) asks it instead of branching on a
trainer's name. Each row cites where the trainer's code does it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MaskSupport:
    """How a trainer weights the loss by a mask folder (white = trained, black = ignored)."""

    how: str  # one line for the plan's origin and the docs
    source: str


@dataclass(frozen=True)
class DatasetFacts:
    # An image without a caption file, when the plan sets a trigger: trained on the trigger alone, or on nothing.
    missing_caption_gets_trigger: bool
    # A caption without the trigger: the trainer puts the trigger at the start.
    prepends_trigger: bool
    masks: MaskSupport | None
    source: str


DATASET_FACTS: dict[str, DatasetFacts] = {
    # dataloader_mixins: a missing caption reads as ''; BaseSDTrainProcess then injects trigger_word at the start
    # when it is absent (inject_trigger_into_prompt, add_if_not_present). Dataset `mask_path` weights the loss.
    "ai-toolkit": DatasetFacts(True, True, MaskSupport(
        "dataset mask_path: the mask folder, files named like the images", "ref:ai-toolkit §2.3"),
        "ref:ai-toolkit §2.3"),
    # A DreamBooth subset without a caption file trains on its class_tokens (fluxgen writes the trigger there);
    # a caption is used as written. --masked_loss with a ControlNet subset whose conditioning_data_dir holds
    # the masks (red channel weights the loss, custom_train_functions.apply_masked_loss).
    "sd-scripts": DatasetFacts(True, False, MaskSupport(
        "--masked_loss, subset conditioning_data_dir = the mask folder", "ref:sd-scripts §2"),
        "ref:sd-scripts §2"),
    # fluxgen.trainer.data.caption_for: apply_trigger puts the trigger first, or alone for an empty caption;
    # dataset.mask_folder weights the flow-matching MSE per latent pixel (fluxgen.trainer.flow).
    "builtin": DatasetFacts(True, True, MaskSupport(
        "dataset.mask_folder: a masked MSE over the latent pixels", "builtin trainer"), "builtin trainer"),
}


def facts_for(backend: str | None) -> DatasetFacts | None:
    return DATASET_FACTS.get(backend) if backend else None


def prepending_trainers() -> list[str]:
    return [name for name, facts in DATASET_FACTS.items() if facts.prepends_trigger]
