"""Survey section save and final submit: server time at 100,000 stored responses.

Graduates answer the 6-month follow-up through the survey's HTTP routes, in process
(Starlette's TestClient: the request, the route, the service, the database, the redirect —
everything the server does, without a network), into a database that already holds
``responses`` complete responses. Each request is timed on its own; the report gives
p50 / p95 / p99 of the section saves and of the final submits.

The floor is the least write that stores a section: one UPDATE of the response's answers and
one INSERT of its revision, in one transaction, on the same database, timed the same way.
The issue's budget is 50 ms at the 95th percentile, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
NOW = dt.datetime(2025, 2, 1, 12, 0, tzinfo=dt.UTC)
CHUNK = 5_000
WARM_UP = 3  # graduates answered before the timing starts (caches, connection pool)

ANSWERS = {
    "activity": "employed",
    "hours": 38,
    "pay": {"amount": 2400.0, "currency": "EUR", "period": "monthly"},
    "job_title": "Analyst",
    "occupation": "2",
    "industry": "J",
    "had_job_before": False,
    "months_to_job": 2,
    "related": 4,
    "voice_meaningful": 4,
    "voice_future": 5,
    "voice_skills": 3,
    "satisfaction": 5,
    "recommend": 9,
}
SECTIONS = {
    "activity": {"activity": "employed"},
    "job": {
        "hours": "38",
        "pay.amount": "2400",
        "pay.currency": "EUR",
        "pay.period": "monthly",
        "employer": "Acme",
        "job_title": "Analyst",
        "occupation": "2",
        "industry": "J",
        "had_job_before": "no",
        "months_to_job": "2",
        "related": "4",
    },
    "voice": {"voice_meaningful": "4", "voice_future": "5", "voice_skills": "3"},
    "course": {"satisfaction": "5", "recommend": "9", "comments": "Good course."},
}


@dataclass(frozen=True)
class Timings:
    """Per-request server times, in seconds."""

    saves: list[float]
    submits: list[float]
    floor: list[float]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear between ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL at ``base``, dropped afterwards."""
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _fill(engine: sa.Engine, wave_id: int, programme_id: int, version_id: int, n: int) -> None:
    """``n`` graduates who have already answered (complete responses and revisions)."""
    from outcomes.store.freshness import bulk_load
    from outcomes.store.tables import (
        Enrolment,
        Invitation,
        Learner,
        Response,
        ResponseRevision,
    )

    tables = [m.__table__ for m in (Learner, Enrolment, Invitation, Response, ResponseRevision)]  # type: ignore[attr-defined]
    learner, enrolment, invitation, response, revision = tables
    with bulk_load(engine):
        for start in range(0, n, CHUNK):
            ids = range(start + 1, min(start + CHUNK, n) + 1)
            with engine.begin() as conn:
                conn.execute(
                    learner.insert(),
                    [{"id": i, "ref": str(uuid.UUID(int=i)), "created_at": NOW} for i in ids],
                )
                conn.execute(
                    enrolment.insert(),
                    [
                        {
                            "id": i,
                            "learner_id": i,
                            "programme_id": programme_id,
                            "started_on": dt.date(2024, 1, 10),
                            "ended_on": dt.date(2024, 6, 30),
                            "status": "completed",
                        }
                        for i in ids
                    ],
                )
                conn.execute(
                    invitation.insert(),
                    [
                        {
                            "id": i,
                            "wave_id": wave_id,
                            "learner_id": i,
                            "enrolment_id": i,
                            "token_hash": f"{i:064x}",
                            "expires_at": NOW + dt.timedelta(days=30),
                            "language": "en",
                            "reminders": 0,
                            "sent_at": NOW - dt.timedelta(days=5),
                            "submitted_at": NOW - dt.timedelta(days=1),
                        }
                        for i in ids
                    ],
                )
                conn.execute(
                    response.insert(),
                    [
                        {
                            "id": i,
                            "invitation_id": i,
                            "instrument_version_id": version_id,
                            "answers": ANSWERS,
                            "language": "en",
                            "status": "complete",
                            "revision": 1,
                            "progress": {"notice": "2026-01", "saved": list(SECTIONS)},
                            "started_at": NOW - dt.timedelta(days=2),
                            "updated_at": NOW - dt.timedelta(days=1),
                            "submitted_at": NOW - dt.timedelta(days=1),
                        }
                        for i in ids
                    ],
                )
                conn.execute(
                    revision.insert(),
                    [
                        {
                            "response_id": i,
                            "revision": 1,
                            "answers": ANSWERS,
                            "status": "complete",
                            "saved_at": NOW - dt.timedelta(days=1),
                        }
                        for i in ids
                    ],
                )
    if engine.dialect.name == "sqlite":
        # The fill left a large write-ahead log: fold it into the database now, as the
        # server's own checkpoints would have long before, so the timed requests do not pay
        # for the benchmark's bulk load.
        raw = engine.raw_connection()  # outside any transaction: a checkpoint needs that
        try:
            cursor = raw.cursor()
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for name in ("learner", "enrolment", "invitation", "response", "response_revision"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
            conn.exec_driver_sql("ANALYZE")


def _prepare(url: str, responses: int, graduates: int) -> tuple[sa.Engine, list[str]]:
    """A migrated database with ``responses`` answers stored and ``graduates`` links to use."""
    from outcomes.config import Settings
    from outcomes.fieldwork.links import new_token, token_hash
    from outcomes.instruments.registry import load_shipped
    from outcomes.store.engine import make_engine, session_scope
    from outcomes.store.instrument_versions import ensure_instrument_version
    from outcomes.store.migrate import upgrade
    from outcomes.store.tables import (
        Enrolment,
        Invitation,
        Learner,
        LearnerIdentity,
        Programme,
        SurveyWave,
    )

    engine = make_engine(url)
    upgrade(engine)
    settings = Settings(database_url=url, secret_key=SECRET)
    with session_scope(engine) as session:
        version = ensure_instrument_version(session, load_shipped("follow-up-6m"))
        programme = Programme(
            code="BENCH",
            title="Benchmark programme",
            awarding_body="Bench University",
            issuer_country="ES",
            learning_outcomes="-",
            ects=6,
            eqf_level=6,
            assessment_type="application_of_a_skill",
            participation_form="online",
            quality_assurance_type="internal",
            quality_assurance="internal",
            field_of_study="0613",
        )
        session.add(programme)
        session.flush()
        wave = SurveyWave(
            name="bench wave",
            instrument_version_id=version.id,
            months_after_award=6,
            cohort_start=dt.date(2024, 1, 1),
            cohort_end=dt.date(2024, 12, 31),
            opens_on=NOW.date() - dt.timedelta(days=10),
            closes_on=NOW.date() + dt.timedelta(days=60),
            status="open",
        )
        session.add(wave)
        session.flush()
        ids = (wave.id, programme.id, version.id)
    assert all(i is not None for i in ids)
    _fill(engine, ids[0], ids[1], ids[2], responses)  # type: ignore[arg-type]
    tokens = []
    with session_scope(engine) as session:
        for k in range(graduates):
            learner = Learner(ref=str(uuid.uuid4()))
            session.add(learner)
            session.flush()
            session.add(
                LearnerIdentity(
                    learner_id=learner.id,
                    given_name="G",
                    family_name=str(k),
                    email=f"g{k}@example.org",
                )
            )
            enrolment = Enrolment(
                learner_id=learner.id,
                programme_id=ids[1],
                started_on=dt.date(2024, 1, 10),
                ended_on=dt.date(2024, 6, 30),
                status="completed",
            )
            session.add(enrolment)
            session.flush()
            token = new_token()
            session.add(
                Invitation(
                    wave_id=ids[0],
                    learner_id=learner.id,
                    enrolment_id=enrolment.id,
                    token_hash=token_hash(settings, token),
                    expires_at=NOW + dt.timedelta(days=30),
                )
            )
            tokens.append(token)
    return engine, tokens


def _time_graduates(engine: sa.Engine, url: str, tokens: list[str]) -> Timings:
    import re

    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from outcomes.config import Settings
    from outcomes.web.survey.routes import SurveyRoutes

    settings = Settings(database_url=url, secret_key=SECRET)
    routes = Starlette(routes=SurveyRoutes(settings, engine, clock=lambda: NOW).routes())
    served: list[float] = []

    async def timed(scope, receive, send):  # type: ignore[no-untyped-def]
        # Server time: from the request reaching the app to the last byte of its response.
        start = time.perf_counter()
        await routes(scope, receive, send)
        served.append(time.perf_counter() - start)

    csrf = re.compile(r'name="csrf" value="([^"]+)"')
    saves: list[float] = []
    submits: list[float] = []
    for number, token in enumerate(tokens):
        if number == WARM_UP:
            saves.clear()
            submits.clear()
        with TestClient(timed, follow_redirects=False) as client:
            client.get(f"/s/{token}")
            page = client.get("/survey").text
            client.post("/survey/start", data={"csrf": csrf.findall(page)[0], "action": "start"})
            form_token = csrf.findall(client.get("/survey").text)[0]
            for section, fields in SECTIONS.items():
                reply = client.post(
                    f"/survey/section/{section}",
                    data={"csrf": form_token, "nav": "next", **fields},
                )
                saves.append(served[-1])
                assert reply.status_code == 303, (section, reply.status_code)
            reply = client.post("/survey/submit", data={"csrf": form_token})
            submits.append(served[-1])
            assert reply.headers["location"] == "/survey/done", reply.headers.get("location")
    return Timings(saves, submits, _floor(engine, len(saves)))


def _floor(engine: sa.Engine, n: int) -> list[float]:
    """The least write that stores a section: UPDATE answers + INSERT revision, committed."""
    timings = []
    payload = json.dumps(ANSWERS)
    for k in range(n):
        response_id = 1 + (k * 7919) % 1000
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE response SET answers = :a, revision = revision + 1 WHERE id = :i"),
                {"a": payload, "i": response_id},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO response_revision (response_id, revision, answers, status, "
                    "saved_at) SELECT id, revision, answers, status, :t FROM response "
                    "WHERE id = :i"
                ),
                {"i": response_id, "t": NOW},
            )
        timings.append(time.perf_counter() - start)
    return timings


def measure(url: str, *, responses: int, graduates: int) -> Timings:
    """Fill a database at ``url`` and time ``graduates`` answering through the routes."""
    engine, tokens = _prepare(url, responses, graduates)
    try:
        return _time_graduates(engine, url, tokens)
    finally:
        engine.dispose()


def summary(timings: Timings) -> dict[str, float]:
    """p50 / p95 / p99 in milliseconds."""
    out: dict[str, float] = {}
    for name, values in (
        ("save", timings.saves),
        ("submit", timings.submits),
        ("floor", timings.floor),
    ):
        for q in (50, 95, 99):
            out[f"{name}_p{q}_ms"] = round(percentile(values, q) * 1000, 2)
    out["save_mean_ms"] = round(statistics.fmean(timings.saves) * 1000, 2)
    return out
