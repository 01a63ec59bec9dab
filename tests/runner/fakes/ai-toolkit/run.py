"""Test double of ai-toolkit's `run.py CONFIG`: the captured console of the pinned trainer, for this config.

Every line comes from the captures in logs/ai-toolkit (fresh-run, resume, missing-dataset) or follows the formats
of reference ai-toolkit.md §4-5; the training bar is drawn by tqdm as the trainer draws it. Files as the trainer
writes them: `<training_folder>/<name>/config.yaml`, `<name>_<step:09d>.safetensors` every save_every steps (the
newest max_step_saves_to_keep kept), `optimizer.pt`, `samples/<ms>__<step:09d>_<i>.jpg`, the final
`<name>.safetensors`; it resumes by itself from the newest `<name>*.safetensors`. Exit codes as observed: 0 on
success and on Ctrl-C ("Job stopped", no checkpoint), 1 on an error, killed by SIGTERM.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import replay  # noqa: E402
from replay import AT_STEP, SCENARIO, err, out, pause  # noqa: E402

LOAD_SECONDS, SAMPLE_SECONDS = 20.0, 2.0  # reference ai-toolkit.md §10: ~18.5 s of imports; ~2 s per sample batch
FRESH_OUT, FRESH_ERR = replay.capture("ai-toolkit/fresh-run.stdout"), replay.capture("ai-toolkit/fresh-run.stderr")
RESUME_OUT, RESUME_ERR = replay.capture("ai-toolkit/resume.stdout"), replay.capture("ai-toolkit/resume.stderr")
MISSING_OUT, MISSING_ERR = replay.capture("ai-toolkit/missing-dataset.stdout"), replay.capture("ai-toolkit/missing-dataset.stderr")
CAPTURED_JOB, CAPTURED_ROOT, CAPTURED_DATA = "tiny_flux_lora", "/data/runs/tiny_flux_lora", "/data/datasets/tiny"
LOSSES = replay.captured_losses(FRESH_ERR + RESUME_ERR, r"loss: ([-+\d.e]+)\]")
RATES = replay.captured_rates(FRESH_ERR, CAPTURED_JOB)


def lines_between(text: str, first: str, stop: str | None) -> list[str]:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next((i for i, line in enumerate(lines) if stop and i > start and line.startswith(stop)), len(lines))
    return lines[start:end]


def sample_chunks() -> tuple[str, str, str]:
    """The captured `Generating Images` redraws: baseline (before the bar), nested (during training), final."""
    head = FRESH_ERR.index("\rGenerating Images")
    bar_at = FRESH_ERR.index(f"\r{CAPTURED_JOB}:")
    nested_at = FRESH_ERR.index("\n\rGenerating Images", bar_at)
    nested_end = FRESH_ERR.index(f"\r{CAPTURED_JOB}:", nested_at)
    final_at = FRESH_ERR.rindex("\rGenerating Images:   0%")
    return FRESH_ERR[head:bar_at], FRESH_ERR[nested_at:nested_end], FRESH_ERR[final_at:]


class Job:
    def __init__(self, config_path: Path) -> None:
        import yaml

        self.raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        self.name = self.raw["config"]["name"]
        self.proc = self.raw["config"]["process"][0]
        self.root = (Path.cwd() / self.proc["training_folder"] / self.name).resolve()
        self.dataset = Path(self.proc["datasets"][0]["folder_path"])
        self.steps = int(self.proc["train"]["steps"])
        self.save_every = int(self.proc["save"].get("save_every") or 0)
        self.keep = int(self.proc["save"].get("max_step_saves_to_keep") or 0)
        self.sample_every = int(self.proc.get("sample", {}).get("sample_every") or 0)
        self.prompts = self.proc.get("sample", {}).get("prompts") or []
        self.step = 0
        self.clock = 0.0  # the trainer's own elapsed time, as the bar shows it

    def sub(self, line: str) -> str:
        line = line.replace(CAPTURED_ROOT, str(self.root)).replace(CAPTURED_DATA, str(self.dataset))
        return line.replace(CAPTURED_JOB, self.name)

    # -- console pieces ------------------------------------------------------------------------------------
    def start(self) -> None:
        out("Running 1 job\n" + json.dumps(self.proc, indent=4) + "\n")
        if self.proc["train"].get("ema_config", {}).get("use_ema"):
            out("Using EMA\n")
        banner = lines_between(FRESH_OUT, "", "Running  1 process")
        banner = banner[banner.index("#############################################"):]
        out("\n" + "\n".join(self.sub(line) for line in banner) + "\n")
        err("\n".join(FRESH_ERR.split("\n")[:3]) + "\n")

    def load_model(self) -> None:
        model = lines_between(FRESH_OUT, "Running  1 process", "Dataset:")
        net = self.proc["network"]
        for line in model:
            if line.startswith("create LoRA network."):
                line = f"create LoRA network. base dim (rank): {net['linear']}, alpha: {net['linear_alpha']}"
            out(line + "\n")
            if line.startswith("Loading transformer"):
                pause(LOAD_SECONDS)
                err("".join(seg + "\n" for seg in FRESH_ERR.split("\n") if seg.startswith("\rLoading weights")))
                if SCENARIO == "gated":
                    self.fail("401 Client Error. (Request ID: Root=1-fake)\n\nCannot access gated repo for url "
                              "https://huggingface.co/black-forest-labs/FLUX.1-dev/resolve/main/transformer/config.json."
                              "\nAccess to model black-forest-labs/FLUX.1-dev is restricted. You must have access to "
                              "it and be authenticated to access it. Please log in.",
                              "huggingface_hub.errors.GatedRepoError")

    def load_dataset(self) -> None:
        if not self.dataset.is_dir():
            self.fail(f"[Errno 2] No such file or directory: '{self.dataset}'", "FileNotFoundError")
        images = [p for p in self.dataset.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")]
        res = self.proc["datasets"][0].get("resolution", [1024])[0]
        for line in lines_between(FRESH_OUT, "Dataset:", "Generating baseline samples"):
            line = self.sub(line).replace("Found 3 images", f"Found {len(images)} images")
            out(line.replace("64x64: 3 files", f"{res}x{res}: {len(images)} files") + "\n")
        err("".join(seg + "\n" for seg in FRESH_ERR.split("\n") if seg.startswith(("\r  0%", "\rCaching latents"))))

    def fail(self, message: str, exception: str) -> None:
        """ai-toolkit's generic failure: the message and Result banner on stdout, the traceback on stderr, exit 1."""
        banner = lines_between(MISSING_OUT, "Error running job:", None)[1:]
        out(f"Error running job: {message}\n" + "\n".join(banner))
        frames = lines_between(MISSING_ERR, "Traceback", "FileNotFoundError")
        err("\n".join(frames) + f"\n{exception}: {message.splitlines()[0]}\n")
        sys.exit(1)

    # -- files ---------------------------------------------------------------------------------------------
    def save(self, step: int, final: bool = False) -> None:
        path = self.root / (f"{self.name}.safetensors" if final else f"{self.name}_{step:09d}.safetensors")
        if not final:
            out(f"\nSaving at step {step}\n")
        else:
            out("\n")
        if SCENARIO == "disk-full" and step >= AT_STEP:
            replay.write_truncated(path)
            self.fail("[Errno 28] No space left on device", "OSError")
        meta = {"training_info": json.dumps({"step": step, "epoch": 0}), "name": self.name, "format": "pt"}
        meta.update({k: str(v) for k, v in (self.raw.get("meta") or {}).items()})
        replay.write_lora(path, meta, rank=int(self.proc["network"]["linear"]))
        (self.root / "optimizer.pt").write_bytes(b"optimizer state\n")
        out(f"Saved checkpoint to {path}\nSaved optimizer to {self.root / 'optimizer.pt'}\n")
        if not final:
            self.prune()

    def prune(self) -> None:
        saves = sorted(self.root.glob(f"{self.name}_*.safetensors"), key=lambda p: p.stat().st_ctime_ns)
        for old in saves[: max(len(saves) - self.keep, 0)] if self.keep else []:
            old.unlink()
            out(f"Removing old save: {old}\n")

    def sample(self, step: int, chunk: str) -> None:
        pause(SAMPLE_SECONDS)
        err(chunk)
        stamp = int(time.time() * 1000)
        for index in range(len(self.prompts)):
            replay.write_image(self.root / "samples" / f"{stamp}__{step:09d}_{index}.jpg")
        out("\n")

    def newest_save(self) -> Path | None:
        found = [p for p in self.root.glob(f"{self.name}*.safetensors") if "_LoRA" not in p.name]
        return max(found, key=lambda p: p.stat().st_ctime_ns) if found else None

    def resume(self) -> int:
        """Automatic resume from the newest save, as the trainer does (no flag, no check of the file)."""
        newest = self.newest_save()
        if newest is None:
            return 0
        meta = replay.read_metadata(newest)
        if meta is None:
            self.fail(f"Error while deserializing header: incomplete metadata, file not fully covered: {newest}",
                      "safetensors_rust.SafetensorError")
        step = json.loads(meta["training_info"])["step"]
        for line in lines_between(RESUME_OUT, "#### IMPORTANT RESUMING FROM", "Dataset:"):
            line = self.sub(line).replace(f"{self.root}/{self.name}.safetensors", str(newest))
            out(line.replace("Found step 5 in", f"Found step {step} in") + "\n")
        return step

    # -- the training loop ---------------------------------------------------------------------------------
    def redraw(self, n: int, loss: float | None) -> None:
        rate = 1 / replay.step_time(RATES[min(n, len(RATES)) - 1], n) if n else None
        post = f"lr: {float(self.proc['train']['lr']):.1e} loss: {loss:.3e}" if loss is not None else None
        err("\r" + replay.bar(self.name, n, self.steps, self.clock, rate, post))

    def train(self, start: int) -> None:
        baseline, nested, final = sample_chunks()
        if start <= 1 and self.sample_every:
            out("Generating baseline samples before training\n")
            self.sample(0, baseline)
        worker = replay.spawn_worker()
        self.redraw(start, None)
        loss = None
        for step in range(start, self.steps):
            if step != start and self.sample_every and step % self.sample_every == 0:
                self.sample(step, nested)
            if step != start and self.save_every and step % self.save_every == 0:
                self.save(step)
            self.scenario(step)
            loss = float("nan") if SCENARIO == "nan" and step >= AT_STEP else LOSSES[step % len(LOSSES)]
            seconds = replay.step_time(RATES[step % len(RATES)], step)
            pause(seconds)
            self.clock += seconds
            if loss != loss:
                out("loss is nan\n")
            self.redraw(step, loss)
            self.redraw(step + 1, loss)
        err("\n")
        self.save(self.steps, final=True)
        self.sample(self.steps, final)
        out("\n\n")
        worker.terminate()

    def scenario(self, step: int) -> None:
        replay.stall_here(step)
        if replay.strikes(step, "oom"):
            for n in (1, 2, 3):
                out("\n################################################\n"
                    f"# OOM during training step, skipping batch {n}/3 #\n"
                    "################################################\n")
            self.fail("OOM during training step 3 times in a row, aborting training", "RuntimeError")
        if replay.strikes(step, "crash"):
            self.fail("CUDA error: an illegal memory access was encountered", "RuntimeError")
        if replay.strikes(step, "token-error"):  # a trainer that prints the credential it was given
            token = os.environ.get("HF_TOKEN", "")
            self.fail(f"could not upload the sample grid with token {token}: connection reset", "RuntimeError")
        if replay.strikes(step, "hang"):
            replay.ignore_signals()


