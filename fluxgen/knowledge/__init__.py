"""What the pinned trainers read: typed, cached views of the JSON in each backend package (built by build_data.py).

The facts come from the reference notes at the pinned commits (recorded in each file's provenance); fluxgen's
validators and renderers use these instead of hard-coding option names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from fluxgen.paths import PACKAGE_DIR

BACKENDS_DIR = PACKAGE_DIR / "backends"
# Data file (as build_data names it) -> where it lives: beside the backend it describes.
DATA_FILES = {
    "ai_toolkit_keys.json": BACKENDS_DIR / "ai_toolkit" / "keys.json",
    "ai_toolkit_jobs.json": BACKENDS_DIR / "ai_toolkit" / "jobs.json",
    "sd_scripts_args.json": BACKENDS_DIR / "sd_scripts" / "args.json",
    "sd_scripts_dataset.json": BACKENDS_DIR / "sd_scripts" / "dataset.json",
    "sd_scripts_network_args.json": BACKENDS_DIR / "sd_scripts" / "network_args.json",
}


@dataclass(frozen=True)
class ArgSpec:
    """One option of flux_train_network.py as argparse defines it."""

    name: str
    type: str  # str | int | float | int_or_float | flag
    nargs: str | None
    default: Any
    choices: tuple[Any, ...] | None
    known_values: tuple[str, ...] | None  # names the trainer accepts but argparse does not restrict
    group: str
    defined_at: str

    @property
    def takes_value(self) -> bool:
        return self.type != "flag"


@dataclass(frozen=True)
class SdFacts:
    """sd-scripts facts beyond the option table: FLUX-unused options, deprecations, flags that do not exist."""

    commit: str
    flux_unused: tuple[str, ...]
    flux_unused_prompt_flags: tuple[str, ...]
    deprecated: tuple[str, ...]
    known_missing: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class NetArgSpec:
    """A `--network_args key=value` key networks.lora_flux reads."""

    name: str
    kind: str  # bool_str | int | float | int_list | block_indices | choice | regex_map
    choices: tuple[str, ...] | None = None
    length: int | None = None


@dataclass(frozen=True)
class DatasetKey:
    """A dataset-TOML key: the Python types voluptuous accepts and the levels it may appear at."""

    name: str
    types: tuple[str, ...]  # str | bool | int | float | dict | list | [int,int] | [float,float]
    levels: tuple[str, ...]  # general | datasets | subsets
    required: str | None  # dreambooth | fine_tune | controlnet | resolved (from TOML or --resolution)
    default: Any


@dataclass(frozen=True)
class DatasetSchema:
    commit: str
    keys: dict[str, DatasetKey]

    def level(self, level: str) -> dict[str, DatasetKey]:
        """Keys allowed at `general`, `datasets` or `subsets`."""
        return {k: v for k, v in self.keys.items() if level in v.levels}


@dataclass(frozen=True)
class KeySpec:
    """An ai-toolkit key: accepted types (str int float number bool list dict any) and default."""

    name: str
    types: tuple[str, ...]
    default: Any = None
    required: bool = False
    item_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AitkSchema:
    commit: str
    job_types: tuple[str, ...]
    trainer_process_types: tuple[str, ...]
    other_process_types: tuple[str, ...]
    top_level: dict[str, KeySpec]
    config_level: dict[str, KeySpec]
    process: dict[str, KeySpec]
    sections: dict[str, dict[str, KeySpec]]  # "train", "datasets[]", "sample.samples[]", ...
    choices: dict[str, tuple[str, ...]]
    flux_archs: tuple[str, ...]


@dataclass(frozen=True)
class AitkSection:
    """A mapping inside a non-SD process (`generate:`): checked through a reference section (`schema`), through
    the keys its config class reads (`keys`), or not at all when the class hands it on whole (`open`)."""

    cls: str
    schema: str | None
    keys: dict[str, KeySpec] | None


@dataclass(frozen=True)
class AitkProcess:
    """A process type a job registers, and what its class reads (`keys` None: it hands the mapping on whole)."""

    type: str
    cls: str | None  # None: the job's table names a class that does not exist at the pin
    training: bool
    sd_trainer: bool
    keys: dict[str, KeySpec] | None
    sections: dict[str, AitkSection]


@dataclass(frozen=True)
class AitkJob:
    """A job class: whether run.py starts it, the `config:` keys it reads, its process types."""

    name: str
    cls: str
    dispatched: bool
    keys: dict[str, KeySpec]
    process_types: dict[str, AitkProcess]


def _untyped(entries: dict[str, Any]) -> dict[str, KeySpec]:
    return {k: KeySpec(k, ("any",), d.get("default"), bool(d.get("required"))) for k, d in entries.items()}


def _aitk_process(kind: str, d: dict[str, Any]) -> AitkProcess:
    sections = {k: AitkSection(s["class"], s.get("schema"), None if s.get("open") or "keys" not in s
                               else _untyped(s["keys"])) for k, s in d.get("sections", {}).items()}
    keys = None if d.get("open") or not d.get("exists") else _untyped(d["keys"])
    return AitkProcess(kind, d.get("class"), bool(d.get("training")), bool(d.get("sd_trainer")), keys, sections)


@cache
def ai_toolkit_jobs() -> dict[str, AitkJob]:
    """Every ai-toolkit job class at the pin with its keys and process types (read from its source)."""
    data = _load("ai_toolkit_jobs.json")["jobs"]
    return {name: AitkJob(name, d["class"], d["dispatched"], _untyped(d["keys"]),
                          {t: _aitk_process(t, p) for t, p in d["process_types"].items()})
            for name, d in data.items()}


def _load(name: str) -> dict[str, Any]:
    return json.loads(DATA_FILES[name].read_text(encoding="utf-8"))


def _tuple(value: Any) -> tuple[Any, ...] | None:
    return tuple(value) if value is not None else None


@cache
def sd_scripts_args() -> dict[str, ArgSpec]:
    """All options of flux_train_network.py at the pinned sd-scripts commit, by name without dashes."""
    data = _load("sd_scripts_args.json")["options"]
    return {
        name: ArgSpec(name, d["type"], d["nargs"], d["default"], _tuple(d["choices"]), _tuple(d.get("known_values")),
                      d["group"], d["defined_at"])
        for name, d in data.items()
    }


@cache
def sd_scripts_facts() -> SdFacts:
    data = _load("sd_scripts_args.json")
    return SdFacts(
        commit=data["provenance"]["commit"],
        flux_unused=tuple(data["flux_unused"]),
        flux_unused_prompt_flags=tuple(data["flux_unused_prompt_flags"]),
        deprecated=tuple(data["deprecated"]),
        known_missing={k: tuple(v) for k, v in data["known_missing"].items()},
    )


@cache
def sd_scripts_network_args() -> dict[str, NetArgSpec]:
    data = _load("sd_scripts_network_args.json")["keys"]
    return {k: NetArgSpec(k, d["kind"], _tuple(d.get("choices")), d.get("length")) for k, d in data.items()}


@cache
def sd_scripts_dataset_schema() -> DatasetSchema:
    data = _load("sd_scripts_dataset.json")
    keys = {k: DatasetKey(k, tuple(d["types"]), tuple(d["levels"]), d["required"], d["default"])
            for k, d in data["keys"].items()}
    return DatasetSchema(data["provenance"]["commit"], keys)


def _keyspecs(entries: dict[str, Any]) -> dict[str, KeySpec]:
    return {k: KeySpec(k, tuple(d["types"]), d.get("default"), bool(d.get("required")), _tuple(d.get("item_types")))
            for k, d in entries.items()}


@cache
def ai_toolkit_schema() -> AitkSchema:
    """Every key ai-toolkit's SD trainer reads at the pinned commit, by section."""
    data = _load("ai_toolkit_keys.json")
    return AitkSchema(
        commit=data["provenance"]["commit"],
        job_types=tuple(data["job_types"]),
        trainer_process_types=tuple(data["trainer_process_types"]),
        other_process_types=tuple(data["other_process_types"]),
        top_level=_keyspecs(data["top_level"]),
        config_level=_keyspecs(data["config_level"]),
        process=_keyspecs(data["process"]),
        sections={name: _keyspecs(sec["keys"]) for name, sec in data["sections"].items()},
        choices={k: tuple(v) for k, v in data["choices"].items()},
        flux_archs=tuple(data["flux_archs"]),
    )


def pinned_commits() -> dict[str, str]:
    """The trainer commits the data describes."""
    return {"ai-toolkit": ai_toolkit_schema().commit, "sd-scripts": sd_scripts_facts().commit}
