"""Privacy rights: access/portability exports, erasure, retention purge, consent withdrawal.

Erasure has two modes (setting ``erasure_mode``):

- ``anonymise`` (default) is pseudonymisation in the GDPR's sense (Recital 26): the rows
  stay, with their covariates, for the aggregate statistics, but who the person is goes:
  identity and external-id rows are deleted, free-text answers are removed from the response
  and every revision, the learner's ``ref`` becomes a new random UUID, credential external
  ids and grades are cleared, invitation token hashes are replaced by random ones, the birth
  year becomes the middle year of its five-year band and the person's own times and dates
  (consent, invitation, response and revision times, outcome date) the first of their month;
- ``delete`` removes every row of the learner, children first.

Each action is audited by learner id and counts, never with the personal data itself.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import secrets
import shutil
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from outcomes import audit
from outcomes.config import Settings
from outcomes.errors import NotFound, ValidationProblem
from outcomes.exports import safe_csv_writer, spreadsheet_safe
from outcomes.private_files import create_private_file, make_private_directories
from outcomes.store.tables import (
    Credential,
    Enrolment,
    InstrumentVersion,
    Invitation,
    Learner,
    LearnerExternalId,
    LearnerIdentity,
    Outcome,
    Response,
    ResponseIdentifying,
    ResponseRevision,
    utcnow,
)

try:
    from outcomes.instruments.schema import TEXT_TYPES
except ImportError:  # pragma: no cover - the instruments package ships with the product
    TEXT_TYPES = frozenset({"short_text", "long_text"})

# An answer to a question of unknown type is kept only when it looks like a coded choice.
CODED_VALUE = re.compile(r"^[a-z0-9_\-]{1,40}$")
ERASURE_MODES = ("anonymise", "delete")
EXPORT_TABLES = (
    "learner",
    "identity",
    "external_ids",
    "enrolments",
    "credentials",
    "invitations",
    "responses",
    "response_identifying",
    "response_revisions",
    "outcomes",
)


@dataclass(frozen=True)
class LearnerRecord:
    """Everything held about one learner, table by table (rows as plain dicts)."""

    learner_id: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def row_count(self) -> int:
        """How many rows the record holds across its tables."""
        return sum(len(rows) for rows in self.tables.values())


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure did, in counts (safe to show and to audit)."""

    learner_id: int
    mode: str
    rows_deleted: int = 0
    answers_removed: int = 0
    values_coarsened: int = 0  # birth year to its band, times and dates to their month
    grades_removed: int = 0

    def summary(self) -> str:
        """The report as one sentence."""
        text = (
            f"Erased learner {self.learner_id} ({self.mode}): {self.rows_deleted} rows deleted, "
            f"{self.answers_removed} free-text answers removed"
        )
        if self.mode == "anonymise":
            text += (
                f", {self.values_coarsened} birth-year and date values coarsened, "
                f"{self.grades_removed} grades removed"
            )
        return text + "."


# --- finding a learner ------------------------------------------------------------------------


def find_learner(session: Session, key: str) -> Learner:
    """The learner with this ref (UUID), identity e-mail or external id; one clear error else."""
    value = key.strip()
    if not value:
        raise ValidationProblem("Give a learner ref, e-mail address or external id.")
    learner = session.exec(select(Learner).where(Learner.ref == value)).first()
    if learner is not None:
        return learner
    ids = set(
        session.exec(
            select(LearnerIdentity.learner_id).where(
                sa.func.lower(col(LearnerIdentity.email)) == value.lower()
            )
        ).all()
    )
    ids |= set(
        session.exec(
            select(LearnerExternalId.learner_id).where(LearnerExternalId.value == value)
        ).all()
    )
    if not ids:
        raise NotFound("No learner matches that ref, e-mail address or external id.")
    if len(ids) > 1:
        raise ValidationProblem(
            f"{len(ids)} learners match that value: use the learner ref (UUID) instead."
        )
    found = session.get(Learner, ids.pop())
    assert found is not None  # the id came from a foreign key
    return found


# --- access and portability -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(records: list[Any], exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {k: _plain(v) for k, v in record.model_dump().items() if k not in exclude}
        for record in records
    ]


def _all(session: Session, model: type[SQLModel], column: Any, value: Any) -> list[Any]:
    return list(session.exec(select(model).where(column == value)).all())


def _response_ids(session: Session, learner_id: int) -> list[int]:
    statement = (
        select(Response.id)
        .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
        .where(Invitation.learner_id == learner_id)
    )
    return [i for i in session.exec(statement).all() if i is not None]


