"""Small real things the environment tests build on: a wheel, a trainer source tarball, a recipe for it."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from fluxgen.backends.base import EnvRecipe

PIN = "0123abcd" + "0" * 32


def make_wheel(folder: Path, name: str, version: str, body: str = "VALUE = 1\n", requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel pip installs like any other (METADATA with its Requires-Dist, WHEEL, RECORD)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    deps = "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {f"{name}/__init__.py": body,
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{deps}",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: fluxgen-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{dist}/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{dist}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in files.items():
            zf.writestr(rel, text)
    return path


def make_trainer_tarball(folder: Path, requirements: str, name: str = "tiny-trainer-0123abcd") -> Path:
    """A trainer source tree as the shared tarballs are laid out: one folder `<name>-<short commit>/`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.tar.gz"
    files = {"run.py": "import tinydep\nprint('trained', tinydep.VALUE)\n", "requirements.txt": requirements}
    with tarfile.open(path, "w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tiny_recipe(**changes: object) -> EnvRecipe:
    base = dict(source="checkout", pin=PIN, python="3.11", requirements="requirements.txt",
                remove_without_gpu=("triton",), required_modules=("tinydep",), entry="run.py")
    base.update(changes)
    return EnvRecipe(**base)  # type: ignore[arg-type]
