"""`inspect_lora` on small LoRA files in each key format, built here with safetensors.numpy."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from report.report_builders import kohya_lora, peft_lora
from safetensors.numpy import save_file

from fluxgen.errors import UserError
from fluxgen.lora import inspect_lora
from fluxgen.lora.keys import classify, compress_ranges

STABLE_KEYS = {"path", "format", "tensors", "parameters", "size_bytes", "ranks", "alpha", "dtypes", "modules",
               "metadata", "fluxgen", "trigger", "base_model", "steps", "warnings"}


def test_peft_file_written_by_fluxgen(tmp_path: Path):
    md = {"fluxgen.trigger": "p3r5on", "fluxgen.base_model": "black-forest-labs/FLUX.1-dev", "fluxgen.steps": "2000",
          "fluxgen.rank": "4", "fluxgen.plan_hash": "sha256:abc", "format": "pt"}
    path = peft_lora(tmp_path / "a.safetensors", rank=4, double=2, single=3, metadata=md)
    info = inspect_lora(path)
    assert info.format == "peft/diffusers"
    assert info.ranks == {"4": 2 * 4 + 3 * 2}
    assert info.alpha == {"source": "= rank", "values": {"4": 14}}
    assert info.dtypes == {"F16": 28}
    assert info.tensors == 28
    assert info.parameters == 28 * 4 * 32
    assert info.size_bytes == path.stat().st_size
    assert info.modules["double_blocks"] == {"modules": 8, "blocks": [0, 1], "submodules": {
        "attn.to_k": 2, "attn.to_q": 2, "attn.to_v": 2, "ff.net.2": 2}}
    assert info.modules["single_blocks"]["blocks"] == [0, 1, 2]
    assert info.modules["text_encoder"]["modules"] == 0
    assert (info.trigger, info.base_model, info.steps) == ("p3r5on", "black-forest-labs/FLUX.1-dev", 2000)
    assert info.sources == {"trigger": "fluxgen.trigger", "base_model": "fluxgen.base_model", "steps": "fluxgen.steps"}
    assert info.fluxgen["plan_hash"] == "sha256:abc"
    assert info.metadata["fluxgen"]["fluxgen.rank"] == "4"
    assert info.metadata["other"] == {"format": "pt"}
    assert info.warnings == []


def test_kohya_file_from_sd_scripts(tmp_path: Path):
    md = {"ss_network_dim": "8", "ss_network_alpha": "4.0", "ss_steps": "1500", "ss_sd_model_name": "flux1-dev.sft",
          "ss_tag_frequency": json.dumps({"10_ohwx": {"ohwx": 20, "woman": 12}}),
          "modelspec.architecture": "flux-1-dev/lora", "sshs_model_hash": "abc"}
    info = inspect_lora(kohya_lora(tmp_path / "k.safetensors", rank=8, alpha=4.0, metadata=md))
    assert info.format == "kohya"
    assert info.ranks == {"8": 8}
    assert info.alpha == {"source": "tensors", "values": {"4": 8}}
    assert info.modules["double_blocks"]["submodules"] == {"img_attn_qkv": 3, "txt_mlp_0": 3}
    assert info.modules["single_blocks"] == {"modules": 2, "blocks": [0, 1], "submodules": {"linear1": 2}}
    assert info.trigger == "ohwx" and info.sources["trigger"].startswith("ss_tag_frequency")
    assert (info.base_model, info.steps) == ("flux1-dev.sft", 1500)
    assert set(info.metadata["ss"]) == {k for k in md if k.startswith("ss_")}
    assert info.metadata["modelspec"] == {"modelspec.architecture": "flux-1-dev/lora"}
    assert info.metadata["sshs"] == {"sshs_model_hash": "abc"}
    assert info.warnings == []


def test_bf16_alpha_tensors_are_decoded(tmp_path: Path):
    path = tmp_path / "bf16.safetensors"
    bf16_two = struct.pack("<f", 2.0)[2:]  # bfloat16 is the upper half of a float32
    header = {"lora_unet_double_blocks_0_img_attn_qkv.alpha": {"dtype": "BF16", "shape": [],
                                                               "data_offsets": [0, 2]},
              "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": {"dtype": "BF16", "shape": [2, 2],
                                                                         "data_offsets": [2, 10]},
              "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": {"dtype": "BF16", "shape": [2, 2],
                                                                       "data_offsets": [10, 18]}}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bf16_two + bytes(16))
    info = inspect_lora(path)
    assert info.alpha == {"source": "tensors", "values": {"2": 1}}
    assert info.dtypes == {"BF16": 3}


def test_kohya_text_encoder_and_mixed_ranks_are_flagged(tmp_path: Path):
    tensors = {}
    for name, rank in (("lora_unet_double_blocks_0_img_attn_qkv", 16), ("lora_unet_single_blocks_0_linear1", 32),
                       ("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", 16),
                       ("lora_te3_encoder_block_1_layer_0_SelfAttention_q", 16)):
        tensors[f"{name}.lora_down.weight"] = np.zeros((rank, 8), np.float32)
        tensors[f"{name}.lora_up.weight"] = np.zeros((8, rank), np.float32)
        tensors[f"{name}.alpha"] = np.array(float(rank), np.float32)
    path = tmp_path / "te.safetensors"
    save_file(tensors, str(path))
    info = inspect_lora(path)
    assert info.ranks == {"16": 3, "32": 1}
    assert info.modules["text_encoder"]["encoders"] == ["clip_l", "t5xxl"]
    assert info.modules["text_encoder"]["blocks"] == [0, 1]
    text = "\n".join(info.warnings)
    assert "mixed ranks across modules (16 ×3, 32 ×1)" in text
    assert "alpha varies across modules (16, 32)" in text
    assert "text-encoder LoRA present (2 modules, clip_l, t5xxl)" in text
    for missing in ("no trigger recorded", "no base model recorded", "no step count recorded"):
        assert missing in text


def test_fluxgen_record_inside_sd_scripts_training_comment(tmp_path: Path):
    comment = json.dumps({"fluxgen": {"trigger": "zxy_style", "steps": 500, "base_model": "FLUX.1-dev",
                                      "plan_hash": "sha256:1"}})
    md = {"ss_training_comment": comment, "modelspec.trigger_phrase": "other", "ss_network_alpha": "8"}
    info = inspect_lora(kohya_lora(tmp_path / "c.safetensors", metadata=md))
    assert info.fluxgen == {"trigger": "zxy_style", "steps": 500, "base_model": "FLUX.1-dev", "plan_hash": "sha256:1"}
    assert (info.trigger, info.steps, info.base_model) == ("zxy_style", 500, "FLUX.1-dev")


def test_ai_toolkit_meta_section_and_training_info(tmp_path: Path):
    md = {"training_info": json.dumps({"step": 250, "epoch": 0}),
          "software": json.dumps({"name": "ai-toolkit", "version": "0.12.26"}),
          "ss_tag_frequency": json.dumps({"1_p3r5on": {"p3r5on": 1}}), "ss_base_model_version": "flux.1",
          "fluxgen": json.dumps({"trigger": "p3r5on", "plan_hash": "sha256:2"}), "fluxgen_version": "0.1.0"}
    info = inspect_lora(peft_lora(tmp_path / "t.safetensors", metadata=md))
    assert info.steps == 250 and info.sources["steps"] == "training_info.step"
    assert info.fluxgen == {"trigger": "p3r5on", "plan_hash": "sha256:2", "version": "0.1.0"}
    assert set(info.metadata["ai_toolkit"]) == {"training_info", "software"}
    assert info.base_model is None
    assert any(w.startswith("no base model recorded") for w in info.warnings)


def test_peft_alpha_from_diffusers_adapter_metadata(tmp_path: Path):
    md = {"lora_adapter_metadata": json.dumps({"transformer.r": 4, "transformer.lora_alpha": 2})}
    info = inspect_lora(peft_lora(tmp_path / "d.safetensors", metadata=md))
    assert info.alpha == {"source": "lora_adapter_metadata", "values": {"2": 10}}
    assert info.metadata["diffusers"] == md


def test_peft_alpha_in_metadata_that_loaders_ignore_is_flagged(tmp_path: Path):
    info = inspect_lora(peft_lora(tmp_path / "p.safetensors", rank=4, metadata={"fluxgen.alpha": "2"}))
    assert any("metadata says alpha 2 but peft keys store no alpha" in w for w in info.warnings)


def test_metadata_rank_that_disagrees_with_tensors_is_flagged(tmp_path: Path):
    info = inspect_lora(kohya_lora(tmp_path / "r.safetensors", rank=8, metadata={"ss_network_dim": "16"}))
    assert any("metadata says rank 16 but the tensors have rank 8" in w for w in info.warnings)


def test_not_a_lora_is_reported_not_crashed(tmp_path: Path):
    path = tmp_path / "model.safetensors"
    save_file({"x_embedder.weight": np.zeros((4, 4), np.float32)}, str(path))
    info = inspect_lora(path)
    assert info.format == "unknown"
    assert info.warnings == ["no LoRA tensors found among 1 tensors: this is not a LoRA file"]


def test_kohya_without_alpha_tensors_is_flagged(tmp_path: Path):
    path = tmp_path / "na.safetensors"
    save_file({"lora_unet_single_blocks_0_linear1.lora_down.weight": np.zeros((4, 8), np.float16),
               "lora_unet_single_blocks_0_linear1.lora_up.weight": np.zeros((8, 4), np.float16)}, str(path))
    info = inspect_lora(path)
    assert info.alpha == {"source": None, "values": {}}
    assert any(w.startswith("no .alpha tensors") for w in info.warnings)


def test_to_dict_has_the_stable_keys_and_is_json(tmp_path: Path):
    data = inspect_lora(peft_lora(tmp_path / "j.safetensors")).to_dict()
    assert STABLE_KEYS <= set(data)
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize("content, message", [
    (b"", "not a safetensors file (0 bytes, too short for a header)"),
    (b"hello world, this is text", "not a safetensors file (no valid header length"),
    (struct.pack("<Q", 500) + b'{"a": 1', "truncated safetensors header (7 of 500 bytes present)"),
    (struct.pack("<Q", 6) + b"nojson", "not a safetensors file (its header is not JSON)"),
    (struct.pack("<Q", 2) + b"[]", "not a safetensors file (its header is not a JSON object)"),
])
def test_unreadable_files_are_one_line_user_errors(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(UserError, match=r"bad\.safetensors: " + re.escape(message)):
        inspect_lora(path)


def test_truncated_tensor_data_is_refused(tmp_path: Path):
    path = peft_lora(tmp_path / "cut.safetensors")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UserError, match=r"cut\.safetensors: truncated: the header describes \d+ bytes"):
        inspect_lora(path)


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(UserError, match=r"nope\.safetensors: no such file"):
        inspect_lora(tmp_path / "nope.safetensors")
    with pytest.raises(UserError, match="is a folder"):
        inspect_lora(tmp_path)


@pytest.mark.parametrize("name, expected", [
    ("transformer.single_transformer_blocks.7.proj_mlp", ("single_blocks", 7, "proj_mlp", None)),
    ("transformer.transformer_blocks.18.ff_context.net.0.proj", ("double_blocks", 18, "ff_context.net.0.proj", None)),
    ("lora_unet_double_blocks_3_txt_mod_lin", ("double_blocks", 3, "txt_mod_lin", None)),
    ("lora_unet_single_blocks_37_modulation_lin", ("single_blocks", 37, "modulation_lin", None)),
    ("text_encoder.text_model.encoder.layers.4.mlp.fc1", ("text_encoder", 4, "mlp.fc1", "clip_l")),
    ("lora_unet_img_in", ("other", None, "img_in", None)),
    ("transformer.proj_out", ("other", None, "proj_out", None)),
])
def test_classify_module_names(name: str, expected: tuple):
    assert classify(name) == expected


def test_compress_ranges():
    assert compress_ranges([5, 0, 1, 2, 7, 8]) == "0-2,5,7-8"
    assert compress_ranges([]) == ""


def test_ai_toolkit_key_layout_from_its_saved_files(tmp_path: Path):
    """The keys ai-toolkit saves for a tiny FLUX (1 double, 1 single block): 20 modules, 40 tensors."""
    double = ["attn.to_q", "attn.to_k", "attn.to_v", "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj",
              "attn.to_out.0", "attn.to_add_out", "ff.net.0.proj", "ff.net.2", "ff_context.net.0.proj",
              "ff_context.net.2", "norm1.linear", "norm1_context.linear"]
    single = ["attn.to_q", "attn.to_k", "attn.to_v", "norm.linear", "proj_mlp", "proj_out"]
    tensors = {}
    for prefix, subs in (("transformer.transformer_blocks.0", double),
                         ("transformer.single_transformer_blocks.0", single)):
        for sub in subs:
            tensors[f"{prefix}.{sub}.lora_A.weight"] = np.zeros((4, 8), np.float16)
            tensors[f"{prefix}.{sub}.lora_B.weight"] = np.zeros((8, 4), np.float16)
    path = tmp_path / "tiny_flux_lora_000000002.safetensors"
    save_file(tensors, str(path), metadata={"ss_output_name": "tiny_flux_lora", "format": "pt",
                                             "training_info": json.dumps({"step": 2, "epoch": 0}),
                                             "ss_tag_frequency": json.dumps({"1_p3r5on": {"p3r5on": 1}}),
                                             "ss_base_model_version": "flux.1"})
    info = inspect_lora(path)
    assert (info.format, info.tensors) == ("peft/diffusers", 40)
    assert info.modules["double_blocks"]["modules"] == 14 and info.modules["single_blocks"]["modules"] == 6
    assert info.modules["other"]["modules"] == 0
    assert (info.trigger, info.steps) == ("p3r5on", 2)
    assert info.warnings == ["no base model recorded (fluxgen.base_model, ss_sd_model_name, modelspec.architecture)"]
