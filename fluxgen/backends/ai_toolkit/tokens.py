"""Text ai-toolkit substitutes in its config before parsing it: a plan value holding it would change meaning."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.plan import Plan


# Text ai-toolkit replaces throughout its YAML file, comments included, before parsing it (reference ai-toolkit.md
# §4): `${VAR}` with an environment variable, `[name]` with the job's name.
AITK_TOKENS = {"${": "an environment variable", "[name]": "the job's name"}


def check_no_substitution_tokens(plan: Plan) -> None:
    """Refuse any value (in lists and mappings too, keys included) that holds text the trainer would replace."""
    from fluxgen.intent import flatten

    header = flatten(plan.intent or {})  # the intent as the header comment carries it
    for key, value in [*plan.values.items(), *header.items(), ("intent source", plan.chain)]:
        for item in _texts(value):
            for token, meaning in AITK_TOKENS.items():
                if token in item:
                    origin = plan.origins.get(key)
                    given = f" (from {origin})" if isinstance(origin, str) and origin else ""
                    raise UserError(f"{key}: '{item}'{given} contains '{token}', which ai-toolkit would replace with "
                                    f"{meaning} everywhere in its config; remove it or write it another way")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    return []
