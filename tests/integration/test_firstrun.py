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


def prepare(workdir: Path, *, demo: str = "on") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCOMES_")}
    env.update(
        OUTCOMES_SECRET_KEY=TEST_SECRET_KEY, OUTCOMES_DEMO_LEARNERS="400", OUTCOMES_DEMO=demo
    )
    return subprocess.run(
        [sys.executable, "-m", "outcomes", "demo", "prepare"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_first_run_migrates_loads_the_demo_and_prints_working_sign_ins(tmp_path: Path) -> None:
    first = prepare(tmp_path)
    assert first.returncode == 0, first.stderr
    database = tmp_path / "var" / "outcomes.db"
    assert database.exists(), "the default database lives in var/ under the working directory"
    assert (tmp_path / "var" / "answer-key.json").exists()
    assert "Loaded the demo institution (400 learners)" in first.stdout
    assert "http://localhost:8501" in first.stdout

    sign_ins = {}
    for line in first.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("admin", "manager", "reviewer"):
            sign_ins[parts[0]] = (parts[1], parts[2])
    assert set(sign_ins) == {"admin", "manager", "reviewer"}

    hashes, learners = _staff_and_learners(database)
    assert learners == 400
    for email, password in sign_ins.values():
        assert verify_password(hashes[email], password)
        assert password not in database.read_bytes().decode("latin-1")

    second = prepare(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Loaded the demo institution" not in second.stdout, "the demo loads on first run only"
    assert second.stdout.count("@") == 3, "the same sign-ins are printed again"


def _staff_and_learners(database: Path) -> tuple[dict[str, str], int]:
    """E-mail → password hash of every staff account, and the number of learners."""
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        hashes = dict(conn.execute(sa.text("SELECT email, password_hash FROM staff_user")).all())
        learners = conn.execute(sa.text("SELECT count(*) FROM learner")).scalar_one()
    engine.dispose()
    return hashes, learners


def test_first_run_outside_demo_mode_loads_the_data_but_creates_no_sign_ins(
    tmp_path: Path,
) -> None:
    off = prepare(tmp_path, demo="off")
    assert off.returncode == 0, off.stderr
    assert "Loaded the demo institution (400 learners)" in off.stdout
    assert DEMO_MODE_OFF in off.stdout
    assert "@" not in off.stdout, "no sign-in is printed"
    database = tmp_path / "var" / "outcomes.db"
    assert _staff_and_learners(database) == ({}, 400)

    on = prepare(tmp_path, demo="on")
    assert on.returncode == 0, on.stderr
    assert "Loaded the demo institution" not in on.stdout
    assert on.stdout.count("@") == 3, "turning demo mode on later gives the demo sign-ins"
    assert len(_staff_and_learners(database)[0]) == 3
