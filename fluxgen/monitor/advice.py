"""What to do about each way a run can fail, in plain words: the fix that goes with a diagnosis.

The advice follows the guides (seed:001 failure table, seed:002/004 hardware, seed:003 learning rates) and the
trainers' own low-VRAM options (reference ai-toolkit.md §2.3, sd-scripts.md §7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fluxgen.events import Diagnosis, Event


@dataclass(frozen=True)
class RunContext:
    """What is known about a run beyond its console, so a fix can be concrete: the plan's values (for fluxgen
    options that use less memory), the trainer's Python and checkout, and the run folder (for `fluxgen resume`)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    python: str | None = None
    trainer_dir: str | None = None
    run_dir: str | None = None

FIXES = {
    "gated_model": (
        "Open https://huggingface.co/black-forest-labs/FLUX.1-dev while logged in and accept the licence, "
        "create a read token, and set HF_TOKEN=hf_… in the trainer's environment (or run `hf auth login`); "
        "or point the config at a local copy of the model."
    ),
    "missing_file": (
        "Check the path. A dataset must be an existing folder of images (ai-toolkit "
        "`datasets[].folder_path`, sd-scripts `image_dir`; `fluxgen dataset lint` checks it before launch); "
        "model files are the model section's paths (sd-scripts `--pretrained_model_name_or_path`, "
        "`--clip_l`, `--t5xxl`, `--ae`)."
    ),
    "no_data": (
        "Check `image_dir` in the dataset TOML: it must hold images (.png .jpg .jpeg .webp .bmp) and "
        "num_repeats must be at least 1; `fluxgen dataset lint` lists what it finds."
    ),
    "bad_argument": (
        "Remove or correct that argument (sd-scripts stops on unknown flags and invalid choices); "
        "`fluxgen validate` checks a command line against the pinned trainer's options."
    ),
    "nan_loss": (
        "Lower the learning rate (e.g. 1e-4 → 5e-5; seed:001, seed:003), prefer bf16 to fp16 mixed "
        "precision, and resume from the last checkpoint saved before the loss went bad."
    ),
    "bad_config": (
        "Change the setting the message names. In a fluxgen run, set it in the intent or with --set "
        "(e.g. --set train.optimizer=adamw) and train again; the trainer's config file is rendered from the plan."
    ),
    "crash": (
        "Read the traceback just above that line in the log; fix the setting it names and start again "
        "(ai-toolkit resumes from its newest checkpoint by itself)."
    ),
    "environment": (
        "Install the trainer's requirements into the Python that runs it (pip install -r requirements.txt "
        "in its checkout); `fluxgen doctor` checks every module the trainer imports."
    ),
    "interrupted": (
        "Start the same job again to continue: ai-toolkit resumes from its newest checkpoint by itself "
        "(steps after the last save are lost); sd-scripts continues with "
        "`--resume <output_dir>/<name>-…-state` when it ran with `--save_state`."
    ),
    "stall": (
        "Check that the trainer still uses the GPU (nvidia-smi). Before step 1 this is often the data loader "
        "or the first compile; mid-run, memory spilling to system RAM or a hung sample. If nothing moves, "
        "stop it and resume from the last checkpoint."
    ),
    "slowdown": (
        "Usually VRAM is full and the driver spills to system RAM (on Windows set 'CUDA - Sysmem Fallback "
        "Policy' to 'Prefer No Sysmem Fallback' so it fails instead of crawling), or the GPU is throttling. "
        "Lower memory use as for out-of-memory: batch size, resolution, low-VRAM options."
    ),
    "disk_full": (
        "Free space on the disk that holds the output folder (each checkpoint is the size of the LoRA, a saved "
        "training state several times that), or lower how many checkpoints are kept, then start the job "
        "again from its last complete checkpoint."
    ),
    "no_output": "Check the output folder and free disk space; the last checkpoint listed above is usable.",
}
# With a run folder, these fixes end with the command that continues the run.
_RESUME_FIXES = {
    "crash": "Read the traceback just above that line in train.log and fix what it names; then `fluxgen resume {run}` "
             "continues from the last checkpoint.",
    "interrupted": "Continue it with `fluxgen resume {run}` (from the last checkpoint; ai-toolkit loses the steps "
                   "after its last save).",
    "disk_full": "Free space on the disk that holds {run} (each checkpoint is the size of the LoRA, a saved "
                 "training state several times that) or lower `save.keep`; then `fluxgen resume {run}` continues "
                 "from the last complete checkpoint.",
    "stall": FIXES["stall"].replace("stop it and resume from the last checkpoint",
                                    "stop it (Ctrl-C) and continue with `fluxgen resume {run}`"),
}
_RAM_RE = re.compile(r"DefaultCPUAllocator|can't allocate memory", re.I)
_KILLED_RE = re.compile(r"died with <Signals\.SIGKILL: 9>|returned non-zero exit status -9\b")
_MISSING_MODULE_RE = re.compile(r"No module named '([^']+)'")


