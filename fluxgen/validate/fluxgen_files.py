"""The other files `fluxgen render` writes: the builtin trainer's config, sd-scripts' sample prompts, command.txt."""

from __future__ import annotations

from fluxgen.validate.report import KIND_BUILTIN, KIND_COMMAND, KIND_SD_PROMPTS, Report

# sd-scripts' sample prompt options (reference sd-scripts.md §6): name -> value type.
PROMPT_OPTIONS = {"w": int, "h": int, "d": int, "s": int, "l": float, "g": float, "n": str, "ss": str, "cn": str,
                  "ctr": float, "rcfg": float, "fs": str}


def header_backend(text: str) -> str | None:
    """The backend a fluxgen-rendered file says it was made for."""
    from fluxgen.errors import UserError
    from fluxgen.header import Header

    try:
        header = Header.parse(text)
    except UserError:  # a damaged intent line: validate reports the file for what it is
        return None
    return header.backend if header is not None else None


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


def validate_sample_prompts(text: str, source: str) -> Report:
    """One prompt per line, options after ` --` (sd-scripts.md §6); a bad option is logged and skipped by sd-scripts."""
    report = Report(source, KIND_SD_PROMPTS)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        prompt, *options = line.split(" --")
        where = f"line {number}"
        if not prompt.strip():
            report.add("error", where, "no prompt before the options", "write the prompt first", "sd-prompt-empty")
        for option in options:
            name, _, value = option.strip().partition(" ")
            _check_option(report, where, name.lower(), value.strip())
    return report


def _check_option(report: Report, where: str, name: str, value: str) -> None:
    kind = PROMPT_OPTIONS.get(name)
    if kind is None:
        report.add("warning", where, f"--{name} is not a sample prompt option; sd-scripts logs a parse error and "
                   "ignores it", "use --w --h --d --s --l --g --n", "sd-prompt-option")
        return
    try:
        number = kind(value)
    except ValueError:
        report.add("warning", where, f"--{name} {value!r} is not a {kind.__name__}; sd-scripts ignores it",
                   f"give --{name} a {kind.__name__}", "sd-prompt-value")
        return
    if name == "ss":
        report.add("info", where, "--ss (sampler) is ignored for FLUX", "", "sd-prompt-sampler")
    elif name in ("w", "h") and isinstance(number, int) and number % 16:
        report.add("info", where, f"--{name} {number} is floored to a multiple of 16", "", "sd-prompt-size")


def validate_command_file(text: str, source: str, backend: str) -> Report:
    """command.txt of a backend whose command has no options to check: it runs the config next to it."""
    report = Report(source, KIND_COMMAND)
    report.add("info", "(command)", f"the {backend} command takes the config file next to it; its settings are "
               "checked there", "run fluxgen validate on that config", "command-file")
    return report