def find_config(arg: str) -> Path:
    """The trainer's lookup (reference ai-toolkit.md §4): `<toolkit>/config/<arg>` first, then with an extension
    appended, and only then the argument itself as a path."""
    inside = Path(__file__).resolve().parent / "config" / arg  # an absolute arg replaces the folder, as os.path.join does
    for candidate in (inside, *(Path(f"{inside}{ext}") for ext in (".json", ".jsonc", ".yaml", ".yml"))):
        if candidate.is_file():
            return candidate
    return Path(arg)


def missing_module() -> None:
    """A checkout whose Python lacks a requirement: run.py fails while importing, before any job output."""
    frames = lines_between(MISSING_ERR, "Traceback", "FileNotFoundError")[:3]
    err("\n".join(frames) + "\nModuleNotFoundError: No module named 'oyaml'\n")
    sys.exit(1)


def main(argv: list[str]) -> int:
    if SCENARIO == "missing-module":
        missing_module()
    config = find_config(argv[1])
    job = Job(config)
    try:
        job.start()
        job.root.mkdir(parents=True, exist_ok=True)
        (job.root / "config.yaml").write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
        job.load_model()
        start = job.resume()
        job.load_dataset()
        job.train(start)
    except KeyboardInterrupt:
        out("Job stopped\n")
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
