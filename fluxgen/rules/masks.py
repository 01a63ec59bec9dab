"""Subject masks: a mask folder beside the dataset (`prepare --masks subject` or `--alpha mask`) weights each
trainer's loss, in the way the backend's dataset quirks say; the plan records the folder so every backend renders it."""

from __future__ import annotations

from pathlib import Path

from fluxgen.backends import get_backend
from fluxgen.errors import UserError
from fluxgen.rules import Resolver

MASK_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def plan_masks(r: Resolver) -> None:
    """Only a plan with masks gets a `masks` value, so plans without them keep their hash (several folders have
    their own, `datasets.<i>.masks`)."""
    from fluxgen.rules.datasets import several

    if several(r.values):
        return
    folder, why = folder_masks(r, Path(r.values["dataset"]), r.given("dataset.masks"), "dataset.masks",
                               "dataset.masks")
    if folder is not None:
        r.set("masks", str(folder), why)


def folder_masks(r: Resolver, dataset: Path, given: str | None, origin_key: str, label: str) -> tuple[Path | None, str]:
    """The mask folder of one image folder and why, or None (none given, none written, or no masked loss)."""
    folder, origin = _mask_folder(r, dataset, given, origin_key, label)
    if folder is None:
        return None, ""
    support = get_backend(r.backend).dataset_quirks.masks
    if support is None:
        r.warn(f"{folder}: subject masks found, but {r.backend} has no masked loss; they are not used",
               "dataset masks", severity="info")
        return None, ""
    missing = _images_without_mask(dataset, folder)
    if missing:
        raise UserError(f"{folder}: no mask for {len(missing)} image(s) (e.g. {missing[0]}); every image needs one "
                        "(sd-scripts stops on a missing one). Run `fluxgen dataset prepare --masks subject` again, "
                        f"or set {label}: none")
    return folder, f"{origin}; {support.how} ({support.source})"


def _mask_folder(r: Resolver, dataset: Path, given: str | None, origin_key: str, label: str) -> tuple[Path | None, str]:
    from fluxgen.dataset.outdir import MARKER

    if given == "none" or (given is None and r.given("dataset.masks") == "none"):
        return None, ""
    if given:
        folder = Path(given).expanduser().resolve()
        if not folder.is_dir():
            raise UserError(f"{label} {given}: no such folder; give the mask folder prepare wrote, or none")
        return folder, f"{label} ({r.layered.origins.get(origin_key, 'intent')})"
    sibling = dataset.with_name(f"{dataset.name}_masks")
    if (sibling / MARKER).is_file():
        return sibling, f"masks written by `fluxgen dataset prepare` beside the images ({sibling.name})"
    return None, ""


def _images_without_mask(dataset: Path, masks: Path) -> list[str]:
    from fluxgen.dataset.scan import scan_folder

    have = {p.stem for p in masks.iterdir() if p.suffix.lower() in MASK_EXTENSIONS}
    return [rel for rel in scan_folder(dataset).images if Path(rel).stem not in have]
