"""`fluxgen lora convert`: exact round trips, the same images from either format, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lora.lora_builders import RANK, ai_toolkit_lora, builtin_lora, render, sd_scripts_lora

from fluxgen.cli import cli
from fluxgen.errors import UserError
from fluxgen.lora import bfl
from fluxgen.lora.export import convert_file, diffusers_state_dict, export_name

WRITERS = {"builtin": builtin_lora, "ai-toolkit": ai_toolkit_lora, "sd-scripts": sd_scripts_lora}


def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def _identical(a: dict, b: dict) -> bool:
    import torch

    return set(a) == set(b) and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return fh.metadata()


@pytest.mark.slow
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_round_trip_is_exact_and_images_match(writer: str, tiny_model: Path, tmp_path: Path):
    source = WRITERS[writer](tiny_model, tmp_path / f"{writer}.safetensors")
    there, back = ("diffusers", "kohya") if writer == "sd-scripts" else ("kohya", "diffusers")
    first = convert_file(source, there)
    second = convert_file(first.out, back, tmp_path / "back.safetensors")
    assert first.out.name == f"{writer}.{there}.safetensors"
    assert _identical(_tensors(source), _tensors(second.out))
    original = render(tiny_model, diffusers_state_dict(source))
    converted = render(tiny_model, diffusers_state_dict(first.out))
    assert (original == converted).all()  # bit-identical, not merely close
    assert abs(original - render(tiny_model, None)).max() > 0.01  # and the LoRA does change the image


def test_kohya_keys_alpha_and_metadata(tiny_model: Path, tmp_path: Path):
    source = ai_toolkit_lora(tiny_model, tmp_path / "aitk.safetensors")
    out = convert_file(source, "kohya").out
    tensors = _tensors(out)
    assert "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight" in tensors
    assert "lora_unet_single_blocks_0_linear1.lora_up.weight" in tensors
    # own down per q/k/v part → block-diagonal of rank 3×4, alpha = rank (scale 1, what a file without alpha means)
    assert tuple(tensors["lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight"].shape) == (3 * RANK, 32)
    assert float(tensors["lora_unet_double_blocks_0_img_attn_qkv.alpha"]) == 3 * RANK
    assert float(tensors["lora_unet_single_blocks_0_linear1.alpha"]) == 4 * RANK
    assert float(tensors["lora_unet_double_blocks_0_img_mlp_0.alpha"]) == RANK
    md = _metadata(out)
    assert json.loads(md["training_info"]) == {"step": 20}  # carried over
    (record,) = json.loads(md["fluxgen.conversions"])
    assert record["from"] == "diffusers" and record["to"] == "kohya" and record["source"] == "aitk.safetensors"


def test_kohya_alpha_other_than_rank_travels_as_diffusers_alpha(tiny_model: Path, tmp_path: Path):
    source = sd_scripts_lora(tiny_model, tmp_path / "sds.safetensors", alpha=2.0)
    tensors = _tensors(convert_file(source, "diffusers").out)
    assert float(tensors["transformer.transformer_blocks.0.attn.to_q.alpha"]) == 2.0
    assert not any(k.startswith("lora_unet_") for k in tensors)


def test_alpha_equal_to_rank_is_left_implicit(tiny_model: Path, tmp_path: Path):
    source = sd_scripts_lora(tiny_model, tmp_path / "sds.safetensors", alpha=float(RANK))
    tensors = _tensors(convert_file(source, "diffusers").out)
    assert not any(k.endswith(".alpha") for k in tensors)


def _full_size_kohya(seed: int = 0) -> dict:
    """FLUX.1-dev shapes (19 double, 38 single blocks, width 3072) at rank 1, every module kohya can name."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    width, mlp = 3072, 12288
    rows = {"img_attn.qkv": 3 * width, "txt_attn.qkv": 3 * width, "img_mlp.0": mlp, "txt_mlp.0": mlp,
            "img_mod.lin": 6 * width, "txt_mod.lin": 6 * width, "linear1": 3 * width + mlp,
            "modulation.lin": 3 * width}
    inputs = {"img_mlp.2": mlp, "txt_mlp.2": mlp, "linear2": width + mlp}
    names = [f"double_blocks.{i}.{s}" for i in range(19) for s in bfl.DOUBLE]
    names += [f"single_blocks.{i}.{s}" for i in range(38) for s in bfl.SINGLE]
    glob = {"img_in": (width, 64), "txt_in": (width, 4096), "time_in.in_layer": (width, 256),
            "final_layer.linear": (64, width), "final_layer.adaLN_modulation.1": (2 * width, width)}
    sd = {}
    for name in names + list(glob):
        sub = name.split(".", 2)[-1]
        out_rows, in_cols = glob.get(name, (rows.get(sub, width), inputs.get(sub, width)))
        key = bfl.kohya_name(name)
        sd[f"{key}.lora_down.weight"] = torch.randn(1, in_cols, generator=gen)
        sd[f"{key}.lora_up.weight"] = torch.randn(out_rows, 1, generator=gen)
        sd[f"{key}.alpha"] = torch.tensor(0.5)
    return sd


