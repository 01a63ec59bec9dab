"""`fluxgen lora inspect`: what a LoRA file holds, as a compact table or one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import click

# ss_* keys worth a line in the table; the rest are counted (all are in --json).
SS_SHOWN = (
    "ss_output_name", "ss_network_module", "ss_network_dim", "ss_network_alpha", "ss_network_args",
    "ss_learning_rate", "ss_optimizer", "ss_steps", "ss_epoch", "ss_max_train_steps", "ss_num_train_images",
    "ss_sd_model_name", "ss_base_model_version", "ss_training_comment",
)
GROUP_TITLES = {"double_blocks": "double blocks", "single_blocks": "single blocks",
                "text_encoder": "text encoder", "other": "other"}


@click.group("lora")
def lora_group() -> None:
    """Inspect and convert LoRA safetensors files."""


@lora_group.command("convert")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--to", "target", type=click.Choice(["kohya", "diffusers"]), required=True,
              help="kohya: lora_unet_* keys with .alpha (ComfyUI, Forge, A1111-Forge); diffusers: transformer.* keys.")
@click.option("--out", type=click.Path(path_type=Path), help="Output file (default: FILE.<to>.safetensors).")
@click.option("--name", help="Name the output by seed:003's convention, NAME_v1_<steps>steps.safetensors.")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def convert_cmd(file: Path, target: str, out: Path | None, name: str | None, force: bool) -> None:
    """Convert a FLUX.1 LoRA between kohya and diffusers keys, exactly (sizes read from the tensors)."""
    from fluxgen.lora import inspect_lora
    from fluxgen.lora.export import convert_file, export_name

    if name and out is None:
        out = file.with_name(export_name(name, inspect_lora(file).steps))
    done = convert_file(file, target, out, force)
    click.echo(f"{done.source} ({done.source_format}, {done.modules_in} modules) -> {done.out} "
               f"({done.target}, {done.modules_out} modules, {done.tensors} tensors)")


@lora_group.command("inspect")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with stable keys.")
def inspect_cmd(file: Path, as_json: bool) -> None:
    """Show a FLUX.1 LoRA's format, rank, alpha, modules and metadata, and flag what it does not record.

    Reads only the safetensors header, so it is instant even for large files.
    """
    from fluxgen.lora import inspect_lora
    from fluxgen.runner import redact_all

    data = redact_all(inspect_lora(file).to_dict())  # a token saved into the metadata is never shown
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _print_human(data)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _short(value: object, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _hist(values: dict[str, int]) -> str:
    if len(values) == 1:
        return next(iter(values))
    return ", ".join(f"{k} ×{n}" for k, n in values.items()) or "-"


def _with_source(value: object, source: str | None) -> str:
    return "-" if value is None else f"{value}  ({source})"


def _print_human(d: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from fluxgen.lora.keys import compress_ranges

    console = Console(highlight=False)
    alpha = d["alpha"]
    alpha_text = "-" if alpha["source"] is None else f"{_hist(alpha['values'])}  ({alpha['source']})"
    facts = Table.grid(padding=(0, 2))
    rows = [
        ("file", d["path"]),
        ("format", d["format"]),
        ("size", f"{_size(d['size_bytes'])} · {d['tensors']} tensors · {d['parameters']:,} parameters"),
        ("rank", _hist(d["ranks"])),
        ("alpha", alpha_text),
        ("dtypes", ", ".join(f"{k} ×{n}" for k, n in d["dtypes"].items()) or "-"),
        ("trigger", _with_source(d["trigger"], d["sources"]["trigger"])),
        ("base model", _with_source(d["base_model"], d["sources"]["base_model"])),
        ("steps", _with_source(d["steps"], d["sources"]["steps"])),
    ]
    for key, value in rows:
        facts.add_row(Text(key, style="bold"), Text(str(value)))
    console.print(facts)

    modules = Table(title="modules", title_justify="left", box=None, padding=(0, 2))
    for col in ("block type", "modules", "blocks", "submodules"):
        modules.add_column(col)
    for group, entry in d["modules"].items():
        if entry["modules"]:
            subs = ", ".join(f"{s} ×{n}" for s, n in entry["submodules"].items())
            blocks = compress_ranges(entry["blocks"]) or "-"
            label = GROUP_TITLES[group] + (f" ({', '.join(entry['encoders'])})" if entry.get("encoders") else "")
            modules.add_row(label, str(entry["modules"]), blocks, Text(_short(subs, 90)))
    if modules.row_count:
        console.print(modules)

    groups = dict(d["metadata"], fluxgen={f"fluxgen.{k}": v for k, v in d["fluxgen"].items()})
    console.print(_metadata_table(groups, Table, Text))
    for warning in d["warnings"]:
        console.print(Text(f"! {warning}", style="yellow"))


def _metadata_table(groups: dict[str, dict[str, str]], table_cls, text_cls):
    table = table_cls(title="metadata", title_justify="left", box=None, padding=(0, 2))
    table.add_column("group")
    table.add_column("key")
    table.add_column("value")
    for group, items in groups.items():
        if not items:
            continue
        shown = {k: v for k, v in items.items() if group != "ss" or k in SS_SHOWN}
        first = True
        for key, value in shown.items():
            table.add_row(group if first else "", text_cls(key), text_cls(_short(value)))
            first = False
        hidden = len(items) - len(shown)
        if hidden:
            table.add_row(group if first else "", text_cls(f"… {hidden} more"), text_cls("(--json shows all)"))
    if not table.row_count:
        table.add_row("-", "no metadata", "")
    return table
