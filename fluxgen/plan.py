"""Intent + dataset facts → Plan: every value a backend needs, each with the rule or source that set it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgen import __version__
from fluxgen.errors import UserError
from fluxgen.intent import LayeredIntent
from fluxgen.origin import Origin
from fluxgen.rules import Advice, Resolver

# The values `fluxgen plan --json` always shows first, in this order.
HEADLINE = ("name", "kind", "backend", "trigger", "images", "steps", "rank", "alpha", "lr", "save_every",
            "resolution", "batch_size")


@dataclass
class Plan:
    values: dict[str, Any]
    origins: dict[str, str]
    warnings: list[Advice] = field(default_factory=list)
    intent: dict[str, Any] = field(default_factory=dict)  # the merged intent, enough to plan again
    chain: list[str] = field(default_factory=list)
    dataset_lint: dict[str, Any] | None = None

    @property
    def backend(self) -> str:
        return self.values["backend"]

    @property
    def hash(self) -> str:
        """Content hash of the resolved values: equal plans render equal files."""
        blob = json.dumps(self.values, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "origins": self.origins,
            "warnings": [w.to_dict() for w in self.warnings],
            "hash": self.hash,
            "intent": self.intent,
            "chain": self.chain,
            "fluxgen_version": __version__,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        warnings = [Advice(w["message"], w["origin"], w.get("severity", "warning")) for w in data.get("warnings", [])]
        return cls(dict(data["values"]), dict(data["origins"]), warnings, data.get("intent", {}), data.get("chain", []))


@dataclass
class PlanOptions:
    """What the command line says: each given option overrides the intent."""

    images: str | None = None
    trigger: str | None = None
    kind: str | None = None
    rank: int | None = None
    steps: int | None = None
    backend: str | None = None
    vram: int | None = None
    sets: list[str] = field(default_factory=list)
    lint: bool = True

    @classmethod
    def from_cli(cls, kw: dict[str, Any]) -> PlanOptions:
        """The options every planning command shares, from click's keyword arguments (absent ones stay unset)."""
        return cls(images=kw.get("images"), trigger=kw.get("trigger"), kind=kw.get("kind"), rank=kw.get("rank"),
                   steps=kw.get("steps"), backend=kw.get("backend"), vram=kw.get("vram"),
                   sets=list(kw.get("sets") or []))

    def overrides(self) -> list[tuple[str, Any, str]]:
        from fluxgen.intent import parse_set

        out: list[tuple[str, Any, str]] = []
        for opt, key in (("images", "dataset.path"), ("trigger", "trigger"), ("kind", "kind"), ("rank", "network.rank"),
                         ("steps", "train.steps"), ("backend", "backend"), ("vram", "vram")):
            value = getattr(self, opt)
            if value is not None:
                out.append((key, value, Origin.command_line(f"--{opt}")))
        for item in self.sets:
            key, value = parse_set(item)
            out.append((key, value, Origin.command_line(f"--set {item}")))
        return out


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-._").lower()
    return s or "lora"


def build_plan(ref: str | None, options: PlanOptions | None = None) -> Plan:
    """Layer the intent, read the dataset, run the rules in dependency order."""
    from fluxgen.presets import layer

    options = options or PlanOptions()
    layered = layer(ref, options.overrides())
    return plan_from_layered(layered, lint=options.lint)


def plan_from_layered(layered: LayeredIntent, *, lint: bool = True) -> Plan:
    from fluxgen.backends import BACKENDS, canonical_name
    from fluxgen.passthrough import plan_passthrough
    from fluxgen.rules.capabilities import plan_capabilities
    from fluxgen.rules.captions import plan_captions
    from fluxgen.rules.datasets import plan_folder_settings
    from fluxgen.rules.extras import plan_extras
    from fluxgen.rules.masks import plan_masks
    from fluxgen.rules.memory import plan_memory
    from fluxgen.rules.model import plan_model
    from fluxgen.rules.naming import plan_naming
    from fluxgen.rules.network import plan_network
    from fluxgen.rules.samples import plan_samples
    from fluxgen.rules.save_format import plan_save_format
    from fluxgen.rules.steps import plan_steps
    from fluxgen.rules.training import plan_training

    intent = layered.intent
    backend = canonical_name(intent.backend or "ai-toolkit")
    r = Resolver(layered, backend)
    _identity(r, layered)
    lint_report, others = _dataset(r, lint)
    for rule in (plan_network, plan_steps, plan_training, plan_memory, plan_captions, plan_masks, plan_folder_settings,
                 plan_model,
                 plan_samples, BACKENDS[backend].plan_settings, plan_capabilities, plan_save_format, plan_extras, plan_naming,
                 plan_passthrough):
        rule(r)
    plan = Plan(r.values, r.origins, r.advice, _portable_intent(layered.raw, r.values), layered.chain)
    if lint_report is not None:
        plan.dataset_lint = lint_report.to_dict()
        for label, report in others:  # the other folders' errors stop a render too, named by their intent key
            plan.dataset_lint["findings"] += [dict(f, path=f"{label} {report.root / f['path']}") for f in
                                              report.to_dict()["findings"] if f["severity"] == "error"]
    return plan


