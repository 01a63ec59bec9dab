"""`save.format: kohya`: the builtin trainer writes kohya keys directly, the same LoRA as its diffusers file."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_kohya_output_is_the_reference_run_converted(reference_run, new_run, trainer):
    import torch
    from safetensors.torch import load_file

    from fluxgen.lora.convert import parse_tensors, to_kohya
    from fluxgen.lora.export import state_dict

    config, out = new_run(lambda d: d["save"].update(format="kohya"))
    run = trainer(config, out)
    assert run.code == 0, run.stderr
    written = load_file(str(out / "tiny.safetensors"))
    assert "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight" in written
    assert "lora_unet_single_blocks_0_linear1.alpha" in written
    reference = load_file(str(reference_run.output / "tiny.safetensors"))
    expected = state_dict(to_kohya(parse_tensors(reference, {}, "ref")), "kohya")
    assert set(written) == set(expected)
    assert all(torch.equal(written[k], expected[k]) for k in expected)  # same seed, same training, other keys


def test_intent_save_format_reaches_the_builtin_config_and_warns_elsewhere(skull20, tmp_path):
    from click.testing import CliRunner

    from fluxgen.cli import cli

    runner = CliRunner()
    args = ["cyber-skull", "--images", str(skull20), "--set", "save.format=kohya"]
    done = runner.invoke(cli, ["render", *args, "--backend", "builtin", "--out", str(tmp_path / "b")])
    assert done.exit_code == 0, done.output
    assert '  format: "kohya"\n' in (tmp_path / "b" / "train.yaml").read_text()
    plan = runner.invoke(cli, ["plan", *args, "--backend", "ai-toolkit"])
    assert "save.format kohya: ai-toolkit writes diffusers keys itself; convert its LoRAs after training with " \
           "`fluxgen lora convert FILE --to kohya`" in plan.output
    default = runner.invoke(cli, ["render", "cyber-skull", "--images", str(skull20), "--backend", "builtin",
                                  "--out", str(tmp_path / "d")])
    assert default.exit_code == 0, default.output
    assert "format:" not in (tmp_path / "d" / "train.yaml").read_text()  # unchanged when not asked for
