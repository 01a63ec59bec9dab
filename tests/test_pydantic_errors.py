"""One formatter for pydantic's errors: the intent, the builtin trainer's config and the user config each report an
unknown key with "did you mean" and a wrong type in the same `file: dotted.path: message` form, one line each."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from fluxgen.errors import ConfigErrors

LINE = re.compile(r"^(?P<file>[^:]+): (?P<path>[\w.\-\[\]]+): (?P<message>.+)$")


def _intent(data: dict) -> None:
    from fluxgen.intent import validate_intent

    validate_intent(data, "intent.yaml")


def _trainer(data: dict) -> None:
    from fluxgen.trainer.config import parse_config

    base = {"model": {"path": "/m"}, "dataset": {"folder": "/d"}, "save": {"output_dir": "/o"}}
    parse_config({**base, **data}, "trainer.yaml")


def _user_config(data: dict) -> None:
    from fluxgen.checkouts import check_user_config

    problems = check_user_config(data)
    if problems:
        raise ConfigErrors("config.toml", problems)


SOURCES: dict[str, tuple[Callable, dict, str, dict, str, str]] = {
    # source: (check, unknown key data, expected line, wrong type data, its path, the value named)
    "intent": (_intent, {"network": {"rnak": 8}}, "intent.yaml: network.rnak: unknown key (did you mean 'rank'?)",
               {"network": {"rank": "big"}}, "network.rank", "'big'"),
    "trainer": (_trainer, {"network": {"rnak": 8}}, "trainer.yaml: network.rnak: unknown key (did you mean 'rank'?)",
                {"network": {"rank": "big"}}, "network.rank", "'big'"),
    "user config": (_user_config, {"ai-toolkit": {"dirr": "/x"}},
                    "config.toml: ai-toolkit.dirr: unknown key (did you mean 'dir'?)",
                    {"ai-toolkit": {"python": 3}}, "ai-toolkit.python", "3"),
}


def _problems(check: Callable, data: dict) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        check(data)
    return str(info.value).splitlines()


@pytest.mark.parametrize("source", SOURCES)
def test_each_source_words_an_unknown_key_and_a_wrong_type_alike(source: str) -> None:
    check, unknown, line, wrong, path, value = SOURCES[source]
    assert _problems(check, unknown) == [line]
    (problem,) = _problems(check, wrong)
    m = LINE.match(problem)
    assert m and m["file"] == line.split(":")[0] and m["path"] == path, problem
    assert value in m["message"] and "Traceback" not in problem


def test_a_key_meant_for_another_section_is_named_in_full() -> None:
    with pytest.raises(ConfigErrors, match=r"^intent\.yaml: train\.rnak: unknown key \(did you mean "
                                           r"'network\.rank'\?\)$"):
        _intent({"train": {"rnak": 3}})


def test_nothing_close_lists_the_known_keys_in_every_source() -> None:
    with pytest.raises(ConfigErrors, match=r"trainer\.yaml: zzz: unknown key \(known keys: model, dataset, network"):
        _trainer({"zzz": 1})
    with pytest.raises(ConfigErrors, match=r"intent\.yaml: network\.zzzzz: unknown key \(known keys: rank, alpha"):
        _intent({"network": {"zzzzz": 1}})
    with pytest.raises(ConfigErrors, match=r"config\.toml: zzzz: unknown section \(known sections: ai-toolkit, "):
        _user_config({"zzzz": {}})


def test_choices_and_values_name_what_was_given() -> None:
    with pytest.raises(ConfigErrors, match=r"kind: 'subjekt' is not allowed \(did you mean 'subject'\? choose one"):
        _intent({"kind": "subjekt"})
    with pytest.raises(ConfigErrors, match=r"train\.optimizer: Input should be 'adamw' or 'adamw8bit' "
                                           r"\(got 'adamw9'\)$"):
        _trainer({"train": {"optimizer": "adamw9"}})


def test_every_problem_of_a_file_is_one_line() -> None:
    lines = _problems(_user_config, {"ai-toolkit": {"dirr": "/x", "python": ""}, "sd-scripst": {}})
    assert sorted(lines) == ["config.toml: ai-toolkit.dirr: unknown key (did you mean 'dir'?)",
                             "config.toml: ai-toolkit.python: is empty; give a path or remove the line",
                             "config.toml: sd-scripst: unknown section (did you mean 'sd-scripts'?)"]
    assert all(LINE.match(line) for line in lines)