@pytest.mark.slow
def test_full_size_names_and_splits_agree_with_diffusers_own_converter():
    """On FLUX.1-dev shapes diffusers' converter works: ours must give the same delta for every module."""
    import torch
    from diffusers.loaders.lora_conversion_utils import _convert_kohya_flux_lora_to_diffusers

    from fluxgen.lora.convert import parse_tensors, to_diffusers

    sd = _full_size_kohya()
    ours = to_diffusers(parse_tensors(dict(sd), {}, "full"))
    # diffusers prefixes block modules with `transformer.` and leaves the global ones bare (its loader accepts both)
    theirs = {k.removeprefix("transformer."): v for k, v in _convert_kohya_flux_lora_to_diffusers(dict(sd)).items()}
    assert {f"{k}.lora_A.weight" for k in ours} == {k for k in theirs if k.endswith("lora_A.weight")}
    gen = torch.Generator().manual_seed(1)
    for name, pair in ours.items():
        probe = torch.randn(pair.down.shape[1], generator=gen)
        # diffusers drops the final layer's alpha ("TODO: alphas" in its converter); sd-scripts and ComfyUI apply it
        scale = 1.0 if name in ("proj_out", "norm_out.linear") else pair.scale
        mine = pair.up @ (pair.down @ probe) * scale
        a, b = theirs[f"{name}.lora_A.weight"], theirs[f"{name}.lora_B.weight"]
        torch.testing.assert_close(mine, b @ (a @ probe), rtol=1e-5, atol=1e-5, msg=name)


def test_refuses_text_encoder_and_lycoris_naming_keys(tmp_path: Path):
    import torch
    from safetensors.torch import save_file

    te = tmp_path / "te.safetensors"
    save_file({"lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": torch.zeros(2, 4),
               "lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight": torch.zeros(4, 2)}, str(te))
    with pytest.raises(UserError, match=r"cannot convert 2 tensors \(lora_te1_text_model.*text-encoder"):
        convert_file(te, "diffusers")
    ly = tmp_path / "ly.safetensors"
    save_file({"lora_unet_double_blocks_0_img_attn_qkv.hada_w1_a": torch.zeros(2, 4)}, str(ly))
    with pytest.raises(UserError, match="LyCORIS"):
        convert_file(ly, "diffusers")


def test_cli_writes_and_refuses_to_overwrite(tiny_model: Path, tmp_path: Path):
    source = sd_scripts_lora(tiny_model, tmp_path / "sds.safetensors")
    runner = CliRunner()
    result = runner.invoke(cli, ["lora", "convert", str(source), "--to", "diffusers"])
    assert result.exit_code == 0, result.output
    assert "sds.diffusers.safetensors (diffusers, 20 modules" in result.stdout
    again = runner.invoke(cli, ["lora", "convert", str(source), "--to", "diffusers"])
    assert again.exit_code == 1
    assert again.stderr.strip().endswith("already exists; pass --force to replace it or choose another --out")
    assert runner.invoke(cli, ["lora", "convert", str(source), "--to", "diffusers", "--force"]).exit_code == 0
    named = runner.invoke(cli, ["lora", "convert", str(source), "--to", "diffusers", "--name", "ohwx woman"])
    assert named.exit_code == 0, named.output
    assert (tmp_path / "ohwx-woman_v1_30steps.safetensors").is_file()  # seed:003's naming, steps from ss_steps


def test_same_format_is_refused(tiny_model: Path, tmp_path: Path):
    source = sd_scripts_lora(tiny_model, tmp_path / "sds.safetensors")
    result = CliRunner().invoke(cli, ["lora", "convert", str(source), "--to", "kohya"])
    assert result.exit_code == 1
    assert result.stderr == f"error: {source}: already has kohya keys; nothing to convert\n"


def test_cli_missing_file_is_one_line(tmp_path: Path):
    result = CliRunner().invoke(cli, ["lora", "convert", str(tmp_path / "none.safetensors"), "--to", "kohya"])
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'none.safetensors'}: no such file\n"


def test_export_name_follows_seed_003():
    assert export_name("character-name", 1000) == "character-name_v1_1000steps.safetensors"
    assert export_name("my skull/../x", None, version=2) == "my-skull-..-x_v2.safetensors"
