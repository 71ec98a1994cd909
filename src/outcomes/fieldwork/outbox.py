"""The outbox: planned messages in ``mail_message``, claimed in batches, sent, marked.

Planning (:func:`plan_due`) turns what is due into rows, idempotently (one row per
invitation, kind and number; a second planning adds nothing): the first invitation of every
contactable graduate of an open wave, and reminder ``n + 1`` once the last message is at
least ``reminder_gap_days`` old and fewer than ``max_reminders`` were sent.

Sending (``fieldwork.sending``) claims a batch (``pending`` → ``claimed`` with a claim id,
in one transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock of ``BEGIN IMMEDIATE``
on SQLite, so two senders never take the same row), re-checks at claim time whether each
message is still due (submitted, opted out, bounced, other source, wave closed →
``cancelled``), and then works in chunks of :data:`CHUNK` messages over one SMTP
connection: mint a fresh personal token per message and mark the chunk ``sending`` in one
commit, hand each message to the server, and write the chunk's results with the next
chunk's mark (``fieldwork/sending.py``).

**At most once.** A message found ``sending`` after its sender died (killed, the machine
lost power) may or may not have reached the server; it becomes ``uncertain`` and is never
resent. A duplicate invitation costs a bulk sender reputation with mail providers and
annoys the graduate; a missing one shows on the monitor, where staff can reissue the link.
Marking a chunk rather than each message ``sending`` (the next chunk while this one is
handed over) trades at most two chunks of uncertain messages per crash for one commit per
chunk instead of one per message.

Temporary failures (4xx, no connection, a time-out) go to ``failed_temporary`` with
exponential backoff (:func:`backoff`) until ``mail_max_attempts``, after which the message
is ``cancelled`` with the reason; a refused recipient (5xx at RCPT) is ``bounced`` and the
invitation gets ``bounced_at``: no more messages. Docs: docs/fieldwork.md, "E-mail".
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from outcomes import audit
from outcomes.config import Settings
from outcomes.errors import NotFound, ValidationProblem
from outcomes.fieldwork.links import new_token, survey_url, token_hash
from outcomes.fieldwork.mail import Composed
from outcomes.fieldwork.transport import Delivery, Handed
from outcomes.store.tables import (
    Credential,
    Enrolment,
    Invitation,
    LearnerIdentity,
    MailMessage,
    Outcome,
    Programme,
    Response,
    SurveyWave,
)
from outcomes.vocab import OTHER_OUTCOME_SOURCES

# Messages marked ``sending`` in one commit; a crash leaves at most two chunks uncertain.
# Measured (bench/mail.py): 50 rather than 25 cuts the database time per message by 40 %.
CHUNK = 50
FIRST_BACKOFF = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=6)
# A claim whose sender is not known to be dead is recovered only after this long (a live
# sender refreshes ``claimed_at`` at every chunk, and a chunk takes seconds).
STALE_CLAIM = dt.timedelta(minutes=15)
SENDER_ACTOR = "system:outbox"
# How ``last_error`` of a message cancelled at the retry cap begins (the monitor counts these).
GAVE_UP = "gave up after"

MAIL = MailMessage.__table__  # type: ignore[attr-defined]
INV = Invitation.__table__  # type: ignore[attr-defined]
WAVE = SurveyWave.__table__  # type: ignore[attr-defined]
IDENT = LearnerIdentity.__table__  # type: ignore[attr-defined]
RESP = Response.__table__  # type: ignore[attr-defined]
OUTCOME = Outcome.__table__  # type: ignore[attr-defined]
CRED = Credential.__table__  # type: ignore[attr-defined]
ENROL = Enrolment.__table__  # type: ignore[attr-defined]
ENROL = Enrolment.__table__  # type: ignore[attr-defined]
PROG = Programme.__table__  # type: ignore[attr-defined]

Clock = Callable[[], dt.datetime]


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th temporary failure: 5 min doubling to 6 h."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


# --- who may still be written to ------------------------------------------------------------


def _contactable(today: dt.date) -> sa.ColumnElement[bool]:
    """The invitation (joined with its open wave) may receive a message today."""
    complete = sa.exists().where(RESP.c.invitation_id == INV.c.id, RESP.c.status == "complete")
    opted = sa.exists().where(
        IDENT.c.learner_id == INV.c.learner_id, IDENT.c.contact_opted_out_at.is_not(None)
    )
    # An import keeps a learner without an e-mail as an empty address (learner_identity.email
    # is NOT NULL): such a graduate is in the denominator but cannot be written to.
    has_address = sa.exists().where(IDENT.c.learner_id == INV.c.learner_id, IDENT.c.email != "")
    other = sa.exists().where(
        OUTCOME.c.learner_id == INV.c.learner_id,
        OUTCOME.c.wave_id == INV.c.wave_id,
        OUTCOME.c.source.in_(OTHER_OUTCOME_SOURCES),
    )
    return sa.and_(
        WAVE.c.status == "open",
        WAVE.c.opens_on <= today,
        WAVE.c.closes_on >= today,
        INV.c.skipped_reason.is_(None),
        INV.c.bounced_at.is_(None),
        INV.c.opted_out_at.is_(None),
        INV.c.declined_at.is_(None),
        INV.c.submitted_at.is_(None),
        ~complete,
        ~opted,
        has_address,
        ~other,
    )


def stop_reason(row: dict[str, Any], today: dt.date) -> str | None:
    """Why a claimed message must not go out after all (None: it is still due)."""
    if row["submitted_at"] is not None or row["response_status"] == "complete":
        return "submitted"
    if (
        row["opted_out_at"] is not None
        or row["contact_opted_out_at"] is not None
        or row["skipped_reason"] == "opted_out"
    ):
        return "opted out"
    if row["skipped_reason"] is not None:
        return f"skipped ({row['skipped_reason']})"
    if not row["email"]:
        return "no address (erased, or none in the records)"
    if row["bounced_at"] is not None:
        return "bounced"
    if row["declined_at"] is not None:
        return "declined"
    if row["other_source"]:
        return "outcome known from another source"
    if row["wave_status"] != "open" or today > row["closes_on"]:
        return "wave closed"
    if today < row["opens_on"]:
        return "wave not open yet"
    return None


# --- planning -------------------------------------------------------------------------------


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` moved back ``months`` calendar months (the 31st becomes the month's last day)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def _award_date() -> sa.ColumnElement[Any]:
    """When the invitation's graduate earned the credential (a non-completer: left the
    programme); NULL when the records hold neither."""
    awarded = (
        sa.select(sa.func.max(CRED.c.issued_on))
        .where(CRED.c.enrolment_id == INV.c.enrolment_id)
        .scalar_subquery()
    )
    ended = sa.select(ENROL.c.ended_on).where(ENROL.c.id == INV.c.enrolment_id).scalar_subquery()
    return sa.func.coalesce(awarded, ended)


@dataclass(frozen=True)
class PlanReport:
    """Messages added to the outbox by one planning."""

    invitations: int
    reminders: int


def _insert_ignoring_duplicates(
    session: Session, select: sa.Select[Any], *extra_columns: str
) -> int:
    """INSERT the rows ``select`` yields unless the message exists; how many were added."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = ["invitation_id", "kind", "number", "status", "attempts", "created_at"]
    columns += extra_columns
    statement = (
        insert(MAIL)
        .from_select(columns, select)
        .on_conflict_do_nothing(index_elements=["invitation_id", "kind", "number"])
        .returning(MAIL.c.id)
    )
    # Counted from RETURNING: the drivers' rowcount of INSERT ... SELECT is not portable.
    return len(session.execute(statement).all())


