"""One training run: load, cache, attach the LoRA, optionally resume, then step, save and sample until done."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen import __version__
from fluxgen.errors import TrainerFailed, UserError
from fluxgen.trainer import checkpoint, distributed, flow, model
from fluxgen.trainer.cache import TextCache, cache_latents, cache_texts
from fluxgen.trainer.config import TrainerConfig
from fluxgen.trainer.console import Console
from fluxgen.trainer.data import apply_trigger, scan_dataset
from fluxgen.trainer.metadata import lora_metadata
from fluxgen.trainer.sampling import make_sampler, save_samples


@dataclass
class Stop:
    """Set by a signal handler (or any caller); the loop looks at it only between steps."""

    signal_name: str | None = None
    step: int = 0  # the last completed step, for a stop that cannot wait for the boundary
    total: int = 0

    def request(self, signal_name: str) -> None:
        self.signal_name = signal_name


class TrainingInterrupted(Exception):
    def __init__(self, step: int, total: int, signal_name: str):
        super().__init__(f"interrupted at step {step}/{total} by {signal_name}")
        self.step = step
        self.total = total
        self.signal_name = signal_name


@dataclass
class Run:
    """Everything the step loop needs, built once."""

    cfg: TrainerConfig
    console: Console
    output_dir: Path
    source: str
    transformer: Any
    latents: Any
    texts: TextCache
    captions: list[str]
    prompts: list[str]
    params: dict[str, Any]
    optimizer: Any
    lr_scheduler: Any
    sampler: Any
    masks: Any = None  # (images, tokens) loss weights from dataset.mask_folder, or None


def train(cfg: TrainerConfig, *, resume: bool, console: Console, stop: Stop) -> Path:
    """Run (or continue) training and return the final LoRA's path."""
    output_dir = Path(cfg.save.output_dir).expanduser()
    stop.total = cfg.train.steps
    items = scan_dataset(cfg.dataset)
    _refuse_to_overwrite(output_dir, cfg.save.name, resume)
    cfg.train.optimizer = _check_optimizer(cfg.train.optimizer, console)
    source = model.model_source(cfg.model.path)
    run = _prepare(cfg, items, source, output_dir, console, stop)
    start = _resume(run) if resume else 0
    stop.step = start
    total = cfg.train.steps
    console.phase(
        "training",
        f"steps {start + 1}-{total} of {total}, batch {cfg.train.batch_size}, {len(items)} images, "
        f"rank {cfg.network.rank}, lr {cfg.train.lr:.1e}"
        if start < total
        else f"already at step {total} of {total}",
    )
    _loop(run, start, stop)
    final = checkpoint.final_path(output_dir, cfg.save.name)
    if not distributed.is_main():
        return final
    tensors = checkpoint.lora_tensors(run.params, cfg.alpha / cfg.network.rank, cfg.save.dtype, cfg.save.format)
    checkpoint.write_lora(final, tensors, lora_metadata(cfg, total, len(items), run.source))
    console.done(final)
    return final


def _refuse_to_overwrite(output_dir: Path, name: str, resume: bool) -> None:
    if resume:
        return
    if checkpoint.list_checkpoints(output_dir, name) or checkpoint.final_path(output_dir, name).exists():
        raise UserError(
            f"{output_dir}: already holds checkpoints named '{name}'; pass --resume to continue that run, "
            "or set save.output_dir or save.name to start a new one"
        )


def _check_optimizer(name: str, console: Console) -> str:
    """The optimizer this machine can run: the plan asks for 8-bit AdamW whatever the machine that planned it had;
    without bitsandbytes here it falls back to AdamW, said in the log (and so recorded in the run)."""
    if name != "adamw8bit":
        return name
    try:
        import bitsandbytes  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure to import it (missing, no CUDA build) means the fallback
        console.warning("optimizer adamw8bit needs bitsandbytes, which does not import here; training with adamw "
                        "(pip install bitsandbytes for 8-bit)")
        return "adamw"
    return name


def _check_stop(stop: Stop, step: int) -> None:
    stop.step = step
    if stop.signal_name:
        raise TrainingInterrupted(step, stop.total, stop.signal_name)


