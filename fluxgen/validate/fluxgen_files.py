"""What every rendered file shares: the backend its header names, and command.txt (it runs the config beside it)."""

from __future__ import annotations

from fluxgen.validate.report import KIND_COMMAND, Report


def header_backend(text: str) -> str | None:
    """The backend a fluxgen-rendered file says it was made for."""
    from fluxgen.errors import UserError
    from fluxgen.header import Header

    try:
        header = Header.parse(text)
    except UserError:  # a damaged intent line: validate reports the file for what it is
        return None
    return header.backend if header is not None else None


def validate_command_file(text: str, source: str, backend: str) -> Report:
    """command.txt of a backend whose command has no options to check: it runs the config next to it."""
    report = Report(source, KIND_COMMAND)
    report.add("info", "(command)", f"the {backend} command takes the config file next to it; its settings are "
               "checked there", "run fluxgen validate on that config", "command-file")
    return report
