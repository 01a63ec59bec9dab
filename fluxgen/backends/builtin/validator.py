"""The builtin trainer's config, checked by the trainer's own strict schema."""

from __future__ import annotations

from fluxgen.validate.report import KIND_BUILTIN, Report


def validate_builtin(data: object, source: str) -> Report:
    """The builtin trainer's own strict schema decides; its findings are reported one per key."""
    from fluxgen.errors import ConfigErrors, UserError
    from fluxgen.trainer.config import parse_config

    report = Report(source, KIND_BUILTIN)
    try:
        parse_config(data, source)
    except ConfigErrors as exc:
        for problem in exc.problems:
            path, _, message = problem.partition(": ")
            report.add("error", path, message, "see docs/builtin-trainer.md for the keys", "builtin-schema")
    except UserError as exc:
        report.add("error", "(file)", str(exc).removeprefix(f"{source}: "), "", "builtin-schema")
    return report