def learner_record(session: Session, *, learner_id: int, actor: str, purpose: str) -> LearnerRecord:
    """Everything held about a learner; audited as ``privacy.<purpose>`` (viewed/exported)."""
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise NotFound(f"There is no learner with id {learner_id}.")
    response_ids = _response_ids(session, learner_id)
    tables = {
        "learner": _rows([learner]),
        "identity": _rows(_all(session, LearnerIdentity, LearnerIdentity.learner_id, learner_id)),
        "external_ids": _rows(
            _all(session, LearnerExternalId, LearnerExternalId.learner_id, learner_id)
        ),
        "enrolments": _rows(_all(session, Enrolment, Enrolment.learner_id, learner_id)),
        "credentials": _rows(_all(session, Credential, Credential.learner_id, learner_id)),
        "invitations": _rows(
            _all(session, Invitation, Invitation.learner_id, learner_id), exclude=("token_hash",)
        ),
        "responses": _rows(
            list(session.exec(select(Response).where(col(Response.id).in_(response_ids))).all())
        ),
        "response_identifying": _rows(
            list(
                session.exec(
                    select(ResponseIdentifying)
                    .where(col(ResponseIdentifying.response_id).in_(response_ids))
                    .order_by(
                        col(ResponseIdentifying.response_id), col(ResponseIdentifying.question_id)
                    )
                ).all()
            )
        ),
        "response_revisions": _rows(
            list(
                session.exec(
                    select(ResponseRevision)
                    .where(col(ResponseRevision.response_id).in_(response_ids))
                    .order_by(col(ResponseRevision.response_id), col(ResponseRevision.revision))
                ).all()
            )
        ),
        "outcomes": _rows(_all(session, Outcome, Outcome.learner_id, learner_id)),
    }
    record = LearnerRecord(learner_id, tables)
    audit.record(
        session,
        actor=actor,
        action=f"privacy.{purpose}",
        object_type="learner",
        object_id=learner_id,
        detail={"rows": record.row_count()},
    )
    return record


def lookup(session: Session, *, key: str, actor: str, purpose: str = "viewed") -> LearnerRecord:
    """Find a learner by ref, e-mail or external id and return their record; audited."""
    learner = find_learner(session, key)
    assert learner.id is not None
    return learner_record(session, learner_id=learner.id, actor=actor, purpose=purpose)


def record_frames(record: LearnerRecord) -> dict[str, pd.DataFrame]:
    """The record as one DataFrame per table, nested values as JSON text (for display)."""
    frames = {}
    for name in EXPORT_TABLES:
        rows = [
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
            for row in record.tables.get(name, [])
        ]
        frames[name] = pd.DataFrame(rows)
    return frames


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    columns = sorted({key for row in rows for key in row})
    writer = safe_csv_writer(buffer)
    writer.writerow(columns)
    for row in rows:
        cells = [row.get(c) for c in columns]
        writer.writerow(
            [
                spreadsheet_safe(
                    json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                )
                for v in cells
            ]
        )
    return buffer.getvalue().encode("utf-8")


def export_files(record: LearnerRecord) -> dict[str, bytes]:
    """The export as files: ``learner.json`` (everything) and one CSV per table."""
    files = {
        "learner.json": json.dumps(record.tables, indent=2, ensure_ascii=False).encode("utf-8")
    }
    for name in EXPORT_TABLES:
        files[f"{name}.csv"] = _csv_bytes(record.tables.get(name, []))
    return files


def write_export(record: LearnerRecord, target: Path) -> list[Path]:
    """Write the export to a new directory ``target``, or one archive if it ends in ``.zip``.

    The files go into a private staging directory made beside the target with
    ``tempfile.mkdtemp`` (mode 0700, an unpredictable name), each created with
    ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600, so nothing planted there in advance
    (a symlink at a guessed name) can redirect them. The staged export is then renamed
    into place; a target that already exists (file, directory or symlink) is refused.
    Directories this creates are 0700. Returns the paths written.
    """
    _refuse_existing(target)
    make_private_directories(target.parent)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    )
    try:
        if target.suffix == ".zip":
            staged = staging / target.name
            create_private_file(staged, export_zip(record))
            _refuse_existing(target)
            # A symlink that appeared at the target since the check is replaced, never
            # written through: rename() does not follow a link at its destination.
            os.rename(staged, target)
            staging.rmdir()
            return [target]
        names = []
        for name, content in export_files(record).items():
            create_private_file(staging / name, content)
            names.append(name)
        _refuse_existing(target)
        # A directory can only be renamed onto a missing name or an empty directory, so
        # a file, a symlink or a directory with anything in it that appeared since the
        # check makes this fail rather than be overwritten.
        os.rename(staging, target)
        return [target / name for name in names]
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _refuse_existing(target: Path) -> None:
    if os.path.lexists(target):  # lexists: a dangling symlink counts too
        raise ValidationProblem(f"{target} already exists: choose a new name for the export.")


