"""sd-scripts' sample prompt file: one prompt per line, its options after ` --` (ref:sd-scripts §6)."""

from __future__ import annotations

from fluxgen.validate.report import KIND_SD_PROMPTS, Report

# sd-scripts' sample prompt options (reference sd-scripts.md §6): name -> value type.
PROMPT_OPTIONS = {"w": int, "h": int, "d": int, "s": int, "l": float, "g": float, "n": str, "ss": str, "cn": str,
                  "ctr": float, "rcfg": float, "fs": str}


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
