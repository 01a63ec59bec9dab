"""Build-time readers for ai-toolkit.md and ai-toolkit-config-keys.txt: every key of every section, typed."""

from __future__ import annotations

import re
from typing import Any

from fluxgen.knowledge._markdown import literal, section, table_rows, ticks

# Where each config class is read from in a process (dotted section path -> class in config-keys.txt).
SECTIONS = {
    "network": "NetworkConfig",
    "save": "SaveConfig",
    "datasets[]": "DatasetConfig",
    "train": "TrainConfig",
    "train.ema_config": "EMAConfig",
    "train.validation_config": "ValidationConfig",
    "model": "ModelConfig",
    "sample": "SampleConfig",
    "sample.samples[]": "SampleItem",
    "first_sample": "SampleConfig",
    "logging": "LoggingConfig",
    "guidance": "GuidanceConfig",
    "embedding": "EmbeddingConfig",
    "decorator": "DecoratorConfig",
    "adapter": "AdapterConfig",
    "network.lorm": "LoRMConfig",
}
# Markdown table that gives the types of a section's keys (the others are typed from their defaults).
TYPED_TABLES = {"network": "#### `network`", "save": "#### `save`", "datasets[]": "#### `datasets[]`",
                "train": "#### `train` →"}
# Keys (Class.key) whose default does not show the type users write; each note says what the reference shows.
TYPE_OVERRIDES = {
    "SampleConfig.neg": ("str", "§3 examples write neg: \"\" (the class default is False)"),
    "SampleConfig.samples": ("list", "§2.3: list of dicts, derived from prompts"),
    "SampleItem.neg": ("str", "a negative prompt, as SampleConfig.neg"),
    "SampleItem.prompt": ("str", "a prompt"),
    "SampleConfig.sampler": ("str", "a sampler name"),
    "ModelConfig.name_or_path": ("str", "§2.3: HF hub id or local diffusers folder"),
    "ModelConfig.arch": ("str", "§2.3: arch name, optionally name:tag"),
    "ModelConfig.assistant_lora_path": ("str", "§2.3: a path or repo id"),
    "ModelConfig.lora_path": ("str", "§2.3: a path"),
    "ModelConfig.vae_path": ("str", "§2.3: a path"),
}
# Names of diffusers' SchedulerType, which ai-toolkit's lr_scheduler falls back to (toolkit/scheduler.py).
DIFFUSERS_SCHEDULERS = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                        "constant_with_warmup", "piecewise_constant"]
# Names toolkit/sampler.py get_sampler accepts for noise_scheduler / sample.sampler.
NOISE_SCHEDULERS = ["ddim", "ddpm", "pndm", "lms", "k_lms", "euler", "k_euler", "euler_a", "dpmsolver",
                    "dpmsolver++", "k_dpmsolver", "k_dpmsolver++", "dpmsingle", "heun", "dpm_2", "dpm_2_a", "lcm",
                    "custom_lcm", "flowmatch"]


def pinned_commit(text: str) -> str:
    match = re.search(r"\*\*Pinned commit:\*\* `([0-9a-f]{40})`", text)
    if not match:
        raise ValueError("ai-toolkit pinned commit not found")
    return match.group(1)


def parse_classes(keys_txt: str) -> dict[str, dict[str, dict[str, Any]]]:
    """config-keys.txt: class -> key -> {default, line, ref}; the first definition of a key wins."""
    classes: dict[str, dict[str, dict[str, Any]]] = {}
    current: dict[str, dict[str, Any]] = {}
    for line in keys_txt.splitlines():
        if line.startswith("### "):
            current = classes.setdefault(line[4:].strip(), {})
        elif line.strip():
            for item in line.split(" | "):
                match = re.match(r"^(\w+)=(.*) \(L(\d+)\)$", item.strip())
                if not match or match.group(1) in current:
                    continue
                name, raw, lineno = match.groups()
                entry: dict[str, Any] = {"default": literal(raw), "line": int(lineno)}
                ref = re.match(r"^(self|sample_config)\.(\w+)$", raw)
                if ref:
                    owner = "SampleConfig" if ref.group(1) == "sample_config" else None
                    entry = {"default": None, "default_from": ref.group(2), "default_from_class": owner,
                             "line": int(lineno)}
                elif isinstance(entry["default"], str) and raw[:1] not in "'\"":
                    entry = {"default": None, "default_expr": raw, "line": int(lineno)}
                current[name] = entry
    return classes


def md_types(text: str, heading: str) -> dict[str, list[str]]:
    """Types stated in a section's markdown table (`key | type | default | notes`)."""
    out: dict[str, list[str]] = {}
    for cells in table_rows(section(text, heading), "| key | type |"):
        names = _names(cells[0])
        types = [t.strip() for t in cells[1].split(",")] if cells[1] else []
        if len(types) == len(names) and len(names) > 1:
            pairs = zip(names, types, strict=True)
        else:
            pairs = ((n, cells[1]) for n in names)
        for name, type_text in pairs:
            canon = _canon_type(type_text)
            if canon:
                out[name] = canon
    return out


def _names(cell: str) -> list[str]:
    names: list[str] = []
    for tick in ticks(cell):
        if ".." in tick or not re.fullmatch(r"_?\w+", tick):
            continue
        names.append(names[0] + tick if tick.startswith("_") and names else tick)
    return names


