"""Fixtures for the instrument tests: small instrument files written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from instrument_files import instrument_yaml


@pytest.fixture
def write_instrument(tmp_path: Path) -> Callable[..., Path]:
    """Write an instrument built from question YAML; return its path."""

    def write(questions: str, name: str = "test") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(instrument_yaml(questions, instrument_id=name), encoding="utf-8")
        return path

    return write
