"""Files people open in spreadsheets: CSV cells no spreadsheet runs as formulas.

Kernel module (stdlib and pandas only): every CSV the product writes — the audit export, a
learner's access-request pack, the instrument codebook — goes through these functions.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pandas as pd

# A cell starting with one of these is run as a formula by some spreadsheet (OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: object) -> object:
    """``value`` as a cell no spreadsheet runs as a formula (OWASP CSV injection guidance).

    NUL characters are removed wherever they are: no one types them, and readers differ on
    them (some end the cell there, some drop them), so ``"\\0=cmd"`` could otherwise reach
    a spreadsheet as ``=cmd`` past the check below.
    Then a text starting with ``= + - @``, tab, CR or LF gets a leading ``'``, which
    spreadsheets show as text and do not evaluate. Other types are returned unchanged.
    """
    if not isinstance(value, str):
        return value
    text = value.replace("\0", "")
    return "'" + text if text.startswith(_FORMULA_START) else text


def safe_csv_writer(buffer: io.StringIO) -> Any:
    """A CSV writer that quotes every cell, as OWASP advises.

    A separator inside a cell (a ``;`` where that is the locale's list separator) then never
    starts a new cell, whose text would escape :func:`spreadsheet_safe`.
    """
    return csv.writer(buffer, quoting=csv.QUOTE_ALL)


def frame_to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of ``frame``, every cell quoted and made safe with :func:`spreadsheet_safe`."""
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer)
    writer.writerow([spreadsheet_safe(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(["" if pd.isna(v) else spreadsheet_safe(v) for v in row])
    return buffer.getvalue().encode("utf-8")