def plan_due(
    session: Session,
    *,
    at: dt.datetime,
    wave_id: int | None = None,
    invitations: bool = True,
    reminders: bool = True,
) -> PlanReport:
    """Add the due first invitations and reminders of open waves to the outbox."""
    today = at.date()
    created = sa.literal(at, type_=MAIL.c.created_at.type)
    base = sa.select().select_from(INV.join(WAVE, WAVE.c.id == INV.c.wave_id))
    where = [_contactable(today)]
    if wave_id is not None:
        where.append(INV.c.wave_id == wave_id)
    planned_invitations = planned_reminders = 0
    if invitations:
        # A graduate's first message is due once the wave is open AND they are the wave's
        # months past their award (a graduate of the window's last weeks waits for their own
        # date). The cut-off is per wave, spelled out per distinct timing (a handful).
        timings = session.execute(
            sa.select(WAVE.c.months_after_award).where(WAVE.c.status == "open").distinct()
        ).scalars()
        for months in timings:
            cutoff = sa.literal(months_before(today, months), type_=CRED.c.issued_on.type)
            awarded = _award_date()
            select = base.add_columns(
                INV.c.id,
                sa.literal("invitation"),
                sa.literal(0),
                sa.literal("pending"),
                sa.literal(0),
                created,
            ).where(
                *where,
                WAVE.c.months_after_award == months,
                INV.c.sent_at.is_(None),
                sa.or_(awarded.is_(None), awarded <= cutoff),
            )
            planned_invitations += _insert_ignoring_duplicates(session, select)
    if reminders:
        # The gap is counted from the last message that reached the server. Dates of the
        # previous contact are compared in Python-free SQL: the cut-off is per wave, so it
        # is spelled out per distinct gap (a handful of values).
        gaps = session.execute(
            sa.select(WAVE.c.reminder_gap_days)
            .where(WAVE.c.status == "open", WAVE.c.max_reminders > 0)
            .distinct()
        ).scalars()
        for gap in gaps:
            cutoff = sa.literal(at - dt.timedelta(days=gap), type_=INV.c.sent_at.type)
            last = sa.func.coalesce(INV.c.reminded_at, INV.c.sent_at)
            pending = sa.exists().where(
                MAIL.c.invitation_id == INV.c.id,
                MAIL.c.status.in_(("pending", "claimed", "sending", "failed_temporary")),
            )
            select = base.add_columns(
                INV.c.id,
                sa.literal("reminder"),
                INV.c.reminders + 1,
                sa.literal("pending"),
                sa.literal(0),
                created,
            ).where(
                *where,
                WAVE.c.reminder_gap_days == gap,
                INV.c.sent_at.is_not(None),
                INV.c.reminders < WAVE.c.max_reminders,
                last <= cutoff,
                ~pending,
            )
            planned_reminders += _insert_ignoring_duplicates(session, select)
    return PlanReport(planned_invitations, planned_reminders)


