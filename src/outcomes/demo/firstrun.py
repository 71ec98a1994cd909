"""What ``make run`` does before it starts the app: migrate, load the demo once, show sign-ins."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from outcomes.config import Settings, get_settings
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

    def lines(self) -> list[str]:
        """The report as lines for a terminal."""
        out = [f"Database {self.database} is at schema revision {self.revision}."]
        if self.demo_loaded_now:
            out.append(f"Loaded the demo institution ({self.demo_learners:,} learners).")
        out.append("")
        out.append(f"Open {self.url}")
        if self.sign_ins:
            out.append("Demo sign-ins (derived from OUTCOMES_SECRET_KEY; stored only as hashes):")
            for role, (email, password) in self.sign_ins.items():
                out.append(f"  {role:<9} {email:<34} {password}")
        return out


def database_is_empty(engine: sa.Engine) -> bool:
    """True when no programme has been recorded yet (a fresh database)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Programme)).scalar_one() == 0


def prepare(settings: Settings | None = None) -> FirstRunReport:
    """Migrate the database and load the demo institution into an empty one."""
    from outcomes.demo import demo_passwords, demo_staff_emails, generate_demo
    from outcomes.demo.answer_key import answer_key_path

    settings = settings or get_settings()
    secret_key = settings.require_secret_key()
    engine = make_engine(settings.database_url)
    try:
        revision = upgrade(engine)
        loaded = database_is_empty(engine)
        emails = demo_staff_emails()
        if loaded:
            summary = generate_demo(
                engine,
                learners=settings.demo_learners,
                seed=settings.demo_seed,
                secret_key=secret_key,
            )
            summary.write_answer_key(answer_key_path(settings.database_url))
            emails = summary.staff_emails or emails
        passwords = demo_passwords(secret_key)
        return FirstRunReport(
            database=describe_url(settings.database_url),
            revision=revision,
            demo_loaded_now=loaded,
            url="http://localhost:8501",
            sign_ins={role: (emails[role], passwords[role]) for role in passwords},
            demo_learners=settings.demo_learners,
        )
    finally:
        engine.dispose()
