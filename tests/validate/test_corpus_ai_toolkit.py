"""Every example in ai-toolkit's config/examples/ gets a verdict that agrees with ai-toolkit's own code.

The 25 files come from the pinned tarball (../shared/trainers/ai-toolkit-27a03a91.tar.gz), read at test time.
Two things from ai-toolkit itself judge them:
  * its own loader, `toolkit.config.get_config` (the real module, run in the cached venv of corpus_env.py with
    the oyaml and PyYAML of ai-toolkit's verified environment), decides which files parse; fluxgen must refuse
    exactly those, at the same line and column;
  * its source decides which keys are read: a key in an example counts as read when some .py file of the
    tarball reads that literal name (`get_conf('k'`, `.get('k'`, `['k']`, `'k' in`, or a keyword parameter
    `k=`), and a process type counts as registered when a job's process table or an extension's uid names it.
    This text search is independent of fluxgen's own AST reader (fluxgen/backends/ai_toolkit/source_tree.py).
fluxgen agrees when a parsed example has no error, no key ai-toolkit reads is called unknown, and every key
fluxgen accepts in the job, process and first-level sections is one the source reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from validate.corpus_env import AITK_TARBALL, extract, members, run_script, tarball

from fluxgen.errors import UserError
from fluxgen.validate import KIND_AITK, validate_text

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
EXPECTED_FILES = 25
NOT_CHECKED = {"meta", "generate", "slider", "caption"}  # free-form or read by classes fluxgen leaves open

LOAD = r'''
import json, sys
sys.path.insert(0, ".")
from toolkit.config import get_config
out = []
for path in json.load(sys.stdin):
    try:
        out.append({"config": get_config(path)})
    except Exception as exc:
        mark = getattr(exc, "problem_mark", None)
        out.append({"error": type(exc).__name__, "line": mark.line + 1 if mark else None,
                    "column": mark.column + 1 if mark else None})
print(json.dumps(out))
'''


@cache
def source_text() -> str:
    return "\n".join(members(AITK_TARBALL, "", (".py",)).values())


READ = re.compile(r"""(?:get_conf|\.get|\.pop)\(\s*['"](\w+)['"]|\[\s*['"](\w+)['"]\s*\]|['"](\w+)['"]\s+(?:not\s+)?in\b"""
                  r"""|[(,]\s*(\w+)\s*(?::[^=,)]*)?=""")


@cache
def read_keys() -> frozenset[str]:
    """Every literal key some .py file of the pinned tree reads (see the module docstring)."""
    return frozenset(name for match in READ.finditer(source_text()) for name in match.groups() if name)


def read_in_source(key: str) -> bool:
    return key in read_keys()


@cache
def registered_types() -> frozenset[str]:
    """Keys of the jobs' process_dict tables (jobs/*Job.py) and the extensions' uids (extensions*/*/__init__.py)."""
    files = members(AITK_TARBALL, "", ("Job.py", "__init__.py"))
    text = "\n".join(t for p, t in files.items() if p.startswith(("jobs/", "extensions")))
    found = re.findall(r"""^\s*['"](\w+)['"]\s*:\s*['"]\w+['"]|uid\s*=\s*['"](\w+)['"]""", text, re.M)
    return frozenset(a or b for a, b in found)


def registered(kind: str) -> bool:
    return kind in registered_types()


def key_paths(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, key) of the job's config keys, each process's keys and their first-level section keys."""
    body = config.get("config") or {}
    for key in body:
        yield f"config.{key}", key
    for i, proc in enumerate(body.get("process") or []):
        for key, value in proc.items():
            yield f"config.process[{i}].{key}", key
            if isinstance(value, dict) and key not in NOT_CHECKED and not key.endswith("_params"):
                for sub in value:
                    yield f"config.process[{i}].{key}.{sub}", sub


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, dict[str, Any]]]:
    path = tarball(AITK_TARBALL)
    files = members(path, "config/examples/", (".yaml", ".yml"))
    root = extract(path, tmp_path_factory.mktemp("ai-toolkit"), ("toolkit/config.py", "toolkit/paths.py",
                                                                 "config/examples/"))
    loaded = run_script(LOAD, list(files), root)
    return [(name, text, result) for (name, text), result in zip(files.items(), loaded, strict=True)]


def verdict(name: str, text: str) -> Any:
    try:
        return validate_text(text, KIND_AITK, name, env={})
    except UserError as exc:
        return exc


def test_every_example_parses_exactly_when_ai_toolkits_loader_does(corpus) -> None:
    assert len(corpus) == EXPECTED_FILES
    found = []
    for name, text, result in corpus:
        ours = verdict(name, text)
        if "error" in result:
            where = f"{name}:{result['line']}:{result['column']}:"
            if not (isinstance(ours, UserError) and str(ours).startswith(where)):
                found.append(f"{name}: ai-toolkit's loader stops at {result['line']}:{result['column']}; fluxgen: {ours}")
        elif isinstance(ours, UserError):
            found.append(f"{name}: ai-toolkit loads it; fluxgen refuses it: {ours}")
    assert not found, "\n".join(found)
    assert sum("error" in r for _, _, r in corpus) == 1  # train_lora_omnigen2_24gb.yaml: an unterminated quote


def test_no_key_or_type_the_pinned_code_reads_is_called_unknown(corpus) -> None:
    found = []
    for name, text, result in corpus:
        if "config" not in result:
            continue
        report = verdict(name, text)
        found += [f"{name}: {f.path}: {f.message}" for f in report.errors]
        unknown = {f.path for f in report.findings if f.rule == "aitk-unknown-key"}
        for path, key in key_paths(result["config"]):
            if (path in unknown) == read_in_source(key):
                state = "calls it unknown" if path in unknown else "accepts it"
                found.append(f"{name}: {path}: fluxgen {state}; the pinned source "
                             f"{'reads' if read_in_source(key) else 'never reads'} '{key}'")
        for i, proc in enumerate(result["config"]["config"]["process"]):
            if not registered(proc["type"]):
                found.append(f"{name}: config.process[{i}].type: '{proc['type']}' is not registered in the source")
    assert not found, "fluxgen and ai-toolkit's code disagree:\n" + "\n".join(found)


def test_the_four_non_extension_examples_are_checked_as_their_own_jobs(corpus) -> None:
    reports = {name.rsplit("/", 1)[1]: verdict(name, text) for name, text, r in corpus if "config" in r}
    for name in ("extract.example.yml", "generate.example.yaml", "mod_lora_scale.yaml"):
        report = reports[name]
        assert report.ok and report.warnings == [], report.lines()
        assert [f.path for f in report.infos] == ["job"] and "FLUX LoRA rules do not apply" in report.infos[0].message
    slider = reports["train_slider.example.yml"]
    assert slider.ok and any("not a LoRA trainer" in f.message for f in slider.infos), slider.lines()


def test_a_mistyped_key_in_an_example_is_still_caught(corpus) -> None:
    """The agreement above is not vacuous: the same files with one key misspelled or dropped fail."""
    texts = {name.rsplit("/", 1)[1]: text for name, text, _ in corpus}
    generate = verdict("g.yaml", texts["generate.example.yaml"].replace("output_folder:", "output_foldr:"))
    assert [f.line("g.yaml") for f in generate.errors] == [
        "g.yaml: config.process[0].output_foldr: unknown key (did you mean 'output_folder'?) (GenerateProcess does "
        "not read it; ai-toolkit ignores keys it does not know, so this setting has no effect)",
        "g.yaml: config.process[0].output_folder: missing; ai-toolkit stops without it (add 'output_folder:')"]
    mod = verdict("m.yaml", re.sub(r"(?m)^\s*output_path:.*\n", "", texts["mod_lora_scale.yaml"]))
    assert [f.path for f in mod.errors] == ["config.process[0].output_path"]
