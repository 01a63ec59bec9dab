"""Origins are data (kind, file, line, cites) whose text is exactly what plan.json and `explain` show."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest

from fluxgen.backends import BACKENDS
from fluxgen.origin import Origin, cites_of
from fluxgen.plan import PlanOptions, build_plan
from fluxgen.rules import SOURCES


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


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_citation_names_a_listed_source(backend: str, skull20: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fluxgen explain` prints the title of each source a value cites; a citation it cannot find says nothing."""
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", sys.executable)
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend=backend))
    cites = {cite for origin in plan.origins.values() for cite in cites_of(origin)}
    assert any(cite.startswith("seed:") for cite in cites)
    unlisted = [c for c in cites if not {c, c.split(" §")[0], c.split(":")[0]} & set(SOURCES)]
    assert unlisted == []


def test_simpletuner_rules_cite_its_sources(skull20: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXGEN_SIMPLETUNER_PYTHON", sys.executable)
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), backend="simpletuner"))
    assert any(c.startswith("st:") for c in cites_of(plan.origins["base_model_precision"]))


def test_an_extended_origin_keeps_its_fields(skull20: Path) -> None:
    """`steps: auto` and a name template add to an origin; it stays data (kind and citations), not only text."""
    plan = build_plan("cyber-skull", PlanOptions(images=str(skull20), sets=["save.name_template={name}_v{version}"]))
    steps, name = plan.origins["steps"], plan.origins["name"]
    assert isinstance(steps, Origin) and steps.kind == "rule" and "seed:000" in steps.cites
    assert "'auto' from" in steps
    assert isinstance(name, Origin) and "seed:003" in name.cites and "named by save.name_template" in name
