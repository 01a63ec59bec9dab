"""Several image folders (the intent's `datasets:` list): each folder's images, repeats, captions, resolution(s),
masks and `is_reg` become plan values `datasets.<i>.<key>`, each with its origin (the entry's file:line, or the
`dataset:` value or rule it inherits). `folders(values)` gives the backends one list, the single `dataset:` folder
included, so a template walks folders the same way for one or many."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxgen.errors import UserError
from fluxgen.origin import Origin
from fluxgen.rules import Resolver

PREFIX = "datasets."
FIELDS = ("path", "is_reg", "images", "repeats", "caption_mode", "caption_ext", "resolution", "masks")


@dataclass(frozen=True)
class Folder:
    """One image folder as a backend renders it."""

    path: str
    is_reg: bool
    images: int
    repeats: int
    caption_mode: str
    caption_ext: str
    resolution: list[int]
    masks: str | None
    key: str  # the intent key that names it: `dataset.path` or `datasets[1].path` (its fields: replace `.path`)


def several(values: dict[str, Any]) -> bool:
    """Whether the plan came from a `datasets:` list (its values are `datasets.<i>.<key>`)."""
    return f"{PREFIX}0.path" in values


def folders(values: dict[str, Any]) -> list[Folder]:
    """Every folder of a plan in intent order; a plan of one `dataset:` gives one folder from its usual values."""
    if not several(values):
        return [Folder(values["dataset"], False, values["images"], values["repeats"], values["caption_mode"],
                       values["caption_ext"], list(values["resolution"]), values.get("masks"), "dataset.path")]
    out = []
    i = 0
    while f"{PREFIX}{i}.path" in values:
        got = {name: values.get(f"{PREFIX}{i}.{name}") for name in FIELDS}
        out.append(Folder(**got, key=f"datasets[{i}].path"))
        i += 1
    return out


def refuse_inside_any(values: dict[str, Any], out: Path, what: str) -> None:
    """An output folder inside any image folder of the plan would be read as part of it."""
    from fluxgen.dataset.outdir import refuse_inside_dataset

    for folder in folders(values):
        refuse_inside_dataset(folder.path, out, what)


def entry_key(i: int, name: str) -> str:
    return f"datasets[{i}].{name}"


def primary(r: Resolver) -> tuple[str | None, str]:
    """The folder that names the LoRA, is fingerprinted and linted first: `dataset.path`, or the first training
    (not `is_reg`) folder of `datasets:`; with the intent key it came from."""
    entries = r.given("datasets")
    if not entries:
        return r.given("dataset.path"), "dataset.path"
    if r.given("dataset.path") is not None:
        where = r.layered.origins.get("dataset.path", "dataset.path")
        raise UserError(f"dataset.path ({where}): the intent lists its folders under datasets:, so a second folder "
                        "here is ambiguous; add it as an entry of datasets (--images works only without datasets)")
    train = [i for i, e in enumerate(entries) if not e.is_reg]
    if not train:
        raise UserError("datasets: every folder is is_reg (regularisation images); at least one folder must hold "
                        "the images to learn")
    return entries[train[0]].path, f"datasets.{train[0]}.path"


def relative_base(origin: Any) -> Path | None:
    """A dataset path given in a preset file is relative to that file, not to the current folder."""
    if not isinstance(origin, Origin) or origin.kind != "preset" or origin.file is None:
        return None
    candidate = Path(origin.file)
    if not candidate.is_absolute():
        from fluxgen.paths import DATA_ROOT

        candidate = candidate if candidate.exists() else DATA_ROOT / candidate
    return candidate.resolve().parent


def resolve_folder(r: Resolver, path: str, origin_key: str) -> Path:
    """An absolute folder: a path given in a preset file is relative to that file."""
    folder = Path(path).expanduser()
    if not folder.is_absolute():
        base = relative_base(r.layered.origins.get(origin_key, ""))
        folder = (base / folder) if base else folder
    return folder.resolve()


def plan_folders(r: Resolver, lint: bool, first: Any = None) -> list[tuple[str, Any]]:
    """Each entry's folder, image count, repeats and is_reg (before the step rule, which counts them); returns the
    lint reports of the folders other than the first, with the intent key of each. `first` is the lint report of
    the folder that names the LoRA, already linted and fingerprinted by the plan: it is not read again."""
    from fluxgen.dataset.fingerprint import fingerprint_dataset
    from fluxgen.dataset.lint import lint_dataset
    from fluxgen.plan import _lint_advice

    entries = r.given("datasets") or []
    reports = []
    for i, entry in enumerate(entries):
        folder = resolve_folder(r, entry.path, f"{PREFIX}{i}.path")
        where = r.layered.origins.get(f"{PREFIX}{i}.path", "intent")
        if not str(entry.path).strip() or not folder.is_dir():
            raise UserError(f"{entry_key(i, 'path')} {entry.path!r} ({where}): no such folder; give an image folder")
        _given(r, i, "path", str(folder))
        _inherit(r, i, "is_reg", entry.is_reg, None, "a training folder unless is_reg says otherwise", fallback=False)
        _inherit(r, i, "repeats", entry.repeats, r.given("dataset.repeats"),
                 "each image once per epoch (design card)", parent="dataset.repeats", fallback=1)
        mode = entry.captions or (None if entry.is_reg else r.given("dataset.captions"))
        ext = entry.caption_ext or r.given("dataset.caption_ext") or ".txt"
        primary_folder = first is not None and folder == Path(r.values["dataset"]) and not entry.is_reg
        report = first if primary_folder else lint_dataset(
            folder, kind=r.values["kind"], trigger=None if entry.is_reg else r.values["trigger"], backend=r.backend,
            resolution=max(entry.resolution or r.given("train.resolution") or [1024]), caption_mode=mode, quick=True,
            caption_ext=ext if ext.startswith(".") else "." + ext)
        r.set(f"{PREFIX}{i}.images", report.image_count, f"image files in {folder} the {r.backend} trainer loads")
        r.set(f"{PREFIX}{i}.fingerprint", r.values["fingerprint"] if primary_folder else
              fingerprint_dataset(folder, caption_ext=report.context.caption_ext),
              "content hash of the images and their captions")
        if folder != Path(r.values["dataset"]):
            reports.append((entry_key(i, "path"), report))
            if lint:
                _lint_advice(r, report, label=entry_key(i, "path"))
    if entries:
        _count(r, entries)
    return reports


def _count(r: Resolver, entries: list[Any]) -> None:
    """`images` is the training images of every folder that is not `is_reg`; the guides' image counts judge it."""
    from fluxgen.dataset.advice import IMAGE_COUNTS, _count_advice

    train = [i for i in range(len(entries)) if not r.values[f"{PREFIX}{i}.is_reg"]]
    reg = [i for i in range(len(entries)) if r.values[f"{PREFIX}{i}.is_reg"]]
    parts = " + ".join(f"{r.values[f'{PREFIX}{i}.images']} in {entry_key(i, 'path')}" for i in train)
    skipped = f"; the regularisation images of {', '.join(entry_key(i, 'path') for i in reg)} are not counted" \
        if reg else ""
    total = r.set("images", sum(r.values[f"{PREFIX}{i}.images"] for i in train), f"training images: {parts}{skipped}")
    for finding in _count_advice(r.kind, total) if r.kind in IMAGE_COUNTS else []:
        if finding.severity == "warning":
            r.warn(f"datasets: {finding.message} (all training folders together)", "dataset lint (image-count)")


