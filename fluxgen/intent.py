"""The intent: what a user wants from a LoRA, as a strict schema, layered from presets, files and the command line.

Precedence (lowest first): built-in rules < kind preset < preset chain (`extends:`) < the user's file < command-line
options and `--set key=value`. Every value that is given remembers where it came from (file and line, or the option).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

from fluxgen.errors import ConfigErrors, UserError
from fluxgen.intent_values import INT64_MAX, _has_control, _one_line_path, _Strict  # noqa: F401
from fluxgen.kinds import CaptionMode, Kind


class DatasetIntent(_Strict):
    path: str | None = Field(default=None, description='The image folder (relative to the preset file that gives it); `--images` on the command line.')
    captions: CaptionMode | None = Field(default=None, description='How images are captioned: `captions` (a caption file per image), `trigger` (the trigger word alone), `none` (no text).')
    caption_ext: str | None = Field(default=None, description='Extension of the caption files beside the images.')
    repeats: int | None = Field(default=None, ge=1, description='How often each image is seen per epoch (sd-scripts `num_repeats`, ai-toolkit `num_repeats`).')
    buckets: bool | None = Field(default=None, description='Aspect-ratio buckets: images keep their shape instead of being cropped square.')
    masks: str | None = Field(default=None, description='A mask folder (white = trained, black = ignored) that weights the loss, or `none`; default: `<path>_masks` when `dataset prepare` wrote it.')


    _path_one_line = field_validator("path", "caption_ext")(_one_line_path)


class NetworkIntent(_Strict):
    rank: int | None = Field(default=None, ge=1, le=1024, description="LoRA rank (network dim); the kind's rule cites its guide when left out.")
    alpha: float | None = Field(default=None, gt=0, description='LoRA alpha; default equal to the rank (ai-toolkit trains FLUX LoRAs with alpha = rank whatever is written).')
    blocks: Literal["all", "single", "double"] | None = Field(default=None, description="Which FLUX transformer blocks the LoRA targets (sd-scripts `train_blocks`, ai-toolkit `network_kwargs` only/ignore lists).")
    dropout: float | None = Field(default=None, ge=0, lt=1, description="Dropout of the LoRA's hidden units (ai-toolkit `network.dropout`, sd-scripts `--network_dropout`).")
    train_text_encoder: bool | None = Field(default=None, description='Also train a CLIP-L LoRA (sd-scripts); off by default for FLUX.')


class TrainIntent(_Strict):
    steps: int | Literal["auto"] | None = Field(default=None, description="Training steps, or `auto` (image views per image × images ÷ batch size, by the kind's rule).")
    steps_per_image: int | None = Field(default=None, ge=1, description='Image views per image when steps is `auto`.')
    lr: float | None = Field(default=None, gt=0, lt=1, description='Learning rate.')
    text_encoder_lr: float | None = Field(default=None, gt=0, lt=1, description="Learning rate of the text encoder when network.train_text_encoder is true (sd-scripts `--text_encoder_lr`, ai-toolkit `text_encoder_lr`).")
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
    ema: bool | None = Field(default=None, description="Keep an exponential moving average of the LoRA weights (ai-toolkit `ema_config`).")
    ema_decay: float | None = Field(default=None, gt=0, lt=1, description="Decay of the moving average when ema is on.")
    shuffle_captions: bool | None = Field(default=None, description='Shuffle comma-separated caption tags (the trigger stays first).')
    seed: int | None = Field(default=None, ge=0, description='Training seed.')
    workers: int | None = Field(default=None, ge=0, description='Data-loader worker processes.')

    @field_validator("resolution", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("resolution")
    @classmethod
    def _multiple_of_64(cls, v: list[int] | None) -> list[int] | None:
        for r in v or []:
            if r < 64 or r % 64:
                raise ValueError(f"{r} is not a multiple of 64 (at least 64); FLUX buckets need multiples of 64")
        return v

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


class SamplesIntent(_Strict):
    prompts: list[str] | None = Field(default=None, description='Sample prompts; `[trigger]` is replaced by the trigger word.')

    @field_validator("prompts")
    @classmethod
    def _one_line_each(cls, v: list[str] | None) -> list[str] | None:
        for i, prompt in enumerate(v or []):
            if _has_control(prompt):
                raise ValueError(f"prompt {i + 1} must be one line without control characters (newline, tab, …)")
            if not prompt.strip():
                raise ValueError(f"prompt {i + 1} is empty")
        return v
    every: int | None = Field(default=None, ge=0, description='Sample every N steps; 0 turns sampling off.')
    seed: int | None = Field(default=None, ge=0, description='Seed of the sample images.')
    steps: int | None = Field(default=None, ge=1, le=1000, description='Sampler steps per sample image.')
    guidance: float | None = Field(default=None, ge=0, description='Guidance scale of the sample images.')
    first: bool | None = Field(default=None, description="Sample before the first step too (default: the trainer's own: ai-toolkit does, sd-scripts does not).")
    size: int | None = Field(default=None, ge=64, description='Width and height of the sample images in pixels.')


class ModelIntent(_Strict):
    base: str | None = Field(default=None, description='The base model: `dev`, `schnell`, a hub id or a local diffusers folder.')
    transformer: str | None = Field(default=None, description='Single transformer file (sd-scripts); default: the one the hub publishes for the base.')
    clip_l: str | None = Field(default=None, description='Single CLIP-L file (sd-scripts).')
    t5xxl: str | None = Field(default=None, description='Single T5-XXL file (sd-scripts).')
    ae: str | None = Field(default=None, description='Single autoencoder file (sd-scripts).')

    _paths_one_line = field_validator("base", "transformer", "clip_l", "t5xxl", "ae")(_one_line_path)


class Intent(_Strict):
    """Everything may be left out: the planning rules fill what is missing."""

    name: str | None = Field(default=None, description="Output name; default: the dataset folder's name.")
    description: str | None = Field(default=None, description='Free text saying what the intent is for.')
    kind: Kind | None = Field(default=None, description='What the LoRA is for: subject, style, character or concept; picks the kind preset and its rules.')
    trigger: str | None = Field(default=None, description='Trigger word, one line.')
    backend: str | None = Field(default=None, description='The trainer: ai-toolkit, sd-scripts (alias kohya) or builtin.')
    vram: int | None = Field(default=None, ge=4, le=192, description="GPU memory in GB; tiers pick each trainer's memory settings.")
    dataset: DatasetIntent = Field(default_factory=DatasetIntent, description='The image folder and how it is read.')
    network: NetworkIntent = Field(default_factory=NetworkIntent, description='The LoRA network.')
    train: TrainIntent = Field(default_factory=TrainIntent, description='Training settings.')
    save: SaveIntent = Field(default_factory=SaveIntent, description='Checkpoints.')
    samples: SamplesIntent = Field(default_factory=SamplesIntent, description='Sample images during training.')
    model: ModelIntent = Field(default_factory=ModelIntent, description='The base model and, for sd-scripts, its single files.')
    logging: Literal["tensorboard", "wandb", "all"] | None = Field(default=None, description="Training metrics through the trainer's own switches, the log folder `logs/` inside the run folder; wandb reads its key from WANDB_API_KEY in the environment, never from a file fluxgen writes.")
    trainer: dict[str, Any] | None = Field(
        default=None, description="Pass-through per trainer, `{<backend>: {...}}`: the trainer's own settings that no "
        "key above can say, merged into its rendered files last and checked against the keys that trainer reads.")

    @field_validator("trainer")
    @classmethod
    def _trainer_sections(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        from fluxgen.backends import canonical_name

        for key, section in (v or {}).items():
            try:
                name = canonical_name(str(key))
            except UserError as exc:
                raise ValueError(str(exc)) from None
            if name != key:
                raise ValueError(f"'{key}': write the backend's name, '{name}'")
            if not isinstance(section, dict):
                raise ValueError(f"{key}: must be a mapping of that trainer's settings")
        return v

    @field_validator("trigger", "name")
    @classmethod
    def _one_line(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and _has_control(v):
            raise ValueError("must be one line without control characters (newline, tab, …); remove them")
        if info.field_name == "trigger" and v is not None and v != v.strip():
            raise ValueError(f"'{v}' starts or ends with spaces, which sd-scripts' sample prompts drop and captions "
                             f"rarely match; write '{v.strip()}'")
        if info.field_name == "trigger" and v is not None and not v.strip():
            raise ValueError("is empty; give the trigger word, or leave trigger out")
        return v

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from fluxgen.backends import canonical_name

        try:
            return canonical_name(v)
        except UserError as exc:
            raise ValueError(str(exc)) from None


@dataclass
class LayeredIntent:
    """The merged intent and, for every dotted key given anywhere, where its value came from."""

    intent: Intent
    origins: dict[str, str] = field(default_factory=dict)
    chain: list[str] = field(default_factory=list)  # sources, lowest precedence first
    raw: dict[str, Any] = field(default_factory=dict)


def all_paths(model: type[BaseModel] = None, prefix: str = "") -> list[str]:  # type: ignore[assignment]
    """Every dotted key the schema knows, sections included."""
    model = model or Intent
    out = []
    for name, info in model.model_fields.items():
        out.append(prefix + name)
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += all_paths(ann, prefix + name + ".")
    return out


def suggest(dotted: str, siblings: list[str]) -> str | None:
    """Closest key at the same level, else the same key name in another section (train.rank → network.rank)."""
    parts = dotted.split(".")
    close = difflib.get_close_matches(parts[-1], siblings, n=1, cutoff=0.6)
    if close:
        return ".".join([*parts[:-1], close[0]])
    leaves = all_paths()
    by_name = [p for p in leaves if difflib.get_close_matches(parts[-1], [p.split(".")[-1]], n=1, cutoff=0.75)]
    if by_name:
        return min(by_name, key=lambda p: -difflib.SequenceMatcher(None, p, dotted).ratio())
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Intent
    for part in path:
        if not isinstance(part, str):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return model
    return model


def format_validation_error(exc: ValidationError) -> list[str]:
    """pydantic errors as `dotted.path: message`, with "did you mean" for unknown keys."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = _allowed_keys(parent) if parent else []
            close = suggest(dotted, allowed)
            shown = close.split(".")[-1] if close and close.rsplit(".", 1)[0] == dotted.rsplit(".", 1)[0] else close
            hint = f" (did you mean '{shown}'?)" if close else f" (known keys: {', '.join(allowed)})"
            problems.append(f"{dotted}: unknown key{hint}")
        elif err["type"] == "literal_error" and isinstance(err.get("input"), str):
            expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            close = difflib.get_close_matches(err["input"], expected, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(f"{dotted}: '{err['input']}' is not allowed ({hint}choose one of {', '.join(expected)})")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            shown = f" (got {got!r})" if not isinstance(got, dict | list) and got is not None else ""
            problems.append(f"{dotted}: {msg}{shown}")
    return problems


def validate_intent(data: dict[str, Any], source: str) -> Intent:
    try:
        return Intent.model_validate(data)
    except ValidationError as exc:
        raise ConfigErrors(source, format_validation_error(exc)) from None


def flatten(data: Any, prefix: str = "", leaf_keys: tuple[str, ...] = ("optimizer_args",)) -> dict[str, Any]:
    """Nested mapping -> {"train.lr": 1e-4, "datasets.0.folder_path": …}: lists of mappings are indexed, other
    lists are leaves, and so are the mappings under `leaf_keys` (an intent's optimizer_args is one value)."""
    out: dict[str, Any] = {}
    items = enumerate(data) if isinstance(data, list) else data.items()
    for key, value in items:
        dotted = f"{prefix}{key}"
        nested = isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict))
        if nested and key not in leaf_keys:
            out.update(flatten(value, dotted + ".", leaf_keys))
        else:
            out[dotted] = value
    return out


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise UserError(f"--set {dotted}: '{part}' is a value, not a section")
        node = nxt
    node[parts[-1]] = value


