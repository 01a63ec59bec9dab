"""Where a plan value came from, as data: its kind, the text shown for it, the file and line it was read from and
the guides it cites. An `Origin` is also its text (a `str`), so `plan.json`, `fluxgen plan` and `explain` show
exactly what they showed before, and code asks `.file`, `.line` or `.cites` instead of parsing that text."""

from __future__ import annotations

import re

# A citation inside a rule's reason: `seed:000`, `ref:sd-scripts §7`, `st:cmd_args` (SimpleTuner's own sources and
# docs at its pin), `design card`.
_CITE_RE = re.compile(r"seed:\d{3}|ref:[\w.-]+(?: §[\w.]+)?|\bst:[\w./-]*\w|design card")
KINDS = ("rule", "preset", "embedded", "command line", "intent", "resolved")


class Origin(str):
    """One value's origin. Build it with the class methods; `str(origin)` is its text."""

    kind: str
    file: str | None
    line: int | None
    cites: tuple[str, ...]

    def __new__(cls, text: str, kind: str = "intent", file: str | None = None, line: int | None = None,
                cites: tuple[str, ...] = ()) -> Origin:
        obj = super().__new__(cls, text)
        obj.kind, obj.file, obj.line, obj.cites = kind, file, line, tuple(cites)
        return obj

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Origin, (str(self), self.kind, self.file, self.line, self.cites))

    @classmethod
    def rule(cls, why: str) -> Origin:
        """Set by a planning rule; `why` names the guide it follows."""
        return cls(f"rule: {why}", "rule", cites=tuple(dict.fromkeys(_CITE_RE.findall(why))))

    @classmethod
    def preset(cls, file: str, line: int) -> Origin:
        return cls(f"preset {file}:{line}", "preset", file, line)

    @classmethod
    def embedded(cls, file: str) -> Origin:
        """From the intent a rendered file carries in its header."""
        return cls(f"intent embedded in {file}", "embedded", file)

    @classmethod
    def command_line(cls, option: str) -> Origin:
        """`--trigger`, or `--set key=value`."""
        return cls(f"command line {option}", "command line")

    def extended(self, more: str) -> Origin:
        """The same origin with more said about it (`; 'auto' from …`): kind, file and line kept, the citations of
        `more` added."""
        cites = tuple(dict.fromkeys((*cites_of(self), *_CITE_RE.findall(more))))
        return Origin(f"{self}{more}", getattr(self, "kind", "intent"), getattr(self, "file", None),
                      getattr(self, "line", None), cites)

    def resolved(self, ref: str) -> Origin:
        """The same value with a hub reference replaced by its local copy."""
        return Origin(f"{self}; {ref} resolved from the Hugging Face cache", "resolved", self.file, self.line,
                      self.cites)


def cites_of(origin: str) -> tuple[str, ...]:
    """The guides an origin cites; an origin read back from plan.json is plain text, so its citations are found
    in it the one way they are written."""
    return origin.cites if isinstance(origin, Origin) else tuple(dict.fromkeys(_CITE_RE.findall(origin)))


def extend(origin: str, more: str) -> Origin:
    """`origin.extended(more)`, for an origin that may be plain text (read back from plan.json)."""
    return (origin if isinstance(origin, Origin) else Origin(origin)).extended(more)
