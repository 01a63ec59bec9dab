"""Hand-written SimpleTuner configs (tests/importer/data/simpletuner), imported and rendered back by fluxgen, read by
SimpleTuner's own loader: every argument it ends with is the same as for the original file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from importer.test_import_simpletuner import RUN_FOLDER, _import_and_render, _load, _square, copy_examples


@pytest.fixture(autouse=True)
def _no_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_examples(tmp_path_factory.mktemp("st") / "simpletuner")



@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("example", ["teapot/config.json", "mascot/config.toml"])  # ~1 min each: lean
def test_simpletuners_own_loader_reads_the_same_values(example: str, data: Path, tmp_path: Path,
                                                      st_python: str) -> None:
    """Both config files through SimpleTuner's load_config: every argument it ends with is the same, apart from
    the run folder's paths (config.toml goes in as the same mapping in JSON, which its TOML loader also builds)."""
    from backends.simple_tuner.st_env import run_loader

    _, files = _import_and_render(example, data)
    original = tmp_path / "original.json"
    original.write_text(json.dumps(_load(data / example)), encoding="utf-8")
    rendered = tmp_path / "config.json"
    rendered.write_text(files["config.json"], encoding="utf-8")
    want, got = run_loader(st_python, "config", str(original)), run_loader(st_python, "config", str(rendered))
    assert want["ok"] and got["ok"], (want["errors"], got["errors"])
    want_args, got_args = _square(want["args"]), _square(got["args"])
    # fluxgen's own: the run folder's paths (SimpleTuner derives its accelerator project and logs folder from
    # output_dir), and disable_benchmark, which fluxgen always sets so no base-model validation runs before step 1;
    # a resolution the config leaves out is its default, and the image dataset's own (imported) is what trains
    skip = RUN_FOLDER | {"accelerator_project_config", "logging_dir", "disable_benchmark"}
    skip |= {"resolution"} if "resolution" not in _load(data / example) else set()
    differ = {k: (want_args.get(k), got_args.get(k)) for k in set(want_args) | set(got_args)
              if want_args.get(k) != got_args.get(k) and k not in skip}
    assert differ == {}, sorted(differ)
