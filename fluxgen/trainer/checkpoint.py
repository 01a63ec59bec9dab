"""Step checkpoints: a LoRA safetensors file diffusers loads, plus a state file that lets a run resume exactly."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.trainer.model import export_key

STATE_FORMAT = 1
SAVE_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


@dataclass(frozen=True)
class Checkpoint:
    step: int
    lora: Path
    state: Path


def step_checkpoint(output_dir: Path, name: str, step: int) -> Checkpoint:
    stem = f"{name}_{step:09d}"
    return Checkpoint(step, output_dir / f"{stem}.safetensors", output_dir / f"{stem}.state.pt")


def final_path(output_dir: Path, name: str) -> Path:
    return output_dir / f"{name}.safetensors"


def list_checkpoints(output_dir: Path, name: str) -> list[Checkpoint]:
    """Step checkpoints on disk by step, whether or not they are complete."""
    pattern = re.compile(rf"^{re.escape(name)}_(\d{{9}})\.safetensors$")
    found = []
    if output_dir.is_dir():
        for path in output_dir.iterdir():
            match = pattern.match(path.name)
            if match:
                found.append(step_checkpoint(output_dir, name, int(match.group(1))))
    return sorted(found, key=lambda c: c.step)


def lora_tensors(params: dict[str, Any], scale: float, dtype_name: str, fmt: str = "diffusers") -> dict[str, Any]:
    """Export keys with alpha/rank folded into lora_B, so any loader that assumes scale 1 applies it right;
    `kohya` joins them into BFL's fused modules with `.alpha` (exactly: fluxgen.lora.convert)."""
    import torch

    dtype = getattr(torch, SAVE_DTYPES[dtype_name])
    out = {}
    for name, param in params.items():
        value = param.detach().float()
        if ".lora_B." in name:
            value = value * scale
        out[export_key(name)] = value.to(dtype).cpu().contiguous()
    if fmt == "kohya":
        from fluxgen.lora.convert import parse_tensors, to_kohya
        from fluxgen.lora.export import state_dict

        out = state_dict(to_kohya(parse_tensors(out, {}, "the trained LoRA")), "kohya")
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_lora(path: Path, tensors: dict[str, Any], metadata: dict[str, str]) -> None:
    """Write through a temp file and rename, so a reader never sees half a LoRA."""
    from safetensors.torch import save_file

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        sort_header(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # safetensors writes owner-only; a LoRA is meant to be shared
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def sort_header(path: Path) -> None:
    """safetensors writes the metadata in its hash map's order, which changes from process to process, so two
    identical runs gave files with different sha256. Rewrite the header in place with every key sorted: the same
    JSON in another order has the same length, so the tensor data does not move."""
    import json
    import struct

    with open(path, "r+b") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        raw = fh.read(length)
        header = json.loads(raw)
        if isinstance(header.get("__metadata__"), dict):
            header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(dict(sorted(header.items())), separators=(",", ":"), ensure_ascii=False).encode()
        if len(text) > length:  # not the compact form safetensors writes: leave the file as it is
            return
        fh.seek(8)
        fh.write(text + b" " * (length - len(text)))  # safetensors pads its header with spaces too


def save_checkpoint(
    ck: Checkpoint, tensors: dict[str, Any], metadata: dict[str, str], params: dict[str, Any],
    optimizer: Any, lr_scheduler: Any,
) -> None:  # fmt: skip
    """LoRA first, state second: a checkpoint whose state file is missing is incomplete and skipped on resume."""
    import torch

    ck.lora.parent.mkdir(parents=True, exist_ok=True)
    write_lora(ck.lora, tensors, metadata)
    state = {
        "format": STATE_FORMAT,
        "step": ck.step,
        "lora": {name: p.detach().cpu().clone() for name, p in params.items()},
        "optimizer": optimizer.state_dict(),
        "lr_scheduler": lr_scheduler.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
    }
    if torch.cuda.is_available():
        state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
    tmp = ck.state.with_name(f".{ck.state.name}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, ck.state)
    finally:
        tmp.unlink(missing_ok=True)


def prune(output_dir: Path, name: str, keep_last: int) -> None:
    """Keep the newest `keep_last` step checkpoints (0 keeps all); the final LoRA is never pruned."""
    if keep_last <= 0:
        return
    for ck in list_checkpoints(output_dir, name)[:-keep_last]:
        ck.lora.unlink(missing_ok=True)
        ck.state.unlink(missing_ok=True)


def read_state(ck: Checkpoint) -> dict[str, Any]:
    """Load and check one checkpoint; raises ValueError saying what is wrong with it."""
    import torch
    from safetensors import safe_open

    if not ck.state.is_file():
        raise ValueError("its .state.pt file is missing")
    try:
        with safe_open(str(ck.lora), framework="pt") as fh:
            step = (fh.metadata() or {}).get("fluxgen.step")
            for key in fh.keys():
                fh.get_tensor(key)
    except Exception as exc:
        raise ValueError(f"unreadable LoRA file ({exc})") from None
    if step != str(ck.step):
        raise ValueError(f"its metadata says step {step}")
    try:
        state = torch.load(ck.state, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"unreadable state file ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("step") != ck.step:
        raise ValueError("its state file is from another trainer version or another step")
    return state


def latest_valid(
    output_dir: Path, name: str, warn: Callable[[str], None]
) -> tuple[Checkpoint, dict[str, Any]] | None:
    """The newest checkpoint that reads back completely; broken ones are reported and passed over."""
    for ck in reversed(list_checkpoints(output_dir, name)):
        try:
            return ck, read_state(ck)
        except ValueError as exc:
            warn(f"skipping checkpoint {ck.lora}: {exc}")
    return None


def restore(state: dict[str, Any], params: dict[str, Any], optimizer: Any, lr_scheduler: Any) -> None:
    import torch

    saved = state["lora"]
    wrong = [n for n, p in params.items() if n not in saved or tuple(saved[n].shape) != tuple(p.shape)]
    if wrong:
        raise ValueError(f"its LoRA does not match this model and rank ({len(wrong)} weights differ)")
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(state["lora"][name].to(param.device, param.dtype))
    optimizer.load_state_dict(state["optimizer"])
    lr_scheduler.load_state_dict(state["lr_scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    random.setstate(state["rng"]["python"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
