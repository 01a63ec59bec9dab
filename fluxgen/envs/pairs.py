"""torch and the packages compiled against one torch build (torchvision, torchaudio): installed from different
indexes they import apart but fail together, and the fix is to reinstall them as a pair.

The symptom is an operator the extension registers at import that the installed torch does not know
(`operator torchvision::nms does not exist`) or a missing C++ symbol; `torch (==2.13.0)` in torchvision's metadata
is satisfied by a `2.13.0+cpu` torch although it is not the build the wheel was compiled for."""

from __future__ import annotations

import re

PAIRED = ("torchvision", "torchaudio")
_ABI = re.compile(r"operator \w+::\w+ does not exist|undefined symbol|partially initialized module 'torch")


def mismatched_pair(failed: dict[str, str], versions: dict[str, object]) -> str | None:
    """One line naming torch, the extension built for another torch and the fix, when that is why imports fail.

    `failed`: module → `ExceptionType: first line` from the import probe; `versions`: dist → version and
    `<dist>:requires` → its `torch…` requirements."""
    if "torch" in failed or not versions.get("torch"):
        return None
    for name in PAIRED:
        why = failed.get(name, "")
        if not why or why.startswith("ModuleNotFoundError") or not _ABI.search(why):
            continue
        torch = str(versions["torch"])
        built = _built_for(versions.get(f"{name}:requires"))
        own = str(versions.get(name) or "?")
        others = [m for m in failed if m != name]
        also = f"; {len(others)} more module(s) fail with it ({', '.join(others[:4])})" if others else ""
        return (f"{name} {own} is built for another torch than the installed torch {torch} ({why}{built}): "
                f"reinstall them as a pair from one index, e.g. `pip install --force-reinstall "
                f"torch=={torch.split('+')[0]} {name}=={own.split('+')[0]}` (a +cpu torch needs the +cpu {name} "
                f"of the same index){also}")
    return None


def _built_for(requires: object) -> str:
    """`; its wheel asks for torch==2.13.0` from torchvision's `torch (==2.13.0)` requirement, else nothing."""
    for req in requires if isinstance(requires, list) else ():
        m = re.fullmatch(r"torch\s*\(?\s*(==\s*[\w.+]+)\s*\)?", str(req).strip())
        if m:
            return f"; its wheel asks for torch{m[1].replace(' ', '')}"
    return ""
