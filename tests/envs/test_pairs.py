"""torchvision built for another torch is said as that pair and its fix, in one line (the probe's shapes)."""

from __future__ import annotations

from fluxgen.doctor import _import_failures
from fluxgen.envs.pairs import mismatched_pair

# What the import probe reported in this machine's sd-scripts environment on Python 3.11: torch from the local +cpu
# wheel, torchvision from PyPI (built for PyPI's CUDA torch 2.13.0).
FAILED = {"torchvision": "RuntimeError: operator torchvision::nms does not exist"}
VERSIONS = {"torch": "2.13.0+cpu", "torch:requires": [], "torchvision": "0.28.0",
            "torchvision:requires": ["torch (==2.13.0)"]}


def test_the_pair_and_the_fix_in_one_line() -> None:
    line = _import_failures(FAILED, {"versions": VERSIONS})
    assert line == ("torchvision 0.28.0 is built for another torch than the installed torch 2.13.0+cpu (RuntimeError: "
                    "operator torchvision::nms does not exist; its wheel asks for torch==2.13.0): reinstall them as a "
                    "pair from one index, e.g. `pip install --force-reinstall torch==2.13.0 torchvision==0.28.0` (a "
                    "+cpu torch needs the +cpu torchvision of the same index)")
    assert "\n" not in line


def test_modules_failing_with_it_are_counted_not_repeated() -> None:
    failed = {**FAILED, "library.train_util": "ModuleNotFoundError: Could not import module 'CLIPTextModel'."}
    line = mismatched_pair(failed, {**VERSIONS, "torchvision:requires": ["torch==2.13.0"]})
    assert line is not None and line.endswith("; 1 more module(s) fail with it (library.train_util)")
    assert "its wheel asks for torch==2.13.0" in line


def test_other_failures_keep_their_own_words() -> None:
    missing = {"torchvision": "ModuleNotFoundError: No module named 'torchvision'"}
    assert mismatched_pair(missing, VERSIONS) is None
    assert _import_failures(missing, {"versions": VERSIONS}) == "cannot import torchvision (not installed)"
    broken_torch = {"torch": "OSError: libcudart.so.13: cannot open shared object file", **FAILED}
    assert mismatched_pair(broken_torch, VERSIONS) is None
    assert mismatched_pair({"torchvision": "ImportError: cannot import name 'PILLOW_VERSION'"}, VERSIONS) is None
    assert _import_failures(FAILED) == "torchvision fails: RuntimeError: operator torchvision::nms does not exist"
