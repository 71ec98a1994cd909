"""The demo generator: deterministic, internally consistent, with the selection it plants.

Runs on a temp-file SQLite, and on PostgreSQL too when ``OUTCOMES_TEST_DATABASE_URL`` is set:
tests that write get a database of their own (``engine``); the read-only ones share one demo
per engine, built once (``read_only_database``), in one test process per engine.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from outcomes.access.passwords import verify_password
from outcomes.cli.demo import seed
from outcomes.config import get_settings
from outcomes.demo import (
    DemoDatabaseNotEmpty,
    DemoSummary,
    demo_passwords,
    demo_staff_emails,
    generate_demo,
)
from outcomes.demo.answer_key import answer_key_path
from outcomes.demo.writer import DEMO_TABLES, empty_tables
from outcomes.instruments import derive_outcome, instrument_from_definition, validate_answers
from outcomes.instruments.canonical import OUTCOME_COLUMNS
from outcomes.store.engine import session_scope
from outcomes.store.tables import Programme
from outcomes.vocab import ACTIVITIES
from tests.conftest import SharedDatabase, read_only_database

SECRET = "demo-test-secret-key-that-is-long-enough-0123"


def content_hash(engine: Engine) -> str:
    """SHA-256 of every demo table read in id order and written as CSV."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for name in DEMO_TABLES:
            order = "learner_id" if name == "learner_identity" else "id"
            frame = pd.read_sql(sa.text(f"SELECT * FROM {name} ORDER BY {order}"), connection)
            digest.update(name.encode())
            digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()


