"""`--executor skypilot --dry-run` writes one task YAML per distinct plan that SkyPilot's own `sky.Task.from_yaml`
loads, with the accelerators of the plan's VRAM tier, the dataset mounted and the point's command. SkyPilot pins
click<8.2, which fluxgen's dependencies cannot share, so it lives in its own cached environment, as for users."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sweep.conftest import sweep_json

from fluxgen.runs.sweep.skypilot import accelerators
from helpers import cli_run, make_images

SKY_VERSION = "0.14.1"

LOAD = """
import json, sys
import sky
out = []
for path in sys.argv[1:]:
    task = sky.Task.from_yaml(path)
    out.append({"name": task.name, "accelerators": [r.accelerators for r in task.resources],
                "file_mounts": task.file_mounts, "storage": {k: [v.name, str(v.mode)] for k, v in
                task.storage_mounts.items()}, "setup": task.setup, "run": task.run})
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def sky_python() -> Path:
    """SkyPilot in ~/.cache/fluxgen-tests/skypilot-<version> (made once; pip from PyPI)."""
    import os
    import pwd

    home = pwd.getpwuid(os.getuid()).pw_dir  # the real home: HOME points at a temporary folder in tests
    root = Path(os.environ.get("FLUXGEN_TEST_CACHE", Path(home) / ".cache" / "fluxgen-tests"))
    env = root / f"skypilot-{SKY_VERSION}"
    python = env / "bin" / "python"
    ok = python.is_file() and subprocess.run([python, "-c", "import sky"], capture_output=True).returncode == 0
    if not ok:
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], capture_output=True, text=True)
        if made.returncode == 0:
            made = subprocess.run([python, "-m", "pip", "install", "-q", f"skypilot=={SKY_VERSION}"],
                                  capture_output=True, text=True, timeout=540)
        if made.returncode != 0:
            pytest.skip(f"SkyPilot {SKY_VERSION} cannot be installed here: {made.stderr.strip()[-200:]}")
    return python


def test_accelerators_follow_the_vram_tier() -> None:
    assert accelerators(80) == ["A100-80GB:1", "H100:1"]
    assert accelerators(24)[:2] == ["L4:1", "A10G:1"] and "T4:1" not in accelerators(24)
    assert accelerators(12)[0] == "T4:1"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dry_run_yamls_load_in_skypilot(tmp_path: Path, sky_python: Path) -> None:
    images = make_images(tmp_path / "img", 3, size=64)
    sweep = tmp_path / "sw"
    result = cli_run("sweep", "cyber-skull", "--images", str(images), "--vram", "48", "--grid",
                     "train.lr=1e-4,5e-5,0.0001", "--executor", "skypilot", "--dry-run", "--out", str(sweep))
    assert result.exit_code == 0, result.stderr
    paths = sorted((sweep / "sky").glob("p*.yaml"))
    assert [p.name for p in paths] == ["p1.yaml", "p2.yaml"]  # p3 has p1's plan
    loaded = subprocess.run([sky_python, "-c", LOAD, *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    tasks = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert [t["name"] for t in tasks] == ["fluxgen-sw-p1", "fluxgen-sw-p2"]
    assert tasks[0]["accelerators"][0] == {"L40S": 1} and {"H100": 1} in tasks[0]["accelerators"]
    assert tasks[0]["file_mounts"] == {"/fluxgen/data": str(images)}
    assert tasks[0]["storage"] == {"/fluxgen/sweep": ["fluxgen-sw", "StorageMode.MOUNT"]}
    assert "fluxgen setup ai-toolkit" in tasks[0]["setup"]
    assert tasks[1]["run"].strip() == "fluxgen sweep run-point /fluxgen/sweep p2"
    staged = sweep_json(sweep / "sky" / "stage")
    assert (staged["cwd"], staged["plan"]["images"]) == ("/fluxgen/sweep", "/fluxgen/data")
    assert [p["id"] for p in staged["points"]] == ["p1", "p2", "p3"]
