"""`fluxgen schema`, the README's generated intent reference, and the editor schema line of presets: one source,
the pydantic schema's field descriptions."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from fluxgen.intent import Intent
from fluxgen.paths import BUILTIN_PRESETS_DIR, PROJECT_DIR
from fluxgen.schema import MODELINE, SCHEMA_FILE, reference_rows, schema_text, update_readme
from helpers import cli_run

SHIPPED = sorted(BUILTIN_PRESETS_DIR.rglob("*.yaml"))


def test_every_field_has_a_description() -> None:
    missing = [key for key, _, desc in reference_rows() if not desc]
    assert missing == []


def test_readme_reference_is_current() -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert update_readme(readme) == readme, "README's intent reference is stale: run python -m fluxgen.schema"


def test_shipped_schema_is_current() -> None:
    shipped = (BUILTIN_PRESETS_DIR / SCHEMA_FILE).read_text(encoding="utf-8")
    assert shipped == schema_text(), "presets/intent.schema.json is stale: run python -m fluxgen.schema"


def test_schema_command_writes_json_with_the_pass_through_per_trainer(tmp_path: Path) -> None:
    result = cli_run("schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["properties"]["train"]["description"] == Intent.model_fields["train"].description
    trainers = schema["properties"]["trainer"]["properties"]
    assert set(trainers) == {"ai-toolkit", "sd-scripts", "builtin", "simpletuner"}
    assert "t5xxl_max_token_length" in trainers["sd-scripts"]["properties"]["args"]["properties"]
    assert "learning_rate" not in trainers["sd-scripts"]["properties"]["args"]["properties"]  # modelled: train.lr
    assert "noise_offset" not in trainers["sd-scripts"]["properties"]["args"]["properties"]  # train.noise_offset
    assert "max_grad_norm" in trainers["ai-toolkit"]["properties"]["train"]["properties"]
    assert "loss_type" not in trainers["ai-toolkit"]["properties"]["train"]["properties"]  # train.loss_type
    assert "learning_rate" not in trainers["simpletuner"]["properties"]["config"]["properties"]
    assert "loss_type" not in trainers["simpletuner"]["properties"]["config"]["properties"]  # train.loss_type
    out = tmp_path / "s.json"
    assert cli_run("schema", "--out", str(out)).exit_code == 0
    again = cli_run("schema", "--out", str(out))
    assert again.exit_code != 0 and "already exists; pass --force" in again.stderr


@pytest.mark.parametrize("preset", SHIPPED, ids=lambda p: p.name)
def test_shipped_presets_carry_the_schema_line_and_validate(preset: Path) -> None:
    text = preset.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith(MODELINE)
    target = (preset.parent / first[len(MODELINE):]).resolve()
    assert target == (BUILTIN_PRESETS_DIR / SCHEMA_FILE).resolve()
    jsonschema.validate(yaml.safe_load(text), json.loads(schema_text()))


def test_schema_flags_a_typo_as_an_editor_would() -> None:
    schema = json.loads(schema_text())
    with pytest.raises(jsonschema.ValidationError, match="rnak"):
        jsonschema.validate({"network": {"rnak": 16}}, schema)
    with pytest.raises(jsonschema.ValidationError, match="noise_ofset"):
        jsonschema.validate({"trainer": {"sd-scripts": {"args": {"noise_ofset": 0.1}}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"dataset": {"captions": "caption"}}, schema)


def test_presets_cp_points_the_copy_at_the_shipped_schema(tmp_path: Path) -> None:
    assert cli_run("presets", "cp", "cyber-skull", str(tmp_path)).exit_code == 0
    lines = (tmp_path / "cyber-skull.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[0] == MODELINE + (BUILTIN_PRESETS_DIR / SCHEMA_FILE).resolve().as_uri()
    assert sum(line.startswith(MODELINE) for line in lines) == 1


def test_presets_ls_summary_skips_the_schema_line() -> None:
    result = cli_run("presets", "ls")
    assert "yaml-language-server" not in result.stdout
    assert "Cyber skull" in result.stdout


@pytest.mark.parametrize("value", ["mse", "mae", "huber", "smooth_l1", "l2", "l1", "pseudo_huber", "MSE", "L2",
                                   "l3", "Huber"])
def test_loss_names_are_valid_in_the_schema_exactly_when_the_plan_takes_them(value: str) -> None:
    """One source: an editor flags a loss name exactly when fluxgen refuses it (aliases included)."""
    from fluxgen.errors import ConfigErrors
    from fluxgen.intent import validate_intent
    from fluxgen.intent_sections import LOSS_ALIASES

    schema = json.loads(schema_text())
    try:
        jsonschema.validate({"train": {"loss_type": value}}, schema)
        schema_ok = True
    except jsonschema.ValidationError:
        schema_ok = False
    try:
        intent = validate_intent({"train": {"loss_type": value}}, "test.yaml")
        plan_ok = True
    except ConfigErrors as exc:
        assert "l2, l1, pseudo_huber" in str(exc)  # the message lists the aliases too
        plan_ok = False
    assert schema_ok == plan_ok, (value, schema_ok, plan_ok)
    if plan_ok:
        assert intent.train.loss_type == LOSS_ALIASES.get(value, value)
    assert plan_ok == (value in ("mse", "mae", "huber", "smooth_l1", *LOSS_ALIASES))
