"""The intent's sections (dataset, network, train, save, samples, model): each field's type, bounds and the
description the JSON Schema and the README's intent reference are generated from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from fluxgen.intent_values import _has_control, _one_line_path, _Strict
from fluxgen.kinds import CaptionMode


class DatasetIntent(_Strict):
    path: str | None = Field(default=None, description='The image folder (relative to the preset file that gives it); `--images` on the command line.')
    captions: CaptionMode | None = Field(default=None, description='How images are captioned: `captions` (a caption file per image), `trigger` (the trigger word alone), `none` (no text).')
    caption_ext: str | None = Field(default=None, description='Extension of the caption files beside the images.')
    repeats: int | None = Field(default=None, ge=1, description='How often each image is seen per epoch (sd-scripts `num_repeats`, ai-toolkit `num_repeats`); `steps: auto` counts images × repeats.')
    buckets: bool | None = Field(default=None, description='Aspect-ratio buckets: images keep their shape instead of being cropped square.')
    masks: str | None = Field(default=None, description='A mask folder (white = trained, black = ignored) that weights the loss, or `none`; default: `<path>_masks` when `dataset prepare` wrote it.')


    _path_one_line = field_validator("path", "caption_ext")(_one_line_path)


def _resolution_list(v: Any) -> Any:
    """One resolution or a list of them, each a multiple of 64 (FLUX buckets need multiples of 64)."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    for r in v if isinstance(v, list) else []:
        if isinstance(r, int) and not isinstance(r, bool) and (r < 64 or r % 64):
            raise ValueError(f"{r} is not a multiple of 64 (at least 64); FLUX buckets need multiples of 64")
    return v


class DatasetEntry(_Strict):
    """One folder of several: unset values come from `dataset:` and the rules."""

    path: str = Field(description='The image folder (relative to the preset file that gives it).')
    is_reg: bool | None = Field(default=None, description='Regularisation (class) images: trained against, not counted by `steps: auto` (ai-toolkit `is_reg`, sd-scripts reg subsets, SimpleTuner `is_regularisation_data`).')
    captions: CaptionMode | None = Field(default=None, description="This folder's caption mode; default: `dataset.captions` (a regularisation folder: `captions`).")
    caption_ext: str | None = Field(default=None, description="This folder's caption file extension; default: `dataset.caption_ext`.")
    repeats: int | None = Field(default=None, ge=1, description="How often each image of this folder is seen per epoch; default: `dataset.repeats`.")
    resolution: list[int] | None = Field(default=None, min_length=1, max_length=8, description="This folder's resolution(s), e.g. `[512, 768, 1024]`; default: `train.resolution`.")
    masks: str | None = Field(default=None, description="This folder's mask folder (relative to the preset file), or `none`; default: `<path>_masks` when `dataset prepare` wrote it.")

    _path_one_line = field_validator("path", "caption_ext", "masks")(_one_line_path)
    _resolutions = field_validator("resolution", mode="before")(_resolution_list)


class NetworkIntent(_Strict):
    rank: int | None = Field(default=None, ge=1, le=1024, description="LoRA rank (network dim); the kind's rule cites its guide when left out.")
    alpha: float | None = Field(default=None, gt=0, description='LoRA alpha; default equal to the rank (ai-toolkit trains FLUX LoRAs with alpha = rank whatever is written).')
    blocks: Literal["all", "single", "double"] | None = Field(default=None, description="Which FLUX transformer blocks the LoRA targets (sd-scripts `train_blocks`, ai-toolkit `network_kwargs` only/ignore lists; refused for SimpleTuner, whose targets are layer types).")
    dropout: float | None = Field(default=None, ge=0, lt=1, description="Dropout of the LoRA's hidden units (ai-toolkit `network.dropout`, sd-scripts `--network_dropout`, SimpleTuner `lora_dropout`).")
    train_text_encoder: bool | None = Field(default=None, description='Also train a CLIP-L LoRA (sd-scripts); off by default for FLUX.')


