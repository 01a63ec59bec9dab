"""The intent's pass-through: `trainer: {<backend>: {...}}`, the trainer settings no modelled key can say.

Each backend says which sections it takes, which of their keys fluxgen already writes (and the intent key to use
instead) and how its own key knowledge checks a fragment (`Backend.passthrough()`). A plan keeps every leaf of the
planned backend's section as a value `trainer.<backend>.<path>` with its origin, so `plan`/`explain` show it and
the plan hash covers it; the header carries the whole section (it is part of the intent), so `reproduce` does too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fluxgen.errors import ConfigErrors

if TYPE_CHECKING:
    from fluxgen.backends.base import PassThrough
    from fluxgen.rules import Resolver

PREFIX = "trainer."
_SECRET = re.compile(r"(api_?key|token|secret|password|secret_access_key)$", re.IGNORECASE)


def is_secret(key: str) -> bool:
    """A key whose value is a credential (`wandb_api_key`, `hf_token`, `aws_secret_access_key`…): never written."""
    return bool(_SECRET.search(key))


def leaves(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> dotted leaves; lists and empty mappings are leaves (a trainer reads them whole)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(leaves(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted leaves -> nested mappings (the inverse of `leaves`)."""
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def problems_of(backend: str, fragment: Any) -> list[str]:
    """Every problem of one backend's section, as `trainer.<backend>.<path>: message` lines."""
    from fluxgen.backends import BACKENDS

    where = f"{PREFIX}{backend}"
    spec = BACKENDS[backend].passthrough()
    if spec is None:
        return [f"{where}: {backend} takes no pass-through settings; use the intent's own keys"]
    if not isinstance(fragment, dict):
        return [f"{where}: must be a mapping of {', '.join(spec.sections)}"]
    out = []
    for key, value in fragment.items():
        if not spec.open_sections and key not in spec.sections:
            out.append(f"{where}.{key}: unknown section{_did_you_mean(str(key), list(spec.sections))}; "
                       f"{backend} takes {', '.join(spec.sections)}")
        elif key in spec.sections and spec.sections[key].endswith("(mapping)") and not isinstance(value, dict):
            out.append(f"{where}.{key}: must be a mapping of the keys {spec.sections[key].removesuffix(' (mapping)')}"
                       " reads")
    if out:
        return out
    out += [f"{where}.{path}: a secret never goes into a file fluxgen writes; set it in the environment instead "
            "(wandb reads WANDB_API_KEY, the hub HF_TOKEN)" for path in leaves(fragment) if _SECRET.search(path)]
    out += [f"{where}.{path}: {message}" for path, message in _modelled(spec, fragment)]
    out += [f"{where}.{path}: {message}" for path, message in spec.check(fragment)]
    return out


def _modelled(spec: PassThrough, fragment: dict[str, Any]) -> list[tuple[str, str]]:
    """A key fluxgen writes from the intent cannot be set again here: name the intent key that sets it."""
    out = []
    for path in leaves(fragment):
        parts = path.split(".")
        for depth in range(1, len(parts) + 1):
            head = ".".join(parts[:depth])
            if head in spec.modelled:
                intent_key = spec.modelled[head]
                fix = f"set {intent_key} in the intent instead" if intent_key else \
                    "fluxgen writes it from the plan; it cannot be overridden here"
                out.append((head, f"is a modelled setting: {fix}"))
                break
    return list(dict.fromkeys(out))


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def plan_passthrough(r: Resolver) -> None:
    """Check every backend's section; keep the planned backend's leaves as plan values with their origins."""
    sections = r.layered.intent.trainer or {}
    problems = [p for backend, fragment in sections.items() for p in problems_of(backend, fragment)]
    if problems:
        source = _source(r, problems)
        raise ConfigErrors(source, problems)
    for path, value in leaves(sections.get(r.backend) or {}).items():
        key = f"{PREFIX}{r.backend}.{path}"
        r.values[key] = value
        r.origins[key] = _origin(r, key)


def _origin(r: Resolver, key: str) -> str:
    """The origin the layering recorded for this key, or for the nearest section above it."""
    parts = key.split(".")
    for depth in range(len(parts), 1, -1):
        found = r.layered.origins.get(".".join(parts[:depth]))
        if found:
            return found
    for dotted, origin in r.layered.origins.items():  # a list of mappings is recorded by index
        if dotted.startswith(key + "."):
            return origin
    return "intent"


def _source(r: Resolver, problems: list[str]) -> str:
    first = problems[0].split(":", 1)[0]
    origin = r.layered.origins.get(first) or _origin(r, first)
    file = getattr(origin, "file", None)
    return file or (str(origin) if origin and origin != "intent" else
                    r.layered.chain[-1] if r.layered.chain else "intent")


def fragment(values: dict[str, Any], backend: str) -> dict[str, Any]:
    """The planned backend's pass-through, nested again, from a plan's values."""
    head = f"{PREFIX}{backend}."
    return nest({k[len(head):]: v for k, v in values.items() if k.startswith(head)})