def _prepare(cfg: TrainerConfig, items: list, source: str, output_dir: Path, console: Console, stop: Stop) -> Run:
    """Encoders first, transformer last: the text encoders are freed before the largest part is loaded."""
    import torch

    model.quiet_libraries()
    device = model.resolve_device(cfg.model.device)
    dtype = model.resolve_dtype(cfg.model.dtype, device)
    dtype_name = str(dtype).removeprefix("torch.")
    console.line(f"fluxgen builtin trainer {__version__} (torch {torch.__version__}, {device}, {dtype_name})")
    console.phase("loading model", f"VAE and scheduler from {source}")
    vae = model.load_vae(source, dtype, device)
    scheduler = model.load_scheduler(source)
    _check_stop(stop, 0)
    cache_dir = output_dir / "cache" if cfg.dataset.cache_to_disk and distributed.is_main() else None
    latents = cache_latents(items, cfg.resolution, vae, source, console, cache_dir)
    masks = _mask_weights(cfg, items, latents, console)
    _check_stop(stop, 0)
    trigger = cfg.dataset.trigger or ""
    prompts = [apply_trigger(p, trigger, prepend=False) for p in cfg.sample.prompts] if cfg.sample.every else []
    captions = [item.caption for item in items]
    texts = cache_texts(
        captions + [""] + prompts, source, dtype, device, cfg.model.max_sequence_length, console, cache_dir
    )
    _check_stop(stop, 0)
    console.phase("loading model", f"transformer from {source}")
    transformer = model.load_transformer(source, dtype, device)
    params = model.add_lora(transformer, cfg.network.rank, cfg.alpha, cfg.train.seed)
    if cfg.train.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    transformer.train()
    optimizer = _optimizer(cfg, list(params.values()))
    from diffusers.optimization import get_scheduler

    lr_scheduler = get_scheduler(
        cfg.train.lr_scheduler, optimizer, num_warmup_steps=cfg.train.warmup_steps,
        num_training_steps=cfg.train.steps,
    )  # fmt: skip
    sampler = make_sampler(transformer, vae, scheduler) if prompts else None
    _check_stop(stop, 0)
    return Run(
        cfg, console, output_dir, source, transformer, latents, texts, captions, prompts, params, optimizer,
        lr_scheduler, sampler, masks,
    )  # fmt: skip


def _mask_weights(cfg: TrainerConfig, items: list, latents: Any, console: Console) -> Any:
    """Each image's mask, cropped like the image and pooled to the packed latent tokens the loss is over."""
    if not cfg.dataset.mask_folder:
        return None
    import torch

    from fluxgen.trainer.data import load_square_mask, mask_for

    folder = Path(cfg.dataset.mask_folder).expanduser()
    if not folder.is_dir():
        raise UserError(f"{folder}: mask folder not found; set dataset.mask_folder to the folder of masks")
    masks = torch.stack([load_square_mask(mask_for(item.image, folder), cfg.resolution) for item in items])
    weights = flow.token_weights(masks, latents.shape[-2], latents.shape[-1])
    console.phase("masked loss", f"{len(items)} masks from {folder}, {float(weights.mean()):.0%} of pixels trained")
    return weights.to(latents.device)


def _optimizer(cfg: TrainerConfig, params: list[Any]) -> Any:
    import torch

    if cfg.train.optimizer == "adamw8bit":
        import bitsandbytes

        return bitsandbytes.optim.AdamW8bit(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)


def _resume(run: Run) -> int:
    """Continue from the newest checkpoint that reads back; with none, start at step 0 and say so."""
    found = checkpoint.latest_valid(run.output_dir, run.cfg.save.name, run.console.warning)
    if found is None:
        run.console.warning(f"no valid checkpoint of '{run.cfg.save.name}' in {run.output_dir}; starting at step 0")
        return 0
    ck, state = found
    if ck.step > run.cfg.train.steps:
        raise UserError(f"{ck.lora}: is at step {ck.step}, past train.steps {run.cfg.train.steps}; raise train.steps")
    try:
        checkpoint.restore(state, run.params, run.optimizer, run.lr_scheduler)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise UserError(f"{ck.state}: cannot resume from it ({exc}); use the config it was trained with") from None
    run.console.resumed(ck.step, ck.lora)
    return ck.step