def fix_for(code: str, context: RunContext | None = None) -> str:
    """The fix of a diagnosis kind; with a run folder it names the `fluxgen resume` that continues the run."""
    if context is not None and context.run_dir and code in _RESUME_FIXES:
        return _RESUME_FIXES[code].format(run=context.run_dir)
    if code not in FIXES:
        from fluxgen.monitor.diagnoses import fix_of

        return fix_of(code) or ""
    return FIXES[code]


def refine(code: str | None, message: str | None) -> str:
    """A more precise kind than the parser's for a few crashes: a module the trainer's Python lacks."""
    code = code or "crash"
    if code == "crash" and _MISSING_MODULE_RE.search(message or ""):
        return "environment"
    return code


def was_killed(message: str | None) -> bool:
    """`accelerate launch` reporting that the trainer was SIGKILLed (by the kernel, when RAM ran out)."""
    return bool(_KILLED_RE.search(message or ""))
_PATH_RES = (
    re.compile(r"No such file or directory: '([^']+)'"),
    re.compile(r"file not found[^:]*: (.+)$", re.I),
    re.compile(r"FileNotFoundError: (.+)$"),
)
_VOLUPTUOUS_RE = re.compile(
    r"(extra keys not allowed|required key not provided|expected \w+[^@]*?) @ data(\S+)"
)


def from_error(event: Event, backend: str | None = None, context: RunContext | None = None) -> Diagnosis:
    """The diagnosis of one error event: the row of its kind in the diagnosis tables (`fluxgen.monitor.diagnoses`)."""
    from fluxgen.monitor.diagnoses import diagnose

    code, message = refine(event.code, event.message), (event.message or "").strip()
    if code == "crash" and was_killed(message):
        return out_of_memory(event, backend, killed=True, context=context)
    return diagnose(code, event, backend, context)


def missing_file(message: str) -> Diagnosis:
    path = next((m[1] for p in _PATH_RES if (m := p.search(message))), message)
    return Diagnosis("missing_file", f"A file or folder does not exist: {path}", FIXES["missing_file"])


def environment(message: str, context: RunContext | None = None) -> Diagnosis:
    """The trainer's Python lacks a module: its environment is incomplete, nothing about the run is wrong."""
    m = _MISSING_MODULE_RE.search(message)
    module = m[1] if m else "a module"
    python = context.python if context and context.python else None
    if python is None:
        return Diagnosis("environment", f"The trainer's Python cannot import {module}.", FIXES["environment"])
    where = f"{context.trainer_dir}/requirements.txt" if context and context.trainer_dir else "requirements.txt"
    fix = (f"Install the trainer's requirements into {python}: `{python} -m pip install -r {where}`; then run "
           "`fluxgen doctor`, which imports every module the trainer needs in that Python.")
    return Diagnosis("environment", f"The trainer's Python ({python}) cannot import {module}.", fix)


_WHERE = {"loading": " while loading the model", "caching": " while caching", "sampling": " while sampling"}


def out_of_memory(event: Event | None, backend: str | None = None, killed: bool = False,
                  context: RunContext | None = None) -> Diagnosis:
    message = (event.message or "") if event else ""
    phase, step = (event.phase, event.step) if event else (None, None)
    at = _WHERE.get(phase or "", "") + (f" at step {step}" if step else "")
    if killed or _RAM_RE.search(message):
        return _system_ram(killed, at, context)
    values = context.values if context is not None else {}
    if values:
        fix = _memory_fix(values, backend, phase)
    else:
        options = _low_vram_summaries(backend)
        fix = (
            "Lower the batch size to 1, then the resolution (1024 → 768 → 512; seed:001). If it still does not "
            "fit, use the low-VRAM settings: " + "; ".join(options) + "."
        )
        if phase == "sampling":
            fix = (
                "Sampling needs memory on top of training: lower the sample size, or skip the baseline sample "
                "(ai-toolkit `train.skip_first_sample: true`). " + fix
            )
    return Diagnosis("out_of_memory", f"The GPU ran out of memory{at}.", fix)


