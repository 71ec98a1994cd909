"""Open Badges 3.0 files uploaded on the Import records page: checked (a dry run), imported once.

The page hands over the uploaded files (``.json``, ``.jwt``/``.jws``, ``.zip``; several at
once). They are kept only for the call, in a private temporary directory, and read by the
same code as ``outcomes import credentials --format ob3`` (``badge_import.import_badges``:
``open_badges.read_badges``, whose archive guards refuse a zip bomb or an entry leaving the
archive, then the import core), so the check and the import report the same things. As for
a CSV upload, the page remembers the upload's key (``badge_upload_key``) so that a second
click on Import shows the first import's result instead of running it again.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlalchemy.engine import Engine

from outcomes.errors import ValidationProblem
from outcomes.records.badge_files import MAX_FILE_BYTES, READABLE_SUFFIXES
from outcomes.records.badge_import import BadgeImportReport, import_badges, rejects_path
from outcomes.records.importing import ImportReport, generated_programme_code
from outcomes.records.model import Problem
from outcomes.records.open_badges import SIGNATURES_NOT_VERIFIED
from outcomes.records.uploads import content_key

UPLOAD_SUFFIXES = (*READABLE_SUFFIXES, ".zip")
MAX_UPLOAD_FILES = 100
# One upload, all files together: a zip up to this size may unpack further, within the
# archive limits of badge_files (entries, bytes, compression ratio).
MAX_UPLOAD_BYTES = 5 * MAX_FILE_BYTES


@dataclass(frozen=True)
class UploadedFile:
    """One uploaded file: its name as the browser sent it and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class NewProgramme:
    """A programme the import creates, and the mandatory elements it holds stand-ins for."""

    code: str
    title: str
    stand_ins: tuple[str, ...]


@dataclass(frozen=True)
class BadgeUploadReport:
    """What the page shows of a check or an import of Open Badges files."""

    report: ImportReport
    credentials_read: int
    from_jwt: int
    new_programmes: tuple[NewProgramme, ...]
    conflicts: tuple[str, ...]  # reused credential and achievement ids, one sentence each
    notes: tuple[str, ...]  # credits from hours, status lists not checked, expiry, duplicates
    rejects_json: bytes | None = None
    signatures: str = SIGNATURES_NOT_VERIFIED

    def read_sentence(self) -> str:
        """How many credentials were read, and how many of them from a JWT."""
        read, jwt = self.credentials_read, self.from_jwt
        head = f"{read:,} credential{'' if read == 1 else 's'} read"
        if not jwt:
            return f"{head}."
        if jwt == read == 1:
            return f"{head}, decoded from a JWT."
        return f"{head}, {jwt:,} of them decoded from a JWT."

    def done(self) -> tuple[str, bytes | None]:
        """What the page keeps of an import: its closing sentence and the rejects."""
        return self.report.sentence(), self.rejects_json

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Why credentials are rejected: file, JSON path, value and reason."""
        return self.report.problems


def badge_upload_key(files: Sequence[UploadedFile], *, skip_invalid: bool) -> str:
    """The idempotency key of importing these files (names and bytes, in order)."""
    return content_key(
        [part for f in files for part in (f.name.encode(), f.data)], ["ob3", skip_invalid]
    )


def badge_upload(
    engine: Engine,
    files: Sequence[UploadedFile],
    *,
    actor: str,
    today: dt.date,
    dry_run: bool,
    skip_invalid: bool,
    programme_scope: set[int] | None,
) -> BadgeUploadReport:
    """Check the uploaded credentials against the database (``dry_run``) or import them.

    Nothing is written with ``dry_run`` or while a credential is rejected (unless
    ``skip_invalid``: the valid ones are, and the rejects come back as JSON). The analysis
    triggers are never lifted: the app's runtime role on PostgreSQL may not drop them.
    """
    with _stored(files) as paths:
        result = import_badges(
            engine,
            paths,
            actor=actor,
            today=today,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            programme_scope=programme_scope,
        )
        rejects = rejects_path(paths[0])
        rejects_json = rejects.read_bytes() if result.rejects_file and rejects.exists() else None
    return _shown(result, rejects_json)


def _shown(result: BadgeImportReport, rejects_json: bytes | None) -> BadgeUploadReport:
    batch, report = result.batch, result.report
    planned: dict[str, NewProgramme] = {}
    for record in batch.records:
        ref = record.programme
        code = ref.code or generated_programme_code(ref.achievement_id or record.credential_id)
        if code in planned or record.programme_elements is None:
            continue
        missing = batch.missing_elements.get(str(record.origin), ())
        planned[code] = NewProgramme(code, record.programme_elements.title, missing)
    created = tuple(
        planned.get(code, NewProgramme(code, "", ())) for code in report.created_programmes
    )
    conflicts = [c.sentence() for c in report.conflicts]
    conflicts += [c.sentence() for c in batch.achievement_conflicts]
    # The rest of the reader's report (grouped remarks, stand-ins, duplicates), once.
    shown = {p.sentence() for p in report.problems} | {w.sentence() for w in report.warnings}
    shown |= {*conflicts, report.sentence(), SIGNATURES_NOT_VERIFIED}
    notes = [
        line
        for line in result.lines()
        if line not in shown and not line.startswith("Rejected credentials and their reasons")
    ]
    return BadgeUploadReport(
        report=report,
        credentials_read=batch.read,
        from_jwt=batch.from_jwt,
        new_programmes=created,
        conflicts=tuple(conflicts),
        notes=tuple(notes),
        rejects_json=rejects_json,
    )


@contextmanager
def _stored(files: Sequence[UploadedFile]) -> Iterator[list[Path]]:
    if not files:
        raise ValidationProblem("Choose at least one Open Badges file to import.")
    if len(files) > MAX_UPLOAD_FILES:
        raise ValidationProblem(
            f"{len(files):,} files were uploaded, more than {MAX_UPLOAD_FILES}: put them in a "
            "zip archive."
        )
    total = sum(len(f.data) for f in files)
    if total > MAX_UPLOAD_BYTES:
        raise ValidationProblem(
            f"The files hold {total:,} bytes, more than {MAX_UPLOAD_BYTES:,}: import them in parts."
        )
    with tempfile.TemporaryDirectory(prefix="outcomes-upload-") as directory:  # mode 0700
        paths: list[Path] = []
        for index, file in enumerate(files):
            name = PurePath(file.name).name or "upload.json"
            if PurePath(name).suffix.lower() not in UPLOAD_SUFFIXES:
                raise ValidationProblem(
                    f"{name} is not an Open Badges file ({', '.join(UPLOAD_SUFFIXES)})."
                )
            # One folder per file: two uploads of the same name stay apart, named as sent.
            folder = Path(directory) / str(index)
            folder.mkdir()
            path = folder / name
            path.write_bytes(file.data)
            paths.append(path)
        yield paths
