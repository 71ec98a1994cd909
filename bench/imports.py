"""CSV import of credential records into SQLite: end to end against a bulk-insert floor.

``ours``: ``outcomes.records.csv_import`` end to end — detect the encoding and delimiter,
map the header, parse and validate every row, match learners, compare with the database and
write, in one transaction, with the analysis triggers lifted and the table rebuilt once.
``floor``: the same rows, already parsed into the tuples of the five tables outside the
timing, bulk-inserted with ``sqlite3.executemany`` into a database migrated the same way, in
one transaction, with the same triggers lifted. Each side runs in a fresh process, so its
peak memory (``ru_maxrss``) is its own.

The issue's targets: ≥ 50,000 rows/s end to end at 1,000,000 rows, within 2× of the floor,
peak memory under 1 GB.

    python bench/imports.py --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 20260601
PROGRAMMES = ("MC-DATA", "MC-CYBER", "MC-PM", "MC-DIGMKT", "MC-SUSBIZ", "MC-UX", "MC-CLOUD")
HEADER = (
    "Student Number",
    "First Name",
    "Surname",
    "Email Address",
    "Programme",
    "Start Date",
    "Completion Date",
    "Credential ID",
    "Grade",
)


def write_csv(path: Path, rows: int, seed: int = SEED) -> None:
    """A registry export of ``rows`` awards: about 1.4 awards per learner, synonyms headers."""
    rng = random.Random(seed)
    learners = max(1, int(rows / 1.4))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        start = dt.date(2021, 1, 4)
        for number in range(rows):
            who = number % learners
            begun = start + dt.timedelta(days=rng.randrange(1400))
            ended = begun + dt.timedelta(days=rng.randrange(40, 120))
            writer.writerow(
                (
                    f"UE-{who:08d}",
                    f"Given{who}",
                    f"Family Ñandú {who}",
                    f"learner{who}@alumni.example",
                    PROGRAMMES[(who + number // learners) % len(PROGRAMMES)],
                    begun.isoformat(),
                    ended.isoformat(),
                    f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
                    f"{rng.uniform(5, 10):.1f}",
                )
            )


def _database(directory: Path) -> tuple[str, object]:
    """A migrated database with the bench's programmes: a SQLite file in ``directory``, or a
    fresh schema of ``BENCH_DATABASE_URL`` (PostgreSQL), dropped by :func:`_drop_schema`."""
    import os

    import sqlalchemy as sa

    from outcomes.store.engine import make_engine, session_scope
    from outcomes.store.migrate import upgrade
    from outcomes.store.tables import Programme

    base = os.environ.get("BENCH_DATABASE_URL")
    if base:
        schema = f"bench_import_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = (
            sa.make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    else:
        url = f"sqlite:///{directory / 'outcomes.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        for code in PROGRAMMES:
            session.add(
                Programme(
                    code=code,
                    title=code,
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
            )
    return url, engine


def child_ours(csv_path: Path, directory: Path) -> dict[str, float]:
    """The product's import, end to end, timed in this process."""
    from outcomes.records.csv_import import import_csv_files, open_csv

    _, engine = _database(directory)
    start = time.perf_counter()
    file = open_csv(csv_path)
    result = import_csv_files(engine, [file], actor="bench")  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    assert result.report.written, result.report.sentence()
    _drop_schema(engine)
    return {"seconds": seconds, "added": result.report.summary.added}


