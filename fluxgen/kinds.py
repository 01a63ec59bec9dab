"""What a LoRA is for and how its images are captioned: the names every schema, check and command shares.

Light on purpose: click choices are built from it while `fluxgen --help` runs."""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["subject", "style", "character", "concept"]
CaptionMode = Literal["captions", "trigger", "none"]  # written captions, the trigger alone, no text at all

KINDS: tuple[str, ...] = get_args(Kind)
CAPTION_MODES: tuple[str, ...] = get_args(CaptionMode)
