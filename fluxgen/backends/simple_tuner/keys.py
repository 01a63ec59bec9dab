"""`keys.json`, read once: SimpleTuner 4.10.1's options, loader translations, dataset keys and optimizers, as
`build_keys.py` generated them from the installed package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KEYS: dict[str, Any] = json.loads(Path(__file__).with_name("keys.json").read_text(encoding="utf-8"))