def export_zip(record: LearnerRecord) -> bytes:
    """The export's files in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in export_files(record).items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- erasure ----------------------------------------------------------------------------------


def question_types(definition: dict[str, Any]) -> dict[str, str]:
    """Question id → question type, read from a stored instrument definition."""
    types: dict[str, str] = {}
    for section in definition.get("sections") or []:
        for question in (section or {}).get("questions") or []:
            if isinstance(question, dict) and "id" in question and "type" in question:
                types[str(question["id"])] = str(question["type"])
    return types


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def is_free_text(question_id: str, value: Any, types: dict[str, str]) -> bool:
    """True when an answer is free text: a text question, or an unknown key with prose."""
    kind = types.get(question_id)
    if kind is not None:
        return kind in TEXT_TYPES
    return any(not CODED_VALUE.match(s) for s in _strings(value))


def without_free_text(answers: dict[str, Any], types: dict[str, str]) -> tuple[dict[str, Any], int]:
    """The answers with free text removed, and how many answers were removed."""
    kept = {k: v for k, v in answers.items() if not is_free_text(k, v, types)}
    return kept, len(answers) - len(kept)


def _types_for(
    session: Session, instrument_version_id: int, cache: dict[int, dict[str, str]]
) -> dict[str, str]:
    if instrument_version_id not in cache:
        version = session.get(InstrumentVersion, instrument_version_id)
        cache[instrument_version_id] = question_types(version.definition) if version else {}
    return cache[instrument_version_id]


def _random_token_hash() -> str:
    return secrets.token_hex(32)


# Anonymise mode keeps rows for the statistics, so it also coarsens what could single a
# person out again by linkage with what others know (their birthday, the day they answered).
BIRTH_YEAR_BAND = 5
# Timestamps of the person's own actions, coarsened to the first of their month (UTC).
COARSENED_TIMES: dict[type[SQLModel], tuple[str, ...]] = {
    Learner: ("consent_at",),
    Invitation: (
        "sent_at",
        "reminded_at",
        "opened_at",
        "submitted_at",
        "opted_out_at",
        "declined_at",
        "expires_at",
    ),
    Response: ("started_at", "updated_at", "submitted_at"),
    ResponseRevision: ("saved_at",),
    # A survey outcome is dated the day the answers were saved; one from another source is
    # dated, and timed, when staff learned and recorded it.
    Outcome: ("observed_on", "recorded_at"),
}


def birth_year_band(year: int) -> int:
    """The middle year of the five-year band holding ``year`` (1985–1989 → 1987).

    The middle rather than the first year: analysis reads age as a number (start year minus
    birth year), and the middle year keeps an anonymised learner's age unbiased (off by at
    most two years either way) where the first year would age everyone by two on average.
    """
    return year - year % BIRTH_YEAR_BAND + BIRTH_YEAR_BAND // 2


def month_start(value: dt.date) -> dt.date:
    """The first of ``value``'s month (midnight UTC for a timestamp)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return value.replace(day=1)


def _coarsen(record: SQLModel) -> int:
    """Coarsen ``record``'s person-level times in place; how many values were set."""
    count = 0
    for name in COARSENED_TIMES.get(type(record), ()):
        value = getattr(record, name)
        if value is not None:
            setattr(record, name, month_start(value))
            count += 1
    return count


