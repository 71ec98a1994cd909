"""Benchmarks: speed as ratios against a floor measured in the same run.

Each benchmark times the product's own path and a *floor* — the least work that gives the
same answer (a hand-written SQL query, statsmodels called directly, a raw copy of the same
rows) — on the same machine, in the same run, and reports both and their ratio. Targets are
ratios (and the issue's absolute budgets, printed beside them), never assertions in tests.

    python bench/run.py                       # every benchmark at its default size
    python bench/run.py --only comparison     # one benchmark
    python bench/run.py --learners 50000      # a smaller demo database for the metrics
    python bench/run.py --only survey-page    # the survey page on emulated Fast 3G
    python bench/run.py --only survey         # section saves and submits at 100,000 answers
    python bench/run.py --only waves          # launching a wave of 200,000 graduates
    python bench/run.py --only mail           # 50,000 invitations through the outbox
    python bench/run.py --only import --import-rows 1000000   # the CSV import at 1 M rows
    python bench/run.py --only badges         # 10,000 Open Badges credentials in one zip

The demo database for the metrics benchmark is generated once and kept in var/bench/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
SEED = 20260601


@dataclass(frozen=True)
class Outcome:
    """One benchmark's result."""

    name: str
    size: str
    ours: float
    floor: float
    target_ratio: float | None  # None: the ratio is reported, the budget is the target
    budget_seconds: float | None

    @property
    def ratio(self) -> float:
        """Our time over the floor's."""
        return self.ours / self.floor

    def line(self) -> str:
        """A printable summary."""
        budget = "" if self.budget_seconds is None else f", budget {self.budget_seconds:g} s"
        if self.target_ratio is None:
            ok_ratio = "reported"
        else:
            ok_ratio = "ok" if self.ratio <= self.target_ratio else "OVER"
        ok_budget = (
            ""
            if self.budget_seconds is None
            else (" ok" if self.ours <= self.budget_seconds else " OVER BUDGET")
        )
        return (
            f"{self.name:<12} {self.size:<34} ours {self.ours:8.2f} s  floor {self.floor:8.2f} s  "
            f"ratio {self.ratio:5.2f} (target ≤ {self.target_ratio or '-'}: {ok_ratio}{budget}"
            f"{ok_budget})"
        )

    @property
    def met(self) -> bool:
        """Within the ratio target and the time budget (each where there is one)."""
        return (self.target_ratio is None or self.ratio <= self.target_ratio) and (
            self.budget_seconds is None or self.ours <= self.budget_seconds
        )


RESULTS = ROOT / "bench" / "results" / "latest.md"


