"""`fluxgen lora inspect` through the CLI: table, --json, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from report.report_builders import kohya_lora, peft_lora

from fluxgen.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["lora", "inspect", *args])


def test_table_shows_the_facts_and_the_warnings(tmp_path: Path):
    md = {"ss_steps": "300", "ss_sd_model_name": "flux1-dev.safetensors", "ss_network_dim": "8",
          "ss_optimizer": "torch.optim.adamw.AdamW", "ss_seed": "42", "modelspec.trigger_phrase": "[ohwx] <cat>"}
    result = run(str(kohya_lora(tmp_path / "k.safetensors", rank=8, alpha=4, te=True, metadata=md)))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    for expected in ("kohya", "rank", "4  (tensors)", "[ohwx] <cat>  (modelspec.trigger_phrase)",
                     "flux1-dev.safetensors", "300  (ss_steps)", "double blocks", "0-2", "img_attn_qkv ×3",
                     "text encoder (clip_l)", "ss_optimizer", "… 1 more", "! text-encoder LoRA present"):
        assert expected in out, expected
    assert "ss_seed" not in out  # only the useful ss_* keys get a line


def test_json_output_is_one_object_with_stable_keys(tmp_path: Path):
    path = peft_lora(tmp_path / "p.safetensors", metadata={"fluxgen.trigger": "sk💀ll"})
    result = run(str(path), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["format"] == "peft/diffusers"
    assert data["trigger"] == "sk💀ll"
    assert data["path"] == str(path)
    assert {"path", "format", "tensors", "parameters", "size_bytes", "ranks", "alpha", "dtypes", "modules",
            "metadata", "fluxgen", "trigger", "base_model", "steps", "warnings"} <= set(data)


def test_missing_file_is_one_line_and_exit_1(tmp_path: Path):
    result = run(str(tmp_path / "gone.safetensors"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: {tmp_path / 'gone.safetensors'}: no such file\n"


def test_not_a_safetensors_file_is_one_line_and_exit_1(tmp_path: Path):
    path = tmp_path / "notes.safetensors"
    path.write_text("these are notes, not weights", encoding="utf-8")
    result = run(str(path), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "notes.safetensors: not a safetensors file" in result.stderr


def test_tokens_in_the_metadata_are_redacted_in_every_output(tmp_path: Path, monkeypatch):
    secret = "my-private-value-123"
    monkeypatch.setenv("HF_TOKEN", secret)
    tokens = ["hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345", "ghp_0123456789abcdefghijABCDEFGHIJ", secret]
    md = {"ss_training_comment": f"token {tokens[0]}", "modelspec.trigger_phrase": "ohwx",
          "ss_sd_model_name": f"https://x/?t={tokens[1]}", "fluxgen.note": f"HF_TOKEN={tokens[2]}"}
    path = kohya_lora(tmp_path / "k.safetensors", rank=4, alpha=4, metadata=md)
    for args in ([str(path)], [str(path), "--json"]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        for token in tokens:
            assert token not in result.output, (args, token)
        assert "***" in result.output or args[-1] != "--json"
