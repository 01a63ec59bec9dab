"""Build-time readers for sd-scripts.md: the 215 options, the dataset TOML schema, lora_flux network_args."""

from __future__ import annotations

import re
from typing import Any

from fluxgen.knowledge._markdown import literal, section, split_row, table_rows, ticks

ARG_TYPES = {"str", "flag", "int", "float", "int_or_float", "Path"}


def pinned_commit(text: str) -> str:
    match = re.search(r"\| kohya-ss/sd-scripts \| `main` \| `([0-9a-f]{40})`", text)
    if not match:
        raise ValueError("sd-scripts pinned commit not found")
    return match.group(1)


def parse_args(text: str) -> dict[str, dict[str, Any]]:
    """Appendix A: name, type, nargs, default, choices, group and place of definition of every option."""
    appendix = text[text.index("## Appendix A") :]
    args: dict[str, dict[str, Any]] = {}
    group = ""
    for line in appendix.splitlines():
        head = re.match(r"^\*\*(.+?)\*\* \((\d+) args\)", line)
        if head:
            group = head.group(1)
            continue
        if not line.startswith("| `--"):
            continue
        name_cell, type_cell, default_cell, choices_cell, where = split_row(line)
        name = ticks(name_cell)[0].removeprefix("--")
        nargs = "*" if "nargs=*" in type_cell else None
        kind = type_cell.split(" ")[0]
        if kind not in ARG_TYPES:
            raise ValueError(f"unexpected type {type_cell!r} for --{name}")
        choices = _choices(choices_cell, kind)
        args[name] = {
            "type": "str" if kind == "Path" else kind,
            "nargs": nargs,
            "default": literal(default_cell),
            "choices": choices,
            "group": group,
            "defined_at": where,
            **({"argparse_type": "Path"} if kind == "Path" else {}),
        }
    return args


def _choices(cell: str, kind: str) -> list[Any] | None:
    if not cell:
        return None
    out: list[Any] = []
    for item in (c.strip() for c in cell.split(",")):
        if item == "None":
            out.append(None)
        elif kind == "int":
            out.append(int(item))
        else:
            out.append(item)
    return out


def known_values(text: str) -> dict[str, list[str]]:
    """Values named in §1.2 for options argparse does not restrict (optimizer_type, lr_scheduler)."""
    rows = {ticks(r[1])[0].removeprefix("--"): r for r in table_rows(section(text, "### 1.2"), "| group |")}
    opt_note = rows["optimizer_type"][4]
    opt_list = opt_note.split("Options:", 1)[1].split(", or a full class path", 1)[0]
    optimizers = [p.strip() for chunk in opt_list.split(",") for p in chunk.split("/") if p.strip()]
    sched_note = rows["lr_scheduler"][4].split(" (", 1)[0]
    schedulers = [p.strip() for p in sched_note.split(",")]
    return {"optimizer_type": optimizers, "lr_scheduler": schedulers}


def flux_facts(text: str, options: dict[str, Any]) -> dict[str, Any]:
    """Options accepted but unused for FLUX, deprecated ones, and the flag that does not exist."""
    body = section(text, "### 1.2")
    rows = {ticks(r[1])[0].removeprefix("--"): r[4] for r in table_rows(body, "| group |")}
    unused = [n for n, note in rows.items() if "Not referenced by the FLUX path" in note or "Ignored by FLUX" in note]
    tail = body.split("Other options that are accepted but unused or ignored for FLUX:", 1)[1]
    for line in tail.splitlines():
        if line.startswith("- "):
            unused += [t.removeprefix("--") for t in ticks(line) if t.startswith("--") and " " not in t]
    deprecated = [n for n, note in rows.items() if "Deprecated" in note]
    missing = re.search(r"\*\*Does `--(\w+)` exist\? No\.\*\*", body)
    existing = body.split("The timestep-shaping options that do exist are", 1)[1].split("\n", 1)[0]
    names = [t.removeprefix("--") for t in ticks(existing)]
    expanded: list[str] = []
    for name in names:
        expanded += [n.removeprefix("--") for n in name.split("`/`")]
    prompt_flags = sorted({n for n in unused if n not in options})
    return {
        "flux_unused": sorted({n for n in unused if n in options}),
        "flux_unused_prompt_flags": prompt_flags,
        "deprecated": deprecated,
        "known_missing": {missing.group(1): expanded} if missing else {},
    }


