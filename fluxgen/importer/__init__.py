"""`fluxgen import`: a trainer file someone wrote by hand becomes a fluxgen intent.

    import_files(paths, backend=None, command=None) -> Imported     detect the trainer, ask its backend to import
    intent_yaml(imported, keys=None) -> str                          the intent file, a comment per value
    minimal_keys(imported) -> keys                                   only what the rules would not give anyway

Each backend maps its own keys (`Backend.import_config`, in `fluxgen/backends/<name>/importer.py`); this package
holds only what every trainer shares: the record, the writer and the detection of which trainer wrote a file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fluxgen.errors import UserError
from fluxgen.importer.record import Imported, Unmapped, Where, display, json_lines, toml_lines, yaml_lines
from fluxgen.importer.write import intent_yaml, minimal_keys, ordered_keys

__all__ = ["Imported", "Unmapped", "Where", "detect_backend", "display", "import_files", "intent_yaml", "json_lines",
           "minimal_keys", "ordered_keys", "toml_lines", "yaml_lines"]


def detect_backend(path: Path) -> str:
    """Which trainer reads this file, from its suffix and content (the same detection `fluxgen validate` uses)."""
    from fluxgen.backends import BACKENDS
    from fluxgen.fsio import read_text_file
    from fluxgen.validate import detect_kind
    from fluxgen.validate.report import BACKEND_OF_KIND, KIND_COMMAND, KIND_SD_PROMPTS

    text = read_text_file(path)
    owner = next((name for name, backend in BACKENDS.items() if backend.recognizes(path, text)), None)
    if owner is not None:  # a trainer whose files only its own backend knows (SimpleTuner's JSON)
        return owner
    kind, _ = detect_kind(path, text)
    if kind in (KIND_COMMAND, KIND_SD_PROMPTS):
        raise UserError(f"{path}: this is a {kind} file, not a trainer config; import the config next to it")
    return BACKEND_OF_KIND[kind]


def import_files(paths: Sequence[Path], backend: str | None = None, command: str | None = None) -> Imported:
    """Import one trainer's files (or an sd-scripts command line) as intent values with their origins."""
    from fluxgen.backends import get_backend

    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"{path}: no such file")
    if backend is None:
        if command is not None:
            raise UserError("--command: pass --backend for a command line (sd-scripts reads command lines)")
        if not paths:
            raise UserError("give a trainer FILE to import, or --command STR with --backend sd-scripts")
        found = {detect_backend(Path(p)) for p in paths}
        if len(found) > 1:
            raise UserError(f"{', '.join(map(str, paths))}: files of different trainers ({', '.join(sorted(found))}); "
                            "import one trainer's files at a time")
        backend = found.pop()
    from fluxgen.importer.carry import settle

    imported = get_backend(backend).import_config([Path(p) for p in paths], command=command)
    settle(imported)
    imported.set("backend", imported.backend, f"the trainer that reads {', '.join(imported.sources)}")
    return imported
