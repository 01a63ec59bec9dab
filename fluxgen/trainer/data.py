"""The dataset folder: which images train, what their captions say, and their pixels as square tensors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fluxgen.errors import UserError
from fluxgen.trainer.config import DatasetSection

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
TRIGGER_PLACEHOLDER = "[trigger]"


@dataclass(frozen=True)
class Item:
    image: Path
    caption: str


def scan_dataset(section: DatasetSection) -> list[Item]:
    """Images of the folder (not its subfolders), sorted by name, each with its final caption."""
    folder = Path(section.folder).expanduser()
    if not folder.is_dir():
        raise UserError(f"{folder}: dataset folder not found; set dataset.folder to a folder of images")
    images = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )
    if not images:
        kinds = ", ".join(IMAGE_EXTENSIONS)
        raise UserError(f"{folder}: no images found ({kinds}); add training images to the dataset folder")
    return [Item(image, caption_for(image, section)) for image in images]


def caption_for(image: Path, section: DatasetSection) -> str:
    """The caption the model sees for one image, following dataset.caption_mode."""
    trigger = section.trigger or ""
    if section.caption_mode == "none":
        return ""
    if section.caption_mode == "trigger":
        return trigger
    caption_file = image.with_suffix(f".{section.caption_ext}")
    text = ""
    if caption_file.is_file():
        try:
            text = " ".join(caption_file.read_text(encoding="utf-8").split())
        except UnicodeDecodeError:
            raise UserError(f"{caption_file}: caption is not UTF-8 text; save it as UTF-8") from None
    return apply_trigger(text, trigger)


def apply_trigger(caption: str, trigger: str, *, prepend: bool = True) -> str:
    """Replace `[trigger]` with the trigger, and (for captions) put it first when the text does not mention it."""
    if not trigger:
        return caption.replace(TRIGGER_PLACEHOLDER, "").strip()
    caption = caption.replace(TRIGGER_PLACEHOLDER, trigger)
    if trigger in caption or not prepend:
        return caption
    return f"{trigger}, {caption}" if caption else trigger


def mask_for(image: Path, folder: Path) -> Path:
    """The mask named like the image (any image extension), as `prepare --masks subject` writes it."""
    for ext in IMAGE_EXTENSIONS:
        candidate = folder / f"{image.stem}{ext}"
        if candidate.is_file():
            return candidate
    raise UserError(f"{image}: no mask named {image.stem}.png in {folder}; write one (white = trained) or remove "
                    "dataset.mask_folder")


def load_square_mask(path: Path, size: int):
    """The mask cropped like its image, as a 1×size×size tensor in [0, 1]."""
    return load_square(path, size, mode="L")[:1] * 0.5 + 0.5


def load_square(image: Path, size: int, mode: str = "RGB"):
    """Resize the short side to `size` and centre-crop, returning a 3×size×size tensor in [-1, 1]."""
    import numpy as np
    import torch
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(image) as opened:
            picture = ImageOps.exif_transpose(opened).convert(mode).convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise UserError(f"{image}: cannot read this image ({exc}); remove or re-save it") from None
    scale = size / min(picture.size)
    resized = (max(size, round(picture.width * scale)), max(size, round(picture.height * scale)))
    picture = picture.resize(resized, Image.Resampling.LANCZOS)
    left = (picture.width - size) // 2
    top = (picture.height - size) // 2
    picture = picture.crop((left, top, left + size, top + size))
    array = np.asarray(picture, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array.copy()).permute(2, 0, 1)
