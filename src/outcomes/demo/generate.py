"""``generate_demo``: write the demo institution into an empty, migrated database.

Shared rows (programmes, instrument versions, waves) go first; then learners in chunks of
``CHUNK_SIZE``, each chunk drawn vectorised and inserted with Core ``executemany`` in one
transaction. Same seed and size → the same database content (staff password hashes and
audit timestamps aside, which are salted / taken at run time by design).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import select

from outcomes import audit
from outcomes.demo.answer_key import AnswerKeyBuilder, write_answer_key
from outcomes.demo.chunk import Context, IdCounter, build_chunk
from outcomes.demo.fieldwork import plan_waves
from outcomes.demo.people import make_name_pools
from outcomes.demo.spec import INSTRUMENT_KEYS, InstitutionSpec, load_institution
from outcomes.demo.staff_accounts import DEMO_ACTOR, create_demo_staff
from outcomes.demo.writer import DEMO_TABLES, insert, next_ids, rows_in, sync_sequences
from outcomes.errors import IntegrityProblem
from outcomes.instruments import load_shipped
from outcomes.store.engine import session_scope
from outcomes.store.freshness import bulk_load
from outcomes.store.instrument_versions import ensure_instrument_version
from outcomes.store.tables import InstrumentVersion

CHUNK_SIZE = 20_000
Progress = Callable[[str, int, int], None]


class DemoDatabaseNotEmpty(IntegrityProblem):
    """The demo is only written into an empty database."""


@dataclass(frozen=True)
class DemoSummary:
    """What ``generate_demo`` wrote, and the planted truth (the answer key)."""

    learners: int
    seed: int
    counts: dict[str, int]
    answer_key: dict[str, Any]
    staff_emails: dict[str, str]

    def write_answer_key(self, path: Path) -> Path:
        """Write the answer key as JSON to ``path``."""
        return write_answer_key(self.answer_key, path)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)


@dataclass(frozen=True)
class _SharedIds:
    programme_ids: np.ndarray
    wave_ids: dict[tuple[int, int], int]
    version_ids: dict[int, int]


def _instrument_versions(engine: Engine, created_at: dt.datetime) -> dict[int, int]:
    """The stored version of each shipped instrument (months → id), added when missing."""
    version_ids: dict[int, int] = {}
    with session_scope(engine) as session:
        for months, key in INSTRUMENT_KEYS.items():
            instrument = load_shipped(key)
            known = session.exec(
                select(InstrumentVersion.id).where(
                    InstrumentVersion.instrument_key == instrument.id,
                    InstrumentVersion.content_hash == instrument.content_hash,
                )
            ).first()
            version = ensure_instrument_version(session, instrument)
            if known is None:
                version.created_at = created_at  # a fixed time keeps the content reproducible
            assert version.id is not None
            version_ids[months] = version.id
    return version_ids


def _shared_rows(engine: Engine, spec: InstitutionSpec, ids: IdCounter) -> _SharedIds:
    """Programmes, instrument versions and waves: the rows every chunk refers to."""
    institution = spec.institution
    first_day = min(n.from_ for n in institution.privacy_notices)
    version_ids = _instrument_versions(engine, _at(first_day))
    programme_ids = ids.take("programme", len(spec.programmes))
    programmes = [
        {
            "id": int(pid),
            **p.programme_fields(
                awarding_body=institution.awarding_body, country=institution.country
            ),
            "achievement_id": f"https://credentials.example.org/achievements/{p.code.lower()}",
        }
        for pid, p in zip(programme_ids, spec.programmes, strict=True)
    ]
    waves = []
    wave_ids: dict[tuple[int, int], int] = {}
    for plan in plan_waves(spec):
        wave_id = ids.take_one("survey_wave")
        wave_ids[(plan.award_year, plan.months)] = wave_id
        waves.append(
            {
                "id": wave_id,
                "name": plan.name,
                "instrument_version_id": version_ids[plan.months],
                "months_after_award": plan.months,
                "cohort_start": plan.cohort_start,
                "cohort_end": plan.cohort_end,
                "programme_id": None,
                "opens_on": plan.opens_on,
                "closes_on": plan.closes_on,
                "status": plan.status,
                "launched_at": _at(plan.opens_on),
            }
        )
    with engine.begin() as connection:
        insert(connection, "programme", programmes)
        insert(connection, "survey_wave", waves)
    return _SharedIds(programme_ids, wave_ids, version_ids)


def generate_demo(
    engine: Engine,
    *,
    learners: int,
    seed: int,
    progress: Progress | None = None,
    demo_staff_key: str | None = None,
    spec: InstitutionSpec | None = None,
) -> DemoSummary:
    """Write the demo institution with ``learners`` learners into an empty, migrated database.

    Demo staff accounts (one per role) are created only when ``demo_staff_key`` is given:
    pass ``demo_staff_key(settings)``, which is None outside demo mode. Their passwords are
    ``demo_passwords(demo_staff_key)``.
    """
    if learners < 1:
        raise IntegrityProblem("The demo needs at least one learner.")
    if rows_in(engine):
        raise DemoDatabaseNotEmpty(
            "The database already holds learners or credentials: the demo is only written "
            "into an empty database (use 'outcomes seed --reset' to replace its contents)."
        )
    spec = spec or load_institution()
    report = progress or (lambda stage, done, total: None)
    with engine.connect() as connection:
        ids = IdCounter(next_ids(connection))
    shared = _shared_rows(engine, spec, ids)
    context = Context(
        spec=spec,
        pools=make_name_pools(seed),
        programme_ids=shared.programme_ids,
        wave_ids=shared.wave_ids,
        instrument_version_ids=shared.version_ids,
    )
    key = AnswerKeyBuilder(spec, seed=seed, learners=learners)
    counts = dict.fromkeys(DEMO_TABLES, 0)
    counts["programme"] = len(spec.programmes)
    counts["survey_wave"] = len(shared.wave_ids)
    counts["instrument_version"] = len(set(shared.version_ids.values()))
    report("learners", 0, learners)
    # No per-row marks for the analysis table while loading: it is rebuilt once at the end.
    with bulk_load(engine):
        for number, start in enumerate(range(0, learners, CHUNK_SIZE)):
            n = min(CHUNK_SIZE, learners - start)
            rng = np.random.default_rng([seed, number])
            chunk = build_chunk(rng, context, ids, key, first_number=start + 1, n=n)
            with engine.begin() as connection:
                for table in DEMO_TABLES:
                    counts[table] += insert(connection, table, chunk.tables.get(table, []))
            report("learners", start + n, learners)
        with engine.begin() as connection:
            sync_sequences(connection)
        # Fresh planner statistics after a bulk load: without them PostgreSQL sizes its hash
        # joins from empty-table estimates. (On SQLite, statistics lead the planner to walk
        # the invitation table in index order, twice as slow for the analysis queries: none
        # there.) Only the loaded tables: a bare ANALYZE visits every schema of the database
        # and can deadlock with another schema's TRUNCATE.
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE " + ", ".join(DEMO_TABLES))
                connection.commit()
    staff: dict[str, str] = {}
    if demo_staff_key is not None:
        staff = create_demo_staff(
            engine, secret_key=demo_staff_key, domain=spec.institution.staff_email_domain
        )
    with session_scope(engine) as session:
        audit.record(
            session,
            actor=DEMO_ACTOR,
            action="demo.generated",
            detail={"learners": learners, "seed": seed, "counts": counts},
        )
    return DemoSummary(learners, seed, counts, key.build(), staff)
