"""Subject masks: a mask folder beside the dataset (`prepare --masks subject` or `--alpha mask`) weights each
trainer's loss, in the way the backend's dataset quirks say; the plan records the folder so every backend renders it."""

from __future__ import annotations

from pathlib import Path

from fluxgen.backends import get_backend
from fluxgen.errors import UserError
from fluxgen.rules import Resolver

MASK_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def plan_masks(r: Resolver) -> None:
    """Only a plan with masks gets a `masks` value, so plans without them keep their hash."""
    folder, origin = _mask_folder(r)
    if folder is None:
        return
    support = get_backend(r.backend).dataset_quirks.masks
    if support is None:
        r.warn(f"{folder}: subject masks found, but {r.backend} has no masked loss; they are not used",
               "dataset masks", severity="info")
        return
    r.set("masks", str(folder), f"{origin}; {support.how} ({support.source})")
    missing = _images_without_mask(Path(r.values["dataset"]), folder)
    if missing:
        raise UserError(f"{folder}: no mask for {len(missing)} image(s) (e.g. {missing[0]}); every image needs one "
                        "(sd-scripts stops on a missing one). Run `fluxgen dataset prepare --masks subject` again, "
                        "or set dataset.masks: none")


def _mask_folder(r: Resolver) -> tuple[Path | None, str]:
    from fluxgen.dataset.outdir import MARKER

    given = r.given("dataset.masks")
    if given == "none":
        return None, ""
    if given:
        folder = Path(given).expanduser().resolve()
        if not folder.is_dir():
            raise UserError(f"dataset.masks {given}: no such folder; give the mask folder prepare wrote, or none")
        return folder, f"dataset.masks ({r.layered.origins.get('dataset.masks', 'intent')})"
    dataset = Path(r.values["dataset"])
    sibling = dataset.with_name(f"{dataset.name}_masks")
    if (sibling / MARKER).is_file():
        return sibling, f"masks written by `fluxgen dataset prepare` beside the images ({sibling.name})"
    return None, ""


def _images_without_mask(dataset: Path, masks: Path) -> list[str]:
    from fluxgen.dataset.scan import scan_folder

    have = {p.stem for p in masks.iterdir() if p.suffix.lower() in MASK_EXTENSIONS}
    return [rel for rel in scan_folder(dataset).images if Path(rel).stem not in have]
