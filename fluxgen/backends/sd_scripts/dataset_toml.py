"""Validate an sd-scripts dataset TOML exactly as its voluptuous schema does (unknown keys rejected at every
level, `isinstance` type checks, so `network_multiplier = 1` fails), plus the rules that involve the options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxgen.backends.sd_scripts.args import SdArgs
from fluxgen.backends.sd_scripts.checks import CAPTION_OPTIONS, caches_latents, caches_text_encoder
from fluxgen.knowledge import DatasetKey, sd_scripts_dataset_schema
from fluxgen.validate.report import KIND_SD_DATASET, Finding, Report, describe, did_you_mean

LEVEL_NAMES = {"general": "[general]", "datasets": "[[datasets]]", "subsets": "[[datasets.subsets]]"}
_PY = {"str": str, "bool": bool, "int": int, "float": float, "dict": dict, "list": list}


def validate_sd_dataset(data: Any, source: str = "dataset.toml",
                        args: SdArgs | Mapping[str, Any] | None = None) -> Report:
    """Check a parsed dataset TOML; `args` (the script's options) enables the rules that need both."""
    report = Report(source, KIND_SD_DATASET)
    if not isinstance(data, dict):
        report.add("error", "(document)", "a dataset config is a table with [general] and [[datasets]]", "",
                   "sd-dataset-structure")
        return report
    for key in data:
        if key not in ("general", "datasets"):
            report.add("error", str(key), f"extra keys not allowed: only [general] and [[datasets]] may be at the "
                       f"top{did_you_mean(str(key), ['general', 'datasets'])}", "move it into [general] or a "
                       "dataset", "sd-dataset-unknown-key")
    general = data.get("general", {})
    if not isinstance(general, dict):
        report.add("error", "general", "must be a table", "write [general]", "sd-dataset-structure")
        general = {}
    _level(report, general, "general", "general")
    datasets = data.get("datasets")
    if datasets is not None and not isinstance(datasets, list):
        report.add("error", "datasets", f"expected a list of [[datasets]] tables, got {describe(datasets)}",
                   "write [[datasets]] (two brackets) for each dataset", "sd-dataset-structure")
        datasets = []
    elif not datasets:
        report.add("error", "datasets", "no [[datasets]]: there is nothing to train on, and sd-scripts stops at run "
                   "time with 'No data found'", "add a [[datasets]] with a [[datasets.subsets]] holding image_dir",
                   "sd-dataset-no-images")
        datasets = []
    for i, ds in enumerate(datasets):
        _dataset(report, ds, f"datasets[{i}]")
    _no_images(report, datasets)
    resolved = _as_args(args)
    report.extend(dataset_rules(data, resolved))
    if resolved is not None:
        report.extend(cross_check(resolved, data))
    return report


def _as_args(args: SdArgs | Mapping[str, Any] | None) -> SdArgs | None:
    if args is None or isinstance(args, SdArgs):
        return args
    return SdArgs(given=dict(args), origin="toml")


def _dataset(report: Report, ds: Any, path: str) -> None:
    if not isinstance(ds, dict):
        report.add("error", path, "each [[datasets]] entry must be a table", "", "sd-dataset-structure")
        return
    _level(report, ds, "datasets", path)
    subsets = ds.get("subsets")
    if not isinstance(subsets, list) or not subsets:
        return
    styles = set()
    for j, sub in enumerate(subsets):
        where = f"{path}.subsets[{j}]"
        if not isinstance(sub, dict):
            report.add("error", where, "each subset must be a table", "", "sd-dataset-structure")
            continue
        _level(report, sub, "subsets", where)
        styles.add("fine_tune" if "metadata_file" in sub else "dreambooth")
        if "metadata_file" not in sub and "image_dir" not in sub:
            report.add("error", f"{where}.image_dir", "required key not provided", "add image_dir = '/path/to/images'",
                       "sd-dataset-required")
    if len(styles) > 1:
        report.add("error", path, "DreamBooth subsets (image_dir) and fine-tuning subsets (metadata_file) cannot be "
                   "mixed in one dataset", "split them into separate [[datasets]]", "sd-dataset-mixed")


def _no_images(report: Report, datasets: list[Any]) -> None:
    """The schema accepts a dataset without subsets; it then adds no images, and when none has any, sd-scripts
    ends at run time with 'No data found' without training (and exit status 0)."""
    empty = [i for i, ds in enumerate(datasets) if isinstance(ds, dict) and not ds.get("subsets")]
    everything = bool(datasets) and len(empty) == len(datasets)
    for i in empty:
        report.add("error" if everything else "warning", f"datasets[{i}].subsets",
                   "no [[datasets.subsets]]: this dataset adds no images" + (
                       "; with no images at all sd-scripts stops at run time with 'No data found' and trains "
                       "nothing" if everything else ""), "add [[datasets.subsets]] with image_dir",
                   "sd-dataset-no-images")


def _level(report: Report, values: dict[str, Any], level: str, path: str) -> None:
    schema = sd_scripts_dataset_schema()
    allowed = schema.level(level)
    for key, value in values.items():
        where = f"{path}.{key}"
        if key == "subsets" and level == "datasets":
            continue
        spec = allowed.get(key)
        if spec is None:
            report.add("error", where, _not_allowed(key, level, schema.keys.get(key), allowed),
                       "sd-scripts stops with 'extra keys not allowed'", "sd-dataset-unknown-key")
            continue
        if key == "conditioning_data_dir":
            report.add("warning", where, "accepted only when training with --masked_loss", "", "sd-dataset-masked")
        problem = check_dataset_type(value, spec)
        if problem:
            report.add(problem[0], where, problem[1], problem[2], "sd-dataset-type")


def _not_allowed(key: str, level: str, spec: DatasetKey | None, allowed: Mapping[str, DatasetKey]) -> str:
    if spec is not None:
        places = " and ".join(LEVEL_NAMES[lv] for lv in spec.levels)
        return f"not allowed in {LEVEL_NAMES[level]}; it belongs in {places}"
    return f"unknown key{did_you_mean(key, allowed)}"


def check_dataset_type(value: Any, spec: DatasetKey) -> tuple[str, str, str] | None:
    """The voluptuous check: plain isinstance, [a, b] for exact two-item sequences; bools pass as ints."""
    for kind in spec.types:
        if kind.startswith("["):
            items = kind.strip("[]").split(",")
            if isinstance(value, list) and len(value) == len(items) and all(
                    _is(v, t) for v, t in zip(value, items, strict=True)):
                return None
        elif _is(value, kind):
            if isinstance(value, bool) and kind != "bool":
                return ("warning", f"is {describe(value)}; voluptuous accepts it as {int(value)} because bool is an "
                        "int in Python", "write a number")
            return None
    want = " or ".join(spec.types)
    return ("error", f"expected {want}, got {describe(value)}", _type_fix(value, spec.types))


def _is(value: Any, kind: str) -> bool:
    return isinstance(value, _PY[kind])


def _type_fix(value: Any, types: tuple[str, ...]) -> str:
    if types == ("float",) and isinstance(value, int) and not isinstance(value, bool):
        return f"write {value}.0"
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return f"write {value.strip()} without quotes"
    if "[int,int]" in types:
        return "write 1024 or [1024, 768]"
    if "[float,float]" in types:
        return "write two floats, e.g. [0.3, 0.7]"
    return f"write {types[0]} value"


def _subsets(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(path, dataset, subset) for every well-formed subset."""
    out = []
    datasets = data.get("datasets")
    for i, ds in enumerate(datasets if isinstance(datasets, list) else []):
        subs = ds.get("subsets") if isinstance(ds, dict) else None
        for j, sub in enumerate(subs if isinstance(subs, list) else []):
            if isinstance(sub, dict):
                out.append((f"datasets[{i}].subsets[{j}]", ds, sub))
    return out


def resolve(key: str, general: dict[str, Any], ds: dict[str, Any], sub: dict[str, Any] | None,
            args: SdArgs | None) -> tuple[Any, str | None]:
    """Value and where it came from: subset, dataset, general, then the script's option (sd-scripts' order)."""
    for scope, name in ((sub or {}, "subset"), (ds, "dataset"), (general, "general")):
        if scope.get(key) is not None:
            return scope[key], name
    if args is not None and args.has(key):
        return args.get(key), "option"
    return None, None


def _bucket_range(i: int, general: dict[str, Any], ds: dict[str, Any], args: SdArgs | None) -> list[Finding]:
    """sd-scripts asserts min_bucket_reso <= resolution <= max_bucket_reso (defaults 256 and 1024)."""
    res = resolve("resolution", general, ds, None, args)[0]
    sides = [res] if isinstance(res, int) else [r for r in res if isinstance(r, int)] if isinstance(res, list) else []
    low = resolve("min_bucket_reso", general, ds, None, args)[0]
    high = resolve("max_bucket_reso", general, ds, None, args)[0]
    low = 256 if low is None else low
    high = 1024 if high is None else high
    out = []
    if sides and isinstance(low, int) and low > min(sides):
        out.append(Finding("error", f"datasets[{i}].min_bucket_reso", f"{low} is above the resolution {min(sides)}; "
                           "sd-scripts stops at run time with an AssertionError when it builds the buckets",
                           f"set min_bucket_reso = {min(sides)} or lower", "sd-bucket-range"))
    if sides and isinstance(high, int) and high < max(sides):
        out.append(Finding("error", f"datasets[{i}].max_bucket_reso", f"{high} is below the resolution {max(sides)}; "
                           "sd-scripts stops at run time with an AssertionError when it builds the buckets",
                           f"set max_bucket_reso = {max(sides)} or higher", "sd-bucket-range"))
    return out


def dataset_rules(data: dict[str, Any], args: SdArgs | None) -> list[Finding]:
    """Rules on resolved values: resolution set somewhere, caption extension, FLUX bucket steps."""
    general = data.get("general") if isinstance(data.get("general"), dict) else {}
    out: list[Finding] = []
    datasets = data.get("datasets") if isinstance(data.get("datasets"), list) else []
    for i, ds in enumerate(d for d in datasets if isinstance(d, dict)):
        if resolve("resolution", general, ds, None, args)[0] is None:
            out.append(Finding("warning", f"datasets[{i}].resolution", "not set here or in [general]; sd-scripts "
                               "then needs --resolution", "add resolution = 1024", "sd-dataset-resolution"))
        bucket, _ = resolve("enable_bucket", general, ds, None, args)
        steps, _ = resolve("bucket_reso_steps", general, ds, None, args)
        if bucket and isinstance(steps, int) and steps % 64:
            out.append(Finding("error", f"datasets[{i}].bucket_reso_steps", f"{steps} is not a multiple of 64, "
                               "which FLUX training requires with buckets: sd-scripts stops at run time with an "
                               "AssertionError", "use 64", "sd-bucket-steps"))
        if bucket:
            out += _bucket_range(i, general, ds, args)
    for path, ds, sub in _subsets(data):
        if "image_dir" in sub and resolve("caption_extension", general, ds, sub, args)[0] is None:
            out.append(Finding("warning", f"{path}.caption_extension", "not set: captions are read from "
                               "'.caption' files (the --caption_extension default), not '.txt'",
                               "add caption_extension = '.txt' in [general]", "sd-dataset-caption-ext"))
    return out


def cross_check(args: SdArgs, data: Any) -> list[Finding]:
    """Rules that need the options and the dataset together (sd-scripts.md §10)."""
    if not isinstance(data, dict):
        return []
    general = data.get("general") if isinstance(data.get("general"), dict) else {}
    out: list[Finding] = []
    for path, ds, sub in _subsets(data):
        for key in CAPTION_OPTIONS if caches_text_encoder(args) else ():
            value, scope = resolve(key, general, ds, sub, None)
            if value:
                out.append(Finding("error", _where(path, scope, key), "cannot be used while caching text encoder "
                                   "outputs; sd-scripts stops with an AssertionError",
                                   "remove it, or drop --cache_text_encoder_outputs", "sd-te-cache-captions"))
        for key in ("color_aug", "random_crop") if caches_latents(args) else ():
            value, scope = resolve(key, general, ds, sub, None)
            if value:
                out.append(Finding("error", _where(path, scope, key), "cannot be used while caching latents; "
                                   "sd-scripts stops with an AssertionError", "remove it, or stop caching latents",
                                   "sd-latent-cache-aug"))
    return _dedupe(out)


def _where(subset_path: str, scope: str | None, key: str) -> str:
    if scope == "general":
        return f"general.{key}"
    if scope == "dataset":
        return f"{subset_path.rsplit('.subsets', 1)[0]}.{key}"
    return f"{subset_path}.{key}"


def _dedupe(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))