def write_results(results: list[Outcome], argv: list[str]) -> Path:
    """Write ``bench/results/latest.md``: the run's table, with the machine and the command.

    Written by the run only (never by hand), so the README can quote a table a run produced.
    """
    import platform

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Benchmarks: the latest run",
        "",
        f"Written by `python bench/run.py {' '.join(argv)}`".rstrip() + f" on {when}.",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; load average {load:.1f} at the end of the run.",
        "",
        "| workload | size | ours (s) | floor (s) | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in results:
        target = []
        if r.target_ratio is not None:
            target.append(f"ratio ≤ {r.target_ratio:g}")
        if r.budget_seconds is not None:
            target.append(f"≤ {r.budget_seconds:g} s")
        lines.append(
            f"| {r.name} | {r.size} | {r.ours:.2f} | {r.floor:.2f} | {r.ratio:.2f} | "
            f"{', '.join(target) or 'reported'} | {'yes' if r.met else '**no**'} |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return RESULTS


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings (the least disturbed by other load)."""
    timings = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


# --- the demo generator ---------------------------------------------------------------------


def bench_generator(learners: int) -> Outcome:
    """generate_demo into a fresh SQLite file vs copying the same rows into another file."""
    from outcomes.demo import generate_demo
    from outcomes.store.engine import make_engine
    from outcomes.store.freshness import bulk_load
    from outcomes.store.migrate import upgrade
    from outcomes.store.tables import ANALYSIS_TABLES, IDENTITY_TABLES

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "generated.db"
        engine = make_engine(f"sqlite:///{source}")
        upgrade(engine)
        start = time.perf_counter()
        generate_demo(engine, learners=learners, seed=SEED)
        ours = time.perf_counter() - start
        engine.dispose()

        target = Path(tmp) / "copy.db"
        copy_engine = make_engine(f"sqlite:///{target}")
        upgrade(copy_engine)
        tables = [
            "programme",
            "instrument_version",
            *IDENTITY_TABLES,
            *ANALYSIS_TABLES,
            "response_revision",
        ]
        connection = sqlite3.connect(target, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"ATTACH DATABASE '{source}' AS generated")
        start = time.perf_counter()
        # The same answer includes the analysis table: loaded as the generator loads it.
        with bulk_load(copy_engine):
            connection.execute("BEGIN")
            for table in dict.fromkeys(tables):
                connection.execute(f"INSERT INTO main.{table} SELECT * FROM generated.{table}")
            connection.execute("COMMIT")
        floor = time.perf_counter() - start
        connection.close()
        copy_engine.dispose()
    # Simulating people, fieldwork and outcomes costs far more than writing the rows, so the
    # ratio to a raw copy is reported for tracking; the budget (2 minutes for
    # 200,000 learners) is the target.
    return Outcome("generator", f"{learners:,} learners", ours, floor, None, 120.0)


# --- the metrics panel ----------------------------------------------------------------------


def generator_fingerprint() -> str:
    """A short hash of the generator's code and data: a changed generator means new data."""
    digest = hashlib.sha256()
    sources = sorted((ROOT / "src" / "outcomes" / "demo").glob("*.py"))
    for path in [*sources, ROOT / "seed" / "institution.yaml"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def demo_database(learners: int) -> Path:
    """A demo database of ``learners`` learners, generated once and kept in var/bench/."""
    from outcomes.demo import generate_demo
    from outcomes.store.engine import make_engine
    from outcomes.store.migrate import upgrade

    path = BENCH_DIR / f"demo-{learners}-{SEED}-{generator_fingerprint()}.db"
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for leftover in BENCH_DIR.glob(partial.name + "*"):
        leftover.unlink()
    engine = make_engine(f"sqlite:///{partial}")
    upgrade(engine)
    print(f"Generating a demo database of {learners:,} learners (kept in {BENCH_DIR})...")
    generate_demo(engine, learners=learners, seed=SEED)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    partial.rename(path)
    return path


FLOOR_COUNTS_SQL = """
SELECT programme_id, cohort,
  count(*) AS graduates,
  count(*) FILTER (WHERE invited) AS invited,
  count(*) FILTER (WHERE response_status = 'complete') AS responded,
  count(*) FILTER (WHERE response_status = 'partial') AS partial,
  count(*) FILTER (WHERE known) AS known,
  {activity_counts},
  count(*) FILTER (WHERE {fulltime}) AS n_fulltime,
  count(*) FILTER (WHERE job_related IS NOT NULL AND activity IN {employed}) AS n_related_answered,
  count(*) FILTER (WHERE job_related >= 4 AND activity IN {employed}) AS n_related_agree,
  {likert_counts},
  coalesce(sum(satisfaction), 0) AS satisfaction_sum,
  coalesce(sum(satisfaction * satisfaction), 0) AS satisfaction_sum_sq,
  count(nps) AS n_nps,
  count(*) FILTER (WHERE nps >= 9) AS n_promoters,
  count(*) FILTER (WHERE nps <= 6) AS n_detractors
FROM analysis_row
GROUP BY 1, 2
"""

EMPLOYED_SQL = "('employed_full_time', 'employed_part_time', 'self_employed')"
FULLTIME_SQL = (
    f"(hours_per_week >= 30 AND activity IN {EMPLOYED_SQL}) "
    "OR (hours_per_week IS NULL AND activity = 'employed_full_time')"
)
FLOOR_SALARIES_SQL = f"""
SELECT programme_id, cohort, salary_annual, salary_excluded
FROM analysis_row
WHERE salary_annual IS NOT NULL AND ({FULLTIME_SQL})
"""

# The definition of an analysis row, written by hand (floor of the refresh benchmarks).
FLOOR_ROWS_COLUMNS = """(invitation_id, wave_id, programme_id, cohort, treated, invited,
  response_status, known, activity, hours_per_week, salary_annual, salary_excluded, job_related,
  satisfaction, nps, voice_meaningful, voice_future, voice_skills)"""
FLOOR_ROWS_SQL = """
SELECT i.id, i.wave_id, e.programme_id, {cohort},
       {treated}, i.sent_at IS NOT NULL, r.status,
       o.id IS NOT NULL AND o.activity <> 'unknown', coalesce(o.activity, 'unknown'),
       o.hours_per_week, o.salary_annual, o.salary_excluded, o.job_related, o.satisfaction,
       o.nps, o.voice_meaningful, o.voice_future, o.voice_skills
FROM invitation i
JOIN enrolment e ON e.id = i.enrolment_id
{holders}
LEFT JOIN response r ON r.invitation_id = i.id
LEFT JOIN outcome o ON o.learner_id = i.learner_id AND o.wave_id = i.wave_id
WHERE e.ended_on IS NOT NULL {restrict}
"""
# "Treated" for the whole table: one join to the holders' enrolments...
WHOLE_TABLE = {
    "treated": "h.enrolment_id IS NOT NULL",
    "holders": "LEFT JOIN (SELECT enrolment_id FROM credential WHERE status = 'active' "
    "GROUP BY enrolment_id) h ON h.enrolment_id = e.id",
}
# ... and for a batch of rows: an index probe per row.
A_BATCH = {
    "treated": "EXISTS (SELECT 1 FROM credential c WHERE c.enrolment_id = e.id "
    "AND c.status = 'active')",
    "holders": "",
}

SQLITE_YEAR = "CAST(strftime('%Y', e.ended_on) AS INTEGER)"
POSTGRES_YEAR = "CAST(extract(year FROM e.ended_on) AS INTEGER)"


def floor_metrics_sql() -> str:
    """The same aggregation written by hand as one SQL query over the analysis table."""
    from outcomes.analysis.metrics import LIKERT_ITEMS
    from outcomes.vocab import ACTIVITIES

    activity = ",\n  ".join(
        f"count(*) FILTER (WHERE activity = '{code}') AS n_{code}" for code in ACTIVITIES
    )
    likert = ",\n  ".join(
        f"count({item}) AS n_{item}, count(*) FILTER (WHERE {item} >= 4) AS n_{item}_agree"
        for item in LIKERT_ITEMS
    )
    return FLOOR_COUNTS_SQL.format(
        activity_counts=activity, likert_counts=likert, fulltime=FULLTIME_SQL, employed=EMPLOYED_SQL
    )


def demo_url(learners: int, database_url: str | None) -> str:
    """The URL of the benchmark's demo database, generated on first use."""
    if database_url is None:
        return f"sqlite:///{demo_database(learners)}"
    from outcomes.demo import generate_demo
    from outcomes.demo.firstrun import database_is_empty
    from outcomes.store.engine import make_engine
    from outcomes.store.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    if database_is_empty(engine):
        print(f"Generating a demo database of {learners:,} learners at {database_url}...")
        generate_demo(engine, learners=learners, seed=SEED)
    engine.dispose()
    return database_url


def bench_metrics(learners: int, database_url: str | None = None) -> Outcome:
    """The full metrics panel by programme × cohort vs the same counts as raw SQL."""
    import sqlalchemy as sa

    from outcomes.config import get_settings
    from outcomes.impact.service import metrics_from_database
    from outcomes.store.engine import make_engine, session_scope

    url = demo_url(learners, database_url)
    engine = make_engine(url)
    counts_sql = floor_metrics_sql()
    # The floor talks to the driver directly: no SQLAlchemy, no pandas, no intervals.
    raw = engine.raw_connection()
    with engine.connect() as conn:
        responses = conn.execute(sa.text("SELECT count(*) FROM response")).scalar_one()
        rows = conn.execute(sa.text("SELECT count(*) FROM invitation")).scalar_one()

    def floor() -> None:
        cursor = raw.cursor()
        cursor.execute(counts_sql)
        cursor.fetchall()
        cursor.execute(FLOOR_SALARIES_SQL)
        cursor.fetchall()
        cursor.close()
        raw.rollback()

    settings = get_settings({})

    def ours() -> None:
        with session_scope(engine) as session:
            panel = metrics_from_database(
                session,
                settings,
                group_by=("programme", "cohort"),
                wave_months=None,
                treated=None,
            )
        panel.to_frame()

    ours()  # brings the analysis table up to date, and warms the caches for both
    floor_time = best_of(3, floor)
    ours_time = best_of(3, ours)
    raw.close()
    engine.dispose()
    size = f"{responses:,} responses / {rows:,} rows, {engine.dialect.name}"
    return Outcome("metrics", size, ours_time, floor_time, 1.5, 3.0)


REFRESHED_GRADUATES = 10_000


def bench_refresh(learners: int, database_url: str | None = None) -> list[Outcome]:
    """Keeping the analysis table fresh: after answers change, and rebuilt from scratch.

    ``refresh``: 10,000 graduates' outcomes change (a busy week of survey answers); the
    product's refresh against the same rows deleted and re-inserted by hand-written SQL.
    ``rebuild``: the whole table, as after a bulk load, against the same table emptied and
    filled by the hand-written SELECT.
    """
    import sqlalchemy as sa

    from outcomes.store.analysis_table import REFRESH_BATCH, refresh_analysis_rows
    from outcomes.store.engine import make_engine, session_scope

    engine = make_engine(demo_url(learners, database_url))
    postgres = engine.dialect.name == "postgresql"
    cohort = POSTGRES_YEAR if postgres else SQLITE_YEAR
    with engine.connect() as conn:
        outcome_ids = (
            conn.execute(
                sa.text(
                    "SELECT id FROM outcome WHERE satisfaction IS NOT NULL ORDER BY id LIMIT :n"
                ),
                {"n": REFRESHED_GRADUATES},
            )
            .scalars()
            .all()
        )
        rows = conn.execute(sa.text("SELECT count(*) FROM invitation")).scalar_one()
    touch = sa.text(
        "UPDATE outcome SET satisfaction = 6 - satisfaction WHERE id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))

    def change_answers() -> None:
        with engine.begin() as conn:
            conn.execute(touch, {"ids": list(outcome_ids)})

    def ours_refresh() -> float:
        change_answers()
        start = time.perf_counter()
        with session_scope(engine) as session:
            refresh_analysis_rows(session=session)
        return time.perf_counter() - start

    def floor_refresh() -> float:
        change_answers()
        raw = engine.raw_connection()
        start = time.perf_counter()
        cursor = raw.cursor()
        cursor.execute("DELETE FROM analysis_stale RETURNING invitation_id")
        claimed = sorted({row[0] for row in cursor.fetchall()})
        for first in range(0, len(claimed), REFRESH_BATCH):  # batches keep index lookups
            ids = ",".join(str(i) for i in claimed[first : first + REFRESH_BATCH])
            cursor.execute(f"DELETE FROM analysis_row WHERE invitation_id IN ({ids})")
            cursor.execute(
                "INSERT INTO analysis_row "
                + FLOOR_ROWS_COLUMNS
                + " "
                + FLOOR_ROWS_SQL.format(cohort=cohort, restrict=f"AND i.id IN ({ids})", **A_BATCH)
            )
        raw.commit()
        elapsed = time.perf_counter() - start
        raw.close()
        return elapsed

    refresh_floor = min(floor_refresh() for _ in range(3))
    refresh_ours = min(ours_refresh() for _ in range(3))

    def floor_rebuild() -> None:
        raw = engine.raw_connection()
        cursor = raw.cursor()
        cursor.execute("DELETE FROM analysis_stale")
        cursor.execute("TRUNCATE analysis_row" if postgres else "DELETE FROM analysis_row")
        cursor.execute(
            "INSERT INTO analysis_row "
            + FLOOR_ROWS_COLUMNS
            + " "
            + FLOOR_ROWS_SQL.format(cohort=cohort, restrict="", **WHOLE_TABLE)
        )
        raw.commit()
        raw.close()

    def ours_rebuild() -> None:
        with session_scope(engine) as session:
            refresh_analysis_rows(session=session, full=True)

    rebuild_floor = best_of(1, floor_rebuild)
    rebuild_ours = best_of(1, ours_rebuild)
    engine.dispose()
    return [
        Outcome(
            "refresh",
            f"{REFRESHED_GRADUATES:,} changed graduates, {engine.dialect.name}",
            refresh_ours,
            refresh_floor,
            1.5,
            1.0,
        ),
        Outcome(
            "rebuild",
            f"{rows:,} rows, {engine.dialect.name}",
            rebuild_ours,
            rebuild_floor,
            1.5,
            None,
        ),
    ]


# --- an adjusted comparison -----------------------------------------------------------------


def comparison_frame(n: int, seed: int = 7) -> pd.DataFrame:
    """A graduate frame with selection on observables, like the demo's, of ``n`` rows."""
    rng = np.random.default_rng(seed)
    age = rng.normal(35, 9, n)
    education = rng.choice(["secondary", "vocational", "bachelor", "master"], n)
    employment = rng.choice(["employed", "unemployed", "student", "inactive"], n)
    pay = np.where(employment == "employed", rng.lognormal(10.2, 0.3, n), 0.0)
    edu_shift = pd.Series(education).map(
        {"secondary": -0.6, "vocational": -0.3, "bachelor": 0.0, "master": 0.3}
    )
    employed_shift = (employment == "employed") * 0.7
    logit = -0.1 + 0.025 * (age - 35) + edu_shift.to_numpy() + employed_shift
    treated = rng.random(n) < 1 / (1 + np.exp(-logit))
    outcome_logit = -0.4 + 0.6 * treated + 0.8 * employed_shift + edu_shift.to_numpy()
    employed = rng.random(n) < 1 / (1 + np.exp(-outcome_logit))
    return pd.DataFrame(
        {
            "employed_full_time": employed.astype(float),
            "treated": treated.astype(int),
            "age": age,
            "prior_education": education,
            "baseline_employment": employment,
            "baseline_pay": np.log1p(pay),
            "female": rng.random(n) < 0.5,
        }
    )


COVARIATES = ["age", "prior_education", "baseline_employment", "baseline_pay", "female"]


def bench_comparison(rows: int) -> Outcome:
    """AIPW ATT on ``rows`` rows vs its propensity and outcome models fitted with statsmodels."""
    import statsmodels.api as sm

    from outcomes.analysis.compare import compare_groups

    frame = comparison_frame(rows)

    def floor() -> None:
        design = pd.get_dummies(frame[COVARIATES], drop_first=True, dtype=float)
        design = (design - design.mean()) / design.std()
        design.insert(0, "const", 1.0)
        x = design.to_numpy()
        treated = frame["treated"].to_numpy() == 1
        sm.Logit(frame["treated"].to_numpy(float), x).fit(disp=0)
        sm.Logit(frame["employed_full_time"].to_numpy()[~treated], x[~treated]).fit(disp=0)

    def ours() -> None:
        compare_groups(
            frame, outcome="employed_full_time", treatment="treated", covariates=COVARIATES
        )

    floor_time = best_of(3, floor)
    ours_time = best_of(3, ours)
    return Outcome("comparison", f"{rows:,} rows, AIPW ATT", ours_time, floor_time, 1.5, 10.0)


def bench_cli_start() -> list[Outcome]:
    """`outcomes --help` and `--version` vs starting the same Python with typer imported.

    The floor is the least any Typer command costs: the interpreter plus typer. Budget 0.5 s.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def run(*args: str) -> Callable[[], object]:
        return lambda: subprocess.run(
            [sys.executable, *args], env=env, capture_output=True, check=True
        )

    floor = best_of(5, run("-c", "import typer"))
    return [
        Outcome(
            f"CLI start, outcomes {flag}",
            "-",
            best_of(5, run("-m", "outcomes", flag)),
            floor,
            None,
            0.5,
        )
        for flag in ("--help", "--version")
    ]


def bench_survey(responses: int, graduates: int, database_url: str | None) -> list[Outcome]:
    """Survey section saves and final submits through the routes, p95 against the floor.

    On SQLite (a temp file) always, and on PostgreSQL when a URL is given (a fresh schema).
    Budget: 50 ms at the 95th percentile. See bench/survey.py.
    """
    sys.path.insert(0, str(ROOT / "bench"))
    import survey

    engines: list[tuple[str, str | None]] = [("SQLite", None)]
    if database_url and database_url.startswith("postgresql"):
        engines.append(("PostgreSQL", database_url))
    rows: list[Outcome] = []
    for label, url in engines:
        with tempfile.TemporaryDirectory() as tmp:
            if url is None:
                timings = survey.measure(
                    f"sqlite:///{tmp}/survey.db", responses=responses, graduates=graduates
                )
            else:
                with survey.postgres_schema(url) as schema_url:
                    timings = survey.measure(schema_url, responses=responses, graduates=graduates)
        numbers = survey.summary(timings)
        floor_p95 = numbers["floor_p95_ms"] / 1000
        for step, values in (("save", timings.saves), ("submit", timings.submits)):
            p50, p99 = numbers[f"{step}_p50_ms"], numbers[f"{step}_p99_ms"]
            rows.append(
                Outcome(
                    f"survey {step} p95",
                    f"{responses:,} stored, {label} (p50 {p50:.1f}, p99 {p99:.1f} ms)",
                    survey.percentile(values, 95),
                    floor_p95,
                    None,
                    0.05,
                )
            )
    return rows


def bench_waves(graduates: int, database_url: str | None) -> list[Outcome]:
    """Launching a wave of ``graduates`` vs a bare INSERT … SELECT of the same rows.

    On SQLite (a temp file) always, and on PostgreSQL when a URL is given (a fresh schema).
    Budget: 20 s for 200,000 graduates (the issue). See bench/waves.py.
    """
    sys.path.insert(0, str(ROOT / "bench"))
    import waves
    from survey import postgres_schema

    engines: list[tuple[str, str | None]] = [("SQLite", None)]
    if database_url and database_url.startswith("postgresql"):
        engines.append(("PostgreSQL", database_url))
    rows: list[Outcome] = []
    for label, url in engines:
        with tempfile.TemporaryDirectory() as tmp:
            if url is None:
                timing = waves.measure(f"sqlite:///{tmp}/waves.db", graduates)
            else:
                with postgres_schema(url) as schema_url:
                    timing = waves.measure(schema_url, graduates)
        rows.append(
            Outcome(
                "waves",
                f"launch of {timing.invitations:,} graduates, {label}",
                timing.ours,
                timing.floor,
                1.5,
                20.0,
            )
        )
    return rows


def bench_mail(invitations: int) -> Outcome:
    """A wave's invitations through the outbox to an aiosmtpd sink vs a bare smtplib loop.

    See bench/mail.py. Targets: ratio ≤ 1.5, and at least 200 messages per second (the
    budget is the time 200 per second allows).
    """
    sys.path.insert(0, str(ROOT / "bench"))
    import mail

    timing = mail.measure(invitations)
    size = f"{invitations:,} invitations, SQLite, {timing.per_second:.0f}/s"
    return Outcome("mail", size, timing.ours, timing.floor, 1.5, invitations / 200)


# --- the graduate's survey page on a slow phone network ------------------------------------


def bench_survey_page() -> list[Outcome]:
    """A personal link under emulated Fast 3G vs a one-line page over the same network.

    A real ``streamlit run app.py`` and Debian's Chromium, measured as the browser test
    measures (``tests/browser/page_load.py``): first contentful paint, the median of five
    cold loads, redirect included; the floor is a bare HTTP server's redirect to a one-line
    page. Budget: 2 s, and 60 KB for the page; the numbers also go to
    ``bench/results/survey_page_load.json``.
    """
    sys.path.insert(0, str(ROOT))  # the served app and the measurement live in tests/
    from playwright.sync_api import sync_playwright
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.page_load import (
        BYTES_BUDGET,
        FCP_BUDGET_MS,
        floor_server,
        heaviest_page,
        measure,
        write_results,
    )
    from tests.serving import running_app, survey_database

    if not CHROMIUM.exists():
        print(f"survey page: skipped, {CHROMIUM} is missing (apt-get install chromium)")
        return []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_app(Path(tmp), database_url=survey_database(Path(tmp))) as app,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ours = measure(browser, app.invite("follow-up-6m").link, runs=5)
        with floor_server() as link:
            floor = measure(browser, link, runs=5)
        heaviest, heaviest_path = heaviest_page(browser, app.invite("follow-up-36m").link)
        write_results(
            ours,
            browser_version=browser.version,
            floor_first_contentful_paint_ms=round(floor.first_contentful_paint_ms, 1),
            heaviest_page_bytes=heaviest,
            heaviest_page=heaviest_path,
        )
        browser.close()
    weight = max(ours.transferred_bytes, heaviest)
    over = "" if weight < BYTES_BUDGET else " OVER"
    size = f"Fast 3G first paint, {weight / 1024:.1f} KB of {BYTES_BUDGET // 1024}{over}"
    return [
        Outcome(
            "survey page",
            size,
            ours.first_contentful_paint_ms / 1000,
            floor.first_contentful_paint_ms / 1000,
            1.5,
            FCP_BUDGET_MS / 1000,
        )
    ]


def bench_import(rows: int, database_url: str | None) -> list[Outcome]:
    """A CSV of ``rows`` awards end to end vs bulk-inserting the same parsed rows.

    See bench/imports.py; each side runs in a fresh process. Into SQLite, and into PostgreSQL
    too with ``--database-url`` (``COPY`` on both sides there). Targets (issue 14): at least
    50,000 rows/s into SQLite, within 2x of the floor, peak memory under 1 GB.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import imports

    results = []
    for engine, url in (("SQLite", None), ("PostgreSQL", database_url)):
        if engine == "PostgreSQL" and not url:
            continue
        measured = imports.measure(rows, url)
        print(
            f"import into {engine}: {measured['rows_per_second']:,.0f} rows/s "
            f"(target >= 50,000), peak memory {measured['peak_mb']:,.0f} MB (target < 1,024; "
            f"floor {measured['floor_peak_mb']:,.0f} MB)",
            flush=True,
        )
        results.append(
            Outcome(
                "import",
                f"{rows:,} CSV rows into {engine}",
                measured["ours_seconds"],
                measured["floor_seconds"],
                2.0,
                rows / 50_000 if engine == "SQLite" else None,
            )
        )
    return results


# --- Open Badges 3.0: a zip of credentials -------------------------------------------------


def bench_badges(files: int) -> list[Outcome]:
    """Read + validate + map, and the full import, of ``files`` credentials in one zip.

    Floor: every member decompressed and parsed, nothing checked. No target in the issue:
    ratios are reported. See bench/badges.py.
    """
    sys.path.insert(0, str(ROOT / "bench"))
    import badges

    timings = badges.measure(files)
    size = f"{files:,} credentials, one zip"
    return [
        Outcome("badges chk", size, timings.check, timings.floor, None, None),
        Outcome("badges imp", size, timings.imported, timings.floor, None, None),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=[
            "cli",
            "survey",
            "survey-page",
            "mail",
            "generator",
            "metrics",
            "refresh",
            "comparison",
            "waves",
            "import",
            "badges",
        ],
    )
    parser.add_argument(
        "--import-rows", type=int, default=100_000, help="CSV rows imported (1000000: issue 14)"
    )
    parser.add_argument("--invitations", type=int, default=50_000, help="mail benchmark size")
    parser.add_argument("--badges", type=int, default=10_000, help="credentials in the zip")
    parser.add_argument("--responses", type=int, default=100_000, help="stored survey answers")
    parser.add_argument("--graduates", type=int, default=60, help="graduates timed answering")
    parser.add_argument("--learners", type=int, default=720_000, help="metrics database size")
    parser.add_argument("--generator-learners", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="comparison rows")
    parser.add_argument(
        "--wave-graduates", type=int, default=200_000, help="graduates in the launched wave"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OUTCOMES_BENCH_DATABASE_URL"),
        help="run the metrics benchmark on this database (e.g. PostgreSQL), generating the "
        "demo into it when it is empty; default: a SQLite file in var/bench/",
    )
    args = parser.parse_args(argv)
    plan: dict[str, Callable[[], Outcome | list[Outcome]]] = {
        "cli": bench_cli_start,
        "survey": lambda: bench_survey(args.responses, args.graduates, args.database_url),
        "comparison": lambda: bench_comparison(args.rows),
        "metrics": lambda: bench_metrics(args.learners, args.database_url),
        "refresh": lambda: bench_refresh(args.learners, args.database_url),
        "generator": lambda: bench_generator(args.generator_learners),
        "survey-page": bench_survey_page,
        "waves": lambda: bench_waves(args.wave_graduates, args.database_url),
        "mail": lambda: bench_mail(args.invitations),
        "import": lambda: bench_import(args.import_rows, args.database_url),
        "badges": lambda: bench_badges(args.badges),
    }
    results: list[Outcome] = []
    for name, run in plan.items():
        if args.only and name != args.only:
            continue
        outcome = run()
        for result in outcome if isinstance(outcome, list) else [outcome]:
            results.append(result)
            print(result.line(), flush=True)
    over = [r.name for r in results if not r.met]
    if results:
        written = write_results(results, argv if argv is not None else sys.argv[1:])
        print(f"results written to {written.relative_to(ROOT)}")
    print(
        f"median ratio {statistics.median(r.ratio for r in results):.2f}; "
        + (f"over target: {', '.join(over)}" if over else "every ratio within its target")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
