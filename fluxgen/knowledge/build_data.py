"""Regenerate the backends' knowledge JSON from the trainer reference notes and the pinned ai-toolkit source, so the
data follows the pinned commits.

Run by hand when a pin moves:  python -m fluxgen.knowledge.build_data [REFERENCE_DIR [OUT_DIR [TRAINERS_DIR]]]
(defaults: ../shared/reference beside the repository, each file's place in its backend package, and the `trainers` folder beside the
reference, which holds ai-toolkit-<commit>.tar.gz). fluxgen itself only reads the JSON.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

from fluxgen.backends.ai_toolkit import build_jobs as aitk_jobs
from fluxgen.backends.ai_toolkit import build_keys as aitk
from fluxgen.backends.ai_toolkit import source_tree as aitk_source
from fluxgen.backends.ai_toolkit.source_tree import Source, read_tree
from fluxgen.backends.sd_scripts import build_reference as sd
from fluxgen.knowledge import DATA_FILES

DEFAULT_REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
EXPECTED_SD_ARGS = 215


def build_sd(ref: Path) -> dict[str, dict[str, Any]]:
    """The three sd-scripts files: options, dataset schema, network_args keys."""
    text = (ref / "sd-scripts.md").read_text(encoding="utf-8")
    commit = sd.pinned_commit(text)
    args = sd.parse_args(text)
    if len(args) != EXPECTED_SD_ARGS:
        raise SystemExit(f"sd-scripts.md Appendix A lists {len(args)} options, expected {EXPECTED_SD_ARGS}")
    for name, values in sd.known_values(text).items():
        args[name]["known_values"] = values
    facts = sd.flux_facts(text, args)
    prov = {"source": "sd-scripts.md", "trainer": "kohya-ss/sd-scripts", "script": "flux_train_network.py",
            "commit": commit, "generated_by": "fluxgen/knowledge/build_data.py"}
    return {
        "sd_scripts_args.json": {"provenance": {**prov, "section": "Appendix A, §1.2"}, "options": args, **facts},
        "sd_scripts_dataset.json": {"provenance": {**prov, "section": "§2"}, **sd.parse_dataset(text)},
        "sd_scripts_network_args.json": {"provenance": {**prov, "section": "§1.4", "module": "networks.lora_flux"},
                                         **sd.parse_network_args(text)},
    }


def build_aitk(ref: Path, src: Source | None = None) -> dict[str, Any]:
    """ai-toolkit: every section's keys with type and default, process keys, accepted names (with the names the
    pinned source compares timestep_type and the network type against, when `src` is given)."""
    text = (ref / "ai-toolkit.md").read_text(encoding="utf-8")
    classes = aitk.parse_classes((ref / "ai-toolkit-config-keys.txt").read_text(encoding="utf-8"))
    typed = {sec: aitk.md_types(text, heading) for sec, heading in aitk.TYPED_TABLES.items()}
    sections: dict[str, Any] = {}
    for sec, cls in aitk.SECTIONS.items():
        keys = {}
        for name, entry in classes[cls].items():
            types, origin = _key_type(sec, name, entry, typed.get(sec, {}), classes, cls)
            keys[name] = {**entry, "types": types, "typed_from": origin}
        sections[sec] = {"class": cls, "keys": keys}
    for sec in ("sample", "first_sample"):
        sections[sec]["keys"]["prompts"]["item_types"] = ["str"]
        sections[sec]["keys"]["samples"]["item_types"] = ["dict"]
    return {
        "provenance": {"source": "ai-toolkit.md §2, ai-toolkit-config-keys.txt", "trainer": "ostris/ai-toolkit",
                       "commit": aitk.pinned_commit(text), "generated_by": "fluxgen/knowledge/build_data.py"},
        **aitk.job_facts(text),
        "process": aitk.process_keys(text),
        "sections": sections,
        "choices": _with_source_names(aitk.choice_lists(text), src),
        "flux_archs": aitk.flux_archs(text),
        "type_overrides": {k: v[1] for k, v in aitk.TYPE_OVERRIDES.items()},
    }


SOURCE_NAMES = {"timestep_types": (("timestep_type",), ("toolkit/", "jobs/", "extensions_built_in/")),
                "network_types": (("network_type", "network_config.type"), ("toolkit/", "jobs/"))}


def _with_source_names(choices: dict[str, Any], src: Source | None) -> dict[str, Any]:
    for key, (names, under) in SOURCE_NAMES.items():
        if src is not None:
            extra = sorted(aitk_source.compared_strings(src, names, under) - set(choices[key]))
            choices[key] = list(choices[key]) + extra
    return choices


def _key_type(sec: str, name: str, entry: dict[str, Any], typed: dict[str, list[str]],
              classes: dict[str, Any], cls: str) -> tuple[list[str], str]:
    override = aitk.TYPE_OVERRIDES.get(f"{cls}.{name}")
    if override:
        return [override[0]], "override"
    if name in typed:
        return typed[name], "reference table"
    seen = set()
    while "default_from" in entry and (cls, name) not in seen:
        seen.add((cls, name))
        cls = entry.get("default_from_class") or cls
        name = entry["default_from"]
        entry = classes[cls].get(name, {"default": None})
        if name in typed and cls == aitk.SECTIONS.get(sec):
            return typed[name], "reference table"
    return aitk._type_of(entry.get("default")), "default"


def build_aitk_jobs(ref: Path, trainers: Path) -> dict[str, Any]:
    """ai-toolkit's jobs, their process types and the keys each reads, from the pinned source tarball."""
    commit = aitk.pinned_commit((ref / "ai-toolkit.md").read_text(encoding="utf-8"))
    tarball = _tarball(ref, trainers)
    data = aitk_jobs.build_jobs(_source(tarball))
    return {"provenance": {"source": tarball.name, "trainer": "ostris/ai-toolkit", "commit": commit,
                           "read": "toolkit/job.py get_job, jobs/*Job.py, jobs/process, extensions*/*/__init__.py",
                           "generated_by": "fluxgen/knowledge/build_data.py"}, **data}


def _tarball(ref: Path, trainers: Path) -> Path:
    commit = aitk.pinned_commit((ref / "ai-toolkit.md").read_text(encoding="utf-8"))
    tarball = trainers / f"ai-toolkit-{commit[:8]}.tar.gz"
    if not tarball.is_file():
        raise SystemExit(f"{tarball}: the pinned ai-toolkit source is needed to list its jobs and process types")
    return tarball


@functools.cache
def _source(tarball: Path) -> Source:
    return Source(read_tree(tarball))


def render_all(ref: Path, trainers: Path | None = None) -> dict[str, str]:
    """File name -> JSON text for every data file."""
    trainers = trainers or ref.parent / "trainers"
    files = {**build_sd(ref), "ai_toolkit_keys.json": build_aitk(ref, _source(_tarball(ref, trainers))),
             "ai_toolkit_jobs.json": build_aitk_jobs(ref, trainers)}
    return {name: json.dumps(data, indent=1, ensure_ascii=False) + "\n" for name, data in files.items()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ref = Path(args[0]) if args else DEFAULT_REFERENCE
    out = Path(args[1]) if len(args) > 1 else None
    trainers = Path(args[2]) if len(args) > 2 else None
    for name, text in render_all(ref, trainers).items():
        target = out / name if out is not None else DATA_FILES[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
