"""What ``make run`` does before it starts the app: migrate, load the demo once, show sign-ins.

Demo sign-ins exist only in demo mode (``OUTCOMES_DEMO=on``, which ``make run`` sets). Outside
it the demo institution's data is still loaded into an empty database, without staff
accounts, and the report says so in one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from outcomes.config import Settings
from outcomes.demo.staff_accounts import DEMO_MODE_OFF
from outcomes.store.engine import describe_url, make_engine
from outcomes.store.migrate import upgrade
from outcomes.store.tables import Programme


@dataclass(frozen=True)
class FirstRunReport:
    """What happened and how to sign in."""

    database: str
    revision: str
    demo_loaded_now: bool
    url: str
    sign_ins: dict[str, tuple[str, str]] = field(default_factory=dict)
    demo_learners: int = 0
    demo_mode: bool = False

    def lines(self) -> list[str]:
        """The report as lines for a terminal."""
        out = [f"Database {self.database} is at schema revision {self.revision}."]
        if self.demo_loaded_now:
            out.append(f"Loaded the demo institution ({self.demo_learners:,} learners).")
        out.append("")
        out.append(f"Open {self.url}")
        if not self.demo_mode:
            out.append(DEMO_MODE_OFF)
        elif self.sign_ins:
            out.append("Demo sign-ins (derived from OUTCOMES_SECRET_KEY; stored only as hashes):")
            for role, (email, password) in self.sign_ins.items():
                out.append(f"  {role:<9} {email:<34} {password}")
        return out


def database_is_empty(engine: sa.Engine) -> bool:
    """True when no programme has been recorded yet (a fresh database)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Programme)).scalar_one() == 0


def prepare(*, settings: Settings) -> FirstRunReport:
    """Migrate the database, load the demo institution into an empty one, make demo sign-ins.

    In demo mode the demo accounts are created (or brought up to date) on every run, so that
    the printed sign-ins work; outside it none are created and none are printed.
    """
    from outcomes.demo import demo_passwords, generate_demo, load_institution
    from outcomes.demo.answer_key import answer_key_path
    from outcomes.demo.staff_accounts import create_demo_staff, demo_staff_key

    settings.require_secret_key()
    staff_key = demo_staff_key(settings)
    engine = make_engine(settings.database_url)
    try:
        revision = upgrade(engine)
        loaded = database_is_empty(engine)
        if loaded:
            summary = generate_demo(
                engine, learners=settings.demo_learners, seed=settings.demo_seed
            )
            summary.write_answer_key(answer_key_path(settings.database_url))
        sign_ins: dict[str, tuple[str, str]] = {}
        if staff_key is not None:
            domain = load_institution().institution.staff_email_domain
            emails = create_demo_staff(engine, secret_key=staff_key, domain=domain)
            passwords = demo_passwords(staff_key)
            sign_ins = {role: (emails[role], passwords[role]) for role in passwords}
        return FirstRunReport(
            database=describe_url(settings.database_url),
            revision=revision,
            demo_loaded_now=loaded,
            url="http://localhost:8501",
            sign_ins=sign_ins,
            demo_learners=settings.demo_learners,
            demo_mode=settings.demo,
        )
    finally:
        engine.dispose()
