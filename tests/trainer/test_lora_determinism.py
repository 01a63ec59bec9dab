"""Identical runs give byte-identical LoRA files: the metadata is written in sorted order, not hash-map order."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

WRITE = """
import sys, torch
from pathlib import Path
from fluxgen.trainer.checkpoint import write_lora
md = {f"fluxgen.key{i}": "value ü " * (i % 3) for i in range(int(sys.argv[2]))}
write_lora(Path(sys.argv[1]), {"b.lora_A.weight": torch.zeros(2, 2), "a.lora_B.weight": torch.ones(3)}, md)
"""


@pytest.mark.parametrize("keys", [40])
def test_lora_files_of_identical_content_are_identical_bytes(tmp_path: Path, keys: int) -> None:
    pytest.importorskip("torch")
    digests = set()
    for i in range(3):  # separate processes: each has its own hash-map seed
        path = tmp_path / f"{i}.safetensors"
        subprocess.run([sys.executable, "-c", WRITE, str(path), str(keys)], check=True, timeout=100)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1
    import json
    import struct

    from safetensors import safe_open

    raw = path.read_bytes()
    metadata = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
    assert list(metadata) == sorted(metadata) and len(metadata) == keys
    with safe_open(str(path), "np") as fh:
        assert fh.get_tensor("a.lora_B.weight").tolist() == [1.0, 1.0, 1.0]
