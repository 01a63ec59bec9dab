"""Build-time reader of ai-toolkit's own source (the pinned tarball): which jobs `get_job` starts, which process
types each job registers, and which config keys each job and process class reads. Read with `ast`, never run,
so the data follows the code at the pin instead of being typed by hand."""

from __future__ import annotations

import ast
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Keyword names through which a read says it must be present.
_REQUIRED = "required"


def read_tree(tarball: Path) -> dict[str, str]:
    """Every .py file of the tarball by its path inside the tree (the top `<name>-<commit>/` folder dropped)."""
    files: dict[str, str] = {}
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".py"):
                handle = tar.extractfile(member)
                if handle is not None:
                    files[member.name.split("/", 1)[1]] = handle.read().decode("utf-8", errors="replace")
    return files


def parse(text: str) -> ast.Module:
    """The module's tree; an empty one for the few files Python itself cannot compile (they cannot run either)."""
    try:
        return ast.parse(text)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


@dataclass
class Reads:
    """Keys read from one mapping: name -> {required, default}; sections: key -> class name; open when the
    mapping is handed on whole, so its keys cannot be listed."""

    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)
    open: bool = False
    ambiguous: set[str] = field(default_factory=set)  # sections unpacked into two different classes

    def add(self, key: str, required: bool, default: Any) -> None:
        entry = self.keys.setdefault(key, {"required": False, "default": None})
        entry["required"] = entry["required"] or required
        if entry["default"] is None and default is not None:
            entry["default"] = default


class Source:
    """The parsed tree: modules by dotted name, classes resolved through each module's imports."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.trees: dict[str, ast.Module] = {}

    def module(self, dotted: str) -> ast.Module | None:
        if dotted not in self.trees:
            base = dotted.replace(".", "/")
            text = self.files.get(base + ".py", self.files.get(base + "/__init__.py"))
            if text is None:
                return None
            self.trees[dotted] = parse(text)
        return self.trees[dotted]

    def resolve(self, module: str, name: str, depth: int = 0) -> tuple[str, ast.ClassDef] | None:
        """The class `name` as seen from `module`: defined there, or followed through its imports."""
        tree = self.module(module)
        if tree is None or depth > 6:
            return None
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return module, node
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        target = _absolute(module, node, self.files)
                        found = self.resolve(target, alias.name, depth + 1)
                        if found is None and self.module(f"{target}.{alias.name}") is not None:
                            found = self.resolve(f"{target}.{alias.name}", alias.name, depth + 1)
                        if found:
                            return found
        return None

    def resolve_in_function(self, module: str, func: ast.FunctionDef, name: str) -> tuple[str, str] | None:
        """(module, class) of `name` imported inside `func` (the lazy imports of an extension's get_process)."""
        for node in ast.walk(func):
            if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
                target = _absolute(module, node, self.files)
                found = self.resolve(target, name)
                if found:
                    return found[0], found[1].name
        return None

    def lineage(self, module: str, name: str) -> list[tuple[str, ast.ClassDef]]:
        """The class and its bases that live in the tree, most derived first."""
        found = self.resolve(module, name)
        if found is None:
            return []
        out = [found]
        for base in found[1].bases:
            if isinstance(base, ast.Name):
                out += self.lineage(found[0], base.id)
        return out


def _absolute(module: str, node: ast.ImportFrom, files: dict[str, str]) -> str:
    if not node.level:
        return node.module or ""
    is_package = module.replace(".", "/") + "/__init__.py" in files
    parts = module.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    base = parts[:keep]
    return ".".join(base + ([node.module] if node.module else []))


def _const(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _str_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _is_attr(node: ast.AST, owner: str, attr: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name)
            and node.value.id == owner)


def _mapping_read(node: ast.AST, mapping: ast.AST | None, via_get_conf: bool) -> tuple[str, bool, Any] | None:
    """(key, required, default) when `node` reads a key: get_conf('k'), m.get('k'), m['k'], m.pop('k')."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        key = _str_arg(node)
        if key is None:
            return None
        func = node.func
        if via_get_conf and _is_attr(func, "self", "get_conf"):
            kwargs = {k.arg: k.value for k in node.keywords}
            default = _const(node.args[1]) if len(node.args) > 1 else _const(kwargs.get("default"))
            return key.split(".")[0], _const(kwargs.get(_REQUIRED)) is True, default
        if func.attr in {"get", "pop"} and mapping is not None and ast.dump(func.value) == ast.dump(mapping):
            return key, False, _const(node.args[1]) if len(node.args) > 1 else None
    if isinstance(node, ast.Subscript) and mapping is not None and ast.dump(node.value) == ast.dump(mapping):
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            return node.slice.value, False, None
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
        if mapping is not None and ast.dump(node.comparators[0]) == ast.dump(mapping):
            if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
                return node.left.value, False, None
    return None


def _computed_read(node: ast.AST, mapping: ast.AST | None, via_get_conf: bool) -> bool:
    """get_conf(name), m.get(name) or m[name] with a key that is not a literal."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        literal = isinstance(node.args[0], ast.Constant)
        if via_get_conf and _is_attr(node.func, "self", "get_conf"):
            return not literal
        if node.func.attr in {"get", "pop"} and mapping is not None and ast.dump(node.func.value) == ast.dump(mapping):
            return not literal
    if isinstance(node, ast.Subscript) and mapping is not None and ast.dump(node.value) == ast.dump(mapping):
        return not isinstance(node.slice, ast.Constant)
    return False


def read_keys(classes: list[tuple[str, ast.ClassDef]], mapping: ast.AST | None, via_get_conf: bool) -> Reads:
    """Keys read from `mapping` (e.g. `self.config`, `kwargs`) in these classes, and the config classes each
    section is unpacked into (`Cls(**self.get_conf('k', {}))`, or through a local variable)."""
    reads = Reads()
    for _, cls in classes:
        for func in (n for n in ast.walk(cls) if isinstance(n, ast.FunctionDef) and n.name != "get_conf"):
            local: dict[str, str] = {}
            for node in ast.walk(func):
                found = _mapping_read(node, mapping, via_get_conf)
                if found:
                    reads.add(*found)
                elif _computed_read(node, mapping, via_get_conf):
                    reads.open = True  # a key computed at run time: no key can be called unknown
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    hit = _mapping_read(node.value, mapping, via_get_conf)
                    if hit:
                        local[node.targets[0].id] = hit[0]
            for node in ast.walk(func):
                if isinstance(node, ast.Call):
                    _unpacked(node, mapping, via_get_conf, local, reads)
    return reads


def _unpacked(call: ast.Call, mapping: ast.AST | None, via_get_conf: bool, local: dict[str, str],
              reads: Reads) -> None:
    """`Cls(**<read of key>)` names the class a section is read into; `f(**mapping)` hands the mapping on."""
    for kw in call.keywords:
        if kw.arg is not None:
            continue
        hit = _mapping_read(kw.value, mapping, via_get_conf)
        key = hit[0] if hit else local.get(kw.value.id) if isinstance(kw.value, ast.Name) else None
        name = call.func.id if isinstance(call.func, ast.Name) else None
        if key and name and name[:1].isupper():
            if reads.sections.setdefault(key, name) != name:
                reads.ambiguous.add(key)
        elif mapping is not None and ast.dump(kw.value) == ast.dump(mapping):
            is_super = (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call)
                        and isinstance(call.func.value.func, ast.Name) and call.func.value.func.id == "super")
            if not is_super:
                reads.open = True


