"""The instrument checker behind ``outcomes surveys check``: every problem, with its line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from outcomes.instruments.loading import Problem, parse_instrument
from outcomes.instruments.registry import SURVEY_SUFFIXES


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus the instrument files inside any directory named."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in SURVEY_SUFFIXES)
        else:
            files.append(path)
    return files


def check_file(path: str | Path) -> list[Problem]:
    """Every problem in one instrument file (empty when it is valid)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return [Problem(str(file), 1, "-", f"cannot read file: {reason}")]
    instrument, problems = parse_instrument(text, str(file))
    # Shipped instruments are looked up by file name, so the two must agree.
    if instrument is not None and instrument.id != file.stem:
        message = f"instrument id '{instrument.id}' does not match the file name '{file.stem}'"
        problems.append(Problem(str(file), 1, "-", message))
    return problems


def check_files(paths: Iterable[str | Path]) -> list[Problem]:
    """Every problem in the given files (and directories), in file and line order."""
    problems: list[Problem] = []
    for file in expand_paths(paths):
        problems += check_file(file)
    return problems
