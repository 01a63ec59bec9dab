"""Images per second of each captioner (and the CLIPSeg subject masks), against decoding the same pictures.

Usage: python benchmarks/bench_caption.py [--n 16] [--batch 4] [--tokens 16] [--real]

Without --real: tiny random models built from configs (what the tests use), on this machine's CPU; the figure
measures fluxgen's batching, pre- and post-processing and the models' fixed costs, not caption quality. With
--real (a GPU and the checkpoints in the Hugging Face cache): the default checkpoint of each captioner.
The baseline, measured in the same run, is decoding the pictures upright in RGB (what every captioner does first).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CAPTIONERS = ("florence2", "blip2", "qwen2.5-vl", "qwen3-vl", "joycaption")


def make_pictures(folder: Path, n: int, size: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        coarse = (rng.random((6, 6, 3)) * 255).astype("uint8")
        path = folder / f"img_{i:03d}.jpg"
        Image.fromarray(coarse).resize((size, size * 3 // 4), Image.Resampling.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _tiny_wd14(folder: Path) -> Path:
    from fluxgen.dataset.captioners.wd14 import build_tiny_wd14

    return build_tiny_wd14(folder)


def rate(fn, pictures: list, batch: int) -> float:
    """Images per second over all pictures, after one warm-up batch (first-call costs are not per image)."""
    fn(pictures[:batch])
    began = time.perf_counter()
    for start in range(0, len(pictures), batch):
        fn(pictures[start:start + batch])
    return len(pictures) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=16, help="max new tokens per caption")
    parser.add_argument("--size", type=int, default=512, help="picture width in pixels")
    parser.add_argument("--real", action="store_true", help="default checkpoints from the HF cache (GPU)")
    args = parser.parse_args()

    from fluxgen.dataset.caption_pass import open_picture
    from fluxgen.dataset.captioners import load_captioner, load_segmenter
    from fluxgen.dataset.captioners.tiny import BUILDERS

    with tempfile.TemporaryDirectory() as tmp:
        paths = make_pictures(Path(tmp) / "pictures", args.n, args.size)
        pictures = [open_picture(p) for p in paths]
        decode = rate(lambda batch: [open_picture(p) for p in batch], paths, args.batch)
        print(f"{args.n} pictures of {args.size} px, batch {args.batch}, {args.tokens} new tokens, "
              f"{'real checkpoints' if args.real else 'tiny random models, CPU'}")
        print(f"{'what':<24} {'images/s':>10} {'× decode time':>14}")
        print(f"{'decode (baseline)':<24} {decode:>10.1f} {1.0:>14.1f}")
        builders = {**BUILDERS, "wd14": _tiny_wd14}
        for name in (*CAPTIONERS, "wd14", "clipseg"):
            if name == "wd14" and not _has("onnxruntime"):
                print(f"{'wd14':<24} {'skipped: pip install fluxgen[wd14]':>25}")
                continue
            model = None if args.real else str(builders[name](Path(tmp) / name))
            device = "auto" if args.real else "cpu"
            if name == "clipseg":
                seg = load_segmenter(name, model=model, device=device)
                speed = rate(seg.masks, pictures, args.batch)
            else:
                cap = load_captioner(name, model=model, device=device, max_new_tokens=args.tokens)
                speed = rate(cap.caption, pictures, args.batch)
            print(f"{name:<24} {speed:>10.2f} {decode / speed:>14.1f}")


if __name__ == "__main__":
    main()
