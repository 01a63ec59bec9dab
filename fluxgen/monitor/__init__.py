"""Reading a trainer's console: parsers (text → events), diagnosis (events → Summary), the live follower.

Each backend has a module with `parse(lines) -> list[Event]` and an incremental `Parser` (`feed`, `close`).
Importing this package is light: backend modules load only when asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

from fluxgen.errors import UserError
from fluxgen.events import Event

PARSER_MODULES: dict[str, str] = {
    "ai-toolkit": "fluxgen.monitor.ai_toolkit",
    "sd-scripts": "fluxgen.monitor.sd_scripts",
    "builtin": "fluxgen.monitor.builtin",
}


def parser_module(backend: str) -> ModuleType:
    """The console module of a backend (names as in `fluxgen.backends`, aliases such as `kohya` accepted)."""
    from fluxgen.backends import canonical_name

    name = canonical_name(backend)
    module_name = PARSER_MODULES[name]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UserError(f"no console parser is installed for the '{name}' backend") from None


def new_parser(backend: str):
    """An incremental parser (`feed(chunk) -> events`, `close() -> events`) for a live stream."""
    return parser_module(backend).Parser()


def parse_text(backend: str, text: str) -> list[Event]:
    """Events of one whole stream, keeping the line numbers of the text."""
    module = parser_module(backend)
    if hasattr(module, "Parser"):
        parser = module.Parser()
        return parser.feed(text) + parser.close()
    return list(module.parse(text.splitlines(keepends=True)))


def parse_streams(backend: str, texts: Sequence[str]) -> list[Event]:
    """Events of a run captured as several streams (e.g. its stdout and stderr), in one sensible order."""
    from fluxgen.monitor.streams import merge

    return merge([parse_text(backend, text) for text in texts])
