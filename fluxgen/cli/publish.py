"""`fluxgen publish`: build the Hub repo folder for a run's LoRA and upload it."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("publish")
@click.argument("run")
@click.option("--repo", required=True, help="Hub repo, USER/NAME.")
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs"), show_default=True)
@click.option("--checkpoint", "which", default="auto",
              help="best (the evaluation's choice), last, or a step [best when evaluated, else last].")
@click.option("--format", "fmt", type=click.Choice(["kohya", "diffusers", "both"]), default="kohya",
              show_default=True, help="LoRA key format(s) to publish.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder to build (default RUN/publish/NAME).")
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--dry-run", is_flag=True, help="Write the folder and upload nothing.")
@click.option("--force", is_flag=True, help="Replace an --out folder fluxgen did not write.")
def publish_cmd(run: str, repo: str, runs: Path, which: str, fmt: str, out: Path | None, private: bool,
                dry_run: bool, force: bool) -> None:
    """Write a model repo folder (LoRA named NAME_v1_<steps>steps, model card, samples, eval sheets, intent
    and plan with origins) and upload it with huggingface_hub (token: HF_TOKEN or `hf auth login`)."""
    from fluxgen.publish.build import build_folder
    from fluxgen.publish.folder import check_repo_id
    from fluxgen.runs.folder import find_run

    check_repo_id(repo)
    run_dir = find_run(run, runs)
    folder = out or run_dir / "publish" / repo.split("/")[1]
    if not dry_run:
        from fluxgen.publish.upload import find_token

        find_token()  # before any work: a missing token is the commonest failure
    info = build_folder(run_dir, repo, folder, which, fmt, force)
    click.echo(f"wrote {folder}: {', '.join(f['file'] for f in info['files'])} (step {info['steps']}, "
               f"strength {info['strength']}), README.md, {len(info['widget'])} samples")
    if dry_run:
        click.echo("dry run: nothing uploaded")
        return
    from fluxgen.publish.upload import upload

    click.echo(f"uploaded: {upload(folder, repo, private)}")
