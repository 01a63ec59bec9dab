"""`prepare --caption NAME` and `prepare --masks subject`: models run over the prepared pictures in the staging
folder, before it is swapped in, so the output appears complete or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.dataset.caption_pass import CaptionJob, CaptionRecord, open_picture, run_captioner
from fluxgen.dataset.caption_text import DEFAULT_TEMPLATE
from fluxgen.dataset.provenance import captions_record
from fluxgen.dataset.transform import encode
from fluxgen.dataset.writer import FileReport, OutputJob
from fluxgen.fsio import atomic_write

if TYPE_CHECKING:
    from fluxgen.dataset.prepare import PrepareOptions

MASK_BATCH = 4


def caption_outputs(temp: Path, jobs: list[OutputJob], reports: dict[str, FileReport], opts: PrepareOptions,
                    progress: Any = None) -> dict[str, Any] | None:
    """Caption the written pictures whose source had no caption; returns captions.json's content."""
    from fluxgen.dataset.autocaption import CaptionOptions
    from fluxgen.dataset.captioners import load_captioner

    todo = [CaptionJob(out, temp / out, temp / (Path(out).with_suffix(job.caption_ext)))
            for job in jobs if job.from_captioner and reports[job.source].skipped is None
            for out in reports[job.source].outputs if not out.endswith(job.caption_ext)]
    if not opts.caption or not todo:
        return None
    captioner = load_captioner(opts.caption, model=opts.caption_model, device=opts.device,
                               prompt=opts.caption_prompt, max_new_tokens=opts.caption_max_tokens)
    template = opts.caption_template or (DEFAULT_TEMPLATE if opts.trigger else "{caption}")
    settings = CaptionOptions(captioner=opts.caption, model=opts.caption_model, prompt=opts.caption_prompt,
                              kind=opts.kind, trigger=opts.trigger, template=template,
                              max_new_tokens=opts.caption_max_tokens)
    rules = settings.rules()  # the rules `dataset caption` applies (a tagger's output stays tags)
    records: list[CaptionRecord] = []
    if progress is not None:
        progress.start(len(todo), f"captioning with {opts.caption}")
    try:
        broken = run_captioner(todo, captioner, rules, opts.caption_batch, records.append,
                               progress.advance if progress is not None else None)
    finally:
        if progress is not None:
            progress.stop()
    owner = {out: reports[job.source] for job in jobs for out in reports[job.source].outputs}
    for record in records:
        report = owner[record.file]
        caption = str(Path(record.file).parent / record.caption_file).removeprefix("./")
        if caption not in report.outputs:
            report.outputs.append(caption)
    provenance = captions_record(settings, captioner, captioner.model_id, records, broken)
    atomic_write(temp / "captions.json", json.dumps(provenance, indent=2, ensure_ascii=False) + "\n", force=True)
    return provenance


def mask_outputs(temp: Path, mask_temp: Path, jobs: list[OutputJob], reports: dict[str, FileReport],
                 opts: PrepareOptions, progress: Any = None) -> None:
    """A subject mask for every written picture, named as the trainers look for it in the mask folder."""
    from fluxgen.dataset.captioners import load_segmenter

    pairs = []
    for job in jobs:
        report = reports[job.source]
        if report.skipped is not None:
            continue
        pictures = [out for out in report.outputs if not out.endswith(job.caption_ext)]
        pairs += [(temp / out, name, report) for out, name in zip(pictures, job.mask_names, strict=True)]
    if not pairs:
        return
    segmenter = load_segmenter(opts.mask_model_name, model=opts.mask_model, device=opts.device,
                               prompt=opts.mask_prompt or _subject_prompt(opts))
    if progress is not None:
        progress.start(len(pairs), f"subject masks with {opts.mask_model_name}")
    try:
        for start in range(0, len(pairs), MASK_BATCH):
            batch = pairs[start:start + MASK_BATCH]
            masks = segmenter.masks([open_picture(path) for path, _, _ in batch])
            for (_, name, report), mask in zip(batch, masks, strict=True):
                atomic_write(mask_temp / name, encode(mask, "png"), force=True)
                report.masks.append(name)
            if progress is not None:
                progress.advance(len(batch))
    finally:
        if progress is not None:
            progress.stop()


def _subject_prompt(opts: PrepareOptions) -> str:
    """CLIPSeg reads a description, not a made-up trigger: the kind's plain word."""
    return {"character": "the person", "subject": "the main subject"}.get(opts.kind or "", "the main subject")
