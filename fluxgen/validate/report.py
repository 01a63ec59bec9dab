"""Findings and the report that gathers them, so every check speaks one format: `file: path: message (fix)`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("error", "warning", "info")
KIND_AITK = "ai-toolkit-config"
KIND_SD_ARGS = "sd-scripts-args"
KIND_SD_DATASET = "sd-scripts-dataset"
KIND_SD_COMMAND = "sd-scripts-command"
KIND_SD_PROMPTS = "sd-scripts-sample-prompts"
KIND_BUILTIN = "builtin-config"
KIND_COMMAND = "launch-command"
BACKEND_OF_KIND = {KIND_AITK: "ai-toolkit", KIND_SD_ARGS: "sd-scripts", KIND_SD_DATASET: "sd-scripts",
                   KIND_SD_COMMAND: "sd-scripts", KIND_SD_PROMPTS: "sd-scripts", KIND_BUILTIN: "builtin",
                   KIND_COMMAND: "any"}


@dataclass(frozen=True)
class Finding:
    """One thing found at `path` (dotted key path, `--flag` or `line N`); `rule` names the check that found it."""

    severity: str
    path: str
    message: str
    fix: str = ""
    rule: str = ""

    def line(self, source: str) -> str:
        tail = f" ({self.fix})" if self.fix else ""
        return f"{source}: {self.path}: {self.message}{tail}"

    def to_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "path": self.path, "message": self.message, "fix": self.fix}


@dataclass
class Report:
    """Everything found in one file or command; `ok` when nothing is an error."""

    source: str
    kind: str
    findings: list[Finding] = field(default_factory=list)
    owner: str | None = None  # the backend, for kinds a backend package defines itself

    @property
    def backend(self) -> str:
        return self.owner or BACKEND_OF_KIND[self.kind]

    def add(self, severity: str, path: str, message: str, fix: str = "", rule: str = "") -> None:
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        self.findings.append(Finding(severity, path, message, fix, rule))

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def of(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    @property
    def errors(self) -> list[Finding]:
        return self.of("error")

    @property
    def warnings(self) -> list[Finding]:
        return self.of("warning")

    @property
    def infos(self) -> list[Finding]:
        return self.of("info")

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted(self) -> list[Finding]:
        """Errors first, then warnings, then infos; the order found within each."""
        return [f for sev in SEVERITIES for f in self.of(sev)]

    def lines(self) -> list[str]:
        return [f.line(self.source) for f in self.sorted()]

    def summary(self) -> str:
        counts = ", ".join(_count(len(self.of(sev)), sev) for sev in SEVERITIES)
        verdict = "ok" if self.ok else "failed"
        return f"{self.source}: {verdict}: {counts} ({self.kind})"

    def format_text(self) -> str:
        """Findings grouped under one heading per severity, then the summary line."""
        out = []
        for severity, heading in zip(SEVERITIES, ("errors", "warnings", "info"), strict=True):
            found = self.of(severity)
            if found:
                out.append(f"{heading}:")
                out += [f.line(self.source) for f in found]
        out.append(self.summary())
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "backend": self.backend,
            "kind": self.kind,
            "findings": [f.to_dict() for f in self.sorted()],
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings), "infos": len(self.infos)},
        }


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 or word == "info" else f"{n} {word}s"


def did_you_mean(word: str, candidates: Iterable[str], prefix: str = "") -> str:
    """` (did you mean 'x'?)` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def describe(value: Any) -> str:
    """A value's YAML/TOML kind in words, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an int ({value})"
    if isinstance(value, float):
        return f"a float ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a table/mapping"
    return type(value).__name__
