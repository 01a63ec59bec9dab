"""The builtin trainer's masked loss: masked-out pixels do not count, and masks train the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fluxgen.trainer.flow import masked_mse, pack, token_weights


def _left_half(size: int = 64) -> torch.Tensor:
    mask = torch.zeros(1, 1, size, size)
    mask[..., : size // 2] = 1.0  # drawn by hand: the subject is the left half
    return mask


def test_token_weights_follow_the_mask_drawn_by_hand():
    weights = token_weights(_left_half(), 8, 8)  # a 64 px image → 8×8 latents → 4×4 packed tokens
    assert weights.shape == (1, 16)
    assert weights.view(4, 4).tolist() == [[1.0, 1.0, 0.0, 0.0]] * 4


def test_masked_pixels_do_not_change_the_loss_and_trained_ones_do():
    gen = torch.Generator().manual_seed(0)
    prediction = pack(torch.randn(1, 16, 8, 8, generator=gen))
    target = torch.randn(1, 16, 8, 8, generator=gen)
    weights = token_weights(_left_half(), 8, 8)
    base = masked_mse(prediction, pack(target), weights)
    right = target.clone()
    right[..., 4:] += 5.0  # changes only the masked-out (black) half
    assert torch.equal(masked_mse(prediction, pack(right), weights), base)
    left = target.clone()
    left[..., :4] += 5.0
    assert masked_mse(prediction, pack(left), weights) > base + 1.0
    ones = torch.ones_like(weights)
    assert torch.allclose(masked_mse(prediction, pack(target), ones),
                          torch.nn.functional.mse_loss(prediction, pack(target)))


def _masks(folder: Path, dataset: Path, white_left: bool = True) -> Path:
    from PIL import Image, ImageDraw

    folder.mkdir()
    for image in sorted(dataset.glob("*.png")):
        with Image.open(image) as im:
            mask = Image.new("L", im.size, 0)
        ImageDraw.Draw(mask).rectangle((0, 0, mask.width // 2 - 1, mask.height), fill=255 if white_left else 0)
        mask.save(folder / f"{image.stem}.png")
    return folder


@pytest.mark.slow
def test_masks_train_the_tiny_model(new_run, tiny_dataset, tmp_path, reference_run, trainer):
    from safetensors.torch import load_file

    masks = _masks(tmp_path / "masks", tiny_dataset)
    config, output = new_run(lambda d: d["dataset"].update(mask_folder=str(masks)))
    run = trainer(config, output)
    assert run.code == 0, run.stderr
    assert any(line.startswith("masked loss: 3 masks") and "50% of pixels trained" in line for line in run.lines)
    masked = load_file(output / "tiny.safetensors")
    plain = load_file(reference_run.output / "tiny.safetensors")
    assert masked.keys() == plain.keys()
    assert any(not torch.equal(masked[k], plain[k]) for k in masked)  # the masks changed what was learned
    assert run.losses().keys() == reference_run.losses().keys()


@pytest.mark.slow
def test_missing_mask_is_one_line(new_run, tiny_dataset, tmp_path, trainer):
    masks = _masks(tmp_path / "masks", tiny_dataset)
    (masks / "img_1.png").unlink()
    config, output = new_run(lambda d: d["dataset"].update(mask_folder=str(masks)))
    run = trainer(config, output)
    assert run.code == 1
    assert "img_1.png: no mask named img_1.png in" in run.stderr
