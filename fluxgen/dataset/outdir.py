"""Where `prepare` writes: guards on --out and the mask folder, and fresh folders swapped in at the end, so a
re-run leaves only its own output and a failed run leaves the old one."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fluxgen.errors import UserError

# Written into every folder prepare makes; --force replaces only folders that carry it.
MARKER = ".fluxgen-prepare"


def check_out(root: Path, out: Path, force: bool, what: str = "--out") -> Path:
    """Refuse any output folder that could touch the source, or that holds files prepare did not write."""
    target = out.expanduser().resolve()
    if target == root:
        raise UserError(f"{out}: {what} is the source folder; pick a new folder so the source stays untouched")
    if root in target.parents:
        raise UserError(f"{out}: {what} is inside the source folder {root}; pick a folder outside it")
    if target in root.parents:
        raise UserError(f"{out}: {what} contains the source folder {root}; pick a folder beside it")
    blocker = next((p for p in [target, *target.parents] if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        where = "exists and is not a folder" if blocker == target else f"{blocker} is a file, not a folder"
        raise UserError(f"{out}: {where}; pick another {what}")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise UserError(f"{out}: folder is not empty; pass --force to replace it with the new output")
        if not (target / MARKER).is_file():
            raise UserError(f"{out}: folder is not empty and was not written by `fluxgen dataset prepare`, so "
                            "--force will not replace it; pick a new folder")
    return target


def refuse_inside_dataset(dataset: str | Path, out: Path, what: str) -> None:
    """An output folder inside the dataset would be read as part of it: its files change the dataset's fingerprint
    and lint, and a trainer walking subfolders would load them."""
    root, target = Path(dataset).resolve(), Path(out).expanduser().resolve()
    if target == root or root in target.parents:
        raise UserError(f"{out}: {what} is inside the dataset folder {root}, where its files would change the "
                        "dataset's fingerprint and lint; pick a folder outside it")


def check_mask_dir(root: Path, target: Path, mask_dir: str | None, force: bool) -> Path:
    """The mask folder: --mask-dir, else `<out>_masks` beside --out, never inside it (trainers walk --out)."""
    given = Path(mask_dir) if mask_dir else target.with_name(f"{target.name}_masks")
    masks = given.expanduser().resolve()
    if masks == target:
        raise UserError(f"{given}: --mask-dir is --out; the masks need a folder of their own")
    if target in masks.parents:
        raise UserError(f"{given}: --mask-dir is inside --out, where the trainer would load the masks as images; "
                        "pick a folder beside it")
    if masks in target.parents:
        raise UserError(f"{given}: --mask-dir contains --out; pick a folder beside it")
    return check_out(root, given, force, what="--mask-dir")


@contextmanager
def staged(targets: list[Path], source: Path, recheck: Callable[[], object] | None = None) -> Iterator[list[Path]]:
    """Hidden temporary folders beside each target; swapped in when the block ends, removed if it fails."""
    from contextlib import ExitStack

    from fluxgen.locks import hold, lock_path_beside

    temps: list[Path] = []
    with ExitStack() as locks:
        for target in targets:
            locks.enter_context(hold(lock_path_beside(target), str(target)))
            clean_stale(target)
        if recheck is not None:  # what was checked before the lock may have changed while another command held it
            recheck()
        yield from _staged(targets, source, temps)


def clean_stale(target: Path) -> None:
    """Temporary and replaced folders a killed prepare left beside `target` (the lock says none is in use)."""
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            if (stale / MARKER).is_file():
                shutil.rmtree(stale, ignore_errors=True)


def _staged(targets: list[Path], source: Path, temps: list[Path]) -> Iterator[list[Path]]:
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
            temp.mkdir()  # not mkdtemp: the folder gets the usual permissions, not 0700
            temps.append(temp)
            note = {"written_by": "fluxgen dataset prepare", "source": str(source)}
            (temp / MARKER).write_text(json.dumps(note) + "\n", encoding="utf-8")
        yield temps
        for temp, target in zip(temps, targets, strict=True):
            swap_in(temp, target)
    except BaseException:
        for temp in temps:
            shutil.rmtree(temp, ignore_errors=True)  # a folder already swapped in is no longer there
        raise


def swap_in(temp: Path, target: Path) -> None:
    """Put `temp` where `target` is: two renames in one folder, then the old output is deleted."""
    if not target.exists():
        os.rename(temp, target)
        return
    old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    os.rename(target, old)
    try:
        os.rename(temp, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
