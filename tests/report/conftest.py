"""Fixtures for the report tests: run folders built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from report.report_builders import build_completed, build_failed


@pytest.fixture
def completed_run(tmp_path: Path) -> Path:
    return build_completed(tmp_path / "runs" / "skull-001")


@pytest.fixture
def failed_run(tmp_path: Path) -> Path:
    return build_failed(tmp_path / "runs" / "skull-002")
