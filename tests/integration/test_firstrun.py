"""`make run`'s first-run path: migrate, load the demo once, print sign-ins that work.

`make run` sets OUTCOMES_DEMO=on; without it the demo loads with no staff accounts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from outcomes.access.passwords import verify_password
from outcomes.demo.staff_accounts import DEMO_MODE_OFF
from outcomes.store.engine import make_engine
from tests.conftest import TEST_SECRET_KEY


def prepare(
    workdir: Path, database_url: str | None, *, demo: str = "on"
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    env.update(
        OUTCOMES_SECRET_KEY=TEST_SECRET_KEY, OUTCOMES_DEMO_LEARNERS="400", OUTCOMES_DEMO=demo
    )
    if database_url is not None:  # else the default: var/outcomes.db under the working directory
        env.update(OUTCOMES_DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "outcomes", "demo", "prepare"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def printed_sign_ins(stdout: str) -> dict[str, tuple[str, str]]:
    """Role → (e-mail, password) from the lines ``prepare`` prints."""
    sign_ins = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("admin", "manager", "reviewer"):
            sign_ins[parts[0]] = (parts[1], parts[2])
    return sign_ins


def _staff_and_learners(database_url: str) -> tuple[dict[str, str], int]:
    """E-mail → password hash of every staff account, and the number of learners."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        hashes = dict(conn.execute(sa.text("SELECT email, password_hash FROM staff_user")).all())
        learners = conn.execute(sa.text("SELECT count(*) FROM learner")).scalar_one()
    engine.dispose()
    return hashes, learners


def test_first_run_migrates_loads_the_demo_and_prints_working_sign_ins(
    tmp_path: Path, database_url: str
) -> None:
    on_sqlite = database_url.startswith("sqlite")
    first = prepare(tmp_path, None if on_sqlite else database_url)
    assert first.returncode == 0, first.stderr
    database = tmp_path / "var" / "outcomes.db"
    if on_sqlite:
        assert database.exists(), "the default database lives in var/ under the working directory"
        database_url = f"sqlite:///{database}"
    assert (tmp_path / "var" / "answer-key.json").exists()
    assert "Loaded the demo institution (400 learners)" in first.stdout
    assert "http://localhost:8501" in first.stdout

    sign_ins = printed_sign_ins(first.stdout)
    assert set(sign_ins) == {"admin", "manager", "reviewer"}

    hashes, learners = _staff_and_learners(database_url)
    assert learners == 400
    for email, password in sign_ins.values():
        assert verify_password(hashes[email], password)
        if on_sqlite:
            assert password not in database.read_bytes().decode("latin-1")

    second = prepare(tmp_path, None if on_sqlite else database_url)
    assert second.returncode == 0, second.stderr
    assert "Loaded the demo institution" not in second.stdout, "the demo loads on first run only"
    assert printed_sign_ins(second.stdout) == sign_ins, "the same sign-ins are printed again"


def test_first_run_outside_demo_mode_loads_the_data_but_creates_no_sign_ins(
    tmp_path: Path, database_url: str
) -> None:
    on_sqlite = database_url.startswith("sqlite")
    url = None if on_sqlite else database_url
    read_url = f"sqlite:///{tmp_path / 'var' / 'outcomes.db'}" if on_sqlite else database_url
    off = prepare(tmp_path, url, demo="off")
    assert off.returncode == 0, off.stderr
    assert "Loaded the demo institution (400 learners)" in off.stdout
    assert DEMO_MODE_OFF in off.stdout
    assert printed_sign_ins(off.stdout) == {}, "no sign-in is printed"
    assert _staff_and_learners(read_url) == ({}, 400)

    on = prepare(tmp_path, url, demo="on")
    assert on.returncode == 0, on.stderr
    assert "Loaded the demo institution" not in on.stdout
    assert set(printed_sign_ins(on.stdout)) == {"admin", "manager", "reviewer"}, (
        "turning demo mode on later gives the demo sign-ins"
    )
    assert len(_staff_and_learners(read_url)[0]) == 3
