"""One error hierarchy, caught once at the CLI boundary and shown as one line."""

from __future__ import annotations


class FluxgenError(Exception):
    """Base of every error fluxgen raises on purpose; exit code 1 at the CLI."""

    exit_code = 1


class UserError(FluxgenError):
    """Bad input: a file, a value or an option the user can fix."""


class ConfigErrors(UserError):
    """Several findings about one file, reported together as `file: dotted.path: message` lines."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {p}" for p in problems]
        super().__init__("\n".join(lines))


class RenderMismatch(FluxgenError):
    """A rendered file did not read back as the plan said: a fluxgen bug, never written to disk."""


class TrainerFailed(FluxgenError):
    """The trainer ended without producing what the plan asked for."""


class Interrupted(FluxgenError):
    """The user stopped a run (Ctrl-C / SIGTERM)."""

    exit_code = 130
