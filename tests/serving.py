"""A real ``streamlit run app.py`` on a free loopback port, for the server and browser tiers.

The database is a temp SQLite file, migrated, with a small demo institution and one staff
user per role (created directly, so the server does not depend on demo mode); or, for the
graduate's survey, migrated and empty (``survey_database``), with graduates invited to open
waves of the shipped instruments while the server runs (``invite``), under the same secret
key as the server, so the tokens' hashes match.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from outcomes.access.permissions import STAFF_ROLES
from outcomes.access.staff import create_staff_user
from outcomes.config import Settings
from outcomes.demo import generate_demo
from outcomes.instruments.registry import shipped_instruments
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.migrate import upgrade
from outcomes.store.tables import utcnow
from tests import factories
from tests.conftest import REPO_ROOT, TEST_SECRET_KEY

PASSWORD = "purple lantern over the harbour"
STREAMLIT = str(Path(sys.executable).with_name("streamlit"))
# The instruments in surveys/ (exit, follow-up-6m, follow-up-36m), to which graduates are invited.
SHIPPED_INSTRUMENTS = tuple(sorted(shipped_instruments()))


@dataclass(frozen=True)
class RunningApp:
    """Where the server listens and how to sign in."""

    base_url: str
    port: int
    log: Path
    database_url: str

    def email(self, role: str) -> str:
        """The e-mail of the staff user with ``role``."""
        return f"{role}@example.org"

    def invite(self, instrument: str = "follow-up-6m", *, language: str = "en") -> Invited:
        """A new graduate invited to the open wave of ``instrument``, with their link."""
        invitation_id, token = invite(self.database_url, instrument, language=language)
        return Invited(invitation_id, token, f"{self.base_url}/s/{token}")

    def invite_each_instrument(self, *, language: str = "en") -> dict[str, Invited]:
        """One new graduate per shipped instrument."""
        return {name: self.invite(name, language=language) for name in SHIPPED_INSTRUMENTS}


@dataclass(frozen=True)
class Invited:
    """A graduate's invitation: its id, the personal token, and the link to open."""

    invitation_id: int
    token: str
    link: str


def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seeded_database(directory: Path, *, learners: int = 600) -> str:
    """A migrated SQLite database with the demo institution and one user per staff role."""
    url = f"sqlite:///{directory / 'outcomes.db'}"
    engine = make_engine(url)
    upgrade(engine)
    generate_demo(engine, learners=learners, seed=11)
    with session_scope(engine) as session:
        for role in STAFF_ROLES:
            create_staff_user(
                session,
                email=f"{role}@example.org",
                role=role,
                password=PASSWORD,
                actor="test",
                all_programmes=True,
                must_change_password=False,
            )
    engine.dispose()
    return url


def survey_database(directory: Path) -> str:
    """A migrated, empty SQLite database: graduates are invited into it with ``invite``."""
    url = f"sqlite:///{directory / 'outcomes.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def invite(database_url: str, instrument: str, *, language: str = "en") -> tuple[int, str]:
    """Invite a new graduate to an open wave of ``instrument`` now: (invitation id, token).

    The token's hash is made with the server's secret key (``TEST_SECRET_KEY``), so the
    running server recognises the link.
    """
    settings = Settings(database_url=database_url, secret_key=TEST_SECRET_KEY)
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            return factories.open_survey(
                session,
                settings,
                at=utcnow(),
                instrument=instrument,
                email=f"{uuid.uuid4().hex[:12]}@example.org",
                language=language,
            )
    finally:
        engine.dispose()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit run exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"streamlit run did not become healthy:\n{log.read_text()}")


@contextmanager
def running_app(
    directory: Path,
    *,
    database_url: str | None = None,
    script: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[RunningApp]:
    """Start ``streamlit run app.py`` (or ``script``) from the repository root; stop it after."""
    url = database_url or seeded_database(directory)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCOMES_", "STREAMLIT_"))}
    env.update(
        OUTCOMES_DATABASE_URL=url,
        OUTCOMES_SECRET_KEY=TEST_SECRET_KEY,
        OUTCOMES_PUBLIC_BASE_URL=f"http://localhost:{port}",
        # The browser journey signs in as the demo administrator with a password only; the
        # second factor has its own app tests (tests/app/test_accounts.py).
        OUTCOMES_ADMIN_TOTP="optional",
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT / "src"), env.get("PYTHONPATH", "")]),
        **(extra_env or {}),
    )
    log = directory / "streamlit.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                STREAMLIT,
                "run",
                str(script or "app.py"),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield RunningApp(base_url, port, log, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
