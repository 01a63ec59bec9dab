"""What to do about each way a run can fail, in plain words: the fix that goes with a diagnosis.

The advice follows the guides (seed:001 failure table, seed:002/004 hardware, seed:003 learning rates) and the
trainers' own low-VRAM options (reference ai-toolkit.md §2.3, sd-scripts.md §7).
"""

from __future__ import annotations

import re

from fluxgen.events import Diagnosis, Event

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
    "no_output": "Check the output folder and free disk space; the last checkpoint listed above is usable.",
}
_LOW_VRAM = {
    "ai-toolkit": (
        "ai-toolkit `model.quantize: true` (8-bit transformer and T5) and `model.low_vram: true`, "
        "with `train.gradient_checkpointing: true`"
    ),
    "sd-scripts": (
        "sd-scripts `--fp8_base`, `--blocks_to_swap 16` (12 GB), `22` (10 GB) or `28` (8 GB, with an fp8 "
        "T5XXL), and Adafactor (`--optimizer_type adafactor --optimizer_args relative_step=False "
        "scale_parameter=False warmup_init=False`) or 8-bit AdamW instead of AdamW"
    ),
}
_RAM_RE = re.compile(r"DefaultCPUAllocator|can't allocate memory", re.I)
_PATH_RES = (
    re.compile(r"No such file or directory: '([^']+)'"),
    re.compile(r"file not found[^:]*: (.+)$", re.I),
    re.compile(r"FileNotFoundError: (.+)$"),
)
_VOLUPTUOUS_RE = re.compile(
    r"(extra keys not allowed|required key not provided|expected \w+[^@]*?) @ data(\S+)"
)


def from_error(event: Event, backend: str | None = None) -> Diagnosis:
    """The diagnosis of one error event, with the fix for its kind."""
    code, message = event.code or "crash", (event.message or "").strip()
    if code == "out_of_memory":
        return out_of_memory(event, backend)
    if code == "nan_loss":
        at = f" at step {event.step}" if event.step is not None else ""
        return Diagnosis(code, f"The loss became NaN/inf{at}: training diverged.", FIXES[code])
    if code == "gated_model":
        return Diagnosis(
            code,
            f"The model repository refused access (gated FLUX.1-dev, or a missing or invalid "
            f"Hugging Face token): {message}",
            FIXES[code],
        )
    if code == "missing_file":
        path = next((m[1] for p in _PATH_RES if (m := p.search(message))), message)
        return Diagnosis(code, f"A file or folder does not exist: {path}", FIXES[code])
    if code == "dataset_error":
        return _dataset_error(message)
    if code == "no_data":
        return Diagnosis(
            code, "The trainer found no training images and stopped without training.", FIXES[code]
        )
    if code == "bad_argument":
        return Diagnosis(code, f"The trainer rejected its command line: {message}", FIXES[code])
    if code == "bad_config":
        return Diagnosis(code, f"The trainer rejected a setting: {message}", FIXES[code])
    return Diagnosis("crash", f"The trainer crashed: {message}", FIXES["crash"])


def out_of_memory(event: Event | None, backend: str | None = None, killed: bool = False) -> Diagnosis:
    message = (event.message or "") if event else ""
    if killed or _RAM_RE.search(message):
        what = (
            "The trainer was killed (SIGKILL), which usually means the system ran out of RAM."
            if killed
            else "The system ran out of RAM (not GPU memory)."
        )
        return Diagnosis(
            "out_of_memory",
            what,
            "Close other programs or add swap: FLUX.1 LoRA training wants 32 GB of RAM at least and "
            "64 GB to be safe (seed:002 ran out at 32 GB while caching latents; seed:004). Fewer data "
            "loader workers also help.",
        )
    phase, step = (event.phase, event.step) if event else (None, None)
    where = {
        "loading": " while loading the model",
        "caching": " while caching",
        "sampling": " while sampling",
    }
    at = where.get(phase or "", "") + (f" at step {step}" if step else "")
    options = [_LOW_VRAM[backend]] if backend in _LOW_VRAM else list(_LOW_VRAM.values())
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


def _dataset_error(message: str) -> Diagnosis:
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
