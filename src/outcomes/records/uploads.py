"""A CSV file uploaded on the Import records page: checked (a dry run), then imported once.

The page hands over the uploaded bytes and the reading options it shows for confirmation;
the file is kept only for the call, in a private temporary directory. The upload's key —
a hash of its bytes and options — is what the page remembers, so a second click on Import
shows the first import's result instead of running it again (and the import is idempotent
on the credential ids anyway).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath

from sqlalchemy.engine import Engine

from outcomes.records.csv_import import (
    CsvFile,
    CsvImportResult,
    CsvOptions,
    import_csv_files,
    open_csv,
    rejects_path,
)
from outcomes.records.importing import ImportReport


@dataclass(frozen=True)
class UploadCheck:
    """What the page shows before anything is written."""

    file: CsvFile
    preview: list[list[str]]
    report: ImportReport


@dataclass(frozen=True)
class UploadImport:
    """An import of an upload: its result and, with skip-invalid, the rejects as CSV."""

    result: CsvImportResult
    rejects_csv: bytes | None

    def done(self) -> tuple[str, bytes | None]:
        """What the page keeps of an import: its closing sentence and the rejects."""
        return self.result.report.sentence(), self.rejects_csv


def content_key(parts: Sequence[bytes], options: object) -> str:
    """A hash of ``parts`` and the JSON of ``options``: what the page remembers as imported."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))  # no two splits of the bytes hash alike
        digest.update(part)
    digest.update(json.dumps(options, sort_keys=True).encode())
    return digest.hexdigest()


def upload_key(data: bytes, options: CsvOptions, *, skip_invalid: bool) -> str:
    """The idempotency key of importing these bytes with these options."""
    return content_key([data], [asdict(options), skip_invalid])


@contextmanager
def _stored(data: bytes, name: str) -> Iterator[Path]:
    safe = PurePath(name).name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="outcomes-upload-") as directory:  # mode 0700
        path = Path(directory) / safe
        path.write_bytes(data)
        yield path


def check_upload(
    engine: Engine,
    data: bytes,
    name: str,
    options: CsvOptions,
    *,
    actor: str,
    programme_scope: set[int] | None,
) -> UploadCheck:
    """Detect, map and validate the upload and compare it with the database (a dry run)."""
    with _stored(data, name) as path:
        file = open_csv(path, options, name=PurePath(name).name)
        preview = file.preview(5)
        result = import_csv_files(
            engine,
            [file],
            actor=actor,
            dry_run=True,
            bulk=False,
            programme_scope=programme_scope,
        )
    return UploadCheck(file, preview, result.report)


def import_upload(
    engine: Engine,
    data: bytes,
    name: str,
    options: CsvOptions,
    *,
    actor: str,
    skip_invalid: bool,
    programme_scope: set[int] | None,
) -> UploadImport:
    """Import the upload; the rejects (skip-invalid) come back as CSV bytes to download.

    Never lifts the analysis triggers (``bulk=False``): the app's runtime role on PostgreSQL
    may not drop them, and uploads are small enough for per-row marks.
    """
    with _stored(data, name) as path:
        file = open_csv(path, options, name=PurePath(name).name)
        result = import_csv_files(
            engine,
            [file],
            actor=actor,
            skip_invalid=skip_invalid,
            bulk=False,
            programme_scope=programme_scope,
        )
        rejects = rejects_path(path)
        data_out = rejects.read_bytes() if rejects.exists() else None
    return UploadImport(CsvImportResult(result.report, result.files, ()), data_out)
