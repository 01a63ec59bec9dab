"""`fluxgen dataset caption DIR --out DIR2`: a copy of DIR with a caption for every readable picture.

DIR is only read. The output is built in a hidden folder beside --out and swapped in at the end; that folder
keeps each finished caption, so a run that stops (Ctrl-C, a crash, a full disk) resumes where it stopped when
the same command is run again. captions.json records how every caption was made.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgen.dataset.caption_pass import (
    CaptionJob,
    CaptionRecord,
    now_iso,
    open_picture,
    run_captioner,
    write_caption,
)
from fluxgen.dataset.caption_text import DEFAULT_TEMPLATE, ENCODER_TOKENS, MODES, CaptionRules, default_mode
from fluxgen.dataset.captions import TRIGGER_PLACEHOLDER, apply_template, normalize_caption, read_caption
from fluxgen.dataset.lint import LintReport, lint_dataset
from fluxgen.dataset.outdir import MARKER, check_out, swap_in
from fluxgen.dataset.provenance import captions_record
from fluxgen.dataset.scan import (
    canonical_backend,
    check_caption_ext,
    check_choice,
    check_folder,
    repair_name,
)
from fluxgen.errors import UserError
from fluxgen.fsio import atomic_write
from fluxgen.kinds import KINDS

PROVENANCE = "captions.json"
PARTIAL = ".captions.partial.jsonl"


@dataclass
class CaptionOptions:
    captioner: str = "florence2"
    model: str | None = None
    prompt: str | None = None
    mode: str | None = None  # default: sparse for a style, detailed otherwise
    kind: str | None = None
    trigger: str | None = None
    template: str | None = None  # default: '{trigger}, {caption}' with a trigger, the caption alone without
    encoder: str = "t5"
    backend: str | None = None
    overwrite: bool = False
    only_missing: bool = False
    batch_size: int = 4
    device: str = "auto"
    max_new_tokens: int | None = None
    caption_ext: str = ".txt"

    def rules(self) -> CaptionRules:
        tagger = self.captioner == "wd14"  # a tagger's output is tags already
        return CaptionRules(mode=self.mode or ("tags" if tagger else default_mode(self.kind)), kind=self.kind, trigger=self.trigger,
                            template=self.template or DEFAULT_TEMPLATE, encoder=self.encoder)

    def settings(self, model_id: str) -> dict[str, Any]:
        """What decides a model caption: a recorded caption is reused only when all of it is the same."""
        rules = self.rules()
        return {"captioner": self.captioner, "model": model_id, "prompt": self.prompt, "mode": rules.mode,
                "template": rules.template, "trigger": rules.trigger, "kind": rules.kind, "encoder": rules.encoder,
                "max_new_tokens": self.max_new_tokens}


@dataclass
class CaptionResult:
    out: Path
    records: list[CaptionRecord]
    broken: list[tuple[str, str]]
    lint: LintReport
    provenance: dict[str, Any]
    reused: int = 0
    seconds: float = 0.0
    captioned: int = 0

    @property
    def images_per_second(self) -> float | None:
        return self.captioned / self.seconds if self.captioned and self.seconds else None


@dataclass
class _Work:
    staging: Path
    records: list[CaptionRecord] = field(default_factory=list)
    jobs: list[CaptionJob] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)
    reused: int = 0


def check_options(opts: CaptionOptions) -> None:
    from fluxgen.dataset.captioners import CAPTIONERS, pick
    from fluxgen.dataset.prepare import check_template

    pick(opts.captioner, CAPTIONERS, "captioner")
    opts.captioner = opts.captioner.strip().lower()
    opts.kind = check_choice(opts.kind, KINDS, "kind")
    opts.backend = canonical_backend(opts.backend)
    opts.trigger = opts.trigger.strip() if opts.trigger and opts.trigger.strip() else None
    opts.caption_ext = check_caption_ext(opts.caption_ext)
    if opts.mode is not None and opts.mode not in MODES:
        raise UserError(f"--mode '{opts.mode}': choose one of {', '.join(MODES)}")
    if opts.encoder not in ENCODER_TOKENS:
        raise UserError(f"--encoder '{opts.encoder}': choose t5 (512 tokens) or clip (77 tokens)")
    if opts.overwrite and opts.only_missing:
        raise UserError("--overwrite recaptions every image and --only-missing only those without a caption; "
                        "pass one of them")
    if opts.batch_size < 1:
        raise UserError(f"--batch-size {opts.batch_size}: use 1 or more")
    if opts.template is None:
        opts.template = DEFAULT_TEMPLATE if opts.trigger else "{caption}"
    check_template(opts.template, opts.trigger, "--template")


def caption_dataset(src: str | os.PathLike[str], out: str | os.PathLike[str], options: CaptionOptions | None = None,
                    force: bool = False, *, captioner: Any = None, progress: Any = None) -> CaptionResult:
    """Copy DIR's pictures into --out with a caption each; `captioner` (already loaded) replaces loading one."""
    opts = options or CaptionOptions()
    check_options(opts)
    root = check_folder(src)
    target = check_out(root, Path(out), force)
    staging = _staging(target)
    work = _Work(staging)
    model_id = captioner.model_id if captioner is not None else _model_id(opts)
    settings = opts.settings(model_id)
    done = _recorded(staging, target, settings)
    _plan(root, opts, work, done)
    loaded, seconds = _caption_missing(work, opts, captioner, progress)
    for rel, _reason in work.broken:
        (staging / repair_name(rel)).unlink(missing_ok=True)
    provenance = captions_record(opts, loaded or captioner, model_id, work.records, work.broken)
    atomic_write(staging / PROVENANCE, json.dumps(provenance, indent=2, ensure_ascii=False) + "\n", force=True)
    (staging / PARTIAL).unlink(missing_ok=True)
    _swap(staging, target)
    lint = lint_dataset(target, kind=opts.kind, trigger=opts.trigger, backend=opts.backend,
                        caption_mode="captions", caption_ext=opts.caption_ext)
    captioned = sum(1 for r in work.records if r.source == "model") - work.reused
    return CaptionResult(target, work.records, work.broken, lint, provenance, work.reused, seconds, captioned)