def epoch_views(r: Resolver) -> tuple[int, str]:
    """Image views per epoch that `steps: auto` counts: training images × repeats of every non-reg folder."""
    if not several(r.values):
        images = r.values.get("source_images") or r.values["images"]
        repeats = r.given("dataset.repeats") or 1
        counted = (f"{images} source images (not the {r.values['images']} style patches cut from them)"
                   if "source_images" in r.values else f"{images} images")
        return images * repeats, counted + (f" × {repeats} repeats" if repeats != 1 else "")
    train = [f for f in folders_so_far(r) if not f[1]]
    views = sum(images * repeats for _, _, images, repeats in train)
    shown = " + ".join(f"{images} images × {repeats} repeats in {key}" for key, _, images, repeats in train)
    reg = [key for key, is_reg, _, _ in folders_so_far(r) if is_reg]
    tail = f", regularisation folders {', '.join(reg)} not counted" if reg else ""
    return views, f"{views} image views per epoch ({shown}{tail})"


def folders_so_far(r: Resolver) -> list[tuple[str, bool, int, int]]:
    """(key, is_reg, images, repeats) of each entry, before captions and masks are planned."""
    out, i = [], 0
    while f"{PREFIX}{i}.path" in r.values:
        out.append((entry_key(i, "path"), r.values[f"{PREFIX}{i}.is_reg"], r.values[f"{PREFIX}{i}.images"],
                    r.values[f"{PREFIX}{i}.repeats"]))
        i += 1
    return out


