"""Fixtures for the monitor tests: the real captures, skipped with a reason when they are not there."""

from __future__ import annotations

import pytest
from monitor.captures import LOGS, read_capture


@pytest.fixture(scope="session")
def logs():
    if not LOGS.is_dir():
        pytest.skip(f"the real console captures are not here: {LOGS}")
    return LOGS


@pytest.fixture(scope="session")
def read(logs):
    """read("ai-toolkit", "fresh-run.stderr") -> the capture's text, carriage returns kept."""
    return read_capture
