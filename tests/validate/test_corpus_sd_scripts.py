"""Every dataset TOML in sd-scripts' own docs gets the verdict sd-scripts' own ConfigSanitizer gives.

The blocks come from docs/*.md inside the pinned tarball (../shared/trainers/sd-scripts-48d368fa.tar.gz), read at
test time: every ```toml fence (indented ones too) that fluxgen reads as a dataset config. The verdict comes from
the real `library.config_util.ConfigSanitizer` of that tarball, run in a small cached venv with sd-scripts' pinned
voluptuous 0.15.2 and toml 0.10.2 (see corpus_env.py). config_util also imports transformers, library.train_util
and library.utils for the dataset classes, the tokenizer and logging setup, which sanitizing never touches; those
three modules are replaced by empty stand-ins so torch is not needed. Each block is sanitized as
flux_train_network.py does it (dreambooth, fine-tuning and dropout on; controlnet-style subsets only with
--masked_loss), once without and once with --masked_loss.

fluxgen agrees when its errors are exactly the sanitizer's (with --masked_loss), every key only --masked_loss
allows carries fluxgen's warning saying so, and any further error names the run-time stop sd-scripts reaches after
the schema (an AssertionError, or 'No data found').
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from validate.corpus_env import SD_TARBALL, extract, members, run_script, tarball

from fluxgen.errors import UserError
from fluxgen.validate import KIND_SD_DATASET, Report, detect_kind, validate_text

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
EXPECTED_BLOCKS = 29
FENCE = re.compile(r"^[ \t]*```([^\n]*)\n(.*?)^[ \t]*```", re.S | re.M)
RUNTIME_STOPS = ("AssertionError", "'No data found'")

SANITIZE = r'''
import json, sys, types
for name, attrs in {"transformers": ["CLIPTokenizer"],
                    "library.train_util": ["DreamBoothSubset", "FineTuningSubset", "ControlNetSubset",
                                           "DreamBoothDataset", "FineTuningDataset", "ControlNetDataset",
                                           "DatasetGroup"],
                    "library.utils": []}.items():
    module = types.ModuleType(name)
    for attr in attrs:
        setattr(module, attr, type(attr, (), {}))
    sys.modules[name] = module
sys.modules["library.utils"].setup_logging = lambda *args, **kwargs: None
sys.path.insert(0, ".")
import toml, voluptuous
from library.config_util import ConfigSanitizer
out = []
for item in json.load(sys.stdin):
    config = toml.loads(item["text"])
    verdict = {}
    for masked in (False, True):
        try:
            ConfigSanitizer(True, True, masked, True).sanitize_user_config(config)
            verdict[str(masked)] = []
        except voluptuous.MultipleInvalid as exc:
            verdict[str(masked)] = [[[str(p) for p in e.path], e.msg] for e in exc.errors]
    out.append(verdict)
print(json.dumps(out))
'''


def dataset_blocks(docs: dict[str, str]) -> list[tuple[str, str]]:
    """(doc:line, text) of every ```toml block of docs/*.md that fluxgen reads as a dataset config."""
    out = []
    for name, text in docs.items():
        if name.count("/") != 1:
            continue
        for match in FENCE.finditer(text):
            if match.group(1).strip() != "toml":
                continue
            block = textwrap.dedent(match.group(2))
            try:
                kind, _ = detect_kind(Path("dataset.toml"), block)
            except UserError:
                continue
            if kind == KIND_SD_DATASET:
                out.append((f"{name}:{text.count(chr(10), 0, match.start()) + 1}", block))
    return out


def dotted(path: list[str]) -> str:
    """voluptuous' ['datasets', '0', 'subsets', '1', 'x'] as fluxgen writes it: datasets[0].subsets[1].x."""
    out = ""
    for part in path:
        out += f"[{part}]" if part.isdigit() else f".{part}" if out else part
    return out


def disagreements(where: str, report: Report, verdict: dict[str, list[Any]]) -> list[str]:
    """Every way fluxgen's findings differ from the sanitizer's verdict, as `doc:line: key: what`."""
    strict = {dotted(path) for path, _ in verdict["False"]}
    masked = {dotted(path): msg for path, msg in verdict["True"]}
    ours = {f.path for f in report.errors if not any(stop in f.message for stop in RUNTIME_STOPS)}
    out = [f"{where}: {key}: sd-scripts rejects it ({msg}), fluxgen does not" for key, msg in masked.items()
           if key not in ours]
    out += [f"{where}: {key}: fluxgen reports an error, sd-scripts' schema accepts it" for key in ours - set(masked)]
    warned = {f.path for f in report.warnings if "--masked_loss" in f.message}
    out += [f"{where}: {key}: accepted only with --masked_loss, and fluxgen does not say so"
            for key in strict - set(masked) - warned]
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, dict[str, list[Any]]]]:
    path = tarball(SD_TARBALL)
    blocks = dataset_blocks(members(path, "docs/", (".md",)))
    root = extract(path, tmp_path_factory.mktemp("sd-scripts"), ("library/",))
    verdicts = run_script(SANITIZE, [{"text": text} for _, text in blocks], root)
    return [(where, text, verdict) for (where, text), verdict in zip(blocks, verdicts, strict=True)]


def test_every_dataset_block_in_the_docs_gets_the_sanitizers_verdict(corpus) -> None:
    assert len(corpus) == EXPECTED_BLOCKS
    found = []
    for where, text, verdict in corpus:
        found += disagreements(where, validate_text(text, KIND_SD_DATASET, where), verdict)
    assert not found, "fluxgen and sd-scripts' ConfigSanitizer disagree:\n" + "\n".join(found)


def test_the_docs_own_mistakes_are_caught_by_both(corpus) -> None:
    """validation_split in a subset and resolution = "1024,1024" (docs/validation.md), a [datasets] table."""
    rejected = {where: verdict["True"] for where, _, verdict in corpus if verdict["True"]}
    keys = {dotted(path) for errors in rejected.values() for path, _ in errors}
    assert {"datasets[0].subsets[1].validation_split", "datasets[0].resolution", "datasets"} <= keys
    assert sum(1 for where in rejected if where.startswith("docs/validation.md")) == 6


def test_extra_findings_name_the_run_time_assertion(corpus) -> None:
    """hunyuan_image_train_network.md: max_bucket_reso 1024 below a 1280 resolution passes the schema."""
    extra = [(where, f) for where, text, verdict in corpus if not verdict["True"]
             for f in validate_text(text, KIND_SD_DATASET, where).errors]
    assert extra, "the corpus has a block whose only error is a run-time assertion"
    assert all(f.rule == "sd-bucket-range" and "AssertionError" in f.message for _, f in extra)


def test_a_disagreement_names_the_file_and_key(corpus) -> None:
    where, text, verdict = next(c for c in corpus if c[2]["True"])
    report = validate_text(text, KIND_SD_DATASET, where)
    report.findings = [f for f in report.findings if f.severity != "error"]
    found = disagreements(where, report, verdict)
    assert found and all(line.startswith(f"{where}: ") and "sd-scripts rejects it" in line for line in found)
