"""Test double of sd-scripts' `flux_train_network.py --config_file args.toml` (started by `accelerate launch`).

The console is the capture logs/sd-scripts/success-cols200.log (rich records on stderr at COLUMNS=200, prints on
stdout), with this job's paths and numbers; the training loop follows reference sd-scripts.md §4-5: the `steps`
bar (`avr_loss=`), `epoch i/n`, samples, `saving checkpoint: …`, `--save_state` folders with train_state.json,
keep-last pruning, `--resume <state> --skip_until_initial_step`. "No data found" exits 0, as the real one does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import replay  # noqa: E402
from replay import AT_STEP, SCENARIO, err, out, pause  # noqa: E402

LOG = replay.capture("sd-scripts/success-cols200.log").split("\n")
BAD_KEY = replay.capture("sd-scripts/bad-dataset-key.log").split("\n")
LOSSES = replay.captured_losses("\n".join(LOG), r"avr_loss=([\d.]+)")
RATES = replay.captured_rates("\n".join(LOG), "steps")
WIDTH = int(os.environ.get("COLUMNS") or 80)
RICH_RE = re.compile(r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d| {20}) (?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\s")
SOURCE_RE = re.compile(r"\s+(\S+\.py:\d+)$")
STDERR_NOISE = ("/opt/", "  warnings.warn", "fatal:", "  return super", "huggingface/tokenizers", "To disable",
                "\t- ")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
LOAD_SECONDS = 2.0  # the capture's rich clock: 22:31:48 start, training at 22:31:50


def record(level: str, message: str, source: str = "train_util.py:1") -> str:
    """One rich log record as RichHandler lays it out: blank time, level, message, source right-aligned."""
    room = max(WIDTH - 29 - len(source) - 1, 20)
    parts = [message[i:i + room] for i in range(0, len(message), room)] or [""]
    lines = [" " * 20 + f"{level:<8} " + parts[0].ljust(room) + " " + source]
    lines += [" " * 29 + part.ljust(room) for part in parts[1:]]
    return "\n".join(lines) + "\n"


def refit(line: str) -> str:
    """A captured record with new text in it, laid out again at this terminal's width."""
    m = SOURCE_RE.search(line)
    if not RICH_RE.match(line) or m is None:
        return line.rstrip() if line.startswith(" " * 29) else line
    text = record(line[20:28].strip(), line[29:m.start()].strip(), m[1]).rstrip("\n")
    return line[:20] + text[20:]  # the time column as captured


