"""Sending what the outbox holds: claim a batch, hand it over chunk by chunk, mark it.

One batch (``mail_batch_size`` messages) goes over one connection. Within it, messages move
in chunks of :data:`~outcomes.fieldwork.outbox.CHUNK`: each chunk's fresh tokens and its
``sending`` mark are committed together with the results of the chunk before, in one
transaction, before any of its messages is handed over — one commit per chunk, and at most
one chunk uncertain if the sender dies (``docs/fieldwork.md``, "E-mail").

Measured with ``bench/mail.py`` (cProfile): the SMTP conversation dominates; composing is a
join of prepared pieces (``fieldwork/mail.py``) and the database work is a few statements
per chunk (``executemany`` or ``IN``), not per message.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outcomes import audit
from outcomes.config import Settings
from outcomes.fieldwork.links import new_token, opt_out_url, survey_url, token_hash
from outcomes.fieldwork.mail import Recipient, Templates
from outcomes.fieldwork.outbox import (
    CHUNK,
    SENDER_ACTOR,
    Claimed,
    Clock,
    PlanReport,
    Recovered,
    Results,
    SendReport,
    apply_results,
    claim_batch,
    mark_sending,
    new_claim_id,
    plan_due,
    record_result,
    recover_abandoned,
    restoring,
    write_tokens,
)
from outcomes.fieldwork.transport import (
    Delivery,
    Handed,
    Transport,
    TransportUnavailable,
    open_transport,
)
from outcomes.store.engine import session_scope
from outcomes.store.tables import utcnow


class _Pace:
    """At most ``rate`` messages per second (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._gap = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()

    def wait(self) -> None:
        """Sleep until the next message may go."""
        if not self._gap:
            return
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = self._next
        self._next = now + self._gap


def _prepare(
    messages: Iterable[Claimed],
    settings: Settings,
    templates: Templates,
    *,
    at: dt.datetime,
    tag: str,
) -> None:
    """Mint each message's token and compose it (Message-ID: the batch tag and the row id)."""
    expires = at + dt.timedelta(days=settings.invitation_valid_days)
    for message in messages:
        token = new_token()
        recipient = Recipient(
            address=message.address,
            given_name=message.given_name,
            survey_url=survey_url(settings, token),
            opt_out_url=opt_out_url(settings, token),
        )
        template = templates.get(
            kind=message.kind,
            language=message.language,
            programme=message.programme,
            closes_on=message.closes_on,
        )
        message_id = f"<{tag}.{message.id}@{templates.domain}>"
        composed, text, html_body = template.compose(recipient, at=at, message_id=message_id)
        message.composed = composed
        message.new_token_hash = token_hash(settings, token)
        message.new_expires_at = max(expires, message.old_expires_at)
        if settings.demo:
            message.preview = composed.preview(text, html_body, recipient)


def send_batch(
    engine: Engine,
    settings: Settings,
    *,
    clock: Clock = utcnow,
    transport_factory: Callable[[Settings], Transport] = open_transport,
    templates: Templates | None = None,
    wave_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
    actor: str = SENDER_ACTOR,
) -> SendReport | None:
    """Claim one batch and send it over one connection; None when nothing was due."""
    claim = new_claim_id()
    with session_scope(engine) as session:
        claimed, cancelled = claim_batch(
            session,
            claim=claim,
            at=clock(),
            limit=settings.mail_batch_size,
            wave_id=wave_id,
            kinds=kinds,
        )
    if not claimed and not cancelled:
        return None
    report = SendReport(cancelled=cancelled, batches=1)
    if not claimed:
        with session_scope(engine) as session:
            _audit_batch(session, claim, report, actor, settings)
        return report
    templates = templates or Templates(settings)
    try:
        transport = transport_factory(settings)
    except TransportUnavailable as exc:
        report.unreachable = str(exc)
        results, at = Results(), clock()
        for message in claimed:
            record_result(results, message, Handed(Delivery.TEMPORARY, str(exc)), settings, at)
        results.restore.clear()  # no token was minted
        with session_scope(engine) as session:
            apply_results(session, results, at, report)
            _audit_batch(session, claim, report, actor, settings)
        return report
    try:
        _send_chunks(engine, settings, claimed, transport, templates, claim, clock, report)
    finally:
        transport.close()
    with session_scope(engine) as session:
        _audit_batch(session, claim, report, actor, settings)
    return report


def _send_chunks(
    engine: Engine,
    settings: Settings,
    claimed: list[Claimed],
    transport: Transport,
    templates: Templates,
    claim: str,
    clock: Clock,
    report: SendReport,
) -> None:
    """Hand the claimed messages over chunk by chunk.

    The database work runs beside the SMTP conversation, in one writer thread: while chunk
    k is being handed over, the writer stores the results of chunk k - 1 and prepares and
    commits chunk k + 1 as ``sending`` (one transaction). The sender waits for that commit
    before handing chunk k + 1 over, so nothing is ever handed over before it is marked;
    a crash leaves at most two chunks uncertain. Most of a sender's time is spent waiting
    for the server's replies, and this hides the database's time inside those waits.
    """
    pace = _Pace(settings.mail_rate_per_second)
    tag = secrets.token_hex(8)  # with the row id, each message's Message-ID
    demo = transport.stores_previews
    chunks = [claimed[first : first + CHUNK] for first in range(0, len(claimed), CHUNK)]

    def ready(chunk: list[Claimed], previous: Results) -> list[Claimed]:
        """Write ``previous``; prepare ``chunk`` and commit it as sending. The kept messages."""
        at = clock()
        _prepare(chunk, settings, templates, at=at, tag=tag)
        with session_scope(engine) as session:
            apply_results(session, previous, at, report)
            if demo:  # nothing leaves the machine, so there is no uncertain window
                write_tokens(session, chunk)
                return chunk
            return mark_sending(
                session, chunk, claim=claim, tag=tag, domain=templates.domain, at=at
            )

    leftover = Results()  # what is written at the end
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-writer") as writer:
        marking: Future[list[Claimed]] = writer.submit(ready, chunks[0], Results())
        previous = Results()
        for index in range(len(chunks)):
            kept = marking.result()  # this chunk is committed as sending
            has_next = index + 1 < len(chunks)
            if has_next:
                marking = writer.submit(ready, chunks[index + 1], previous)
            else:
                leftover = previous
            results = Results()
            for message in kept:
                if report.unreachable is not None:  # the connection is gone
                    results.released.append(message.id)
                    results.restore.append(restoring(message))
                    continue
                assert message.composed is not None
                pace.wait()
                handed = transport.send(message.composed)
                record_result(results, message, handed, settings, clock())
                if handed.connection_lost:
                    report.unreachable = handed.detail
            previous = results
            if report.unreachable is not None:
                if has_next:
                    # The next chunk was being marked (with the chunk before's results):
                    # wait for it, then give it back.
                    for message in marking.result():
                        previous.released.append(message.id)
                        previous.restore.append(restoring(message))
                    # Chunks after it were never prepared: no token minted.
                    for later in chunks[index + 2 :]:
                        previous.released.extend(m.id for m in later)
                break
    with session_scope(engine) as session:
        apply_results(session, leftover, clock(), report)
        apply_results(session, previous, clock(), report)


def _audit_batch(
    session: Session, claim: str, report: SendReport, actor: str, settings: Settings
) -> None:
    """One audit event per batch: counts only, no addresses."""
    audit.record(
        session,
        actor=actor,
        action="mail.batch_sent",
        object_type="mail_batch",
        object_id=claim,
        detail={
            **report.counts(),
            "demo": settings.demo,
            "unreachable": report.unreachable is not None,
        },
    )


def send_due(
    engine: Engine,
    settings: Settings,
    *,
    clock: Clock = utcnow,
    transport_factory: Callable[[Settings], Transport] = open_transport,
    wave_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
    actor: str = SENDER_ACTOR,
    max_batches: int | None = None,
) -> SendReport:
    """Send batches until nothing is due (or the server cannot be reached)."""
    total = SendReport()
    templates = Templates(settings)
    while max_batches is None or total.batches < max_batches:
        report = send_batch(
            engine,
            settings,
            clock=clock,
            transport_factory=transport_factory,
            templates=templates,
            wave_id=wave_id,
            kinds=kinds,
            actor=actor,
        )
        if report is None:
            break
        total.add(report)
        if report.unreachable is not None:
            break  # the rest waits for a later run, not for this loop
    return total


@dataclass(frozen=True)
class RunReport:
    """One ``outcomes fieldwork run``: recovered, planned, sent."""

    recovered: Recovered
    planned: PlanReport
    sent: SendReport

    def to_dict(self) -> dict[str, Any]:
        """Plain counts, for --json."""
        return {
            "recovered": asdict(self.recovered),
            "planned": asdict(self.planned),
            "sent": {**self.sent.counts(), "unreachable": self.sent.unreachable},
        }


def run_fieldwork(
    engine: Engine,
    settings: Settings,
    *,
    clock: Clock = utcnow,
    transport_factory: Callable[[Settings], Transport] = open_transport,
    wave_id: int | None = None,
    invitations: bool = True,
    reminders: bool = True,
    actor: str = SENDER_ACTOR,
) -> RunReport:
    """Settle what dead senders left, plan what is due, send it."""
    with session_scope(engine) as session:
        recovered = recover_abandoned(session, at=clock())
    with session_scope(engine) as session:
        planned = plan_due(
            session, at=clock(), wave_id=wave_id, invitations=invitations, reminders=reminders
        )
    kinds = tuple(
        kind for kind, wanted in (("invitation", invitations), ("reminder", reminders)) if wanted
    )
    sent = send_due(
        engine,
        settings,
        clock=clock,
        transport_factory=transport_factory,
        wave_id=wave_id,
        kinds=kinds,
        actor=actor,
    )
    return RunReport(recovered, planned, sent)
