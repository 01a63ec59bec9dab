"""Examples for every command's --help, with the output a user will see: kept in one table so each command stays
thin and the test over this table checks that none is missing."""

from __future__ import annotations

import click

# command path (as typed after `fluxgen`) -> example lines; "$ " starts a command, the other lines are its output.
EXAMPLES: dict[str, str] = {
    "schema": """$ fluxgen schema --out intent.schema.json
wrote intent.schema.json
$ fluxgen schema | jq '.properties.trainer.properties | keys'
["ai-toolkit", "builtin", "sd-scripts"]""",
    "plan": """$ fluxgen plan cyber-skull --images ./skull-1024
(a table: key, value, origin — steps 2000 ← rule: steps = 100 × 20 images (design card, seed:000) — then advice)
$ fluxgen plan subject --images ./imgs --rank 16 --set train.lr=5e-5 --json
{"values": {...}, "origins": {...}, "warnings": [...], "hash": "sha256:…"}""",
    "render": """$ fluxgen render cyber-skull --images ./skull-1024 --out cfg-aitk/
ai-toolkit: 2000 steps, rank 32, plan sha256:…
wrote cfg-aitk/config.yaml
wrote cfg-aitk/plan.json""",
    "explain": """$ fluxgen explain subject steps --images ./skull-1024
steps = 2000
    ← rule: steps = 100 × 20 images (design card, seed:000)
      seed:000: fal.ai best practices: cyber-skull subject and graphic-grebble style LoRAs""",
    "validate": """$ fluxgen validate my-old-config.yaml
errors:
my-old-config.yaml: config.process[0].train.lr: nan is not a number a trainer can use (write a finite number)
my-old-config.yaml: failed: 1 error, 0 warnings, 0 info (ai-toolkit-config)""",
    "presets": """$ fluxgen presets ls
$ fluxgen presets show cyber-skull
$ fluxgen presets cp cyber-skull ./my-skull.yaml""",
    "presets ls": """$ fluxgen presets ls
character        kind      Character LoRA: one person or character with a consistent face, like "ohwx woman".
(one line per preset: name, where it comes from, what it is for)""",
    "presets show": """$ fluxgen presets show cyber-skull
(the preset file as it is: its header comment, then its keys)""",
    "presets cp": """$ fluxgen presets cp cyber-skull ./my-skull.yaml
copied cyber-skull to my-skull.yaml""",
    "dataset": """$ fluxgen dataset lint ./skull-images --trigger CSKULL
$ fluxgen dataset prepare ./skull-images --out ./skull-1024 --crop square --trigger CSKULL
$ fluxgen dataset fingerprint ./skull-1024""",
    "dataset lint": """$ fluxgen dataset lint ./skull-images --kind subject --trigger CSKULL
(each finding: severity, file, the problem and the fix; then the summary)
20 images, 20 captions: 0 errors, 0 warnings, 0 notes""",
    "dataset prepare": """$ fluxgen dataset prepare ./skull-images --out ./skull-1024 --crop square --trigger CSKULL
(what was done to each file, then the lint of ./skull-1024)""",
    "dataset fingerprint": """$ fluxgen dataset fingerprint ./skull-1024
sha256:50d2fa0d6664e0438ae2e24d35b83b485f1551b38c6447863eeb788a71c20953""",
    "train": """$ fluxgen train cyber-skull --images ./skull-1024 --backend ai-toolkit
(the run folder, then one live progress bar: step/total, smoothed loss, lr, s/it, ETA, last checkpoint;
 at the end the diagnosis and, on failure, its fix)
$ fluxgen train cyber-skull --images ./skull-1024 --dry-run
(the command, its environment and the run folder it would create; nothing starts)""",
    "runs": """$ fluxgen runs
(one line per run: name, backend, status, step/total, last loss, age; a damaged record is listed as damaged)""",
    "status": """$ fluxgen status runs/cyber-skull-20261121-101500
(status, progress with speed and ETA while it runs, diagnosis and fix, checkpoints, attempts)""",
    "resume": """$ fluxgen resume runs/cyber-skull-20261121-101500
(a new attempt from the newest valid checkpoint; broken ones are set aside and named)""",
    "reproduce": """$ fluxgen reproduce runs/cyber-skull-20261121-101500/config.yaml --images ./my-copy --dry-run
(a note for each difference from their run: dataset fingerprint, trainer commit, fluxgen version)""",
    "diff": """$ fluxgen diff runs/a runs/b
rank:
  A 32   ← preset presets/cyber-skull.yaml:…
  B 16   ← command line --rank""",
    "doctor": """$ fluxgen doctor
ai-toolkit:
  [ok  ] python: .venv/bin/python (Python 3.11.7, the current Python)
(each trainer's checkout, Python and imports; GPU, disk, RAM; whether an HF token is set, never its value)""",
    "parse-log": """$ fluxgen parse-log --backend sd-scripts train.log
(steps, checkpoints, samples, then:)
diagnosis (disk_full): The disk ran out of space while the trainer was writing: OSError: [Errno 28] …
  fix: Free space on the disk that holds the output folder …""",
    "model": """$ fluxgen model tiny ./tiny-flux
built a tiny random FLUX.1 (seed 0, 634 KB): ./tiny-flux""",
    "model tiny": """$ fluxgen model tiny ./tiny-flux
built a tiny random FLUX.1 (seed 0, 634 KB): ./tiny-flux""",
    "lora": """$ fluxgen lora inspect output/cyber-skull.safetensors
$ fluxgen lora convert output/cyber-skull.safetensors --to kohya""",
    "lora inspect": """$ fluxgen lora inspect output/cyber-skull.safetensors
(format, ranks, alpha, modules, metadata with tokens shown as ***, and what the file does not record)""",
    "report": """$ fluxgen report runs/cyber-skull-20261121-101500
(writes report.html and loss.png into the run folder and names them)""",
    "dataset caption": """$ fluxgen dataset caption ./skull-images --out ./skull-captioned --trigger CSKULL
(a progress bar with images/s; each broken image named; captions.json written; then the lint of the result)
$ fluxgen dataset caption ./art --out ./art-captioned --captioner blip2 --mode sparse --kind style --trigger GXSTYLE""",
    "lora convert": """$ fluxgen lora convert output/cyber-skull.safetensors --to kohya
(the converted file's path and its format: kohya keys with .alpha, for ComfyUI and Forge)
$ fluxgen lora convert my_kohya.safetensors --to diffusers --out my_diffusers.safetensors""",
    "eval": """$ fluxgen eval runs/cyber-skull-20261121-101500
(a progress bar over checkpoints × prompts × strengths; then the recommendation: checkpoint, strength and the
 rule with its thresholds and sources; RUN/eval/ holds the contact sheets and eval.json)
$ fluxgen eval my.safetensors --base ./tiny-flux --images ./skull-1024 --prompts prompts.txt""",
    "publish": """$ fluxgen publish runs/cyber-skull-20261121-101500 --repo me/cyber-skull --dry-run
(the folder it would upload: the LoRA, README.md model card, samples, eval sheets, intent and plan)
$ HF_TOKEN=… fluxgen publish runs/cyber-skull-20261121-101500 --repo me/cyber-skull --checkpoint best""",
    "import": """$ fluxgen import their-config.yaml --out my-intent.yaml
(each value with the file:line it came from; what no intent key can say is listed in the intent's header)
$ fluxgen import args.toml --backend sd-scripts --minimal --out i.yaml && fluxgen render i.yaml --backend ai-toolkit --out cfg/""",
    "sweep": """$ fluxgen sweep cyber-skull --images ./skull-1024 --grid train.lr=1e-4,5e-5 --grid network.rank=16,32
$ fluxgen sweep status sweeps/cyber-skull-20261206-101500
$ fluxgen sweep report sweeps/cyber-skull-20261206-101500""",
    "sweep start": """$ fluxgen sweep cyber-skull --images ./skull-1024 --grid train.lr=1e-4,5e-5 --executor slurm --slurm-partition gpu
(one line per point as it starts and ends; at the end a table of every point's state and diagnosis)""",
    "sweep status": """$ fluxgen sweep status sweeps/cyber-skull-20261206-101500
(a table: point, values, state, step, loss, diagnosis)""",
    "sweep report": """$ fluxgen sweep report sweeps/cyber-skull-20261206-101500
(writes report.html in the sweep folder: loss curves overlaid, final samples, eval results, and names it)""",
    "sweep resume": """$ fluxgen sweep resume sweeps/cyber-skull-20261206-101500
(completed points are skipped, interrupted ones continue from their last checkpoint)""",
    "sweep cancel": """$ fluxgen sweep cancel sweeps/cyber-skull-20261206-101500
(every running point is stopped: local children ended, SLURM jobs cancelled)""",
    "sweep run-point": """$ fluxgen sweep run-point sweeps/cyber-skull-20261206-101500 p1
(what an executor runs for one point: the ordinary training of that point's run folder)""",
}


def add_examples(command: click.Command, path: str) -> click.Command:
    """Give a command (and a group's subcommands) its examples as the help's last section."""
    text = EXAMPLES.get(path)
    if text and not (command.epilog or "").startswith("Examples"):
        lines = "\n".join(f"  {line}" for line in text.splitlines())
        command.epilog = f"\b\nExamples:\n{lines}"
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            add_examples(sub, f"{path} {name}")
    return command