def _anonymise(session: Session, learner: Learner) -> ErasureReport:
    learner_id = learner.id
    assert learner_id is not None
    deleted = 0
    for model in (LearnerIdentity, LearnerExternalId):
        result = session.execute(sa.delete(model).where(col(model.learner_id) == learner_id))
        deleted += int(getattr(result, "rowcount", 0) or 0)
    removed = coarsened = 0
    # Employer names and job titles, kept apart from the answers: free text, so removed.
    apart = session.execute(
        sa.delete(ResponseIdentifying).where(
            col(ResponseIdentifying.response_id).in_(_response_ids(session, learner_id))
        )
    )
    removed += int(getattr(apart, "rowcount", 0) or 0)
    cache: dict[int, dict[str, str]] = {}
    for response in session.exec(
        select(Response).join(Invitation).where(Invitation.learner_id == learner_id)
    ).all():
        types = _types_for(session, response.instrument_version_id, cache)
        response.answers, count = without_free_text(dict(response.answers), types)
        removed += count
        coarsened += _coarsen(response)
        session.add(response)
        for revision in session.exec(
            select(ResponseRevision).where(ResponseRevision.response_id == response.id)
        ).all():
            revision.answers, count = without_free_text(dict(revision.answers), types)
            removed += count
            coarsened += _coarsen(revision)
            session.add(revision)
    grades = 0
    for credential in _all(session, Credential, Credential.learner_id, learner_id):
        grades += credential.grade is not None
        credential.external_id = None
        credential.grade = None
        session.add(credential)
    for invitation in _all(session, Invitation, Invitation.learner_id, learner_id):
        invitation.token_hash = _random_token_hash()
        coarsened += _coarsen(invitation)
        session.add(invitation)
    for outcome in _all(session, Outcome, Outcome.learner_id, learner_id):
        coarsened += _coarsen(outcome)
        if outcome.note is not None:  # staff's free text about an other-source outcome
            outcome.note = None
            removed += 1
        session.add(outcome)
    if learner.birth_year is not None:
        learner.birth_year = birth_year_band(learner.birth_year)
        coarsened += 1
    coarsened += _coarsen(learner)
    learner.ref = str(uuid.uuid4())
    learner.erased_at = utcnow()
    session.add(learner)
    return ErasureReport(
        learner_id,
        "anonymise",
        rows_deleted=deleted,
        answers_removed=removed,
        values_coarsened=coarsened,
        grades_removed=grades,
    )


def _delete(session: Session, learner: Learner) -> ErasureReport:
    learner_id = learner.id
    assert learner_id is not None
    response_ids = _response_ids(session, learner_id)
    statements = [
        sa.delete(Outcome).where(col(Outcome.learner_id) == learner_id),
        sa.delete(ResponseRevision).where(col(ResponseRevision.response_id).in_(response_ids)),
        sa.delete(ResponseIdentifying).where(
            col(ResponseIdentifying.response_id).in_(response_ids)
        ),
        sa.delete(Response).where(col(Response.id).in_(response_ids)),
        sa.delete(Invitation).where(col(Invitation.learner_id) == learner_id),
        sa.delete(Credential).where(col(Credential.learner_id) == learner_id),
        sa.delete(Enrolment).where(col(Enrolment.learner_id) == learner_id),
        sa.delete(LearnerExternalId).where(col(LearnerExternalId.learner_id) == learner_id),
        sa.delete(LearnerIdentity).where(col(LearnerIdentity.learner_id) == learner_id),
        sa.delete(Learner).where(col(Learner.id) == learner_id),
    ]
    session.flush()
    deleted = 0
    for statement in statements:
        deleted += int(getattr(session.execute(statement), "rowcount", 0) or 0)
    session.expunge(learner)
    return ErasureReport(learner_id, "delete", rows_deleted=deleted)


def erase_learner(
    session: Session,
    *,
    learner_id: int,
    actor: str,
    settings: Settings,
    mode: str | None = None,
    reason: str = "request",
) -> ErasureReport:
    """Erase a learner (``mode`` default: the ``erasure_mode`` setting); audited."""
    mode = mode or settings.erasure_mode
    if mode not in ERASURE_MODES:
        raise ValidationProblem(f"Unknown erasure mode '{mode}': use anonymise or delete.")
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise NotFound(f"There is no learner with id {learner_id}.")
    report = _delete(session, learner) if mode == "delete" else _anonymise(session, learner)
    audit.record(
        session,
        actor=actor,
        action="privacy.erased",
        object_type="learner",
        object_id=learner_id,
        detail={
            "mode": mode,
            "reason": reason,
            "rows_deleted": report.rows_deleted,
            "answers_removed": report.answers_removed,
            "values_coarsened": report.values_coarsened,
            "grades_removed": report.grades_removed,
        },
    )
    return report


