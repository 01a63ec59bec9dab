"""What a trainer's console means, as data: events from the parsers, a summary and a diagnosis at the end."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("completed", "failed", "interrupted", "running")


@dataclass
class Event:
    """One thing the trainer said. Only the fields that apply are set."""

    type: str
    step: int | None = None
    total: int | None = None
    loss: float | None = None
    lr: float | None = None
    path: str | None = None
    message: str | None = None
    phase: str | None = None  # loading | caching | sampling | training | saving
    seconds_per_it: float | None = None
    line: int | None = None  # 1-based line number in the stream it came from
    code: str | None = None  # machine-readable kind of a warning/error, e.g. out_of_memory, nan_loss, interrupted
    final: bool | None = None  # checkpoint events: True for the un-suffixed file written at the end of training

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Diagnosis:
    """Why a run ended as it did, and what to do about it, in plain words."""

    code: str  # e.g. out_of_memory, nan_loss, gated_model, missing_file, dataset_error, no_data, stall, slowdown, crash
    message: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Summary:
    status: str  # one of STATUSES
    last_step: int | None = None
    total: int | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # [{"step": int, "path": str}]
    resumed_from: int | None = None
    diagnosis: Diagnosis | None = None
    last_loss: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["diagnosis"] = self.diagnosis.to_dict() if self.diagnosis else None
        return d
