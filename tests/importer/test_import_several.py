"""Hand-written trainer files with several folders import to the intent's `datasets:` list: ai-toolkit entries
written one per resolution (as its users often do) are merged per folder, sd-scripts reg subsets become `is_reg`."""

from __future__ import annotations

from pathlib import Path

import yaml

from fluxgen.importer import import_files, intent_yaml
from fluxgen.importer.write import ordered_keys, plan_of
from helpers import make_images

AITK = """job: extension
config:
  name: my-lora
  process:
    - type: sd_trainer
      training_folder: output
      trigger_word: ohwx
      network: {type: lora, linear: 16, linear_alpha: 16}
      save: {dtype: float16, save_every: 250, max_step_saves_to_keep: 4}
      datasets:
        - folder_path: faces
          caption_ext: txt
          num_repeats: 3
          resolution: [512]
        - folder_path: faces
          caption_ext: txt
          num_repeats: 3
          resolution: [1024]
        - folder_path: class
          caption_ext: txt
          is_reg: true
          resolution: 1024
      train: {batch_size: 1, steps: 1500, lr: 1.0e-4, optimizer: adamw8bit, dtype: bf16}
      model: {name_or_path: black-forest-labs/FLUX.1-dev, is_flux: true, quantize: true}
"""

SD_DATASET = """[general]
caption_extension = ".txt"

[[datasets]]
resolution = 1024
batch_size = 1

  [[datasets.subsets]]
  image_dir = "faces"
  num_repeats = 10
  class_tokens = "ohwx man"

  [[datasets.subsets]]
  image_dir = "class"
  num_repeats = 1
  is_reg = true
  caption_extension = ".caption"
"""


def _folders(root: Path) -> None:
    make_images(root / "faces", 3, size=128, trigger="ohwx")
    make_images(root / "class", 2, size=128, trigger=None, caption="a photo of a man")


def test_ai_toolkit_entries_per_resolution_are_one_folder(tmp_path: Path) -> None:
    _folders(tmp_path)
    (tmp_path / "config.yaml").write_text(AITK, encoding="utf-8")
    imported = import_files([tmp_path / "config.yaml"])
    got = {k: v for k, v in imported.values.items() if k.startswith("datasets.")}
    assert got == {"datasets.0.path": str(tmp_path / "faces"), "datasets.0.repeats": 3,
                   "datasets.0.resolution": [512, 1024], "datasets.0.captions": "captions",
                   "datasets.0.caption_ext": ".txt", "datasets.1.path": str(tmp_path / "class"),
                   "datasets.1.is_reg": True, "datasets.1.repeats": 1, "datasets.1.resolution": [1024],
                   "datasets.1.captions": "captions", "datasets.1.caption_ext": ".txt"}
    assert imported.origins["datasets.1.is_reg"].endswith("config.yaml:21 (config.process.0.datasets.2.is_reg)")
    assert imported.origins["datasets.0.resolution"].endswith("config.yaml:14 (config.process.0.datasets.0.resolution)")
    plan = plan_of(imported, ordered_keys(imported))
    assert plan.values["steps"] == 1500 and plan.values["images"] == 3
    written = yaml.safe_load(intent_yaml(imported))
    assert [(e["path"], e.get("is_reg", False)) for e in written["datasets"]] == [
        (str(tmp_path / "faces"), False), (str(tmp_path / "class"), True)]


def test_sd_scripts_reg_subset_is_a_reg_entry(tmp_path: Path) -> None:
    _folders(tmp_path)
    for caption in (tmp_path / "class").glob("*.txt"):
        caption.rename(caption.with_suffix(".caption"))
    (tmp_path / "dataset.toml").write_text(SD_DATASET, encoding="utf-8")
    imported = import_files([tmp_path / "dataset.toml"])
    assert imported.values["trigger"] == "ohwx man"
    assert (imported.values["datasets.0.repeats"], imported.values["datasets.1.is_reg"],
            imported.values["datasets.1.caption_ext"]) == (10, True, ".caption")
    assert imported.origins["datasets.1.is_reg"].endswith("dataset.toml:16 (datasets.0.subsets.1.is_reg)")
    plan = plan_of(imported, ordered_keys(imported))
    assert plan.values["datasets.1.caption_mode"] == "captions" and plan.values["images"] == 3


def test_class_tokens_of_a_reg_subset_are_listed_as_left_out(tmp_path: Path) -> None:
    _folders(tmp_path)
    text = SD_DATASET.replace('  caption_extension = ".caption"\n', '  class_tokens = "man"\n')
    (tmp_path / "dataset.toml").write_text(text, encoding="utf-8")
    imported = import_files([tmp_path / "dataset.toml"])
    (left,) = [u for u in imported.unmapped if u.value == "man"]
    assert left.where.key == "datasets.0.subsets.1.class_tokens" and "own caption files" in left.why
