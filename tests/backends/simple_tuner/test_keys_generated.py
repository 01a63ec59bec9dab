"""keys.json is what build_keys.py makes from the installed SimpleTuner 4.10.1, not typed by hand."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fluxgen.backends.simple_tuner import environment
from fluxgen.backends.simple_tuner.keys import KEYS

PACKAGE = Path(environment.__file__).parent


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_shipped_keys_match_a_fresh_generation(st_python: str, tmp_path: Path) -> None:
    out = tmp_path / "keys.json"
    subprocess.run([st_python, str(PACKAGE / "build_keys.py"), str(out)], check=True, capture_output=True,
                   timeout=600, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    fresh = json.loads(out.read_text(encoding="utf-8"))
    fresh["provenance"].pop("python")
    shipped = {**KEYS, "provenance": {k: v for k, v in KEYS["provenance"].items() if k != "python"}}
    assert fresh == shipped


def test_keys_cover_what_fluxgen_renders() -> None:
    assert KEYS["provenance"]["version"] == environment.PIN
    assert len(KEYS["options"]) == 569 and len(KEYS["dataset"]["keys"]) == 235
    assert {"lora_rank", "checkpoint_step_interval", "validation_step_interval", "base_model_precision",
            "modelspec_comment", "resume_from_checkpoint"} <= set(KEYS["options"])
