"""ai-toolkit rules that span keys or sections (reference ai-toolkit.md §0, §2.2-§2.3, §4): each rule is a
function from one process to findings, so each can be tested on its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fluxgen.backends.ai_toolkit.yaml_loader import LooseFloat
from fluxgen.knowledge import AitkSchema
from fluxgen.validate.report import Finding

Ctx = dict[str, Any]  # proc, path, config, schema, flux


def check_config(data: dict[str, Any]) -> list[Finding]:
    """Every job reads config.name (BaseJob requires it; run.py's -n NAME only fills the [name] tags)."""
    config = data.get("config") or {}
    if not isinstance(config, dict) or config.get("name"):
        return []
    if config.get("name") is None:
        return [Finding("error", "config.name", "missing; ai-toolkit stops without a job name, even when run.py is "
                        "given -n NAME (that only fills the [name] tags)", "add 'name: my_lora' under config",
                        "aitk-name")]
    return [Finding("warning", "config.name", "empty: the run folder is training_folder itself, with no name",
                    "add 'name: my_lora' under config", "aitk-name")]


def check_process(proc: dict[str, Any], path: str, config: dict[str, Any], schema: AitkSchema,
                  job_keys: frozenset[str] = frozenset({"training_folder"})) -> list[Finding]:
    """Every cross-section rule for one LoRA trainer process; `job_keys` are the config keys its job reads."""
    ctx: Ctx = {"proc": proc, "path": path, "config": config, "schema": schema, "flux": flux_state(proc, schema),
                "job_keys": job_keys}
    findings: list[Finding] = []
    for rule in RULES:
        findings += rule(ctx)
    return findings


def _section(ctx: Ctx, name: str) -> dict[str, Any]:
    value = ctx["proc"].get(name)
    return value if isinstance(value, dict) else {}


def _datasets(ctx: Ctx) -> list[dict[str, Any]]:
    value = ctx["proc"].get("datasets")
    return [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []


def flux_state(proc: dict[str, Any], schema: AitkSchema) -> str:
    """'flux', 'other' (another architecture chosen on purpose) or 'unmarked' (ai-toolkit would assume SD 1.x)."""
    model = proc.get("model") if isinstance(proc.get("model"), dict) else {}
    arch = str(model.get("arch") or "").split(":")[0]
    if model.get("is_flux") is True or arch in schema.flux_archs:
        return "flux"
    if arch or any(model.get(k) is True for k in model if k.startswith("is_") and k != "is_flux"):
        return "other"
    return "unmarked"


def rule_training_folder(ctx: Ctx) -> list[Finding]:
    """BaseTrainProcess joins training_folder (its own, else the job's when the job reads one) with the name."""
    from_job = "training_folder" in ctx.get("job_keys", ()) and ctx["config"].get("training_folder")
    if ctx["proc"].get("training_folder") or from_job:
        return []
    return [Finding("error", f"{ctx['path']}.training_folder", "missing; ai-toolkit joins it with the name to make "
                    "the output folder and fails without it", "add 'training_folder: output'", "aitk-training-folder")]


def rule_device(ctx: Ctx) -> list[Finding]:
    if "device" not in ctx["proc"]:
        return []
    return [Finding("info", f"{ctx['path']}.device", "not read by the SD trainer: the device comes from accelerate "
                    "(the GPU when there is one, else the CPU)", "limit GPUs with CUDA_VISIBLE_DEVICES instead",
                    "aitk-device-ignored")]


def rule_model(ctx: Ctx) -> list[Finding]:
    path, model = f"{ctx['path']}.model", _section(ctx, "model")
    out = []
    if not model.get("name_or_path"):
        out.append(Finding("error", f"{path}.name_or_path", "missing; ai-toolkit requires the base model",
                           "set it to black-forest-labs/FLUX.1-dev or a local diffusers folder", "aitk-model-path"))
    if ctx["flux"] == "unmarked":
        out.append(Finding("warning", path, "the model is not marked as FLUX, so ai-toolkit loads it as Stable "
                           "Diffusion 1.x", "add 'is_flux: true' (or 'arch: flux')", "aitk-not-flux"))
    if "dtype" in model:
        out.append(Finding("info", f"{path}.dtype", "overwritten by train.dtype", "set train.dtype instead",
                           "aitk-model-dtype"))
    return out


def rule_network(ctx: Ctx) -> list[Finding]:
    path, net = f"{ctx['path']}.network", ctx["proc"].get("network")
    if not isinstance(net, dict):
        return [Finding("warning", path, "no network section: ai-toolkit trains the whole model, not a LoRA",
                        "add 'network: {type: lora, linear: 16, linear_alpha: 16}'", "aitk-no-network")]
    out = []
    rank, linear = net.get("rank"), net.get("linear")
    if rank is not None and linear is not None and rank != linear:
        out.append(Finding("warning", f"{path}.rank", f"rank ({rank}) wins over linear ({linear})",
                           "keep only linear", "aitk-rank-linear"))
    dim = rank if rank is not None else linear if linear is not None else 4
    alpha_key = "linear_alpha" if "linear_alpha" in net else "alpha" if "alpha" in net else None
    alpha = net.get(alpha_key) if alpha_key else None
    if ctx["flux"] == "flux" and alpha is not None and alpha != dim:
        out.append(Finding("warning", f"{path}.{alpha_key}", f"has no effect for FLUX: the LoRA is saved in peft "
                           f"format with alpha forced to the rank ({dim})",
                           f"set {alpha_key} to {dim} so the file says what is trained", "aitk-alpha-ignored"))
    return out


def rule_flowmatch(ctx: Ctx) -> list[Finding]:
    if ctx["flux"] != "flux":
        return []
    out = []
    for section, key, default in (("train", "noise_scheduler", "ddpm"), ("sample", "sampler", "ddpm")):
        if section == "sample" and section not in ctx["proc"]:
            continue
        value = _section(ctx, section).get(key, default)
        if value != "flowmatch":
            out.append(Finding("warning", f"{ctx['path']}.{section}.{key}", f"is '{value}'; FLUX is a flow-matching "
                               "model", f"set {key}: flowmatch", "aitk-flowmatch"))
    return out


def rule_gradient_accumulation(ctx: Ctx) -> list[Finding]:
    train = _section(ctx, "train")
    acc, steps = train.get("gradient_accumulation", 1), train.get("gradient_accumulation_steps", 1)
    if isinstance(acc, int | float) and acc > 1 and steps != 1:
        return [Finding("error", f"{ctx['path']}.train.gradient_accumulation", "cannot be combined with "
                        f"gradient_accumulation_steps ({steps}); ai-toolkit stops", "keep gradient_accumulation and "
                        "remove gradient_accumulation_steps", "aitk-grad-accum")]
    return []


def rule_datasets(ctx: Ctx) -> list[Finding]:
    path, raw = f"{ctx['path']}.datasets", ctx["proc"].get("datasets")
    if not raw:
        return [Finding("error", path, "missing; the trainer has no images to train on",
                        "add '- folder_path: /path/to/images'", "aitk-no-datasets")]
    out = []
    for i, ds in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(ds, dict):
            continue
        where = f"{path}[{i}]"
        if not ds.get("folder_path") and not ds.get("dataset_path"):
            out.append(Finding("error", f"{where}.folder_path", "missing; ai-toolkit needs the image folder",
                               "add 'folder_path: /path/to/images'", "aitk-folder-path"))
        if ds.get("poi") is not None:
            out.append(Finding("error", f"{where}.poi", "ai-toolkit stops when poi is set", "remove it", "aitk-poi"))
        if ds.get("caption_type") is not None:
            out.append(Finding("warning", f"{where}.caption_type", "legacy key that replaces caption_ext without "
                               "adding the dot, so captions may not be found", "use caption_ext: txt instead",
                               "aitk-caption-type"))
        if ds.get("augmentations") and (ds.get("cache_latents") or ds.get("cache_latents_to_disk")):
            out.append(Finding("warning", f"{where}.augmentations", "augmentations turn latent caching off",
                               "remove augmentations or the cache_latents settings", "aitk-augment-cache"))
    return out


def rule_dataset_agreement(ctx: Ctx) -> list[Finding]:
    """Some dataset settings are read from one dataset but must be the same on all."""
    datasets = _datasets(ctx)
    out = []
    for key, default in (("buckets", True), ("cache_text_embeddings", False)):
        values = {bool(ds.get(key, default)) for ds in datasets}
        if len(values) > 1:
            out.append(Finding("error", f"{ctx['path']}.datasets", f"{key} differs between datasets; ai-toolkit "
                               "needs the same value on all of them", f"set {key} the same on every dataset",
                               "aitk-dataset-agreement"))
    return out


def rule_flux_negative(ctx: Ctx) -> list[Finding]:
    """FLUX.1 through the legacy model class samples without the negative embeddings unless model.use_flux_cfg
    (toolkit/stable_diffusion_model.py:1595-1629)."""
    model, sample = _section(ctx, "model"), _section(ctx, "sample")
    if ctx["flux"] != "flux" or str(model.get("arch") or "flux") != "flux" or model.get("use_flux_cfg"):
        return []
    items = sample.get("samples") if isinstance(sample.get("samples"), list) else []
    paths = [f"{ctx['path']}.sample.neg"] if isinstance(sample.get("neg"), str) and sample["neg"].strip() else []
    paths += [f"{ctx['path']}.sample.samples[{i}].neg" for i, item in enumerate(items)
              if isinstance(item, dict) and isinstance(item.get("neg"), str) and item["neg"].strip()]
    return [Finding("info", path, "not used: ai-toolkit samples FLUX.1 without the negative prompt unless "
                    "model.use_flux_cfg", "", "aitk-flux-negative") for path in paths]


def rule_process_type(ctx: Ctx) -> list[Finding]:
    if ctx["proc"].get("type") != "ui_trainer":
        return []
    return [Finding("warning", f"{ctx['path']}.type", "ui_trainer needs the UI's database and AITK_JOB_ID and "
                    "stops without them", "use sd_trainer", "aitk-ui-trainer")]


RULES: list[Callable[[Ctx], list[Finding]]] = [
    rule_training_folder, rule_device, rule_model, rule_network, rule_flowmatch, rule_gradient_accumulation,
    rule_datasets, rule_dataset_agreement, rule_process_type, rule_flux_negative,
]


def is_unquoted_name(value: Any) -> bool:
    """`[name]` written without quotes is a YAML list holding the string 'name', not the name tag."""
    return isinstance(value, list) and value == ["name"]


def unquoted_name(data: Any, path: str) -> list[Finding]:
    """Find unquoted `[name]` anywhere in the document."""
    return [Finding("error" if where.startswith("config.") else "warning", where or "(document)",
                    "unquoted [name] is a YAML list ['name'], not the [name] tag", "write \"[name]\" in quotes",
                    "aitk-unquoted-name") for where, node in _nodes(data, path) if is_unquoted_name(node)]


def loose_floats(data: Any, path: str) -> list[Finding]:
    """Exponent numbers without a dot anywhere (also inside free-form mappings such as optimizer_params)."""
    return [Finding("warning", where, f"'{node.text}' is a float to ai-toolkit but a string to PyYAML and most "
                    "YAML tools", f"write {node.portable()}", "aitk-loose-float")
            for where, node in _nodes(data, path) if isinstance(node, LooseFloat)]


def _nodes(data: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every value of a parsed document with its dotted path (`a.b[0].c`)."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _nodes(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _nodes(value, f"{path}[{i}]")