# --- recovering what a dead sender left -----------------------------------------------------


def new_claim_id() -> str:
    """A claim id naming this host and process, so a later run can tell it died."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(6)}"


def _claim_is_dead(claim: str | None, claimed_at: dt.datetime | None, at: dt.datetime) -> bool:
    if claimed_at is None or claim is None or at - claimed_at >= STALE_CLAIM:
        return True
    host, _, rest = claim.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:30] or not pid_text.isdigit():
        return False  # another machine's sender: wait for the claim to go stale
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


@dataclass(frozen=True)
class Recovered:
    """What a run found left behind by senders that died."""

    uncertain: int  # were being handed to the server: not resent
    released: int  # were claimed but never handed over: pending again


def recover_abandoned(session: Session, *, at: dt.datetime) -> Recovered:
    """Settle the messages of senders that died: ``sending`` → uncertain, ``claimed`` → pending."""
    rows = session.execute(
        sa.select(MAIL.c.id, MAIL.c.status, MAIL.c.claim, MAIL.c.claimed_at).where(
            MAIL.c.status.in_(("claimed", "sending"))
        )
    ).all()
    uncertain = [
        r.id for r in rows if r.status == "sending" and _claim_is_dead(r.claim, r.claimed_at, at)
    ]
    released = [
        r.id for r in rows if r.status == "claimed" and _claim_is_dead(r.claim, r.claimed_at, at)
    ]
    if uncertain:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id.in_(uncertain), MAIL.c.status == "sending")
            .values(
                status="uncertain",
                last_error="the sender stopped while handing this message to the server; "
                "it may have been delivered, so it is not sent again",
            )
        )
    if released:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id.in_(released), MAIL.c.status == "claimed")
            .values(status="pending", claim=None, claimed_at=None)
        )
    if uncertain or released:
        audit.record(
            session,
            actor=SENDER_ACTOR,
            action="mail.recovered",
            object_type="mail_message",
            detail={"uncertain": len(uncertain), "released": len(released)},
        )
    return Recovered(len(uncertain), len(released))


# --- claiming -------------------------------------------------------------------------------


@dataclass
class Claimed:
    """One claimed message with what composing it needs."""

    id: int
    invitation_id: int
    kind: str
    number: int
    attempts: int
    address: str
    given_name: str
    language: str
    programme: str
    closes_on: dt.date
    old_token_hash: str
    old_expires_at: dt.datetime
    new_token_hash: str = ""
    new_expires_at: dt.datetime | None = None
    composed: Composed | None = None
    preview: dict[str, str] | None = None


def _details(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    other = (
        sa.exists()
        .where(
            OUTCOME.c.learner_id == INV.c.learner_id,
            OUTCOME.c.wave_id == INV.c.wave_id,
            OUTCOME.c.source.in_(OTHER_OUTCOME_SOURCES),
        )
        .label("other_source")
    )
    statement = (
        sa.select(
            MAIL.c.id,
            MAIL.c.invitation_id,
            MAIL.c.kind,
            MAIL.c.number,
            MAIL.c.attempts,
            INV.c.language,
            INV.c.token_hash,
            INV.c.expires_at,
            INV.c.submitted_at,
            INV.c.opted_out_at,
            INV.c.declined_at,
            INV.c.bounced_at,
            INV.c.skipped_reason,
            IDENT.c.email,
            IDENT.c.given_name,
            IDENT.c.contact_opted_out_at,
            RESP.c.status.label("response_status"),
            WAVE.c.status.label("wave_status"),
            WAVE.c.opens_on,
            WAVE.c.closes_on,
            PROG.c.title,
            PROG.c.title_es,
            other,
        )
        .select_from(
            MAIL.join(INV, INV.c.id == MAIL.c.invitation_id)
            .join(WAVE, WAVE.c.id == INV.c.wave_id)
            .join(ENROL, ENROL.c.id == INV.c.enrolment_id)
            .join(PROG, PROG.c.id == ENROL.c.programme_id)
            .outerjoin(IDENT, IDENT.c.learner_id == INV.c.learner_id)
            .outerjoin(RESP, RESP.c.invitation_id == INV.c.id)
        )
        .where(MAIL.c.id.in_(ids))
        .order_by(MAIL.c.id)
    )
    return [dict(row._mapping) for row in session.execute(statement)]


def claim_batch(
    session: Session,
    *,
    claim: str,
    at: dt.datetime,
    limit: int,
    wave_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
) -> tuple[list[Claimed], int]:
    """Claim up to ``limit`` due messages; (those still due, how many were cancelled)."""
    due = sa.and_(
        MAIL.c.status.in_(("pending", "failed_temporary")),
        sa.or_(MAIL.c.next_attempt_at.is_(None), MAIL.c.next_attempt_at <= at),
    )
    # No ORDER BY: the due index is read in its own order and the scan stops at the limit
    # (sorting every due row for each batch made a 50,000-message wave quadratic).
    select = sa.select(MAIL.c.id).where(due).limit(limit)
    if kinds is not None:
        select = select.where(MAIL.c.kind.in_(kinds))
    if wave_id is not None:
        select = select.where(
            MAIL.c.invitation_id.in_(sa.select(INV.c.id).where(INV.c.wave_id == wave_id))
        )
    select = select.with_for_update(skip_locked=True, of=MAIL)
    ids = list(session.execute(select).scalars())
    if not ids:
        return [], 0
    session.execute(
        sa.update(MAIL)
        .where(MAIL.c.id.in_(ids))
        .values(status="claimed", claim=claim, claimed_at=at)
    )
    today = at.date()
    claimed: list[Claimed] = []
    cancelled: list[dict[str, Any]] = []
    for row in _details(session, ids):
        reason = stop_reason(row, today)
        if reason is not None:
            cancelled.append({"b_id": row["id"], "b_reason": f"no longer due: {reason}"})
            continue
        spanish = row["language"] == "es" and row["title_es"]
        claimed.append(
            Claimed(
                id=row["id"],
                invitation_id=row["invitation_id"],
                kind=row["kind"],
                number=row["number"],
                attempts=row["attempts"],
                address=row["email"],
                given_name=row["given_name"],
                language=row["language"],
                programme=row["title_es"] if spanish else row["title"],
                closes_on=row["closes_on"],
                old_token_hash=row["token_hash"],
                old_expires_at=row["expires_at"],
            )
        )
    if cancelled:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id == sa.bindparam("b_id"))
            .values(status="cancelled", claim=None, last_error=sa.bindparam("b_reason")),
            cancelled,
        )
    return claimed, len(cancelled)


# --- marking what became of each message ---------------------------------------------------


@dataclass
class SendReport:
    """What sending did, in counts (no addresses)."""

    sent: int = 0
    bounced: int = 0
    failed_temporary: int = 0
    gave_up: int = 0
    refused: int = 0
    cancelled: int = 0
    uncertain: int = 0
    batches: int = 0
    unreachable: str | None = None  # why the server could not be used, when it could not

    def add(self, other: SendReport) -> None:
        """Add another report's counts into this one."""
        for name in ("sent", "bounced", "failed_temporary", "gave_up", "refused", "cancelled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.uncertain += other.uncertain
        self.batches += other.batches
        self.unreachable = other.unreachable or self.unreachable

    def counts(self) -> dict[str, int]:
        """The counts, for the audit trail and --json."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


@dataclass
class Results:
    """One chunk's results, as parameters of the statements that write them."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    bounced: list[dict[str, Any]] = field(default_factory=list)
    temporary: list[dict[str, Any]] = field(default_factory=list)
    final: list[dict[str, Any]] = field(default_factory=list)  # cancelled with a reason
    uncertain: list[dict[str, Any]] = field(default_factory=list)
    restore: list[dict[str, Any]] = field(default_factory=list)  # tokens to put back
    released: list[int] = field(default_factory=list)  # never handed over: pending again


def mark_sending(
    session: Session,
    chunk: list[Claimed],
    *,
    claim: str,
    tag: str,
    domain: str,
    at: dt.datetime,
) -> list[Claimed]:
    """Mark the chunk ``sending`` (with its Message-IDs) and store its fresh tokens, in the
    caller's transaction; the messages still ours (another run may have recovered some)."""
    message_id = sa.literal(f"<{tag}.") + sa.cast(MAIL.c.id, sa.String) + sa.literal(f"@{domain}>")
    ours = set(
        session.execute(
            sa.update(MAIL)
            .where(
                MAIL.c.id.in_([m.id for m in chunk]),
                MAIL.c.claim == claim,
                MAIL.c.status == "claimed",
            )
            .values(status="sending", message_id=message_id, claimed_at=at)
            .returning(MAIL.c.id)
        ).scalars()
    )
    kept = [m for m in chunk if m.id in ours]
    write_tokens(session, kept)
    return kept


def record_result(
    results: Results, message: Claimed, handed: Handed, settings: Settings, at: dt.datetime
) -> None:
    restore = restoring(message)
    if handed.delivery is Delivery.ACCEPTED:
        assert message.composed is not None
        results.sent.append(
            {
                "b_id": message.id,
                "b_inv": message.invitation_id,
                "b_kind": message.kind,
                "b_number": message.number,
                "b_preview": message.preview,
            }
        )
    elif handed.delivery is Delivery.BOUNCED:
        results.bounced.append(
            {"b_id": message.id, "b_inv": message.invitation_id, "b_error": handed.detail}
        )
        results.restore.append(restore)
    elif handed.delivery is Delivery.UNCERTAIN:
        results.uncertain.append({"b_id": message.id, "b_error": handed.detail})
    elif handed.delivery is Delivery.REFUSED:
        results.final.append(
            {
                "b_id": message.id,
                "b_error": f"refused by the server: {handed.detail}",
                "b_att": message.attempts + 1,
            }
        )
        results.restore.append(restore)
    else:
        attempts = message.attempts + 1
        results.restore.append(restore)
        if attempts >= settings.mail_max_attempts:
            results.final.append(
                {
                    "b_id": message.id,
                    "b_error": f"{GAVE_UP} {attempts} attempts: {handed.detail}",
                    "b_att": attempts,
                }
            )
        else:
            results.temporary.append(
                {
                    "b_id": message.id,
                    "b_error": handed.detail,
                    "b_att": attempts,
                    "b_next": at + backoff(attempts),
                }
            )


def apply_results(session: Session, results: Results, at: dt.datetime, report: SendReport) -> None:
    """Write one chunk's results in the caller's transaction, one statement per kind."""
    if results.sent:
        sent_ids = [r["b_id"] for r in results.sent]
        if any(r["b_preview"] is not None for r in results.sent):  # demo mode
            session.execute(
                sa.update(MAIL)
                .where(MAIL.c.id == sa.bindparam("b_id"))
                .values(status="sent", sent_at=at, preview=sa.bindparam("b_preview")),
                [{"b_id": r["b_id"], "b_preview": r["b_preview"]} for r in results.sent],
            )
        else:  # one statement for the chunk, not one per message
            session.execute(
                sa.update(MAIL).where(MAIL.c.id.in_(sent_ids)).values(status="sent", sent_at=at)
            )
        firsts = [r["b_inv"] for r in results.sent if r["b_kind"] == "invitation"]
        if firsts:
            session.execute(
                sa.update(INV)
                .where(INV.c.id.in_(firsts), INV.c.sent_at.is_(None))
                .values(sent_at=at)
            )
        later = [
            {"b_inv": r["b_inv"], "b_number": r["b_number"]}
            for r in results.sent
            if r["b_kind"] == "reminder"
        ]
        if later:
            session.execute(
                sa.update(INV)
                .where(INV.c.id == sa.bindparam("b_inv"))
                .values(reminders=sa.bindparam("b_number"), reminded_at=at),
                later,
            )
    if results.bounced:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id == sa.bindparam("b_id"))
            .values(
                status="bounced", last_error=sa.bindparam("b_error"), attempts=MAIL.c.attempts + 1
            ),
            [{"b_id": r["b_id"], "b_error": r["b_error"]} for r in results.bounced],
        )
        bounced_invitations = [{"b_inv": r["b_inv"]} for r in results.bounced]
        session.execute(
            sa.update(INV)
            .where(INV.c.id == sa.bindparam("b_inv"), INV.c.bounced_at.is_(None))
            .values(bounced_at=at),
            bounced_invitations,
        )
    if results.restore:
        # A message that did not go out gives the graduate's earlier link back.
        session.execute(
            sa.update(INV)
            .where(INV.c.id == sa.bindparam("b_id"), INV.c.token_hash == sa.bindparam("b_new"))
            .values(token_hash=sa.bindparam("b_old"), expires_at=sa.bindparam("b_exp")),
            results.restore,
        )
    if results.temporary:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id == sa.bindparam("b_id"))
            .values(
                status="failed_temporary",
                attempts=sa.bindparam("b_att"),
                next_attempt_at=sa.bindparam("b_next"),
                last_error=sa.bindparam("b_error"),
                claim=None,
            ),
            results.temporary,
        )
    if results.final:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id == sa.bindparam("b_id"))
            .values(
                status="cancelled",
                attempts=sa.bindparam("b_att"),
                last_error=sa.bindparam("b_error"),
            ),
            results.final,
        )
    if results.uncertain:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id == sa.bindparam("b_id"))
            .values(
                status="uncertain", last_error=sa.bindparam("b_error"), attempts=MAIL.c.attempts + 1
            ),
            results.uncertain,
        )
    if results.released:
        session.execute(
            sa.update(MAIL)
            .where(MAIL.c.id.in_(results.released))
            .values(status="pending", claim=None, claimed_at=None)
        )
    report.sent += len(results.sent)
    report.bounced += len(results.bounced)
    report.failed_temporary += len(results.temporary)
    gave_up = sum(1 for r in results.final if str(r["b_error"]).startswith("gave up"))
    report.gave_up += gave_up
    report.refused += len(results.final) - gave_up
    report.uncertain += len(results.uncertain)


