"""LoRA files shaped like each trainer writes them, on the tiny FLUX.1, with non-zero weights so images change.

builtin: fluxgen's own trainer (peft keys, own down matrix per q/k/v part, alpha/rank folded into lora_B);
ai-toolkit: peft keys, bf16, no alpha; sd-scripts: kohya keys, fused qkv/linear1 with one down matrix, `.alpha`.
"""

from __future__ import annotations

from pathlib import Path

from fluxgen.lora import bfl

RANK = 4


def _transformer(model: Path):
    from diffusers import FluxTransformer2DModel

    return FluxTransformer2DModel.from_pretrained(model, subfolder="transformer")


def builtin_lora(model: Path, path: Path, seed: int = 1) -> Path:
    """Through the builtin trainer's own code: add_lora, B randomised as if trained, lora_tensors, write_lora."""
    import torch

    from fluxgen.trainer.checkpoint import lora_tensors, write_lora
    from fluxgen.trainer.model import add_lora

    transformer = _transformer(model)
    params = add_lora(transformer, RANK, 8.0, seed)
    gen = torch.Generator().manual_seed(seed)
    for name, p in params.items():
        if ".lora_B." in name:
            p.data = torch.randn(p.shape, generator=gen) * 0.5
    metadata = {"fluxgen.trainer": "builtin", "fluxgen.rank": str(RANK), "fluxgen.alpha": "8.0",
                "fluxgen.lora_B_scaled_by": "2.0", "fluxgen.step": "10", "fluxgen.trigger": "CSKULL"}
    write_lora(path, lora_tensors(params, 8.0 / RANK, "fp32"), metadata)
    return path


def ai_toolkit_lora(model: Path, path: Path, seed: int = 2) -> Path:
    """peft names for every double/single block linear ai-toolkit trains, bf16, no alpha (scale 1)."""
    import torch
    from safetensors.torch import save_file

    from fluxgen.trainer.model import lora_target_modules

    transformer = _transformer(model)
    modules = dict(transformer.named_modules())
    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for name in lora_target_modules(transformer):
        layer = modules[name]
        tensors[f"transformer.{name}.lora_A.weight"] = (torch.randn(RANK, layer.in_features, generator=gen) * 0.3)
        tensors[f"transformer.{name}.lora_B.weight"] = (torch.randn(layer.out_features, RANK, generator=gen) * 0.3)
    tensors = {k: v.to(torch.bfloat16) for k, v in tensors.items()}
    save_file(tensors, str(path), metadata={"software": '{"name": "ai-toolkit"}', "training_info": '{"step": 20}'})
    return path


def sd_scripts_lora(model: Path, path: Path, seed: int = 3, alpha: float = 2.0) -> Path:
    """kohya names, one down per fused BFL weight, an fp16 `.alpha` per module (sd-scripts' network_alpha)."""
    import torch
    from safetensors.torch import save_file

    transformer = _transformer(model)
    modules = dict(transformer.named_modules())
    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for group, count, table in (("double_blocks", 1, bfl.DOUBLE), ("single_blocks", 1, bfl.SINGLE)):
        for index in range(count):
            for sub in table:
                name = f"{group}.{index}.{sub}"
                parts = [modules[p] for p in bfl.diffusers_parts(name)]
                rows = sum(p.out_features for p in parts)
                key = bfl.kohya_name(name)
                tensors[f"{key}.lora_down.weight"] = torch.randn(RANK, parts[0].in_features, generator=gen) * 0.3
                tensors[f"{key}.lora_up.weight"] = torch.randn(rows, RANK, generator=gen) * 0.3
                tensors[f"{key}.alpha"] = torch.tensor(alpha)
    tensors = {k: v.to(torch.float16) for k, v in tensors.items()}
    metadata = {"ss_network_module": "networks.lora_flux", "ss_network_dim": str(RANK),
                "ss_network_alpha": str(alpha), "ss_steps": "30", "modelspec.architecture": "flux-1-dev/lora"}
    save_file(tensors, str(path), metadata=metadata)
    return path


def render(model: Path, state_dict: dict | None, seed: int = 5):
    """One 32 px image from the tiny pipeline, with the LoRA state dict loaded (None: the base model)."""
    import numpy as np
    import torch
    from diffusers import FluxPipeline

    pipe = FluxPipeline.from_pretrained(model, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    if state_dict is not None:
        pipe.load_lora_weights(dict(state_dict), adapter_name="x")
    image = pipe("a photo of CSKULL", height=32, width=32, num_inference_steps=2, guidance_scale=3.5,
                 max_sequence_length=32, generator=torch.Generator().manual_seed(seed), output_type="np").images[0]
    return np.asarray(image)


def small_peft_lora(path: Path, seed: int = 0) -> Path:
    """A deterministic diffusers-keyed LoRA on the tiny model's shapes, written without loading the model."""
    import torch
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for part in ("to_q", "to_k", "to_v"):
        tensors[f"transformer.transformer_blocks.0.attn.{part}.lora_A.weight"] = torch.randn(2, 32, generator=gen)
        tensors[f"transformer.transformer_blocks.0.attn.{part}.lora_B.weight"] = torch.randn(32, 2, generator=gen)
    save_file(tensors, str(path), metadata={"fluxgen.trainer": "builtin", "fluxgen.trigger": "CSKULL"})
    return path