def _drop_schema(engine: object) -> None:
    import sqlalchemy as sa

    url = engine.url  # type: ignore[attr-defined]
    engine.dispose()  # type: ignore[attr-defined]
    if url.get_backend_name() != "postgresql":
        return
    schema = url.query["options"].removeprefix("-csearch_path=")
    admin = sa.create_engine(url.difference_update_query(["options"]), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def child_floor(csv_path: Path, directory: Path) -> dict[str, float]:
    """The same rows parsed (untimed) into the five tables' tuples, then bulk-inserted."""
    import sqlite3

    from outcomes.records.importing import SQLITE_CACHE_KIB
    from outcomes.store.freshness import create_triggers, drop_triggers

    url, engine = _database(directory)
    codes = {code: number + 1 for number, code in enumerate(PROGRAMMES)}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    learners, identities, externals, enrolments, credentials = [], [], [], [], []
    by_student: dict[str, int] = {}
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        for student, given, family, email, code, begun, ended, cid, grade in reader:
            learner_id = by_student.get(student)
            if learner_id is None:
                learner_id = by_student[student] = len(by_student) + 1
                learners.append(
                    (learner_id, str(uuid.uuid4()), "en", "unknown", "unknown", "unknown", now)
                )
                identities.append((learner_id, given, family, email))
                externals.append((learner_id, learner_id, "student_id", student))
            enrolment_id = len(enrolments) + 1
            enrolments.append((enrolment_id, learner_id, codes[code], begun, ended, "completed"))
            credentials.append(
                (
                    enrolment_id,
                    learner_id,
                    codes[code],
                    enrolment_id,
                    ended,
                    cid,
                    grade,
                    "active",
                    None,
                    "csv",
                )
            )
    tables = (
        (
            "learner",
            "id, ref, preferred_language, gender, prior_education, baseline_employment, created_at",
            learners,
        ),
        ("learner_identity", "learner_id, given_name, family_name, email", identities),
        ("learner_external_id", "id, learner_id, scheme, value", externals),
        ("enrolment", "id, learner_id, programme_id, started_on, ended_on, status", enrolments),
        (
            "credential",
            "id, learner_id, programme_id, enrolment_id, issued_on, external_id, "
            "grade, status, revoked_on, source",
            credentials,
        ),
    )
    if url.startswith("postgresql"):
        seconds = _floor_postgresql(engine, tables)
        _drop_schema(engine)
        return {"seconds": seconds, "added": len(credentials)}
    path = url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # as the import does
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    for statement in drop_triggers("sqlite"):
        connection.execute(statement)
    for table, columns, rows in tables:
        marks = ", ".join("?" for _ in columns.split(","))
        connection.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    for statement in create_triggers("sqlite"):
        connection.execute(statement)
    connection.execute("COMMIT")
    seconds = time.perf_counter() - start
    connection.close()
    return {"seconds": seconds, "added": len(credentials)}


def _floor_postgresql(engine: object, tables: tuple[tuple[str, str, list], ...]) -> float:
    """COPY the parsed rows into the five tables in one transaction, triggers lifted."""
    from outcomes.store.freshness import create_triggers, drop_triggers

    raw = engine.raw_connection()  # type: ignore[attr-defined]
    driver = raw.driver_connection
    start = time.perf_counter()
    with driver.cursor() as cursor:
        for statement in drop_triggers("postgresql"):
            cursor.execute(statement)
        for table, columns, rows in tables:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)
        for statement in create_triggers("postgresql"):
            cursor.execute(statement)
    driver.commit()
    seconds = time.perf_counter() - start
    raw.close()
    return seconds


def _run_child(kind: str, csv_path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--csv", str(csv_path), "--dir", tmp],
            check=True,
            capture_output=True,
            text=True,
            env={
                "PYTHONPATH": str(ROOT / "src"),
                "PATH": "/usr/bin:/bin",
                **({"BENCH_DATABASE_URL": DATABASE_URL[0]} if DATABASE_URL[0] else {}),
            },
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


DATABASE_URL: list[str | None] = [None]  # set by main / bench/run.py: PostgreSQL instead


def measure(rows: int, database_url: str | None = None) -> dict[str, float]:
    """Ours and the floor at ``rows`` rows: seconds, rows/s, ratio, peak memory (MB)."""
    DATABASE_URL[0] = database_url
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "awards.csv"
        write_csv(csv_path, rows)
        ours = _run_child("ours", csv_path)
        floor = _run_child("floor", csv_path)
    return {
        "rows": rows,
        "ours_seconds": ours["seconds"],
        "floor_seconds": floor["seconds"],
        "rows_per_second": rows / ours["seconds"],
        "ratio": ours["seconds"] / floor["seconds"],
        "peak_mb": ours["peak_mb"],
        "floor_peak_mb": floor["peak_mb"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", choices=["ours", "floor"])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--database-url", help="PostgreSQL (a schema per side) instead of SQLite")
    args = parser.parse_args(argv)
    if args.child:
        result = (child_ours if args.child == "ours" else child_floor)(args.csv, args.dir)
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return 0
    print(json.dumps(measure(args.rows, args.database_url), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