def restoring(message: Claimed) -> dict[str, Any]:
    """Parameters that put the invitation's earlier token back (the message did not go)."""
    return {
        "b_id": message.invitation_id,
        "b_new": message.new_token_hash,
        "b_old": message.old_token_hash,
        "b_exp": message.old_expires_at,
    }


def write_tokens(session: Session, chunk: list[Claimed]) -> None:
    """Store the fresh tokens of ``chunk`` in place of the invitations' earlier ones."""
    if not chunk:
        return
    session.execute(
        sa.update(INV)
        .where(INV.c.id == sa.bindparam("b_id"))
        .values(token_hash=sa.bindparam("b_hash"), expires_at=sa.bindparam("b_exp")),
        [
            {"b_id": m.invitation_id, "b_hash": m.new_token_hash, "b_exp": m.new_expires_at}
            for m in chunk
        ],
    )


# --- links for a mail merge elsewhere -------------------------------------------------------


@dataclass(frozen=True)
class PrintedLinks:
    """Fresh personal links of a wave's contactable graduates, for another mailing tool."""

    wave_id: int
    urls: list[str]
    replaced_sent_links: int  # of these, how many had already been e-mailed a link


MAIL_MERGE = "link printed for a mail merge elsewhere (outcomes invite --print-links)"


