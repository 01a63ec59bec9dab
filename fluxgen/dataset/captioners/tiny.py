"""Tiny random captioners and segmenters (hidden sizes 16–32, one layer), built offline from configs.

They load through the same `from_pretrained(..., local_files_only=True)` path as real checkpoints, so the tests
and the benchmark run the real code on a CPU in milliseconds. Their tokenizers are byte-level BPE over printable
ASCII only, so whatever a random model says is text that post-processing can work on.
"""

from __future__ import annotations

import json
from pathlib import Path

from fluxgen.tiny import _byte_symbols, _no_progress_bars

SIZE = 32  # the pictures the tiny image processors produce


def _printable() -> list[str]:
    symbols = _byte_symbols()
    return [symbols[b] for b in range(32, 127)]  # space is 'Ġ' in the byte-level alphabet


def _bpe_files(folder: Path, specials: list[str]) -> tuple[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {tok: i for i, tok in enumerate(specials + _printable())}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return str(folder / "vocab.json"), str(folder / "merges.txt")


def build_florence2(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        BartConfig,
        BartTokenizer,
        CLIPImageProcessor,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
    )
    from transformers.models.florence2.configuration_florence2 import Florence2VisionConfig

    vocab, merges = _bpe_files(folder / ".vocab", ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<image>"])
    tokenizer = BartTokenizer(vocab=vocab, merges=merges, extra_special_tokens={"image_token": "<image>"})
    # Four stages halve 32 px to 1×1 cells... at 64 px: 2×2 cells + 1 pooled token = 5 image tokens.
    images = CLIPImageProcessor(size={"height": 64, "width": 64}, crop_size={"height": 64, "width": 64},
                                do_center_crop=False, image_seq_length=5)
    text = BartConfig(vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1,
                      encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                      max_position_embeddings=256, bos_token_id=0, pad_token_id=1, eos_token_id=2,
                      decoder_start_token_id=2, forced_eos_token_id=2)
    vision = Florence2VisionConfig(depths=[1, 1, 1, 1], embed_dim=[16, 16, 16, 16], num_heads=[1, 1, 1, 1],
                                   num_groups=[1, 1, 1, 1], window_size=2, projection_dim=16, drop_path_rate=0.0)
    config = Florence2Config(text_config=text.to_dict(), vision_config=vision.to_dict(),
                             image_token_id=tokenizer.image_token_id)
    torch.manual_seed(seed)
    _save(folder, Florence2ForConditionalGeneration(config), Florence2Processor(image_processor=images,
                                                                                 tokenizer=tokenizer))
    return folder


def build_blip2(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        Blip2QFormerConfig,
        Blip2VisionConfig,
        BlipImageProcessor,
        GPT2Tokenizer,
        OPTConfig,
    )

    vocab, merges = _bpe_files(folder / ".vocab", ["</s>", "<pad>", "<image>"])
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges, bos_token="</s>", eos_token="</s>", unk_token="</s>",
                              pad_token="<pad>", extra_special_tokens={"image_token": "<image>"})
    queries = 4
    vision = Blip2VisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                               image_size=SIZE, patch_size=8)
    qformer = Blip2QFormerConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                 encoder_hidden_size=16, vocab_size=len(tokenizer))
    text = OPTConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     ffn_dim=32, word_embed_proj_dim=16, max_position_embeddings=128, bos_token_id=0,
                     eos_token_id=0, pad_token_id=1)
    config = Blip2Config(vision_config=vision.to_dict(), qformer_config=qformer.to_dict(), text_config=text.to_dict(),
                         num_query_tokens=queries, image_token_index=tokenizer.image_token_id)
    torch.manual_seed(seed)
    processor = Blip2Processor(image_processor=BlipImageProcessor(size={"height": SIZE, "width": SIZE}),
                               tokenizer=tokenizer, num_query_tokens=queries)
    _save(folder, Blip2ForConditionalGeneration(config), processor)
    return folder


QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]


def build_qwen25_vl(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    vocab, merges = _bpe_files(folder / ".vocab", QWEN_SPECIALS)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                               unk_token="<|endoftext|>", extra_special_tokens={"image_token": "<|image_pad|>"})
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in QWEN_SPECIALS}
    images = Qwen2VLImageProcessorPil(min_pixels=28 * 28 * 4, max_pixels=56 * 56, patch_size=14, merge_size=2,
                                      temporal_patch_size=2)
    config = Qwen2_5_VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "max_position_embeddings": 512, "bos_token_id": ids["<|endoftext|>"],
                     "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"],
                     "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}},
        vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "patch_size": 14,
                       "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 56,
                       "out_hidden_size": 32, "fullatt_block_indexes": [0]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    with _no_progress_bars():
        model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    images.save_pretrained(folder)
    return folder


