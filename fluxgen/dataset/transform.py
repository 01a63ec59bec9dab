"""Pixel work for `prepare`: upright, RGB, alpha flattened or kept as a mask, cropped, resized, encoded."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

from fluxgen.errors import UserError

# Output format name -> (Pillow format, extension).
FORMATS: dict[str, tuple[str, str]] = {"png": ("PNG", ".png"), "jpg": ("JPEG", ".jpg"), "webp": ("WEBP", ".webp")}
FORMAT_BY_PILLOW = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}
PATCH_OVERLAP = 0.25
JPEG_QUALITY = 95


@dataclass
class Shaped:
    """One output picture (RGBA until `finish` splits it) and what was done to get it."""

    image: object
    notes: list[str] = field(default_factory=list)


def parse_colour(value: str) -> tuple[int, int, int]:
    """'#ffffff', 'fff', 'white' → (255, 255, 255); a clear error otherwise."""
    from PIL import ImageColor

    text = value.strip()
    if len(text) in (3, 6) and all(c in "0123456789abcdefABCDEF" for c in text):
        text = "#" + text
    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise UserError(f"--background '{value}': not a colour; use a hex value such as '#ffffff'") from None
    return rgb[0], rgb[1], rgb[2]


def open_upright(data: bytes, *, exif: bool):
    """Decode fully; apply the EXIF orientation so the pixels are stored the way the photo is seen."""
    from PIL import Image, ImageOps

    im = Image.open(io.BytesIO(data))
    im.load()
    notes = []
    orientation = im.getexif().get(0x0112, 1)
    if exif and orientation not in (None, 0, 1):
        im = ImageOps.exif_transpose(im)
        notes.append("turned upright (EXIF orientation)")
    return im, notes


def to_rgba(im) -> tuple[object, list[str], bool]:
    """Bring any mode to RGB or RGBA without the clipping and colour shifts of a bare convert('RGB')."""
    notes: list[str] = []
    mode = im.mode
    if mode == "CMYK":
        im, how = _cmyk_to_rgb(im)
        notes.append(f"converted CMYK to RGB{how}")
    elif mode.startswith("I;16") or mode in ("I", "F"):
        im = im.convert("I").point(lambda v: v / 257 + 0.5).convert("L")
        notes.append(f"scaled {mode} to 8-bit")
    elif mode in ("P", "PA"):
        notes.append("expanded palette colours")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    target = "RGBA" if has_alpha else "RGB"
    if im.mode != target:
        im = im.convert(target)
    return im, notes, has_alpha


def _cmyk_to_rgb(im):
    icc = im.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(im, src, srgb, outputMode="RGB"), " with its ICC profile"
        except Exception:  # a broken profile: fall back to the plain formula
            pass
    return im.convert("RGB"), ""


def centre_square(im):
    width, height = im.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return im.crop((left, top, left + side, top + side))


def patch_boxes(width: int, height: int, count: int) -> list[tuple[int, int, int, int]]:
    """`count` overlapping square crops spread over the picture (fal's `is_style` augmentation)."""
    grid = max(1, math.ceil(math.sqrt(count)))
    side = min(width, height)
    if grid > 1:
        side = int(side / (grid - (grid - 1) * PATCH_OVERLAP))
    xs = _spread(width - side, grid)
    ys = _spread(height - side, grid)
    boxes = [(x, y, x + side, y + side) for y in ys for x in xs]
    return boxes[:count]


def _spread(free: int, steps: int) -> list[int]:
    if steps == 1:
        return [free // 2]
    return [round(free * i / (steps - 1)) for i in range(steps)]


def fit_resolution(im, resolution: int, *, upscale: bool) -> tuple[object, str | None]:
    """Short side to the training resolution: shrink larger pictures, enlarge smaller ones only when asked."""
    from PIL import Image

    width, height = im.size
    short = min(width, height)
    if short == resolution or (short < resolution and not upscale):
        return im, None
    scale = resolution / short
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    verb = "enlarged" if scale > 1 else "resized"
    return im.resize(size, Image.Resampling.LANCZOS), f"{verb} {width}×{height} → {size[0]}×{size[1]}"


def split_alpha(im, *, alpha: str, background: tuple[int, int, int]) -> tuple[object, object | None, str | None]:
    """RGBA → (RGB flattened onto the background, the alpha as a mask when asked, a note); `keep` leaves RGBA."""
    from PIL import Image

    if im.mode != "RGBA":
        return im, None, None
    channel = im.getchannel("A")
    if channel.getextrema()[0] == 255:
        return im.convert("RGB"), None, "dropped an unused alpha channel"
    if alpha == "keep":
        return im, None, "kept the transparency (for sd-scripts' alpha_mask)"
    flat = Image.new("RGB", im.size, background)
    flat.paste(im.convert("RGB"), mask=channel)
    hexcode = "#{:02x}{:02x}{:02x}".format(*background)
    if alpha == "mask":
        return flat, channel, f"flattened transparency onto {hexcode}, alpha kept as a mask"
    return flat, None, f"flattened transparency onto {hexcode}"


def encode(im, fmt: str, *, icc: bytes | None = None) -> bytes:
    """Encode for training: JPEG at quality 95 without chroma subsampling, PNG and WebP as usual."""
    pillow_format = FORMATS[fmt][0] if fmt in FORMATS else fmt.upper()
    buf = io.BytesIO()
    kwargs: dict = {}
    if icc and im.mode == "RGB":
        kwargs["icc_profile"] = icc
    if pillow_format == "JPEG":
        kwargs.update(quality=JPEG_QUALITY, subsampling=0)
    elif pillow_format == "WEBP":
        kwargs.update(quality=JPEG_QUALITY, method=4)
    im.save(buf, pillow_format, **kwargs)
    return buf.getvalue()
