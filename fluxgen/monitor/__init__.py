"""Reading a trainer's console: parsers (text → events), diagnosis (events → Summary), the live follower.

Each backend package has a `console` module with `parse(lines) -> list[Event]` and, for live streams, an
incremental `Parser` (`feed`, `close`). Importing this package is light: backend modules load only when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from fluxgen.events import Event


def parser_module(backend: str) -> ModuleType:
    """The console module of a backend (names as in `fluxgen.backends`, aliases such as `kohya` accepted)."""
    from fluxgen.backends import get_backend

    return get_backend(backend).console_module()


def new_parser(backend: str):
    """An incremental parser (`feed(chunk) -> events`, `close() -> events`) for a live stream."""
    from fluxgen.backends import get_backend

    return get_backend(backend).new_parser()


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
