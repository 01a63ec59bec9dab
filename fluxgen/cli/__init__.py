"""The `fluxgen` command: a lazy click group, so `--help` imports no command module's dependencies."""

from __future__ import annotations

import importlib

import click

from fluxgen import __version__

# command name -> (module, attribute). Modules are imported only when their command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("fluxgen.cli.plan", "plan_cmd"),
    "render": ("fluxgen.cli.plan", "render_cmd"),
    "explain": ("fluxgen.cli.plan", "explain_cmd"),
    "validate": ("fluxgen.cli.validate", "validate_cmd"),
    "import": ("fluxgen.cli.import_config", "import_cmd"),
    "presets": ("fluxgen.cli.presets", "presets_group"),
    "dataset": ("fluxgen.cli.dataset", "dataset_group"),
    "train": ("fluxgen.cli.train", "train_cmd"),
    "runs": ("fluxgen.cli.runs", "runs_cmd"),
    "status": ("fluxgen.cli.runs", "status_cmd"),
    "resume": ("fluxgen.cli.train", "resume_cmd"),
    "reproduce": ("fluxgen.cli.train", "reproduce_cmd"),
    "diff": ("fluxgen.cli.runs", "diff_cmd"),
    "doctor": ("fluxgen.cli.doctor", "doctor_cmd"),
    "setup": ("fluxgen.cli.setup", "setup_cmd"),
    "parse-log": ("fluxgen.cli.parse_log", "parse_log_cmd"),
    "model": ("fluxgen.cli.model", "model_group"),
    "lora": ("fluxgen.cli.lora", "lora_group"),
    "report": ("fluxgen.cli.report", "report_cmd"),
    "sweep": ("fluxgen.cli.sweep", "sweep_group"),
    "eval": ("fluxgen.cli.evaluate", "eval_cmd"),
    "publish": ("fluxgen.cli.publish", "publish_cmd"),
    "schema": ("fluxgen.cli.schema", "schema_cmd"),
}

# One-line summaries for `fluxgen --help`, kept here so listing commands imports nothing.
SUMMARIES: dict[str, str] = {
    "plan": "Resolve an intent into every training value, with its origin and advice.",
    "render": "Write the trainer's config files for an intent into a folder.",
    "explain": "Say why each value of a plan is what it is.",
    "validate": "Check a hand-written ai-toolkit YAML, sd-scripts TOML or command line.",
    "import": "Turn a hand-written trainer config or command line into a fluxgen intent.",
    "presets": "List, show and copy presets.",
    "dataset": "Lint, prepare and fingerprint a training dataset.",
    "train": "Plan, render, launch and follow a training run, and record it.",
    "runs": "List recorded runs.",
    "status": "Show a run's state and diagnosis.",
    "resume": "Continue an interrupted run from its last valid checkpoint.",
    "reproduce": "Repeat a run from its folder or from a generated config file.",
    "diff": "Show what differs between two runs or two configs.",
    "doctor": "Check trainers, Python environments, GPU, disk and tokens.",
    "setup": "Install a trainer at its pin into its own locked environment.",
    "parse-log": "Turn a saved trainer console log into events and a diagnosis.",
    "model": "Build local test models (a tiny random FLUX.1).",
    "lora": "Inspect and convert LoRA safetensors files (kohya <-> diffusers).",
    "report": "Write a run's HTML report and loss curve.",
    "sweep": "Train a grid of variants (local pool, SLURM, SkyPilot); status, report, resume, cancel.",
    "eval": "Score a run's checkpoints with CLIP and DINO and recommend one and a strength.",
    "publish": "Build a Hub model repo folder (card, LoRA, samples) and upload it.",
    "schema": "Write the intent's JSON Schema (descriptions, types, choices, pass-through keys).",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        from fluxgen.cli.examples import add_examples

        return add_examples(getattr(module, target[1]), cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        """User mistakes end in one line on stderr and exit 1 (usage errors: 2), never a traceback."""
        from fluxgen.errors import FluxgenError

        try:
            return super().invoke(ctx)
        except FluxgenError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (OSError, ValueError, RecursionError) as exc:
            message = _unusable_input(exc)
            if message is None:
                raise
            click.echo(f"error: {message}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            ctx.fail(f"no such command '{name}'{hint}")
        return super().resolve_command(ctx, args)


def _unusable_input(exc: BaseException) -> str | None:
    """Paths no file system takes and input nested past what Python can read, wherever a command meets them."""
    import errno

    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        name = str(exc.filename or "")
        shown = name if len(name) <= 80 else f"{name[:40]}…{name[-30:]}"
        return f"{shown}: a file or folder name is longer than the file system allows (255 bytes); use a shorter one"
    if isinstance(exc, ValueError) and "null byte" in str(exc):
        return "a path contains a NUL byte, which no file name can hold; remove it"
    if isinstance(exc, RecursionError):
        return "the input is nested too deeply to read; a config is a few levels deep, so check its brackets"
    return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fluxgen")
def cli() -> None:
    """Turn a FLUX.1 LoRA intent into correct trainer configs, check the dataset, run and record it.

    \b
    Quick start:
      fluxgen plan cyber-skull --images ./my-images
      fluxgen render cyber-skull --images ./my-images --backend sd-scripts --out ./cfg
      fluxgen train cyber-skull --images ./my-images
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="fluxgen")
