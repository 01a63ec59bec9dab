"""Validate an ai-toolkit job YAML against every key the pinned SD trainer reads: unknown keys (which ai-toolkit
silently ignores), wrong types, names outside the accepted lists, and the cross-section rules."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any

from fluxgen.backends.ai_toolkit import checks as aitk_rules
from fluxgen.backends.ai_toolkit import jobs as aitk_jobs
from fluxgen.backends.ai_toolkit.key_types import check_type
from fluxgen.knowledge import AitkJob, AitkProcess, AitkSchema, KeySpec, ai_toolkit_schema
from fluxgen.validate.report import KIND_AITK, Report, did_you_mean

# Sub-sections read from a section's key (section -> key -> schema section).
NESTED = {"train": {"ema_config": "train.ema_config", "validation_config": "train.validation_config"},
          "network": {"lorm": "network.lorm"}}
# (schema section, key, choices list, compare lowercased, severity when outside the list)
CHOICES = [
    ("train", "optimizer", "optimizers", True, "error"),
    ("train", "lr_scheduler", "lr_schedulers", False, "error"),
    ("train", "noise_scheduler", "noise_schedulers", False, "error"),
    ("sample", "sampler", "noise_schedulers", False, "error"),
    ("first_sample", "sampler", "noise_schedulers", False, "error"),
    ("train", "dtype", "dtypes", False, "error"),
    ("save", "dtype", "dtypes", False, "error"),
    ("save", "save_format", "save_formats", False, "error"),
    ("datasets[]", "type", "dataset_types", False, "error"),
    ("train", "timestep_type", "timestep_types", False, "warning"),
    ("train", "content_or_style", "content_or_style", False, "warning"),
    ("train", "loss_type", "loss_types", False, "warning"),
    ("network", "type", "network_types", True, "warning"),
]
_VAR = re.compile(r"\$\{([^}]*)\}")


def validate_ai_toolkit(data: Any, source: str = "config.yaml", text: str | None = None,
                        env: Mapping[str, str] | None = None) -> Report:
    """Check a parsed ai-toolkit config; pass the file `text` too for the checks on the raw text (`${VAR}`)."""
    report = Report(source, KIND_AITK)
    schema = ai_toolkit_schema()
    if text is not None:
        _text_checks(report, text, os.environ if env is None else env)
    if not isinstance(data, dict):
        report.add("error", "(document)", "an ai-toolkit config is a mapping with job, config and meta",
                   "start the file with 'job: extension' and a 'config:' mapping", "aitk-structure")
        return report
    _keys(report, data, "", schema.top_level, {})
    job = _job(report, data)
    config = data.get("config")
    if not isinstance(config, dict):  # toolkit/config.py: "config file must have a config section"
        report.add("error", "config", "must be a mapping with name and process" if "config" in data else
                   "missing; ai-toolkit stops without a config section", "add 'config:' with name and process",
                   "aitk-structure")
        return _finish(report, data)
    _config_keys(report, config, schema, job)
    processes = config.get("process")
    if not isinstance(processes, list) or not processes:
        report.add("error", "config.process", "must be a non-empty list of processes",
                   "add '- type: sd_trainer' with its sections under config.process", "aitk-structure")
    else:
        for i, proc in enumerate(processes):
            _process(report, proc, f"config.process[{i}]", schema, config, job)
    if job is not None and job.dispatched and job.name != "extension" and not any(
            p.training for p in job.process_types.values()):
        aitk_jobs.not_flux_note(report, "job", f"'{job.name}' ({job.cls}) is not a training job",
                                "only the keys the job and its processes read were checked")
    report.extend(aitk_rules.check_config(data))
    return _finish(report, data)


def _config_keys(report: Report, config: dict[str, Any], schema: AitkSchema, job: AitkJob | None) -> None:
    """The job class's own keys when the job is known; the extension job's otherwise. Types where known."""
    if job is None:
        _keys(report, config, "config", schema.config_level, {})
        return
    aitk_jobs.check_job_keys(report, config, job)
    typed = {k: v for k, v in schema.config_level.items() if k in job.keys}
    _keys(report, {k: v for k, v in config.items() if k in typed}, "config", typed, {})


def _finish(report: Report, data: Any) -> Report:
    report.extend(aitk_rules.unquoted_name(data, ""))
    seen = {f.path for f in report.findings}
    report.extend(f for f in aitk_rules.loose_floats(data, "") if f.path not in seen)
    return report


def _job(report: Report, data: dict[str, Any]) -> AitkJob | None:
    job = data.get("job")
    if job is None:
        report.add("error", "job", "missing; ai-toolkit needs the job type", "add 'job: extension'", "aitk-structure")
        return None
    return aitk_jobs.job_of(report, job)


def _process(report: Report, proc: Any, path: str, schema: AitkSchema, config: dict[str, Any],
             job: AitkJob | None) -> None:
    if not isinstance(proc, dict):
        report.add("error", path, "each process must be a mapping", "write '- type: sd_trainer' and its keys",
                   "aitk-structure")
        return
    if proc.get("type") is None:
        report.add("error", f"{path}.type", "missing; ai-toolkit looks the process up by its type",
                   "add 'type: sd_trainer'", "aitk-structure")
    entry = aitk_jobs.process_type(report, proc, path, job) if job is not None else None
    if entry is not None and not entry.sd_trainer:
        _plain_process(report, proc, path, schema, config, job, entry)
        return
    _sd_process(report, proc, path, schema, config, job, entry)


def _plain_process(report: Report, proc: dict[str, Any], path: str, schema: AitkSchema, config: dict[str, Any],
                   job: AitkJob | None, entry: AitkProcess) -> None:
    """A process that is not an SD trainer: the keys its class reads; BaseTrainProcess's output folder rule."""
    aitk_jobs.check_plain_process(report, proc, path, entry, schema.sections)
    if job is not None and job.name == "extension" or entry.training:
        what = f"'{entry.type}' ({entry.cls})" + (" is not a training process" if not entry.training else "")
        aitk_jobs.not_flux_note(report, f"{path}.type", what)
    if entry.training:
        report.extend(aitk_rules.rule_training_folder(_ctx(proc, path, config, schema, job)))