def plan_folder_settings(r: Resolver) -> None:
    """Each entry's captions, caption extension, resolution(s) and masks (after the common caption and mask rules,
    whose values the entries inherit); then the backend says what it cannot do (`Planner.datasets`)."""
    from fluxgen.rules.masks import folder_masks

    entries = r.given("datasets") or []
    for i, entry in enumerate(entries):
        if entry.is_reg and not entry.captions:
            r.set(f"{PREFIX}{i}.caption_mode", "captions", "regularisation images keep their own (class) captions; "
                  "the trigger is not trained on them")
        else:
            _inherit(r, i, "caption_mode", entry.captions, r.values["caption_mode"], "", parent="caption_mode",
                     given_key="captions")
        if entry.is_reg and r.values[f"{PREFIX}{i}.caption_mode"] == "trigger":
            raise UserError(f"{entry_key(i, 'captions')}: trigger on a regularisation folder would teach the trigger "
                            "from class images; use captions (class captions in files) or none")
        ext = _inherit(r, i, "caption_ext", entry.caption_ext, r.values["caption_ext"], "", parent="caption_ext")
        r.values[f"{PREFIX}{i}.caption_ext"] = ext if ext.startswith(".") else "." + ext
        _inherit(r, i, "resolution", entry.resolution, list(r.values["resolution"]), "", parent="resolution")
        r.values[f"{PREFIX}{i}.resolution"] = sorted(set(r.values[f"{PREFIX}{i}.resolution"]))  # smallest first
        given = entry.masks if entry.masks in (None, "none") else str(resolve_folder(r, entry.masks,
                                                                                      f"{PREFIX}{i}.masks"))
        folder, why = folder_masks(r, Path(r.values[f"{PREFIX}{i}.path"]), given,
                                   f"{PREFIX}{i}.masks", entry_key(i, "masks"))
        if folder is not None:
            r.set(f"{PREFIX}{i}.masks", str(folder), why)
    r.planner.datasets(r, folders(r.values))


def _given(r: Resolver, i: int, name: str, value: Any) -> None:
    r.values[f"{PREFIX}{i}.{name}"] = value
    r.origins[f"{PREFIX}{i}.{name}"] = r.layered.origins.get(f"{PREFIX}{i}.{name}", "intent")


def _inherit(r: Resolver, i: int, name: str, given: Any, inherited: Any, why: str, *, parent: str | None = None,
             fallback: Any = None, given_key: str | None = None) -> Any:
    """The entry's own value, else the one it inherits (from `dataset:` or the plan's rule), else `fallback`."""
    key = f"{PREFIX}{i}.{name}"
    if given is not None:
        r.values[key] = given
        r.origins[key] = r.layered.origins.get(f"{PREFIX}{i}.{given_key or name}", "intent")
    elif inherited is not None and parent is not None:
        source = r.origins.get(parent) or r.layered.origins.get(parent, "intent")
        r.values[key] = inherited
        r.origins[key] = Origin(f"as {parent} ({source})", getattr(source, "kind", "intent"),
                                getattr(source, "file", None), getattr(source, "line", None),
                                getattr(source, "cites", ()))
    else:
        r.set(key, fallback, why)
    return r.values[key]
