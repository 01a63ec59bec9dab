"""The WD14 tagger (SmilingWolf's ONNX models): booru tags for anime and tag-style datasets (seed:004).

The model reads square pictures padded with white, in BGR order, 0–255, NHWC; it returns one probability per row
of `selected_tags.csv` (category 9 = rating, 4 = character, 0 = general). Tags over the threshold are written
best first, characters before general tags, underscores as spaces, ratings left out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.dataset.captioners.base import Loaded, revision_of
from fluxgen.errors import UserError

FILES = ("model.onnx", "selected_tags.csv")
RATING, CHARACTER = "9", "4"


@dataclass
class Wd14Tagger(Loaded):
    session: Any
    tags: list[tuple[str, str]]  # (name, category) per output
    size: int
    threshold: float
    device: str = "cpu"

    def caption(self, images: list[Any]) -> list[str]:
        import numpy as np

        batch = np.stack([self._prepare(im) for im in images])
        name = self.session.get_inputs()[0].name
        probs = self.session.run(None, {name: batch})[0]
        return [self._tags(row) for row in probs]

    def _prepare(self, image: Any):
        import numpy as np
        from PIL import Image

        side = max(image.size)
        square = Image.new("RGB", (side, side), (255, 255, 255))
        square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
        square = square.resize((self.size, self.size), Image.Resampling.BICUBIC)
        return np.asarray(square, dtype=np.float32)[:, :, ::-1].copy()  # RGB → BGR

    def _tags(self, row) -> str:
        found = [(float(p), tag, cat) for p, (tag, cat) in zip(row, self.tags, strict=True)
                 if cat != RATING and p >= self.threshold]
        found.sort(key=lambda item: (item[2] != CHARACTER, -item[0]))
        return ", ".join(tag.replace("_", " ") for _, tag, _ in found)


def load_wd14(model_id: str, *, device: str = "auto", prompt: str | None = None,
              threshold: float = 0.35, max_new_tokens: int | None = None) -> Wd14Tagger:
    """A local folder with model.onnx and selected_tags.csv, or a hub repo already in the cache."""
    try:
        import onnxruntime
    except ImportError:
        raise UserError("wd14 needs onnxruntime; pip install 'fluxgen[caption,wd14]'") from None
    model, tags_file = (_local(Path(model_id).expanduser()) if Path(model_id).expanduser().is_dir()
                        else _cached(model_id))
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device in ("auto", "cuda") else \
        ["CPUExecutionProvider"]
    available = [p for p in providers if p in onnxruntime.get_available_providers()]
    session = onnxruntime.InferenceSession(str(model), providers=available)
    shape = session.get_inputs()[0].shape
    size = shape[1] if isinstance(shape[1], int) else 448
    tags = _read_tags(tags_file)
    outputs = session.get_outputs()[0].shape[-1]
    if isinstance(outputs, int) and outputs != len(tags):
        raise UserError(f"{tags_file}: {len(tags)} tags but the model gives {outputs} scores; use the csv that "
                        "came with model.onnx")
    where = "cuda" if "CUDAExecutionProvider" in session.get_providers() else "cpu"
    return Wd14Tagger("wd14", model_id, revision_of(model_id), None, session, tags, size, threshold, where)


def _local(folder: Path) -> tuple[Path, Path]:
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise UserError(f"{folder}: no {' or '.join(missing)}; a WD14 tagger folder holds model.onnx and "
                        "selected_tags.csv")
    return folder / FILES[0], folder / FILES[1]


def _cached(repo: str) -> tuple[Path, Path]:
    from huggingface_hub import try_to_load_from_cache

    found = [try_to_load_from_cache(repo, name) for name in FILES]
    if not all(isinstance(f, str) for f in found):
        raise UserError(f"wd14 '{repo}' is not in the Hugging Face cache; download it where there is network "
                        f"(`hf download {repo} model.onnx selected_tags.csv`), or pass --model /path/to/folder")
    return Path(found[0]), Path(found[1])


def _read_tags(path: Path) -> list[tuple[str, str]]:
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    if not rows or "name" not in rows[0] or "category" not in rows[0]:
        raise UserError(f"{path}: not a WD14 tag list (columns tag_id, name, category, count)")
    return [(row["name"], row["category"]) for row in rows]


def build_tiny_wd14(folder: Path, size: int = 32) -> Path:
    """An ONNX tagger small enough to write by hand: mean colour → three tags (red, green, blue) plus a rating.

    For tests and the benchmark; it has the real models' interface (NHWC BGR input, one sigmoid per tag)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    # BGR channel means / 255 → logits: blue, green, red channels vote for their tag; 'general' is the rating.
    weights = np.array([[0.0, 0.0, 12.0, 0.0], [0.0, 12.0, 0.0, 0.0], [12.0, 0.0, 0.0, 0.0]], dtype=np.float32) / 255
    bias = np.array([-6.0, -6.0, -6.0, 4.0], dtype=np.float32)
    nodes = [helper.make_node("ReduceMean", ["input", "axes"], ["mean"], keepdims=0),
             helper.make_node("MatMul", ["mean", "w"], ["logits"]),
             helper.make_node("Add", ["logits", "b"], ["biased"]),
             helper.make_node("Sigmoid", ["biased"], ["output"])]
    graph = helper.make_graph(
        nodes, "tiny_wd14",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", size, size, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes"), numpy_helper.from_array(weights, "w"),
         numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, folder / "model.onnx")
    (folder / "selected_tags.csv").write_text(
        "tag_id,name,category,count\n1,red_theme,0,10\n2,green_theme,0,10\n3,blue_theme,0,10\n4,general,9,10\n",
        encoding="utf-8")
    return folder
