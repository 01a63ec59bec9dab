"""The LoRA key format a trainer writes (`save.format`): only planned when the intent asks for one.

kohya keys with `.alpha` are what ComfyUI, Forge and A1111-Forge load most reliably (ref:captioners-and-lora-formats).
Each backend names the formats it writes itself (`Backend.lora_formats`); the first is what it writes by default.
"""

from __future__ import annotations

from fluxgen.rules import Resolver


def plan_save_format(r: Resolver) -> None:
    if not r.is_given("save.format"):
        return  # the trainer's own format; the plan (and its hash) stays as it was
    wanted = r.take("save_format", "save.format", None, "")
    from fluxgen.backends import get_backend

    native = get_backend(r.backend).lora_formats
    if native and wanted not in native:
        r.warn(f"save.format {wanted}: {r.backend} writes {native[0]} keys itself; convert its LoRAs after "
               f"training with `fluxgen lora convert FILE --to {wanted}`", "ref:captioners-and-lora-formats")
