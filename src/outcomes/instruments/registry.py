"""Where instruments live: the shipped ``surveys/`` files.

Stored versions (one row per content hash) are kept by ``outcomes.store.instrument_versions``,
which is the database side of this module: the instruments package itself stays pure.
"""

from __future__ import annotations

import os
from pathlib import Path

from outcomes.errors import NotFound
from outcomes.instruments.loading import load_instrument
from outcomes.instruments.schema import Instrument

SURVEYS_DIR_VARIABLE = "OUTCOMES_SURVEYS_DIR"
SURVEY_SUFFIXES = (".yaml", ".yml")

__all__ = [
    "load_shipped",
    "shipped_instruments",
    "survey_files",
    "surveys_dir",
]


def surveys_dir() -> Path:
    """The directory of shipped instruments: $OUTCOMES_SURVEYS_DIR, else the repo's surveys/."""
    override = os.environ.get(SURVEYS_DIR_VARIABLE, "").strip()
    if override:
        path = Path(override)
        if not path.is_dir():
            raise NotFound(
                f"{SURVEYS_DIR_VARIABLE} is set to {override}, which is not a directory."
            )
        return path
    # The package is installed editable from the repository, so surveys/ is an ancestor's
    # child; searching upward also works from a checkout run without installing.
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "surveys"
            if candidate.is_dir():
                return candidate
    raise NotFound(
        f"No surveys/ directory was found: set {SURVEYS_DIR_VARIABLE} to the folder that "
        "holds the instrument files."
    )


def survey_files(directory: Path | None = None) -> list[Path]:
    """Every instrument file in the surveys directory, sorted by name."""
    folder = directory or surveys_dir()
    return sorted(p for p in folder.iterdir() if p.suffix in SURVEY_SUFFIXES and p.is_file())


def load_shipped(key: str) -> Instrument:
    """The shipped instrument whose file is ``surveys/<key>.yaml``."""
    folder = surveys_dir()
    for suffix in SURVEY_SUFFIXES:
        path = folder / f"{key}{suffix}"
        # The key names a file inside surveys/: refuse anything that would step outside it.
        if path.resolve().parent == folder.resolve() and path.is_file():
            return load_instrument(path)
    known = ", ".join(p.stem for p in survey_files(folder)) or "none"
    raise NotFound(f"There is no shipped instrument '{key}' (known: {known}).")


def shipped_instruments() -> dict[str, Instrument]:
    """Every shipped instrument, keyed by file name without its suffix."""
    return {path.stem: load_instrument(path) for path in survey_files()}
