"""What no intent key can say goes into the intent's pass-through `trainer: {<backend>: {...}}`, checked exactly as
`plan` checks it; what cannot be carried is listed with the reason: secrets (never written, not even shown), paths
of the machine that wrote the file, and what the pass-through refuses (a modelled key, an unknown key…)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fluxgen.importer.record import Carried, Imported

SECRET_WHY = ("a secret: fluxgen never writes it; give it to the trainer through the environment (wandb reads "
              "WANDB_API_KEY, the hub HF_TOKEN)")
_ABSOLUTE = re.compile(r"^(/|~|[A-Za-z]:[\\/])")


def settle(imported: Imported) -> None:
    """Each carried setting becomes an intent value `trainer.<backend>.<path>` with its file:line origin, or an
    unmapped one with the reason it cannot be carried."""
    from fluxgen.passthrough import PREFIX, is_secret

    keep: list[Carried] = []
    for item in imported.carried:
        if is_secret(item.path.rsplit(".", 1)[-1]):
            imported.leave_out(item.where, None, SECRET_WHY, secret=True)
        elif (path := _foreign_path(item.value)) is not None:
            imported.leave_out(item.where, item.value, f"a path on the machine that wrote the file ({path} is not "
                               f"here); set it with --set {PREFIX}{imported.backend}.{item.path}=PATH")
        else:
            keep.append(item)
    keep = _checked(imported, keep)
    for item in keep:
        imported.set(f"{PREFIX}{imported.backend}.{item.path}", item.value, item.where)
    imported.carried = keep


def _foreign_path(value: Any) -> str | None:
    """An absolute path (or one under ~) that does not exist here."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and _ABSOLUTE.match(item) and "\n" not in item and len(item) < 4096:
            if not Path(item).expanduser().exists():
                return item
    return None


def _checked(imported: Imported, keep: list[Carried]) -> list[Carried]:
    """Drop, with the pass-through's own message, every setting it refuses, until what is left is clean."""
    from fluxgen.passthrough import PREFIX, nest, problems_of

    head = f"{PREFIX}{imported.backend}"
    for _ in range(len(keep) + 1):
        if not keep:
            return keep
        problems = problems_of(imported.backend, nest({c.path: c.value for c in keep}))
        if not problems:
            return keep
        refused: dict[int, str] = {}
        for problem in problems:
            where, _, message = problem.partition(": ")
            path = where.removeprefix(head).lstrip(".")
            for i, item in enumerate(keep):
                if i not in refused and _covers(path, item.path):
                    refused[i] = message
        if not refused:  # a problem of the section as a whole: nothing can be carried
            refused = {i: problems[0].partition(": ")[2] for i in range(len(keep))}
        for i, message in refused.items():
            imported.leave_out(keep[i].where, keep[i].value, f"not carried: {message}")
        keep = [item for i, item in enumerate(keep) if i not in refused]
    return keep


def _covers(problem: str, path: str) -> bool:
    return (not problem or problem == path or path.startswith(problem + ".")
            or problem.startswith((path + ".", path + "[")))
