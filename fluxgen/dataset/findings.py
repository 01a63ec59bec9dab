"""The shapes every dataset check shares: one finding, and the settings a lint runs with."""

from __future__ import annotations

from dataclasses import dataclass, field

from fluxgen.backends.base import DatasetQuirks
from fluxgen.dataset.scan import CAPTION_EXTENSION, backend_label, display_name, loaded_extensions

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
DATASET_PATH = "."  # the path of findings about the folder as a whole


@dataclass
class Finding:
    """One thing wrong (or worth knowing) about a file, a group of files, or the dataset.

    `path` is relative to the dataset folder; a finding about several files also lists them all in `paths`.
    """

    id: str
    severity: str
    path: str
    message: str
    fix: str
    paths: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # File names that are not UTF-8 become printable here, so a report can always be shown and stored.
        self.path, self.message, self.fix = (display_name(t) for t in (self.path, self.message, self.fix))
        self.paths = [display_name(p) for p in self.paths]

    def to_dict(self) -> dict:
        out = {"id": self.id, "severity": self.severity, "path": self.path, "message": self.message,
               "fix": self.fix}
        if self.paths:
            out["paths"] = list(self.paths)
        return out


def group_finding(fid: str, severity: str, paths: list[str], message: str, fix: str) -> Finding:
    return Finding(fid, severity, paths[0] if paths else DATASET_PATH, message, fix, list(paths))


def name_list(paths: list[str], limit: int = 4) -> str:
    """`a.jpg, b.png and 3 more` for messages about groups."""
    shown = ", ".join(paths[:limit])
    return shown if len(paths) <= limit else f"{shown} and {len(paths) - limit} more"


@dataclass(frozen=True)
class LintContext:
    """What the dataset is for: the checks' severities and advice depend on it."""

    kind: str | None
    trigger: str | None
    backend: str | None
    resolution: int
    caption_mode: str
    quick: bool
    caption_ext: str = CAPTION_EXTENSION

    @property
    def extensions(self) -> frozenset[str]:
        return loaded_extensions(self.backend)

    @property
    def trainer(self) -> str:
        return backend_label(self.backend)

    @property
    def quirks(self) -> DatasetQuirks:
        """How the chosen trainer's loader treats the folder; with none chosen, what no trainer in particular does."""
        return quirks_of(self.backend)


# With no backend chosen: names outside ASCII are worth a note, mask files are kept for trainers that read them.
NO_BACKEND = DatasetQuirks(non_ascii_names="info", trains_mask_files=False)


def quirks_of(backend: str | None) -> DatasetQuirks:
    if backend is None:
        return NO_BACKEND
    from fluxgen.backends import BACKENDS

    return BACKENDS[backend].dataset_quirks


def default_caption_mode(kind: str | None) -> str:
    """Style datasets train on the trigger alone (seed:000, seed:001); everything else on written captions."""
    return "trigger" if kind == "style" else "captions"