def _canon_type(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    if text.startswith("`'"):
        return ["str"]
    found = []
    for word in re.split(r"\s+or\s+", text):
        word = word.strip()
        base = "str" if word == "file path" else re.split(r"[\[ ]", word)[0]
        if base in {"str", "int", "float", "bool", "list", "dict"}:
            found.append(base)
    return found


def process_keys(text: str) -> dict[str, dict[str, Any]]:
    """§2.2: process-level keys with a type derived from their default or from the class they are read into."""
    out: dict[str, dict[str, Any]] = {}
    for cells in table_rows(section(text, "### 2.2"), "| key | default |"):
        names = ticks(cells[0])
        defaults = [d.strip() for d in cells[1].split(",")]
        if len(defaults) != len(names):
            defaults = [cells[1]] * len(names)
        for name, raw in zip(names, defaults, strict=True):
            note = cells[2]
            value = literal(raw.strip("`"))
            if isinstance(value, str) and not raw.strip("`").startswith(("'", "./")):
                value = None  # prose such as "job name" or "job's training_folder, else None"
            if "a list of" in note:
                kind, value = ["list"], None
            elif "Config`" in note or name in {"network", "embedding", "decorator", "adapter"}:
                kind, value = ["dict"], None
            elif name in STR_PROCESS_KEYS:
                kind = ["str"]
            else:
                kind = _type_of(value)
            out[name] = {"types": kind, "default": value, "required": raw == "required"}
    return out


# Process keys whose default cell is prose ("job name", "—") but which hold strings.
STR_PROCESS_KEYS = {"type", "name", "training_folder", "log_dir", "device", "trigger_word", "sqlite_db_path",
                    "lorm_extract_mode"}


def _type_of(value: Any) -> list[str]:
    if isinstance(value, bool):
        return ["bool"]
    if isinstance(value, int | float):
        return ["number"]
    if isinstance(value, str):
        return ["str"]
    if isinstance(value, list):
        return ["list"]
    if isinstance(value, dict):
        return ["dict"]
    return ["any"]


def _tick_literal(cell: str) -> Any:
    found = ticks(cell)
    return literal(found[0]) if found else literal(cell)


def _row(body: str, header: str, key: str) -> list[str]:
    for cells in table_rows(body, header):
        if ticks(cells[0]) and ticks(cells[0])[0] == key:
            return cells
    raise ValueError(f"row {key!r} not found in reference table")


def choice_lists(text: str) -> dict[str, Any]:
    """Accepted names the reference lists: optimizers, schedulers, timestep types, dtypes and friends."""
    train = section(text, "#### `train` →")
    word = re.compile(r"[a-z0-9_]+")
    opt_text = train.split("Optimizers (`toolkit/optimizer.py`):", 1)[1].split("All remaining", 1)[0]
    opt_names = [t for t in ticks(opt_text) if re.fullmatch(r"[a-z0-9*]+", t)]
    sched = _row(train, "| key | type |", "lr_scheduler")
    timestep = _row(train, "| key | type |", "timestep_type")
    save = section(text, "#### `save`")
    dtype_cell = _row(save, "| key | type |", "dtype")[2].split("accepted:", 1)[1]
    network = section(text, "#### `network`")
    net_type = _row(network, "| key | type |", "type")
    return {
        "optimizers": sorted({n for n in opt_names if not n.endswith("*")}),
        "optimizer_prefixes": sorted({n[:-1] for n in opt_names if n.endswith("*")} | {"prodigy"}),
        "lr_schedulers": sorted({_tick_literal(sched[2])} | {t for t in ticks(sched[3]) if word.fullmatch(t)}
                                | set(DIFFUSERS_SCHEDULERS)),
        "timestep_types": [_tick_literal(timestep[2])] + [t for t in ticks(timestep[3]) if word.fullmatch(t)],
        "content_or_style": [literal(t) for t in ticks(_row(train, "| key | type |", "content_or_style")[1])],
        "loss_types": [t for t in ticks(_row(train, "| key | type |", "loss_type")[3]) if word.fullmatch(t)],
        "noise_schedulers": NOISE_SCHEDULERS,
        "dtypes": [p for t in ticks(dtype_cell) if ".py" not in t for p in t.split("/")],
        "save_formats": [literal(t) for t in ticks(_row(save, "| key | type |", "save_format")[1])],
        "network_types": [literal(t) for t in ticks(net_type[2] + " " + net_type[3]) if t.startswith("'")],
        "dataset_types": [_tick_literal(_row(section(text, "#### `datasets[]`"), "| key | type |", "type")[2])],
        "augments": [literal(t) for t in ticks(_row(section(text, "#### `datasets[]`"), "| key | type |",
                                                    "augments")[3]) if t.startswith("'")],
    }


def job_facts(text: str) -> dict[str, Any]:
    """§2.1: job types, process types and the keys at the top and config levels."""
    body = section(text, "### 2.1")
    jobs = re.search(r"job: extension\s+# required \([^)]*\): ([a-z|]+)", body)
    builtin = [t for line in body.splitlines() if line.startswith("  * `") for t in ticks(line)[:1]]
    others = body.split("**Other registered types** (observed list): ", 1)[1].split("`", 2)[1]
    return {
        "job_types": jobs.group(1).split("|") if jobs else ["extension"],
        "trainer_process_types": [t for t in builtin if t.endswith("trainer")],
        "other_process_types": [p.strip() for p in others.split(",")],
        "top_level": {"job": {"types": ["str"], "required": True}, "config": {"types": ["dict"], "required": True},
                      "meta": {"types": ["dict"], "required": False}},
        "config_level": {"name": {"types": ["str"], "required": True}, "process": {"types": ["list"], "required": True},
                         "device": {"types": ["str"], "default": "cpu"}, "training_folder": {"types": ["str"]}},
    }


def flux_archs(text: str) -> list[str]:
    body = section(text, "#### `model`")
    row = [r for r in table_rows(body, "| key | default |") if ticks(r[0]) and ticks(r[0])[0] == "is_flux"][0]
    archs = [t.split(": ", 1)[1] for t in ticks(row[2]) if t.startswith("arch: ")]
    return archs + ["flux_kontext"] if "flux_kontext" in body else archs