def _sd_process(report: Report, proc: dict[str, Any], path: str, schema: AitkSchema, config: dict[str, Any],
                job: AitkJob | None, entry: AitkProcess | None) -> None:
    """An SD trainer (BaseSDTrainProcess): every section in full; the FLUX LoRA rules for the LoRA trainers."""
    lora = entry is None or proc.get("type") in schema.trainer_process_types
    process_keys = dict(schema.process)
    if entry is not None and entry.keys is not None:
        process_keys.update({k: v for k, v in entry.keys.items() if k not in process_keys})
    others = {name: specs for name, specs in schema.sections.items() if "." not in name}
    _keys(report, proc, path, process_keys, others)
    for name, value in proc.items():
        if name in schema.sections and isinstance(value, dict):
            _section(report, value, f"{path}.{name}", name, schema, others)
        elif entry is not None and name in entry.sections and isinstance(value, dict):
            own = entry.sections[name].keys
            if own is not None:
                _keys(report, value, f"{path}.{name}", own, {})
    datasets = proc.get("datasets")
    for i, item in enumerate(datasets if isinstance(datasets, list) else []):
        if isinstance(item, dict):
            _section(report, item, f"{path}.datasets[{i}]", "datasets[]", schema, others)
        else:
            report.add("error", f"{path}.datasets[{i}]", "each dataset must be a mapping with folder_path", "",
                       "aitk-structure")
    if lora:
        report.extend(aitk_rules.check_process(proc, path, config, schema, _job_keys(job)))
    else:
        cls = f" ({entry.cls})" if entry is not None else ""
        aitk_jobs.not_flux_note(report, f"{path}.type", f"'{proc.get('type')}'{cls} is an SD trainer but not a LoRA "
                                "trainer", "its keys and sections were checked in full")
        report.extend(aitk_rules.rule_training_folder(_ctx(proc, path, config, schema, job)))


def _job_keys(job: AitkJob | None) -> frozenset[str]:
    return frozenset(job.keys) if job is not None else frozenset({"training_folder"})


def _ctx(proc: dict[str, Any], path: str, config: dict[str, Any], schema: AitkSchema,
         job: AitkJob | None) -> dict[str, Any]:
    return {"proc": proc, "path": path, "config": config, "schema": schema, "job_keys": _job_keys(job)}


