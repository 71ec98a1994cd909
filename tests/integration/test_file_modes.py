"""The SQLite database, its directory and the demo answer key are private to their owner."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outcomes.demo import write_answer_key
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.migrate import upgrade
from tests import factories

# File modes are about SQLite's files; PostgreSQL keeps its data in its own server.
pytestmark = pytest.mark.sqlite_only("the database and its directory are files only on SQLite")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files readable to everyone (0644 / 0755)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_sqlite_database_and_its_directories_are_private(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    path = tmp_path / "shared" / "var" / "data" / "outcomes.db"
    engine = make_engine(f"sqlite:///{path}")
    # Before SQLite has opened anything.
    assert _mode(path.parent.parent) == 0o700 and _mode(path.parent) == 0o700
    assert path.is_file() and _mode(path) == 0o600
    upgrade(engine)
    with session_scope(engine) as session:
        factories.learner(session)
    with engine.connect() as conn:  # WAL and shared-memory files exist while a connection is open
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(sa.text("SELECT count(*) FROM learner")).scalar_one() == 1
        sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in sidecars)
        assert {_mode(p) for p in [path, *sidecars]} == {0o600}
    engine.dispose()
    assert _mode(tmp_path / "shared") == 0o755, "an existing directory is left as it was"


def test_an_existing_database_file_is_opened_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.db"
    first = make_engine(f"sqlite:///{path}")
    upgrade(first)
    first.dispose()
    os.chmod(path, 0o640)
    again = make_engine(f"sqlite:///{path}")
    with again.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM learner")).scalar_one() == 0
    again.dispose()
    assert _mode(path) == 0o640  # the operator's choice for a file they made


def test_the_answer_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "answer-key.json"
    write_answer_key({"planted": 1}, path)
    assert _mode(tmp_path / "var") == 0o700 and _mode(path) == 0o600
    os.chmod(path, 0o644)  # written before this release, or by hand
    write_answer_key({"planted": 2}, path)
    assert _mode(path) == 0o600 and '"planted": 2' in path.read_text()


def test_the_answer_key_is_never_written_through_a_planted_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("precious")
    path = tmp_path / "answer-key.json"
    path.symlink_to(elsewhere)
    with pytest.raises(OSError, match=r"(?i)symbolic link"):
        write_answer_key({"planted": 1}, path)
    assert elsewhere.read_text() == "precious"
