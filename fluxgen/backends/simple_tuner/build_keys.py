"""Regenerate `keys.json` from an installed SimpleTuner, so fluxgen's key knowledge follows the pinned release.

Run by hand when the pin moves, with SimpleTuner's own Python (fluxgen itself only reads the JSON):

    <simpletuner-python> fluxgen/backends/simple_tuner/build_keys.py [OUT]

`config.json` keys come from the argument parser SimpleTuner builds for its strict loader (every option, its type,
choices and default, exactly what `parse_args` accepts); the keys its JSON loader translates before parsing come
from its `mapping_to_cli_args` table. Dataset (`multidatabackend.json`) keys are read with `ast` from the string
keys its data-backend code looks up, since SimpleTuner keeps no schema for them. Uses only the standard library
and SimpleTuner.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "keys.json"
# Folders of the SimpleTuner package whose code reads dataset entries.
DATASET_SOURCES = ("helpers/data_backend", "helpers/metadata", "helpers/multiaspect", "helpers/caching",
                   "helpers/image_manipulation", "helpers/data_transforms", "helpers/training/collate.py",
                   "helpers/training/state_tracker.py", "helpers/training/trainer.py",
                   "helpers/training/validation.py", "helpers/training/caption_collate.py")
# Names the data-backend code gives a dataset entry (a dict from multidatabackend.json) or one of its blocks.
DATASET_NAMES = {"backend", "backend_dict", "backend_config", "entry", "cfg", "dataset", "hf_block",
                 "webshart_block", "config", "raw", "raw_config", "dataset_config", "conditioning_config", "data",
                 "video_config", "audio_config", "source", "item", "candidate", "settings", "parquet_config",
                 "parquet", "video", "audio", "conditioning", "dataset_entry", "backend_entry", "backend_cfg"}


def _type_name(action: argparse.Action) -> str:
    kind = action.type
    if action.nargs == "?" and action.const is True:
        return "bool"
    if kind in (int, float, str):
        return kind.__name__
    return getattr(kind, "__name__", "str").lstrip("_")


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def config_options() -> dict[str, Any]:
    from simpletuner.helpers.configuration.cmd_args import get_argument_parser

    parser = get_argument_parser()
    options: dict[str, Any] = {}
    for action in parser._actions:
        longs = [s for s in action.option_strings if s.startswith("--")]
        if not longs or action.dest == "help":
            continue
        name = longs[0][2:]
        options[name] = {
            "dest": action.dest, "type": _type_name(action), "default": _plain(action.default),
            "choices": [_plain(c) for c in action.choices] if action.choices else None,
            "aliases": [s[2:] for s in longs[1:]], "required": bool(action.required),
        }
    return options


def loader_translations() -> dict[str, Any]:
    """Keys the JSON loader handles itself before argparse sees them, and keys it skips as dataset-level."""
    from simpletuner.helpers.configuration import cli_utils
    from simpletuner.helpers.training.reporting import REPORT_TO_CHOICES
    from simpletuner.simpletuner_sdk.server.services.field_registry import field_registry
    from simpletuner.simpletuner_sdk.server.services.field_registry.types import FieldType

    fields = field_registry._fields.values()
    skipped = sorted(f.name for f in fields if f.arg_name is None)
    as_json = sorted({"webhook_config", "deepspeed_config", "distillation_config", "publishing_config",
                      "peft_lora_target_modules"} | {f.name for f in fields if f.field_type == FieldType.TEXT_JSON})
    allow_empty = sorted(f.name for f in fields if f.allow_empty)
    return {"legacy": sorted(cli_utils._LEGACY_ARG_HANDLERS), "skipped": skipped, "json_fields": as_json,
            "allow_empty": allow_empty, "report_to": sorted(REPORT_TO_CHOICES)}


def _dataset_keys(root: Path) -> list[str]:
    keys: set[str] = set()
    files: list[Path] = []
    for rel in DATASET_SOURCES:
        path = root / rel
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            keys.update(_looked_up(node))
    return sorted(k for k in keys if k.isidentifier() and not k.startswith("__"))


def _looked_up(node: ast.AST) -> set[str]:
    """`name.get("k"…)`, `name["k"]`, `name.pop("k"…)`, `"k" in name` for the dataset entry names."""
    def named(expr: ast.AST) -> bool:
        return isinstance(expr, ast.Name) and expr.id in DATASET_NAMES or (
            isinstance(expr, ast.Attribute) and expr.attr in DATASET_NAMES)

    def const(expr: ast.AST) -> str | None:
        return expr.value if isinstance(expr, ast.Constant) and isinstance(expr.value, str) else None

    found: set[str] = set()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        if node.func.attr in ("get", "pop", "setdefault") and named(node.func.value) and const(node.args[0]):
            found.add(const(node.args[0]))
    elif isinstance(node, ast.Subscript) and named(node.value) and const(node.slice):
        found.add(const(node.slice))
    elif isinstance(node, ast.Compare) and const(node.left) and any(isinstance(op, (ast.In, ast.NotIn))
                                                                     for op in node.ops):
        if any(named(c) for c in node.comparators):
            found.add(const(node.left))
    return found


def dataset_facts(root: Path) -> dict[str, Any]:
    from simpletuner.helpers.data_backend.dataset_types import DatasetType

    return {"keys": _dataset_keys(root), "dataset_types": [t.value for t in DatasetType],
            "resolution_types": ["pixel", "area", "pixel_area"],
            "crop_aspects": ["square", "preserve", "random", "closest"],
            "crop_styles": ["random", "corner", "center", "centre", "face"]}


def optimizer_facts(root: Path) -> dict[str, Any]:
    """Every name `optimizer_choices` can hold (some only when bitsandbytes, torchao… are installed) and the
    removed names that raise at start-up, read from optimizer_param.py's dict literals."""
    tree = ast.parse((root / "helpers/training/optimizer_param.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    precision: dict[str, str | None] = {}
    removed: list[str] = []
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"
              and isinstance(node.func.value, ast.Name) and node.args):
            target, value = node.func.value.id, node.args[0]
        if target not in ("optimizer_choices", "deprecated_optimizers") or not isinstance(value, ast.Dict):
            continue
        keys = [k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        if target == "optimizer_choices":
            for key, item in zip(value.keys, value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(item, ast.Dict):
                    names.add(key.value)
                    precision[key.value] = _default_precision(item)
        else:
            removed.extend(keys)
    return {"names": sorted(names), "removed": sorted(removed), "precision": precision}


def _default_precision(entry: ast.Dict) -> str | None:
    """The entry's `"precision"` ("any", "bf16"…): what the optimizer was written for."""
    for key, item in zip(entry.keys, entry.values, strict=True):
        if isinstance(key, ast.Constant) and key.value == "precision" and isinstance(item, ast.Constant):
            return item.value
    return None


def build() -> dict[str, Any]:
    import simpletuner

    root = Path(simpletuner.__file__).resolve().parent
    return {
        "provenance": {"trainer": "SimpleTuner", "package": "simpletuner", "version": metadata.version("simpletuner"),
                       "python": sys.version.split()[0],
                       "generated_by": "fluxgen/backends/simple_tuner/build_keys.py"},
        "options": config_options(),
        "loader": loader_translations(),
        "dataset": dataset_facts(root),
        "optimizers": optimizer_facts(root),
    }


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    out.write_text(json.dumps(build(), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
