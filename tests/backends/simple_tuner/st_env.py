"""Helpers of the SimpleTuner slow tests: run SimpleTuner's own loaders in its own Python."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

LOADER = Path(__file__).with_name("st_loader.py")


def run_loader(python: str, *args: str, timeout: float = 600) -> dict:
    """SimpleTuner's own loaders on files, in its own Python (see st_loader.py)."""
    done = subprocess.run([python, str(LOADER), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    marked = [ln for ln in done.stdout.splitlines() if ln.startswith("ST-LOADER ")]
    assert marked, f"st_loader.py printed no result (rc {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(marked[-1].removeprefix("ST-LOADER "))


def examples_dir(python: str) -> Path:
    done = subprocess.run([python, "-c", "import simpletuner, pathlib; "
                           "print(pathlib.Path(simpletuner.__file__).parent / 'examples')"],
                          capture_output=True, text=True, check=True, timeout=300)
    return Path(done.stdout.strip().splitlines()[-1])