def _low_vram_summaries(backend: str | None) -> list[str]:
    """The trainer's low-VRAM options in a sentence; without a trainer, every trainer's that has some."""
    from fluxgen.backends import BACKENDS, get_backend

    if backend is not None and get_backend(backend).low_vram_summary:
        return [get_backend(backend).low_vram_summary]
    return [b.low_vram_summary for b in BACKENDS.values() if b.low_vram_summary]


def _system_ram(killed: bool, at: str, context: RunContext | None) -> Diagnosis:
    what = (f"The trainer was killed (SIGKILL){at}, which usually means the system ran out of RAM."
            if killed else f"The system ran out of RAM (not GPU memory){at}.")
    workers = (context.values.get("workers") if context else None) or 0
    fewer = "`--set train.workers=1` (fewer data-loader processes)" if workers > 1 else "fewer data-loader workers"
    return Diagnosis("out_of_memory", what, (
        "Close other programs or add swap: FLUX.1 LoRA training wants 32 GB of RAM at least and 64 GB to be safe "
        f"(seed:002 ran out at 32 GB while caching latents; seed:004); {fewer} also helps. `fluxgen doctor` "
        "shows this machine's RAM."))


def _memory_fix(values: Mapping[str, Any], backend: str | None, phase: str | None) -> str:
    """Less GPU memory as fluxgen options for this plan, cheapest first (seed:001's failure table: batch size 1,
    768 px; then the next VRAM tier down, ref:sd-scripts §7)."""
    steps = []
    if phase == "sampling" and (values.get("sample_size") or 0) > 512:
        steps.append("`--set samples.size=512` (samples need memory on top of training)")
    if (values.get("batch_size") or 1) > 1:
        steps.append("`--set train.batch_size=1`")
    if values.get("gradient_checkpointing") is False:
        steps.append("`--set train.gradient_checkpointing=true`")
    resolution = max(values.get("resolution") or [1024])
    if resolution > 512:
        steps.append(f"`--set train.resolution=[{768 if resolution > 768 else 512}]`")
    steps += _tier_steps(values, backend, phase)
    if not steps:
        return ("This plan already uses fluxgen's lowest memory settings; train on a GPU with more memory "
                "(seed:004: 24 GB at least, 48 GB recommended).")
    return ("Train again with less memory, trying these in order: " + "; ".join(steps)
            + " (seed:001's failure table: batch size 1, 768 px; sd-scripts' VRAM table, ref:sd-scripts §7).")


def _tier_steps(values: Mapping[str, Any], backend: str | None, phase: str | None) -> list[str]:
    """The trainer's own lighter settings (its next VRAM tier, or another trainer)."""
    if backend is None:
        return []
    from fluxgen.backends import get_backend

    return get_backend(backend).low_vram_advice(dict(values), phase)


def dataset_error(message: str) -> Diagnosis:
    m = _VOLUPTUOUS_RE.search(message)
    if m is None:
        return Diagnosis(
            "dataset_error",
            f"The dataset config was rejected: {message}",
            "Fix the dataset TOML as the message says; `fluxgen validate` checks it.",
        )
    problem, where = m[1].strip(), _dotted(m[2])
    if problem.startswith("extra keys"):
        fix = f"Remove or rename `{where}` in the dataset TOML: sd-scripts rejects keys it does not know."
    elif problem.startswith("required key"):
        fix = f"Add `{where}` to the dataset TOML."
    else:
        fix = f"Give `{where}` the type it expects ({problem}; e.g. `1.0`, not `1`, for a float)."
    return Diagnosis(
        "dataset_error",
        f"The dataset TOML was rejected: {problem} at `{where}`.",
        fix + " `fluxgen validate` checks the file before launch.",
    )


def _dotted(path: str) -> str:
    """`['datasets'][0]['subsets'][0]['foo']` → `datasets[0].subsets[0].foo`."""
    parts = re.findall(r"\['([^']*)'\]|\[(\d+)\]", path)
    out = ""
    for key, index in parts:
        out += f"[{index}]" if index else (f".{key}" if out else key)
    return out or path
