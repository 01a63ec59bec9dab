"""How a run ended and why, in plain words with the fix: events (+ exit code, final file) → Summary.

The advice follows the guides (seed:001 failure table, seed:002/004 hardware, seed:003 learning rates) and the
trainers' own low-VRAM options (reference ai-toolkit.md §2.3, sd-scripts.md §7).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from fluxgen.events import Diagnosis, Event, Summary

INTERRUPT_EXIT_CODES = frozenset({130, 143, -2, -15})
KILLED_EXIT_CODES = frozenset({137, -9})
# Most specific first: a run with several errors is diagnosed by the most specific kind among them.
PRIORITY = ("out_of_memory", "gated_model", "dataset_error", "missing_file", "bad_argument", "no_data",
            "nan_loss", "crash")
FIXES = {
    "gated_model": "Open https://huggingface.co/black-forest-labs/FLUX.1-dev while logged in and accept the "
                   "licence, create a read token, and set HF_TOKEN=hf_… in the trainer's environment (or run "
                   "`hf auth login`); or point the config at a local copy of the model.",
    "missing_file": "Check the path. A dataset must be an existing folder of images (ai-toolkit "
                    "`datasets[].folder_path`, sd-scripts `image_dir`; `fluxgen dataset lint` checks it before "
                    "launch); model files are the model section's paths (sd-scripts "
                    "`--pretrained_model_name_or_path`, `--clip_l`, `--t5xxl`, `--ae`).",
    "no_data": "Check `image_dir` in the dataset TOML: it must hold images (.png .jpg .jpeg .webp .bmp) and "
               "num_repeats must be at least 1; `fluxgen dataset lint` lists what it finds.",
    "bad_argument": "Remove or correct that argument (sd-scripts stops on unknown flags and invalid choices); "
                    "`fluxgen validate` checks a command line against the pinned trainer's options.",
    "nan_loss": "Lower the learning rate (e.g. 1e-4 → 5e-5; seed:001, seed:003), prefer bf16 to fp16 mixed "
                "precision, and resume from the last checkpoint saved before the loss went bad.",
    "crash": "Read the traceback just above that line in the log; fix the setting it names and start again "
             "(ai-toolkit resumes from its newest checkpoint by itself).",
    "interrupted": "Start the same job again to continue: ai-toolkit resumes from its newest checkpoint by "
                   "itself (steps after the last save are lost); sd-scripts continues with "
                   "`--resume <output_dir>/<name>-…-state` when it ran with `--save_state`.",
    "stall": "Check that the trainer still uses the GPU (nvidia-smi). Before step 1 this is often the data "
             "loader or the first compile; mid-run, memory spilling to system RAM or a hung sample. If nothing "
             "moves, stop it and resume from the last checkpoint.",
    "slowdown": "Usually VRAM is full and the driver spills to system RAM (on Windows set 'CUDA - Sysmem "
                "Fallback Policy' to 'Prefer No Sysmem Fallback' so it fails instead of crawling), or the GPU "
                "is throttling. Lower memory use as for out-of-memory: batch size, resolution, low-VRAM options.",
    "no_output": "Check the output folder and free disk space; the last checkpoint listed above is usable.",
}
_LOW_VRAM = {
    "ai-toolkit": "ai-toolkit `model.quantize: true` (8-bit transformer and T5) and `model.low_vram: true`, "
                  "with `train.gradient_checkpointing: true`",
    "sd-scripts": "sd-scripts `--fp8_base`, `--blocks_to_swap 16` (12 GB), `22` (10 GB) or `28` (8 GB, with an "
                  "fp8 T5XXL), and Adafactor (`--optimizer_type adafactor --optimizer_args relative_step=False "
                  "scale_parameter=False warmup_init=False`) or 8-bit AdamW instead of AdamW",
}
_RAM_RE = re.compile(r"DefaultCPUAllocator|can't allocate memory", re.I)
_PATH_RES = (re.compile(r"No such file or directory: '([^']+)'"), re.compile(r"file not found[^:]*: (.+)$", re.I),
             re.compile(r"FileNotFoundError: (.+)$"))
_VOLUPTUOUS_RE = re.compile(r"(extra keys not allowed|required key not provided|expected \w+[^@]*?) @ data(\S+)")


@dataclass
class _Facts:
    last_step: int | None = None
    total: int | None = None
    checkpoints: dict[str, int | None] = field(default_factory=dict)
    resumed_from: int | None = None
    last_loss: float | None = None
    errors: list[Event] = field(default_factory=list)
    interrupted: Event | None = None
    final_saved: bool = False
    trained: bool = False
    watch: Event | None = None  # the latest stall/slowdown warning from the live follower


def _facts(events: Iterable[Event]) -> _Facts:
    f = _Facts()
    for e in events:
        if e.total is not None:
            f.total = e.total
        if e.code == "interrupted":
            f.interrupted = e
        elif e.type == "progress":
            f.trained, f.last_step = True, e.step
            if e.loss is not None and math.isfinite(e.loss):
                f.last_loss = e.loss
        elif e.type == "checkpoint" and e.path:
            f.checkpoints.pop(e.path, None)
            f.checkpoints[e.path] = e.step
            f.final_saved = f.final_saved or bool(e.final)
            if not f.trained and e.step is not None:
                f.last_step = max(f.last_step or 0, e.step)
        elif e.type == "resume":
            f.resumed_from = e.step
        elif e.type == "error":
            f.errors.append(e)
        elif e.type == "warning" and e.code in ("stall", "slowdown"):
            f.watch = e
    return f


def summarize(events: Iterable[Event], *, exit_code: int | None = None, final_lora_exists: bool | None = None,
              backend: str | None = None) -> Summary:
    """Status and diagnosis of a run. Without an exit code the text alone decides: only a final save counts
    as completed, and a log that just stops is still running."""
    f = _facts(events)
    status, diagnosis = _judge(f, exit_code, final_lora_exists, backend)
    return Summary(
        status=status, last_step=f.last_step, total=f.total,
        checkpoints=[{"step": step, "path": path} for path, step in f.checkpoints.items()],
        resumed_from=f.resumed_from, diagnosis=diagnosis, last_loss=f.last_loss,
    )


def _judge(f: _Facts, exit_code: int | None, final_exists: bool | None, backend: str | None):
    if exit_code in INTERRUPT_EXIT_CODES or f.interrupted is not None:
        return "interrupted", _interrupted(f)
    if f.errors:
        return "failed", from_error(_main_error(f.errors), backend)
    if exit_code is None:
        if f.final_saved:
            return "completed", None
        return "running", _watch(f.watch) if f.watch else None
    if exit_code in KILLED_EXIT_CODES:
        return "failed", out_of_memory(None, backend, killed=True)
    if exit_code != 0:
        return "failed", Diagnosis("crash", f"The trainer exited with code {exit_code} without an error message.",
                                   FIXES["crash"])
    if final_exists or (final_exists is None and (f.final_saved or f.trained)):
        return "completed", None
    if not f.trained and not f.final_saved:
        return "failed", Diagnosis("no_data", "The trainer exited with code 0 without training a single step "
                                   "(sd-scripts does this when it finds no images).", FIXES["no_data"])
    return "failed", Diagnosis("no_output", "The trainer exited with code 0 but the final LoRA file is missing.",
                               FIXES["no_output"])


def _main_error(errors: list[Event]) -> Event:
    def rank(e: Event) -> int:
        return PRIORITY.index(e.code) if e.code in PRIORITY else len(PRIORITY)

    best = min(rank(e) for e in errors)
    candidates = [e for e in errors if rank(e) == best]
    # `accelerate launch` repeats any child failure as CalledProcessError: the child's own error says more.
    own = [e for e in candidates if not (e.message or "").startswith("subprocess.CalledProcessError")]
    return (own or candidates)[-1]


def from_error(event: Event, backend: str | None = None) -> Diagnosis:
    """The diagnosis of one error event, with the fix for its kind."""
    code, message = event.code or "crash", (event.message or "").strip()
    if code == "out_of_memory":
        return out_of_memory(event, backend)
    if code == "nan_loss":
        at = f" at step {event.step}" if event.step is not None else ""
        return Diagnosis(code, f"The loss became NaN/inf{at}: training diverged.", FIXES[code])
    if code == "gated_model":
        return Diagnosis(code, f"The model repository refused access (gated FLUX.1-dev, or a missing or invalid "
                               f"Hugging Face token): {message}", FIXES[code])
    if code == "missing_file":
        path = next((m[1] for p in _PATH_RES if (m := p.search(message))), message)
        return Diagnosis(code, f"A file or folder does not exist: {path}", FIXES[code])
    if code == "dataset_error":
        return _dataset_error(message)
    if code == "no_data":
        return Diagnosis(code, "The trainer found no training images and stopped without training.", FIXES[code])
    if code == "bad_argument":
        return Diagnosis(code, f"The trainer rejected its command line: {message}", FIXES[code])
    return Diagnosis("crash", f"The trainer crashed: {message}", FIXES["crash"])


def out_of_memory(event: Event | None, backend: str | None = None, killed: bool = False) -> Diagnosis:
    message = (event.message or "") if event else ""
    if killed or _RAM_RE.search(message):
        what = ("The trainer was killed (SIGKILL), which usually means the system ran out of RAM."
                if killed else "The system ran out of RAM (not GPU memory).")
        return Diagnosis("out_of_memory", what,
                         "Close other programs or add swap: FLUX.1 LoRA training wants 32 GB of RAM at least and "
                         "64 GB to be safe (seed:002 ran out at 32 GB while caching latents; seed:004). Fewer data "
                         "loader workers also help.")
    phase, step = (event.phase, event.step) if event else (None, None)
    where = {"loading": " while loading the model", "caching": " while caching", "sampling": " while sampling"}
    at = where.get(phase or "", "") + (f" at step {step}" if step else "")
    options = [_LOW_VRAM[backend]] if backend in _LOW_VRAM else list(_LOW_VRAM.values())
    fix = ("Lower the batch size to 1, then the resolution (1024 → 768 → 512; seed:001). If it still does not "
           "fit, use the low-VRAM settings: " + "; ".join(options) + ".")
    if phase == "sampling":
        fix = ("Sampling needs memory on top of training: lower the sample size, or skip the baseline sample "
               "(ai-toolkit `train.skip_first_sample: true`). " + fix)
    return Diagnosis("out_of_memory", f"The GPU ran out of memory{at}.", fix)


def _dataset_error(message: str) -> Diagnosis:
    m = _VOLUPTUOUS_RE.search(message)
    if m is None:
        return Diagnosis("dataset_error", f"The dataset config was rejected: {message}",
                         "Fix the dataset TOML as the message says; `fluxgen validate` checks it.")
    problem, where = m[1].strip(), _dotted(m[2])
    if problem.startswith("extra keys"):
        fix = f"Remove or rename `{where}` in the dataset TOML: sd-scripts rejects keys it does not know."
    elif problem.startswith("required key"):
        fix = f"Add `{where}` to the dataset TOML."
    else:
        fix = f"Give `{where}` the type it expects ({problem}; e.g. `1.0`, not `1`, for a float)."
    return Diagnosis("dataset_error", f"The dataset TOML was rejected: {problem} at `{where}`.",
                     fix + " `fluxgen validate` checks the file before launch.")


def _dotted(path: str) -> str:
    """`['datasets'][0]['subsets'][0]['foo']` → `datasets[0].subsets[0].foo`."""
    parts = re.findall(r"\['([^']*)'\]|\[(\d+)\]", path)
    out = ""
    for key, index in parts:
        out += f"[{index}]" if index else (f".{key}" if out else key)
    return out or path


def _interrupted(f: _Facts) -> Diagnosis:
    at = f" at step {f.last_step}" if f.last_step is not None else ""
    last = list(f.checkpoints.items())[-1] if f.checkpoints else None
    saved = f"; the last checkpoint is {last[0]}" if last else "; no checkpoint was saved"
    return Diagnosis("interrupted", f"The run was stopped (Ctrl-C or a signal){at}{saved}.", FIXES["interrupted"])


def _watch(event: Event) -> Diagnosis:
    return Diagnosis(event.code or "stall", event.message or "", FIXES.get(event.code or "stall", ""))
