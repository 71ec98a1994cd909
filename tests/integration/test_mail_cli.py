"""The outbox as operators run it: ``outcomes fieldwork run``, ``invite``, ``remind`` as commands.

The sender is a real subprocess against a real SMTP server (aiosmtpd, in this process, keeping
its own log); one is killed with SIGKILL in the middle of a batch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from starlette.testclient import TestClient

from outcomes.config import Settings
from outcomes.fieldwork.outbox import CHUNK
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, MailMessage, SurveyWave, utcnow
from outcomes.web.server import middleware
from outcomes.web.survey.routes import SurveyRoutes
from tests import factories
from tests.conftest import TEST_SECRET_KEY
from tests.integration.test_cli import cli_env, outcomes
from tests.mail_server import RecordingHandler, smtp_server


@pytest.fixture
def server() -> Iterator[tuple[int, RecordingHandler]]:
    with smtp_server() as running:
        yield running


def env_for(database_url: str, port: int, **extra: str) -> dict[str, str]:
    return cli_env(
        database_url,
        OUTCOMES_SMTP_HOST="127.0.0.1",
        OUTCOMES_SMTP_PORT=str(port),
        OUTCOMES_SMTP_SENDER="outcomes@uni.example",
        OUTCOMES_PUBLIC_BASE_URL="http://localhost",
        **extra,
    )


def invite(engine: Engine, count: int, **wave: object) -> int:
    """An open wave (around the real today) with ``count`` unsent invitations; its id."""
    with session_scope(engine) as session:
        record = factories.mail_wave(session, today=utcnow().date(), **wave)  # type: ignore[arg-type]
        for number in range(count):
            factories.wave_invitation(session, record, email=f"g{number:03d}@x.org")
        assert record.id is not None
        return record.id


def messages(engine: Engine) -> dict[str, MailMessage]:
    """Each invitation's first message, by the graduate's address."""
    from outcomes.store.tables import Invitation, LearnerIdentity

    with session_scope(engine) as session:
        rows = session.exec(
            select(LearnerIdentity.email, MailMessage)
            .join(Invitation, Invitation.id == MailMessage.invitation_id)  # type: ignore[arg-type]
            .join(LearnerIdentity, LearnerIdentity.learner_id == Invitation.learner_id)  # type: ignore[arg-type]
        ).all()
    return {address: message for address, message in rows}


@pytest.mark.slow
def test_a_sender_killed_mid_batch_and_run_again_sends_nobody_twice_and_loses_only_the_uncertain(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler]
) -> None:
    port, handler = server
    handler.delay = 0.03  # a slow server: the kill lands while messages are being handed over
    count = 3 * CHUNK + 20
    invite(engine, count)
    env = env_for(database_url, port, OUTCOMES_MAIL_BATCH_SIZE="200")
    sender = subprocess.Popen(
        [sys.executable, "-m", "outcomes", "fieldwork", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(handler.recipients()) < CHUNK + 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(sender.pid, signal.SIGKILL)
    sender.wait(timeout=10)
    accepted_before = Counter(handler.recipients())
    assert CHUNK + 10 <= sum(accepted_before.values()) < count, "killed in the middle"

    rerun = outcomes("fieldwork", "run", "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)

    log = Counter(handler.recipients())
    outbox = messages(engine)
    assert len(outbox) == count
    assert max(log.values()) == 1, "the server never received anything twice"
    statuses = Counter(message.status for message in outbox.values())
    assert set(statuses) <= {"sent", "uncertain"}
    for address, message in outbox.items():
        if message.status == "sent":
            assert log[address] == 1, address
        else:  # uncertain: handed over when the sender died, never resent
            assert log[address] == accepted_before[address] <= 1, address
    # At most two chunks were marked sending (one being handed over) when the sender died.
    assert 1 <= statuses["uncertain"] <= 2 * CHUNK
    assert report["recovered"]["uncertain"] == statuses["uncertain"]
    assert set(log) - set(outbox) == set()


@pytest.mark.slow
def test_two_runs_at_once_as_commands_never_send_a_message_twice(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler]
) -> None:
    port, handler = server
    handler.delay = 0.01
    invite(engine, 50)
    env = env_for(database_url, port, OUTCOMES_MAIL_BATCH_SIZE="5")
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "outcomes", "fieldwork", "run", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        reports.append(json.loads(out))
    assert Counter(handler.recipients()) == Counter(f"g{n:03d}@x.org" for n in range(50))
    assert sum(r["sent"]["sent"] for r in reports) == 50
    assert {m.status for m in messages(engine).values()} == {"sent"}


def test_fieldwork_run_prints_what_it_did(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler]
) -> None:
    invite(engine, 3)
    env = env_for(database_url, server[0])
    done = outcomes("fieldwork", "run", env=env)
    assert done.returncode == 0, done.stderr
    assert "Planned 3 invitation(s) and 0 reminder(s)." in done.stdout
    assert "Sent 3;" in done.stdout
    again = outcomes("fieldwork", "run", "--json", env=env)
    assert json.loads(again.stdout)["planned"] == {"invitations": 0, "reminders": 0}
    assert len(server[1].recipients()) == 3


def test_invite_queues_then_sends_and_remind_sends_only_what_the_plan_allows(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler]
) -> None:
    wave = invite(engine, 2)
    env = env_for(database_url, server[0])
    queued = outcomes("invite", str(wave), env=env)
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.startswith("Queued 2 invitation(s) of wave")
    assert server[1].recipients() == []
    sent = outcomes("invite", str(wave), "--send", "--json", env=env)
    assert json.loads(sent.stdout)["sent"]["sent"] == 2
    reminded = outcomes("remind", str(wave), "--json", env=env)
    assert json.loads(reminded.stdout)["planned"]["reminders"] == 0, "the gap has not passed"
    missing = outcomes("remind", "999", env=env)
    assert missing.returncode != 0
    assert missing.stderr.strip() == "Error: No survey wave with id 999."


def test_print_links_mints_working_links_for_a_mail_merge_and_the_outbox_leaves_them_alone(
    engine: Engine, database_url: str, server: tuple[int, RecordingHandler]
) -> None:
    wave = invite(engine, 3)
    env = env_for(database_url, server[0])
    printed = outcomes("invite", str(wave), "--print-links", env=env)
    assert printed.returncode == 0, printed.stderr
    urls = printed.stdout.split()
    assert len(urls) == 3 and all(url.startswith("http://localhost/s/") for url in urls)
    assert "earlier link of each invitation no longer opens" in printed.stderr

    settings = Settings(
        database_url=database_url, secret_key=TEST_SECRET_KEY, public_base_url="http://localhost"
    )
    app = SurveyRoutes(settings, engine).routes()
    from starlette.applications import Starlette

    client = TestClient(
        Starlette(routes=app, middleware=middleware(settings)), base_url="http://localhost"
    )
    assert client.get(urls[0].removeprefix("http://localhost")).status_code == 200

    run = outcomes("fieldwork", "run", "--json", env=env)
    assert json.loads(run.stdout)["planned"]["invitations"] == 0
    assert server[1].recipients() == []
    assert client.get(urls[1].removeprefix("http://localhost")).status_code == 200
    with session_scope(engine) as session:
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "invitation.links_printed")
        ).all()
        assert event.detail == {"links": 3, "replaced_sent_links": 0}
        wave_row = session.get(SurveyWave, wave)
        assert wave_row is not None
