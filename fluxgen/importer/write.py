"""The imported intent as a YAML file with a comment per value saying where it came from, and `--minimal`: the
values the planning rules would give anyway are left to the rules."""

from __future__ import annotations

import re
from typing import Any

from fluxgen.errors import RenderMismatch, UserError
from fluxgen.importer.record import Imported


def ordered_keys(imported: Imported) -> list[str]:
    """The imported keys in the order of the intent schema (identity, dataset, network, train, save, samples…)."""
    from fluxgen.intent import all_paths

    order = {p: i for i, p in enumerate(all_paths())}
    # the pass-through's keys (unknown to the schema) last, grouped by section so each section is written once
    return sorted(imported.values, key=lambda k: (order.get(k, len(order)), k.split(".") if k not in order else []))


def plan_of(imported: Imported, keys: list[str]) -> Any:
    """Plan the chosen imported values as `fluxgen plan` plans the written file: kind preset < these values."""
    from fluxgen.plan import plan_from_layered
    from fluxgen.presets import layer

    return plan_from_layered(layer(None, imported.overrides(keys)), lint=False)


def minimal_keys(imported: Imported) -> list[str]:
    """Drop, one at a time, each value whose absence leaves every plan value unchanged; keep the rest."""
    keys = ordered_keys(imported)
    if "dataset.path" not in imported.values and "datasets.0.path" not in imported.values:
        raise UserError("--minimal plans the intent, which needs the dataset: the trainer file names no image "
                        "folder; pass --images DIR")
    want = plan_of(imported, keys).values
    fixed = {"dataset.path", "backend"}
    for key in list(keys):
        if key in fixed or (key.startswith("datasets.") and key.endswith(".path")):
            continue
        trial = [k for k in keys if k != key]
        if plan_of(imported, trial).values == want:
            keys = trial
    return keys


def intent_yaml(imported: Imported, keys: list[str] | None = None) -> str:
    """The intent file: a header naming the sources and what was left out, then one commented line per value."""
    keys = keys if keys is not None else ordered_keys(imported)
    lines = [f"# Imported by fluxgen from {', '.join(imported.sources)} ({imported.backend}).",
             "# Each value says where it came from; plan or render it with `fluxgen render THIS --out DIR`."]
    if imported.carried:
        lines.append(f"# {len(imported.carried)} settings no intent key can say are carried under trainer."
                     f"{imported.backend} (merged into its files last).")
    if imported.unmapped:
        lines.append("# Settings not carried (fluxgen's rules decide these instead):")
        lines += [f"#   {u.line()}" for u in imported.unmapped]
    lines += [f"# note: {n}" for n in imported.notes]
    lines += _body(imported, keys)
    text = "\n".join(lines) + "\n"
    _check(text, imported, keys)
    return text


def _body(imported: Imported, keys: list[str]) -> list[str]:
    """One line per value under its sections (the pass-through's go several levels deep), in the order given."""
    from fluxgen.render import yaml_value

    out: list[str] = []
    open_sections: list[str] = []
    for key in keys:
        *heads, leaf = key.split(".")
        if len(heads) == 2 and heads[0] == "datasets" and heads[1].isdigit():  # an item of the intent's folders
            if open_sections[:1] != ["datasets"]:
                out.append("datasets:")
            lead = "  - " if open_sections != heads else "    "
            open_sections = heads
            value = imported.values[key]
            out.append(f"{lead}{_key(leaf)}: {yaml_value(value)}  # {_one_line(imported.origins[key])}")
            continue
        same = 0
        while same < min(len(heads), len(open_sections)) and heads[same] == open_sections[same]:
            same += 1
        out += [f"{'  ' * depth}{_key(heads[depth])}:" for depth in range(same, len(heads))]
        open_sections = heads
        indent = "  " * len(heads)
        leaf = _key(leaf)
        value = imported.values[key]
        comment = f"  # {_one_line(imported.origins[key])}"
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out.append(f"{indent}{leaf}:{comment}")
            out += [f"{indent}  - {yaml_value(v)}" for v in value]
        else:
            out.append(f"{indent}{leaf}: {yaml_value(value)}{comment}")
    return out


def _key(name: str) -> str:
    """A mapping key as YAML reads it back: plain when it is a plain word, else quoted."""
    from fluxgen.render import yaml_value

    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name) else yaml_value(name)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check(text: str, imported: Imported, keys: list[str]) -> None:
    """Re-read what was written: it must be a valid intent holding exactly the imported values."""
    from fluxgen.fsio import load_yaml_text
    from fluxgen.intent import flatten, validate_intent

    data = load_yaml_text(text, "imported intent")
    validate_intent(data, "imported intent")
    got = flatten(data)
    want = flatten(imported.nested(keys))
    if got != want:
        bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        raise RenderMismatch(f"imported intent does not read back as written: {', '.join(bad[:5])}")