def withdraw_consent(
    session: Session, invitation_id: int, actor: str, *, settings: Settings
) -> ErasureReport:
    """A graduate withdrew consent from the survey page: record it and erase them."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("That survey invitation does not exist.")
    invitation.opted_out_at = utcnow()
    session.add(invitation)
    session.flush()
    return erase_learner(
        session,
        learner_id=invitation.learner_id,
        actor=actor,
        settings=settings,
        reason="consent_withdrawn",
    )


# --- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeReport:
    """What a retention purge did, and how many learners past the period it had to leave."""

    cutoff: dt.date
    learners_erased: int
    invitation_tokens_cleared: int
    learners_left: int = 0  # nothing dated since the cutoff, but an enrolment still open

    def summary(self) -> str:
        """The report as one sentence."""
        text = (
            f"Erased {self.learners_erased} learners whose last award or enrolment end (or, "
            f"with neither, their record) is before {self.cutoff}; cleared "
            f"{self.invitation_tokens_cleared} expired invitation tokens"
        )
        if self.learners_left:
            text += (
                f"; left {self.learners_left} learners with an enrolment open since before "
                f"{self.cutoff} (end or close those enrolments to let the purge reach them)"
            )
        return text + "."


def _retention_terms(cutoff: dt.date) -> tuple[Any, Any]:
    """(past the cutoff, an enrolment still running): conditions on the ``learner`` row.

    Past the cutoff means: the later of the last award and the last enrolment end is before
    ``cutoff``; with neither (no award, no ended enrolment), when the learner row was created.
    """
    last_award = (
        sa.select(sa.func.max(col(Credential.issued_on)))
        .where(col(Credential.learner_id) == col(Learner.id))
        .scalar_subquery()
    )
    last_end = (
        sa.select(sa.func.max(col(Enrolment.ended_on)))
        .where(col(Enrolment.learner_id) == col(Learner.id))
        .scalar_subquery()
    )
    # The later of two dates either of which may be NULL (GREATEST is not portable).
    latest = sa.case(
        (last_award > last_end, last_award), else_=sa.func.coalesce(last_end, last_award)
    )
    created_before = dt.datetime.combine(cutoff, dt.time(0), dt.UTC)
    past = sa.or_(
        sa.and_(latest.is_not(None), latest < cutoff),
        sa.and_(latest.is_(None), col(Learner.created_at) < created_before),
    )
    running = sa.exists().where(
        col(Enrolment.learner_id) == col(Learner.id), col(Enrolment.ended_on).is_(None)
    )
    return past, running


def learners_past_retention(session: Session, cutoff: dt.date) -> list[int]:
    """Ids of learners not yet erased who are past the retention ``cutoff``.

    That is: their last award or enrolment end is before ``cutoff`` or, when they have
    neither, their learner row was created before it. A learner with an enrolment still
    running (no end date) is kept; :func:`learners_left_by_retention` counts those.
    """
    past, running = _retention_terms(cutoff)
    statement = (
        sa.select(col(Learner.id))
        .where(col(Learner.erased_at).is_(None), past, ~running)
        .order_by(col(Learner.id))
    )
    return [int(i) for i in session.execute(statement).scalars()]


def learners_left_by_retention(session: Session, cutoff: dt.date) -> list[int]:
    """Ids of learners past ``cutoff`` but kept by an enrolment begun before it, still open.

    Typically an enrolment nobody closed; an enrolment begun since the cutoff is a learner
    who is simply still studying, and is not counted.
    """
    past, running = _retention_terms(cutoff)
    recent_start = sa.exists().where(
        col(Enrolment.learner_id) == col(Learner.id),
        col(Enrolment.ended_on).is_(None),
        col(Enrolment.started_on) >= cutoff,
    )
    statement = (
        sa.select(col(Learner.id))
        .where(col(Learner.erased_at).is_(None), past, running, ~recent_start)
        .order_by(col(Learner.id))
    )
    return [int(i) for i in session.execute(statement).scalars()]


def purge(
    session: Session,
    *,
    actor: str,
    older_than_years: int | None = None,
    today: dt.date | None = None,
    settings: Settings,
    mode: str | None = None,
) -> PurgeReport:
    """Erase learners past the retention period and clear expired invitations' tokens."""
    years = older_than_years if older_than_years is not None else settings.retention_years
    if years < 1:
        raise ValidationProblem("The retention period must be at least one year.")
    today = today or utcnow().date()
    try:
        cutoff = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        cutoff = today.replace(year=today.year - years, day=28)
    learner_ids = learners_past_retention(session, cutoff)
    left = len(learners_left_by_retention(session, cutoff))
    for learner_id in learner_ids:
        erase_learner(
            session,
            learner_id=learner_id,
            actor=actor,
            settings=settings,
            mode=mode,
            reason="retention",
        )
    expired = session.exec(select(Invitation).where(col(Invitation.expires_at) < utcnow())).all()
    for invitation in expired:
        invitation.token_hash = _random_token_hash()
        session.add(invitation)
    audit.record(
        session,
        actor=actor,
        action="privacy.purged",
        detail={
            "older_than_years": years,
            "learners_erased": len(learner_ids),
            "invitation_tokens_cleared": len(expired),
            "learners_left": left,
        },
    )
    return PurgeReport(cutoff, len(learner_ids), len(expired), learners_left=left)
