"""Presets are YAML files discovered on disk and layered with `extends:`; each value remembers its file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.fsio import yaml_lines
from fluxgen.intent import LayeredIntent, flatten, set_dotted, validate_intent
from fluxgen.kinds import KINDS
from fluxgen.paths import BUILTIN_PRESETS_DIR, preset_search_path

MAX_EXTENDS_DEPTH = 16


@dataclass(frozen=True)
class PresetFile:
    name: str
    path: Path
    builtin: bool

    @property
    def is_kind(self) -> bool:
        return self.path.parent.name == "kinds"


def _scan(folder: Path, builtin: bool) -> list[PresetFile]:
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("kinds/*.yaml"))
    return [PresetFile(f.stem, f.resolve(), builtin) for f in files]


def discover() -> dict[str, PresetFile]:
    """Name -> preset. User folders come first and shadow built-in presets of the same name."""
    found: dict[str, PresetFile] = {}
    builtin_dir = BUILTIN_PRESETS_DIR.resolve()
    for folder in [*preset_search_path(), builtin_dir]:
        is_builtin = folder.resolve() == builtin_dir if folder.exists() else False
        for preset in _scan(folder, is_builtin):
            found.setdefault(preset.name, preset)
    return found


def kind_preset(kind: str) -> Path:
    """`kinds/<kind>.yaml` from the preset folders (user folders first): a plain preset of that name never shadows it."""
    builtin_dir = BUILTIN_PRESETS_DIR.resolve()
    for folder in [*preset_search_path(), builtin_dir]:
        candidate = folder / "kinds" / f"{kind}.yaml"
        if candidate.is_file():
            return candidate.resolve()
    raise UserError(f"no preset for kind '{kind}' (expected presets/kinds/{kind}.yaml)")


def find(ref: str, relative_to: Path | None = None) -> Path:
    """A kind, a preset name, or a path to a YAML file (relative to the file that extends it)."""
    if ref in KINDS:
        return kind_preset(ref)  # a kind name always means presets/kinds/<kind>.yaml
    if Path(ref).expanduser().is_file() and relative_to is None:
        return Path(ref).expanduser().resolve()
    looks_like_path = ref.endswith((".yaml", ".yml", ".toml", ".txt")) or "/" in ref or "\\" in ref
    if looks_like_path:
        candidate = Path(ref).expanduser()
        if not candidate.is_absolute() and relative_to is not None:
            candidate = relative_to.parent / candidate
        if candidate.is_file():
            return candidate.resolve()
        raise UserError(f"{ref}: no such intent file; check the path, or run `fluxgen presets ls` for preset names")
    presets = discover()
    if ref in presets:
        return presets[ref].path
    import difflib

    close = difflib.get_close_matches(ref, list(presets), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise UserError(f"{ref}: no such preset ({hint}run `fluxgen presets ls` to list them)")


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        pass
    try:
        return str(path.relative_to(BUILTIN_PRESETS_DIR.parent))
    except ValueError:
        return str(path)


def load_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The file and its `extends:` ancestors, lowest precedence first."""
    from fluxgen.fsio import load_yaml_text

    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    current: Path | None = path
    embedded = embedded_intent(path)
    if embedded is not None:
        return [(path, dict(embedded.get("intent", {})))]
    while current is not None:
        if current in seen:
            loop = " -> ".join(_display(p) for p in [*seen, current])
            raise UserError(f"{_display(current)}: `extends` loops back on itself ({loop}); remove one of them")
        if len(seen) >= MAX_EXTENDS_DEPTH:
            raise UserError(f"{_display(path)}: more than {MAX_EXTENDS_DEPTH} levels of `extends`")
        seen.append(current)
        text = _read(current)
        data = load_yaml_text(text, _display(current)) or {}
        if not isinstance(data, dict):
            raise UserError(f"{_display(current)}: an intent is a YAML mapping (key: value lines), not a {type(data).__name__}")
        parent = data.pop("extends", None)
        chain.insert(0, (current, data))
        current = find(str(parent), relative_to=current) if parent else None
    return chain


def embedded_intent(path: Path) -> dict[str, Any] | None:
    """The intent a rendered file carries in its header comment, or None for an ordinary intent file."""
    from fluxgen.header import Header

    header = Header.read(path)
    return header.intent if header is not None else None


def _read(path: Path) -> str:
    from fluxgen.fsio import read_text_file

    return read_text_file(path)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "optimizer_args":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def layer(ref: str | None, overrides: list[tuple[str, Any, str]], default_kind: str = "subject") -> LayeredIntent:
    """Merge kind preset < preset chain < user file < overrides [(dotted key, value, origin)] into one Intent."""
    chain = load_chain(find(ref)) if ref else []
    embedded = embedded_intent(chain[-1][0]) if chain else None
    kind = _final_kind(chain, overrides) or default_kind
    if embedded is None and not any(p.parent.name == "kinds" for p, _ in chain):
        chain = load_chain(kind_preset(kind)) + chain
    merged: dict[str, Any] = {}
    from fluxgen.origin import Origin

    origins: dict[str, str] = {}
    for path, data in chain:
        is_embedded = embedded_intent(path) is not None
        lines = {} if is_embedded else yaml_lines(_read(path))
        for dotted in flatten(data):
            origins[dotted] = (Origin.embedded(_display(path)) if is_embedded
                               else Origin.preset(_display(path), lines.get(dotted, 1)))
        validate_intent(data, _display(path))
        merged = _merge(merged, data)
    for dotted, value, origin in overrides:
        set_dotted(merged, dotted, value)
        origins[dotted] = origin
    intent = validate_intent(merged, "command line" if overrides else _display(chain[-1][0]))
    names = list(embedded.get("chain", [])) if embedded else [_display(p) for p, _ in chain]
    return LayeredIntent(intent, origins, names, merged)


def _final_kind(chain: list[tuple[Path, dict[str, Any]]], overrides: list[tuple[str, Any, str]]) -> str | None:
    kind = None
    for _, data in chain:
        kind = data.get("kind", kind)
    for dotted, value, _ in overrides:
        if dotted == "kind":
            kind = value
    return kind if kind in KINDS else None  # an unknown kind is reported by the schema, with its file
