"""The imported intent as a YAML file with a comment per value saying where it came from, and `--minimal`: the
values the planning rules would give anyway are left to the rules."""

from __future__ import annotations

from typing import Any

from fluxgen.errors import RenderMismatch, UserError
from fluxgen.importer.record import Imported


def ordered_keys(imported: Imported) -> list[str]:
    """The imported keys in the order of the intent schema (identity, dataset, network, train, save, samples…)."""
    from fluxgen.intent import all_paths

    order = {p: i for i, p in enumerate(all_paths())}
    return sorted(imported.values, key=lambda k: order.get(k, len(order)))


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
    if imported.unmapped:
        lines.append("# Settings no intent key can say (fluxgen's rules decide these instead):")
        lines += [f"#   {u.line()}" for u in imported.unmapped]
    lines += [f"# note: {n}" for n in imported.notes]
    lines += _body(imported, keys)
    text = "\n".join(lines) + "\n"
    _check(text, imported, keys)
    return text


def _body(imported: Imported, keys: list[str]) -> list[str]:
    from fluxgen.render import yaml_value

    out: list[str] = []
    section = None
    for key in keys:
        head, _, leaf = key.rpartition(".")
        entry = head.startswith("datasets.")  # `datasets.1.path`: a list item of the intent's folders
        if head != section:
            if entry and not (section or "").startswith("datasets."):
                out.append("datasets:")
            elif head and not entry:
                out.append(f"{head}:")
            section = head
            if entry:
                out.append(f"  - {leaf}: {yaml_value(imported.values[key])}  # {_one_line(imported.origins[key])}")
                continue
        indent = "    " if entry else "  " if head else ""
        value = imported.values[key]
        comment = f"  # {_one_line(imported.origins[key])}"
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out.append(f"{indent}{leaf}:{comment}")
            out += [f"{indent}  - {yaml_value(v)}" for v in value]
        else:
            out.append(f"{indent}{leaf}: {yaml_value(value)}{comment}")
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check(text: str, imported: Imported, keys: list[str]) -> None:
    """Re-read what was written: it must be a valid intent holding exactly the imported values."""
    from fluxgen.fsio import load_yaml_text
    from fluxgen.intent import flatten, validate_intent

    data = load_yaml_text(text, "imported intent")
    validate_intent(data, "imported intent")
    got = flatten(data)
    want = {k: imported.values[k] for k in keys}
    if got != want:
        bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        raise RenderMismatch(f"imported intent does not read back as written: {', '.join(bad[:5])}")