def field_type_at(dotted: str) -> Any:
    """The schema's annotation at a dotted key, or raise a UserError with "did you mean"."""
    model: type[BaseModel] = Intent
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        info = model.model_fields.get(part)
        if info is None:
            close = suggest(".".join(parts[: i + 1]), list(model.model_fields))
            where = ".".join(parts[:i]) or "the top level"
            hint = f"did you mean '{close}'?" if close else f"keys at {where}: " + ", ".join(model.model_fields)
            raise UserError(f"--set {dotted}: unknown key ({hint})")
        ann = info.annotation
        if i < len(parts) - 1 and model is Intent and part == "trainer":
            return Any  # the pass-through: its keys are checked by the trainer's own key knowledge when planned
        if i < len(parts) - 1:
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                raise UserError(f"--set {dotted}: '{part}' is a value, not a section")
            model = ann
        else:
            return ann
    return None


def parse_set(item: str) -> tuple[str, Any]:
    """`key=value` split on the first `=`; the value is read as YAML (so 1e-4, true, [512, 1024] work)."""
    from fluxgen.fsio import load_yaml_text

    if "=" not in item:
        raise UserError(f"--set {item}: expected KEY=VALUE, e.g. --set train.lr=5e-5")
    key, raw = item.split("=", 1)
    key = key.strip()
    ann = field_type_at(key)
    if ann is str or ann == (str | None):
        return key, raw
    value = load_yaml_text(raw, f"--set {key}") if raw.strip() else None
    if isinstance(value, str) and _float_like(value):
        value = float(value)
    return key, value


def _float_like(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

