"""`fluxgen dataset lint|prepare|fingerprint`: parse options, call fluxgen.dataset, print."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from fluxgen.backends import BACKENDS
from fluxgen.dataset.captioners import CAPTIONERS
from fluxgen.kinds import CAPTION_MODES, KINDS

KIND = click.Choice(KINDS, case_sensitive=False)
BACKEND = click.Choice(BACKENDS.choices(), case_sensitive=False)
CAPTIONS = click.Choice(CAPTION_MODES, case_sensitive=False)
CAPTIONER_NAMES = list(CAPTIONERS)
COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def _common(fn):
    """Options lint and prepare share: what the dataset is for decides severities and advice."""
    for decorator in reversed([
        click.option("--kind", type=KIND, help="What the LoRA learns; sets the advice and the caption default."),
        click.option("--trigger", metavar="WORD", help="Trigger word every caption should carry. prepare puts it where "
                     "--caption-template says (default '{trigger}, {caption}'), never twice, and writes it alone "
                     "for an image without a caption (or with the captioner's words, with --caption)."),
        click.option("--backend", type=BACKEND, help="Trainer that will read the folder (kohya = sd-scripts)."),
        click.option("--resolution", type=click.IntRange(min=64), default=1024, show_default=True,
                     help="Training resolution in pixels."),
        click.option("--captions", "captions", type=CAPTIONS,
                     help="captions: every image needs a caption file; trigger: the trigger word alone; none: no "
                     "captions. Default: trigger for a style, captions otherwise."),
        _caption_ext_option(),
    ]):
        fn = decorator(fn)
    return fn


def _caption_ext_option():
    return click.option("--caption-ext", default=".txt", show_default=True, metavar="EXT",
                        help="Extension of the caption files (sd-scripts' caption_extension, ai-toolkit's "
                        "caption_ext).")


def _folder(folder: str):
    """The DIR argument, checked with wording that names it (the library's own names the planner's --images)."""
    from fluxgen.dataset.scan import ARGUMENT_HINT, check_folder

    return check_folder(folder, hint=ARGUMENT_HINT)


def _echo_lines(lines) -> None:
    for text, severity in lines:
        click.echo(click.style(text, fg=COLOURS.get(severity or "")))


def _finish(as_json: bool, data: Callable[[], dict], lines: Callable[[], list], errors: bool) -> None:
    """Print the result as one JSON object or as coloured lines; exit 1 when its lint found errors."""
    if as_json:
        click.echo(json.dumps(data(), indent=2, ensure_ascii=False))
    else:
        _echo_lines(lines())
    click.get_current_context().exit(1 if errors else 0)


@click.group("dataset")
def dataset_group() -> None:
    """Check, prepare and fingerprint a folder of training images and captions."""


@dataset_group.command("lint")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=True, dir_okay=True))
@_common
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (findings and summary).")
def lint_cmd(folder, kind, trigger, backend, resolution, captions, caption_ext, as_json) -> None:
    """Check DIR for what a trainer would trip over.

    Each finding names the file, the problem and the fix; exit 1 if any is an error.
    """
    from fluxgen.dataset.lint import lint_dataset
    from fluxgen.dataset.present import lint_lines

    report = lint_dataset(_folder(folder), kind=kind, trigger=trigger, backend=backend, resolution=resolution,
                          caption_mode=captions, caption_ext=caption_ext)
    _finish(as_json, report.to_dict, lambda: lint_lines(report), bool(report.errors))


@dataset_group.command("prepare")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--out", "out", required=True, metavar="DIR2", type=click.Path(),
              help="New folder to write (never inside DIR).")
@_common
@click.option("--exif/--no-exif", default=True, show_default=True, help="Apply EXIF orientation.")
@click.option("--alpha", type=click.Choice(["flatten", "mask", "keep"]), default="flatten", show_default=True,
              help="Transparent images: flatten onto --background; mask: flatten and write every image's mask "
              "into --mask-dir (ai-toolkit's mask_path); keep: leave them transparent (PNG) for alpha_mask.")
@click.option("--mask-dir", metavar="DIR3", type=click.Path(),
              help="Where --alpha mask writes the masks. Default: <DIR2>_masks beside --out.")
@click.option("--background", default="#ffffff", show_default=True, help="Colour under transparent pixels.")
@click.option("--upscale", is_flag=True, help="Enlarge images smaller than the resolution too.")
@click.option("--crop", type=click.Choice(["square", "none"]), default="none", show_default=True,
              help="square: centre square crop (the guides' 1:1 for subjects).")
@click.option("--style-patches", type=int, default=0, metavar="N",
              help="Write N overlapping square crops per image instead of the image (style training).")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "webp"]),
              help="Output format. Default: keep it when the trainer loads it, else png.")
@click.option("--caption-template", metavar="TEXT", help="Caption pattern, e.g. '{trigger}, {caption}'.")
@click.option("--dedupe/--keep-duplicates", default=True, show_default=True,
              help="Skip exact copies of an image already written.")
@click.option("--caption", "captioner", type=click.Choice(CAPTIONER_NAMES, case_sensitive=False),
              help="Write the captions the source lacks with this captioner (pip install 'fluxgen[caption]').")
@click.option("--caption-model", metavar="ID_OR_PATH", help="Captioner checkpoint instead of its default.")
@click.option("--caption-prompt", metavar="TEXT", help="Captioner instruction or task token (see dataset caption).")
@click.option("--caption-max-tokens", type=click.IntRange(min=1), help="Cap on generated tokens per caption.")
@click.option("--masks", type=click.Choice(["subject"]), help="subject: a mask per picture (white = subject) from a "
              "segmentation model, into the mask folder; the plan wires it into each trainer's masked loss.")
@click.option("--mask-model", metavar="ID_OR_PATH", help="CLIPSeg checkpoint (default CIDAS/clipseg-rd64-refined).")
@click.option("--mask-prompt", metavar="TEXT", help="What the subject is, in words (default: 'the main subject').")
@click.option("--device", default="auto", show_default=True, help="For --caption and --masks: auto, cuda, mps, cpu.")
@click.option("--force", is_flag=True, help="Replace an --out that an earlier prepare wrote (it is swapped for the "
              "new output at the end).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
def prepare_cmd(folder, out, kind, trigger, backend, resolution, captions, caption_ext, exif, alpha, mask_dir,
                background, upscale, crop, style_patches, fmt, caption_template, dedupe, captioner, caption_model,
                caption_prompt, caption_max_tokens, masks, mask_model, mask_prompt, device, force, as_json) -> None:
    """Write a cleaned copy of DIR into --out.

    DIR is only read. Prints what was done to each file, then the lint of the result.
    """
    from fluxgen.dataset.prepare import PrepareOptions, prepare_dataset
    from fluxgen.dataset.present import prepare_dict, prepare_lines
    from fluxgen.dataset.progress import ImageProgress

    options = PrepareOptions(
        kind=kind, trigger=trigger, backend=backend, resolution=resolution, exif=exif, alpha=alpha,
        background=background, upscale=upscale, crop=None if crop == "none" else crop,
        style_patches=style_patches, format=fmt, captions=captions, caption_template=caption_template,
        dedupe=dedupe, caption_ext=caption_ext, mask_dir=mask_dir, caption=captioner, caption_model=caption_model,
        caption_prompt=caption_prompt, caption_max_tokens=caption_max_tokens, masks=masks, mask_model=mask_model,
        mask_prompt=mask_prompt, device=device,
    )
    from fluxgen.dataset.pool import stops_unwind

    with stops_unwind():  # SIGTERM/SIGHUP remove the staging folder and end the workers, as Ctrl-C does
        result = prepare_dataset(_folder(folder), out, options, force=force, progress=ImageProgress())
    _finish(as_json, lambda: prepare_dict(result), lambda: prepare_lines(result), bool(result.lint.errors))


@dataset_group.command("caption")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--out", "out", required=True, metavar="DIR2", type=click.Path(),
              help="New folder for the pictures and their captions (never inside DIR).")
@click.option("--captioner", type=click.Choice(CAPTIONER_NAMES, case_sensitive=False), default="florence2",
              show_default=True, help="Model family that writes the captions.")
@click.option("--model", metavar="ID_OR_PATH", help="Checkpoint (hub id or local folder) instead of the default.")
@click.option("--prompt", metavar="TEXT", help="Instruction for qwen2.5-vl/qwen3-vl/joycaption; task token for "
              "florence2 (<CAPTION>, <DETAILED_CAPTION>, <MORE_DETAILED_CAPTION>); text prefix for blip2.")
@click.option("--mode", type=click.Choice(["detailed", "sparse", "tags"]),
              help="detailed: the description; sparse: first clause, no articles (seed:001); tags: comma-separated. "
              "Default: sparse for a style, detailed otherwise.")
@click.option("--kind", type=KIND, help="subject/character: style words are removed; style: sparse captions.")
@click.option("--trigger", metavar="WORD", help="Trigger word, placed by --template (never twice).")
@click.option("--template", metavar="TEXT", help="Caption pattern; fields {trigger}, {caption}, {name}. Default: "
              "'{trigger}, {caption}' with --trigger.")
@click.option("--encoder", type=click.Choice(["t5", "clip"]), default="t5", show_default=True,
              help="Cap captions at what this encoder reads: t5 512 tokens, clip 77.")
@click.option("--backend", type=BACKEND, help="Trainer the lint of the result speaks for.")
@click.option("--overwrite", is_flag=True, help="Recaption images that already have a caption.")
@click.option("--only-missing", is_flag=True, help="Caption only images without one; keep the others verbatim.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (GPU when there is one), cuda, mps or cpu.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), help="Cap on generated tokens per image.")
@_caption_ext_option()
@click.option("--force", is_flag=True, help="Replace an --out that an earlier fluxgen command wrote.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
def caption_cmd(folder, out, captioner, model, prompt, mode, kind, trigger, template, encoder, backend, overwrite,
                only_missing, batch_size, device, max_new_tokens, caption_ext, force, as_json) -> None:
    """Write a caption for every picture of DIR into --out (pip install 'fluxgen[caption]').

    DIR is only read. Existing captions are kept unless --overwrite; a stopped run resumes; captions.json records
    the model, prompt and settings of every caption. Ends with the lint of the result.
    """
    from fluxgen.dataset.autocaption import CaptionOptions, caption_dataset
    from fluxgen.dataset.present import caption_dict, caption_lines
    from fluxgen.dataset.progress import ImageProgress

    options = CaptionOptions(captioner=captioner, model=model, prompt=prompt, mode=mode, kind=kind, trigger=trigger,
                             template=template, encoder=encoder, backend=backend, overwrite=overwrite,
                             only_missing=only_missing, batch_size=batch_size, device=device,
                             max_new_tokens=max_new_tokens, caption_ext=caption_ext)
    result = caption_dataset(_folder(folder), out, options, force=force, progress=ImageProgress())
    _finish(as_json, lambda: caption_dict(result), lambda: caption_lines(result), bool(result.lint.errors))


@dataset_group.command("fingerprint")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=True, dir_okay=True))
@_caption_ext_option()
def fingerprint_cmd(folder, caption_ext) -> None:
    """Print DIR's content hash (sha256:…).

    It covers the relative paths and bytes of images and captions, nothing else.
    """
    from fluxgen.dataset.fingerprint import fingerprint_dataset

    click.echo(fingerprint_dataset(_folder(folder), caption_ext=caption_ext))
