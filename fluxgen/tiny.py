"""A tiny FLUX.1 pipeline with random weights, built offline, for tests and CPU smoke runs of real trainers."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Sizes known to load in diffusers and to train in ai-toolkit and the builtin trainer on a CPU.
HIDDEN = 32
CLIP_MAX_LENGTH = 77
T5_VOCAB_SIZE = 60

# The text the T5 tokenizer's sentencepiece model is trained on: fixed, so the tokenizer is the same every time.
T5_TRAINING_TEXT = """\
a photo of a cat sitting on a wooden table near the window
a watercolor painting of a red fox running through tall grass at dawn
a pencil sketch of an old lighthouse above the stormy sea
a cybernetic skull with glowing blue eyes and copper wires
a portrait of a woman wearing a green hat in soft morning light
a brutalist concrete building under a grey winter sky
a bowl of fresh fruit: apples, pears, grapes and one yellow lemon
a small boat drifting on a quiet lake surrounded by pine trees
a close-up of a mechanical watch with tiny gears and springs
a city street at night, wet asphalt reflecting neon signs
a child holding a kite on a windy hill, 35mm film photograph
a 3d render of a cute robot waving hello, studio lighting
"""

MODEL_INDEX = {
    "_class_name": "FluxPipeline",
    "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "text_encoder_2": ["transformers", "T5EncoderModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "tokenizer_2": ["transformers", "T5TokenizerFast"],
    "transformer": ["diffusers", "FluxTransformer2DModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}


def build_tiny_flux(path: Path, seed: int = 0) -> Path:
    """Write a FLUX.1-dev-shaped diffusers folder (~650 KB) at `path`; the same seed gives identical weights."""
    import shutil
    import tempfile

    import torch

    from fluxgen.errors import UserError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise UserError(f"{path}: cannot create it ({exc.strerror or exc}); choose another folder") from None
    try:
        _build_into(staging, seed, torch)
        path.mkdir(exist_ok=True)
        for item in staging.iterdir():  # into place part by part, so a failed build leaves no half folder
            target = path / item.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the model ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _build_into(path: Path, seed: int, torch: Any) -> None:
    with _no_progress_bars():
        _save_transformer(path / "transformer", seed, torch)
        _save_vae(path / "vae", seed + 1, torch)
        clip_vocab = _save_clip_tokenizer(path / "tokenizer")
        _save_clip_text_encoder(path / "text_encoder", seed + 2, len(clip_vocab), torch)
        t5_size = _save_t5_tokenizer(path / "tokenizer_2")
        _save_t5_encoder(path / "text_encoder_2", seed + 3, t5_size, torch)
        _save_scheduler(path / "scheduler")
    model_index = {**MODEL_INDEX, "_diffusers_version": _diffusers_version()}
    (path / "model_index.json").write_text(json.dumps(model_index, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers draws a bar per saved model on stderr; a builder of tiny files has nothing to show."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def _diffusers_version() -> str:
    import diffusers

    return diffusers.__version__


def _save_transformer(folder: Path, seed: int, torch) -> None:
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(seed)
    model = FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=HIDDEN,
        pooled_projection_dim=HIDDEN,
        guidance_embeds=True,
        axes_dims_rope=(4, 6, 6),
    )
    model.save_pretrained(folder, safe_serialization=True)


def _save_vae(folder: Path, seed: int, torch) -> None:
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    model = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=4,
        sample_size=64,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    model.save_pretrained(folder, safe_serialization=True)


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for raw bytes (the GPT-2 / CLIP mapping)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    codes = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for _, c in sorted(zip(keep, codes, strict=True))]


def _save_clip_tokenizer(folder: Path) -> dict[str, int]:
    """A byte-level CLIP tokenizer with no merges: every byte is a token, with and without the word end mark."""
    from transformers import CLIPTokenizer

    symbols = _byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, sort_keys=True) + "\n")
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"), model_max_length=CLIP_MAX_LENGTH
    )
    tokenizer.save_pretrained(folder)
    return vocab


def _save_clip_text_encoder(folder: Path, seed: int, vocab_size: int, torch) -> None:
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=HIDDEN,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=CLIP_MAX_LENGTH,
        projection_dim=HIDDEN,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    )
    CLIPTextModel(config).save_pretrained(folder, safe_serialization=True)


def _train_sentencepiece() -> bytes:
    """Train the tiny unigram model in one thread on the fixed text: the same bytes on every run."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(T5_TRAINING_TEXT.splitlines()),
        model_writer=model,
        vocab_size=T5_VOCAB_SIZE,
        model_type="unigram",
        num_threads=1,
        character_coverage=1.0,
        normalization_rule_name="identity",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
    )
    return model.getvalue()


def _save_t5_tokenizer(folder: Path) -> int:
    import sentencepiece as spm
    from transformers import T5TokenizerFast

    proto = _train_sentencepiece()
    sp = spm.SentencePieceProcessor(model_proto=proto)
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tokenizer = T5TokenizerFast(vocab=vocab, extra_ids=0, model_max_length=512)
    tokenizer.save_pretrained(folder)
    return len(tokenizer)


def _save_t5_encoder(folder: Path, seed: int, vocab_size: int, torch) -> None:
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=vocab_size,
        d_model=HIDDEN,
        d_kv=16,
        d_ff=64,
        num_layers=1,
        num_heads=2,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=16,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
        use_cache=False,
        pad_token_id=0,
        eos_token_id=1,
    )
    T5EncoderModel(config).save_pretrained(folder, safe_serialization=True)


def _save_scheduler(folder: Path) -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000,
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    scheduler.save_pretrained(folder)
