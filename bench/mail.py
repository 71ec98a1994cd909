"""Sending a wave's invitations through the outbox, against a bare smtplib loop.

``invitations`` unsent invitations of one open wave, in a SQLite file; an aiosmtpd sink that
discards every message runs in a process of its own (so the server's work does not share
this process's interpreter lock). No rate limit.

*Ours*: ``sending.run_fieldwork`` — plan the invitations, claim batches, mint a token per
message, compose it, mark it ``sending``, hand it over, mark it ``sent`` — everything
``outcomes fieldwork run`` does. *Floor*: the same number of messages, composed beforehand,
sent by a bare ``smtplib`` loop (``sendmail`` over one connection) to the same sink: the
least the SMTP conversation itself costs.

    python bench/mail.py --invitations 50000
    python bench/mail.py --invitations 5000 --profile    # where our time goes
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
SENDER = "outcomes@uni.example"


@dataclass(frozen=True)
class Timing:
    """Seconds for ours and the floor, and the number of messages each sent."""

    messages: int
    ours: float
    floor: float

    @property
    def per_second(self) -> float:
        """Our messages per second."""
        return self.messages / self.ours


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sink() -> Iterator[int]:
    """An aiosmtpd server that accepts and discards, in a subprocess: its port."""
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def populate(engine: sa.Engine, invitations: int, today: dt.date) -> int:
    """One open wave with ``invitations`` unsent invitations, written in bulk; the wave's id."""
    sys.path.insert(0, str(ROOT))
    from tests import factories

    from outcomes.store.engine import session_scope
    from outcomes.store.tables import (
        Enrolment,
        Invitation,
        Learner,
        LearnerIdentity,
    )

    with session_scope(engine) as session:
        wave = factories.mail_wave(session, today=today)
        programme_id = session.execute(sa.text("SELECT id FROM programme")).scalar_one()
        wave_id = wave.id
    assert wave_id is not None
    now = dt.datetime.now(dt.UTC)
    learner, identity = Learner.__table__, LearnerIdentity.__table__  # type: ignore[attr-defined]
    enrolment, invitation = Enrolment.__table__, Invitation.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            learner.insert(),
            [
                {
                    "id": n,
                    "ref": str(uuid.UUID(int=n)),
                    "preferred_language": "en",
                    "created_at": now,
                }
                for n in range(1, invitations + 1)
            ],
        )
        conn.execute(
            identity.insert(),
            [
                {
                    "learner_id": n,
                    "given_name": "Ana" if n % 2 else "Luis",
                    "family_name": "Ruiz",
                    "email": f"graduate{n}@example.org",
                }
                for n in range(1, invitations + 1)
            ],
        )
        conn.execute(
            enrolment.insert(),
            [
                {
                    "id": n,
                    "learner_id": n,
                    "programme_id": programme_id,
                    "started_on": dt.date(2024, 1, 10),
                    "ended_on": dt.date(2024, 6, 30),
                    "status": "completed",
                }
                for n in range(1, invitations + 1)
            ],
        )
        conn.execute(
            invitation.insert(),
            [
                {
                    "wave_id": wave_id,
                    "learner_id": n,
                    "enrolment_id": n,
                    "token_hash": uuid.uuid4().hex * 2,
                    "expires_at": now + dt.timedelta(days=60),
                    "language": "es" if n % 3 == 0 else "en",
                    "reminders": 0,
                }
                for n in range(1, invitations + 1)
            ],
        )
    return wave_id


def prepared_messages(settings: object, invitations: int) -> list[tuple[str, bytes]]:
    """The floor's messages: composed beforehand, as the outbox composes them."""
    from outcomes.fieldwork.links import new_token, opt_out_url, survey_url
    from outcomes.fieldwork.mail import Recipient, Templates

    templates = Templates(settings)  # type: ignore[arg-type]
    at = dt.datetime.now(dt.UTC)
    closes = at.date() + dt.timedelta(days=60)
    out = []
    for n in range(1, invitations + 1):
        language = "es" if n % 3 == 0 else "en"
        programme = "Analítica de datos" if language == "es" else "Data Analytics"
        token = new_token()
        recipient = Recipient(
            f"graduate{n}@example.org",
            "Ana",
            survey_url(settings, token),  # type: ignore[arg-type]
            opt_out_url(settings, token),  # type: ignore[arg-type]
        )
        template = templates.get(
            kind="invitation", language=language, programme=programme, closes_on=closes
        )
        composed, _, _ = template.compose(recipient, at=at)
        out.append((composed.to, composed.data))
    return out


def floor_send(port: int, prepared: list[tuple[str, bytes]]) -> float:
    """A bare smtplib loop over one connection: seconds."""
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for to, data in prepared:
            smtp.sendmail(SENDER, [to], data)
    return time.perf_counter() - start


def measure(invitations: int, *, profile: bool = False, database_url: str | None = None) -> Timing:
    """Ours and the floor for ``invitations`` messages."""
    from outcomes.config import Settings
    from outcomes.fieldwork import sending
    from outcomes.store.engine import make_engine
    from outcomes.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp, sink() as port:
        url = database_url or f"sqlite:///{tmp}/mail.db"
        engine = make_engine(url)
        upgrade(engine)
        settings = Settings(
            database_url=url,
            secret_key=SECRET,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_sender=SENDER,
            public_base_url="https://outcomes.uni.example",
            institution_name="Demo University",
            mail_batch_size=500,
        )
        populate(engine, invitations, dt.date.today())
        prepared = prepared_messages(settings, invitations)
        floor = floor_send(port, prepared)
        profiler = cProfile.Profile() if profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        report = sending.run_fieldwork(engine, settings)
        if profiler:
            profiler.disable()
        ours = time.perf_counter() - start
        engine.dispose()
        # The floor again, after ours: the faster of the two (the machine is shared).
        floor = min(floor, floor_send(port, prepared))
        assert report.sent.sent == invitations, report
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return Timing(invitations, ours, floor)


def main(argv: list[str] | None = None) -> int:
    """Print ours, the floor and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    timing = measure(args.invitations, profile=args.profile)
    print(
        f"{timing.messages:,} messages: ours {timing.ours:.2f} s ({timing.per_second:.0f}/s), "
        f"floor {timing.floor:.2f} s ({timing.messages / timing.floor:.0f}/s), "
        f"ratio {timing.ours / timing.floor:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
