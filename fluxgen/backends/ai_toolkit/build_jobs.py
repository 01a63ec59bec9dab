"""Build-time: ai-toolkit's jobs and process types at the pin, from its source (toolkit/job.py, jobs/*Job.py,
the extension folders), with the keys each job and each process reads (via source_tree)."""

from __future__ import annotations

import ast
from typing import Any

from fluxgen.backends.ai_toolkit.source_tree import Reads, Source, class_reads, config_class_reads

# The config classes the reference already describes in full (schema section -> class); a process that unpacks
# one of these classes gets that section's checks.
KNOWN_SECTION_CLASSES = {
    "NetworkConfig": "network", "SaveConfig": "save", "TrainConfig": "train", "ModelConfig": "model",
    "SampleConfig": "sample", "LoggingConfig": "logging", "GuidanceConfig": "guidance",
    "EmbeddingConfig": "embedding", "DecoratorConfig": "decorator", "AdapterConfig": "adapter",
    "DatasetConfig": "datasets[]",
}
EXTENSION_FOLDERS = ("extensions", "extensions_built_in")  # the order toolkit/extension.py scans them in
SD_TRAIN_BASE = "BaseSDTrainProcess"
TRAIN_BASE = "BaseTrainProcess"


def dispatched_jobs(src: Source) -> dict[str, str]:
    """`job:` value -> job class, from the `if job == '...'` branches of toolkit/job.py get_job."""
    tree = src.module("toolkit.job")
    out: dict[str, str] = {}
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            test = node.test
            if (isinstance(test.left, ast.Name) and test.left.id == "job" and isinstance(test.ops[0], ast.Eq)
                    and isinstance(test.comparators[0], ast.Constant)):
                for stmt in node.body:
                    if isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Call):
                        out[test.comparators[0].value] = stmt.value.func.id  # type: ignore[union-attr]
    return out


def job_classes(src: Source) -> dict[str, str]:
    """Every job class in jobs/ (name -> module), dispatched or not."""
    out = {}
    for path in sorted(src.files):
        if path.startswith("jobs/") and path.count("/") == 1 and path.endswith("Job.py"):
            name = path[len("jobs/"):-3]
            if name != "BaseJob":
                out[name] = f"jobs.{name}"
    return out


def process_table(src: Source, module: str) -> dict[str, tuple[str, str] | None]:
    """A job module's `process_dict`: type -> (module, class) as BaseJob.load_processes finds it in
    jobs.process, or None when that class does not exist there."""
    tree = src.module(module)
    table: dict[str, tuple[str, str] | None] = {}
    for node in tree.body if tree else ():
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "process_dict"
                                                for t in node.targets):
            for key, value in (_const_items(node.value)):
                found = src.resolve("jobs.process", value)
                table[key] = (found[0], value) if found else None
    return table


def _const_items(node: ast.AST) -> list[tuple[str, str]]:
    if not isinstance(node, ast.Dict):
        return []
    return [(k.value, v.value) for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)]


def extension_table(src: Source) -> dict[str, tuple[str, str] | None]:
    """uid -> (module, process class) of every class listed in an extension package's AI_TOOLKIT_EXTENSIONS."""
    table: dict[str, tuple[str, str] | None] = {}
    packages = sorted({p.split("/")[1] for p in src.files
                       if p.split("/")[0] in EXTENSION_FOLDERS and p.count("/") == 2 and p.endswith("__init__.py")})
    for folder in EXTENSION_FOLDERS:
        for package in packages:
            module = f"{folder}.{package}"
            tree = src.module(module)
            if tree is None:
                continue
            for name in _listed(tree):
                uid, process = _extension(src, module, name)
                if uid:
                    table[uid] = process
    return table


def _listed(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "AI_TOOLKIT_EXTENSIONS"
                                                for t in node.targets) and isinstance(node.value, ast.List):
            return [e.id for e in node.value.elts if isinstance(e, ast.Name)]
    return []


