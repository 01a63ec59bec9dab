"""Origins are data (kind, file, line, cites) whose text is exactly what plan.json and `explain` show."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from fluxgen.origin import Origin, cites_of
from fluxgen.plan import PlanOptions, build_plan


def test_text_is_unchanged_and_fields_are_data() -> None:
    rule = Origin.rule("clip gradients at 1.0, sd-scripts' default (ref:sd-scripts §1.2, seed:001)")
    assert str(rule) == "rule: clip gradients at 1.0, sd-scripts' default (ref:sd-scripts §1.2, seed:001)"
    assert (rule.kind, rule.cites) == ("rule", ("ref:sd-scripts §1.2", "seed:001"))
    preset = Origin.preset("presets/cyber-skull.yaml", 8)
    assert (str(preset), preset.file, preset.line) == ("preset presets/cyber-skull.yaml:8", "presets/cyber-skull.yaml", 8)
    assert json.dumps({"k": preset}) == '{"k": "preset presets/cyber-skull.yaml:8"}'
    assert pickle.loads(pickle.dumps(preset)).line == 8
    assert cites_of("rule: 100 steps per image (seed:000)") == ("seed:000",)


def test_plan_origins_know_where_they_came_from(skull20: Path) -> None:
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), sets=["train.lr=5e-5"]))
    assert plan.origins["lr"].kind == "command line" and str(plan.origins["lr"]) == "command line --set train.lr=5e-5"
    assert plan.origins["trigger"].kind == "preset" and plan.origins["trigger"].file.endswith("cyber-skull.yaml")
    assert plan.origins["rank"].kind in ("preset", "rule")
