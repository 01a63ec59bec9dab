"""Pixel work for `prepare`: upright, sRGB, 8-bit RGB, alpha flattened or split off as a mask, encoded."""

from __future__ import annotations

import io
import warnings

from fluxgen.dataset.images import EXIF_ERRORS, profile_name
from fluxgen.errors import UserError

# Output format name -> (Pillow format, extension).
FORMATS: dict[str, tuple[str, str]] = {"png": ("PNG", ".png"), "jpg": ("JPEG", ".jpg"), "webp": ("WEBP", ".webp")}
FORMAT_BY_PILLOW = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}
JPEG_QUALITY = 95


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
    """Decode fully; apply the EXIF orientation so the pixels are stored the way the photo is seen.

    Pictures between Pillow's warning and hard limits are decoded too (lint warned about them): they are the
    ones prepare should shrink.
    """
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        im = Image.open(io.BytesIO(data))
        im.load()
    notes = []
    try:
        orientation = im.getexif().get(0x0112, 1)
        if exif and orientation not in (None, 0, 1):
            im = ImageOps.exif_transpose(im)
            notes.append("turned upright (EXIF orientation)")
    except EXIF_ERRORS:  # a broken EXIF block: keep the picture as stored
        pass
    return im, notes


def to_rgba(im) -> tuple[object, list[str], bool]:
    """Bring any mode to sRGB RGB or RGBA without the clipping and colour shifts of a bare convert('RGB')."""
    notes: list[str] = []
    mode = im.mode
    icc = im.info.get("icc_profile")
    if mode == "CMYK":
        im, how = _cmyk_to_rgb(im, icc)
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
    if icc and mode in ("RGB", "RGBA"):
        im, note = to_srgb(im, icc)
        notes += [note] if note else []
    return im, notes, has_alpha


def to_srgb(im, icc: bytes) -> tuple[object, str | None]:
    """Convert RGB(A) pixels from their embedded profile to sRGB, which is what every trainer assumes.

    sRGB-tagged and unreadable profiles leave the pixels as they are (and say nothing).
    """
    from PIL import ImageCms

    name = profile_name(icc)
    if name is None:
        return im, None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.createProfile("sRGB")
        rgb = ImageCms.profileToProfile(im.convert("RGB"), source, srgb, outputMode="RGB")
    except (OSError, ValueError, ImageCms.PyCMSError):
        return im, None
    if im.mode == "RGBA":
        rgb.putalpha(im.getchannel("A"))
    return rgb, f"converted colours from '{name}' to sRGB"


def _cmyk_to_rgb(im, icc: bytes | None):
    if icc:
        from PIL import ImageCms

        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(im, src, srgb, outputMode="RGB"), " with its ICC profile"
        except (OSError, ValueError, ImageCms.PyCMSError):  # a broken profile: fall back to the plain formula
            pass
    return im.convert("RGB"), ""


def split_alpha(im, *, alpha: str, background: tuple[int, int, int]) -> tuple[object, object | None, str | None]:
    """RGBA → (RGB flattened onto the background, the alpha as a mask when asked, a note); `keep` leaves RGBA.

    With `alpha='mask'` every picture gets a mask, all white when it is opaque, so a trainer's mask folder is
    complete.
    """
    from PIL import Image

    white = Image.new("L", im.size, 255) if alpha == "mask" else None
    if im.mode != "RGBA":
        return im, white, None
    channel = im.getchannel("A")
    if channel.getextrema()[0] == 255:
        return im.convert("RGB"), white, "dropped an unused alpha channel"
    if alpha == "keep":
        return im, None, "kept the transparency (for alpha_mask training)"
    flat = Image.new("RGB", im.size, background)
    flat.paste(im.convert("RGB"), mask=channel)
    hexcode = "#{:02x}{:02x}{:02x}".format(*background)
    if alpha == "mask":
        return flat, channel, f"flattened transparency onto {hexcode}, alpha written as a mask"
    return flat, None, f"flattened transparency onto {hexcode}"


def encode(im, fmt: str) -> bytes:
    """Encode for training: JPEG at quality 95 without chroma subsampling, PNG and WebP as usual.

    No colour profile is embedded: the pixels are sRGB by now, which is what an untagged file means.
    """
    pillow_format = FORMATS[fmt][0] if fmt in FORMATS else fmt.upper()
    buf = io.BytesIO()
    kwargs: dict = {"icc_profile": None}  # PNG would otherwise copy the source's profile from im.info
    if pillow_format == "JPEG":
        kwargs.update(quality=JPEG_QUALITY, subsampling=0)
    elif pillow_format == "WEBP":
        kwargs.update(quality=JPEG_QUALITY, method=4)
    im.save(buf, pillow_format, **kwargs)
    return buf.getvalue()