def _extension(src: Source, module: str, name: str) -> tuple[str | None, tuple[str, str] | None]:
    uid, process = None, None
    for mod, cls in src.lineage(module, name):
        for stmt in cls.body:
            if uid is None and isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "uid" for t in stmt.targets):
                uid = stmt.value.value if isinstance(stmt.value, ast.Constant) else None
            if process is None and isinstance(stmt, ast.FunctionDef) and stmt.name == "get_process":
                for ret in (n for n in ast.walk(stmt) if isinstance(n, ast.Return)):
                    if isinstance(ret.value, ast.Name):
                        found = src.resolve_in_function(mod, stmt, ret.value.id)
                        process = found
    return uid, process


def process_entry(src: Source, where: tuple[str, str] | None) -> dict[str, Any]:
    """What one process type reads: its keys, the config class of each section, whether it is a training
    process (BaseTrainProcess) and whether it is one of the SD trainers (BaseSDTrainProcess)."""
    if where is None:
        return {"class": None, "exists": False}
    module, name = where
    lineage = src.lineage(module, name)
    bases = [cls.name for _, cls in lineage]
    reads = class_reads(src, module, name)
    sections = {}
    for key, cls_name in sorted(reads.sections.items()):
        ambiguous = key in reads.ambiguous
        sections[key] = {"class": cls_name, "open": True} if ambiguous else _section(src, lineage, cls_name)
    keys = _keys(reads)
    keys["type"] = {"required": True, "default": None}  # BaseJob.load_processes looks the class up by it
    return {
        "class": name, "module": module, "exists": True, "bases": bases[1:],
        "training": TRAIN_BASE in bases, "sd_trainer": SD_TRAIN_BASE in bases,
        "keys": dict(sorted(keys.items())), "open": reads.open, "sections": sections,
    }


def _section(src: Source, lineage: list[tuple[str, ast.ClassDef]], cls_name: str) -> dict[str, Any]:
    if cls_name in KNOWN_SECTION_CLASSES:
        return {"class": cls_name, "schema": KNOWN_SECTION_CLASSES[cls_name]}
    for module, _ in lineage:
        reads = config_class_reads(src, module, cls_name)
        if reads is not None:
            return {"class": cls_name, "keys": _keys(reads), "open": reads.open}
    return {"class": cls_name, "open": True}


def _keys(reads: Reads) -> dict[str, dict[str, Any]]:
    return {k: {"required": v["required"], "default": _jsonable(v["default"])} for k, v in sorted(reads.keys.items())}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return None


def job_entry(src: Source, name: str, module: str, types: dict[str, tuple[str, str] | None],
              dispatched: bool) -> dict[str, Any]:
    """A job's own keys (under `config:`) and its process types."""
    lineage = src.lineage(module, name)
    reads = class_reads(src, module, name)
    keys = _keys(reads)
    loads = any(isinstance(n, ast.Attribute) and n.attr == "load_processes" and isinstance(n.ctx, ast.Load)
                for _, cls in lineage[:1] for n in ast.walk(cls))
    if "process" in keys:
        keys["process"]["required"] = loads
    return {"class": name, "dispatched": dispatched, "keys": keys,
            "process_types": {t: process_entry(src, w) for t, w in sorted(types.items())}}


def build_jobs(src: Source) -> dict[str, Any]:
    """Every job class with its keys and process types; `dispatched` says whether run.py can start it."""
    dispatched = dispatched_jobs(src)
    by_class = {cls: job for job, cls in dispatched.items()}
    jobs: dict[str, Any] = {}
    for cls, module in job_classes(src).items():
        job = by_class.get(cls, cls.removesuffix("Job").lower())
        table = extension_table(src) if cls == "ExtensionJob" else process_table(src, module)
        jobs[job] = job_entry(src, cls, module, table, job in dispatched)
    top = read_keys_of_base(src)
    return {"jobs": dict(sorted(jobs.items())), "top_level": top}


def read_keys_of_base(src: Source) -> dict[str, dict[str, Any]]:
    """The document's top-level keys BaseJob reads (`config`, `job`, `meta`)."""
    from fluxgen.backends.ai_toolkit.source_tree import read_keys

    reads = read_keys(src.lineage("jobs.BaseJob", "BaseJob"), ast.Name(id="config", ctx=ast.Load()), False)
    return _keys(reads)