class Job:
    def __init__(self, args: argparse.Namespace) -> None:
        import tomllib

        raw = tomllib.loads(Path(args.config_file).read_text(encoding="utf-8"))
        self.a = {k: v for section in raw.values() for k, v in (section.items() if isinstance(section, dict) else [])}
        data = tomllib.loads(Path(self.a["dataset_config"]).read_text(encoding="utf-8"))
        subset = data["datasets"][0]["subsets"][0]
        self.image_dir, self.repeats = Path(subset["image_dir"]), int(subset.get("num_repeats", 1))
        self.batch = int(data["datasets"][0].get("batch_size", 1))
        self.resolution = data["datasets"][0].get("resolution", 1024)
        self.images = sorted(p for p in self.image_dir.glob("*") if p.suffix.lower() in IMAGE_EXTS) \
            if self.image_dir.is_dir() else []
        self.out_dir = Path(self.a["output_dir"]).resolve()
        self.name = self.a["output_name"]
        self.steps = int(self.a["max_train_steps"])
        self.batches = max(math.ceil(len(self.images) * self.repeats / self.batch), 1)
        self.epochs = math.ceil(self.steps / self.batches)
        self.resume_dir, self.skip = args.resume, args.skip_until_initial_step
        self.clock = 0.0

    def sub(self, line: str) -> str:
        a, n = self.a, len(self.images)
        for old, new in (("/data/run/dataset.toml", str(Path(a["dataset_config"]).resolve())),
                         ("/data/run/dataset/mylora", str(self.image_dir)),
                         ("/data/run/assets/flux1-tiny.safetensors", a["pretrained_model_name_or_path"]),
                         ("/data/run/assets/clip_l.safetensors", a["clip_l"]),
                         ("/data/run/assets/t5xxl.safetensors", a["t5xxl"]),
                         ("/data/run/assets/ae.safetensors", a["ae"]),
                         ("/data/run/sample_prompts.txt", str(Path(a.get("sample_prompts", "")).resolve())),
                         ("/data/run/out", str(self.out_dir)), ("mylora", self.name),
                         ("contains 4 image files", f"contains {n} image files"),
                         ("cache files: 4/4", f"cache files: {n}/{n}"), ("/4 [", f"/{n} ["),
                         ("8 train images", f"{n * self.repeats} train images"), ("image_count: 4", f"image_count: {n}"),
                         ("num_repeats: 2", f"num_repeats: {self.repeats}"),
                         ("(128, 128)", f"({self.resolution}, {self.resolution})"),
                         ("(rank): 4, alpha: 1", f"(rank): {a['network_dim']}, alpha: {a.get('network_alpha', 1)}")):
            line = line.replace(old, new)
        for label, value in (("num train images", n * self.repeats), ("num batches per epoch", self.batches),
                             ("num epochs", self.epochs), ("batch size per device", self.batch),
                             ("total optimization steps", self.steps)):
            if line.startswith(f"  {label}"):
                line = re.sub(r"\d+$", str(value), line)
        return refit(line)

    def emit(self, line: str) -> None:
        """A captured line to the stream it was written to: rich records, bars and warnings to stderr."""
        if line.startswith("\r") or RICH_RE.match(line) or line.startswith(" " * 20) or line.startswith(STDERR_NOISE):
            err(line + "\n")
        else:
            out(line + "\n")

    def preamble(self) -> None:
        for i, line in enumerate(LOG[5:117], start=5):
            if line.startswith("override steps."):
                continue
            if line.startswith("running training") and self.resume_dir:
                self.resume_lines()
            self.emit(self.sub(line))
            if i == 16 and (not self.images or SCENARIO == "no-data"):
                err(record("ERROR", "No data found. Please verify arguments (train_data_dir must be the parent of "
                                    "folders with images) / 画像がありません。引数指定を確認してください", "train_network.py:574"))
                sys.exit(0)
            if i == 11:
                self.bad_dataset_key()
            if i == 59:
                pause(LOAD_SECONDS)

    def bad_dataset_key(self) -> None:
        if SCENARIO != "bad-dataset-key":
            return
        start = next(i for i, line in enumerate(BAD_KEY) if line.lstrip().startswith("ERROR"))
        end = next(i for i, line in enumerate(BAD_KEY) if line.startswith("Traceback") and i > start + 5)
        for line in BAD_KEY[start:end]:
            err(line.replace("/data/run/bad_dataset.tom", str(Path(self.a["dataset_config"]).resolve())) + "\n")
        sys.exit(1)

    def resume_lines(self) -> None:
        state = json.loads((Path(self.resume_dir) / "train_state.json").read_text(encoding="utf-8"))
        where = str(Path(self.resume_dir).resolve())
        err(record("INFO", f"resume training from local state: {where}", "train_util.py:4777"))
        err(record("INFO", f"Loading states from {where}", "accelerator.py:3389"))
        err(record("INFO", f"load train state from {where}/train_state.json: {state}", "train_network.py:969"))
        self.initial = int(state["current_step"]) if self.skip else 0
        if self.skip:
            err(record("INFO", f"skipping {self.initial} steps", "train_network.py:1265"))

    # -- training ------------------------------------------------------------------------------------------
    def train(self) -> None:
        initial = getattr(self, "initial", 0)
        remaining = self.steps - initial
        err("\r" + replay.bar("steps", 0, remaining, 0, None, None))
        worker, loss, epoch = replay.spawn_worker(), None, None
        for global_step in range(initial, self.steps):
            if global_step // self.batches != epoch:
                epoch = global_step // self.batches
                out(f"\nepoch {epoch + 1}/{self.epochs}\n")
                err("".join(line + "\n" for line in LOG[128:130]))
            step, n = global_step + 1, global_step - initial + 1
            seconds = replay.step_time(RATES[global_step % len(RATES)], step)
            pause(seconds)
            self.clock += seconds
            post = f"avr_loss={loss:.3g}" if loss is not None else None
            err("\r" + replay.bar("steps", n, remaining, self.clock, 1 / seconds, post))
            loss = float("nan") if SCENARIO == "nan" and step >= AT_STEP else LOSSES[global_step % len(LOSSES)]
            err("\r" + replay.bar("steps", n, remaining, self.clock, 1 / seconds, f"avr_loss={loss:.3g}"))
            self.scenario(step)
            if self.a.get("sample_every_n_steps") and step % int(self.a["sample_every_n_steps"]) == 0:
                self.sample(step)
            if self.a.get("save_every_n_steps") and step % int(self.a["save_every_n_steps"]) == 0:
                self.save(step, epoch)
        self.finish(epoch if epoch is not None else 0, remaining)
        worker.terminate()

    def scenario(self, step: int) -> None:
        replay.stall_here(step)
        if replay.strikes(step, "oom", "crash"):
            frames = BAD_KEY[BAD_KEY.index(next(x for x in BAD_KEY if x.startswith("Traceback"))):][:8]
            last = ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
                    "capacity of 23.65 GiB of which 1.20 GiB is free." if SCENARIO == "oom"
                    else "RuntimeError: CUDA error: an illegal memory access was encountered")
            err("\n" + "\n".join(frames) + "\n" + last + "\n")
            sys.exit(1)
        if replay.strikes(step, "hang"):
            replay.ignore_signals()
        if replay.strikes(step, "killed"):  # the kernel's OOM killer: no word from the trainer, accelerate reports it
            os.kill(os.getpid(), signal.SIGKILL)

    def sample(self, step: int) -> None:
        prompts_file = Path(self.a["sample_prompts"])
        prompts = [p.split(" --")[0].strip() for p in prompts_file.read_text(encoding="utf-8").splitlines()
                   if p.strip() and not p.lstrip().startswith("#")]
        err(record("INFO", "", "train_util.py:5989"))
        err(record("INFO", f"generating sample images at step / サンプル画像生成 ステップ: {step}", "flux_train_utils.py:60"))
        stamp = time.strftime("%Y%m%d%H%M%S")
        for index, prompt in enumerate(prompts):
            err(record("INFO", f"prompt: {prompt}", "flux_train_utils.py:182"))
            out(f"Using cached text encoder outputs for prompt: {prompt}\n")
            replay.write_image(self.out_dir / "sample" / f"{self.name}_{step:06d}_{index:02d}_{stamp}.png")
            pause(1.0)

    def save(self, step: int, epoch: int) -> None:
        path = self.out_dir / f"{self.name}-step{step:08d}.safetensors"
        out(f"\nsaving checkpoint: {path}\n")
        replay.write_lora(path, {"ss_steps": str(step), "ss_output_name": self.name}, rank=int(self.a["network_dim"]))
        every = int(self.a["save_every_n_steps"])
        keep = self.a.get("save_last_n_steps")
        if keep:
            self.remove_old(step, int(keep), every, f"{self.name}-step{{:08d}}.safetensors", "checkpoint")
        if self.a.get("save_state"):
            err(record("INFO", "", "train_util.py:5939"))
            err(record("INFO", f"saving state at step {step}", "train_util.py:5940"))
            self.write_state(self.out_dir / f"{self.name}-step{step:08d}-state", epoch, step)
            keep_state = self.a.get("save_last_n_steps_state") or keep
            if keep_state:
                self.remove_old(step, int(keep_state), every, f"{self.name}-step{{:08d}}-state", "state")

    def remove_old(self, step: int, keep: int, every: int, pattern: str, what: str) -> None:
        r = step - keep - 1
        if r < 0:
            return
        old = self.out_dir / pattern.format(r - r % every)
        if old.exists():
            if old.is_dir():
                for f in old.iterdir():
                    f.unlink()
                old.rmdir()
            else:
                old.unlink()
            line = f"removing old {what}: {old}"
            (err(record("INFO", line, "train_util.py:5983")) if what == "state" else out(line + "\n"))

    def write_state(self, folder: Path, epoch: int, step: int, *, log: bool = True) -> None:
        if log:
            err(record("INFO", f"Saving current state to {folder}", "accelerator.py:3241"))
        if SCENARIO == "disk-full" and step >= AT_STEP:
            replay.write_truncated(folder / "model.safetensors")
            err("OSError: [Errno 28] No space left on device\n")
            sys.exit(1)
        replay.write_lora(folder / "model.safetensors", {}, rank=int(self.a["network_dim"]))
        for name in ("optimizer.bin", "scheduler.bin", "random_states_0.pkl"):
            (folder / name).write_bytes(b"state\n")
        (folder / "train_state.json").write_text(json.dumps({"current_epoch": epoch + 1, "current_step": step}))
        if log:
            err(record("INFO", f"save train state to {folder}/train_state.json at epoch {epoch + 1} step {step}",
                   "train_network.py:946"))

    def finish(self, epoch: int, remaining: int) -> None:
        """The captured end of a run: last state, final checkpoint, `model saved.`, the closed bar."""
        glued = LOG[130][LOG[130].rindex("]") + 1:]
        err(self.sub(glued) + "\n")
        for line in LOG[131:148]:
            line = re.sub(r"at epoch \d+ step \d+", f"at epoch {epoch + 1} step {self.steps}", self.sub(line))
            if line.startswith("saving checkpoint:"):
                replay.write_lora(self.out_dir / f"{self.name}.safetensors", {"ss_steps": str(self.steps)})
            self.emit(line)
            if "Saving current state to" in line:
                self.write_state(self.out_dir / f"{self.name}-state", epoch, self.steps, log=False)
        rate = 1 / (self.clock / max(remaining, 1)) if self.clock else None
        err("\r" + replay.bar("steps", remaining, remaining, self.clock, rate, f"avr_loss={LOSSES[-1]:.3g}") + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config_file", required=True)
    parser.add_argument("--resume")
    parser.add_argument("--skip_until_initial_step", action="store_true")
    job = Job(parser.parse_args(argv))
    job.preamble()
    job.train()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
