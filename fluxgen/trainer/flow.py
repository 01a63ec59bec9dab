"""The rectified-flow objective FLUX.1 is trained with, and the per-step randomness that makes resume exact.

Every random draw of step N comes from a generator seeded by (seed, N), and the image order of epoch E from one
seeded by (seed, E): a run resumed at any step sees exactly the batches, timesteps and noise of an unbroken run.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any


def derived_seed(seed: int, kind: str, number: int) -> int:
    digest = hashlib.sha256(f"{seed}:{kind}:{number}".encode()).hexdigest()
    return int(digest[:15], 16)


def step_generator(seed: int, step: int):
    import torch

    return torch.Generator(device="cpu").manual_seed(derived_seed(seed, "step", step))


@lru_cache(maxsize=8)
def epoch_order(seed: int, epoch: int, count: int) -> tuple[int, ...]:
    import torch

    generator = torch.Generator(device="cpu").manual_seed(derived_seed(seed, "epoch", epoch))
    return tuple(torch.randperm(count, generator=generator).tolist())


def batch_indices(seed: int, step: int, batch_size: int, count: int) -> list[int]:
    """Images of a 0-based step: consecutive slices of per-epoch shuffles, crossing epochs when needed."""
    positions = range(step * batch_size, (step + 1) * batch_size)
    return [epoch_order(seed, p // count, count)[p % count] for p in positions]


def sample_timesteps(mode: str, batch_size: int, generator: Any, sigmoid_scale: float, shift: float):
    """t in (0, 1): `uniform`, `sigmoid` (logit-normal, favours the middle) or `shift` (sigmoid pushed noisier)."""
    import torch

    if mode == "uniform":
        return torch.rand(batch_size, generator=generator)
    t = torch.sigmoid(torch.randn(batch_size, generator=generator) * sigmoid_scale)
    if mode == "shift":
        t = (t * shift) / (1 + (shift - 1) * t)
    return t


def pack(latents: Any):
    """(B, C, H, W) latents → (B, H/2·W/2, 4C) tokens of 2×2 patches, the layout the FLUX transformer reads."""
    b, c, h, w = latents.shape
    packed = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return packed.reshape(b, (h // 2) * (w // 2), c * 4)


def image_ids(height: int, width: int, device: Any, dtype: Any):
    """Position ids (0, row, column) of each packed latent token, for the rotary embedding."""
    import torch

    ids = torch.zeros(height // 2, width // 2, 3)
    ids[..., 1] = torch.arange(height // 2)[:, None]
    ids[..., 2] = torch.arange(width // 2)[None, :]
    return ids.reshape(-1, 3).to(device=device, dtype=dtype)


def token_weights(masks: Any, latent_h: int, latent_w: int):
    """(B, 1, H, W) masks in [0, 1] → (B, tokens) weights: the mean of each packed 2×2 latent patch's pixels."""
    import torch

    pooled = torch.nn.functional.interpolate(masks.float(), size=(latent_h // 2, latent_w // 2), mode="area")
    return pooled.flatten(1)


HUBER_C = 0.01  # pseudo-Huber's transition point, as ai-toolkit's pseudo_huber (SDTrainer.py:903-906)


def elementwise_loss(prediction: Any, target: Any, loss_type: str = "mse"):
    """Per-element error: squared (mse), absolute (mae) or pseudo-Huber (quadratic near 0, linear beyond c)."""
    import torch

    diff = prediction.float() - target.float()
    if loss_type == "mae":
        return diff.abs()
    if loss_type == "huber":
        return torch.sqrt(diff**2 + HUBER_C**2) - HUBER_C
    return diff**2


def offset_noise(noise: Any, offset: float, generator: Any):
    """Offset noise: one N(0,1)·offset constant per image and channel added to the noise (ai-toolkit's
    apply_noise_offset, toolkit/train_tools.py:132-138), so the model can shift an image's overall brightness."""
    import torch

    if not offset:
        return noise
    shift = torch.randn((noise.shape[0], noise.shape[1], 1, 1), generator=generator)
    return noise + offset * shift.to(noise.device, noise.dtype)


def masked_mse(prediction: Any, target: Any, weights: Any | None, loss_type: str = "mse"):
    """The loss (MSE by default); with weights (B, tokens), each token's error counts by its mask value, normalised
    by the weights' sum so a small subject trains at the same scale as a full picture (an all-white mask is plain
    MSE)."""
    import torch

    error = elementwise_loss(prediction, target, loss_type)
    if weights is None:
        return error.mean()
    w = weights.to(error.device, error.dtype).unsqueeze(-1).expand_as(error)
    return (error * w).sum() / torch.clamp(w.sum(), min=1e-6)


def flow_matching_loss(
    transformer: Any, x0: Any, noise: Any, t: Any, embeds: Any, pooled: Any, guidance: float | None,
    weights: Any | None = None, loss_type: str = "mse",
):  # fmt: skip
    """noisy = (1−t)·x0 + t·noise; the transformer predicts the velocity noise − x0; the loss is its MSE,
    weighted per packed latent token by the subject mask when there is one."""
    import torch

    dtype = x0.dtype
    t = t.to(x0.device, dtype)
    sigma = t.view(-1, 1, 1, 1)
    noisy = (1 - sigma) * x0 + sigma * noise
    _, _, h, w = x0.shape
    guidance_vec = None
    if guidance is not None:
        guidance_vec = torch.full((x0.shape[0],), guidance, device=x0.device, dtype=dtype)
    prediction = transformer(
        hidden_states=pack(noisy),
        timestep=t,
        guidance=guidance_vec,
        pooled_projections=pooled,
        encoder_hidden_states=embeds,
        txt_ids=torch.zeros(embeds.shape[1], 3, device=x0.device, dtype=dtype),
        img_ids=image_ids(h, w, x0.device, dtype),
        return_dict=False,
    )[0]
    target = pack(noise - x0)
    return masked_mse(prediction, target, weights, loss_type)
