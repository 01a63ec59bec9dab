"""Read YAML the way ai-toolkit does (a float resolver that turns `1e-4` into a number) and remember where
its reading differs from plain PyYAML, so the validator can warn about values other YAML tools read as strings."""

from __future__ import annotations

import re
from typing import Any

import yaml

from fluxgen.fsio import load_yaml_text
from fluxgen.validate.report import Finding

LOOSE_FLOAT_TAG = "tag:fluxgen,2024:loose-float"
# Exponent forms ai-toolkit's loader reads as floats but YAML 1.1 (PyYAML) reads as strings: 1e-4, 1.0e4, 5E3.
_LOOSE_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
_PARTS = re.compile(r"^([-+]?)([0-9_]*)(?:\.([0-9_]*))?[eE]([-+]?)([0-9]+)$")


class LooseFloat(float):
    """A float ai-toolkit reads from text that PyYAML would leave a string; `text` is what was written."""

    text: str

    def __new__(cls, text: str) -> LooseFloat:
        obj = super().__new__(cls, float(text.replace("_", "")))
        obj.text = text
        return obj

    def portable(self) -> str:
        """The same number written so every YAML reader sees a float (`1e-4` -> `1.0e-4`)."""
        match = _PARTS.match(self.text)
        if not match:
            return repr(float(self))
        sign, whole, frac, exp_sign, exp = match.groups()
        return f"{sign}{whole or '0'}.{frac or '0'}e{exp_sign or '+'}{exp}"


class _AitkLoader(yaml.SafeLoader):
    """SafeLoader plus the exponent-float resolver, recording keys repeated within one mapping."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    self.duplicates.append((key_node.value, key_node.start_mark.line + 1))
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _construct_loose(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> LooseFloat:
    return LooseFloat(loader.construct_scalar(node))


_AitkLoader.add_implicit_resolver(LOOSE_FLOAT_TAG, _LOOSE_FLOAT, list("-+0123456789."))
_AitkLoader.add_constructor(LOOSE_FLOAT_TAG, _construct_loose)


def load_aitk_yaml(text: str, source: str) -> tuple[Any, list[Finding]]:
    """Parse as ai-toolkit does, after fluxgen's guarded load (syntax errors with line:column, alias bombs)."""
    load_yaml_text(text, source, duplicates=True)  # reported below as findings, as ai-toolkit reads them
    loader = _AitkLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    findings = [
        Finding("warning", f"line {line}", f"key '{key}' appears twice in the same mapping; the last one wins",
                "keep one of them", rule="yaml-duplicate-key")
        for key, line in loader.duplicates
    ]
    return data, findings
