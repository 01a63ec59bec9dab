"""The intent: what a user wants from a LoRA, as a strict schema, layered from presets, files and the command line.

Precedence (lowest first): built-in rules < kind preset < preset chain (`extends:`) < the user's file < command-line
options and `--set key=value`. Every value that is given remembers where it came from (file and line, or the option).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

from fluxgen.errors import ConfigErrors, UserError
from fluxgen.intent_sections import (
    DatasetEntry,
    DatasetIntent,
    ModelIntent,
    NetworkIntent,
    SamplesIntent,
    SaveIntent,
    TrainIntent,
)
from fluxgen.intent_values import _has_control, _Strict
from fluxgen.kinds import Kind


class Intent(_Strict):
    """Everything may be left out: the planning rules fill what is missing."""

    name: str | None = Field(default=None, description="Output name; default: the dataset folder's name.")
    description: str | None = Field(default=None, description='Free text saying what the intent is for.')
    kind: Kind | None = Field(default=None, description='What the LoRA is for: subject, style, character or concept; picks the kind preset and its rules.')
    trigger: str | None = Field(default=None, description='Trigger word, one line.')
    backend: str | None = Field(default=None, description='The trainer: ai-toolkit, sd-scripts (alias kohya) or builtin.')
    vram: int | None = Field(default=None, ge=4, le=192, description="GPU memory in GB; tiers pick each trainer's memory settings.")
    dataset: DatasetIntent = Field(default_factory=DatasetIntent, description='The image folder and how it is read.')
    datasets: list[DatasetEntry] | None = Field(default=None, min_length=1, max_length=32, description="Several image folders instead of `dataset.path`, each with its own repeats, captions, resolution(s), masks and `is_reg`; unset values come from `dataset:` and the rules.")
    network: NetworkIntent = Field(default_factory=NetworkIntent, description='The LoRA network.')
    train: TrainIntent = Field(default_factory=TrainIntent, description='Training settings.')
    save: SaveIntent = Field(default_factory=SaveIntent, description='Checkpoints.')
    samples: SamplesIntent = Field(default_factory=SamplesIntent, description='Sample images during training.')
    model: ModelIntent = Field(default_factory=ModelIntent, description='The base model and, for sd-scripts, its single files.')
    logging: Literal["tensorboard", "wandb", "all"] | None = Field(default=None, description="Training metrics through the trainer's own switches (SimpleTuner `report_to`), the log folder `logs/` inside the run folder (SimpleTuner: `output/logs/`); wandb reads its key from WANDB_API_KEY in the environment, never from a file fluxgen writes.")
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
        elif _entry_model(ann) is not None:  # `datasets[].is_reg`: a key of every entry of the list
            out += all_paths(_entry_model(ann), prefix + name + "[].")
    return out


def suggest(dotted: str, siblings: list[str]) -> str | None:
    """Closest key at the same level, else the same key name in another section (train.rank → network.rank)."""
    parts = dotted.split(".")
    close = difflib.get_close_matches(parts[-1], siblings, n=1, cutoff=0.6)
    if close:
        return ".".join([*parts[:-1], close[0]])
    leaves = [p for p in all_paths() if "[]" not in p]
    by_name = [p for p in leaves if difflib.get_close_matches(parts[-1], [p.split(".")[-1]], n=1, cutoff=0.75)]
    if by_name:
        return min(by_name, key=lambda p: -difflib.SequenceMatcher(None, p, dotted).ratio())
    return None


def _entry_model(ann: Any) -> type[BaseModel] | None:
    """The model of a list-of-sections field (`datasets: list[DatasetEntry] | None`), else None."""
    import typing

    for arg in typing.get_args(ann) or (ann,):
        inner = typing.get_args(arg) if typing.get_origin(arg) is list else ()
        if inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            return inner[0]
    return None


def _dotted(loc: tuple[Any, ...]) -> str:
    """`datasets[1].path`: an entry of the intent's list of folders is shown by its index, as the YAML counts it."""
    out = str(loc[0]) if loc else ""
    for before, part in zip(loc, loc[1:], strict=False):
        out += f"[{part}]" if isinstance(part, int) and before == "datasets" else f".{part}"
    return out


def format_validation_error(exc: ValidationError) -> list[str]:
    """pydantic errors as `dotted.path: message`, with "did you mean" for unknown keys across sections."""
    from fluxgen.pydantic_errors import ErrorStyle, format_errors

    return format_errors(exc, ErrorStyle(Intent, suggest=suggest, path=_dotted))


def validate_intent(data: dict[str, Any], source: str) -> Intent:
    try:
        return Intent.model_validate(data)
    except ValidationError as exc:
        raise ConfigErrors(source, format_validation_error(exc)) from None


def flatten(data: Any, prefix: str = "", leaf_keys: tuple[str, ...] = ("optimizer_args", "prompts")) -> dict[str, Any]:
    """Nested mapping -> {"train.lr": 1e-4, "datasets.0.folder_path": …}: lists of mappings are indexed, other
    lists are leaves, and so are the mappings under `leaf_keys` (an intent's optimizer_args is one value, so is its prompt list)."""
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
    if len(parts) > 2 and parts[0] == "datasets" and parts[1].isdigit():  # an entry of the list of folders
        entries = data.setdefault("datasets", [])
        while len(entries) <= int(parts[1]):
            entries.append({})
        node, parts = entries[int(parts[1])], parts[2:]
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
    if len(parts) > 2 and parts[0] == "datasets" and parts[1].isdigit():  # `--set datasets.1.repeats=3`
        model, parts = DatasetEntry, parts[2:]
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

