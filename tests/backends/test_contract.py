"""Every registered backend has every piece of the contract, and common code can reach each through the registry."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from fluxgen.backends import BACKENDS, PACKAGES, canonical_name, get_backend
from fluxgen.backends.base import Backend, DatasetQuirks, EnvRecipe, Planner
from fluxgen.paths import PROJECT_DIR

NAMES = list(BACKENDS)


def test_registry_is_not_empty_and_lazy() -> None:
    assert NAMES == list(PACKAGES) and len(NAMES) >= 3


@pytest.mark.parametrize("name", NAMES)
def test_backend_is_a_complete_backend(name: str) -> None:
    backend = BACKENDS[name]
    assert isinstance(backend, Backend) and backend.name == name
    abstract = [m for m in dir(type(backend)) if getattr(getattr(type(backend), m), "__isabstractmethod__", False)]
    assert abstract == [], f"{name} lacks {abstract}"
    assert backend.image_extensions and all(e.startswith(".") and e == e.lower() for e in backend.image_extensions)
    assert isinstance(backend.dataset_quirks, DatasetQuirks)
    assert "command" in backend.__class__.__dict__ and "resume" in inspect.signature(backend.command).parameters


@pytest.mark.parametrize("name", NAMES)
def test_planner_has_every_hook_and_its_choices(name: str) -> None:
    planner = BACKENDS[name].planner()
    assert isinstance(planner, Planner) and not getattr(type(planner), "__abstractmethods__", None)
    choices = planner.choices()
    assert set(choices) == {"optimizer", "lr_scheduler", "timestep_sampling"} and all(choices.values())


@pytest.mark.parametrize("name", NAMES)
def test_templates_exist_and_rendered_kinds_name_rendered_files(name: str) -> None:
    backend = BACKENDS[name]
    for template in backend.templates.values():
        assert (PROJECT_DIR / "templates" / template).is_file(), template
    assert set(backend.rendered_kinds) <= set(backend.templates)
    # the file a run is reproduced from, rendered with its header (a dict serialiser has no templates)
    assert backend.main_file in backend.templates or not backend.templates


@pytest.mark.parametrize("name", NAMES)
def test_console_module_parses(name: str) -> None:
    module = BACKENDS[name].console_module()
    assert callable(module.parse)
    parser = BACKENDS[name].new_parser()
    assert parser.feed("") == [] and isinstance(parser.close(), list)


@pytest.mark.parametrize("name", NAMES)
def test_env_recipe_is_complete(name: str) -> None:
    recipe = BACKENDS[name].env_recipe()
    assert isinstance(recipe, EnvRecipe) and recipe.source in {"checkout", "pypi", "self"}
    assert recipe.pin and recipe.required_modules and recipe.entry
    if recipe.source == "checkout":
        assert recipe.requirements and len(recipe.pin) == 40
        assert len(BACKENDS[name].env_vars) == 2  # its checkout and its Python can be pointed elsewhere
    if recipe.constraints:  # shipped in the backend's package, pinning every package `fluxgen setup` installs
        from fluxgen.envs.recipes import constraints_path

        path = constraints_path(recipe, name)
        assert path is not None and path.is_file() and path.parent.name == BACKENDS[name].__module__.split(".")[2]
        pinned = [x for x in path.read_text().splitlines() if x and not x.startswith("#")]
        assert pinned and all("==" in x for x in pinned)
        assert {t.split("==")[0] for t in recipe.torch_first} <= {x.split("==")[0] for x in pinned}


@pytest.mark.parametrize("name", NAMES)
def test_aliases_resolve_to_the_backend(name: str) -> None:
    backend = BACKENDS[name]
    assert set(backend.choice_aliases) <= set(backend.aliases)
    for alias in (name, name.upper(), *backend.aliases):
        assert canonical_name(alias) == name and get_backend(alias) is backend


def test_package_init_imports_nothing_heavy() -> None:
    """The registry lists names for `--help`; a backend package's __init__ must stay light."""
    for package in PACKAGES.values():
        source = Path(importlib.import_module(package).__file__).read_text(encoding="utf-8")
        top = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
        assert all(line.startswith(("from __future__", "from pathlib", "from typing", "from fluxgen.backends.base"))
                   for line in top), top


def test_validate_asks_the_backends_whose_file_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trainer whose files fluxgen cannot detect by itself claims them with `owns`; `--backend` goes straight to
    that backend's `validate`."""
    from fluxgen.validate import validate_file
    from fluxgen.validate.report import Report

    backend = BACKENDS["builtin"]
    path = tmp_path / "custom.conf"
    path.write_text("steps = 3\n", encoding="utf-8")

    def own_check(self, p, text, env=None):  # noqa: ANN001, ANN202
        report = Report(str(p), "custom")
        report.add("info", "steps", f"read {text.strip()!r}", "", "custom-rule")
        return report

    monkeypatch.setattr(type(backend), "owns", lambda self, p, text: p.suffix == ".conf")
    monkeypatch.setattr(type(backend), "validate", own_check)
    for given in (None, "builtin"):
        report = validate_file(path, given)
        assert [(f.rule, f.message) for f in report.findings] == [("custom-rule", "read 'steps = 3'")]


def test_a_trainer_installed_as_a_package_is_located_by_its_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend whose recipe installs a released package has no checkout: only its Python is looked for."""
    from fluxgen import checkouts

    backend = BACKENDS["builtin"]
    recipe = EnvRecipe(source="pypi", pin="4.10.1", python="3.12", package="sometrainer",
                       required_modules=("json",), entry="sometrainer.train")
    monkeypatch.setattr(type(backend), "env_recipe", lambda self: recipe)
    monkeypatch.setitem(checkouts.ENV_NAMES, "builtin", ("FLUXGEN_SOMETRAINER_PYTHON",))
    found = checkouts.locate("builtin", {"FLUXGEN_SOMETRAINER_PYTHON": "/opt/st/bin/python"})
    assert (found.dir, found.python, found.python_source) == (None, "/opt/st/bin/python", "$FLUXGEN_SOMETRAINER_PYTHON")
    assert (found.dir_source, found.pin, found.entry) == ("sometrainer==4.10.1", "4.10.1", "sometrainer.train")


@pytest.mark.parametrize("name", NAMES)
def test_pass_through_is_declared_checked_and_described(name: str) -> None:
    """A backend either takes no pass-through (None) or says its sections, the keys it writes itself (each naming
    an intent key that exists, or "" for its own), a check and a JSON Schema for editors."""
    from fluxgen.backends.base import PassThrough
    from fluxgen.intent import all_paths

    spec = BACKENDS[name].passthrough()
    if spec is None:
        return
    assert isinstance(spec, PassThrough) and spec.sections and spec.schema is not None
    known = set(all_paths())
    assert {k for k in spec.modelled.values() if k} <= known
    assert spec.check({}) == []
    assert spec.schema()["type"] == "object"
