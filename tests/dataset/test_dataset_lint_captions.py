"""Caption checks: pairing, encodings, invisible characters, the trigger, placeholders, style words."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.dataset.captions import decode_caption, normalize_caption, style_words
from fluxgen.dataset.lint import lint_dataset


def lint(root: Path, **kw):
    kw.setdefault("resolution", 64)
    kw.setdefault("caption_mode", "captions")
    return lint_dataset(root, **kw)


def by_id(report, fid: str) -> dict[str, object]:
    return {f.path: f for f in report.findings if f.id == fid}


@pytest.fixture
def one_image(tmp_path, make):
    """A folder with one good image `a.jpg`; tests add `a.txt` in whatever shape they need."""
    make.save(make.picture(1), tmp_path / "a.jpg")
    return tmp_path


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("café au lait ohwx".encode("latin-1"), "windows-1252"),
        ("ohwx, smiling".encode("utf-16"), "utf-16"),
        ("ohwx, smiling".encode("utf-16-le"), "utf-16"),
    ],
)
def test_not_utf8_is_an_error(one_image, raw, encoding):
    (one_image / "a.txt").write_bytes(raw)
    finding = by_id(lint(one_image), "caption-not-utf8")["a.txt"]
    assert finding.severity == "error" and f"saved as {encoding}" in finding.message
    assert "UTF-8" in finding.fix


def test_utf8_bom_nbsp_and_control_characters(one_image):
    (one_image / "a.txt").write_bytes("\ufeffohwx,\u00a0a\u202fskull\x07 on a\u200btable".encode())
    report = lint(one_image, trigger="ohwx")
    assert by_id(report, "caption-bom")["a.txt"].severity == "warning"
    assert "2 non-breaking" in by_id(report, "caption-nbsp")["a.txt"].message
    control = by_id(report, "caption-control")["a.txt"]
    assert "U+0007" in control.message and "U+200B" in control.message
    assert "trigger-missing" not in {f.id for f in report.findings}
    assert not report.errors


def test_missing_orphaned_and_shared(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    make.save(make.picture(2), tmp_path / "a.png")
    make.save(make.picture(3), tmp_path / "b.jpg")
    (tmp_path / "a.txt").write_text("ohwx, one")
    (tmp_path / "gone.txt").write_text("ohwx, its image was deleted")
    report = lint(tmp_path)
    shared = by_id(report, "caption-shared")["a.jpg"]
    assert shared.paths == ["a.jpg", "a.png"] and "a.txt" in shared.message
    assert set(by_id(report, "caption-missing")) == {"b.jpg"}
    assert "expected b.txt" in by_id(report, "caption-missing")["b.jpg"].message
    assert set(by_id(report, "caption-orphan")) == {"gone.txt"}


def test_no_captions_at_all_is_one_finding(tmp_path, make):
    for i in range(3):
        make.save(make.picture(i), tmp_path / f"{i}.jpg")
    report = lint(tmp_path)
    assert [f.id for f in report.findings] == ["captions-none"]
    assert "--captions trigger" in report.findings[0].fix


def test_trigger_mode_needs_no_captions(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    assert lint(tmp_path, caption_mode="trigger", trigger="zxy_style").findings == []


def test_trigger_mode_notes_captions_it_replaces(one_image):
    (one_image / "a.txt").write_bytes("caf\xe9".encode("latin-1"))
    report = lint(one_image, caption_mode="trigger", trigger="zxy_style")
    assert [f.id for f in report.findings] == ["captions-unused"]  # encoding no longer matters


def test_empty_caption(one_image):
    (one_image / "a.txt").write_text("  \n")
    assert by_id(lint(one_image), "caption-empty")["a.txt"].severity == "warning"


def test_empty_caption_file_stops_sd_scripts(one_image):
    (one_image / "a.txt").write_bytes(b"")
    finding = by_id(lint(one_image, backend="sd-scripts"), "caption-empty")["a.txt"]
    assert finding.severity == "error" and "sd-scripts" in finding.message


def test_multiline_caption_for_sd_scripts(one_image):
    (one_image / "a.txt").write_text("ohwx, a skull\non a table\n")
    assert "first line" in by_id(lint(one_image, backend="sd-scripts"), "caption-multiline")["a.txt"].message
    assert "caption-multiline" not in {f.id for f in lint(one_image, backend="ai-toolkit").findings}


@pytest.mark.parametrize(("backend", "severity"), [(None, "warning"), ("sd-scripts", "warning"), ("ai-toolkit", "info"),
                                                   ("builtin", "info")])
def test_trigger_missing(one_image, backend, severity):
    (one_image / "a.txt").write_text("a skull on a table")
    finding = by_id(lint(one_image, trigger="ohwx", backend=backend), "trigger-missing")["a.txt"]
    assert finding.severity == severity and "'ohwx'" in finding.message
    assert "--caption-template" in finding.fix


def test_trigger_inside_another_word_does_not_count(one_image):
    (one_image / "a.txt").write_text("ohwxish skull")
    assert "a.txt" in by_id(lint(one_image, trigger="ohwx"), "trigger-missing")


def test_trigger_with_other_capitals(one_image):
    (one_image / "a.txt").write_text("OHWX, a skull")
    assert "different capitals" in by_id(lint(one_image, trigger="ohwx"), "trigger-missing")["a.txt"].message


@pytest.mark.parametrize(
    ("backend", "trigger", "severity", "words"),
    [
        (None, "ohwx", "info", "fal convention"),
        ("ai-toolkit", "ohwx", "info", "replaces it with 'ohwx'"),
        ("ai-toolkit", None, "warning", "replaces it with nothing"),
        ("sd-scripts", "ohwx", "warning", "literal text"),
    ],
)
def test_trigger_placeholder(one_image, backend, trigger, severity, words):
    (one_image / "a.txt").write_text("[trigger], a skull")
    finding = by_id(lint(one_image, trigger=trigger, backend=backend), "trigger-placeholder")["a.txt"]
    assert finding.severity == severity and words in finding.message
    assert "trigger-missing" not in {f.id for f in lint(one_image, trigger="ohwx").findings}


def test_style_words_in_subject_captions(one_image):
    (one_image / "a.txt").write_text("ohwx, a skull, Photorealistic, comic style, 8 legs")
    finding = by_id(lint(one_image, kind="subject", trigger="ohwx"), "caption-style-words")["a.txt"]
    assert "'photorealistic', 'comic style'" in finding.message and "seed:000" in finding.message
    report = lint(one_image, kind="style", trigger="ohwx", caption_mode="captions")
    assert "caption-style-words" not in {f.id for f in report.findings}


def test_over_described_style_captions(tmp_path, make):
    long = "zxy_style, a beautiful young woman with long brown hair wearing a red dress standing in a garden"
    for i, text in enumerate([long, long, "zxy_style, woman in garden"]):
        make.save(make.picture(i), tmp_path / f"{i}.jpg")
        (tmp_path / f"{i}.txt").write_text(text)
    report = lint(tmp_path, kind="style", trigger="zxy_style", caption_mode="captions")
    finding = by_id(report, "caption-verbose")["0.txt"]
    assert finding.paths == ["0.txt", "1.txt"] and "seed:001" in finding.message


def test_style_defaults_to_trigger_captions(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    report = lint_dataset(tmp_path, kind="style", resolution=64)
    assert report.context.caption_mode == "trigger"
    assert [f.id for f in report.findings if f.id != "image-count"] == ["trigger-none"]


def test_decode_and_normalize_helpers():
    assert decode_caption("é".encode("cp1252")) == ("é", "windows-1252", False)
    assert decode_caption(b"\xef\xbb\xbfx") == ("x", "utf-8", True)
    assert normalize_caption("\ufeffa\u00a0b\x00c\u200b\nnext line\r\n\tend") == "a bc, next line, end"
    assert normalize_caption("a,\nb.\nc") == "a, b. c"
    assert style_words("an ANIME girl, in the style of x, realistic-ish") == ["anime", "in the style of"]


@pytest.mark.parametrize(("text", "code"), [
    ("ohwx, a \u202eniatnuom\u202c skull", "U+202E"),      # right-to-left override, then pop
    ("ohwx, a skull \u2066on a table\u2069", "U+2066"),   # left-to-right isolate
    ("ohwx\u200f, a skull", "U+200F"),                    # right-to-left mark
    ("ohwx, \u202bskull\u202c", "U+202B"),                # right-to-left embedding
])
def test_bidi_controls_are_flagged_and_removed(one_image, text, code):
    (one_image / "a.txt").write_text(text, encoding="utf-8")
    control = by_id(lint(one_image, trigger="ohwx"), "caption-control")["a.txt"]
    assert code in control.message
    cleaned = normalize_caption(text)
    assert not any(c in cleaned for c in "\u200f\u202b\u202c\u202e\u2066\u2069") and "ohwx" in cleaned
@pytest.mark.parametrize(("backend", "trigger", "expected"), [
    ("sd-scripts", "ohwx", "sd-scripts trains it on the trigger 'ohwx' alone"),
    ("builtin", "ohwx", "builtin trains it on the trigger 'ohwx' alone"),
    ("ai-toolkit", "ohwx", "ai-toolkit trains it on the trigger 'ohwx' alone"),
    ("ai-toolkit", None, "ai-toolkit trains it on an empty caption"),
    (None, "ohwx", "ai-toolkit, sd-scripts (class_tokens) and builtin train it on the trigger 'ohwx' alone"),
    (None, None, "it is trained on an empty caption"),
])
def test_caption_missing_says_what_the_trainer_trains(tmp_path, make, backend, trigger, expected):
    make.save(make.picture(1), tmp_path / "a.jpg")
    make.save(make.picture(2), tmp_path / "b.jpg")
    (tmp_path / "a.txt").write_text("ohwx, a skull")
    finding = by_id(lint(tmp_path, trigger=trigger, backend=backend), "caption-missing")["b.jpg"]
    assert expected in finding.message