def _loop(run: Run, start: int, stop: Stop) -> None:
    cfg = run.cfg
    total = cfg.train.steps
    losses: list[float] = []
    seconds: list[float] = []
    for step in range(start + 1, total + 1):
        lr = run.optimizer.param_groups[0]["lr"]
        began = time.perf_counter()
        loss, stopping = distributed.agree(_train_step(run, step), stop.signal_name is not None)
        if stopping and not stop.signal_name:
            stop.request("SIGTERM")  # another rank was stopped: every rank ends at this step
        seconds.append(time.perf_counter() - began)
        if not math.isfinite(loss):
            raise TrainerFailed(f"loss is {loss} at step {step}; lower train.lr, or use model.dtype: fp32")
        losses.append(loss)
        if step % cfg.train.log_every == 0 or step == total:
            run.console.step(step, total, sum(losses) / len(losses), lr, sum(seconds) / len(seconds))
            losses, seconds = [], []
        if distributed.is_main() and ((cfg.save.every and step % cfg.save.every == 0) or step == total):
            _save(run, step)
        if distributed.is_main() and run.sampler is not None and (step % cfg.sample.every == 0 or step == total):
            save_samples(
                run.sampler, run.texts, run.prompts, cfg.sample, cfg.sample_size, step, run.output_dir, run.console
            )
        if step < total:
            _check_stop(stop, step)


def _train_step(run: Run, step: int) -> float:
    """One optimizer step on the batch of 0-based step `step - 1`, all randomness drawn from that step's seed."""
    import torch

    cfg = run.cfg
    batch = cfg.train.batch_size
    batch_all = batch * distributed.world_size()  # drawn whole on every rank, each keeps its slice
    generator = flow.step_generator(cfg.train.seed, step - 1)
    indices = flow.batch_indices(cfg.train.seed, step - 1, batch_all, len(run.captions))
    dropped = (torch.rand(batch_all, generator=generator) < cfg.dataset.caption_dropout).tolist()
    texts = ["" if drop else run.captions[i] for i, drop in zip(indices, dropped, strict=True)]
    t = flow.sample_timesteps(
        cfg.train.timestep_sampling, batch_all, generator, cfg.train.sigmoid_scale, cfg.train.shift
    )
    x0 = run.latents[indices]
    noise = flow.offset_noise(torch.randn(x0.shape, generator=generator), cfg.train.noise_offset, generator)
    noise = noise.to(x0.device, x0.dtype)
    indices, texts, t, x0, noise = (distributed.shard(v, batch) for v in (indices, texts, t, x0, noise))
    embeds, pooled = run.texts.rows(texts)
    guidance = cfg.train.guidance if run.transformer.config.guidance_embeds else None
    weights = run.masks[indices] if run.masks is not None else None
    loss = flow.flow_matching_loss(run.transformer, x0, noise, t, embeds, pooled, guidance, weights,
                                   cfg.train.loss_type)
    loss.backward()
    distributed.average_gradients(list(run.params.values()))
    if cfg.train.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(list(run.params.values()), cfg.train.max_grad_norm)
    run.optimizer.step()
    run.lr_scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def _save(run: Run, step: int) -> None:
    cfg = run.cfg
    ck = checkpoint.step_checkpoint(run.output_dir, cfg.save.name, step)
    tensors = checkpoint.lora_tensors(run.params, cfg.alpha / cfg.network.rank, cfg.save.dtype, cfg.save.format)
    metadata = lora_metadata(cfg, step, len(run.captions), run.source)
    checkpoint.save_checkpoint(ck, tensors, metadata, run.params, run.optimizer, run.lr_scheduler)
    run.console.checkpoint(step, ck.lora)
    checkpoint.prune(run.output_dir, cfg.save.name, cfg.save.keep_last)
