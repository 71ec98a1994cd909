"""Your account: change your password, set up a second factor (TOTP), sign out."""

import streamlit as st

from outcomes.access import mfa
from outcomes.access.sessions import now
from outcomes.access.staff import account_status, change_password
from outcomes.config import get_settings
from outcomes.errors import OutcomesError
from outcomes.store.engine import session_scope
from outcomes.web.context import (
    current_token,
    errors_shown_plainly,
    get_engine,
    guard,
    show_error,
    sign_out,
)

ENROLMENT_KEY = "account_totp_enrolment"
CODES_KEY = "account_recovery_codes"

viewer = guard("account")
settings = get_settings()
assert viewer.user_id is not None  # the guard admits only signed-in staff here
st.title("Your account")
st.text(f"Signed in as {viewer.email}.")  # e-mail as text, never Markdown
if viewer.setup:
    st.warning(viewer.setup)
with errors_shown_plainly(), session_scope(get_engine()) as session:
    status = account_status(
        session, user_id=viewer.user_id, via=viewer.via or "password", settings=settings
    )

st.subheader("Password")
if status.has_password or status.must_change_password:
    with st.form("change_password", clear_on_submit=True):
        current = ""
        if not status.must_change_password:
            current = st.text_input(
                "Current password", type="password", autocomplete="current-password"
            )
        new = st.text_input("New password", type="password", autocomplete="new-password")
        repeat = st.text_input(
            "Repeat the new password", type="password", autocomplete="new-password"
        )
        st.caption("At least 12 characters and not a commonly used password; a phrase works.")
        if st.form_submit_button("Change password", type="primary"):
            if new != repeat:
                st.error("The two new passwords differ; nothing was changed.")
            else:
                try:
                    with session_scope(get_engine()) as session:
                        ended = change_password(
                            session,
                            user_id=viewer.user_id,
                            current=current,
                            new=new,
                            keep_token=current_token(),
                            settings=settings,
                            at=now(),
                        )
                except OutcomesError as exc:
                    show_error(exc)
                else:
                    st.success(f"Your password was changed; {ended} other session(s) ended.")
                    if viewer.setup:
                        st.rerun()
else:
    st.caption("You sign in with single sign-on: there is no password to change here.")

st.subheader("Second factor")
codes = st.session_state.get(CODES_KEY)
if codes:
    st.success("Your second factor is on. Save these recovery codes now: they are shown once.")
    st.code("\n".join(codes), language=None)
    st.caption("Each code works once, in place of a code from the app, if you lose your phone.")
    if st.button("I have saved the recovery codes"):
        st.session_state.pop(CODES_KEY, None)
        st.rerun()
elif status.second_factor:
    st.text(f"A TOTP second factor is set up; {status.recovery_codes_left} recovery codes left.")
    st.caption("Lost the phone and the codes? Ask an administrator to reset the second factor.")
elif ENROLMENT_KEY in st.session_state:
    enrolment = st.session_state[ENROLMENT_KEY]
    st.write("Scan this code with an authenticator app, or type the key below into it.")
    st.image(enrolment.qr_png, caption="TOTP enrolment code", width=240)
    st.code(enrolment.secret, language=None)
    with st.form("confirm_totp"):
        code = st.text_input("Code from the app", autocomplete="one-time-code", max_chars=6)
        if st.form_submit_button("Turn on the second factor", type="primary"):
            try:
                with session_scope(get_engine()) as session:
                    new_codes = mfa.confirm_enrolment(
                        session, user_id=viewer.user_id, code=code, at=now(), settings=settings
                    )
            except OutcomesError as exc:
                show_error(exc)
            else:
                st.session_state.pop(ENROLMENT_KEY, None)
                st.session_state[CODES_KEY] = new_codes
                st.rerun()
else:
    if status.second_factor_required:
        st.write("Administrators need a second factor: a six-digit code from a phone app.")
    else:
        st.write("Add a six-digit code from a phone app to your sign-in (recommended).")
    if st.button("Set up a second factor"):
        try:
            with session_scope(get_engine()) as session:
                st.session_state[ENROLMENT_KEY] = mfa.begin_enrolment(
                    session, user_id=viewer.user_id, settings=settings
                )
        except OutcomesError as exc:
            show_error(exc)
        else:
            st.rerun()

st.divider()
if st.button("Sign out"):
    sign_out(viewer)
    st.rerun()