def json_value(value: object) -> object:
    """A JSON column as read by pandas: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def frame(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(sa.text(sql), connection)


def _build_demo(engine: Engine) -> DemoSummary:
    return generate_demo(engine, learners=8000, seed=11, demo_staff_key=SECRET)


# One demo of 8,000 learners shared by the read-only tests below.
shared_demo = read_only_database("demo-8000", _build_demo)


@pytest.fixture
def demo(shared_demo: SharedDatabase[DemoSummary]) -> tuple[Engine, DemoSummary]:
    return shared_demo.engine, shared_demo.built


def test_same_seed_gives_identical_content_and_another_seed_differs(engine: Engine) -> None:
    generate_demo(engine, learners=1500, seed=3)
    first = content_hash(engine)
    empty_tables(engine)
    generate_demo(engine, learners=1500, seed=3)
    assert content_hash(engine) == first
    empty_tables(engine)
    generate_demo(engine, learners=1500, seed=4)
    assert content_hash(engine) != first


def test_generator_refuses_a_database_that_holds_data(engine: Engine) -> None:
    generate_demo(engine, learners=50, seed=1)
    with pytest.raises(DemoDatabaseNotEmpty, match="only written into an empty database"):
        generate_demo(engine, learners=50, seed=1)


def test_ids_continue_after_the_demo_for_rows_added_by_the_app(engine: Engine) -> None:
    generate_demo(engine, learners=60, seed=2)
    with session_scope(engine) as session:
        programme = Programme(
            code="NEW-1",
            title="New",
            awarding_body="U",
            issuer_country="ES",
            learning_outcomes="x",
            ects=1,
            assessment_type="other",
            participation_form="online",
            quality_assurance_type="other",
            quality_assurance="x",
            field_of_study="x",
        )
        session.add(programme)
        session.flush()
        assert programme.id == 12


def test_naive_difference_overstates_the_true_att(demo: tuple[Engine, DemoSummary]) -> None:
    engine, summary = demo
    outcomes = frame(
        engine,
        """SELECT o.activity, e.status FROM outcome o
           JOIN survey_wave w ON w.id = o.wave_id
           JOIN enrolment e ON e.id = o.enrolment_id
           WHERE w.months_after_award = 6 AND o.activity != 'unknown'""",
    )
    full_time = outcomes["activity"] == "employed_full_time"
    rate = full_time.groupby(outcomes["status"]).mean()
    naive = rate["completed"] - rate["withdrawn"]
    true_att = summary.answer_key["att"]["overall"]["6m"]["fulltime_expected"]
    assert 0 < true_att < 0.2
    assert naive > true_att + 0.04, (naive, true_att)
    assert summary.answer_key["naive"]["population"]["6m"]["bias_vs_att"] > 0.04


def test_answer_key_lists_every_programme_and_the_models(
    demo: tuple[Engine, DemoSummary], tmp_path: Path
) -> None:
    _, summary = demo
    key = json.loads(summary.write_answer_key(tmp_path / "key.json").read_text("utf-8"))
    assert len(key["att"]["by_programme"]) == 11
    ux = key["att"]["by_programme"]["MC-UX"]["redesign"]
    assert (
        ux["after_redesign_6m"]["fulltime_expected"] > ux["before_redesign_6m"]["fulltime_expected"]
    )
    assert key["selection_model"]["coefficients"]["baseline_employment"]["employed_full_time"] > 0
    propensity = key["response_model"]["mean_propensity"]["6m"]["holders"]
    assert propensity["employed"]["mean_propensity"] > propensity["not_employed"]["mean_propensity"]


def test_every_credential_belongs_to_a_completed_enrolment(
    demo: tuple[Engine, DemoSummary],
) -> None:
    engine, _ = demo
    bad = frame(
        engine,
        """SELECT c.id FROM credential c JOIN enrolment e ON e.id = c.enrolment_id
           WHERE e.status != 'completed' OR c.learner_id != e.learner_id
              OR c.programme_id != e.programme_id OR c.issued_on != e.ended_on""",
    )
    assert bad.empty
    counts = frame(engine, "SELECT status, COUNT(*) AS n FROM enrolment GROUP BY status")
    share = counts.set_index("status")["n"] / counts["n"].sum()
    assert 0.25 <= share["withdrawn"] <= 0.40
    assert share["in_progress"] > 0
    credential_ids = frame(engine, "SELECT external_id FROM credential")["external_id"]
    assert credential_ids.str.startswith("urn:uuid:").all()


def test_invitations_follow_exit_and_responses_follow_invitations(
    demo: tuple[Engine, DemoSummary],
) -> None:
    engine, _ = demo
    rows = frame(
        engine,
        """SELECT i.sent_at, e.ended_on, r.submitted_at, r.started_at, w.opens_on
           FROM invitation i JOIN enrolment e ON e.id = i.enrolment_id
           JOIN survey_wave w ON w.id = i.wave_id
           LEFT JOIN response r ON r.invitation_id = i.id
           WHERE i.sent_at IS NOT NULL""",
    )
    sent = pd.to_datetime(rows["sent_at"])
    ended = pd.to_datetime(rows["ended_on"])
    assert (sent.dt.normalize() > ended).all()
    assert (sent.dt.normalize() >= pd.to_datetime(rows["opens_on"])).all()
    answered = rows["submitted_at"].notna()
    assert (pd.to_datetime(rows.loc[answered, "submitted_at"]) > ended[answered]).all()
    assert (pd.to_datetime(rows["started_at"].dropna()) > sent[rows["started_at"].notna()]).all()
    not_sent = frame(
        engine,
        """SELECT i.opted_out_at, r.id AS response_id FROM invitation i
           LEFT JOIN response r ON r.invitation_id = i.id WHERE i.sent_at IS NULL""",
    )
    assert len(not_sent) > 0, "graduates who opted out earlier stay in the wave's population"
    assert not_sent["opted_out_at"].notna().all() and not_sent["response_id"].isna().all()
    orphans = frame(
        engine,
        """SELECT r.id FROM response r LEFT JOIN invitation i ON i.id = r.invitation_id
           WHERE i.id IS NULL""",
    )
    assert orphans.empty
    withdrawn_invited = frame(
        engine,
        """SELECT COUNT(*) AS n FROM invitation i JOIN enrolment e ON e.id = i.enrolment_id
           WHERE e.status = 'withdrawn'""",
    )["n"][0]
    assert withdrawn_invited > 0
    assert (
        frame(engine, "SELECT COUNT(*) AS n FROM invitation WHERE opted_out_at IS NOT NULL")["n"][0]
        > 0
    )


def test_nothing_happens_after_the_demo_today(demo: tuple[Engine, DemoSummary]) -> None:
    engine, _ = demo
    today = pd.Timestamp("2026-11-01")
    for table, column in (
        ("invitation", "sent_at"),
        ("response", "updated_at"),
        ("outcome", "observed_on"),
        ("credential", "issued_on"),
        ("survey_wave", "opens_on"),
    ):
        latest = pd.to_datetime(frame(engine, f"SELECT MAX({column}) AS m FROM {table}")["m"][0])
        assert latest < today, table


def test_revisions_are_kept_for_every_saved_state(demo: tuple[Engine, DemoSummary]) -> None:
    engine, _ = demo
    check = frame(
        engine,
        """SELECT r.revision, COUNT(v.id) AS saved, MAX(v.revision) AS last
           FROM response r JOIN response_revision v ON v.response_id = r.id
           GROUP BY r.id, r.revision""",
    )
    assert (check["saved"] == check["revision"]).all()
    assert (check["last"] == check["revision"]).all()
    assert (check["revision"] == 2).any()


def test_outcomes_are_one_per_learner_and_wave_with_plausible_salaries(
    demo: tuple[Engine, DemoSummary],
) -> None:
    engine, _ = demo
    outcomes = frame(engine, "SELECT * FROM outcome")
    assert not outcomes.duplicated(["learner_id", "wave_id"]).any()
    assert set(outcomes["activity"]) <= set(ACTIVITIES)
    assert {"survey", "employer", "staff_verified", "public_profile"} <= set(outcomes["source"])
    paid = outcomes.dropna(subset=["salary_annual"])
    assert (paid["salary_annual"] > 0).all()
    full_time = paid[(paid["activity"] == "employed_full_time")]["salary_annual"]
    assert full_time.quantile(0.05) >= 18_000 and full_time.quantile(0.95) <= 90_000
    assert 22_000 <= full_time.median() <= 45_000
    excluded = paid[paid["salary_excluded"].astype(bool)]
    assert len(excluded) > 0 and (excluded["salary_annual"] < 12_000).all()
    assert ((paid["salary_annual"] < 12_000) == paid["salary_excluded"].astype(bool)).all()


def test_survey_outcomes_are_what_the_instruments_derive(demo: tuple[Engine, DemoSummary]) -> None:
    engine, _ = demo
    settings = get_settings({})
    versions = frame(engine, "SELECT id, definition FROM instrument_version")
    instruments = {
        row.id: instrument_from_definition(json_value(row.definition))
        for row in versions.itertuples()
    }
    rows = frame(
        engine,
        """SELECT r.answers, r.status, r.instrument_version_id AS version, o.* FROM outcome o
           JOIN response r ON r.id = o.response_id""",
    )
    assert len(rows) > 1000
    for row in rows.to_dict("records"):
        instrument = instruments[row["version"]]
        answers = json_value(row["answers"])
        report = validate_answers(instrument, answers)
        problems = [m for m in report.messages if m.severity == "error" and m.code != "required"]
        assert not problems, (answers, problems)
        assert report.complete == (row["status"] == "complete"), answers
        derived = derive_outcome(
            instrument, answers, settings, months_since_award=row["months_to_first_job"]
        ).outcome_values()
        for column in OUTCOME_COLUMNS:
            stored = row[column]
            stored = None if pd.isna(stored) else stored
            if (
                column in ("promoted", "job_search_censored", "salary_excluded")
                and stored is not None
            ):
                stored = bool(stored)
            assert derived[column] == stored, (column, answers, derived[column], stored)


def test_staff_accounts_get_the_derived_passwords(demo: tuple[Engine, DemoSummary]) -> None:
    engine, summary = demo
    staff = frame(engine, "SELECT email, role, password_hash FROM staff_user ORDER BY role")
    assert list(staff["email"]) == [
        summary.staff_emails[r] for r in ("admin", "manager", "reviewer")
    ]
    assert summary.staff_emails == demo_staff_emails()
    passwords = demo_passwords(SECRET)
    for row in staff.itertuples():
        assert verify_password(row.password_hash, passwords[row.role])


def test_cli_refuses_a_non_empty_database_unless_reset_with_yes(
    app_engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # PostgreSQL's answer key goes to var/ under it
    runner = CliRunner()
    first = runner.invoke(_app(), ["--learners", "120", "--seed", "5"])
    assert first.exit_code == 0, first.output
    assert answer_key_path(database_url).is_file()
    again = runner.invoke(_app(), ["--learners", "120"])
    assert again.exit_code != 0
    assert "already holds data" in again.output
    unconfirmed = runner.invoke(_app(), ["--learners", "120", "--reset"])
    assert unconfirmed.exit_code != 0
    assert "add --yes" in unconfirmed.output
    reset = runner.invoke(_app(), ["--learners", "130", "--seed", "5", "--reset", "--yes"])
    assert reset.exit_code == 0, reset.output
    assert frame(app_engine, "SELECT COUNT(*) AS n FROM learner")["n"][0] == 130
    actions = set(frame(app_engine, "SELECT action FROM audit_event")["action"])
    assert {"demo.reset", "demo.generated"} <= actions


def _app():
    import typer

    app = typer.Typer()
    app.command()(seed)
    return app
