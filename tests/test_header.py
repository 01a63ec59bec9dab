"""The rendered files' header: written by `Header.lines()`, read back by `Header.parse`/`read` to the same fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.errors import UserError
from fluxgen.header import Header

HEADER = Header("0.1.0", "sd-scripts", "48d368fa557731ad0488c07304dfeba8c07910eb", "presets/kinds/subject.yaml",
                "sha256:abc", "fluxgen render <this file> --out <folder>",
                {"chain": ["presets/kinds/subject.yaml"], "intent": {"kind": "subject", "trigger": "ü ✨"}})


def test_lines_read_back_to_the_same_header(tmp_path: Path) -> None:
    path = tmp_path / "args.toml"
    path.write_text("".join(f"# {line}\n" for line in HEADER.lines()) + "network_dim = 16\n", encoding="utf-8")
    assert Header.read(path) == HEADER


def test_golden_files_carry_a_full_header() -> None:
    for path in sorted((Path(__file__).parent / "golden").glob("*/*")):
        if path.suffix in (".yaml", ".toml", ".txt"):
            header = Header.read(path)
            assert header is not None and header.intent and header.backend == path.parent.suffix[1:], path


def test_older_pin_line_and_missing_fields() -> None:
    header = Header.parse("# trainer: ai-toolkit 27a03a91\n# fluxgen-intent: {\"intent\": {}}\nkey: 1\n")
    assert (header.pin, header.backend, header.intent) == ("27a03a91", None, {"intent": {}})
    assert Header.parse("job: extension\n") is None


def test_a_damaged_intent_line_is_one_clear_error() -> None:
    with pytest.raises(UserError, match=r"x.yaml: the fluxgen-intent header is damaged; render the file again"):
        Header.parse("# fluxgen-intent: {\"intent\": \n", "x.yaml")
