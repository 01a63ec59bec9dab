"""The diagnoses a run's error can end in, as one ordered table: the order is the priority (a run with several
errors is diagnosed by the earliest row any of them has), and a row's pattern is how a parser recognises it in an
error message. A backend's own rows (`Backend.diagnoses`) replace the shared row of the same code in its place, and
rows with codes of their own come before the shared ones. Adding a diagnosis is
adding a row: its code, pattern, message (with `{message}` and `{at}`), fix, and a builder when the message needs
more than the error's text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fluxgen.backends.base import DiagnosisRule
from fluxgen.events import Diagnosis, Event
from fluxgen.monitor.advice import FIXES, RunContext, dataset_error, environment, missing_file, out_of_memory


def _oom(event: Event, backend: str | None, context: RunContext | None) -> Diagnosis:
    return out_of_memory(event, backend, killed=False, context=context)


def _environment(event: Event, backend: str | None, context: RunContext | None) -> Diagnosis:
    return environment((event.message or "").strip(), context)


def _dataset(event: Event, backend: str | None, context: RunContext | None) -> Diagnosis:
    return dataset_error((event.message or "").strip())


def _missing(event: Event, backend: str | None, context: RunContext | None) -> Diagnosis:
    return missing_file((event.message or "").strip())


SHARED: tuple[DiagnosisRule, ...] = (
    DiagnosisRule("out_of_memory", r"out of memory|OutOfMemoryError|OOM during training step|can't allocate memory"
                  r"|DefaultCPUAllocator", "", "", _oom),
    DiagnosisRule("gated_model", r"GatedRepoError|gated repo|Access to model \S+ is restricted|\b40[13] Client Error"
                  r"|Invalid user token|Invalid credentials in Authorization|Unauthorized for url",
                  "The model repository refused access (gated FLUX.1-dev, or a missing or invalid Hugging Face "
                  "token): {message}", FIXES["gated_model"]),
    DiagnosisRule("disk_full", r"No space left on device|\[Errno 28\]|StorageFull|Disk quota exceeded|\[Errno 122\]",
                  "The disk filled up{at}: {message}",
                  "Free space on the disk of the run folder (a FLUX LoRA run wants 50+ GB: checkpoints, caches; "
                  "`fluxgen doctor` shows what is free), or lower `save.keep` / save less often; then continue "
                  "with `fluxgen resume` (the checkpoint being written is checked and set aside if truncated)."),
    DiagnosisRule("dataset_error", r"extra keys not allowed|required key not provided|MultipleInvalid"
                  r"|Invalid user config|for dictionary value @|cannot be mixed in the same dataset", "", "", _dataset),
    DiagnosisRule("missing_file", r"FileNotFoundError|No such file or directory|file not found|Repository Not Found"
                  r"|does not exist", "", "", _missing),
    DiagnosisRule("bad_argument", r"unrecognized arguments|invalid choice|ambiguous option|expected one argument"
                  r"|the following arguments are required|: invalid \w+ value",
                  "The trainer rejected its command line: {message}", FIXES["bad_argument"]),
    DiagnosisRule("no_data", r"No data found", "The trainer found no training images and stopped without training.",
                  FIXES["no_data"]),
    DiagnosisRule("nan_loss", r"\bloss is (?:nan|inf)\b|non-finite loss", "The loss became NaN/inf{at}: training "
                  "diverged.", FIXES["nan_loss"]),
    DiagnosisRule("environment", "", "", "", _environment),  # refined from a crash naming a missing module
    DiagnosisRule("crash", "", "The trainer crashed: {message}", FIXES["crash"]),
    DiagnosisRule("bad_config", "", "The trainer rejected a setting: {message}", FIXES["bad_config"]),
)


def rules_for(backend: str | None) -> Sequence[DiagnosisRule]:
    """The backend's rows, then the shared ones: the order in which codes are preferred."""
    if backend is None:
        return SHARED
    from fluxgen.backends import get_backend

    own = {rule.code: rule for rule in get_backend(backend).diagnoses}
    shared = {rule.code for rule in SHARED}
    return (*(r for r in own.values() if r.code not in shared), *(own.get(r.code, r) for r in SHARED))


def priority(code: str, backend: str | None = None) -> int:
    """Rank of a code (lower wins); a code no table has ranks last."""
    codes = [rule.code for rule in rules_for(backend)]
    return codes.index(code) if code in codes else len(codes)


def diagnose(code: str, event: Event, backend: str | None, context: RunContext | None) -> Diagnosis:
    """The diagnosis of an error event whose (refined) code is `code`: its row's builder, or its message and fix."""
    rule = next((r for r in rules_for(backend) if r.code == code), None) or SHARED[-1]
    if rule.build is not None:
        return rule.build(event, backend, context)
    message = (event.message or "").strip()
    at = f" at step {event.step}" if event.step is not None else ""
    fix = rule.fix
    if rule.code == "crash":
        from fluxgen.monitor.advice import fix_for

        fix = fix_for("crash", context)
    return Diagnosis(rule.code, rule.message.format(message=message, at=at), fix)


def code_of(message: str, backend: str | None = None) -> str | None:
    """The code of the first row whose pattern the error message matches, None for an unrecognised crash."""
    import re

    for rule in rules_for(backend):
        if rule.pattern and re.search(rule.pattern, message, re.I):
            return rule.code
    return None


def fix_of(code: str) -> Any:
    """The fixed fix text of a table row, None when the code has no row with one."""
    rule = next((r for r in SHARED if r.code == code and r.fix), None)
    return rule.fix if rule else None