def _section(report: Report, values: dict[str, Any], path: str, name: str, schema: AitkSchema,
             others: dict[str, dict[str, KeySpec]]) -> None:
    _keys(report, values, path, schema.sections[name], {k: v for k, v in others.items() if k != name})
    _choices(report, values, path, name, schema)
    for key, sub in NESTED.get(name, {}).items():
        if isinstance(values.get(key), dict):
            _keys(report, values[key], f"{path}.{key}", schema.sections[sub], {})
    if name in {"sample", "first_sample"} and isinstance(values.get("samples"), list):
        for i, item in enumerate(values["samples"]):
            if isinstance(item, dict):
                _keys(report, item, f"{path}.samples[{i}]", schema.sections["sample.samples[]"], {})


def _keys(report: Report, values: dict[Any, Any], path: str, specs: dict[str, KeySpec],
          others: dict[str, dict[str, KeySpec]]) -> None:
    """Unknown keys (with a suggestion from this level, then from sibling sections) and type mismatches."""
    for key, value in values.items():
        where = f"{path}.{key}" if path else str(key)
        spec = specs.get(key) if isinstance(key, str) else None
        if spec is None:
            report.add("error", where, f"unknown key{_suggest(str(key), specs, others)}",
                       "ai-toolkit ignores keys it does not know, so this setting has no effect", "aitk-unknown-key")
            continue
        if aitk_rules.is_unquoted_name(value):
            continue
        problem = check_type(value, spec.types)
        if problem:
            report.add(problem[0], where, problem[1], problem[2], "aitk-type")
        elif spec.item_types and isinstance(value, list):
            for i, item in enumerate(value):
                problem = check_type(item, spec.item_types)
                if problem and not aitk_rules.is_unquoted_name(item):
                    report.add(problem[0], f"{where}[{i}]", problem[1], problem[2], "aitk-type")


def _suggest(key: str, specs: dict[str, KeySpec], others: dict[str, dict[str, KeySpec]]) -> str:
    here = did_you_mean(key, specs)
    if here:
        return here
    owners = [name for name, keys in others.items() if key in keys]
    if owners:
        return f" (it is read from '{owners[0].removesuffix('[]')}', not here)"
    owner_of = {k: name.removesuffix("[]") for name, keys in others.items() for k in keys}
    close = difflib.get_close_matches(key, list(owner_of), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}' in {owner_of[close[0]]}?)" if close else ""


def _choices(report: Report, values: dict[str, Any], path: str, name: str, schema: AitkSchema) -> None:
    for section, key, list_name, fold, severity in CHOICES:
        value = values.get(key)
        if section != name or not isinstance(value, str):
            continue
        choices = schema.choices[list_name]
        probe = value.lower() if fold else value
        if probe in choices or (key == "optimizer" and probe.startswith(schema.choices["optimizer_prefixes"])):
            continue
        shown = ", ".join(choices)
        message = f"'{value}' is not a value ai-toolkit accepts for {key}{did_you_mean(probe, choices)}"
        if name == "network" and key == "type":  # any other name falls through to a plain LoRA
            message = f"'{value}' is not a network type ai-toolkit acts on{did_you_mean(probe, choices)}; it trains " \
                      "a plain LoRA"
        report.add(severity, f"{path}.{key}", message, f"use one of {shown}", "aitk-choice")
    augments = values.get("augments") if name == "datasets[]" else None
    for i, item in enumerate(augments if isinstance(augments, list) else []):
        if item not in schema.choices["augments"]:
            report.add("error", f"{path}.augments[{i}]", f"'{item}' is not an augment ai-toolkit knows",
                       f"use {' or '.join(schema.choices['augments'])}", "aitk-choice")


def _text_checks(report: Report, text: str, env: Mapping[str, str]) -> None:
    """`${VAR}` is substituted in the raw text, comments included, before ai-toolkit parses the YAML."""
    for number, line in enumerate(text.splitlines(), 1):
        for match in _VAR.finditer(line):
            var = match.group(1)
            hash_at = line.find("#")
            in_comment = 0 <= hash_at < match.start() and (hash_at == 0 or line[hash_at - 1] in " \t")
            where = " (even inside this comment)" if in_comment else ""
            if var in env:
                report.add("info", f"line {number}", f"${{{var}}} is replaced from the environment{where}; "
                           "its value is written into config.yaml in the run folder", "", "aitk-env-var")
            else:  # toolkit/config.py raises "Environment variable … not set" before anything runs
                report.add("error", f"line {number}", f"${{{var}}} is replaced from the environment{where}, and "
                           f"{var} is not set here: ai-toolkit stops when it is unset",
                           f"set {var} before running, or remove ${{{var}}}", "aitk-env-var")