def build_clipseg(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPSegConfig,
        CLIPSegForImageSegmentation,
        CLIPSegProcessor,
        CLIPTokenizer,
    )

    from fluxgen.tiny import _save_clip_tokenizer

    _save_clip_tokenizer(folder / ".vocab")
    tokenizer = CLIPTokenizer.from_pretrained(folder / ".vocab", local_files_only=True)
    vocab_size = len(tokenizer)
    config = CLIPSegConfig(
        text_config={"vocab_size": vocab_size, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "max_position_embeddings": 77, "bos_token_id": vocab_size - 2,
                     "eos_token_id": vocab_size - 1, "pad_token_id": vocab_size - 1},
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 2,
                       "image_size": SIZE, "patch_size": 8},
        projection_dim=16, reduce_dim=16, extract_layers=[0, 1, 2], decoder_num_attention_heads=2,
        decoder_intermediate_size=32)
    torch.manual_seed(seed)
    images = CLIPImageProcessor(size={"shortest_edge": SIZE}, crop_size={"height": SIZE, "width": SIZE})
    _save(folder, CLIPSegForImageSegmentation(config), CLIPSegProcessor(image_processor=images, tokenizer=tokenizer))
    return folder


def _save(folder: Path, model, processor) -> None:
    with _no_progress_bars():
        model.save_pretrained(folder)
    processor.save_pretrained(folder)


BUILDERS = {"florence2": build_florence2, "blip2": build_blip2, "qwen2.5-vl": build_qwen25_vl,
            "clipseg": build_clipseg}


def build_llava(folder: Path, seed: int = 0) -> Path:
    """JoyCaption's architecture in miniature: a CLIP vision tower, a projector and a Llama decoder."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    vocab, merges = _bpe_files(folder / ".vocab", ["<unk>", "<s>", "</s>", "<pad>", "<image>"])
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    backend = Tokenizer(models.BPE.from_file(vocab, merges, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>",
                                        eos_token="</s>", pad_token="<pad>",
                                        extra_special_tokens={"image_token": "<image>"})
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in ("<s>", "</s>", "<pad>", "<image>")}
    config = LlavaConfig(
        vision_config={"model_type": "clip_vision_model", "hidden_size": 16, "intermediate_size": 32,
                       "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": SIZE, "patch_size": 8},
        text_config={"model_type": "llama", "vocab_size": len(tokenizer), "hidden_size": 32,
                     "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "num_key_value_heads": 1, "max_position_embeddings": 256, "bos_token_id": ids["<s>"],
                     "eos_token_id": ids["</s>"], "pad_token_id": ids["<pad>"]},
        image_token_index=ids["<image>"], vision_feature_select_strategy="default", vision_feature_layer=-1)
    processor = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": SIZE},
                                                                  crop_size={"height": SIZE, "width": SIZE}),
                               tokenizer=tokenizer, patch_size=8, vision_feature_select_strategy="default",
                               num_additional_image_tokens=1)
    torch.manual_seed(seed)
    _save(folder, LlavaForConditionalGeneration(config), processor)
    return folder


BUILDERS["joycaption"] = build_llava


def build_qwen3_vl(folder: Path, seed: int = 0) -> Path:
    """Qwen3-VL (ai-toolkit's captioner) in miniature, where the installed transformers has the class."""
    import torch
    from transformers import Qwen2Tokenizer, Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    vocab, merges = _bpe_files(folder / ".vocab", QWEN_SPECIALS)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                               unk_token="<|endoftext|>", extra_special_tokens={"image_token": "<|image_pad|>"})
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in QWEN_SPECIALS}
    images = Qwen2VLImageProcessorPil(min_pixels=32 * 32 * 4, max_pixels=64 * 64, patch_size=16, merge_size=2,
                                      temporal_patch_size=2)
    config = Qwen3VLConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "head_dim": 16,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "max_position_embeddings": 512, "bos_token_id": ids["<|endoftext|>"],
                     "eos_token_id": ids["<|im_end|>"], "pad_token_id": ids["<|endoftext|>"],
                     "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3],
                                         "mrope_interleaved": True}},
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "patch_size": 16,
                       "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": 32,
                       "num_position_embeddings": 16, "deepstack_visual_indexes": [0]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config)
    with _no_progress_bars():
        model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    images.save_pretrained(folder)
    return folder


BUILDERS["qwen3-vl"] = build_qwen3_vl
