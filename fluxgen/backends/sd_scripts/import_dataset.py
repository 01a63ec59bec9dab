"""sd-scripts' dataset TOML and sample prompts file as intent values (the inverse of dataset.toml.j2 and
sample_prompts.txt.j2). A key the TOML leaves out counts with sd-scripts' own default."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from fluxgen.backends.sd_scripts.subsets import NO_CAPTION_EXT
from fluxgen.importer import Imported, Where, display, toml_lines
from fluxgen.importer.common import absolute_folder

HANDLED = {"image_dir", "num_repeats", "caption_extension", "class_tokens", "caption_dropout_rate", "shuffle_caption",
           "keep_tokens", "resolution", "batch_size", "enable_bucket", "bucket_no_upscale", "min_bucket_reso",
           "max_bucket_reso", "bucket_reso_steps"}


class _Toml:
    """The dataset TOML with sd-scripts' lookup order (subset, dataset, general, default) and each key's line."""

    def __init__(self, path: Path) -> None:
        from fluxgen.fsio import read_text_file

        text = read_text_file(path)
        self.data = tomllib.loads(text)
        self.lines, self.src, self.folder = toml_lines(text), display(path), path.parent
        self.general = self.data.get("general") or {}
        self.datasets = [d for d in self.data.get("datasets") or [] if isinstance(d, dict)]

    def get(self, key: str, ds: int = 0, sub: int | None = 0) -> tuple[Any, Where | None]:
        from fluxgen.knowledge import sd_scripts_dataset_schema

        d = self.datasets[ds] if ds < len(self.datasets) else {}
        subs = d.get("subsets") or []
        scopes = [(f"datasets.{ds}.subsets.{sub}.", subs[sub] if sub is not None and sub < len(subs) else {}),
                  (f"datasets.{ds}.", d), ("general.", self.general)]
        for prefix, scope in scopes:
            if isinstance(scope, dict) and scope.get(key) is not None:
                return scope[key], Where(self.src, self.lines.get(prefix + key, 0), prefix + key)
        spec = sd_scripts_dataset_schema().keys.get(key)
        return (spec.default if spec else None), None


def import_dataset(out: Imported, path: Path) -> None:
    """Image folder, repeats, captions and trigger, resolutions, batch size and buckets."""
    t = _Toml(path)
    if not t.datasets or not (t.datasets[0].get("subsets") or []):
        out.leave_out(Where(t.src, 0, "datasets"), None, "no [[datasets.subsets]]: no image folder to import")
        return
    origin = lambda where, key: where or f"{key} absent from {t.src}: sd-scripts' default"  # noqa: E731
    image_dir, where = t.get("image_dir")
    if image_dir:
        out.set("dataset.path", absolute_folder(str(image_dir), t.folder, out), where)
    for key, intent_key in (("num_repeats", "dataset.repeats"), ("batch_size", "train.batch_size"),
                            ("enable_bucket", "dataset.buckets"), ("shuffle_caption", "train.shuffle_captions")):
        value, where = t.get(key)
        out.set(intent_key, value, origin(where, key))
    dropout, where = t.get("caption_dropout_rate")
    out.set("train.caption_dropout", float(dropout), origin(where, "caption_dropout_rate"))
    if _several(out, t):
        _derived(out, t)
        _others(out, t, HANDLED | {"is_reg", "conditioning_data_dir"})
        return
    _captions(out, t)
    _resolutions(out, t)
    _derived(out, t)
    _others(out, t)


def _several(out: Imported, t: _Toml) -> bool:
    """Several image folders or a reg subset: one intent `datasets:` entry per image_dir, its resolutions the
    blocks it appears in (fluxgen writes one [[datasets]] per resolution, each with every folder trained at it)."""
    seen: dict[str, list[tuple[int, int]]] = {}
    for i, d in enumerate(t.datasets):
        for j, sub in enumerate(d.get("subsets") or []):
            if isinstance(sub, dict) and sub.get("image_dir"):
                seen.setdefault(str(sub["image_dir"]), []).append((i, j))
    subsets = [s for d in t.datasets for s in d.get("subsets") or [] if isinstance(s, dict)]
    if len(seen) < 2 and not any(s.get("is_reg") for s in subsets):
        return False
    out.values.pop("dataset.path", None)
    out.origins.pop("dataset.path", None)
    out.values.pop("dataset.repeats", None)
    out.origins.pop("dataset.repeats", None)
    for n, (folder, places) in enumerate(seen.items()):
        _entry(out, t, n, folder, places)
    first = next((n for n in range(len(seen)) if not out.values.get(f"datasets.{n}.is_reg")), 0)
    out.set("train.resolution", out.values[f"datasets.{first}.resolution"], out.origins[f"datasets.{first}.resolution"])
    return True


def _entry(out: Imported, t: _Toml, n: int, folder: str, places: list[tuple[int, int]]) -> None:
    ds, sub = places[0]
    key = f"datasets.{n}."
    out.set(key + "path", absolute_folder(folder, t.folder, out), t.get("image_dir", ds, sub)[1] or "image_dir")
    is_reg, where = t.get("is_reg", ds, sub)
    if is_reg:
        out.set(key + "is_reg", True, where or "is_reg")
    repeats, where = t.get("num_repeats", ds, sub)
    out.set(key + "repeats", int(repeats or 1), where or f"num_repeats absent from {t.src}: sd-scripts' default")
    sides = []
    for i, _ in places:
        res, _ = t.get("resolution", i, None)
        side = res[0] if isinstance(res, list) and len(res) == 2 and res[0] == res[1] else res
        if isinstance(side, int) and side not in sides:
            sides.append(side)
    out.set(key + "resolution", sorted(sides), Where(t.src, t.lines.get(f"datasets.{ds}.resolution", 0),
                                             f"datasets.{ds}.resolution"))
    ext, where = t.get("caption_extension", ds, sub)
    tokens, token_where = t.get("class_tokens", ds, sub)
    if tokens and not is_reg:
        out.set("trigger", str(tokens), token_where)
    elif tokens:
        out.leave_out(token_where or Where(t.src, 0, "class_tokens"), tokens, "class tokens of a regularisation "
                      "subset: fluxgen trains a reg folder on its own caption files; write them there")
    if ext == NO_CAPTION_EXT:
        out.set(key + "captions", "trigger" if tokens else "none", where or "caption_extension")
    else:
        out.set(key + "captions", "captions", where or f"caption_extension absent from {t.src}")
        out.set(key + "caption_ext", str(ext), where or f"caption_extension absent from {t.src}: sd-scripts' default")
    masks, where = t.get("conditioning_data_dir", ds, sub)
    if masks:
        out.set(key + "masks", absolute_folder(str(masks), t.folder, out), where or "conditioning_data_dir")


def _captions(out: Imported, t: _Toml) -> None:
    ext, where = t.get("caption_extension")
    tokens, token_where = t.get("class_tokens")
    if tokens:
        out.set("trigger", str(tokens), token_where)
    if ext == NO_CAPTION_EXT:
        out.set("dataset.captions", "trigger" if tokens else "none", where)
        return
    out.set("dataset.captions", "captions", where or f"caption_extension absent from {t.src}: sd-scripts reads "
            f"{ext} files")
    out.set("dataset.caption_ext", str(ext), where or f"caption_extension absent from {t.src}: sd-scripts' default")


def _resolutions(out: Imported, t: _Toml) -> None:
    """fluxgen writes one [[datasets]] per resolution with the same subset; read them back as one list."""
    first = t.datasets[0].get("subsets")
    found: list[int] = []
    where0 = None
    for i, ds in enumerate(t.datasets):
        res, where = t.get("resolution", i, None)
        where0 = where0 or where
        if ds.get("subsets") != first:
            out.leave_out(Where(t.src, t.lines.get(f"datasets.{i}.resolution", 0), f"datasets.{i}"), res,
                          "a second, different dataset: the intent has one image folder")
            continue
        side = res[0] if isinstance(res, list) and len(res) == 2 and res[0] == res[1] else res
        if isinstance(side, list) or side is None:
            out.leave_out(where or Where(t.src, 0, f"datasets.{i}.resolution"), res,
                          "fluxgen trains square resolutions")
            continue
        if int(side) not in found:
            found.append(int(side))
    if found:
        out.set("train.resolution", found, where0 or "resolution")


def _derived(out: Imported, t: _Toml) -> None:
    """Keys fluxgen derives from other values (sd_scripts/planning.py): listed when the file says otherwise."""
    res = out.values.get("train.resolution") or [1024]
    trigger, shuffle = out.values.get("trigger"), out.values.get("train.shuffle_captions")
    expected = {"keep_tokens": 1 if trigger and shuffle else 0}
    if out.values.get("dataset.buckets"):
        expected.update(bucket_no_upscale=True, min_bucket_reso=min(256, min(res)),
                        max_bucket_reso=max(min(2 * max(res), 2048), max(res)), bucket_reso_steps=64)
    for key, want in expected.items():
        value, where = t.get(key)
        if value != want:
            out.leave_out(where or Where(t.src, 0, key), value, f"fluxgen derives {want!r} from the other values")


def _others(out: Imported, t: _Toml, handled: set[str] = HANDLED) -> None:
    scopes = [("general.", t.general)] + [(f"datasets.{i}.", d) for i, d in enumerate(t.datasets)]
    scopes += [(f"datasets.{i}.subsets.{j}.", s) for i, d in enumerate(t.datasets)
               for j, s in enumerate(d.get("subsets") or []) if isinstance(s, dict)]
    carried: dict[str, Any] = {}
    for prefix, scope in scopes:
        for key, value in scope.items():
            if key in handled or key == "subsets":
                continue
            where = Where(t.src, t.lines.get(prefix + key, 0), prefix + key)
            if carried.get(key, value) != value:  # [general] holds one value for every dataset and subset
                out.leave_out(where, value, f"differs between datasets or subsets; {key} = {carried[key]!r} is "
                              "carried for all of them")
            elif key not in carried:
                carried[key] = value
                out.carry(where, f"dataset.{key}", value)


def _prompt_line(line: str) -> tuple[str, dict[str, str]]:
    """The prompt and its options, split on ` --` as sd-scripts does (a negative prompt may hold spaces)."""
    text, *parts = line.split(" --")
    opts = {}
    for part in parts:
        name, _, value = part.strip().partition(" ")
        opts[name.lower()] = value.strip()
    return text.strip(), opts


# sd-scripts prompt option -> fluxgen's per-prompt key and type.
PER_PROMPT = {"w": ("size", int), "s": ("steps", int), "g": ("guidance", float), "n": ("negative", str)}


def import_prompts(out: Imported, path: Path) -> None:
    """One prompt per line, options after ` --` (w/h size, d seed, s steps, g guidance, n negative), `#` lines
    skipped; the first line's options are the samples' settings, a line that differs keeps its own."""
    from fluxgen.fsio import read_text_file

    src = display(path)
    lines = [(n, *_prompt_line(line)) for n, line in enumerate(read_text_file(path).splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return
    number, _, opts = lines[0]
    where = Where(src, number, "prompt line")
    for flag, key, cast in (("w", "samples.size", int), ("d", "samples.seed", int), ("s", "samples.steps", int),
                            ("g", "samples.guidance", float)):
        if flag in opts:
            out.set(key, cast(opts[flag]), Where(src, number, f"--{flag}"))
    negatives = {o.get("n", "") for _, _, o in lines}
    if len(negatives) == 1 and opts.get("n"):
        out.set("samples.negative", opts["n"], Where(src, number, "--n"))
    prompts: list[Any] = []
    for i, (_, text, own) in enumerate(lines):
        item: dict[str, Any] = {key: cast(own[flag]) for flag, (key, cast) in PER_PROMPT.items()
                                if own.get(flag, "") != opts.get(flag, "") or (flag == "n" and len(negatives) > 1
                                                                               and own.get("n"))}
        if "d" in own and "d" in opts and int(own["d"]) != int(opts["d"]) + i:
            item["seed"] = int(own["d"])
        prompts.append({"prompt": text, **item} if item else text)
    out.set("samples.prompts", prompts, Where(src, number, "prompts"))
    if opts.get("h", opts.get("w")) != opts.get("w"):
        out.leave_out(where, opts.get("h"), "samples are square in fluxgen")
