"""How SimpleTuner 4.10.1 reads `config.json`, replayed: the JSON object becomes `--key=value` tokens
(st:configuration/cli_utils `mapping_to_cli_args`), then its argparse parser resolves each option (exact name, alias,
or a unique prefix), converts the value with the option's type and checks its choices."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fluxgen.backends.simple_tuner.keys import KEYS
from fluxgen.validate.report import Finding, describe, did_you_mean

BOOL_TRUE = {"1", "true", "yes", "y", "on"}
BOOL_FALSE = {"0", "false", "no", "n", "off"}
# Legacy keys the loader renames before parsing; the others it drops (dataset-level or web-UI keys).
RENAMED = {"checkpointing_steps": "checkpoint_step_interval", "validation_steps": "validation_step_interval",
           "save_total_limit": "checkpoints_total_limit"}


@dataclass(frozen=True)
class Token:
    key: str  # the JSON key it came from
    option: str  # the name after `--`
    value: str | None  # None: a bare flag


def tokens_of(data: dict[str, Any]) -> tuple[list[Token], list[Finding]]:
    """The `--option=value` list SimpleTuner's loader builds from the JSON object, and what it drops on the way."""
    tokens: list[Token] = []
    found: list[Finding] = []
    loader = KEYS["loader"]
    for key, value in data.items():
        name = key.lstrip("-")
        if value is None or name in loader["skipped"]:
            continue
        if name in loader["legacy"]:
            tokens += _legacy(key, name, value, found)
            continue
        tokens += _value_tokens(key, name, value, found)
    return tokens, found


def _legacy(key: str, name: str, value: Any, found: list[Finding]) -> list[Token]:
    if name in RENAMED:
        if value in ("", None) or (isinstance(value, str) and not value.strip()):
            return []
        found.append(Finding("info", key, f"an old name: SimpleTuner reads it as '{RENAMED[name]}'",
                             f"write \"{RENAMED[name]}\"", "legacy"))
        text = value.strip() if isinstance(value, str) else str(value)
        return [Token(key, RENAMED[name], text)]
    if name == "vae_cache_preprocess":
        return [] if _truthy(value) else [Token(key, "vae_cache_ondemand", None)]
    if name in ("repeats", "aspect_ratio_bucketing", "aspect_ratio_bucket_min", "aspect_ratio_bucket_max"):
        found.append(Finding("warning", key, "SimpleTuner ignores this key in config.json: it is a dataset setting",
                             "set it on the dataset in multidatabackend.json", "legacy"))
    return []


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        low = value.strip().lower()
        return low not in {"", "0", "false", "no", "off", "none"} and (low in {"1", "true", "yes", "on"} or True)
    return bool(value) if value is not None else False


def _value_tokens(key: str, name: str, value: Any, found: list[Finding]) -> list[Token]:
    loader = KEYS["loader"]
    if isinstance(value, bool):
        return [Token(key, name, None if value else "false")]
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return [Token(key, name, None)] if value.strip().lower() == "true" else []
    if name in loader["json_fields"] and isinstance(value, dict | list):
        value = json.dumps(value)
    if isinstance(value, dict):
        found.append(Finding("warning", key, "a mapping: SimpleTuner's loader passes it to no option",
                             "give a string or number", "ignored"))
        return []
    if name == "report_to" and isinstance(value, list):
        joined = ",".join(str(v).strip() for v in value if str(v).strip())
        return [Token(key, name, joined)] if joined else []
    if isinstance(value, list):
        items = [str(v).strip() for v in value if str(v).strip()]
        if len(items) > 1:
            found.append(Finding("warning", key, f"a list of {len(items)}: SimpleTuner's parser keeps only the last "
                                 f"item ({items[-1]!r})", "give one value", "list"))
        return [Token(key, name, item) for item in items]
    text = str(value).strip()
    if not text:
        return [Token(key, name, "")] if name in loader["allow_empty"] and isinstance(value, str) else []
    return [Token(key, name, text)]


def option_strings() -> dict[str, str]:
    """Every `--name` the parser accepts (names and aliases) -> the option's canonical name."""
    table = {}
    for name, opt in KEYS["options"].items():
        table[name] = name
        for alias in opt["aliases"]:
            table[alias] = name
    return table


def resolve_tokens(tokens: list[Token]) -> tuple[dict[str, Any], list[Finding]]:
    """Parse the tokens as SimpleTuner's parser does: option dest -> converted value, and what it stops on."""
    strings = option_strings()
    values: dict[str, Any] = {}
    found: list[Finding] = []
    for token in tokens:
        name = _match(token, strings, found)
        if name is None:
            continue
        opt = KEYS["options"][name]
        converted = _convert(token, name, opt, found)
        if converted is not _BAD:
            values[opt["dest"]] = converted
    return values, found


_BAD = object()


def _match(token: Token, strings: dict[str, str], found: list[Finding]) -> str | None:
    if token.option in strings:
        return strings[token.option]
    prefixed = sorted({strings[s] for s in strings if s.startswith(token.option)})
    if len(prefixed) == 1:
        found.append(Finding("warning", token.key, f"not an option name: SimpleTuner's parser takes it as an "
                             f"abbreviation of '{prefixed[0]}'", f"write \"{prefixed[0]}\"", "abbreviation"))
        return prefixed[0]
    if len(prefixed) > 1:
        found.append(Finding("error", token.key, "ambiguous: SimpleTuner's parser stops, it could be "
                             + ", ".join(prefixed[:4]), "write the full option name", "unknown-key"))
        return None
    found.append(Finding("error", token.key, "unknown key: SimpleTuner's parser stops on it"
                         + did_you_mean(token.option, list(strings)), "remove it or fix its name", "unknown-key"))
    return None


def _convert(token: Token, name: str, opt: dict[str, Any], found: list[Finding]) -> Any:
    kind = opt["type"]
    raw = token.value

    def bad(message: str, fix: str) -> object:
        found.append(Finding("error", token.key, message, fix, "type"))
        return _BAD

    if raw is None:
        return True if kind == "bool" else bad("a bare flag (true) for an option that takes a value",
                                               f"give {name} a value")
    try:
        converted = _CONVERTERS.get(kind, str)(raw)
    except ValueError:
        return bad(f"must be {_WORDS.get(kind, kind)}, not {describe(raw)}", "SimpleTuner's parser stops on it")
    choices = opt["choices"]
    if choices and converted not in choices:
        hint = did_you_mean(str(converted), [str(c) for c in choices])
        return bad(f"'{raw}' is not one of SimpleTuner's choices{hint}", "one of: " + ", ".join(map(str, choices)))
    return converted


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in BOOL_TRUE:
        return True
    if low in BOOL_FALSE:
        return False
    raise ValueError(text)


def _report_to(text: str) -> str:
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if not parts or any(p not in KEYS["loader"]["report_to"] for p in parts) or ("none" in parts and len(parts) > 1):
        raise ValueError(text)
    return text


def _library(text: str) -> Any:
    try:
        return _bool(text)
    except ValueError:
        return text


_CONVERTERS = {"int": int, "float": float, "str": str, "bool": _bool, "parse_report_to_arg": _report_to,
               "parse_validation_prompt_library_flag": _library}
_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false",
          "parse_report_to_arg": "trackers from " + ", ".join(KEYS["loader"]["report_to"])}