# fluxgen's loss names, then the trainers' own names for the same losses (LOSS_ALIASES): all valid, so the JSON
# Schema's enum lists them all and an editor flags exactly what validation refuses.
LossName = Literal["mse", "mae", "huber", "smooth_l1", "l2", "l1", "pseudo_huber"]
LOSS_ALIASES = {"l2": "mse", "l1": "mae", "pseudo_huber": "huber"}


class TrainIntent(_Strict):
    steps: int | Literal["auto"] | None = Field(default=None, description="Training steps, or `auto` (image views per image × images ÷ batch size, by the kind's rule).")
    steps_per_image: int | None = Field(default=None, ge=1, description='Image views per image when steps is `auto`.')
    lr: float | None = Field(default=None, gt=0, lt=1, description='Learning rate.')
    text_encoder_lr: float | None = Field(default=None, gt=0, lt=1, description="Learning rate of the text encoder when network.train_text_encoder is true (sd-scripts `--text_encoder_lr`, ai-toolkit `text_encoder_lr`; refused for SimpleTuner, whose parser reads it as an integer).")
    gradient_accumulation: int | None = Field(default=None, ge=1, le=1024, description="Batches accumulated per optimizer step; steps count image views, so `auto` steps divide by batch_size × this.")
    batch_size: int | None = Field(default=None, ge=1, description='Images per step.')
    optimizer: str | None = Field(default=None, description="Optimizer name as the trainer spells it (adamw8bit, adafactor, prodigy…); checked against the trainer's list.")
    optimizer_args: dict[str, Any] | None = Field(default=None, description='Extra optimizer arguments, a mapping (e.g. `{relative_step: false}`).')
    scheduler: str | None = Field(default=None, description='Learning-rate scheduler name as the trainer spells it (constant, cosine, constant_with_warmup…).')
    warmup_steps: int | None = Field(default=None, ge=0, description='Learning-rate warm-up steps.')
    resolution: list[int] | None = Field(default=None, min_length=1, max_length=8, description='Training resolution(s) in pixels, multiples of 64; a list trains several (e.g. `[512, 768, 1024]`).')
    precision: Literal["bf16", "fp16", "fp32"] | None = Field(default=None, description='Training precision; FLUX needs bf16 (fp16 is warned about).')
    gradient_checkpointing: bool | None = Field(default=None, description='Recompute activations to save memory.')
    guidance: float | None = Field(default=None, ge=0, description='Guidance value given to FLUX.1-dev during training.')
    timestep_sampling: str | None = Field(default=None, description="How training timesteps are drawn (sigmoid, shift, uniform…); checked against the trainer's list.")
    caption_dropout: float | None = Field(default=None, ge=0, le=1, description='Share of steps trained with an empty caption (0–1).')
    noise_offset: float | None = Field(default=None, ge=0, le=1, description="Offset noise: a random per-channel constant added to the training noise, for deeper darks and brighter lights (ai-toolkit `train.noise_offset`, the builtin trainer; refused for sd-scripts and SimpleTuner, whose FLUX training ignores it).")
    loss_type: LossName | None = Field(default=None, description="Loss between prediction and target: `mse` (also `l2`), `mae` (`l1`), `huber` (pseudo-Huber), `smooth_l1`; ai-toolkit `loss_type`, sd-scripts `--loss_type`, SimpleTuner `loss_type`, refused where a trainer lacks it.")
    ema: bool | None = Field(default=None, description="Keep an exponential moving average of the LoRA weights (ai-toolkit `ema_config`, SimpleTuner `use_ema`).")
    ema_decay: float | None = Field(default=None, gt=0, lt=1, description="Decay of the moving average when ema is on.")
    shuffle_captions: bool | None = Field(default=None, description='Shuffle comma-separated caption tags (the trigger stays first); refused for SimpleTuner and the builtin trainer, which train captions as cached or written.')
    seed: int | None = Field(default=None, ge=0, description='Training seed.')
    workers: int | None = Field(default=None, ge=0, description='Data-loader worker processes.')

    @field_validator("loss_type")
    @classmethod
    def _loss_alias(cls, v: str | None) -> str | None:
        """The names the schema lists, exactly as it spells them; an alias plans as fluxgen's name."""
        return LOSS_ALIASES.get(v, v) if v is not None else v

    _resolutions = field_validator("resolution", mode="before")(_resolution_list)

    @field_validator("steps", mode="before")
    @classmethod
    def _positive_steps(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and v < 1:
            raise ValueError("must be at least 1, or 'auto'")
        return v


class SaveIntent(_Strict):
    every: int | None = Field(default=None, ge=1, description='Save a checkpoint every N steps.')
    keep: int | None = Field(default=None, ge=1, description='How many checkpoints to keep.')
    format: Literal["diffusers", "kohya"] | None = Field(default=None, description='LoRA key format the builtin trainer writes: `diffusers` or `kohya`.')
    name_template: str | None = Field(default=None, description="Output name pattern with {name}, {version}, {steps}, {rank}, {kind}; seed:003 names LoRAs `{name}_v{version}_{steps}steps`.")
    version: int | None = Field(default=None, ge=1, description="The {version} of save.name_template.")


class SamplePrompt(_Strict):
    prompt: str = Field(description="The prompt; `[trigger]` is replaced by the trigger word.")
    negative: str | None = Field(default=None, description="Negative prompt of this image (default: samples.negative).")
    steps: int | None = Field(default=None, ge=1, le=1000, description="Sampler steps of this image.")
    seed: int | None = Field(default=None, ge=0, description="Seed of this image.")
    size: int | None = Field(default=None, ge=64, description="Width and height of this image in pixels.")
    guidance: float | None = Field(default=None, ge=0, description="Guidance scale of this image.")


class SamplesIntent(_Strict):
    prompts: list[str | SamplePrompt] | None = Field(default=None, description='Sample prompts, each a string or a mapping `{prompt: ..., negative: ..., steps: ..., seed: ..., size: ..., guidance: ...}`; `[trigger]` is replaced by the trigger word.')
    negative: str | None = Field(default=None, description="Negative prompt of every sample image (ai-toolkit `sample.neg`, sd-scripts `--n`, SimpleTuner `validation_negative_prompt`); FLUX dev samples without real CFG, so the trainers ignore it unless they run it (the plan says so).")

    @field_validator("prompts")
    @classmethod
    def _one_line_each(cls, v: list[str | SamplePrompt] | None) -> list[str | SamplePrompt] | None:
        for i, item in enumerate(v or []):
            texts = [item] if isinstance(item, str) else [item.prompt, item.negative or ""]
            for text in texts:
                if _has_control(text):
                    raise ValueError(f"prompt {i + 1} must be one line without control characters (newline, tab, …)")
            if not texts[0].strip():
                raise ValueError(f"prompt {i + 1} is empty")
        return v

    @field_validator("negative")
    @classmethod
    def _negative_one_line(cls, v: str | None) -> str | None:
        if v is not None and _has_control(v):
            raise ValueError("must be one line without control characters (newline, tab, …)")
        return v
    every: int | None = Field(default=None, ge=0, description='Sample every N steps; 0 turns sampling off.')
    seed: int | None = Field(default=None, ge=0, description='Seed of the sample images.')
    steps: int | None = Field(default=None, ge=1, le=1000, description='Sampler steps per sample image.')
    guidance: float | None = Field(default=None, ge=0, description='Guidance scale of the sample images.')
    first: bool | None = Field(default=None, description="Sample before the first step too (default: the trainer's own: ai-toolkit does, sd-scripts and SimpleTuner do not; SimpleTuner `validation_on_startup`).")
    size: int | None = Field(default=None, ge=64, description='Width and height of the sample images in pixels.')


class ModelIntent(_Strict):
    base: str | None = Field(default=None, description='The base model: `dev`, `schnell`, a hub id or a local diffusers folder.')
    transformer: str | None = Field(default=None, description='Single transformer file (sd-scripts); default: the one the hub publishes for the base.')
    clip_l: str | None = Field(default=None, description='Single CLIP-L file (sd-scripts).')
    t5xxl: str | None = Field(default=None, description='Single T5-XXL file (sd-scripts).')
    ae: str | None = Field(default=None, description='Single autoencoder file (sd-scripts).')

    _paths_one_line = field_validator("base", "transformer", "clip_l", "t5xxl", "ae")(_one_line_path)
