"""Validate what flux_train_network.py is given: an args TOML (`--config_file`) or a whole command line
(`accelerate launch [its flags] flux_train_network.py ...`), with every rule that applies to the options."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePath
from typing import Any

from fluxgen.backends.sd_scripts.args import SdArgs, args_from_argv, args_from_toml
from fluxgen.backends.sd_scripts.checks import CONFLICT_RULES
from fluxgen.backends.sd_scripts.dataset_toml import cross_check
from fluxgen.backends.sd_scripts.required import REQUIRED_RULES
from fluxgen.backends.sd_scripts.values import check_values
from fluxgen.validate.report import KIND_SD_ARGS, KIND_SD_COMMAND, Finding, Report
from fluxgen.validate.shell import ShellCommand, split_script

SCRIPT = "flux_train_network.py"
# accelerate launch flags seen in the trainers' launch commands (sd-scripts.md §4.1, §9): name -> takes a value.
ACCELERATE_FLAGS = {"num_cpu_threads_per_process": True, "mixed_precision": True, "num_processes": True,
                    "num_machines": True, "dynamo_backend": True, "dynamo_mode": True, "dynamo_use_fullgraph": False,
                    "dynamo_use_dynamic": False, "gpu_ids": True, "multi_gpu": False, "main_process_port": True}
ACCELERATE_PRECISION = ("no", "fp16", "bf16", "fp8")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def validate_sd_args(data: dict[str, Any], source: str = "args.toml", base_dir: Path | None = None) -> Report:
    """Check an args TOML as read_config_from_file reads it (flattened one level, nothing converted)."""
    report = Report(source, KIND_SD_ARGS)
    args, findings = args_from_toml(data)
    args.base_dir = base_dir
    report.extend(findings)
    report.extend(check_args(args))
    return report


def validate_sd_command(cmd: str, source: str = "--command", base_dir: Path | None = None) -> Report:
    """Check a pasted command line or launch script that runs flux_train_network.py."""
    report = Report(source, KIND_SD_COMMAND)
    commands, findings = split_script(cmd)
    report.extend(findings)
    found = _find_training(commands)
    if found is None:
        report.add("error", "(command)", f"no {SCRIPT} call found", f"paste the command that runs {SCRIPT}",
                   "sd-no-script")
        return report
    command, index = found
    script = command.tokens[index]
    if PurePath(script).name != SCRIPT:
        report.add("warning", script, f"fluxgen knows the options of {SCRIPT}; this script may define others", "",
                   "sd-other-script")
    accelerate, launcher_findings = parse_launcher(command.tokens[:index])
    report.extend(launcher_findings)
    args, arg_findings = args_from_argv(command.tokens[index + 1 :])
    report.extend(arg_findings)
    args.accelerate = accelerate
    args.base_dir = _cd_target(commands, command) or base_dir
    report.extend(_merge_config_file(args))
    report.extend(check_args(args))
    return report


def check_args(args: SdArgs) -> list[Finding]:
    """Values, conflicts, what is missing (when all options are known) and the dataset TOML, if readable."""
    findings = check_values(args)
    for rule in CONFLICT_RULES:
        findings += rule(args)
    if args.complete:
        for rule in REQUIRED_RULES:
            findings += rule(args)
    dataset = _read_toml(args, "dataset_config")
    if dataset is not None:
        findings += cross_check(args, dataset)
    return findings


def _find_training(commands: list[ShellCommand]) -> tuple[ShellCommand, int] | None:
    fallback = None
    for command in commands:
        for i, token in enumerate(command.tokens):
            name = PurePath(token).name
            if name == SCRIPT:
                return command, i
            if fallback is None and name.endswith("train_network.py"):
                fallback = (command, i)
    return fallback


def _cd_target(commands: list[ShellCommand], training: ShellCommand) -> Path | None:
    target = None
    for command in commands:
        if command is training:
            break
        if command.tokens[:1] == ["cd"] and len(command.tokens) == 2 and Path(command.tokens[1]).is_absolute():
            target = Path(command.tokens[1])
    return target


def parse_launcher(tokens: list[str]) -> tuple[dict[str, Any], list[Finding]]:
    """accelerate launch's own flags (or a plain python call) before the script."""
    i = 0
    while i < len(tokens) and _ENV.match(tokens[i]):
        i += 1
    rest = tokens[i:]
    if not rest:
        return {}, []
    exe = PurePath(rest[0]).name
    if exe == "accelerate" and rest[1:2] == ["launch"]:
        return _accelerate_flags(rest[2:])
    if exe.startswith("python"):
        if "-m" in rest and rest[rest.index("-m") + 1 : rest.index("-m") + 2] == ["accelerate.commands.launch"]:
            return _accelerate_flags(rest[rest.index("-m") + 2 :])
        return {}, []
    return {}, [Finding("info", rest[0], "unknown launcher; only the script's options were checked", "",
                        "sd-launcher")]


def _accelerate_flags(tokens: list[str]) -> tuple[dict[str, Any], list[Finding]]:
    values: dict[str, Any] = {}
    findings: list[Finding] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("--"):
            continue
        written, has_inline, inline = token.partition("=")
        name = written[2:].replace("-", "_")
        if name not in ACCELERATE_FLAGS:
            findings.append(Finding("info", f"accelerate {written}", "not one of the accelerate launch flags fluxgen "
                                    "knows; not checked", "", "sd-accelerate-flag"))
            continue
        value: Any = True
        if ACCELERATE_FLAGS[name]:
            if has_inline:
                value = inline
            elif i < len(tokens) and not tokens[i].startswith("--"):
                value, i = tokens[i], i + 1
            else:
                findings.append(Finding("error", f"accelerate {written}", "expects a value", "", "sd-accelerate-flag"))
                continue
        values[name] = value
    precision = values.get("mixed_precision")
    if precision is not None and precision not in ACCELERATE_PRECISION:
        findings.append(Finding("error", "accelerate --mixed_precision", f"invalid choice {precision!r}",
                                f"use one of {', '.join(ACCELERATE_PRECISION)}", "sd-accelerate-flag"))
    return values, findings


def _merge_config_file(args: SdArgs) -> list[Finding]:
    """Options from --config_file count too (the command line wins); unread, absence rules are skipped."""
    if not args.has("config_file"):
        return []
    data = _read_toml(args, "config_file", suffix=".toml")
    if data is None:
        args.complete = False
        return [Finding("info", "--config_file", "the file could not be read here, so options it may set were not "
                        "checked", "run fluxgen validate on the TOML file as well", "sd-config-file")]
    toml_args, findings = args_from_toml(data)
    for name, value in toml_args.given.items():
        if name not in args.given:
            args.given[name] = value
            args.paths[name] = f"--config_file:{toml_args.paths[name]}"
    return [Finding(f.severity, f"--config_file:{f.path}", f.message, f.fix, f.rule) for f in findings]


def _read_toml(args: SdArgs, name: str, suffix: str = "") -> dict[str, Any] | None:
    value = args.get(name)
    if not isinstance(value, str | PurePath) or not str(value):
        return None
    path = Path(str(value))
    if suffix and path.suffix != suffix:
        path = path.with_name(path.name + suffix)
    if not path.is_absolute() and args.base_dir is not None:
        path = args.base_dir / path
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
