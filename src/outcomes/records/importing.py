"""Importing credential records: validate, match, compare with the database, write — or not.

Both importers (CSV, Open Badges 3.0) hand this module an :class:`ImportInput`: chunks of
:class:`Row` (a record already validated, in a flat form) and :class:`Rejected` (a record that
failed validation, with its problems). :func:`import_records` then, in **one transaction**:

1. resolves each row's programme (by achievement id, then code; a missing one is created only
   when the record carries its EU elements, otherwise the row is rejected);
2. matches the learner by external id, then by e-mail (contact data goes to
   ``learner_identity``, never to the pseudonymous ``learner`` row);
3. compares the credential with the database by its external id: added, updated (with the
   fields that changed) or unchanged; a credential id used twice in the input is an identical
   duplicate (counted unchanged) or a :class:`~outcomes.records.model.Conflict` (the first
   record stands, the later one is rejected);
4. writes each chunk with set-based inserts (``executemany`` on SQLite, ``COPY`` on
   PostgreSQL) and ids assigned here, so child rows reference parents without round-trips.

Nothing is committed unless every record is valid (``skip_invalid``: the valid ones), and a
dry run rolls back: the summary is exactly what the import does or would do. Everything —
trigger lifting for large imports included (``freshness.bulk_load_within``) — happens in that
one transaction, so an error halfway, a lost connection or a killed process leaves the
database as it was. Re-importing the same input changes nothing and says so.

Why a flat ``Row`` and not :class:`~outcomes.records.model.CredentialRecord` per row: at a
million rows, building nested pydantic models costs about 20 µs a row — more than parsing and
writing together (measured by ``bench/imports.py``). The CSV reader validates each column
with plain functions instead; a test checks that it accepts and refuses what the model does.
The Open Badges reader builds models (its inputs are few and nested) and converts them with
:func:`row_of`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from outcomes import audit
from outcomes.records.model import (
    Change,
    Conflict,
    CredentialRecord,
    ImportSummary,
    Origin,
    Problem,
    ProgrammeElements,
)
from outcomes.store.engine import session_scope
from outcomes.store.freshness import bulk_load_within
from outcomes.store.tables import (
    Credential,
    Enrolment,
    LearnerExternalId,
    LearnerIdentity,
    Programme,
    table_of,
)
from outcomes.vocab import ASSESSMENT_TYPES, QUALITY_ASSURANCE_TYPES

_DIGEST_MASK = (1 << 40) - 1
# Rows written per statement batch; one lookup query per table per chunk.
CHUNK_ROWS = 5_000
# From this many rows an import lifts the analysis triggers and rebuilds the table once.
BULK_ROWS = 5_000
# A report lists at most this many problems, conflicts and changes (all are counted).
REPORTED = 1_000
DEFAULT_SCHEME = "student_id"
SQLITE_CACHE_KIB = 128 * 1024


class Row(NamedTuple):
    """One valid record in flat form (see the module's docstring for why not a model)."""

    file: str
    line: int | None
    pointer: str | None
    credential_id: str
    programme_code: str | None
    achievement_id: str | None
    external_ids: tuple[tuple[str, str], ...]
    email: str | None
    given_name: str | None
    family_name: str | None
    preferred_language: str | None
    started_on: dt.date | None
    ended_on: dt.date | None
    enrolment_status: str
    issued_on: dt.date
    grade: str | None
    status: str
    revoked_on: dt.date | None
    expires_on: dt.date | None
    source: str
    elements: ProgrammeElements | None = None
    raw: tuple[str, ...] | None = None  # the input as read, for a rejects file

    def origin(self) -> Origin:
        """Where the row came from."""
        return Origin(file=self.file, line=self.line, pointer=self.pointer)

    def content(self) -> tuple[Any, ...]:
        """Everything the record says (not where it came from): equal for true duplicates."""
        return (*self[3:20], self.elements)


# The record fields of ``Row.content()``, named as reports name them.
CONTENT_FIELDS = (
    "credential_id",
    "programme_code",
    "achievement_id",
    "external_ids",
    "email",
    "given_name",
    "family_name",
    "preferred_language",
    "enrolment_start",
    "completion_date",
    "enrolment_status",
    "issued_on",
    "grade",
    "status",
    "revoked_on",
    "expires_on",
    "source",
    "programme_elements",
)


class Rejected(NamedTuple):
    """A record that cannot be imported, with every problem found in it."""

    origin: Origin
    problems: tuple[Problem, ...]
    raw: tuple[str, ...] | None = None


Item = Row | Rejected


class ImportInput(Protocol):
    """What an importer hands the core: a name for reports and chunks of items."""

    @property
    def name(self) -> str:
        """The input's file name (no directory): named in reports and the audit trail."""
        ...

    @property
    def estimated_rows(self) -> int:
        """About how many records (decides the bulk-load path and the progress bar)."""
        ...

    def chunks(self) -> Iterator[list[Item]]:
        """The items, in input order, in lists of a few thousand."""
        ...


@dataclass(frozen=True)
class RecordList:
    """An :class:`ImportInput` over records already in memory (the Open Badges reader's)."""

    name: str
    records: Sequence[CredentialRecord | Rejected]

    @property
    def estimated_rows(self) -> int:
        return len(self.records)

    def chunks(self) -> Iterator[list[Item]]:
        for start in range(0, len(self.records), CHUNK_ROWS):
            yield [
                r if isinstance(r, Rejected) else row_of(r)
                for r in self.records[start : start + CHUNK_ROWS]
            ]


def row_of(record: CredentialRecord) -> Row:
    """The flat form of a validated record."""
    learner = record.learner
    return Row(
        file=record.origin.file,
        line=record.origin.line,
        pointer=record.origin.pointer,
        credential_id=record.credential_id,
        programme_code=record.programme.code,
        achievement_id=record.programme.achievement_id,
        external_ids=tuple((e.scheme, e.value) for e in learner.external_ids),
        email=learner.email.lower() if learner.email else None,
        given_name=learner.given_name,
        family_name=learner.family_name,
        preferred_language=learner.preferred_language,
        started_on=record.enrolment.started_on,
        ended_on=record.enrolment.ended_on,
        enrolment_status=record.enrolment.status,
        issued_on=record.issued_on,
        grade=record.grade,
        status=record.status,
        revoked_on=record.revoked_on,
        expires_on=record.expires_on,
        source=record.source,
        elements=record.programme_elements,
    )


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or (refused, or a dry run) would have done."""

    files: tuple[str, ...]
    summary: ImportSummary
    written: bool = field(metadata={"doc": "True once the transaction committed"})
    dry_run: bool
    skip_invalid: bool
    problems: tuple[Problem, ...] = ()  # the first REPORTED of them
    conflicts: tuple[Conflict, ...] = ()
    changes: tuple[Change, ...] = ()
    warnings: tuple[Problem, ...] = ()  # imported, but worth knowing (no e-mail, …)
    problem_count: int = 0
    created_programmes: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        """True when invalid records stopped the whole import."""
        return not self.dry_run and not self.written

    def sentence(self) -> str:
        """The closing summary, saying whether anything was written."""
        if self.written:
            head = "Imported" if self.summary.added or self.summary.updated else "Nothing changed"
        elif self.dry_run:
            head = "Dry run, nothing written"
        else:
            head = "Nothing imported: fix the rejected records or pass --skip-invalid"
        return f"{head}: {self.summary.sentence()}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``--json``)."""
        return {
            "files": list(self.files),
            "written": self.written,
            "dry_run": self.dry_run,
            "skip_invalid": self.skip_invalid,
            "summary": self.summary.model_dump(),
            "problems": [p.model_dump() | {"sentence": p.sentence()} for p in self.problems],
            "problem_count": self.problem_count,
            "conflicts": [c.model_dump() | {"sentence": c.sentence()} for c in self.conflicts],
            "changes": [c.model_dump() for c in self.changes],
            "warnings": [w.model_dump() | {"sentence": w.sentence()} for w in self.warnings],
            "created_programmes": list(self.created_programmes),
        }


Progress = Callable[[int], None]
RejectSink = Callable[[str, Rejected], None]


def import_records(
    engine: Engine,
    inputs: Sequence[ImportInput],
    *,
    actor: str,
    skip_invalid: bool = False,
    dry_run: bool = False,
    bulk: bool | None = None,
    progress: Progress | None = None,
    on_reject: RejectSink | None = None,
    programme_scope: set[int] | None = None,
) -> ImportReport:
    """Validate, match and compare every record of ``inputs``; write them in one transaction.

    Nothing is written when a record is invalid (unless ``skip_invalid``, when the valid ones
    are) or with ``dry_run``. ``bulk`` (default: from :data:`BULK_ROWS` records) lifts the
    analysis triggers for the load and rebuilds the analysis table once, in the same
    transaction; it needs the tables' owner on PostgreSQL. ``progress`` is called with the
    number of records done after each chunk; ``on_reject(input name, rejected)`` with each
    rejected record, in input order. With ``programme_scope`` (a manager's programme ids) a
    record of another programme is rejected and no programme is created. The import is
    audited (counts and file names only).
    """
    files = tuple(i.name for i in inputs)
    estimated = sum(i.estimated_rows for i in inputs)
    use_bulk = estimated >= BULK_ROWS if bulk is None else bulk
    writer: _Writer | None = None
    try:
        with session_scope(engine) as session:
            writer = _Writer(session, actor=actor, scope=programme_scope)
            # Raised inside the bulk load, the roll-back skips its rebuild of the analysis
            # table (and undoes the lifted triggers with everything else).
            with bulk_load_within(session) if use_bulk else nullcontext():
                writer.run(inputs, progress, on_reject)
                if dry_run or (writer.rejected and not skip_invalid):
                    raise _RollBack
            writer.audit_import(actor=actor, files=files)
    except _RollBack:
        pass
    assert writer is not None
    written = not dry_run and not (writer.rejected and not skip_invalid)
    if not written and not dry_run:
        _audit_refused(engine, actor=actor, files=files, summary=writer.summary())
    return writer.report(files=files, written=written, dry_run=dry_run, skip_invalid=skip_invalid)


def _coded(text: str, vocabulary: tuple[str, ...]) -> str | None:
    """``text`` as a code of ``vocabulary`` ("Application of a skill" → application_of_a_skill)."""
    code = text.strip().lower().replace(" ", "_").replace("-", "_")
    return code if code in vocabulary else None


def quality_assurance_type(text: str) -> str:
    """The Annex I quality-assurance type a description states: by the awarding body itself,
    by an external body (an accreditation, an agency), both, or ``other`` when it says
    neither. Imported descriptions are free text, so this reads their words."""
    words = text.lower()
    external = any(w in words for w in ("external", "accredit", "agency", "extern"))
    internal = any(w in words for w in ("internal", "intern ", "institutional", "own "))
    if external and internal:
        return "internal_and_external"
    return "external" if external else "internal" if internal else "other"


def programme_columns(elements: ProgrammeElements) -> dict[str, Any]:
    """The ``programme`` row a record's elements describe (migration 0008's columns): the
    assessment and quality-assurance types as codes, their words kept as descriptions."""
    values = elements.model_dump()
    # Stand-ins for elements the input did not state make the programme a draft (docs/records.md).
    values["status"] = "draft" if values.pop("stood_in") else "active"
    stated = values["assessment_type"]
    code = _coded(stated, ASSESSMENT_TYPES)
    values["assessment_type"] = code or "other"
    values["assessment_description"] = None if code else stated
    qa = _coded(values["quality_assurance"], QUALITY_ASSURANCE_TYPES)
    values["quality_assurance_type"] = qa or quality_assurance_type(values["quality_assurance"])
    values["eqf_applicable"] = True  # a level, or one the input does not state
    return values


class _RollBack(Exception):
    """Raised inside the unit of work to leave it without committing."""


def _audit_refused(engine: Engine, *, actor: str, files: tuple[str, ...], summary: Any) -> None:
    with session_scope(engine) as session:
        audit.record(
            session,
            actor=actor,
            action="records.import_refused",
            object_type="import",
            detail={"files": list(files), **summary.model_dump()},
        )


# --- the writer -----------------------------------------------------------------------------

_PROGRAMME = table_of(Programme)
_CREDENTIAL = table_of(Credential)
_ENROLMENT = table_of(Enrolment)
_EXTERNAL = table_of(LearnerExternalId)
_IDENTITY = table_of(LearnerIdentity)

_COLUMNS = {
    "learner": (
        "id",
        "ref",
        "preferred_language",
        "gender",
        "prior_education",
        "baseline_employment",
        "created_at",
    ),
    "learner_identity": ("learner_id", "given_name", "family_name", "email"),
    "learner_external_id": ("id", "learner_id", "scheme", "value"),
    "enrolment": ("id", "learner_id", "programme_id", "started_on", "ended_on", "status"),
    "credential": (
        "id",
        "learner_id",
        "programme_id",
        "enrolment_id",
        "issued_on",
        "external_id",
        "grade",
        "status",
        "revoked_on",
        "source",
    ),
}
_ID_TABLES = ("learner", "learner_external_id", "enrolment", "credential")


class _Stored(NamedTuple):
    """A credential as the database holds it (with its enrolment)."""

    id: int
    learner_id: int
    programme_id: int
    enrolment_id: int
    issued_on: dt.date
    grade: str | None
    status: str
    revoked_on: dt.date | None
    enrolment_start: dt.date
    enrolment_end: dt.date | None
    enrolment_status: str


# The fields an update may change, as (report name, Row attribute or derivation).
_UPDATABLE = (
    "issued_on",
    "grade",
    "status",
    "revoked_on",
    "enrolment_start",
    "completion_date",
    "enrolment_status",
)


def _wanted(row: Row) -> tuple[Any, ...]:
    """The stored fields a row asks for, in :data:`_UPDATABLE` order."""
    return (
        row.issued_on,
        row.grade,
        row.status,
        row.revoked_on,
        row.started_on or row.issued_on,
        row.ended_on or row.issued_on,
        row.enrolment_status,
    )


def _stored_fields(stored: _Stored) -> tuple[Any, ...]:
    return stored[4:11]


class _Writer:
    """One import's state inside its transaction."""

    def __init__(self, session: Session, *, actor: str, scope: set[int] | None) -> None:
        self.session = session
        self.actor = actor
        self.scope = scope
        self.connection: Connection = session.connection()
        self.dialect = self.connection.dialect.name
        if self.dialect == "postgresql":
            # Ids are assigned here from max(id) + 1: no other writer may add rows meanwhile
            # (readers are not blocked; the sequences are moved past at the end).
            self.connection.exec_driver_sql(
                "LOCK TABLE programme, learner, learner_external_id, enrolment, credential "
                "IN EXCLUSIVE MODE"
            )
        if self.dialect == "sqlite":
            # Random keys (learner refs, credential ids) land all over their indexes: with
            # SQLite's default 2 MB page cache a large import thrashes; 128 MB keeps the
            # index pages in memory (measured: bench/imports.py). This connection only.
            self.connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        self.next_id = {
            name: (self.connection.execute(sa.text(f"SELECT MAX(id) FROM {name}")).scalar() or 0)
            + 1
            for name in _ID_TABLES
        }
        programmes = self.connection.execute(
            sa.select(_PROGRAMME.c.id, _PROGRAMME.c.code, _PROGRAMME.c.achievement_id)
        ).all()
        self.by_code: dict[str, int] = {p.code: p.id for p in programmes}
        self.by_achievement: dict[str, int] = {
            p.achievement_id: p.id for p in programmes if p.achievement_id
        }
        self.created_programmes: list[str] = []
        # What the database held before: an empty table need not be searched, and the
        # learners and external ids this import creates are kept here instead.
        self.had_learners = self.next_id["learner"] > 1
        self.had_credentials = self.next_id["credential"] > 1
        self.pairs: dict[tuple[str, str], int] = {}
        self.emails: dict[str, int] = {}
        # Credential id -> where it was first seen and a hash of what it said, across the
        # whole input: for a CSV line one int (line, file, 40 bits of the hash) — a tuple
        # per id would cost 80 MB more at a million rows; else (origin, hash).
        self.seen: dict[str, int | tuple[Origin, int]] = {}
        self.origins_by_file: list[str] = []
        self.added = self.updated = self.unchanged = self.rejected = self.conflict_count = 0
        self.problem_count = 0
        self.problems: list[Problem] = []
        self.conflicts: list[Conflict] = []
        self.changes: list[Change] = []
        self.warnings: list[Problem] = []
        self.done = 0

    # -- driving -----------------------------------------------------------------------------

    def run(
        self,
        inputs: Sequence[ImportInput],
        progress: Progress | None,
        on_reject: RejectSink | None,
    ) -> None:
        for number, source in enumerate(inputs):
            self.origins_by_file.append(source.name)
            for chunk in source.chunks():
                for rejected in self.write_chunk(number, chunk):
                    self.reject(rejected)
                    if on_reject is not None:
                        on_reject(source.name, rejected)
                self.done += len(chunk)
                if progress is not None:
                    progress(self.done)
        self._sync_sequences()

    def reject(self, rejected: Rejected) -> None:
        self.rejected += 1
        self.problem_count += len(rejected.problems)
        room = REPORTED - len(self.problems)
        if room > 0:
            self.problems.extend(rejected.problems[:room])

    # -- one chunk ---------------------------------------------------------------------------

    def write_chunk(self, file_number: int, chunk: list[Item]) -> list[Rejected]:
        """Classify and write one chunk; return its rejected items in input order.

        Straight-line code with local names on purpose: at a million rows every attribute
        lookup in this loop shows in the total (bench/imports.py).
        """
        out: list[Rejected] = []
        rows: list[tuple[Row, int]] = []
        by_code = self.by_code
        for item in chunk:
            if isinstance(item, Rejected):
                out.append(item)
                continue
            programme: int | Problem | None = (
                by_code.get(item.programme_code or "") if item.achievement_id is None else None
            )
            if programme is None:
                programme = self._programme(item)
            if (
                self.scope is not None
                and isinstance(programme, int)
                and programme not in self.scope
            ):
                programme = Problem(
                    origin=item.origin(),
                    field="programme_code",
                    value=item.programme_code or item.achievement_id,
                    reason="is not one of the programmes you may import into",
                )
            if isinstance(programme, Problem):
                out.append(Rejected(item.origin(), (programme,), item.raw))
            else:
                rows.append((item, programme))
        if not rows:
            return out
        just_rows = [r for r, _ in rows]
        stored = (
            self._stored_credentials([r.credential_id for r in just_rows])
            if self.had_credentials
            else {}
        )
        learners = _LearnerMatch(self, just_rows)
        known = [learners.find(r) for r in just_rows]
        enrolments = self._enrolments({k for k in known if k is not None})
        new_learners: list[tuple[Any, ...]] = []
        new_identities: list[tuple[Any, ...]] = []
        new_external: list[tuple[Any, ...]] = []
        new_enrolments: list[tuple[Any, ...]] = []
        new_credentials: list[tuple[Any, ...]] = []
        updates: list[tuple[Row, _Stored, tuple[str, ...]]] = []
        # Credentials added or updated earlier in this chunk (not yet in the database).
        pending: dict[str, tuple[Row, int, int]] = {}
        now = _now_for(self.dialect)
        text_dates = self.dialect != "postgresql"
        seen = self.seen
        next_id = self.next_id
        learner_next, external_next = next_id["learner"], next_id["learner_external_id"]
        enrolment_next, credential_next = next_id["enrolment"], next_id["credential"]
        refs = _uuid4_texts(sum(1 for k in known if k is None))
        added = 0
        for (row, programme_id), learner_id in zip(rows, known, strict=True):
            (
                _file,
                line,
                pointer,
                cid,
                _code,
                _achievement,
                _external_ids,
                email,
                given,
                family,
                language,
                started_on,
                ended_on,
                enrolment_status,
                issued_on,
                grade,
                status,
                revoked_on,
                _expires,
                source,
                _elements,
                _raw,
            ) = row
            digest = hash(row.content())
            first = seen.get(cid)
            if first is not None:
                rejected = self._duplicate(row, programme_id, first, digest, stored, pending)
                if rejected is not None:
                    out.append(rejected)
                else:
                    self.unchanged += 1
                continue
            seen_as: int | tuple[Origin, int] = (
                line << 48 | file_number << 40 | digest & _DIGEST_MASK
                if pointer is None and line is not None and file_number < 256
                else (row.origin(), digest)
            )
            old = stored.get(cid) if stored else None
            if old is not None:
                problem = self._ownership(row, old, learner_id, programme_id)
                if problem is not None:
                    out.append(Rejected(row.origin(), (problem,), row.raw))
                    continue
                seen[cid] = seen_as
                changed = tuple(
                    name
                    for name, want, have in zip(
                        _UPDATABLE, _wanted(row), _stored_fields(old), strict=True
                    )
                    if want != have
                )
                if changed:
                    updates.append((row, old, changed))
                    pending[cid] = (row, old.learner_id, programme_id)
                else:
                    self.unchanged += 1
                continue
            seen[cid] = seen_as
            if learner_id is None:
                learner_id = learners.find(row)  # created earlier in this chunk?
            if learner_id is None:
                learner_id = learner_next
                learner_next += 1
                learners.created(row, learner_id)
                new_learners.append(
                    (
                        learner_id,
                        refs.pop(),
                        language or "en",
                        "unknown",
                        "unknown",
                        "unknown",
                        now,
                    )
                )
                new_identities.append((learner_id, given or "", family or "", email or ""))
                if not email:
                    self._warn(row, "email", "no e-mail address: imported, but not invitable")
            for scheme, value in learners.unknown_ids(row, learner_id):
                new_external.append((external_next, learner_id, scheme, value))
                external_next += 1
            started = started_on or issued_on
            key = (learner_id, programme_id, started)
            enrolment_id = enrolments.get(key)
            if enrolment_id is None:
                enrolment_id = enrolment_next
                enrolment_next += 1
                enrolments[key] = enrolment_id
                ended = ended_on or issued_on
                new_enrolments.append(
                    (
                        enrolment_id,
                        learner_id,
                        programme_id,
                        started.isoformat() if text_dates else started,
                        ended.isoformat() if text_dates else ended,
                        enrolment_status,
                    )
                )
            pending[cid] = (row, learner_id, programme_id)
            new_credentials.append(
                (
                    credential_next,
                    learner_id,
                    programme_id,
                    enrolment_id,
                    issued_on.isoformat() if text_dates else issued_on,
                    cid,
                    grade,
                    status,
                    revoked_on.isoformat() if text_dates and revoked_on else revoked_on,
                    source,
                )
            )
            credential_next += 1
            added += 1
        self.added += added
        next_id["learner"], next_id["learner_external_id"] = learner_next, external_next
        next_id["enrolment"], next_id["credential"] = enrolment_next, credential_next
        self._insert("learner", new_learners)
        self._insert("learner_identity", new_identities)
        self._insert("learner_external_id", new_external)
        self._insert("enrolment", new_enrolments)
        self._insert("credential", new_credentials)
        self._update(updates)
        return out

    # -- pieces ------------------------------------------------------------------------------

    def _warn(self, row: Row, field_name: str, reason: str) -> None:
        if len(self.warnings) < REPORTED:
            self.warnings.append(Problem(origin=row.origin(), field=field_name, reason=reason))

    def _programme(self, row: Row) -> int | Problem:
        by_achievement = self.by_achievement.get(row.achievement_id) if row.achievement_id else None
        by_code = self.by_code.get(row.programme_code) if row.programme_code else None
        if by_achievement is not None and by_code is not None and by_achievement != by_code:
            return Problem(
                origin=row.origin(),
                field="programme_code",
                value=row.programme_code,
                reason=f"names another programme than achievement id {row.achievement_id!r}",
            )
        found = by_achievement if by_achievement is not None else by_code
        if found is not None:
            return found
        if row.elements is not None and self.scope is None:
            return self._create_programme(row, row.elements)
        if row.programme_code:
            known = ", ".join(sorted(self.by_code)[:8]) or "none yet"
            more = ", …" if len(self.by_code) > 8 else ""
            return Problem(
                origin=row.origin(),
                field="programme_code",
                value=row.programme_code,
                reason=f"no programme has this code (known codes: {known}{more})",
            )
        return Problem(
            origin=row.origin(),
            field="achievement_id",
            value=row.achievement_id,
            reason="no programme has this achievement id and the record does not describe one",
        )

    def _create_programme(self, row: Row, elements: ProgrammeElements) -> int:
        code = row.programme_code or generated_programme_code(
            row.achievement_id or row.credential_id
        )
        values = programme_columns(elements) | {"code": code, "achievement_id": row.achievement_id}
        new_id = self.connection.execute(
            _PROGRAMME.insert().values(**values).returning(_PROGRAMME.c.id)
        ).scalar_one()
        self.by_code[code] = new_id
        if row.achievement_id:
            self.by_achievement[row.achievement_id] = new_id
        self.created_programmes.append(code)
        return int(new_id)

    def lookup(self, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Rows of ``sql``, whose ``{member}`` tests a column against ``values``.

        One parameter whatever the number of values — a JSON array on SQLite
        (``json_each``), an array on PostgreSQL — instead of thousands of bound parameters,
        which cost SQLAlchemy more to expand than the query costs to run.
        """
        if not values:
            return []
        if self.dialect == "postgresql":
            statement = sql.format(member="= ANY(%s)")
            parameter: Any = list(values)
        else:
            statement = sql.format(member="IN (SELECT value FROM json_each(?))")
            parameter = json.dumps(list(values))
        return [tuple(r) for r in self.connection.exec_driver_sql(statement, (parameter,))]

    def _stored_credentials(self, ids: list[str]) -> dict[str, _Stored]:
        found = self.lookup(
            "SELECT c.external_id, c.id, c.learner_id, c.programme_id, c.enrolment_id, "
            "c.issued_on, c.grade, c.status, c.revoked_on, e.started_on, e.ended_on, e.status "
            "FROM credential c JOIN enrolment e ON e.id = c.enrolment_id "
            "WHERE c.external_id {member}",
            ids,
        )
        return {
            r[0]: _Stored(
                r[1],
                r[2],
                r[3],
                r[4],
                _as_date(r[5]),
                r[6],
                r[7],
                _as_date(r[8]),
                _as_date(r[9]),
                _as_date(r[10]),
                r[11],
            )
            for r in found
        }

    def _enrolments(self, learner_ids: Iterable[int]) -> dict[tuple[int, int, dt.date], int]:
        found = self.lookup(
            "SELECT learner_id, programme_id, started_on, id FROM enrolment "
            "WHERE learner_id {member}",
            list(learner_ids),
        )
        return {(r[0], r[1], _as_date(r[2])): r[3] for r in found}  # type: ignore[misc]

    def _ownership(
        self, row: Row, old: _Stored, learner_id: int | None, programme_id: int
    ) -> Problem | None:
        if programme_id != old.programme_id:
            return Problem(
                origin=row.origin(),
                field="credential_id",
                value=row.credential_id,
                reason="the database holds this credential for another programme; "
                "a credential id cannot move between programmes",
            )
        if learner_id != old.learner_id:
            return Problem(
                origin=row.origin(),
                field="credential_id",
                value=row.credential_id,
                reason="the database holds this credential for another learner; "
                "a credential id cannot move between learners",
            )
        return None

    def _duplicate(
        self,
        row: Row,
        programme_id: int,
        first: int | tuple[Origin, int],
        digest: int,
        stored: dict[str, _Stored],
        pending: dict[str, tuple[Row, int, int]],
    ) -> Rejected | None:
        """A credential id seen before in this input: None if it says the same again."""
        if isinstance(first, int):
            first_origin = Origin(file=self.origins_by_file[first >> 40 & 0xFF], line=first >> 48)
            same = first & _DIGEST_MASK == digest & _DIGEST_MASK
        else:
            first_origin, same = first[0], first[1] == digest
        if same:
            return None
        earlier = pending.get(row.credential_id)
        if earlier is not None:
            differences = tuple(
                name
                for name, a, b in zip(
                    CONTENT_FIELDS, earlier[0].content(), row.content(), strict=True
                )
                if a != b
            )
        else:
            old = stored.get(row.credential_id)
            if old is None:  # written by an earlier chunk of this import
                old = self._stored_credentials([row.credential_id]).get(row.credential_id)
            differences = ()
            if old is not None:
                differences = tuple(
                    name
                    for name, want, have in zip(
                        _UPDATABLE, _wanted(row), _stored_fields(old), strict=True
                    )
                    if want != have
                )
                if programme_id != old.programme_id:
                    differences = ("programme", *differences)
            if not differences:
                differences = ("learner details (identifiers, e-mail, names or language)",)
        conflict = Conflict(
            id=row.credential_id, origins=(first_origin, row.origin()), differences=differences
        )
        self.conflict_count += 1
        if len(self.conflicts) < REPORTED:
            self.conflicts.append(conflict)
        problem = Problem(
            origin=row.origin(),
            field="credential_id",
            value=row.credential_id,
            reason=f"already used by {first_origin} with different {', '.join(differences)} "
            "(each award needs its own id)",
        )
        return Rejected(row.origin(), (problem,), row.raw)

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        columns = _COLUMNS[table]
        if self.dialect == "postgresql":
            driver = self.connection.connection.driver_connection
            assert driver is not None
            copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[attr-defined]
                for values in rows:
                    copy.write_row(values)
            return
        marks = ", ".join("?" for _ in columns)
        self.connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )

    def _update(self, updates: list[tuple[Row, _Stored, tuple[str, ...]]]) -> None:
        if not updates:
            return
        c, e = _CREDENTIAL.c, _ENROLMENT.c
        self.connection.execute(
            _CREDENTIAL.update()
            .where(c.id == sa.bindparam("b_id"))
            .values(
                issued_on=sa.bindparam("b_issued"),
                grade=sa.bindparam("b_grade"),
                status=sa.bindparam("b_status"),
                revoked_on=sa.bindparam("b_revoked"),
            ),
            [
                {
                    "b_id": old.id,
                    "b_issued": row.issued_on,
                    "b_grade": row.grade,
                    "b_status": row.status,
                    "b_revoked": row.revoked_on,
                }
                for row, old, _ in updates
            ],
        )
        self.connection.execute(
            _ENROLMENT.update()
            .where(e.id == sa.bindparam("b_id"))
            .values(
                started_on=sa.bindparam("b_start"),
                ended_on=sa.bindparam("b_end"),
                status=sa.bindparam("b_status"),
            ),
            [
                {
                    "b_id": old.enrolment_id,
                    "b_start": row.started_on or row.issued_on,
                    "b_end": row.ended_on or row.issued_on,
                    "b_status": row.enrolment_status,
                }
                for row, old, _ in updates
            ],
        )
        for row, old, changed in updates:
            self.updated += 1
            if len(self.changes) < REPORTED:
                self.changes.append(
                    Change(credential_id=row.credential_id, origin=row.origin(), fields=changed)
                )
            # Each change on the trail: which fields, never their (personal) values.
            audit.record(
                self.session,
                actor=self.actor,
                action="credential.update",
                object_type="credential",
                object_id=old.id,
                detail={"fields": list(changed), "file": row.file},
            )
        self.session.flush()

    def _sync_sequences(self) -> None:
        if self.dialect != "postgresql":
            return
        for name in (*_ID_TABLES, "programme"):
            self.connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                )
            )

    # -- results -----------------------------------------------------------------------------

    def summary(self) -> ImportSummary:
        return ImportSummary(
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            rejected=self.rejected,
            conflicts=self.conflict_count,
        )

    def audit_import(self, *, actor: str, files: tuple[str, ...]) -> None:
        audit.record(
            self.session,
            actor=actor,
            action="records.import",
            object_type="import",
            detail={
                "files": list(files),
                **self.summary().model_dump(),
                "created_programmes": self.created_programmes,
            },
        )

    def report(
        self, *, files: tuple[str, ...], written: bool, dry_run: bool, skip_invalid: bool
    ) -> ImportReport:
        return ImportReport(
            files=files,
            summary=self.summary(),
            written=written,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            problems=tuple(self.problems),
            conflicts=tuple(self.conflicts),
            changes=tuple(self.changes),
            warnings=tuple(self.warnings),
            problem_count=self.problem_count,
            created_programmes=tuple(self.created_programmes),
        )


class _LearnerMatch:
    """The learners of one chunk's rows: by external id, then by e-mail, then new.

    Learners this import created are found in the writer's own maps; the database is asked
    only when it held learners before the import (a first import into an empty database
    asks nothing, which is most of a large import's time saved).
    """

    def __init__(self, writer: _Writer, rows: list[Row]) -> None:
        self.writer = writer
        self.by_pair: dict[tuple[str, str], int] = {}
        self.by_email: dict[str, int] = {}
        if writer.had_learners:
            values = list({value for row in rows for _, value in row.external_ids})
            for scheme, value, learner_id in writer.lookup(
                "SELECT scheme, value, learner_id FROM learner_external_id WHERE value {member}",
                values,
            ):
                self.by_pair[(scheme, value)] = learner_id
            emails = list({row.email for row in rows if row.email})
            for email, learner_id in writer.lookup(
                "SELECT email, learner_id FROM learner_identity WHERE email {member}", emails
            ):
                self.by_email.setdefault(email, learner_id)

    def existing_ids(self, rows: list[Row]) -> set[int]:
        """The learners of ``rows`` who existed before this chunk."""
        found = {self.find(row) for row in rows}
        found.discard(None)
        return found  # type: ignore[return-value]

    def find(self, row: Row) -> int | None:
        pairs = self.writer.pairs
        for pair in row.external_ids:
            found = self.by_pair.get(pair) or pairs.get(pair)
            if found is not None:
                return found
        if row.email:
            return self.by_email.get(row.email) or self.writer.emails.get(row.email)
        return None

    def created(self, row: Row, learner_id: int) -> None:
        if row.email:
            self.writer.emails.setdefault(row.email, learner_id)

    def unknown_ids(self, row: Row, learner_id: int) -> list[tuple[str, str]]:
        """The row's external ids the database does not have yet (now the learner's)."""
        pairs = self.writer.pairs
        missing = [p for p in row.external_ids if p not in self.by_pair and p not in pairs]
        for pair in missing:
            pairs[pair] = learner_id
        return missing


def _as_date(value: Any) -> Any:
    """A date read by raw SQL: SQLite returns the ISO text SQLAlchemy stored."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _now_for(dialect: str) -> Any:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now if dialect == "postgresql" else now.isoformat(sep=" ", timespec="microseconds")


def _uuid4_texts(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the system's randomness.

    A learner's pseudonymous reference; ``str(uuid.uuid4())`` per learner costs a system
    call each, which shows at a million learners.
    """
    block = os.urandom(16 * count).hex()
    texts = []
    for start in range(0, 32 * count, 32):
        h = block[start : start + 32]
        texts.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}")
    return texts


# The RFC 4122 variant: the top two bits of byte 8 are 10.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def generated_programme_code(identifier: str) -> str:
    """A programme code for an achievement that has none: stable, short, recognisable."""
    return "OB-" + hashlib.sha256(identifier.encode()).hexdigest()[:10].upper()