def print_links(
    session: Session, settings: Settings, wave_id: int, *, actor: str, at: dt.datetime
) -> PrintedLinks:
    """Mint a fresh link for every contactable invitation of an open wave (audited).

    The earlier link of each stops working. The outbox will not send these graduates a first
    invitation of its own (that would mint yet another link and kill the printed one): their
    invitation message is recorded as cancelled, with the reason.
    """
    wave = require_wave(session, wave_id)
    busy = sa.exists().where(
        MAIL.c.invitation_id == INV.c.id, MAIL.c.status.in_(("claimed", "sending"))
    )
    rows = session.execute(
        sa.select(INV.c.id, INV.c.sent_at, INV.c.expires_at)
        .select_from(INV.join(WAVE, WAVE.c.id == INV.c.wave_id))
        .where(INV.c.wave_id == wave_id, _contactable(at.date()), ~busy)
        .order_by(INV.c.id)
        .with_for_update(of=INV)
    ).all()
    if not rows and (wave.status != "open" or not wave.opens_on <= at.date() <= wave.closes_on):
        raise ValidationProblem(
            f"Survey wave {wave_id} is not open today ({wave.opens_on} to {wave.closes_on}, "
            f"{wave.status}): its links would not open."
        )
    expires = at + dt.timedelta(days=settings.invitation_valid_days)
    tokens = [new_token() for _ in rows]
    if rows:
        session.execute(
            sa.update(INV)
            .where(INV.c.id == sa.bindparam("b_id"))
            .values(token_hash=sa.bindparam("b_hash"), expires_at=sa.bindparam("b_exp")),
            [
                {
                    "b_id": row.id,
                    "b_hash": token_hash(settings, token),
                    "b_exp": max(expires, row.expires_at),
                }
                for row, token in zip(rows, tokens, strict=True)
            ],
        )
        ids = [row.id for row in rows]
        session.execute(
            sa.update(MAIL)
            .where(
                MAIL.c.invitation_id.in_(ids),
                MAIL.c.kind == "invitation",
                MAIL.c.status.in_(("pending", "failed_temporary")),
            )
            .values(status="cancelled", last_error=MAIL_MERGE)
        )
        unsent = sa.select(
            INV.c.id,
            sa.literal("invitation"),
            sa.literal(0),
            sa.literal("cancelled"),
            sa.literal(0),
            sa.literal(at, type_=MAIL.c.created_at.type),
            sa.literal(MAIL_MERGE),
        ).where(INV.c.id.in_(ids), INV.c.sent_at.is_(None))
        _insert_ignoring_duplicates(session, unsent, "last_error")
    replaced = sum(1 for row in rows if row.sent_at is not None)
    audit.record(
        session,
        actor=actor,
        action="invitation.links_printed",
        object_type="survey_wave",
        object_id=wave_id,
        detail={"links": len(rows), "replaced_sent_links": replaced},
    )
    return PrintedLinks(wave_id, [survey_url(settings, token) for token in tokens], replaced)


def require_wave(session: Session, wave_id: int) -> SurveyWave:
    """The wave with ``wave_id``, or NotFound in one sentence."""
    wave = session.get(SurveyWave, wave_id)
    if wave is None:
        raise NotFound(f"No survey wave with id {wave_id}.")
    return wave