def parse_dataset(text: str) -> dict[str, Any]:
    """§2: for each key, the voluptuous types it accepts, the levels it may appear at, required-ness, default."""
    body = section(text, "## 2. Dataset config TOML schema")
    keys: dict[str, Any] = {}
    for cells in table_rows(body, "| key | type (voluptuous)"):
        names = ticks(cells[0])
        types = _dataset_types(cells[1])
        defaults = _dataset_defaults(cells[5], len(names))
        levels, required = [], None
        for level, cell in zip(("general", "datasets", "subsets"), cells[2:5], strict=True):
            if cell != "–":
                levels.append(level)
            if "required" in cell.lower():
                required = _required_kind(cell)
        for name, default in zip(names, defaults, strict=True):
            keys[name] = {"types": types, "levels": levels, "required": required, "default": default}
    if "**Required**" in body:
        keys["resolution"]["required"] = "resolved"
    return {
        "top_level": {"general": "table", "datasets": "array of tables"},
        "dataset_children": {"subsets": "array of tables"},
        "keys": keys,
    }


def _dataset_types(cell: str) -> list[str]:
    text = re.sub(r"\([^)]*\)", "", cell.replace("*", ""))
    found = re.findall(r"\[[^\]]*\]|\b(?:str|bool|int|float|dict|list)\b", text)
    return [t.replace(" ", "") for t in found]


def _dataset_defaults(cell: str, count: int) -> list[Any]:
    cell = cell.split(". ", 1)[0].strip()
    match = re.match(r'^\(from argparse: (.*)\)$', cell)
    if match:
        return [literal(match.group(1))] * count
    parts = [p.strip() for p in cell.split(" / ")] if count > 1 and " / " in cell else [cell] * count
    return [literal(p) if p else None for p in parts]


def _required_kind(cell: str) -> str:
    low = cell.lower()
    if "fine-tune" in low:
        return "fine_tune"
    if "controlnet" in low:
        return "controlnet"
    return "dreambooth"


def parse_network_args(text: str) -> dict[str, Any]:
    """§1.4: the keys networks.lora_flux reads from --network_args, each with the kind of value it expects."""
    body = section(text, "### 1.4")
    keys: dict[str, dict[str, Any]] = {}
    for line in body.splitlines():
        names = [t for t in ticks(line) if re.fullmatch(r"[a-z0-9_]+", t)]
        if "Booleans are true only" in line:
            _put(keys, names, {"kind": "bool_str"})
        elif line.startswith("- `conv_dim`"):
            _put(keys, ["conv_dim"], {"kind": "int"})
            _put(keys, ["conv_alpha"], {"kind": "float"})
        elif line.startswith("- Per-type dims"):
            _put(keys, names, {"kind": "int"})
        elif line.startswith("- `in_dims`"):
            _put(keys, ["in_dims"], {"kind": "int_list", "length": 5})
        elif line.startswith("- `train_double_block_indices`"):
            _put(keys, names[:2], {"kind": "block_indices"})
        elif line.startswith("- `train_blocks`"):
            choices = [c.strip() for c in line.split(":", 1)[1].split(",")[0].split("|")]
            _put(keys, ["train_blocks"], {"kind": "choice", "choices": choices})
        elif line.startswith("- `network_reg_lrs`"):
            _put(keys, names[:2], {"kind": "regex_map"})
        elif line.startswith("- `rank_dropout`") or line.startswith("- `ggpo_beta`") or "loraplus" in line:
            _put(keys, names, {"kind": "float"})
        elif line.startswith("- `dropout` is injected"):
            _put(keys, ["dropout"], {"kind": "float", "from_option": "network_dropout"})
    return {"keys": keys, "unknown_keys": "ignored", "split": "first ="}


def _put(keys: dict[str, Any], names: list[str], spec: dict[str, Any]) -> None:
    for name in names:
        keys[name] = dict(spec)
