"""What an import found: intent values with the file:line each came from, and what no intent key can say.

Every backend's importer fills one `Imported`; the writer and `--minimal` read only this record, so a new trainer
adds its own importer module and nothing here changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.fsio import yaml_lines  # noqa: F401  (the importers' line finder, shared with preset origins)


@dataclass(frozen=True)
class Where:
    """A place in a trainer file: the file, the 1-based line (0 when unknown) and the key as the trainer spells it."""

    file: str
    line: int
    key: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Unmapped:
    """A setting of the trainer file that no intent key produces, and why (what fluxgen renders instead)."""

    where: Where
    value: Any
    why: str
    secret: bool = False  # its value is never written or shown

    def line(self) -> str:
        shown = "(not shown)" if self.secret else repr(self.value)
        return f"{self.where} {self.where.key} = {shown}: {self.why}"


@dataclass(frozen=True)
class Carried:
    """A setting no intent key can say, for the pass-through `trainer: {<backend>: {path: value}}`."""

    where: Where
    path: str  # dotted path inside the backend's pass-through section
    value: Any


@dataclass
class Imported:
    """Intent values (dotted keys) each with its origin, plus the settings left out and notes on choices made."""

    backend: str
    sources: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    carried: list[Carried] = field(default_factory=list)

    def set(self, key: str, value: Any, where: Where | str) -> None:
        """One intent value; `where` is the trainer key it came from, or a sentence (a trainer default…)."""
        self.values[key] = value
        self.origins[key] = (f"imported from {where} ({where.key})" if isinstance(where, Where)
                             else f"imported: {where}")

    def override(self, key: str, value: Any, origin: str) -> None:
        """A value the user gave on the command line instead of the file's."""
        self.values[key] = value
        self.origins[key] = origin

    def leave_out(self, where: Where, value: Any, why: str, *, secret: bool = False) -> None:
        self.unmapped.append(Unmapped(where, value, why, secret))

    def carry(self, where: Where, path: str, value: Any) -> None:
        """A trainer setting no intent key says, offered to the pass-through (`fluxgen.importer.carry` decides)."""
        self.carried.append(Carried(where, path, value))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def overrides(self, keys: list[str] | None = None) -> list[tuple[str, Any, str]]:
        """(dotted key, value, origin) in the shape `presets.layer` takes."""
        return [(k, self.values[k], self.origins[k]) for k in (keys if keys is not None else list(self.values))]

    def nested(self, keys: list[str] | None = None) -> dict[str, Any]:
        from fluxgen.intent import set_dotted

        out: dict[str, Any] = {}
        for key in keys if keys is not None else list(self.values):
            set_dotted(out, key, self.values[key])
        return out


def display(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def json_lines(text: str) -> dict[str, int]:
    """Dotted key (array items by index: `0.instance_data_dir`) -> 1-based line of its value. The json module keeps
    no positions, so this walks the text, handing each scalar to the decoder; an invalid text gives what was read."""
    import bisect
    import json
    import re

    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    space = re.compile(r"\s*")
    decoder = json.JSONDecoder()
    out: dict[str, int] = {}

    def skip(i: int) -> int:
        return space.match(text, i).end()  # type: ignore[union-attr]

    def value(i: int, prefix: str) -> int:
        i = skip(i)
        if text[i] not in "{[":
            return decoder.raw_decode(text, i)[1]
        close, index = ("}" if text[i] == "{" else "]"), 0
        i = skip(i + 1)
        while text[i] != close:
            if close == "}":
                key, i = decoder.raw_decode(text, i)
                i = skip(skip(i) + 1)  # past the colon
                dotted = f"{prefix}{key}"
            else:
                dotted, index = f"{prefix}{index}", index + 1
            out[dotted] = bisect.bisect_right(starts, i)
            i = skip(value(i, dotted + "."))
            i = skip(i + 1) if text[i] == "," else i
        return i + 1

    try:
        value(0, "")
    except (ValueError, IndexError):
        pass
    return out


def toml_lines(text: str) -> dict[str, int]:
    """Dotted key -> 1-based line, for the TOML trainers write: `[table]`, `[[array.of.tables]]` (items by index:
    `datasets.0.subsets.1.image_dir`) and `key = value` lines. tomllib keeps no positions, so this reads the lines."""
    import re

    out: dict[str, int] = {}
    counts: dict[str, int] = {}
    prefix = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if m := re.match(r"^\[\[\s*([^\]]+?)\s*\]\]", stripped):
            name = m.group(1)
            parent = _indexed(name.rsplit(".", 1)[0], counts) if "." in name else ""
            full = f"{parent}.{name.rsplit('.', 1)[1]}" if parent else name
            counts[full] = counts.get(full, -1) + 1
            prefix = f"{full}.{counts[full]}."
        elif m := re.match(r"^\[\s*([^\]]+?)\s*\]", stripped):
            prefix = m.group(1) + "."
        elif m := re.match(r"^([A-Za-z0-9_\-]+|\"[^\"]+\")\s*=", stripped):
            out.setdefault(prefix + m.group(1).strip('"'), number)
    return out


def _indexed(name: str, counts: dict[str, int]) -> str:
    """`datasets.subsets` inside the current `datasets` item -> `datasets.<n>`."""
    parts = name.split(".")
    path = ""
    for part in parts:
        path = f"{path}.{part}" if path else part
        path = f"{path}.{counts.get(path, 0)}" if path in counts else path
    return path
