"""The builtin trainer's config file: one strict YAML schema, errors reported as `file: key.path: message`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fluxgen.errors import ConfigErrors, UserError
from fluxgen.fsio import load_yaml_file
from fluxgen.kinds import CaptionMode
from fluxgen.pydantic_errors import ErrorStyle, format_errors

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(_Strict):
    path: str = Field(min_length=1)
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_sequence_length: int = Field(default=512, ge=1, le=512)


class DatasetSection(_Strict):
    folder: str = Field(min_length=1)
    caption_ext: str = "txt"
    caption_mode: CaptionMode = "captions"
    trigger: str | None = None
    resolution: int = Field(default=1024, ge=16, le=4096)
    caption_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    cache_to_disk: bool = False
    mask_folder: str | None = None  # masks named like the images (white = trained): a masked loss

    @field_validator("caption_ext")
    @classmethod
    def _strip_dot(cls, v: str) -> str:
        v = v.lstrip(".")
        if not v or "/" in v or "\\" in v:
            raise ValueError("must be a file extension such as 'txt'")
        return v

    @model_validator(mode="after")
    def _trigger_needed(self) -> DatasetSection:
        if self.caption_mode == "trigger" and not self.trigger:
            raise ValueError("caption_mode 'trigger' needs dataset.trigger")
        return self


class NetworkSection(_Strict):
    rank: int = Field(default=16, ge=1, le=1024)
    alpha: float | None = Field(default=None, gt=0.0)


class TrainSection(_Strict):
    steps: int = Field(default=1000, ge=1)
    batch_size: int = Field(default=1, ge=1)
    lr: float = Field(default=1.0e-4, gt=0.0, lt=1.0)
    optimizer: Literal["adamw", "adamw8bit"] = "adamw"
    weight_decay: float = Field(default=0.01, ge=0.0)
    lr_scheduler: Literal["constant", "constant_with_warmup", "cosine", "linear"] = "constant"
    warmup_steps: int = Field(default=0, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0.0)
    gradient_checkpointing: bool = True
    guidance: float = Field(default=1.0, ge=0.0)
    timestep_sampling: Literal["sigmoid", "uniform", "shift"] = "sigmoid"
    noise_offset: float = Field(default=0.0, ge=0.0, le=1.0)  # offset × N(0,1) per image and channel, added to noise
    loss_type: Literal["mse", "mae", "huber"] = "mse"
    sigmoid_scale: float = Field(default=1.0, gt=0.0)
    shift: float = Field(default=3.0, gt=0.0)
    seed: int = Field(default=42, ge=0, lt=2**31)
    log_every: int = Field(default=1, ge=1)


class SaveSection(_Strict):
    output_dir: str = Field(min_length=1)
    name: str = "lora"
    every: int = Field(default=250, ge=0)
    keep_last: int = Field(default=4, ge=0)
    dtype: Literal["fp32", "bf16", "fp16"] = "fp16"
    format: Literal["diffusers", "kohya"] = "diffusers"  # kohya: lora_unet_* keys with .alpha (ComfyUI, Forge)

    @field_validator("name")
    @classmethod
    def _file_name(cls, v: str) -> str:
        if not NAME_PATTERN.match(v):
            raise ValueError("must be a plain file name: letters, digits, '.', '_' or '-'")
        return v


class SampleSection(_Strict):
    every: int = Field(default=0, ge=0)
    prompts: list[str] = Field(default_factory=list)
    seed: int = Field(default=42, ge=0)
    steps: int = Field(default=20, ge=1)
    guidance: float = Field(default=3.5, ge=0.0)
    size: int = Field(default=1024, ge=16, le=4096)

    @field_validator("prompts", mode="before")
    @classmethod
    def _empty_list(cls, v: Any) -> Any:
        return [] if v is None else v


class TrainerConfig(_Strict):
    model: ModelSection
    dataset: DatasetSection
    network: NetworkSection = Field(default_factory=NetworkSection)
    train: TrainSection = Field(default_factory=TrainSection)
    save: SaveSection
    sample: SampleSection = Field(default_factory=SampleSection)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata", mode="before")
    @classmethod
    def _empty_mapping(cls, v: Any) -> Any:
        """`metadata:` with nothing under it is YAML null: read it as no metadata."""
        return {} if v is None else v

    @property
    def alpha(self) -> float:
        """alpha defaults to the rank (LoRA scale 1), as the FLUX guides recommend."""
        return float(self.network.alpha if self.network.alpha is not None else self.network.rank)

    @property
    def resolution(self) -> int:
        return round_to_16(self.dataset.resolution)

    @property
    def sample_size(self) -> int:
        return round_to_16(self.sample.size)


def round_to_16(value: int) -> int:
    """FLUX latents are 8x smaller than the image and packed in 2x2 patches, so sides are multiples of 16."""
    return max(16, int(round(value / 16)) * 16)


def load_config(path: Path) -> TrainerConfig:
    """Read and validate a trainer config; every problem is reported, each naming its key."""
    data = load_yaml_file(Path(path))
    return parse_config(data, str(path))


def parse_config(data: Any, source: str) -> TrainerConfig:
    if not isinstance(data, dict):
        raise UserError(f"{source}: must be a YAML mapping with model, dataset, save … sections")
    try:
        return TrainerConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigErrors(source, format_errors(exc, ERROR_STYLE)) from None


# pydantic's own wording for a value outside its choices ("Input should be 'adamw' or 'adamw8bit'").
ERROR_STYLE = ErrorStyle(TrainerConfig, choices=False)