def _model_id(opts: CaptionOptions) -> str:
    from fluxgen.dataset.captioners import CAPTIONERS

    return opts.model or CAPTIONERS[opts.captioner].model


def _staging(target: Path) -> Path:
    """A fixed hidden name beside --out, so a second run finds what the first one finished."""
    staging = target.with_name(f".{target.name}.caption-partial")
    if staging.exists() and not (staging / MARKER).is_file():
        raise UserError(f"{staging}: exists and was not written by fluxgen; move it away and run again")
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{target}: cannot write beside it ({exc.strerror or exc}); pick an --out you can write "
                        "to") from None
    atomic_write(staging / MARKER, json.dumps({"written_by": "fluxgen dataset caption"}) + "\n", force=True)
    return staging


def _recorded(staging: Path, target: Path, settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Model captions already made with these settings, from an interrupted run or the output being replaced."""
    done: dict[str, dict[str, Any]] = {}
    previous = target / PROVENANCE
    if previous.is_file():
        try:
            data = json.loads(previous.read_text(encoding="utf-8"))
            if data.get("settings") == settings:
                done.update({k: v for k, v in data.get("files", {}).items() if v.get("source") == "model"})
        except (OSError, ValueError, AttributeError):
            pass
    partial = staging / PARTIAL
    if partial.is_file():
        for line in partial.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the line being written when the run stopped
            if entry.get("settings") == settings:
                done[entry["file"]] = entry
    return done


def _plan(root: Path, opts: CaptionOptions, work: _Work, done: dict[str, dict[str, Any]]) -> None:
    from fluxgen.dataset.scan import scan_folder

    for rel in scan_folder(root, opts.caption_ext).images:
        out_rel = repair_name(rel)
        try:
            data = (root / rel).read_bytes()
        except OSError as exc:
            work.broken.append((rel, f"cannot read it ({exc.strerror or exc})"))
            continue
        image = work.staging / out_rel
        if not image.is_file() or image.read_bytes() != data:
            atomic_write(image, data, force=True)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        caption_path = image.with_name(Path(out_rel).stem + opts.caption_ext)
        existing = _existing_caption(root, rel, opts.caption_ext)
        job = CaptionJob(out_rel, image, caption_path, existing, digest)
        if existing is not None and not opts.overwrite:
            _keep(job, opts, work)
        elif out_rel in done and done[out_rel].get("sha256") == digest:
            _reuse(job, done[out_rel], work)
        else:
            work.jobs.append(job)


def _existing_caption(root: Path, rel: str, ext: str) -> str | None:
    path = root / (os.path.splitext(rel)[0] + ext)
    if not path.is_file():
        return None
    facts = read_caption(path, rel)
    return None if facts.error or facts.blank else normalize_caption(facts.text)


def _keep(job: CaptionJob, opts: CaptionOptions, work: _Work) -> None:
    """An image that has a caption: verbatim with --only-missing, else with the trigger where the template says."""
    try:
        open_picture(job.image)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        work.broken.append((job.rel, f"cannot decode it ({exc})"))
        return
    text = job.existing or ""
    source = "kept"
    if not opts.only_missing:
        if opts.trigger and TRIGGER_PLACEHOLDER in text.lower():
            text = text.replace(TRIGGER_PLACEHOLDER, opts.trigger)
        text = apply_template(opts.template or DEFAULT_TEMPLATE, trigger=opts.trigger, caption=text, name=Path(job.rel).stem)
        source = "template"
    write_caption(job.caption_path, text)
    work.records.append(CaptionRecord(job.rel, job.caption_path.name, source, text, None, [], 0.0, now_iso(),
                                      job.digest))


def _reuse(job: CaptionJob, entry: dict[str, Any], work: _Work) -> None:
    write_caption(job.caption_path, entry["caption"])
    keys = ("caption", "raw", "notes", "seconds", "time")
    work.records.append(CaptionRecord(job.rel, job.caption_path.name, "model", **{k: entry.get(k) for k in keys},
                                      sha256=job.digest))
    work.reused += 1


def _caption_missing(work: _Work, opts: CaptionOptions, captioner: Any, progress: Any) -> tuple[Any, float]:
    """Load the captioner only when some picture needs it; append each finished caption to the partial log."""
    import time

    if not work.jobs:
        return None, 0.0
    if captioner is None:
        from fluxgen.dataset.captioners import load_captioner

        captioner = load_captioner(opts.captioner, model=opts.model, device=opts.device, prompt=opts.prompt,
                                   max_new_tokens=opts.max_new_tokens)
    settings = opts.settings(captioner.model_id)
    log = (work.staging / PARTIAL).open("a", encoding="utf-8")

    def done(record: CaptionRecord) -> None:
        work.records.append(record)
        entry = {**record.to_dict(), "settings": settings}
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        log.flush()

    began = time.perf_counter()
    if progress is not None:
        progress.start(len(work.jobs), f"captioning with {opts.captioner}")
    try:
        work.broken += run_captioner(work.jobs, captioner, opts.rules(), opts.batch_size, done,
                                     progress.advance if progress is not None else None)
    finally:
        log.close()
        if progress is not None:
            progress.stop()
    return captioner, time.perf_counter() - began


def _swap(staging: Path, target: Path) -> None:
    try:
        swap_in(staging, target)
    except OSError as exc:
        raise UserError(f"{target}: cannot put the output in place ({exc.strerror or exc}); the finished captions "
                        f"are kept in {staging}, run the same command again") from None
