"""Fixtures for the monitor tests: the real captures, skipped with a reason when they are not there."""

from __future__ import annotations

import pytest
from monitor.captures import read_capture, require_captures


@pytest.fixture(scope="session")
def logs():
    return require_captures()


@pytest.fixture(scope="session")
def read(logs):
    """read("ai-toolkit", "fresh-run.stderr") -> the capture's text, carriage returns kept."""
    return read_capture
