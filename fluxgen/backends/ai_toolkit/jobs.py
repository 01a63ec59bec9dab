"""ai-toolkit checks that depend on the job: which jobs run.py starts, the `config:` keys each job class reads,
the process types each job registers, and the keys of processes that are not SD trainers (generate, extract,
mod, captioners...). The facts are read from ai-toolkit's source at the pin (fluxgen/backends/ai_toolkit/jobs.json)."""

from __future__ import annotations

from typing import Any

from fluxgen.knowledge import AitkJob, AitkProcess, KeySpec, ai_toolkit_jobs
from fluxgen.validate.report import Report, did_you_mean

UNKNOWN_FIX = "ai-toolkit ignores keys it does not know, so this setting has no effect"


def job_of(report: Report, value: Any) -> AitkJob | None:
    """The job class for `job:`, reporting values run.py does not start."""
    jobs = ai_toolkit_jobs()
    started = [name for name, job in jobs.items() if job.dispatched]
    if not isinstance(value, str):
        return None
    job = jobs.get(value)
    if job is not None and not job.dispatched:
        report.add("error", "job", f"'{value}': ai-toolkit has a {job.cls} class, but run.py does not start it "
                   f"(toolkit/job.py get_job stops with 'Unknown job type {value}')",
                   f"use one of {', '.join(started)}", "aitk-job-type")
        return job
    if job is None:
        report.add("error", "job", f"'{value}' is not a job type{did_you_mean(value, started)}",
                   f"use one of {', '.join(started)} (FLUX LoRAs use extension)", "aitk-choice")
    return job


def check_job_keys(report: Report, config: dict[str, Any], job: AitkJob) -> None:
    """`config:` keys the job class does not read, and those it requires (name is reported by its own rule)."""
    for key in config:
        if key not in job.keys:
            report.add("error", f"config.{key}", f"unknown key for job: {job.name}{did_you_mean(str(key), job.keys)}",
                       f"{job.cls} does not read it; {UNKNOWN_FIX}", "aitk-unknown-key")
    for key, spec in job.keys.items():
        if spec.required and key not in config and key not in {"name", "process"}:
            report.add("error", f"config.{key}", f"missing; {job.cls} stops without it", f"add '{key}:' under config",
                       "aitk-required")


def process_type(report: Report, proc: dict[str, Any], path: str, job: AitkJob) -> AitkProcess | None:
    """The registered process for `type:`, reporting types the job does not register or cannot load."""
    kind = proc.get("type")
    if not isinstance(kind, str):
        return None
    entry = job.process_types.get(kind)
    if entry is not None and entry.cls is None:
        report.add("error", f"{path}.type", f"'{kind}' is in {job.cls}'s process table, but its class does not exist "
                   "at this ai-toolkit commit, so ai-toolkit stops", f"use one of {_types(job)}", "aitk-process-type")
        return None
    if entry is None:
        others = [name for name, other in ai_toolkit_jobs().items() if kind in other.process_types and other.dispatched]
        where = f" (it is a process of job: {others[0]})" if others else did_you_mean(kind, job.process_types)
        extra = " (or from an extension of your own in extensions/)" if job.name == "extension" else ""
        report.add("error", f"{path}.type", f"unknown process type '{kind}'{where}",
                   f"job: {job.name} registers {_types(job)}{extra}", "aitk-process-type")
    return entry


def _types(job: AitkJob) -> str:
    names = [t for t, p in job.process_types.items() if p.cls is not None]
    return ", ".join(names) if names else "no process type at all"


def check_plain_process(report: Report, proc: dict[str, Any], path: str, entry: AitkProcess,
                        sections: dict[str, dict[str, KeySpec]]) -> None:
    """A process that is not an SD trainer: unknown and missing keys, its sections' keys; nothing FLUX-specific."""
    if entry.keys is not None:
        _keys(report, proc, path, entry.keys, f"{entry.cls} does not read it")
    for name, section in entry.sections.items():
        value = proc.get(name)
        if not isinstance(value, dict):
            continue
        keys = sections.get(section.schema) if section.schema else section.keys
        if keys is not None:
            _keys(report, value, f"{path}.{name}", keys, f"{section.cls} does not read it")


def _keys(report: Report, values: dict[Any, Any], path: str, keys: dict[str, KeySpec], why: str) -> None:
    for key in values:
        if key not in keys:
            report.add("error", f"{path}.{key}", f"unknown key{did_you_mean(str(key), keys)}", f"{why}; {UNKNOWN_FIX}",
                       "aitk-unknown-key")
    for key, spec in keys.items():
        if spec.required and key not in values:
            report.add("error", f"{path}.{key}", "missing; ai-toolkit stops without it", f"add '{key}:'",
                       "aitk-required")


def not_flux_note(report: Report, path: str, what: str, checked: str = "only the keys it reads were checked") -> None:
    """One line saying the FLUX LoRA rules were not applied, why, and what was checked instead."""
    report.add("info", path, f"{what}: the FLUX LoRA rules do not apply; {checked}", "", "aitk-not-lora")
