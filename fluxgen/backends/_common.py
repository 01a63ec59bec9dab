"""Pieces every backend shares: the render context, the regenerate command, metadata and command.txt."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from fluxgen import __version__
from fluxgen.backends.base import Outputs
from fluxgen.render import header_lines, render_template, shell_join

if TYPE_CHECKING:
    from fluxgen.plan import Plan

# Environment every trainer gets: unbuffered output so progress arrives as it happens, UTF-8, wide rich logs.
BASE_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}


def regenerate_command(plan: Plan) -> str:
    """Any rendered file plans again from the intent embedded in its header."""
    return "fluxgen render <this file> --out <folder>"


def context(plan: Plan, command: str) -> dict[str, Any]:
    return {"v": plan.values, "header": header_lines(plan, regenerate_command(plan)), "command": command}


def lora_metadata(plan: Plan) -> dict[str, str]:
    """fluxgen's keys in a LoRA file's metadata, as strings (ai-toolkit `meta:`, sd-scripts comment, builtin)."""
    v = plan.values
    meta = {
        "fluxgen.version": __version__,
        "fluxgen.plan_hash": plan.hash,
        "fluxgen.name": v["name"],
        "fluxgen.kind": v["kind"],
        "fluxgen.trigger": v["trigger"] or "",
        "fluxgen.base_model": v["base_model"],
        "fluxgen.rank": str(v["rank"]),
        "fluxgen.alpha": str(v["alpha"]),
        "fluxgen.steps": str(v["steps"]),
        "fluxgen.dataset_fingerprint": v.get("fingerprint") or "",
    }
    return meta


def command_file(plan: Plan, argv: list[str], env: dict[str, str]) -> str:
    lines = [f"# {line}" for line in header_lines(plan, regenerate_command(plan))]
    lines.append("# Run from the folder these files are in:")
    env_part = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    lines.append(f"{env_part} {shell_join(argv)}".strip())
    return "\n".join(lines) + "\n"


def with_trigger(plan: Plan, text: str) -> str:
    """A sample prompt or negative prompt with `[trigger]` replaced by the plan's trigger word."""
    return text.replace("[trigger]", plan.values["trigger"] or "")


def prompts_with_trigger(plan: Plan) -> list[str]:
    return [with_trigger(plan, p) for p in plan.values["sample_prompts"]]


def render_files(plan: Plan, templates: dict[str, str], argv: list[str], env: dict[str, str],
                 extra: dict[str, Any]) -> dict[str, str]:
    ctx = context(plan, shell_join(argv))
    ctx.update(extra)
    files = {name: render_template(tpl, **ctx) for name, tpl in templates.items()}
    files["command.txt"] = command_file(plan, argv, env)
    return files

__all__ = ["BASE_ENV", "Outputs", "command_file", "context", "lora_metadata", "prompts_with_trigger", "render_files"]
