"""An administrator without their phone signs in with a recovery code, which works only once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access import mfa
from outcomes.access.auth import SECOND_FACTOR_FAILED
from outcomes.config import get_settings
from outcomes.store.engine import make_engine, session_scope
from outcomes.store.tables import StaffRecoveryCode
from tests import factories
from tests.app.test_signin_sessions import APP, PASSWORD, Clock, _actions, _sign_in

CODE_LABEL = "Code from your authenticator app, or a recovery code"


@pytest.fixture
def enrolled(app_engine: Engine) -> tuple[int, list[str]]:
    """An administrator with a TOTP second factor; their id and recovery codes."""
    engine = app_engine
    with session_scope(engine) as session:
        user_id = factories.staff_user(session, "admin@example.org", password=PASSWORD)
        second = factories.enrolled_second_factor(session, user_id)
    engine.dispose()
    return user_id, second.recovery_codes


def _fresh() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def _give_code(at: AppTest, code: str) -> AppTest:
    [field] = [t for t in at.text_input if t.label == CODE_LABEL]
    field.input(code)
    [go] = [b for b in at.button if b.label == "Continue"]
    return go.click().run()


def _codes_left(user_id: int) -> int:
    engine = make_engine(get_settings().database_url)
    with session_scope(engine) as session:
        left = mfa.recovery_codes_left(session, user_id)
        used = session.execute(
            sa.select(sa.func.count())
            .select_from(StaffRecoveryCode)
            .where(sa.column("used_at").is_not(None))
        ).scalar_one()
    engine.dispose()
    assert left + used == mfa.RECOVERY_CODES
    return left


def _sign_out(at: AppTest) -> None:
    at.switch_page("pages/account.py").run()
    [sign_out] = [b for b in at.button if b.label == "Sign out"]
    sign_out.click().run()
    assert "staff" not in at.session_state


def test_a_recovery_code_signs_an_administrator_in_once_and_is_refused_the_second_time(
    enrolled: tuple[int, list[str]], clock: Clock
) -> None:
    user_id, codes = enrolled
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    assert "staff" not in at.session_state  # the password alone is not enough
    _give_code(at, codes[0])
    assert at.session_state["staff"].user_id == user_id
    assert at.session_state["staff"].via == "password"
    assert _codes_left(user_id) == mfa.RECOVERY_CODES - 1
    actions = _actions()
    assert ("staff.recovery_code_used", str(user_id), {"left": 9}) in actions
    assert ("signin.second_factor_passed", str(user_id), None) in actions
    assert codes[0] not in str(actions)

    _sign_out(at)
    at = _sign_in(_fresh(), "admin@example.org", PASSWORD)
    _give_code(at, codes[0])  # the same code again
    assert "staff" not in at.session_state
    assert [e.value for e in at.error] == [SECOND_FACTOR_FAILED]
    assert _codes_left(user_id) == mfa.RECOVERY_CODES - 1
    assert ("signin.second_factor_failed", str(user_id), None) in _actions()

    _give_code(at, codes[1])  # another unused code still works: only the spent one is refused
    assert at.session_state["staff"].user_id == user_id
    assert _codes_left(user_id) == mfa.RECOVERY_CODES - 2


def test_a_recovery_code_may_be_typed_in_lower_case_without_its_dashes(
    enrolled: tuple[int, list[str]], clock: Clock
) -> None:
    user_id, codes = enrolled
    typed = codes[3].replace("-", " ").lower()
    at = _give_code(_sign_in(_fresh(), "admin@example.org", PASSWORD), typed)
    assert at.session_state["staff"].user_id == user_id
    assert _codes_left(user_id) == mfa.RECOVERY_CODES - 1