def _portable_intent(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The merged intent with every path made absolute, so it plans the same from any folder."""
    import copy

    intent = copy.deepcopy(raw)
    if intent.get("datasets"):
        for i, entry in enumerate(intent["datasets"]):
            entry["path"] = values[f"datasets.{i}.path"]
            if entry.get("masks") not in (None, "none"):
                entry["masks"] = values[f"datasets.{i}.masks"]
    else:
        intent.setdefault("dataset", {})["path"] = values["dataset"]
    if values.get("base_model_kind") == "local":
        intent.setdefault("model", {})["base"] = values["model_path"]
    for part in ("transformer", "clip_l", "t5xxl", "ae"):
        given = intent.get("model", {}).get(part)
        if given and f"model.{part}" in values:  # resolved only where the backend reads single files
            intent["model"][part] = values[f"model.{part}"]
    return intent


def _identity(r: Resolver, layered: LayeredIntent) -> None:
    intent = layered.intent
    dataset = intent.dataset.path
    default_name = slug(Path(dataset).name) if dataset else r.layered.intent.kind or "lora"
    r.take("name", "name", default_name, "named after the dataset folder")
    r.values["name"] = slug(r.values["name"])
    r.take("kind", "kind", "subject", "subject unless the intent says otherwise (design card)")
    r.take("backend", "backend", "ai-toolkit", "ai-toolkit unless the intent says otherwise (design card)")
    r.values["backend"] = r.backend
    r.take("trigger", "trigger", None, "no trigger word given")


def _dataset(r: Resolver, lint: bool) -> Any:
    from fluxgen.dataset.lint import lint_dataset
    from fluxgen.rules.datasets import plan_folders, primary, resolve_folder

    path, key = primary(r)
    if path is None:
        raise UserError("no dataset: pass --images DIR or set dataset.path in the intent")
    if not str(path).strip():
        where = r.layered.origins.get(key, key)
        raise UserError(f"{where}: the dataset folder is empty text, which would mean the current folder; "
                        "give the folder (use --images . for the current one)")
    folder = resolve_folder(r, path, key)
    r.take("dataset", "dataset.path", None, "")
    if key != "dataset.path":
        r.origins["dataset"] = r.layered.origins.get(key, "intent")
    r.values["dataset"] = str(folder)
    entry = r.given("datasets")[int(key.split(".")[1])] if key != "dataset.path" else None  # the first of several
    resolution = max((entry and entry.resolution) or r.given("train.resolution") or [1024])
    caption_ext = (entry and entry.caption_ext) or r.given("dataset.caption_ext") or ".txt"
    caption_ext = caption_ext if caption_ext.startswith(".") else "." + caption_ext
    report = lint_dataset(folder, kind=r.values["kind"], trigger=r.values["trigger"], backend=r.backend,
                          resolution=resolution, caption_mode=(entry and entry.captions) or r.given("dataset.captions"),
                          quick=True, caption_ext=caption_ext)
    r.set("images", report.image_count, f"image files in {folder} the {r.backend} trainer loads")
    _source_images(r, folder)
    r.planner.dataset(r, report, folder)
    from fluxgen.dataset.fingerprint import fingerprint_dataset

    r.set("fingerprint", fingerprint_dataset(folder, caption_ext=caption_ext), "content hash of the images and "
          f"their {caption_ext} captions")
    if lint:
        _lint_advice(r, report)
    return report, plan_folders(r, lint, first=report)


def _source_images(r: Resolver, folder: Path) -> None:
    """Style patches are crops of fewer pictures: the folder prepare wrote says how many (only then is it set)."""
    from fluxgen.dataset.provenance import prepared_facts

    facts = prepared_facts(folder)
    if facts and facts.get("style_patches") and facts.get("source_images"):
        r.set("source_images", int(facts["source_images"]),
              f"{facts['source_images']} source images, cut into {facts.get('images')} style patches by "
              "`fluxgen dataset prepare` (its .fluxgen-prepare note)")


def _lint_advice(r: Resolver, report: Any, label: str = "") -> None:
    """Dataset errors and warnings join the plan's advice, one line per kind of finding (`label` names the intent
    key of a folder other than the first; with several folders the image count is judged on their total)."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for finding in report.findings:
        if finding.severity in ("error", "warning") and not (r.given("datasets") and finding.id == "image-count"):
            groups.setdefault((finding.id, finding.severity), []).append(finding)
    for (fid, severity), found in groups.items():
        first = found[0]
        where = "dataset" if str(first.path) in (".", "") else str(first.path)
        where = f"{label}: {where}" if label else where
        if len(found) == 1:
            r.warn(f"{where}: {first.message}", f"dataset lint ({fid})", severity=severity)
            continue
        names = ", ".join(str(f.path) for f in found[:3]) + (", …" if len(found) > 3 else "")
        r.warn(f"{len(found)} files ({names}), e.g. {where}: {first.message}", f"dataset lint ({fid})",
               severity=severity)
