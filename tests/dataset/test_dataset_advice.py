"""Advice from the guides (image counts, trigger choice, square crops, masks) and the --json schema."""

from __future__ import annotations

import json

import pytest

from fluxgen.dataset.lint import lint_dataset


def fill(root, make, count: int, size=(96, 96)) -> None:
    for i in range(count):
        make.save(make.picture(400 + i, size), root / f"{i:03}.jpg")


def advice(report, fid: str):
    return [f for f in report.findings if f.id == fid]


@pytest.mark.parametrize(
    ("kind", "count", "severity", "guide"),
    [
        ("subject", 5, "warning", "seed:000"),
        ("subject", 12, "info", "seed:000"),
        ("subject", 25, None, None),
        ("character", 12, "warning", "seed:003"),
        ("character", 20, "info", "seed:003"),
        ("style", 10, "warning", "seed:001"),
        ("style", 20, None, None),
        ("concept", 5, "warning", "seed:004"),
        ("concept", 31, "info", "seed:004"),
    ],
)
def test_image_count_for_the_kind(tmp_path, make, kind, count, severity, guide):
    fill(tmp_path, make, count)
    found = advice(lint_dataset(tmp_path, kind=kind, resolution=64, caption_mode="none", quick=True), "image-count")
    if severity is None:
        assert found == []
    else:
        assert [f.severity for f in found] == [severity]
        assert guide in found[0].message and found[0].path == "."


def test_empty_folder_is_an_error(tmp_path):
    report = lint_dataset(tmp_path)
    assert [(f.id, f.severity) for f in report.findings] == [("no-images", "error")]
    assert report.image_count == 0


def test_common_trigger_word(tmp_path, make):
    fill(tmp_path, make, 1)
    report = lint_dataset(tmp_path, trigger="style", caption_mode="none", resolution=64)
    assert "seed:001" in advice(report, "trigger-common")[0].message
    assert advice(lint_dataset(tmp_path, trigger="zxy_style", caption_mode="none", resolution=64),
                  "trigger-common") == []


def test_subjects_should_be_square(tmp_path, make):
    make.save(make.picture(1, (120, 80)), tmp_path / "wide.jpg")
    make.save(make.picture(2, (80, 80)), tmp_path / "square.jpg")
    found = advice(lint_dataset(tmp_path, kind="subject", caption_mode="none", resolution=64), "not-square")
    assert found[0].paths == ["wide.jpg"] and "seed:000" in found[0].message
    assert "--crop square" in found[0].fix
    assert advice(lint_dataset(tmp_path, kind="style", resolution=64), "not-square") == []


@pytest.mark.parametrize(("backend", "severity"), [(None, "info"), ("ai-toolkit", "warning")])
def test_mask_files_are_not_images(tmp_path, make, backend, severity):
    make.save(make.picture(1), tmp_path / "a.jpg")
    make.save(make.picture(2).convert("L"), tmp_path / "a_mask.png")
    report = lint_dataset(tmp_path, backend=backend, caption_mode="none", resolution=64)
    assert [p.name for p in report.images] == ["a.jpg"]
    assert [(f.id, f.severity) for f in report.findings] == [("mask-file", severity)]


def test_json_schema_of_every_finding(tmp_path, make):
    """A messy folder yields many kinds of findings; each must have the documented keys and types."""
    make.save(make.picture(1, (300, 60)), tmp_path / "a.jpg")
    make.save(make.picture(1, (300, 60)), tmp_path / "a.png")
    make.rotated_jpeg(tmp_path / "b.jpg")
    make.transparent_png(tmp_path / "c.png")
    (tmp_path / "d.jpg").write_bytes(b"")
    (tmp_path / "a.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "orphan.txt").write_text("ohwx")
    report = lint_dataset(tmp_path, kind="subject", trigger="ohwx")
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) == {"findings", "summary"}
    assert len({f["id"] for f in data["findings"]}) >= 8
    for finding in data["findings"]:
        assert set(finding) - {"paths"} == {"id", "severity", "path", "message", "fix"}
        assert finding["severity"] in ("error", "warning", "info")
        assert all(isinstance(finding[k], str) and finding[k] for k in ("id", "path", "message", "fix"))
        if "paths" in finding:
            assert len(finding["paths"]) >= 2 and all(isinstance(p, str) for p in finding["paths"])
            assert finding["path"] == finding["paths"][0]
    summary = data["summary"]
    assert {"images", "captions", "errors", "warnings", "infos"} <= set(summary)
    assert all(isinstance(v, int) for v in summary.values())
    assert summary["images"] == 5 and summary["captions"] == 2
    assert summary["errors"] == sum(f["severity"] == "error" for f in data["findings"]) >= 2
    assert summary["warnings"] == sum(f["severity"] == "warning" for f in data["findings"])
    assert summary["infos"] == sum(f["severity"] == "info" for f in data["findings"])