SELF_CONFIG = ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr="config", ctx=ast.Load())
KWARGS = ast.Name(id="kwargs", ctx=ast.Load())


def class_reads(src: Source, module: str, name: str) -> Reads:
    """Keys a process class (with its bases in the tree) reads from its process mapping."""
    return read_keys(src.lineage(module, name), SELF_CONFIG, via_get_conf=True)


def config_class_reads(src: Source, module: str, name: str) -> Reads | None:
    """Keys a `**kwargs` config class reads (its bases included); None when the class is not in the tree."""
    lineage = src.lineage(module, name)
    if not lineage:
        return None
    reads = read_keys(lineage, KWARGS, via_get_conf=False)
    for _, cls in lineage:
        init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        if init is None:
            continue
        args = init.args
        named = args.args[1:] + args.kwonlyargs
        defaults = [None] * (len(args.args) - 1 - len(args.defaults)) + list(args.defaults) + list(args.kw_defaults)
        for arg, default in zip(named, defaults, strict=True):
            reads.add(arg.arg, False, _const(default))
    if not reads.keys:
        reads.open = True  # nothing readable: claim nothing about its keys
    return reads


def _names_value(node: ast.AST, names: tuple[str, ...]) -> bool:
    """`x`, `a.x`, or either with `.lower()`, where x is one of `names` (`network_config.type` as 'network_config.type')."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "lower":
        node = node.func.value
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Attribute):
        owner = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        return node.attr in names or f"{owner}.{node.attr}" in names
    return False


def compared_strings(src: Source, names: tuple[str, ...], under: tuple[str, ...]) -> set[str]:
    """Every string a value named in `names` is compared with (`==`, `in [...]`) in files under `under`: the
    names the code acts on, which a list in the reference may have missed."""
    found: set[str] = set()
    for path, text in src.files.items():
        if not path.startswith(under):
            continue
        for node in ast.walk(parse(text)):
            if not isinstance(node, ast.Compare) or not _names_value(node.left, names):
                continue
            for op, right in zip(node.ops, node.comparators, strict=True):
                value = _const(right)
                if isinstance(op, ast.Eq | ast.NotEq) and isinstance(value, str):
                    found.add(value)
                elif isinstance(op, ast.In | ast.NotIn) and isinstance(value, list | tuple | set):
                    found |= {v for v in value if isinstance(v, str)}
    return found
