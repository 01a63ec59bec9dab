"""Checks of SimpleTuner files, hand-written or rendered: `config.json` as its strict loader reads it, and
`multidatabackend.json` as its data-backend classes validate it.

SimpleTuner's JSON loader turns each key into `--key=value` (st:configuration/cli_utils) and hands the list to an
argparse parser: an unknown key stops it ("unrecognized arguments"), a unique prefix of an option is accepted as that
option, a value is converted by the option's type and checked against its choices. `options.py` replays exactly that
with the parser's options from `keys.json`; the checks SimpleTuner makes after parsing (st:configuration/cmd_args)
are listed in `_after_parse`, each named as SimpleTuner's own start-up check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fluxgen.backends.simple_tuner.datasets import check_datasets
from fluxgen.backends.simple_tuner.keys import KEYS
from fluxgen.backends.simple_tuner.options import Token, resolve_tokens, tokens_of
from fluxgen.validate.report import Report, did_you_mean

KIND_CONFIG = "simpletuner-config"
KIND_DATASETS = "simpletuner-datasets"
KIND_PROMPTS = "simpletuner-prompt-library"


def kind_of(data: Any) -> str | None:
    """A JSON object with SimpleTuner keys is a config; a list of entries with `id`s is a dataset list."""
    if isinstance(data, list) and data and all(isinstance(e, dict) and "id" in e for e in data):
        return KIND_DATASETS
    if isinstance(data, dict) and ("model_family" in data or "data_backend_config" in data
                                   or "--model_family" in data):
        return KIND_CONFIG
    if isinstance(data, dict) and data and all(isinstance(v, str) for v in data.values()):
        return KIND_PROMPTS
    return None


def _load(path: Any, text: str) -> Any:
    """config.toml is read by SimpleTuner's TOML loader into the same mapping as config.json (st:configuration/
    toml_file); everything else here is JSON."""
    import tomllib

    return tomllib.loads(text) if str(path).lower().endswith(".toml") else json.loads(text)


def recognizes(path: Any, text: str) -> bool:
    """`fluxgen validate` routes a file here when it is JSON shaped like a SimpleTuner config or dataset list, or a
    TOML config with SimpleTuner's options."""
    import tomllib

    if not str(path).lower().endswith((".json", ".toml")):
        return False
    try:
        data = _load(path, text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, RecursionError):  # the owner reports it
        return False
    kind = kind_of(data)
    if str(path).lower().endswith(".toml"):
        return kind == KIND_CONFIG
    return kind in (KIND_CONFIG, KIND_DATASETS) or (kind == KIND_PROMPTS and "prompt" in Path(str(path)).name)


def validate_text(text: str, source: str) -> Report:
    """Every finding about one SimpleTuner JSON file; the kind is read from its shape."""
    import tomllib

    try:
        data = _load(source, text)
    except json.JSONDecodeError as exc:
        report = Report(source, KIND_CONFIG, owner="simpletuner")
        report.add("error", f"line {exc.lineno}", f"not valid JSON: {exc.msg} (column {exc.colno})",
                   "SimpleTuner's loader stops on it")
        return report
    except tomllib.TOMLDecodeError as exc:
        report = Report(source, KIND_CONFIG, owner="simpletuner")
        report.add("error", "(top)", f"not valid TOML: {exc}", "SimpleTuner's loader stops on it")
        return report
    kind = kind_of(data) or KIND_CONFIG
    report = Report(source, kind, owner="simpletuner")
    if kind == KIND_DATASETS:
        report.extend(check_datasets(data))
    elif kind == KIND_CONFIG:
        report.extend(check_config(data))
    return report


def check_config(data: Any) -> list[Any]:
    from fluxgen.validate.report import Finding

    if not isinstance(data, dict):
        return [Finding("error", "(top)", "a SimpleTuner config.json is a JSON object of options",
                        "write {\"model_family\": \"flux\", …}")]
    tokens, findings = tokens_of(data)
    values, more = resolve_tokens(tokens)
    findings += more
    findings += _required(values, tokens)
    findings += _after_parse(values)
    return findings


def _required(values: dict[str, Any], tokens: list[Token]) -> list[Any]:
    from fluxgen.validate.report import Finding

    missing = [name for name, opt in KEYS["options"].items() if opt["required"] and opt["dest"] not in values]
    return [Finding("error", name, "required: SimpleTuner's parser stops without it",
                    f"add \"{name}\"", "required") for name in missing]


def _after_parse(values: dict[str, Any]) -> list[Any]:
    """SimpleTuner's checks after parsing (st:configuration/cmd_args), as they raise at start-up."""
    from fluxgen.validate.report import Finding

    found: list[Finding] = []

    def add(path: str, message: str, fix: str) -> None:
        found.append(Finding("error", path, message + " (SimpleTuner's start-up check)", fix, "after-parse"))

    opt = values.get("optimizer")
    optimizers = KEYS["optimizers"]
    if isinstance(opt, str) and opt in optimizers["removed"]:
        add("optimizer", f"'{opt}' was removed from SimpleTuner", "use optimi-adamw or adamw_bf16")
    elif isinstance(opt, str) and opt not in optimizers["names"]:
        add("optimizer", f"unknown optimizer '{opt}'{did_you_mean(opt, optimizers['names'])}",
            "one of: " + ", ".join(n for n in optimizers["names"] if not n.startswith(("bnb-", "ao-", "sdnq-"))))
    steps, epochs = values.get("max_train_steps"), values.get("num_train_epochs", KEYS["options"]
                                                               ["num_train_epochs"]["default"])
    if isinstance(steps, int) and steps > 0 and isinstance(epochs, int) and epochs > 0:
        add("num_train_epochs", "max_train_steps and num_train_epochs are both set", "set num_train_epochs to 0")
    found += _image_sizes(values, add)
    return found


def _image_sizes(values: dict[str, Any], add: Any) -> list[Any]:
    largest, target = values.get("maximum_image_size"), values.get("target_downsample_size")
    rtype = values.get("resolution_type", KEYS["options"]["resolution_type"]["default"])
    if largest is not None and not target:
        add("target_downsample_size", "maximum_image_size needs target_downsample_size", "add target_downsample_size")
    for key, value in (("maximum_image_size", largest), ("target_downsample_size", target)):
        if value is None or isinstance(value, str):
            continue
        if rtype == "area" and value > 5:
            add(key, f"{value} is in megapixels with resolution_type area and must be at most 5",
                "give megapixels, e.g. 1.0")
        elif rtype == "pixel" and value < 512:
            add(key, f"{value} is in pixels with resolution_type pixel and must be at least 512",
                "give pixels, e.g. 1024")
    return []


def check_rendered(files: dict[str, str]) -> None:
    """A file fluxgen renders must validate clean (no errors, no warnings): a finding is a fluxgen bug."""
    from fluxgen.errors import RenderMismatch

    for name, text in files.items():
        if not name.endswith(".json"):
            continue
        report = validate_text(text, name)
        bad = report.errors + report.warnings
        if bad:
            raise RenderMismatch(f"{name}: rendered file fails validation: {bad[0].line(name)}")
